"""``madad payments ...``: payment instruction files per partner, and reconciliation of returns.

Registered on the main app with ``app.add_typer(payments_app, name="payments")``.
Exit codes: 0 success; 2 bad input (a run folder without delivery sites, a wrong key, a malformed
return file, an output folder holding other files).
"""

from __future__ import annotations

from pathlib import Path

import typer

from hazards.errors import MadadError
from simulator.cli.common import command_group, fail

payments_app = command_group(
    "Payment instruction files per payment partner, and reconciliation of the partners' return files.\n\n"
    "Which partner serves which site kind, and each partner's file layout, are ILLUSTRATIVE "
    "assumptions (data/partners/).\n\n"
    "Example: madad payments export runs/flood --out pay/flood\n\n"
    "Example: madad payments reconcile runs/flood pay/flood returns/*.csv --out pay/flood-reconciled"
)


@payments_app.command()
def export(
    run_dir: Path = typer.Argument(..., help="Run folder written by `madad run`."),
    out: Path = typer.Option(..., "--out", "-o", help="Export folder to write (replaced whole)."),
    key: Path | None = typer.Option(
        None, "--key", help="Secret key file to use (not copied into the folder). Default: the folder's "
        "payments.key, or a new one written there (mode 0600)."
    ),
) -> None:
    """Write one instruction file per partner and instalment, a summary, the key and a manifest.

    Partners see a keyed pseudonym, never the household id. Send each partner its own CSV files; keep payments.key: reconciliation needs it.

    Example: madad payments export runs/flood --out pay/flood
    """
    from simulator.publish.payments import export_run

    try:
        paths = export_run(run_dir, out, key_file=key)
    except MadadError as exc:
        fail(str(exc))
    files = sorted(n for n in paths if n.endswith(".csv") and n != "summary.csv")
    typer.echo(f"wrote {out}: {len(files)} instruction files ({', '.join(files) or 'none'}), "
               "summary.csv, summary.json, manifest.json"
               + ("" if key else ", payments.key (keep it private)"))


@payments_app.command()
def reconcile(
    run_dir: Path = typer.Argument(..., help="Run folder the export was made from."),
    export_dir: Path = typer.Argument(..., help="Export folder written by `madad payments export`."),
    return_files: list[Path] = typer.Argument(..., help="Partners' return files, each named <partner_id>_....csv."),
    out: Path = typer.Option(..., "--out", "-o", help="Reconciliation folder to write (replaced whole)."),
    key: Path | None = typer.Option(None, "--key", help="The export's key file (default: EXPORT_DIR/payments.key)."),
) -> None:
    """Match partners' return files to the instructions: paid, failed or unpaid per household.

    Rows that do not fit (unknown pseudonym, duplicate, wrong amount or instalment, unknown code) are quarantined with a reason. Writes reconciliation.json, reconciliation.xlsx, households_status.parquet and manifest.json.

    Example: madad payments reconcile runs/flood pay/flood returns/hbl_instalment1_returns.csv --out pay/rec
    """
    from simulator.publish.payments import reconcile_run

    try:
        rec, _ = reconcile_run(run_dir, export_dir, return_files, out, key_file=key)
    except MadadError as exc:
        fail(str(exc))
    total = rec.national[rec.national.instalment == 0].iloc[0]
    typer.echo(
        f"wrote {out}: scheduled PKR {int(total.scheduled_pkr):,} = paid {int(total.paid_pkr):,} + failed "
        f"{int(total.failed_pkr):,} + unpaid {int(total.unpaid_pkr):,}; unassigned PKR "
        f"{int(total.unassigned_pkr):,}; {len(rec.quarantine):,} return rows quarantined"
    )


@payments_app.command("simulate-returns")
def simulate_returns(
    export_dir: Path = typer.Argument(..., help="Export folder written by `madad payments export`."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the made-up return files (replaced whole)."),
    failure_rate: float = typer.Option(0.05, "--failure-rate", help="Share of rows reported failed (0-1)."),
    missing_rate: float = typer.Option(0.02, "--missing-rate", help="Share of rows left out, i.e. unpaid (0-1)."),
    seed: int = typer.Option(0, help="Seed of the random draws."),
) -> None:
    """Make up partners' return files for an export, for demos and tests (not real payments).

    Example: madad payments simulate-returns pay/flood --out returns --failure-rate 0.05 --seed 0
    """
    from simulator.publish.payments import simulate_return_files

    try:
        paths = simulate_return_files(export_dir, out, failure_rate=failure_rate, missing_rate=missing_rate,
                                      seed=seed)
    except MadadError as exc:
        fail(str(exc))
    files = sorted(n for n in paths if n.endswith(".csv"))
    typer.echo(f"wrote {out}: {len(files)} made-up return files ({', '.join(files) or 'none'})")
