"""``madad exchange``: agency keys, signed and encrypted exchange packages, the audit log.

Registered by :mod:`simulator.cli` as the ``exchange`` sub-command. Exit codes: 0 success,
2 refused (tampered, truncated, wrongly addressed or signed package, a package opened before,
raw CNICs, bad keys).

A package is a tar of ``payload.age`` (age), ``manifest.json`` and ``manifest.json.sig`` (an SSH
signature): ``tar``, ``ssh-keygen -Y verify`` and ``age -d`` open it without Madad.

Passphrase-protected keys: the passphrase is read from ``$MADAD_KEY_PASSPHRASE`` when set,
otherwise asked for on the terminal; it is never a command-line argument.

Long commands (pack, unpack, verify, encode, link) show a progress bar on stderr when it is a
terminal (:func:`progress_bar`), nothing otherwise; stdout is the same either way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from hazards.errors import MadadError
from simulator.cli.common import command_group, fail
from simulator.publish.cells import neutralise

PASSPHRASE_ENV = "MADAD_KEY_PASSPHRASE"

exchange_app = command_group(
    "Exchange registry data between agencies: signed, encrypted for one recipient, "
    "verified before import, written to an append-only audit log.\n\n"
    "A package is a tar of payload.age (age-encrypted Parquet), manifest.json and its SSH "
    "signature manifest.json.sig: tar, ssh-keygen -Y verify and age -d open it without Madad.\n\n"
    "Example (BISP sends to PSPA Punjab):\n\n"
    "  madad exchange keygen bisp --out keys/bisp\n\n"
    "  madad exchange pack nser.parquet --to pspa-punjab.identity.json "
    "--key keys/bisp/bisp.key.pem --dataset nser-2025q1 --purpose dedup "
    "--out nser.madadpkg --audit audit.jsonl"
)




@contextmanager
def progress_bar(unit: str = "rows") -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on stderr, fed by ``on_progress(step, done, total)`` callbacks.

    Each step gets a line: its name, a bar, done/total (in the step's unit of
    :data:`simulator.exchange.common.STEP_UNITS`, else ``unit``; bytes as kB/MB/GB), the
    percentage, elapsed and remaining time. The bars vanish when the block ends. When stderr is
    not a terminal (a pipe, a log file, a test) nothing is drawn and the callback does nothing.

    Yields
    ------
    callable
        ``on_progress(step, done, total)`` to hand to the library.
    """
    from rich.console import Console
    from rich.filesize import decimal
    from rich.progress import (
        BarColumn,
        Progress,
        ProgressColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    from simulator.exchange.common import STEP_UNITS

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda step, done, total: None
        return

    def short(n: int) -> str:  # 950, 12.3k, 4.6M: the line fits 80 columns
        for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
            if n >= 10 * size or (n >= size and size > 1_000):
                return f"{n / size:.1f}{suffix}"
        return f"{n:,}"

    class Count(ProgressColumn):
        """done/total in the step's unit."""

        def render(self, task) -> Text:
            done, total, what = int(task.completed), int(task.total or 0), task.fields["unit"]
            if what == "bytes":
                return Text(f"{decimal(done)}/{decimal(total)}", style="progress.download")
            return Text(f"{short(done)}/{short(total)} {what}", style="progress.download")

    tasks: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(bar_width=20), Count(), TaskProgressColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True,
        redirect_stdout=False,  # stdout is the command's output: never into the bar's stream
    ) as bar:

        def on_progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total, unit=STEP_UNITS.get(step, unit))
            bar.update(tasks[step], completed=done, total=total)

        yield on_progress


def _passphrase_for(key: Path) -> str | None:
    from simulator.exchange import packages as exchange

    if not exchange.is_passphrase_protected(key):
        return None
    return os.environ.get(PASSPHRASE_ENV) or typer.prompt(f"Passphrase for {key}", hide_input=True)


