# Madad: every target sets up what it needs. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501

.DEFAULT_GOAL := help
.PHONY: help run test test-fast lint demo benchmark clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/activate:
	@echo "Setting up .venv (Python's own virtual environment, inside this folder): first pip"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The app's environment: the project and its runtime dependencies.
$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	@echo "Installing Madad and what it runs on (numpy, pandas, rasterio, GDAL's wheels, Streamlit, Dask,"
	@echo "SQLAlchemy, ...) into .venv from PyPI, about 1.3 GB: the first time takes about 1 to 3 minutes,"
	@echo "later runs skip this step until pyproject.toml changes."
	@start=$$(date +%s); $(BIN)/pip install --quiet -e . && \
	  echo "Installed in $$(( $$(date +%s) - start )) s."
	touch $@

# The developer's environment: the project with the dev extras (tests, notebooks).
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/activate
	@echo "Installing Madad with its test and notebook tools into .venv from PyPI: the first time takes"
	@echo "about 2 to 4 minutes, later runs skip this step until pyproject.toml changes."
	@start=$$(date +%s); $(BIN)/pip install --quiet -e '.[dev]' && \
	  echo "Installed in $$(( $$(date +%s) - start )) s."
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed ## Serve the app on the demo (http://localhost:8501; PORT=..., ROLE=planner for the planner's view)
	$(if $(ROLE),MADAD_ROLE=$(ROLE) )$(BIN)/streamlit run app.py --server.headless true --server.port $(PORT)

test: $(VENV)/.installed-dev ## Set up .venv with dev extras, run ruff, then every test, notebooks included, against a throwaway PostgreSQL server (installs Debian's chromium, gdal-bin and postgresql when missing)
	@need=""; \
	  command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need="$$need chromium"; \
	  command -v gdal_translate >/dev/null 2>&1 || need="$$need gdal-bin"; \
	  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	    || need="$$need postgresql"; \
	  if [ -n "$$need" ]; then \
	    echo "Installing Debian packages for the tests:$$need (browser test; a raster written by GDAL; a real PostgreSQL server for the workspace tests)"; \
	    SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	    { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$need >/dev/null; } \
	      || echo "could not install$$need; the tests that need them will be skipped"; \
	  fi
	$(BIN)/ruff check simulator hazards tests benchmarks app.py
	$(BIN)/python tests/pgserver.py run -- $(BIN)/python -m pytest tests notebooks --nbmake -q -n 2 --dist loadfile

test-fast: $(VENV)/.installed-dev ## Run the tests not marked slow (against a throwaway PostgreSQL server when installed)
	$(BIN)/python tests/pgserver.py run -- $(BIN)/python -m pytest tests -q -m "not slow"

lint: $(VENV)/.installed-dev ## ruff on the packages, app and tests
	$(BIN)/ruff check simulator hazards tests benchmarks app.py

demo: $(VENV)/.installed ## Run the demo scenario from the CLI into runs/demo
	$(BIN)/madad run scenarios/indus-flood-demo.yaml --out runs/demo

benchmark: $(VENV)/.installed ## Print engine, hazard-read and registry figures (N=1000000; N=35000000 for NSER scale)
	$(BIN)/python benchmarks/engine.py --households $${N:-1000000}
	$(BIN)/python benchmarks/hazard_read.py --households 1000000
	$(BIN)/python benchmarks/registry.py --households $${N:-1000000}

clean: ## Remove .venv, run folders and caches
	rm -rf $(VENV) runs .pytest_cache .hypothesis benchmarks/.cache
