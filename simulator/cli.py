"""The ``madad`` command line.

Exit codes: 0 success; 1 unexpected failure; 2 bad input (scenario, registry, hazard, boundaries).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import typer

from simulator.errors import MadadError

app = typer.Typer(
    help="Madad: shock-responsive disaster planning and payout simulator for Pakistan.\n\n"
    "Example: madad run scenarios/indus-flood-demo.yaml --out runs/demo",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
registry_app = typer.Typer(help="Generate and validate household registries.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")

EXIT_BAD_INPUT = 2


def _fail(exc: MadadError) -> None:
    typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
    raise typer.Exit(EXIT_BAD_INPUT)


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
    out: Path = typer.Option(..., "--out", "-o", help="Run folder to write (created if missing)."),
    households: int | None = typer.Option(None, help="Synthetic registry size (overrides the scenario)."),
    registry: Path | None = typer.Option(None, help="Registry file (GeoParquet/Parquet/CSV) instead of the scenario's."),
    boundaries: Path | None = typer.Option(
        None,
        help="District boundaries (GeoJSON, GeoPackage, Shapefile, GeoParquet) to check the "
        "registry's district codes against, instead of the scenario's boundaries.",
    ),
    boundaries_layer: str | None = typer.Option(None, help="Layer of a multi-layer --boundaries file."),
    code_column: str = typer.Option("district_id", help="Column of --boundaries holding the district codes."),
) -> None:
    """Run a scenario and write plan.json, plan.xlsx, households.parquet, hazard.tif, manifest.json.

    With --boundaries (or a scenario's boundaries:), every district code in the registry must have
    a boundary, otherwise the run stops before writing anything (exit code 2).

    Example: madad run scenarios/indus-flood-demo.yaml --out runs/demo --households 50000
    """
    from simulator import boundaries as boundaries_mod
    from simulator import runner
    from simulator import scenario as scenario_mod

    try:
        scn = scenario_mod.load(scenario)
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
        res = runner.run(scn, base=scenario.parent, households=households, registry_path=registry)
        if bounds is not None:
            source = res.inputs["registry"].get("file", "the synthetic registry")
            match = boundaries_mod.check_codes(
                bounds, res.households["district_id"].unique(), source=source
            )
            where = bounds.attrs["source"]
            res.inputs["boundaries"] = {
                "file": where,
                "sha256": scenario_mod.file_sha256(where),
                **match,
            }
            typer.echo(
                f"boundaries {where}: all {match['matched']} registry districts matched; "
                f"{len(match['boundaries_without_households'])} boundary districts have no households"
            )
        paths = runner.write_run(res, out, scenario_path=scenario)
    except MadadError as exc:
        _fail(exc)
    t = res.plan["totals"]
    typer.echo(
        f"affected households {t['affected_households']:,} ({t['affected_people']:,} people); "
        f"paid {t['paid_households']:,}; amount PKR {t['amount_pkr']:,} "
        f"(federal {t['federal_pkr']:,}, provincial {t['provincial_pkr']:,})"
    )
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


@registry_app.command("generate")
def registry_generate(
    out: Path = typer.Option(..., "--out", "-o", help="Output .parquet (GeoParquet) or .csv."),
    households: int = typer.Option(200_000, "--households", "-n", help="Number of households."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same file."),
    chunk_size: int = typer.Option(2_000_000, help="Rows held in memory at once."),
) -> None:
    """Generate a synthetic registry placed by 2023 census district shares.

    Example: madad registry generate --households 35000000 --seed 1 --out nser.parquet
    """
    from simulator import registry as reg

    t0 = time.perf_counter()
    try:
        rows = reg.write(reg.generate_chunks(households, seed=seed, chunk_size=chunk_size), out)
    except MadadError as exc:
        _fail(exc)
    typer.echo(f"wrote {rows:,} households to {out} in {time.perf_counter() - t0:.1f} s")


@registry_app.command("validate")
def registry_validate(
    file: Path = typer.Argument(..., help="Registry file (.parquet or .csv)."),
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
        _fail(exc)
    if quarantine is not None:
        result.quarantine.to_csv(quarantine, index=False)
    typer.echo(json.dumps(result.report.to_dict(), indent=2) if as_json else result.report.summary())
    if result.report.rows_quarantined:
        raise typer.Exit(3)


if __name__ == "__main__":  # pragma: no cover
    app()