@exchange_app.command()
def keygen(
    agency: str = typer.Argument(
        ..., help="Agency id, e.g. bisp, pspa-punjab, sspa-sindh, pdma-sindh."
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Folder for AGENCY.key.pem and AGENCY.identity.json."
    ),
    passphrase: bool = typer.Option(
        False,
        "--passphrase",
        help=f"Protect the private keys with a passphrase (from ${PASSPHRASE_ENV} or asked).",
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace existing keys of this agency in --out."
    ),
) -> None:
    """Make an agency's signing and encryption keys.

    Writes AGENCY.key.pem (private, mode 0600: keep it secret) and AGENCY.identity.json
    (public: send it to partner agencies, and confirm the key id with them by phone or letter),
    and the same keys for standard tools: AGENCY.age-key.txt (the age identity, mode 0600:
    `age -d -i` opens packages with it) and AGENCY.allowed_signers (public: `ssh-keygen -Y
    verify -f` checks the agency's signatures with it).

    Example: madad exchange keygen pspa-punjab --out keys/pspa-punjab --passphrase
    """
    from simulator.exchange import packages as exchange

    secret = None
    if passphrase:
        secret = os.environ.get(PASSPHRASE_ENV) or typer.prompt(
            "Passphrase", hide_input=True, confirmation_prompt=True
        )
    try:
        files = exchange.keygen(agency, out, passphrase=secret, overwrite=force)
    except MadadError as exc:
        fail(exc)
    typer.echo(f"private keys: {files.private_key} (mode 0600; never share)")
    typer.echo(f"identity:     {files.identity} (share with partner agencies)")
    typer.echo(f"age identity: {files.age_key} (mode 0600; for `age -d -i`; never share)")
    typer.echo(f"ssh signers:  {files.allowed_signers} (share; for `ssh-keygen -Y verify`)")
    typer.echo(f"key id:       {files.key_id} (confirm it with partners out of band)")


@exchange_app.command()
def pack(
    file: Path = typer.Argument(..., help="Pseudonymised Parquet/GeoParquet table to send."),
    to: Path = typer.Option(
        ..., "--to", help="Recipient's identity file (RECIPIENT.identity.json)."
    ),
    key: Path = typer.Option(..., "--key", help="Your private key file (AGENCY.key.pem)."),
    dataset: str = typer.Option(..., help="Name of what is sent, e.g. nser-extract-2025q1."),
    purpose: str = typer.Option(..., help="Why it is sent, e.g. 'dedup of flood response 2025'."),
    out: Path = typer.Option(..., "--out", "-o", help="Package to write, e.g. nser.madadpkg."),
    audit: Path | None = typer.Option(None, "--audit", help="Append a line to this audit log."),
) -> None:
    """Encrypt a table for one agency and sign it as yours.

    The Parquet file is read and encrypted in chunks (memory stays flat). Refused (exit 2)
    when the table holds raw CNICs (pseudonymise first) or when --dataset or --purpose holds
    newlines or other control characters.

    Example: madad exchange pack nser.parquet --to keys/pspa-punjab.identity.json
    --key keys/bisp/bisp.key.pem --dataset nser-2025q1 --purpose "flood dedup"
    --out nser.madadpkg --audit exchange-audit.jsonl
    """
    from simulator.exchange import packages as exchange

    try:
        passphrase = _passphrase_for(key)
        with progress_bar() as on_progress:
            manifest = exchange.pack(
                file,
                sender_private=key,
                recipient_public_identity=to,
                dataset=dataset,
                purpose=purpose,
                out=out,
                passphrase=passphrase,
                audit_log=audit,
                on_progress=on_progress,
            )
    except MadadError as exc:
        fail(exc)
    typer.echo(
        f"packed {manifest['rows']:,} rows of {dataset} from {manifest['sender']['agency_id']} "
        f"for {manifest['recipient']['agency_id']} into {out}"
    )
    typer.echo(f"package id {manifest['package_id']}")
    typer.echo(f"payload sha256 {manifest['payload']['sha256']}")


