"""``madad risk``: a scenario's policy over stochastic event sets, and what a year of disasters
costs the federal government and each province (AAL, return-period payouts, layers, triggers)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from hazards.errors import MadadError
from simulator.cli.common import fail


def risk(
    scenario: Path = typer.Argument(..., exists=True, dir_okay=False, help="Scenario YAML (its policy, budgets "
                                    "per event, and financing: layers and triggers)."),
    events: list[Path] | None = typer.Option(None, "--events", "-e", help="Event set file (.npz, madad hazard "
                                             "events); repeat for a multi-hazard mix over the same years."),
    generate: int | None = typer.Option(None, "--generate", "-n", min=1, max=1_000_000, help="Build N events for "
                                        "each of the scenario's modelled hazards (cached by recipe in "
                                        "$MADAD_CACHE/events or ~/.cache/madad/events)."),
    years: float | None = typer.Option(None, min=1, help="Years the sets stand for (--generate: default N; "
                                       "files: default their own)."),
    workers: int = typer.Option(1, min=1, max=64, help="Processes building generated sets."),
    households: int | None = typer.Option(None, help="Synthetic registry size (overrides the scenario)."),
    registry: Path | None = typer.Option(None, help="Registry file instead of the scenario's."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Risk run folder to write: event_payouts.parquet, "
                                    "risk.json, risk.xlsx, risk.pdf, exceedance.png, manifest.json."),
    as_json: Path | None = typer.Option(None, "--json", help="Also write the risk section as JSON here."),
) -> None:
    """Run SCENARIO's policy over every event of stochastic event sets and print what a year of
    disasters costs: average annual payout (AAL) and payouts at return periods, federal and per
    province, with intervals from the set's size; then the scenario's financing layers, pools
    and parametric triggers.

    Event sets come from --events files, else --generate N events per modelled hazard, else the
    scenario's financing.events. Each event is one hazard's: the scenario hazard of the set's
    kind gives its tiers or impact function.

    Example: madad hazard events riverine-flood --events 1000 --years 1000 --out floods.npz
             madad risk scenarios/indus-flood-demo.yaml --events floods.npz --out runs/risk

    Example: madad risk scenarios/risk/pakistan-multi-hazard.yaml --out runs/risk-mix
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from simulator import scenario as scenario_mod
    from simulator.plans import risk_run
    from simulator.plans.risk_plan import headline

    console = Console(stderr=True)
    t0 = time.perf_counter()
    try:
        scn = scenario_mod.load(scenario)
        typer.echo(f"risk of {scn.name}: {scn.title}")
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            build = progress.add_task("building event sets", total=None)
            sets = risk_run.event_sets(scn, base=scenario.parent, files=events or (), generate=generate,
                                       years=years, workers=workers, on_event=lambda: progress.advance(build))
            progress.remove_task(build)
            total = sum(s.event_set.n_events for s in sets)
            task = progress.add_task("evaluating events", total=total)
            res = risk_run.run(scn, sets, base=scenario.parent, households=households, registry_path=registry,
                               years=years, on_progress=lambda m: progress.update(task, description=m),
                               on_events=lambda n: progress.advance(task, n))
        if out is not None:
            from simulator.publish.riskfolder import write_risk_run

            paths = write_risk_run(res, out, scenario_path=scenario)
    except MadadError as exc:
        fail(exc)
    _print(res, console=Console())
    for line in headline(res.section):
        typer.echo(line)
    if as_json is not None:
        as_json.write_text(json.dumps(res.section, indent=2) + "\n")
        typer.echo(f"wrote {as_json}")
    if out is not None:
        typer.echo(f"wrote {len(paths)} files to {out}")
    typer.echo(f"{res.payouts.n_events:,} events over {res.n_years:,} years in {time.perf_counter() - t0:.1f} s")


def _bn(pkr) -> str:
    """PKR in billions, three significant figures (at most 6 characters below PKR 100,000 bn)."""
    if pkr is None:
        return "-"
    bn = pkr / 1e9
    return f"{bn:,.0f}" if bn >= 100 else f"{bn:.1f}" if bn >= 10 else f"{bn:.2f}"


def _print(res, console) -> None:
    """The table of AAL and return-period payouts per payer [PKR bn], with intervals."""
    from rich import box
    from rich.table import Table

    metrics = res.section["metrics"]
    payers = metrics
    periods = res.section["return_periods"]
    conf = int(round(res.section["confidence"] * 100))
    ev = res.section.get("evaluation", {})
    table = Table(title=f"Payouts per year, PKR bn ({res.n_years:,} simulated years, {ev.get('events', 0):,} events)",
                  caption=f"AAL: average annual payout, its {conf}% interval from the set's size; sd: year to year; "
                          "T y: the payout of a 1-in-T year (annual aggregate, AEP); -: the set is too short",
                  title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("payer", no_wrap=True, min_width=7)
    table.add_column("AAL", justify="right", no_wrap=True)
    table.add_column(f"{conf}%", justify="right", no_wrap=True, min_width=9)
    table.add_column("sd", justify="right", no_wrap=True)
    for t in periods:
        table.add_column(f"{t:g} y", justify="right", no_wrap=True)
    for payer, m in payers.items():
        aal = m["aal"]
        rps = {r["return_period_years"]: r for r in m["aep"]}
        ci = aal.get("ci_pkr") or [None, None]
        row = [payer, _bn(aal["aal_pkr"]), f"{_bn(ci[0])}-{_bn(ci[1])}", _bn(aal.get("std_pkr"))]
        row += [_bn(rps.get(t, {}).get("loss_pkr")) for t in periods]
        table.add_row(*row)
    console.print(table)
