"""Payment files on disk: instruction files per partner, return files read back, reconciliation.

Every output folder is written like a run folder (:mod:`simulator.publish.atomic`): under the
folder's lock, into a staging folder beside it, ``manifest.json`` last (sha256 of every other
file), flushed, then swapped in whole. A folder that holds files these commands do not write is
refused, never replaced (:func:`atomic.check_replaceable` with this module's file names).

Export folder (:func:`export`)
    ``<partner_id>_instalment<k>.csv`` (the partner's layout, ``data/partners/*.schema.json``),
    ``summary.csv`` / ``summary.json`` (rows and PKR per partner and instalment, plus
    ``unassigned``: paid households without a payment site, in no file), ``payments.key`` (the
    secret key, mode 0600, unless ``--key`` gave one) and ``manifest.json``. Send a partner its
    CSV files only: never the key, which turns household ids into the pseudonyms.

Reconciliation folder (:func:`reconcile_run`)
    ``reconciliation.json``, ``reconciliation.xlsx`` (summary, provinces, districts, sites,
    failures, quarantine), ``households_status.parquet`` and ``manifest.json``.

Made-up returns (:func:`simulate_return_files`)
    ``<partner_id>_instalment<k>_returns.csv`` and ``manifest.json``.

Every CSV and xlsx cell goes through :func:`simulator.publish.cells.neutralise`; every CSV written
is scanned for raw CNICs (:func:`simulator.registry.cnic.scan_file`) before the swap.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hazards.errors import ExportError
from simulator import __version__
from simulator.plans import payments as plan_payments
from simulator.publish import atomic
from simulator.publish.cells import neutralise
from simulator.scenario import file_sha256

logger = logging.getLogger(__name__)

__all__ = [
    "EXPORT_FILE", "KEY_FILE", "RECONCILE_FILE", "RETURNS_FILE", "export",
    "export_run", "new_key", "read_export", "read_instruction_file", "read_key", "read_return_file",
    "reconcile_run", "run_inputs", "simulate_return_files", "write_key", "write_reconciliation",
]

KEY_FILE = "payments.key"
#: Files of an export folder.
EXPORT_FILE = re.compile(r"[a-z][a-z0-9_]*_instalment\d+\.csv|summary\.csv|summary\.json|manifest\.json|"
                         + re.escape(KEY_FILE))
#: Files of a reconciliation folder.
RECONCILE_FILE = re.compile(r"reconciliation\.json|reconciliation\.xlsx|households_status\.parquet|manifest\.json")
#: Files of a folder of made-up return files.
RETURNS_FILE = re.compile(r"[a-z][a-z0-9_]*_instalment\d+_returns\.csv|manifest\.json")
_INSTRUCTION_NAME = re.compile(r"(?P<partner>[a-z][a-z0-9_]*)_instalment(?P<k>\d+)\.csv")
_JUNK = re.compile(r"\.DS_Store|Thumbs\.db|desktop\.ini|~\$.*")
EXPORT_FORMAT = "madad-payments-export"
KEY_BYTES = 32


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------


def new_key() -> bytes:
    """A new secret key: 32 random bytes (``secrets.token_bytes``)."""
    return secrets.token_bytes(KEY_BYTES)


def write_key(path: str | Path, key: bytes) -> Path:
    """Write ``key`` as 64 hex digits and a newline, readable by its owner only (mode 0600)."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
    if os.name == "posix":
        os.chmod(path, 0o600)
    return path


def read_key(path: str | Path) -> bytes:
    """Read a key file: 64 hex digits (as :func:`write_key` writes) or 32 raw bytes.

    Raises
    ------
    ExportError
        The file is missing, readable or writable by other users (fix: ``chmod 600 FILE``), or
        not a key.
    """
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such key file; give the key the export was made with "
                          f"(--key FILE, or {KEY_FILE} of the export folder).")
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ExportError(f"{path}: permissions {mode:04o} let other users read the payment key; "
                              f"run `chmod 600 {path}` and keep the file private.")
    raw = path.read_bytes()
    text = raw.strip()
    if re.fullmatch(rb"[0-9a-fA-F]{32,128}", text) and len(text) % 2 == 0:
        return bytes.fromhex(text.decode("ascii"))
    if len(raw) == KEY_BYTES:
        return raw
    raise ExportError(f"{path}: not a payment key (64 hex digits, or 32 raw bytes); give the key file "
                      "`madad payments export` wrote.")