@exchange_app.command()
def unpack(
    file: Path = typer.Argument(..., help="Package (.madadpkg) to open."),
    sender: Path = typer.Option(..., "--from", help="Expected sender's identity file."),
    key: Path = typer.Option(..., "--key", help="Your private key file (AGENCY.key.pem)."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Parquet file to write after all checks pass."
    ),
    audit: Path | None = typer.Option(
        None,
        "--audit",
        help="Your audit log (required): records the opening, and refuses a package opened before.",
    ),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
    allow_reopen: bool = typer.Option(
        False,
        "--allow-reopen",
        help="Open a package you opened before (e.g. its first output was lost); recorded as "
        "a re-opening in the audit log.",
    ),
) -> None:
    """Verify a package completely, then decrypt it to a Parquet file.

    Refused (exit 2, nothing written) when the package is truncated, tampered with, of an
    unknown version, not signed by the --from agency, addressed to another agency or key, or
    already opened according to the --audit log (a replay; --allow-reopen to open it again on
    purpose).

    Example: madad exchange unpack nser.madadpkg --from keys/bisp.identity.json
    --key keys/pspa-punjab/pspa-punjab.key.pem --out nser.parquet --audit exchange-audit.jsonl
    """
    from simulator.exchange import packages as exchange

    if audit is None:
        fail(exchange.ExchangeError(
            "unpack needs --audit AUDIT.jsonl: the audit log records each package opened, so a "
            "package presented again (a replay) is refused. Use the same log for every unpack."
        ))
    if out.exists() and not force:
        fail(exchange.ExchangeError(f"{out} already exists; pass --force to replace it."))
    try:
        passphrase = _passphrase_for(key)
        with progress_bar() as on_progress:
            manifest = exchange.unpack_to(
                file,
                out,
                recipient_private=key,
                sender_public_identity=sender,
                passphrase=passphrase,
                audit_log=audit,
                allow_reopen=allow_reopen,
                on_progress=on_progress,
            )
    except MadadError as exc:
        fail(exc)
    typer.echo(
        f"verified and unpacked {manifest['rows']:,} rows of {manifest['dataset']} from "
        f"{manifest['sender']['agency_id']} (purpose: {manifest['purpose']}) into {out}"
    )


@exchange_app.command()
def verify(
    file: Path = typer.Argument(..., help="Package (.madadpkg) to check."),
    sender: Path = typer.Option(..., "--from", help="Expected sender's identity file."),
) -> None:
    """Check a package's structure, signature and ciphertext hash without decrypting it
    (for a courier: no private key needed).

    The same check with standard tools: tar -xf FILE; ssh-keygen -Y verify -f
    SENDER.allowed_signers -I SENDER -n madad-exchange -s manifest.json.sig < manifest.json;
    sha256sum payload.age (equals encryption.sha256 in manifest.json).

    Example: madad exchange verify nser.madadpkg --from keys/bisp.identity.json
    """
    from simulator.exchange import packages as exchange

    try:
        with progress_bar() as on_progress:
            m = exchange.verify(file, sender, on_progress=on_progress)
    except MadadError as exc:
        fail(exc)
    typer.echo(
        f"ok: signed by {m['sender']['agency_id']} (key id {m['sender']['key_id']}) for "
        f"{m['recipient']['agency_id']} (key id {m['recipient']['key_id']}); dataset "
        f"{m['dataset']}, {m['rows']:,} rows, {len(m['columns'])} columns, created {m['created_utc']}"
    )
    typer.echo(f"package id {m['package_id']}; payload.age sha256 {m['encryption']['sha256']}")


@exchange_app.command("audit-verify")
def audit_verify(
    log: Path = typer.Argument(..., help="Audit log (JSON lines) to check."),
    anchor: str | None = typer.Option(
        None, help="A head sha256 printed earlier; it must still be in the log."
    ),
) -> None:
    """Check the audit log's hash chain: no line edited, deleted or inserted.

    Prints the head sha256; keep it elsewhere and pass it as --anchor later to detect
    deletion of the newest lines.

    Example: madad exchange audit-verify exchange-audit.jsonl
    """
    from simulator.exchange import packages as exchange

    try:
        summary = exchange.verify_audit_log(log, anchor=anchor)
    except MadadError as exc:
        fail(exc)
    ops = ", ".join(f"{k}: {v}" for k, v in summary.operations.items()) or "none"
    typer.echo(f"ok: {summary.entries} entries ({ops}); head sha256 {summary.head_sha256}")


@exchange_app.command("secret")
def secret_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="Key file to create (JSON, mode 0600)."),
) -> None:
    """Create a secret key file: for pseudonymising CNICs (held by the data owner) or, shared by
    two agencies over a secure channel, for record linkage.

    Example: madad exchange secret --out keys/linkage.key.json
    """
    from simulator.exchange.pseudonym import KeyRing

    try:
        KeyRing.generate().save(out)
    except MadadError as exc:
        fail(exc)
    typer.echo(f"wrote {out} (mode 0600); share a linkage secret only with the other agency")


