"""The benchmark commands run and print sensible figures (their speed is measured by running
them at scale, not here; these checks catch a benchmark that runs but measures nothing or
reports money that does not add up)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator import engine

ROOT = Path(__file__).resolve().parents[1]
N = 20_000


def run(script: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_engine_benchmark_figures():
    f = run("engine.py", "--households", str(N), "--sample-points", "2000")
    assert f["households"] == N
    stages = f["stages_s"]
    assert set(stages) == {f"{s}_s" for s in engine.STAGES} | {"aggregation_s"}
    assert all(v >= 0 for v in stages.values())
    assert f["seconds"] > 0 and f["peak_rss_mb"] > 0
    # The stages cover the timed span, nothing more (each figure is rounded to 1 ms).
    assert sum(stages.values()) == pytest.approx(f["seconds"], abs=0.02 + 0.05 * f["seconds"])
    assert f["engine_s"] == pytest.approx(f["seconds"] - stages["aggregation_s"], abs=0.002)
    assert 0 < f["engine_s"] <= f["seconds"]
    # The scenario floods part of the country: some households paid, each of them affected.
    assert f["affected_households"] > 0
    assert 0 < f["paid_households"]
    assert f["paid_households"] + f["over_budget_households"] <= f["affected_households"]
    assert f["amount_pkr"] > 0
    assert f["reconciles"] is True
    assert f["federal_pkr"] + f["provincial_pkr"] == f["amount_pkr"]
    assert 0 <= f["federal_pkr"] <= f["federal_ceiling_pkr"]
    # The overlay agrees with rasterio and is faster per point.
    assert f["agreement_with_rasterio"] == 1.0
    assert f["overlay_1m_s"] > 0 and f["rasterio_sample_points_per_s"] > 0
    assert f["ratio_vs_rasterio_sample"] > 1


@pytest.mark.slow
def test_registry_benchmark_figures(tmp_path):
    out = tmp_path / "registry.parquet"
    f = run("registry.py", "--households", str(N), "--out", str(out))
    assert f["households"] == N
    assert f["seconds"] > 0 and f["peak_rss_mb"] > 0
    assert f["file_mb"] == pytest.approx(out.stat().st_size / 2**20, abs=0.051)
    assert f["file_mb"] > 0
    assert f["households_per_second"] == pytest.approx(N / f["seconds"], rel=0.05)
    assert f["chunk_size"] == 2_000_000


@pytest.mark.slow
def test_hazard_read_benchmark_figures():
    f = run("hazard_read.py", "--households", str(N))
    assert f["households"] == N
    assert f["peak_rss_mb"] > 0
    for fmt in ("geotiff", "netcdf"):
        g = f[fmt]
        assert g["cells"] > 0
        assert g["read_s"] >= 0 and g["sample_s"] >= 0 and g["total_s"] > 0
        assert g["total_s"] == pytest.approx(g["read_s"] + g["sample_s"], abs=0.002)
        assert 0 < g["flooded_households"] <= N
        assert 0 <= g["outside"] < N
    # One layer in two formats: the same households flooded.
    assert f["geotiff"]["flooded_households"] == f["netcdf"]["flooded_households"]
    assert f["geotiff"]["outside"] == f["netcdf"]["outside"]


@pytest.mark.slow
def test_app_benchmark_figures(tmp_path):
    """benchmarks/app.py drives the app on a registry file and times what a visitor waits for."""
    registry = tmp_path / "registry.parquet"
    f = run("app.py", "--registry", str(registry), "--households", str(N))
    assert registry.exists() and f["households"] == N
    assert 0 < f["first_figures_s"] <= f["ranges_ready_s"]
    assert f["what_if_s"] > 0 and f["peak_rss_mb"] > 0