# ---------------------------------------------------------------------------------------------
# Atomic folders
# ---------------------------------------------------------------------------------------------


def _write_folder(out: str | Path, fill: Callable[[Path, Path], tuple[dict[str, Path], dict]],
                  allowed: re.Pattern[str], what: str, *, hashed: Callable[[str], bool] = lambda n: True,
                  lock_timeout: float = atomic.LOCK_TIMEOUT_S) -> dict[str, Path]:
    """Write a folder atomically: ``fill(stage, target)`` writes the files into the staging
    folder and returns their paths and the manifest's other fields; manifest.json goes last."""
    given = Path(out)

    def write(stage: Path, target: Path) -> dict[str, Path]:
        paths, fields = fill(stage, target)
        manifest = {**fields,
                    "outputs": {n: file_sha256(p) for n, p in sorted(paths.items()) if hashed(n)},
                    "madad_version": __version__,
                    "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        atomic.fsync_tree(stage)
        return paths

    paths = atomic.replace_folder(given, write, allowed=allowed, what=what, lock_timeout=lock_timeout)
    logger.info("%s: wrote %d files", given, len(paths) + 1)
    return {**{n: given / n for n in paths}, "manifest.json": given / "manifest.json"}


def _read_manifest(folder: Path, kind: str, fix: str) -> dict:
    path = folder / "manifest.json"
    if not path.is_file():
        raise ExportError(f"{folder}: no manifest.json, so it is not a folder {fix} wrote.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}: not valid JSON ({exc}); write the folder again with {fix}.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != kind or not isinstance(manifest.get("outputs"), dict):
        raise ExportError(f"{path}: not the manifest of a folder {fix} wrote (format is not {kind!r}).")
    for name, digest in manifest["outputs"].items():
        if not isinstance(name, str) or "/" in name or name.startswith("."):
            raise ExportError(f"{path}: output name {name!r} is not a plain file name; the manifest is damaged.")
        if not (folder / name).is_file() or file_sha256(folder / name) != digest:
            raise ExportError(f"{folder / name}: missing or changed since {fix} wrote it (sha256 differs "
                              "from manifest.json); write the folder again.")
    return manifest


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------


def _csv(frame: pd.DataFrame, schema: dict, block: str, path: Path) -> Path:
    spec = schema[block]
    neutralise(frame).to_csv(path, sep=spec["delimiter"], index=False, encoding=spec.get("encoding", "utf-8"),
                             lineterminator="\n")
    return path


def _records(frame: pd.DataFrame) -> list[dict]:
    def plain(v):
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.floating):
            return None if np.isnan(v) else float(v)
        if isinstance(v, pd.Timestamp):
            return v.strftime("%Y-%m-%d")
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
            return None
        return v

    return [{k: plain(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def export(households: pd.DataFrame, sites: pd.DataFrame, instalments, out: str | Path, *,
           key_file: str | Path | None = None, run: str | None = None,
           lock_timeout: float = atomic.LOCK_TIMEOUT_S) -> dict[str, Path]:
    """Write one instruction file per partner and instalment, a summary, the key and a manifest.

    Parameters
    ----------
    households, sites, instalments
        As :func:`simulator.plans.payments.payments`.
    out
        The export folder (replaced whole, atomically).
    key_file
        The secret key to use (``--key``); it is not copied into the folder. When None, the
        folder's existing ``payments.key`` is kept (so that a re-export gives the same
        pseudonyms), else a new 32-byte key is written there (mode 0600).
    run
        The run folder the export comes from, recorded in the manifest.

    Returns
    -------
    dict
        File name -> path written.

    Raises
    ------
    ExportError
        Bad inputs (see :func:`~simulator.plans.payments.payments`), a bad key file, or an
        ``out`` holding other files.
    """
    target = Path(out).resolve()
    given_key = key_file is not None
    if given_key:
        key = read_key(key_file)
    elif (target / KEY_FILE).is_file():
        key = read_key(target / KEY_FILE)
        logger.info("%s: keeping its payment key %s, so the pseudonyms stay the same", out, KEY_FILE)
    else:
        key = new_key()
    pay = plan_payments.payments(households, sites, instalments, key)
    files = plan_payments.split_by_file(pay)
    table = plan_payments.summary(pay)
    schemas = {p: plan_payments.load_schema(p) for p in sorted({p for p, _ in files})}

    def fill(stage: Path, _target: Path) -> tuple[dict[str, Path], dict]:
        from simulator.registry import cnic

        paths: dict[str, Path] = {}
        listed = []
        for (partner, k), frame in files.items():  # loops over files
            name = f"{partner}_instalment{k}.csv"
            schema = schemas[partner]
            paths[name] = _csv(plan_payments.to_partner_columns(frame, schema), schema, "instruction", stage / name)
            cnic.scan_file(paths[name])
            listed.append({"file": name, "partner_id": partner, "instalment": k, "households": len(frame),
                           "amount_pkr": int(frame.amount_pkr.sum()),
                           "schema": f"data/partners/{partner}.schema.json"})
        neutralise(table).to_csv(stage / "summary.csv", index=False, lineterminator="\n")
        paths["summary.csv"] = stage / "summary.csv"
        body = {"instalments": _records(pay.instalments), "files": _records(table)}
        (stage / "summary.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        paths["summary.json"] = stage / "summary.json"
        if not given_key:
            paths[KEY_FILE] = write_key(stage / KEY_FILE, key)
        fields = {"format": EXPORT_FORMAT, "run": run, "key_file": None if given_key else KEY_FILE,
                  "key_fingerprint": plan_payments.key_fingerprint(key), "files": listed,
                  "pseudonym": f"HMAC-SHA256(key, partner_id + 0x1F + household_id), first "
                               f"{plan_payments.PSEUDONYM_BITS} bits as hex in groups of six",
                  "illustrative": "partner per site kind and the file layouts are ASSUMPTIONS (data/partners/)"}
        return paths, fields

    return _write_folder(out, fill, EXPORT_FILE, "madad payments export", hashed=lambda n: n != KEY_FILE,
                         lock_timeout=lock_timeout)


def run_inputs(run_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Households, payment sites and instalments of a run folder (``madad run``).

    Raises
    ------
    ExportError
        Not a run folder, or its plan has no ``delivery.sites`` or ``instalments``.
    """
    from simulator.publish.runs import load_run

    run = load_run(run_dir)
    plan = run.plan
    sites = (plan.get("delivery") or {}).get("sites")
    if not sites:
        raise ExportError(f"{run_dir}: plan.json has no delivery.sites, so households cannot be sent to "
                          "payment partners; rerun `madad run SCENARIO --out DIR` with a Madad that plans "
                          "delivery sites.")
    if not plan.get("instalments"):
        raise ExportError(f"{run_dir}: plan.json has no instalments; rerun `madad run SCENARIO --out DIR`.")
    return run.households, pd.DataFrame(sites), list(plan["instalments"])


def export_run(run_dir: str | Path, out: str | Path, *, key_file: str | Path | None = None) -> dict[str, Path]:
    """:func:`export` of a run folder's households, payment sites and instalments."""
    households, sites, instalments = run_inputs(run_dir)
    return export(households, sites, instalments, out, key_file=key_file, run=str(run_dir))


def read_export(export_dir: str | Path) -> dict:
    """The manifest of an export folder, its files checked against their sha256.

    Raises
    ------
    ExportError
        Not an export folder, or a file missing or changed.
    """
    return _read_manifest(Path(export_dir), EXPORT_FORMAT, "`madad payments export`")


# ---------------------------------------------------------------------------------------------
# Reading partner files
# ---------------------------------------------------------------------------------------------


def _read_text_csv(path: Path, schema: dict, block: str) -> pd.DataFrame:
    spec = schema[block]
    try:
        return pd.read_csv(path, sep=spec["delimiter"], dtype=str, keep_default_na=False,
                           encoding=spec.get("encoding", "utf-8"), skipinitialspace=False)
    except FileNotFoundError as exc:
        raise ExportError(f"{path}: no such file.") from exc
    except pd.errors.EmptyDataError as exc:
        raise ExportError(f"{path}: empty; a {schema['partner_id']} {block} file starts with a header row "
                          f"{[c['name'] for c in spec['columns']]}.") from exc
    except pd.errors.ParserError as exc:
        raise ExportError(f"{path}: not a {spec['delimiter']!r}-separated file as the "
                          f"{schema['partner_id']} schema says ({exc}); fix the row named.") from exc
    except UnicodeDecodeError as exc:
        raise ExportError(f"{path}: not {spec.get('encoding', 'utf-8')} text (byte {exc.start}); save it "
                          f"as {spec.get('encoding', 'utf-8')}.") from exc


def partner_of_file(path: str | Path) -> str:
    """The partner a file belongs to, from its name: ``<partner_id>_...`` (the longest id that fits).

    Raises
    ------
    ExportError
        No partner id starts the name.
    """
    name = Path(path).name
    ids = sorted(plan_payments.partners().partner_id, key=len, reverse=True)
    for pid in ids:  # loops over partners
        if name.startswith(pid + "_"):
            return pid
    raise ExportError(f"{path}: cannot tell its partner; name the file <partner_id>_..., e.g. "
                      f"hbl_instalment1_returns.csv (partners: {sorted(ids)}).")


def read_instruction_file(path: str | Path, *, partner_id: str | None = None) -> pd.DataFrame:
    """An instruction file back as canonical fields (text cells; ints as int64)."""
    path = Path(path)
    schema = plan_payments.load_schema(partner_id or partner_of_file(path))
    raw = _read_text_csv(path, schema, "instruction")
    frame = plan_payments.from_partner_columns(raw, schema, "instruction", source=str(path))
    for c in schema["instruction"]["columns"]:  # loops over columns
        if c["type"] == "int":
            try:
                frame[c["field"]] = pd.to_numeric(frame[c["field"]], errors="raise").astype(np.int64)
            except (ValueError, TypeError) as exc:
                raise ExportError(f"{path}: column {c['name']!r} holds a value that is not a whole number "
                                  f"({exc}); export the file again.") from exc
    return frame


def read_return_file(path: str | Path, *, partner_id: str | None = None) -> pd.DataFrame:
    """A partner's return file as typed canonical rows (:func:`~simulator.plans.payments.parse_returns`)
    with a ``file`` column; the partner from ``partner_id`` or the file name."""
    path = Path(path)
    schema = plan_payments.load_schema(partner_id or partner_of_file(path))
    raw = _read_text_csv(path, schema, "return")
    out = plan_payments.parse_returns(raw, schema, source=str(path))
    out.insert(0, "file", path.name)
    return out


# ---------------------------------------------------------------------------------------------
# Reconciliation
# ---------------------------------------------------------------------------------------------


def reconcile_run(run_dir: str | Path, export_dir: str | Path, return_files: Sequence[str | Path],
                  out: str | Path, *, key_file: str | Path | None = None,
                  ) -> tuple[plan_payments.Reconciliation, dict[str, Path]]:
    """Reconcile partners' return files against an export of a run and write the result.

    Parameters
    ----------
    run_dir
        The run folder the export was made from.
    export_dir
        The export folder (its manifest is checked).
    return_files
        Partners' return files, each named ``<partner_id>_...`` and laid out by the partner's
        schema.
    out
        The reconciliation folder (replaced whole, atomically).
    key_file
        The export's key; by default ``payments.key`` of the export folder.

    Raises
    ------
    ExportError
        A wrong key, an export not made from this run, a malformed return file (naming file,
        line and column), or an ``out`` holding other files.
    """
    export_dir = Path(export_dir)
    manifest = read_export(export_dir)
    if key_file is None:
        if not manifest.get("key_file"):
            raise ExportError(f"{export_dir}: the export was made with a key given by --key; give the same "
                              "key with --key FILE.")
        key_file = export_dir / manifest["key_file"]
    key = read_key(key_file)
    if plan_payments.key_fingerprint(key) != manifest.get("key_fingerprint"):
        raise ExportError(f"{key_file}: not the key {export_dir} was exported with (fingerprints differ); "
                          "give the export's key with --key FILE.")
    households, sites, instalments = run_inputs(run_dir)
    pay = plan_payments.payments(households, sites, instalments, key)
    expected = {(f["partner_id"], int(f["instalment"])): (int(f["households"]), int(f["amount_pkr"]))
                for f in manifest.get("files", [])}
    now = {pk: (len(fr), int(fr.amount_pkr.sum())) for pk, fr in plan_payments.split_by_file(pay).items()}
    if expected != now:
        raise ExportError(f"{export_dir}: its files do not match run {run_dir} (rows or amounts per partner "
                          "and instalment differ); give the run folder the export was made from, or "
                          "export again.")
    if not return_files:
        raise ExportError("no return files given; name each partner's return file (<partner_id>_...csv).")
    returns = pd.concat([read_return_file(p) for p in return_files], ignore_index=True)
    rec = plan_payments.reconcile(pay, returns)
    sources = [{"file": Path(p).name, "sha256": file_sha256(p),
                "rows": int((returns.file == Path(p).name).sum())} for p in return_files]
    paths = write_reconciliation(rec, out, fields={"run": str(run_dir), "export": str(export_dir),
                                                   "return_files": sources})
    return rec, paths


def _xlsx(rec: plan_payments.Reconciliation, path: Path) -> Path:
    sheets = {"summary": rec.national, "provinces": rec.provinces, "districts": rec.districts,
              "sites": rec.sites, "failures": rec.failures, "quarantine": rec.quarantine}
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():  # loops over sheets
            frame = neutralise(frame)
            frame.to_excel(writer, sheet_name=name, index=False)
            ws = writer.sheets[name]
            ws.freeze_panes = "A2"
            for idx, column in enumerate(frame.columns, start=1):
                if str(column).endswith("_pkr"):
                    for cell in ws.iter_rows(min_row=2, min_col=idx, max_col=idx):
                        cell[0].number_format = "#,##0"
    return path


def write_reconciliation(rec: plan_payments.Reconciliation, out: str | Path, *, fields: dict | None = None,
                         lock_timeout: float = atomic.LOCK_TIMEOUT_S) -> dict[str, Path]:
    """Write ``reconciliation.json``, ``reconciliation.xlsx``, ``households_status.parquet`` and
    ``manifest.json`` into ``out`` (replaced whole, atomically)."""
    def fill(stage: Path, _target: Path) -> tuple[dict[str, Path], dict]:
        national = rec.national
        body = {
            "totals": _records(national[national.instalment == 0])[0] if (national.instalment == 0).any() else {},
            "instalments": _records(national[national.instalment > 0]),
            "provinces": _records(rec.provinces), "districts": _records(rec.districts),
            "sites": _records(rec.sites), "failures": _records(rec.failures),
            "quarantine": {"rows": len(rec.quarantine),
                           "by_reason": {r: int(rec.quarantine.reason.str.split(";").explode().eq(r).sum())
                                         for r in plan_payments.QUARANTINE_REASONS}},
            "statuses": list(plan_payments.STATUSES),
            "note": "scheduled_pkr = paid_pkr + failed_pkr + unpaid_pkr exactly; unassigned households "
                    "(paid, without a payment site) were in no instruction file.",
        }
        paths = {"reconciliation.json": stage / "reconciliation.json"}
        paths["reconciliation.json"].write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        paths["reconciliation.xlsx"] = _xlsx(rec, stage / "reconciliation.xlsx")
        status = rec.households[["household_id", "instalment", "status", "reason", "amount_pkr", "partner_id",
                                 "site_id", "district_id", "province_code", "paid_date"]]
        status.to_parquet(stage / "households_status.parquet", index=False)
        paths["households_status.parquet"] = stage / "households_status.parquet"
        return paths, {"format": "madad-payments-reconciliation", **(fields or {})}

    return _write_folder(out, fill, RECONCILE_FILE, "madad payments reconcile", lock_timeout=lock_timeout)


# ---------------------------------------------------------------------------------------------
# Made-up returns
# ---------------------------------------------------------------------------------------------


def simulate_return_files(export_dir: str | Path, out: str | Path, *, failure_rate: float = 0.05,
                          missing_rate: float = 0.02, seed: int = 0) -> dict[str, Path]:
    """Made-up return files for every instruction file of an export, for demos and tests.

    Each file ``<partner_id>_instalment<k>_returns.csv`` has the partner's return layout; the
    generator for file i is seeded with ``(seed, i)``.
    """
    export_dir = Path(export_dir)
    manifest = read_export(export_dir)

    def fill(stage: Path, _target: Path) -> tuple[dict[str, Path], dict]:
        paths = {}
        for i, f in enumerate(manifest.get("files", [])):  # loops over files
            partner = f["partner_id"]
            schema = plan_payments.load_schema(partner)
            frame = read_instruction_file(export_dir / f["file"], partner_id=partner)
            ret = plan_payments.simulate_returns(frame, schema, failure_rate=failure_rate,
                                                 missing_rate=missing_rate, seed=[seed, i])
            name = f["file"][:-4] + "_returns.csv"
            paths[name] = _csv(ret, schema, "return", stage / name)
        return paths, {"format": "madad-payments-simulated-returns", "export": str(export_dir),
                       "failure_rate": failure_rate, "missing_rate": missing_rate, "seed": seed,
                       "illustrative": "made-up return files for demos and tests"}

    return _write_folder(out, fill, RETURNS_FILE, "madad payments simulate-returns")