@exchange_app.command()
def pseudonymise(
    file: Path = typer.Argument(..., help="CSV or Parquet holding a raw CNIC column."),
    key: Path = typer.Option(..., "--key", help="Key file from `madad exchange secret`."),
    out: Path = typer.Option(..., "--out", "-o", help="Output CSV or Parquet, without the CNIC column."),
    cnic_column: str = typer.Option("cnic", help="Name of the CNIC column."),
) -> None:
    """Replace raw CNICs by keyed pseudonyms (HMAC-SHA256); the output has no CNIC column.

    Example: madad exchange pseudonymise households_with_cnic.csv --key keys/owner.key.json --out households.parquet
    """
    import pandas as pd

    from simulator.exchange.pseudonym import KeyRing, pseudonymise_frame

    try:
        frame = pd.read_parquet(file) if file.suffix.lower() == ".parquet" else pd.read_csv(file, dtype=str)
        result = pseudonymise_frame(frame, key=KeyRing.load(key), cnic_column=cnic_column)
    except MadadError as exc:
        fail(exc)
    except (OSError, ValueError) as exc:
        fail(MadadError(f"{file}: cannot be read ({type(exc).__name__})."))
    if out.suffix.lower() == ".parquet":
        result.to_parquet(out, index=False)
    else:
        neutralise(result).to_csv(out, index=False)
    typer.echo(f"wrote {len(result):,} pseudonymised rows to {out}")


@exchange_app.command()
def encode(
    file: Path = typer.Argument(..., help="CSV or Parquet: household_id, name, father_name, dob, district_id."),
    secret: Path = typer.Option(..., "--secret", help="Linkage secret shared with the other agency."),
    party: str = typer.Option(..., help="Name of this registry, e.g. nser or pser."),
    out: Path = typer.Option(..., "--out", "-o", help="Encoded registry (Parquet) to send for linkage."),
) -> None:
    """Encode a registry for privacy-preserving linkage: keyed Bloom filters and block keys only;
    no name, date of birth or CNIC leaves the agency.

    Example: madad exchange encode pser_people.csv --secret keys/linkage.key.json --party pser --out pser.clk.parquet
    """
    import pandas as pd

    from simulator.exchange import linkage
    from simulator.exchange.pseudonym import KeyRing

    try:
        frame = pd.read_parquet(file) if file.suffix.lower() == ".parquet" else pd.read_csv(file, dtype=str)
        with progress_bar() as on_progress:
            encoded = linkage.encode(frame, KeyRing.load(secret), party=party, on_progress=on_progress)
        encoded.save(out)
    except MadadError as exc:
        fail(exc)
    typer.echo(f"encoded {len(encoded):,} records of {party} to {out}")


@exchange_app.command()
def link(
    federal: Path = typer.Argument(..., help="Encoded federal registry (from `encode`)."),
    provincial: Path = typer.Argument(..., help="Encoded provincial registry (from `encode`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Links CSV: provincial_id, federal_id, score."),
    threshold: float = typer.Option(0.74, help="Dice similarity at or above which two records link."),
) -> None:
    """Link two encoded registries one-to-one; the links file feeds a scenario's
    registry.provincial[].links so the overlap is removed from the response plan.

    Example: madad exchange link nser.clk.parquet pser.clk.parquet --out links.csv
    """
    from simulator.exchange import linkage

    try:
        left, right = linkage.EncodedRegistry.load(federal), linkage.EncodedRegistry.load(provincial)
        with progress_bar() as on_progress:
            pairs = linkage.link(left, right, threshold=threshold, on_progress=on_progress)
    except MadadError as exc:
        fail(exc)
    table = pairs.rename(columns={"left_id": "federal_id", "right_id": "provincial_id"})
    neutralise(table[["provincial_id", "federal_id", "score"]]).to_csv(out, index=False)
    compared = pairs.attrs.get("comparisons")
    typer.echo(
        f"linked {len(table):,} pairs"
        + (f" after {compared:,} comparisons" if compared is not None else "")
        + f"; wrote {out}"
    )
