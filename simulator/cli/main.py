"""The ``madad`` command line.

Exit codes: 0 success; 1 unexpected failure; 2 bad input (scenario, registry, hazard, boundaries,
run folder, export format, an output file that must not be overwritten); 3 registry rows
quarantined (``madad registry validate``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from pathlib import Path

import typer

from hazards.errors import MadadError
from simulator.cli.common import EXIT_BAD_INPUT, command_group, fail, write_json
from simulator.cli.delivery import delivery_app
from simulator.cli.exchange import exchange_app
from simulator.cli.hazard import hazard_app
from simulator.cli.payments import payments_app
from simulator.cli.risk import risk as risk_command
from simulator.cli.workspace import workspace_app

app = typer.Typer(
    help="Madad: shock-responsive disaster planning and payout simulator for Pakistan.\n\n"
    "Example: madad run scenarios/indus-flood-demo.yaml --out runs/demo\n\n"
    "Then: madad export runs/demo --format pdf --out brief.pdf; "
    "madad compare runs/demo runs/other --out compare.xlsx",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
registry_app = command_group("Generate and validate household registries.")
app.add_typer(registry_app, name="registry")
scenario_app = command_group(
    "Write new scenario files.\n\nExample: madad scenario new monsoon-2025 --out scenarios/monsoon-2025.yaml"
)
app.add_typer(scenario_app, name="scenario")
app.add_typer(hazard_app, name="hazard")
app.add_typer(exchange_app, name="exchange")
app.add_typer(delivery_app, name="delivery")
app.add_typer(payments_app, name="payments")
app.command("risk")(risk_command)
app.add_typer(workspace_app, name="workspace")





def _status(message: str):
    """A spinner on stderr while a long step runs (silent when stderr is not a terminal)."""
    from rich.console import Console

    return Console(stderr=True).status(message, spinner="dots")


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr.")) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command()
def run(
    scenario: Path = typer.Argument(..., help="Scenario YAML file, e.g. scenarios/indus-flood-demo.yaml"),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder to write (created if missing; a rerun replaces it whole, atomically, and a folder holding other files is refused)."),
    households: int | None = typer.Option(None, help="Synthetic registry size (overrides the scenario)."),
    registry: Path | None = typer.Option(None, help="Registry file (GeoParquet/Parquet/CSV), or a partitioned dataset folder (registry generate --partitioned), instead of the scenario's."),
    boundaries: Path | None = typer.Option(
        None,
        help="District boundaries (GeoJSON, GeoPackage, Shapefile, GeoParquet) to check the "
        "registry's district codes against, instead of the scenario's boundaries.",
    ),
    boundaries_layer: str | None = typer.Option(None, help="Layer of a multi-layer --boundaries file."),
    code_column: str = typer.Option("district_id", help="Column of --boundaries holding the district codes."),
    scheduler: str | None = typer.Option(
        None,
        help="Run on Dask over the registry's parts: 'local' (worker processes on this machine), "
        "'tcp://host:8786' (a cluster's scheduler) or 'auto' (DASK_SCHEDULER_ADDRESS if set, else "
        "local). Needs a registry file or partitioned dataset folder (--registry, or the scenario's registry.path); the plan is the in-memory one.",
    ),
    sites: Path | None = typer.Option(
        None,
        help="Sites table (CSV, GeoPackage, GeoParquet) for the delivery plan, instead of the "
        "scenario's; adds a delivery plan with default settings to a scenario without a delivery: block.",
    ),
) -> None:
    """Run a scenario and write plan.json, plan.xlsx, households.parquet, hazard.tif, manifest.json.

    With --boundaries (or a scenario's boundaries:), every district code in the registry must have
    a boundary, otherwise the run stops before writing anything (exit code 2).

    Example: madad run scenarios/indus-flood-demo.yaml --out runs/demo --households 50000

    Example: madad run scenarios/indus-flood-demo.yaml --registry nser/ --scheduler local --out runs/nser
    """
    from simulator import plans, publish
    from simulator import scenario as scenario_mod
    from simulator.registry import boundaries as boundaries_mod

    try:
        scn = scenario_mod.load(scenario)
        if sites is not None:
            spec = scn.delivery or scenario_mod.Delivery()
            scn = scn.model_copy(update={"delivery": spec.model_copy(update={"sites": str(sites.resolve())})})
        t0 = time.perf_counter()
        typer.echo(f"running {scn.name}: {scn.title}")
        if boundaries is not None:
            bounds = boundaries_mod.load_boundaries(
                boundaries, layer=boundaries_layer, code_column=code_column
            )
        elif scn.boundaries is not None:
            bounds = boundaries_mod.load_spec(scn.boundaries, base=scenario.parent)
        else:
            bounds = None
        # the ensemble runs on while the household table is written: its messages go to
        # whichever spinner is showing
        shown: list = []

        def say(message: str) -> None:
            shown[-1].update(message)

        with contextlib.ExitStack() as stack:
            # the run folder is staged as soon as the household table is complete: the table is
            # written while the plan's tables are built
            writer = stack.enter_context(publish.RunWriter(out, scenario_path=scenario))
            if scheduler is None:
                with _status("running the hazard, registry and payout engine...") as status:
                    shown.append(status)
                    res = plans.run(scn, base=scenario.parent, households=households, registry_path=registry,
                                    boundaries=bounds, on_progress=say, background=True,
                                    on_table=writer.households)
            else:
                from simulator.plans import distributed

                if households is not None:
                    raise distributed.SchedulerError("--households makes a synthetic registry in memory; "
                                                     "with --scheduler give --registry instead.")
                with _status(f"connecting to the Dask scheduler ({scheduler})...") as status:
                    client = stack.enter_context(distributed.connect(scheduler))
                typer.echo(distributed.describe(client))
                with _status("reading the registry's parts and running the payout engine on Dask...") as status:
                    shown.append(status)
                    res = distributed.run(scn, client, base=scenario.parent, registry_path=registry,
                                          boundaries=bounds, on_progress=say, background=True)
            if bounds is not None:
                match = res.inputs["boundaries"]
                typer.echo(
                    f"boundaries {match['file']}: all {match['matched']} registry districts matched; "
                    f"{len(match['boundaries_without_households'])} boundary districts have no households"
                )
            with _status(f"writing the run folder {out}...") as status:
                shown.append(status)
                paths = writer.finish(res)
    except MadadError as exc:
        fail(exc)
    t = res.plan["totals"]
    typer.echo(
        f"affected households {t['affected_households']:,} ({t['affected_people']:,} people); "
        f"paid {t['paid_households']:,}; amount PKR {t['amount_pkr']:,} "
        f"(federal {t['federal_pkr']:,}, provincial {t['provincial_pkr']:,})"
    )
    if res.plan.get("ensemble"):
        from simulator.plans.ensemble import likely

        for metric, label in (("paid_households", "households paid"), ("amount_pkr", "amount")):
            typer.echo(f"{label}: {likely(res.plan['ensemble'], metric)}")
    if res.plan.get("delivery"):
        from simulator.plans.delivery_plan import headline

        typer.echo(headline(res.plan["delivery"]))
    rep = res.plan["registry"]
    if rep["rows_quarantined"]:
        typer.echo(f"quarantined registry rows: {rep['rows_quarantined']:,} (see quarantine.csv)")
    typer.echo(f"wrote {len(paths)} files to {out} in {time.perf_counter() - t0:.1f} s")


@app.command()
def validate(scenarios: list[Path] = typer.Argument(..., help="Scenario YAML files.")) -> None:
    """Check scenario files; errors name the file, line and field.

    Example: madad validate scenarios/*.yaml
    """
    from simulator import scenario as scenario_mod

    bad = 0
    for path in scenarios:
        try:
            scenario_mod.load(path)
            typer.echo(f"ok: {path}")
        except MadadError as exc:
            typer.secho(str(exc), err=True, fg=typer.colors.RED)
            bad += 1
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


def _compare_width() -> int:
    """Columns ``madad compare`` prints in: the terminal's (COLUMNS when set), at least 60."""
    import shutil

    from simulator.publish.compare import MIN_WIDTH

    return max(shutil.get_terminal_size().columns, MIN_WIDTH)


@app.command()
def compare(
    runs: list[Path] = typer.Argument(..., help="Two or more run folders written by `madad run`; the first is the baseline."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Also write the table to this .xlsx file."),
) -> None:
    """Compare run folders side by side: policy, totals, cost-sharing, dedup and budget.

    Prints the headline figures: one column per run and each later run's change from the first.

    Fits the terminal's width (COLUMNS); the full table is in the --out .xlsx when it does not.

    Example: madad compare runs/bisp-25k runs/bisp-20k --out compare.xlsx
    """
    from simulator.publish import compare as compare_mod

    if out is not None and out.suffix.lower() != ".xlsx":
        fail(f"{out}: --out must be an .xlsx file.")
    try:
        loaded = compare_mod.load_runs(runs)
        frame = compare_mod.compare(loaded)
    except MadadError as exc:
        fail(exc)
    typer.echo(compare_mod.format_for_terminal(frame, loaded, _compare_width(), out))
    if out is not None:
        compare_mod.write_compare_xlsx(frame, out)
        typer.echo(f"wrote {out}")


@app.command()
def backtest(
    scenario: Path = typer.Argument(..., help="Scenario YAML with modelled hazards, e.g. scenarios/monsoon-flood-2022-style.yaml"),
    event: str = typer.Option(..., help="The event to compare with: 2022 or 2010."),
    seeds: int = typer.Option(20, min=1, help="Members: hazard seeds scenario seed, seed+1, ..."),
    households: int | None = typer.Option(None, help="Synthetic registry size (overrides the scenario)."),
    facts: Path | None = typer.Option(
        None, help="Facts table (CSV as data/events/facts.csv, the default): families paid, the "
        "provincial split and districts' flooded share, each with its source."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the report as JSON here."),
    xlsx: Path | None = typer.Option(None, "--xlsx", help="Also write the report as an Excel sheet here."),
) -> None:
    """Run a scenario over many hazard seeds and compare it with what happened.

    The registry and policy stay fixed; only the modelled hazards' seed changes. Prints, per
    figure, P10/P50/P90 over the seeds, the fact (data/events/facts.csv, each with its source),
    the median's gap, and whether the target is met:
    caseload within 25 %, Sindh's share within 10 points, provinces with over 10 % of the caseload
    above 5 %, and the Spearman correlation of districts' affected shares with UNOSAT's flooded
    shares at least 0.7. An observed footprint (declared tables or given rasters, no generator)
    is one member; its caseload target is 15 %, and it is not ranked against an extent it was
    built from. Exit code 0 even when a target is missed (the report says so).

    Examples:
      madad backtest scenarios/monsoon-flood-2022-style.yaml --event 2022 --seeds 20
      madad backtest scenarios/monsoon-flood-2022-observed.yaml --event 2022
    """
    from simulator import scenario as scenario_mod
    from simulator.plans import backtest as backtest_mod
    from simulator.plans.orchestrator import load_registry

    try:
        scn = scenario_mod.load(scenario)
        with _status("loading the registry..."):
            reg, _ = load_registry(scn, base=scenario.parent, households=households)
        members = [scn.seed + i for i in range(1 if backtest_mod.observed(scn) else seeds)]
        with typer.progressbar(length=len(members), label=f"{len(members)} member(s)", file=sys.stderr) as bar:
            report = backtest_mod.footprint_check(
                scn, reg.households, event=event, seeds=members, facts=facts,
                base=scenario.parent, on_member=lambda _seed: bar.update(1),
            )
    except MadadError as exc:
        fail(exc)
    typer.echo(backtest_mod.format_report(report))
    if json_out is not None:
        write_json(report, json_out)
    if xlsx is not None:
        from simulator.publish.backtest import write_backtest_xlsx

        typer.echo(f"wrote {write_backtest_xlsx(report, xlsx)}")


@app.command()
def sensitivity(
    scenario: Path = typer.Argument(..., help="Scenario YAML, e.g. scenarios/indus-flood-demo.yaml"),
    trajectories: int = typer.Option(10, min=2, help="Morris trajectories r (the engine runs r x (k+1) times)."),
    households: int | None = typer.Option(None, help="Synthetic registry size (overrides the scenario)."),
    seed: int = typer.Option(0, help="Seed of the Morris design and of the coverage draws."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the ranking as JSON here."),
) -> None:
    """Rank which declared parameters drive the households and PKR paid (Morris, SALib).

    Varies the PMT cut-off (+-5), the transfers (x0.8-1.2), declared tier thresholds (x0.7-1.3),
    the modelled hazards' return period (half to double) and registry coverage (80-100 %), and
    prints each parameter's mu* (mean absolute elementary effect) and sigma on the households
    paid and the PKR paid, ranked.

    Example: madad sensitivity scenarios/indus-flood-demo.yaml --trajectories 10
    """
    from simulator import scenario as scenario_mod
    from simulator.plans import sensitivity as sensitivity_mod
    from simulator.plans.orchestrator import load_registry

    try:
        scn = scenario_mod.load(scenario)
        with _status("loading the registry..."):
            reg, _ = load_registry(scn, base=scenario.parent, households=households)
        runs = trajectories * (len(sensitivity_mod.factors(scn)) + 1)
        with typer.progressbar(length=runs, label=f"{runs} runs", file=sys.stderr) as bar:
            report = sensitivity_mod.morris(scn, reg.households, trajectories=trajectories, seed=seed,
                                            base=scenario.parent, on_run=lambda _i: bar.update(1))
    except MadadError as exc:
        fail(exc)
    typer.echo(sensitivity_mod.format_sensitivity(report))
    if json_out is not None:
        write_json(report, json_out)


@app.command("export")
def export_cmd(
    run_dir: Path = typer.Argument(..., help="Run folder written by `madad run`."),
    fmt: str = typer.Option(
        ..., "--format", "-f",
        help="One of: xlsx (Committee workbook), pdf (brief for ministers), gpkg, geojson "
        "(districts with figures), csv, parquet (household payout list), json (plan).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="File to write (replaced if it exists)."),
    boundaries: Path | None = typer.Option(
        None, help="District boundaries (GeoJSON, GeoPackage, Shapefile, GeoParquet): polygons for "
        "gpkg/geojson and the pdf map instead of district points.",
    ),
    boundaries_layer: str | None = typer.Option(None, help="Layer of a multi-layer --boundaries file."),
    code_column: str = typer.Option("district_id", help="Column of --boundaries holding the district codes."),
    all_households: bool = typer.Option(
        False, "--all", help="csv/parquet: every household with its status, not only the paid ones."
    ),
    min_cell: int = typer.Option(
        10, help="pdf/geojson are published: hide district and tehsil cells under this many households (0: none)."
    ),
    lang: str = typer.Option(
        "en", "--lang", help="pdf only: the brief's language, en or ur. ur writes the headline pages in Urdu "
        "(right to left, lakh and crore, Urdu place names; the map and its ODbL attribution as in English) "
        "to --out, e.g. --out brief.ur.pdf beside brief.pdf.",
    ),
) -> None:
    """Export a run folder as xlsx, pdf, gpkg, geojson, csv, parquet or json.

    Totals always equal plan.json's. Household lists carry pseudonymous ids only. The PDF brief
    and the GeoJSON hide small cells (--min-cell) so that no household can be singled out.

    Examples:

      madad export runs/demo --format pdf --out brief.pdf

      madad export runs/demo --format pdf --lang ur --out brief.ur.pdf

      madad export runs/demo --format gpkg --out districts.gpkg --boundaries pak_districts.gpkg

      madad export runs/demo --format csv --out payouts.csv --all
    """
    from simulator.publish import export as export_mod
    from simulator.registry import boundaries as boundaries_mod

    name = fmt.lower()
    if name not in export_mod.FORMATS:
        fail(f"unknown export format {fmt!r}; use one of: {', '.join(export_mod.FORMATS)}.")
    try:
        bounds = (
            None if boundaries is None
            else boundaries_mod.load_boundaries(boundaries, layer=boundaries_layer, code_column=code_column)
        )
        with _status(f"exporting {run_dir} as {name}..."):
            path = export_mod.export(
                run_dir, name, out, boundaries=bounds, all_households=all_households, min_cell=min_cell,
                lang=lang.lower(),
            )
    except MadadError as exc:
        fail(exc)
    typer.echo(f"wrote {path} ({export_mod.FORMATS[name][1]})")


#: The commented scenario written by `madad scenario new` (``{name}``, ``{path}`` filled in).
SCENARIO_TEMPLATE = """\
# Madad scenario: {name}
# Made with `madad scenario new {name}`. Edit the values, then check the file with
#   madad validate {path}
# and run it with
#   madad run {path} --out runs/{name} --households 50000
# Every key is explained in the comment above or beside it. Money is in Pakistani rupees (PKR),
# whole rupees. Keys shown with an empty value ([] or {{}}) are optional and do nothing until
# you fill them in. A key not listed here is an error (the validator names the line).

# Lower-case letters, digits and dashes; names the run in plans and exports.
name: {name}
# One line for the plan's title page.
title: "New scenario ({name}): edit this title"
# The real event this scenario is modelled on. Every brief repeats it and adds
# "(not a reproduction)": a scenario is a planning sketch, not a replay of history.
modelled_on: "the 2022 monsoon floods in Sindh and Balochistan (not a reproduction)"
# Free text: what the scenario is for.
description: >
  What shock this is, where, and which policy question it answers.
# Plain-language assumptions, printed in the plan and the brief. Say where each number comes from.
assumptions:
  - "Transfer value: BISP Flood Relief Cash Assistance 2022, PKR 25,000 per family."
  - "Cost-sharing: an illustrative split; agree the real rule in the Coordination Committee."
# Random seed of the generators: the same scenario, inputs and seed give identical tables.
seed: 1

# Where households come from: a registry file, or (without path) synthetic households placed by
# 2023 census district shares.
registry:
  # path: data/my_registry.parquet   # GeoParquet, Parquet or CSV; relative to this file
  synthetic_households: 200000       # used when no path is given

# One or more hazards. Each has a kind, ONE source (file:, generator: or admin_table:) and ONE
# way to turn its intensity at a household's location into a severity tier (threshold:, tiers:
# or impact:; an admin_table carries its own severity).
hazards:
  - name: flood                      # label used in the plan (needed when there are several)
    # riverine-flood, flash-flood, heatwave, drought, earthquake or cyclone
    kind: riverine-flood
    # Source 1, a raster: GeoTIFF/COG, NetCDF or Zarr, relative to this file; its CRS must be set.
    # file: hazards/flood_depth.tif
    # units: m                       # units of the file's values when the file does not say
    # variable: depth                # NetCDF/Zarr: the data variable
    # time: "2022-08-30"             # NetCDF/Zarr: the time step (index or ISO date)
    # Source 2, a CSV of declared districts (district_id, severity and/or share_affected), as in
    # NDMA calamity notifications:
    # admin_table: declared_districts.csv
    # Source 3, a modelled footprint from the kind's generator (`madad hazard generate --help`
    # lists each kind's parameters); the scenario's seed is used.
    generator:
      river: indus                   # river centre line from data/rivers.csv
      return_period: 50              # [years] a 1-in-50-year flood
      bbox: [66.5, 23.6, 72.0, 31.9] # [lon_min, lat_min, lon_max, lat_max] degrees
    # Intensity (in the layer's units, here metres of water) at or above which each tier starts.
    # Thresholds must increase. Or `threshold: 0.5` for one tier only, or `impact: flood_depth_damage`
    # for an impact function with its own tiers by housing type.
    tiers:
      affected: 0.5
      severely_affected: 1.5
      displaced: 2.5
# With several hazards: max_tier (a household takes its highest tier from any hazard) or
# max_intensity.
combine: max_tier

policy:
  # PMT score at or below which an affected household that is not paid counts as poor and missed.
  poverty_line_pmt: 32
  # The programmes paying in this response. A household entitled under several is paid once
  # (see dedup below).
  programmes:
    # A federal top-up to existing BISP Kafaalat beneficiaries (a vertical expansion).
    - name: BISP top-up
      owner: federal                 # federal or provincial: who runs the programme
      # vertical: top-up to current beneficiaries of the programmes in beneficiaries_of;
      # horizontal: temporary inclusion of households NOT enrolled in beneficiaries_of whose
      #   PMT score is at or below pmt_max;
      # all_affected: every affected household (pmt_max optional).
      expansion: vertical
      beneficiaries_of: [kafaalat]   # kafaalat, prov_uct, prov_cct
      pmt_max_by_province: {{}}        # horizontal: cut-off by province, e.g. {{SD: 35, BA: 35}}
      category_pmt_max: {{}}           # higher cut-off for a category, e.g. {{disability: 37}}
      categories: []                 # only households in any of these: female_headed,
                                     # disability, children_under_five (empty: all)
      provinces: null                # where it operates, e.g. [SD, BA] (null: everywhere)
      min_tier: affected             # lowest tier paid: affected, severely_affected, displaced
      transfer:
        # Base amount per tier [PKR]. A tier not listed takes the amount of the highest listed
        # tier below it; amounts must not fall as severity rises.
        by_tier_pkr: {{affected: 25000, displaced: 35000}}
        per_person_pkr: 0            # added per household member
        floor_pkr: 0                 # minimum paid to an entitled household
        cap_pkr: null                # maximum paid to one household (null: no cap)
    # A provincial horizontal expansion to poor households not yet enrolled.
    - name: Provincial flood grant
      owner: provincial
      expansion: horizontal
      beneficiaries_of: [kafaalat]   # horizontal: households NOT in these programmes
      pmt_max: 40                    # the temporary, higher PMT cut-off (0-100)
      provinces: [SD, BA]            # PB, SD, KP, BA, IS
      min_tier: severely_affected
      transfer:
        by_tier_pkr: {{severely_affected: 15000}}
        per_person_pkr: 1000
        floor_pkr: 15000
        cap_pkr: 25000
  # Instalments: shares must add up to 1; day is counted from the start of the response. Each
  # instalment but the last is rounded down to the rupee, the last pays the remainder.
  instalments:
    - {{share: 0.5, day: 0}}
    - {{share: 0.5, day: 30}}

# A household entitled under a federal and a provincial programme is paid once.
# top_up: the `base` owner pays its amount, the other pays only what its programme gives above it.
# priority: the first owner in `order` with an entitlement pays; the other's entitlement is dropped.
dedup:
  rule: top_up                       # top_up or priority
  base: federal                      # top_up: federal or provincial
  order: [federal, provincial]       # priority: who pays first

# Who funds what is paid (federal shares are rounded down to the rupee).
# fixed: federal pays federal_share of every amount, the household's province the rest;
# ownership: each programme's owner funds what it pays;
# key: federal pays federal_share, provinces pool the rest by a key in data/cost_sharing_keys.csv.
cost_sharing:
  rule: fixed                        # fixed, ownership or key
  federal_share: 0.5                 # fixed and key rules: 0 to 1
  key: nfc7                          # key rule: nfc7 (7th NFC Award shares) or population2023

# Budget ceilings [PKR] on what each government funds; leave out for no ceiling. Once a budget
# runs out, later households are left out (reason code over_budget) and the plan shows the
# shortfall.
budget:
  federal_pkr: null                  # e.g. 25000000000 (PKR 25 billion)
  provincial_pkr: {{}}                 # e.g. {{SD: 5000000000, BA: 1000000000}}
  priority: [severity, pmt]          # who is funded first: most severe, then poorest

# District boundaries to check the registry's district codes against (optional):
# boundaries:
#   path: boundaries/pak_districts_2023.gpkg
#   layer: districts
#   code_column: district_id
#   name_column: district
"""


@scenario_app.command("new")
def scenario_new(
    name: str = typer.Argument(..., help="Scenario name: lower-case letters, digits and dashes."),
    out: Path | None = typer.Option(None, "--out", "-o", help="File to write (default: NAME.yaml); never overwritten."),
) -> None:
    """Write a commented scenario template that `madad validate` accepts.

    Every key is explained in a comment: hazards and their tiers, programmes (owner, expansion, eligibility, transfer), instalments, dedup, cost-sharing and budgets.

    Example: madad scenario new monsoon-2025 --out scenarios/monsoon-2025.yaml
    """
    import re

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        fail(f"scenario name {name!r}: use lower-case letters, digits and dashes, e.g. monsoon-2025.")
    path = out or Path(f"{name}.yaml")
    if path.exists():
        fail(f"{path}: already exists; choose another --out or move the file away.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SCENARIO_TEMPLATE.format(name=name, path=path), encoding="utf-8")
    typer.echo(f"wrote {path}; edit it, then: madad validate {path}")


@registry_app.command("generate")
def registry_generate(
    out: Path = typer.Option(..., "--out", "-o", help="Output .parquet (GeoParquet) or .csv; with --partitioned, a folder."),
    households: int = typer.Option(200_000, "--households", "-n", help="Number of households."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same file."),
    chunk_size: int = typer.Option(2_000_000, help="Rows held in memory at once."),
    partitioned: bool = typer.Option(
        False, "--partitioned",
        help="Write a folder of GeoParquet parts by province (province_code=XX/part-00000.parquet, "
        "a large province rolled over to more parts) with a _dataset.json listing them.",
    ),
) -> None:
    """Generate a synthetic registry placed by 2023 census district shares.

    Example: madad registry generate --households 35000000 --seed 1 --out nser.parquet

    Example: madad registry generate --households 35000000 --seed 1 --partitioned --out nser/
    """
    from simulator import registry as reg
    from simulator.cli.exchange import progress_bar

    t0 = time.perf_counter()
    try:
        # a bar on stderr when it is a terminal (rows generated of --households)
        with progress_bar("households") as bar:
            chunks = reg.generate_chunks(
                households, seed=seed, chunk_size=chunk_size,
                on_progress=lambda done, total: bar("generating", done, total),
            )
            if partitioned:
                rows = reg.write_partitioned(chunks, out, households=households, seed=seed)["households"]
            else:
                rows = reg.write(chunks, out)
    except MadadError as exc:
        fail(exc)
    typer.echo(f"wrote {rows:,} households to {out} in {time.perf_counter() - t0:.1f} s")


@registry_app.command("validate")
def registry_validate(
    file: Path = typer.Argument(..., help="Registry file (.parquet or .csv), or a partitioned dataset folder (registry generate --partitioned)."),
    quarantine: Path | None = typer.Option(None, help="Write quarantined rows (row, id, reason) to this CSV."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Validate a registry: counts valid and quarantined rows with a reason each.

    Exit code 0 when every row is valid, 3 when some rows were quarantined, 2 when the file
    cannot be used at all.

    Example: madad registry validate households.csv --quarantine bad_rows.csv
    """
    from simulator import registry as reg

    try:
        result = reg.load(file)
    except MadadError as exc:
        fail(exc)
    if quarantine is not None:
        from simulator.publish.cells import neutralise

        # Quarantined ids and values are raw input: written so no cell can run as a formula.
        neutralise(result.quarantine).to_csv(quarantine, index=False)
    typer.echo(json.dumps(result.report.to_dict(), indent=2) if as_json else result.report.summary())
    if result.report.rows_quarantined:
        raise typer.Exit(3)


if __name__ == "__main__":  # pragma: no cover
    app()
