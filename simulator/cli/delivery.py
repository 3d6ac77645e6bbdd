"""``madad delivery``: check a sites table, and read a run's delivery plan (where the paid
households are paid, how fast, which sites are closed, which campsites the provinces open)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from hazards.errors import MadadError
from simulator.cli.common import command_group, fail, write_json

delivery_app = command_group(
    "Delivery sites and plans: BISP offices, One Window Centres, campsites.\n\n"
    "A scenario with a delivery: block (or madad run --sites FILE) adds the delivery plan to a run.\n\n"
    "Example: madad delivery sites my_sites.csv --quarantine bad_sites.csv\n\n"
    "Example: madad delivery show runs/demo"
)


@delivery_app.command("sites")
def sites_cmd(
    file: Path | None = typer.Argument(None, help="Sites table (CSV, GeoPackage, GeoParquet); default: the shipped ILLUSTRATIVE table."),
    quarantine: Path | None = typer.Option(None, help="Write quarantined rows (row, site_id, reason) to this CSV."),
    as_json: bool = typer.Option(False, "--json", help="Print the report and counts as JSON."),
) -> None:
    """Validate a sites table: valid and quarantined rows with a reason each, and sites by kind,
    service and province.

    Exit code 0 when every row is valid, 3 when some rows were quarantined, 2 when the file
    cannot be used at all.
    """
    from simulator.registry import sites as sites_mod

    try:
        loaded = sites_mod.load(file)
    except MadadError as exc:
        fail(exc)
    if quarantine is not None:
        from simulator.publish.cells import neutralise

        neutralise(loaded.quarantine).to_csv(quarantine, index=False)
    s = loaded.sites
    counts = {
        "kinds": {str(k): int(v) for k, v in s.kind.value_counts(sort=False).items() if v},
        "services": {name: int(s[f"offers_{name}"].sum()) for name in sites_mod.SERVICES},
        "provinces": {str(k): int(v) for k, v in s.province_code.fillna("unknown").value_counts().sort_index().items()},
        "payments_per_day": int(s.payments_per_day.sum()),
        "registrations_per_day": int(s.registrations_per_day.sum()),
        "illustrative": bool(len(s) and s.illustrative.all()),
    }
    if as_json:
        typer.echo(json.dumps({"report": loaded.report.to_dict(), **counts}, indent=2))
    else:
        typer.echo(loaded.report.summary())
        if counts["illustrative"]:
            typer.echo("ILLUSTRATIVE sites: placed at stated points from published counts, not BISP's real list.")
        typer.echo("kinds: " + ", ".join(f"{k} {v:,}" for k, v in counts["kinds"].items()))
        typer.echo("services: " + ", ".join(f"{k} {v:,}" for k, v in counts["services"].items()))
        typer.echo(f"capacity: {counts['payments_per_day']:,} payments and "
                   f"{counts['registrations_per_day']:,} registrations a day")
    if loaded.report.rows_quarantined:
        raise typer.Exit(3)


@delivery_app.command("show")
def show_cmd(
    run_dir: Path = typer.Argument(..., help="Run folder written by madad run with a delivery plan."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the delivery section as JSON here."),
) -> None:
    """Print a run's delivery plan: the headline, each province's days to pay, closed sites,
    campsites and households beyond the travel limit, and the One Window Centres' load."""
    from rich.console import Console
    from rich.table import Table

    from simulator.plans.delivery_plan import headline

    path = run_dir / "plan.json"
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{path}: no such file; give a run folder written by madad run.")
    except (OSError, ValueError) as exc:
        fail(f"{path}: cannot be read ({exc}); rerun madad run.")
    d = plan.get("delivery")
    if not d:
        fail(f"{run_dir}: the run has no delivery plan; add a delivery: block to the scenario "
             "(or run with --sites FILE) and run it again.")
    console = Console(width=max(Console().width, 100))
    typer.echo(headline(d))
    src = d["sites_source"]
    typer.echo(f"sites: {src['file']} ({src['rows_valid']:,} valid, {src['rows_quarantined']:,} quarantined"
               f"{', ILLUSTRATIVE' if src.get('illustrative') else ''})")
    table = Table(title="By province")
    for column in ("province", "households", "days to pay", "sites closed", "campsites",
                   f"beyond {d['assumptions']['far_limit_km']:g} km", "registrations", "complaints"):
        table.add_column(column, justify="left" if column == "province" else "right")
    for p in d["provinces"]:
        table.add_row(p["province_code"], *(f"{p[k]:,}" for k in (
            "households", "days_to_pay", "sites_closed", "campsites", "beyond_limit_households",
            "registrations", "complaints")))
    console.print(table)
    if d["campsites"]:
        camps = Table(title=f"Campsites ({d.get('campsite_method')})")
        for column in ("campsite", "province", "lon", "lat", "households", "days"):
            camps.add_column(column)
        for c in d["campsites"]:
            camps.add_row(str(c["campsite_id"]), str(c["province_code"]), f"{c['lon']:.3f}", f"{c['lat']:.3f}",
                          f"{c['demand_households']:,}", f"{c['days']:,}")
        console.print(camps)
    if d["one_window"]:
        owc = Table(title="One Window Centres")
        for column in ("site", "federal payments", "provincial payments", "both", "registrations", "complaints"):
            owc.add_column(column, justify="left" if column == "site" else "right")
        for o in d["one_window"]:
            owc.add_row(str(o["site_id"]), *(f"{o[k]:,}" for k in ("federal_payments", "provincial_payments",
                                                                   "joint_payments", "registrations", "complaints")))
        console.print(owc)
    for note in d.get("notes", []):
        typer.echo(f"note: {note}")
    if json_out is not None:
        write_json(d, json_out)
