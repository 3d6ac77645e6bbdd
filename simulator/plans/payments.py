"""Payment instructions per payment partner, and reconciliation of the partners' return files.

Pure functions over frames and arrays (no files written, no printing; logging only). The files
are written and read by :mod:`simulator.publish.payments`; ``madad payments`` drives both.

=========================  =======================================================================
:func:`partners`           the partner table ``data/partners/partners.csv`` (ILLUSTRATIVE mapping)
:func:`load_schema`        one partner's file layout ``data/partners/<partner_id>.schema.json``
:func:`partner_of`         each site's partner: its ``partner`` column, else its kind's default
:func:`pseudonyms`         the id a partner sees: keyed HMAC of partner and household id
:func:`payments`           one row per paid household with a site per instalment, and the
                           households without a site (``unassigned``)
:func:`instructions`       :func:`payments` split into one frame per (partner, instalment)
:func:`summary`            rows and PKR per partner and instalment, plus unassigned
:func:`to_partner_columns` a canonical frame in a partner's column names and order
:func:`parse_returns`      a partner's return file (text cells) to typed canonical fields
:func:`reconcile`          each household and instalment paid / failed / unpaid, quarantined
                           return rows, totals by site, district, province and nationally
:func:`simulate_returns`   a made-up return file, for tests and demos
=========================  =======================================================================

Partners never see ``household_id``: each file carries a pseudonym,
``HMAC-SHA256(key, partner_id + 0x1F + household_id)`` truncated to :data:`PSEUDONYM_BITS` (96)
bits and written as 24 hex digits in four groups of six (``3f2a9c-1e5b7d-4e219a-0c1f2e``). 96
bits: among 40 million households the chance that two share a pseudonym is below 1e-13
(n^2 / 2^97), while the reference stays short enough for a bank's 35-character reference field.
The groups of six keep any run of decimal digits under seven, so a pseudonym never has the
5-7-1 or 13-digit shape of a CNIC and a CNIC scanner never flags it. Different partners get
different pseudonyms for the same household (the partner id is in the message), so two partners
cannot link their files; the same key gives the same pseudonyms again, which reconciliation
relies on. The 0x1F separator keeps ``("ab", "c1")`` and ``("a", "bc1")`` apart.

Which partner serves which site kind is an ASSUMPTION (``data/partners/partners.csv``, every
row ``illustrative``); so are the file layouts (``*.schema.json``). FACTS.md section 3 gives
only the partners' names (arynews 18-Oct-2024).

Registries with weights: payment files need one row per household. A paid row that stands for
several households (``weight`` > 1: only a synthetic registry has them) is expanded into its
households (:func:`expand_weighted`): ids ``<row id>~<k>``, the row's amount split exactly. They
are made-up households of a made-up registry, for demonstrations; a real registry has one row
per household.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hazards import tables
from hazards.errors import DataFileError, ExportError
from simulator.engine.payouts import instalment_split

log = logging.getLogger(__name__)

__all__ = [
    "FAILURE_REASONS", "INSTRUCTION_FIELDS", "PSEUDONYM_BITS", "QUARANTINE_REASONS",
    "RETURN_FIELDS", "STATUSES", "Payments", "Reconciliation", "instructions", "key_fingerprint",
    "load_schema", "parse_returns", "partner_of", "partners", "payments", "pseudonyms",
    "reconcile", "simulate_returns", "summary", "to_partner_columns",
]

PARTNERS_FILE = "partners/partners.csv"
REASONS_FILE = "partners/failure_reasons.csv"
#: Columns of ``data/partners/partners.csv``.
PARTNER_COLUMNS = ("partner_id", "name", "kind", "site_kinds", "schema", "source", "illustrative")
#: Kinds of partner.
PARTNER_KINDS = ("bank", "microfinance bank", "BISP campsite cash")
#: Closed list of failure reasons (``data/partners/failure_reasons.csv`` gives their meaning);
#: each partner's schema maps its own codes onto these.
FAILURE_REASONS = ("biometric_failure", "not_present", "account_blocked", "cnic_expired", "other")
#: A (household, instalment) after reconciliation.
STATUSES = ("paid", "failed", "unpaid", "unassigned")
#: What an instruction file's column may hold.
INSTRUCTION_FIELDS = ("pseudonym", "partner_id", "instalment", "day", "amount_pkr", "site_id",
                      "site_name", "district_id", "province_code")
#: Fields every instruction file must carry.
INSTRUCTION_REQUIRED = ("pseudonym", "instalment", "amount_pkr")
#: What a return file's columns hold (all required).
RETURN_FIELDS = ("pseudonym", "instalment", "status", "reason", "amount_paid_pkr", "paid_date")
#: Why a return row is quarantined (``;``-joined when several apply).
QUARANTINE_REASONS = (
    "missing_pseudonym",  # the pseudonym cell is blank
    "unknown_pseudonym",  # no instruction of this partner carries it (another partner's, or made up)
    "wrong_instalment",  # the pseudonym is known but had no instruction for this instalment
    "duplicate_row",  # a later row for the same pseudonym and instalment (the first one counts)
    "unknown_status",  # a status code the partner's schema does not list
    "unknown_reason",  # a failure reason code the partner's schema does not list
    "missing_reason",  # a failure without a reason
    "amount_mismatch",  # paid, but not the instructed amount; or failed with an amount paid
    "missing_paid_date",  # paid without a date
)
#: Bits of the HMAC kept in a pseudonym (see the module docstring).
PSEUDONYM_BITS = 96
#: Types a schema column may have.
TYPES = ("string", "int", "date")

_SEP = b"\x1f"
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


# ---------------------------------------------------------------------------------------------
# Shipped tables
# ---------------------------------------------------------------------------------------------


def _folder() -> Path:
    return tables.data_dir() / "partners"


def partners() -> pd.DataFrame:
    """The payment partners (``data/partners/partners.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per partner: ``partner_id``, ``name``, ``kind`` (one of :data:`PARTNER_KINDS`),
        ``site_kinds`` (``;``-separated site kinds of :data:`simulator.registry.sites.KINDS`
        the partner serves by default; may be blank), ``schema`` (file name), ``source``,
        ``illustrative`` (bool) and ``note``. Which partner serves which kind is an ASSUMPTION.

    Raises
    ------
    DataFileError
        The file is missing, lacks a column, repeats a partner, names an unknown partner kind or
        site kind, or gives one site kind to two partners.
    """
    path = tables.data_dir() / PARTNERS_FILE
    if not path.exists():
        raise DataFileError(f"{path}: missing. It ships with the repository (data/partners/).")
    return _partners(str(path), path.stat().st_mtime_ns).copy()


@functools.lru_cache(maxsize=4)
def _partners(name: str, _mtime_ns: int) -> pd.DataFrame:
    """The checked partner table of file ``name`` (cached while the file is unchanged)."""
    from simulator.registry.sites import KINDS

    path = Path(name)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    absent = [c for c in PARTNER_COLUMNS if c not in table.columns]
    if absent:
        raise DataFileError(f"{path}: no column {absent}; the columns are {list(PARTNER_COLUMNS)}.")
    dup = table.partner_id[table.partner_id.duplicated()]
    if len(dup):
        raise DataFileError(f"{path}: partner {dup.iloc[0]!r} appears twice; keep one row per partner.")
    bad = table[~table.kind.isin(PARTNER_KINDS)]
    if len(bad):
        raise DataFileError(f"{path}: row {bad.index[0] + 1}: kind {bad.kind.iloc[0]!r} is not one of "
                            f"{list(PARTNER_KINDS)}.")
    seen: dict[str, str] = {}
    for pid, kinds in zip(table.partner_id, table.site_kinds, strict=True):  # loops over partners
        for kind in filter(None, (k.strip() for k in kinds.split(";"))):
            if kind not in KINDS:
                raise DataFileError(f"{path}: partner {pid!r}: site kind {kind!r} is not one of {list(KINDS)}.")
            if kind in seen:
                raise DataFileError(f"{path}: site kind {kind!r} is served by both {seen[kind]!r} and "
                                    f"{pid!r}; give each site kind one default partner.")
            seen[kind] = pid
    table["illustrative"] = table.illustrative.str.strip().str.lower().isin(("true", "1", "yes"))
    return table


def default_partner_by_kind() -> dict[str, str]:
    """Site kind -> the partner serving it by default (kinds no partner serves are absent)."""
    table = partners()
    return {kind.strip(): pid for pid, kinds in zip(table.partner_id, table.site_kinds, strict=True)
            for kind in kinds.split(";") if kind.strip()}


def failure_reasons() -> pd.DataFrame:
    """``reason``, ``meaning`` of each of :data:`FAILURE_REASONS` (``data/partners/failure_reasons.csv``)."""
    path = tables.data_dir() / REASONS_FILE
    if not path.exists():
        raise DataFileError(f"{path}: missing. It ships with the repository (data/partners/).")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(table.get("reason", [])) != list(FAILURE_REASONS):
        raise DataFileError(f"{path}: the reasons must be {list(FAILURE_REASONS)}, in that order.")
    return table


def load_schema(partner_id: str) -> dict:
    """One partner's file layout (``data/partners/<partner_id>.schema.json``), checked.

    The schema has ``instruction`` and ``return`` blocks, each with ``format`` (``csv``),
    ``delimiter``, ``encoding`` and ``columns`` (in file order: ``name``, ``field`` and ``type``
    of :data:`TYPES`); the return block also maps the partner's ``status_codes`` onto ``paid`` /
    ``failed`` and its ``reason_codes`` onto :data:`FAILURE_REASONS`, and gives the
    ``date_format`` of ``paid_date`` (a ``strftime`` pattern).

    Raises
    ------
    DataFileError
        An unknown partner, a missing or malformed schema file (the message names the field).
    """
    table = partners()
    row = table[table.partner_id == partner_id]
    if not len(row):
        raise DataFileError(f"partner {partner_id!r} is not one of {list(table.partner_id)} "
                            f"(data/partners/partners.csv).")
    path = _folder() / row.schema.iloc[0]
    if not path.exists():
        raise DataFileError(f"{path}: missing: partners.csv names it as the schema of {partner_id!r}.")
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataFileError(f"{path}: not valid JSON ({exc}).") from exc
    _check_schema(schema, path, partner_id)
    return schema


def _check_schema(schema: dict, path: Path, partner_id: str) -> None:
    def bad(where: str, problem: str) -> DataFileError:
        return DataFileError(f"{path}: {where}: {problem}")

    if not isinstance(schema, dict) or schema.get("partner_id") != partner_id:
        raise bad("partner_id", f"must be {partner_id!r}.")
    for block, fields, required in (("instruction", INSTRUCTION_FIELDS, INSTRUCTION_REQUIRED),
                                    ("return", RETURN_FIELDS, RETURN_FIELDS)):
        spec = schema.get(block)
        if not isinstance(spec, dict):
            raise bad(block, "missing; give format, delimiter, encoding and columns.")
        if spec.get("format") != "csv":
            raise bad(f"{block}.format", f"{spec.get('format')!r} is not supported; use 'csv'.")
        if not isinstance(spec.get("delimiter"), str) or len(spec["delimiter"]) != 1:
            raise bad(f"{block}.delimiter", "must be one character, e.g. ',' or ';'.")
        columns = spec.get("columns")
        if not isinstance(columns, list) or not columns:
            raise bad(f"{block}.columns", "must be a list of {name, field, type}.")
        names, used = set(), set()
        for i, col in enumerate(columns, start=1):  # loops over columns
            where = f"{block}.columns[{i}]"
            if not isinstance(col, dict) or not col.get("name") or col.get("field") not in fields:
                raise bad(where, f"needs a name and a field of {list(fields)}.")
            if col.get("type") not in TYPES:
                raise bad(where, f"type {col.get('type')!r} is not one of {list(TYPES)}.")
            if col["name"] in names or col["field"] in used:
                raise bad(where, f"column {col['name']!r} or field {col['field']!r} appears twice.")
            names.add(col["name"])
            used.add(col["field"])
        missing = [f for f in required if f not in used]
        if missing:
            raise bad(f"{block}.columns", f"no column for field(s) {missing}.")
    ret = schema["return"]
    status = ret.get("status_codes")
    if not isinstance(status, dict) or set(status.values()) != {"paid", "failed"}:
        raise bad("return.status_codes", "must map the partner's codes onto 'paid' and 'failed'.")
    reasons = ret.get("reason_codes")
    if not isinstance(reasons, dict) or not set(reasons.values()) <= set(FAILURE_REASONS):
        raise bad("return.reason_codes", f"must map the partner's codes onto {list(FAILURE_REASONS)}.")
    if not isinstance(ret.get("date_format"), str):
        raise bad("return.date_format", "must be a strftime pattern, e.g. '%Y-%m-%d'.")


# ---------------------------------------------------------------------------------------------
# Partners of sites, pseudonyms
# ---------------------------------------------------------------------------------------------


def partner_of(sites: pd.DataFrame) -> np.ndarray:
    """Each site's payment partner: its ``partner`` cell when given, else its kind's default.

    Parameters
    ----------
    sites
        Sites with ``site_id`` and ``kind`` (:data:`simulator.registry.sites.KINDS`), and
        optionally ``partner`` (a partner id of ``data/partners/partners.csv``; blank or missing:
        the kind's default).

    Returns
    -------
    numpy.ndarray
        Partner ids (object array), one per site.

    Raises
    ------
    ExportError
        A site names an unknown partner, or has no partner and a kind no partner serves by
        default; the message names the site and the fix.
    """
    table = partners()
    known = set(table.partner_id)
    for column in ("site_id", "kind"):
        if column not in sites.columns:
            raise ExportError(f"sites: no column {column!r}; each site needs site_id and kind "
                              "(plan.json delivery.sites).")
    defaults = default_partner_by_kind()
    given = sites["partner"] if "partner" in sites.columns else pd.Series(None, index=sites.index, dtype=object)
    given = given.astype(object).where(given.notna(), "").astype(str).str.strip()
    by_kind = sites["kind"].astype(str).map(defaults)
    result = given.where(given != "", by_kind)
    unknown = (given != "") & ~given.isin(known)
    if unknown.any():
        i = int(np.argmax(unknown.to_numpy()))
        raise ExportError(
            f"site {sites.site_id.iloc[i]!r}: partner {given.iloc[i]!r} is not one of "
            f"{sorted(known)}; correct its partner, or add the partner and its schema to data/partners/."
        )
    none = result.isna()
    if none.any():
        i = int(np.argmax(none.to_numpy()))
        raise ExportError(
            f"site {sites.site_id.iloc[i]!r}: kind {sites.kind.iloc[i]!r} is served by no partner by "
            f"default (data/partners/partners.csv serves {sorted(defaults)}); give the site a partner "
            f"(one of {sorted(known)}) or add its kind to a partner's site_kinds."
        )
    return result.to_numpy(dtype=object)


def _hmac_many(key: bytes, messages: list[bytes]) -> np.ndarray:
    """HMAC-SHA256 of each message (:func:`simulator.registry.keyed.hmac_many`), shape (n, 32) uint8."""
    from simulator.registry.keyed import hmac_many

    return np.frombuffer(hmac_many(key, messages), dtype=np.uint8).reshape(len(messages), 32)


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < 16:
        raise ExportError("payment key: must be at least 16 bytes (a new key is 32 random bytes).")


def pseudonyms(household_id, partner_id, key: bytes) -> np.ndarray:
    """The id a partner sees for each household: ``xxxxxx-xxxxxx-xxxxxx-xxxxxx`` (96 bits of hex).

    ``HMAC-SHA256(key, partner_id + 0x1F + household_id)``, the first :data:`PSEUDONYM_BITS`
    bits as lower-case hex in four groups of six (see the module docstring).

    Parameters
    ----------
    household_id
        Registry household ids (array-like of text).
    partner_id
        One partner id for all, or one per household (array-like).
    key
        The export's secret key (bytes, at least 16; a new one is 32 random bytes).

    Returns
    -------
    numpy.ndarray
        Pseudonyms, object array of str.
    """
    _check_key(key)
    ids = pd.Series(household_id, dtype=object).astype(str).to_numpy()
    n = len(ids)
    if not n:
        return np.zeros(0, dtype=object)
    if isinstance(partner_id, str):
        prefix = partner_id.encode() + _SEP
        messages = [prefix + h.encode() for h in ids]
    else:
        parts = np.asarray(partner_id, dtype=object)
        messages = [p.encode() + _SEP + h.encode() for p, h in zip(parts, ids, strict=True)]
    digest = _hmac_many(key, messages)[:, : PSEUDONYM_BITS // 8]
    hexed = np.empty((n, 2 * digest.shape[1]), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[digest >> 4]
    hexed[:, 1::2] = _HEX[digest & 15]
    out = np.full((n, 27), ord("-"), dtype=np.uint8)
    for g in range(4):  # loops over the four groups
        out[:, 7 * g: 7 * g + 6] = hexed[:, 6 * g: 6 * g + 6]
    return np.ascontiguousarray(out).view("S27").ravel().astype("U27").astype(object)


def key_fingerprint(key: bytes) -> str:
    """A short check value of a key (not the key): 12 hex digits of HMAC-SHA256(key, tag)."""
    _check_key(key)
    return bytes(_hmac_many(key, [b"madad-payments-key-check"])[0, :6]).hex()


# ---------------------------------------------------------------------------------------------
# Instructions
# ---------------------------------------------------------------------------------------------


@dataclass
class Payments:
    """What is to be paid, per household and instalment.

    Attributes
    ----------
    rows
        One row per paid household with a site per instalment: ``household_id``, ``pseudonym``,
        ``partner_id``, ``instalment`` (1-based), ``day`` [day after the response starts],
        ``amount_pkr`` [int64 PKR, that instalment's part], ``site_id``, ``site_name``,
        ``district_id``, ``province_code``. Never written as is: instruction files keep the
        partner's columns, which never include ``household_id``.
    unassigned
        One row per paid household without a site per instalment: ``household_id``,
        ``instalment``, ``amount_pkr``, ``district_id``, ``province_code``. In no file.
    instalments
        One row per instalment: ``instalment``, ``day``, ``share``, ``amount_pkr`` (all paid
        households), ``scheduled_pkr`` (in files), ``unassigned_pkr``, ``households``,
        ``unassigned_households``.
    """

    rows: pd.DataFrame
    unassigned: pd.DataFrame
    instalments: pd.DataFrame


def _instalment_table(instalments) -> pd.DataFrame:
    table = pd.DataFrame(list(instalments))
    if not len(table) or not {"instalment", "day", "share"} <= set(table.columns):
        raise ExportError("plan instalments: need a list of {instalment, day, share} (plan.json "
                          "`instalments`); rerun `madad run` to rebuild the plan.")
    table = table.sort_values("instalment").reset_index(drop=True)
    if list(table.instalment) != list(range(1, len(table) + 1)):
        raise ExportError(f"plan instalments: numbered {list(table.instalment)}; they must be 1, 2, ... n.")
    return table


def _text(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), None)


def expand_weighted(households: pd.DataFrame) -> pd.DataFrame:
    """The paid rows of a weighted (synthetic) registry as one row per household.

    A row of weight ``w`` and amount ``a`` [PKR] becomes ``w`` rows with ids ``<id>~1`` ..
    ``<id>~w`` and amounts ``a // w``, the first ``a % w`` of them one rupee more (so they add
    up to ``a`` exactly); unpaid rows are left out (no payment file lists them). Rows keep
    their order, so the day each is paid follows the schedule's registry order.

    Raises
    ------
    ExportError
        A weight below 1 (the message names the row).
    """
    weight = households.weight.to_numpy(dtype=np.int64)
    if (weight < 1).any():
        i = int(np.argmax(weight < 1))
        raise ExportError(f"households: row {i + 1} has weight {weight[i]}; weights are whole numbers >= 1.")
    paid = households.amount_pkr.to_numpy(dtype=np.int64) > 0
    rows = households[paid]
    w = weight[paid]
    take = np.repeat(np.arange(len(rows)), w)
    k = np.arange(len(take)) - np.repeat(np.cumsum(w) - w, w)  # 0..w-1 within each row
    q, r = np.divmod(rows.amount_pkr.to_numpy(dtype=np.int64), w)
    out = rows.iloc[take].reset_index(drop=True)
    out["household_id"] = out.household_id.astype(str).to_numpy(dtype=object) + "~" + (k + 1).astype(str).astype(object)
    out["amount_pkr"] = q[take] + (k < r[take])
    out["weight"] = np.int32(1)
    log.info("payments: %d weighted rows expanded into %d households (a synthetic registry)", len(rows), len(out))
    return out


def payments(households: pd.DataFrame, sites: pd.DataFrame, instalments, key: bytes) -> Payments:
    """Every paid household's instalments, its partner and pseudonym.

    Parameters
    ----------
    households
        One row per household: ``household_id`` (text, unique), ``amount_pkr`` [int64 PKR total;
        0: not paid], ``site_id`` (text; null: no open payment site), ``district_id``,
        ``province_code``, optionally ``weight`` (rows of weight > 1, a synthetic registry's,
        are expanded: :func:`expand_weighted`).
    sites
        The run's payment sites (plan.json ``delivery.sites``): ``site_id``, ``kind``, optionally
        ``partner``, ``name``, ``payments_per_day`` and ``reopen_day``. With ``payments_per_day``
        each household's ``day`` is its turn at the site by the rules of
        :func:`simulator.plans.delivery.schedule` (registry order, capacity per day, one
        instalment finished before the next); without, the instalment's first day.
    instalments
        plan.json ``instalments``: ``{instalment, day, share, ...}`` per instalment.
    key
        Secret key of the export (bytes).

    Returns
    -------
    Payments

    Raises
    ------
    ExportError
        A missing column, a duplicate ``household_id``, a negative amount, a weight below 1, a
        household at a site not in ``sites``, a site whose partner cannot be told
        (:func:`partner_of`); or an internal total that does not add up.
    """
    need = ["household_id", "amount_pkr", "site_id", "district_id", "province_code"]
    absent = [c for c in need if c not in households.columns]
    if absent:
        raise ExportError(f"households: no column {absent}; payment files need {need} "
                          "(households.parquet of a run with delivery planning).")
    if "weight" in households.columns and len(households) and int(households.weight.max()) > 1:
        households = expand_weighted(households)
    inst = _instalment_table(instalments)
    shares = [float(s) for s in inst.share]
    amount = households.amount_pkr.to_numpy(dtype=np.int64)
    if (amount < 0).any():
        i = int(np.argmax(amount < 0))
        raise ExportError(f"households: row {i + 1} ({households.household_id.iloc[i]!r}): amount_pkr "
                          f"{amount[i]} is negative; amounts are >= 0.")
    hid = households.household_id.astype(str)
    dup = hid.duplicated()
    if dup.any():
        raise ExportError(f"households: household_id {hid[dup].iloc[0]!r} appears twice; payment "
                          "files need one row per household.")
    split = instalment_split(amount, shares)  # (n_instalments, n) int64, exact
    site_col = _text(households.site_id)
    has_site = site_col.notna().to_numpy() & (site_col.astype(str).str.strip() != "").to_numpy()
    paid = amount > 0
    placed = np.flatnonzero(paid & has_site)
    lost = np.flatnonzero(paid & ~has_site)

    sites = sites.reset_index(drop=True)
    if sites.site_id.astype(str).duplicated().any():
        raise ExportError(f"sites: site_id {sites.site_id[sites.site_id.astype(str).duplicated()].iloc[0]!r} "
                          "appears twice; each site once.")
    site_index = pd.Index(sites.site_id.astype(str))
    at = site_index.get_indexer(site_col.iloc[placed].astype(str))
    if (at < 0).any():
        j = placed[int(np.argmax(at < 0))]
        raise ExportError(
            f"households: row {j + 1} ({hid.iloc[j]!r}) is sent to site {site_col.iloc[j]!r}, which is "
            "not among the plan's payment sites (plan.json delivery.sites); rerun `madad run` so that "
            "both come from the same delivery plan."
        )
    partner = np.full(len(sites), None, dtype=object)
    used = np.unique(at)
    partner[used] = partner_of(sites.iloc[used])  # sites without households need no partner
    names = sites["name"] if "name" in sites.columns else pd.Series(None, index=sites.index, dtype=object)
    days = _days(sites, at, inst) if "payments_per_day" in sites.columns else None

    frames, gone = [], []
    for k in range(len(inst)):  # loops over instalments
        day_k = int(inst.day.iloc[k]) if days is None else days[k]
        frames.append(pd.DataFrame({
            "household_id": hid.iloc[placed].to_numpy(dtype=object),
            "partner_id": partner[at],
            "instalment": np.int32(k + 1),
            "day": np.broadcast_to(np.asarray(day_k, dtype=np.int32), len(placed)),
            "amount_pkr": split[k][placed],
            "site_id": site_index.to_numpy()[at],
            "site_name": _text(names).to_numpy(dtype=object)[at],
            "district_id": _text(households.district_id).to_numpy(dtype=object)[placed],
            "province_code": _text(households.province_code).to_numpy(dtype=object)[placed],
        }))
        gone.append(pd.DataFrame({
            "household_id": hid.iloc[lost].to_numpy(dtype=object), "instalment": np.int32(k + 1),
            "amount_pkr": split[k][lost],
            "district_id": _text(households.district_id).to_numpy(dtype=object)[lost],
            "province_code": _text(households.province_code).to_numpy(dtype=object)[lost],
        }))
    rows = pd.concat(frames, ignore_index=True)
    # one pseudonym per household and partner, the same for every instalment
    rows.insert(1, "pseudonym", np.tile(pseudonyms(frames[0].household_id, frames[0].partner_id, key), len(inst)))
    unassigned = pd.concat(gone, ignore_index=True)
    table = inst[["instalment", "day", "share"]].copy()
    table["amount_pkr"] = split[:, paid].sum(axis=1)
    table["scheduled_pkr"] = split[:, placed].sum(axis=1)
    table["unassigned_pkr"] = split[:, lost].sum(axis=1)
    table["households"] = len(placed)
    table["unassigned_households"] = len(lost)
    _require((table.scheduled_pkr + table.unassigned_pkr == table.amount_pkr).all(),
             "scheduled + unassigned differs from the instalments' total")
    _require(rows.groupby("instalment").amount_pkr.sum().reindex(table.instalment, fill_value=0).to_numpy()
             .tolist() == table.scheduled_pkr.tolist(), "rows do not add up to the scheduled amounts")
    log.info("payments: %d households at %d sites, %d without a site, %d instalments",
             len(placed), len(np.unique(at)), len(lost), len(inst))
    return Payments(rows=rows, unassigned=unassigned, instalments=table)


def _days(sites: pd.DataFrame, at: np.ndarray, inst: pd.DataFrame) -> list[np.ndarray]:
    """Each placed household's payment day per instalment, by the rules of delivery.schedule."""
    from simulator.plans.delivery import schedule

    capacity = pd.to_numeric(sites.payments_per_day, errors="coerce").fillna(0).to_numpy(np.int64)
    used = np.unique(at)
    if (capacity[used] <= 0).any():
        bad = used[capacity[used] <= 0][0]
        raise ExportError(f"site {sites.site_id.iloc[bad]!r}: payments_per_day must be > 0 for a site "
                          "that pays households (plan.json delivery.sites).")
    reopen = (pd.to_numeric(sites.reopen_day, errors="coerce").fillna(0).to_numpy(np.int64)
              if "reopen_day" in sites.columns else None)
    plan = schedule(at, np.ones(len(at), np.int64), list(zip(inst.day, inst.share, strict=True)),
                    capacity, reopen_day=reopen)
    # rank of each household at its site, in registry order
    order = np.argsort(at, kind="stable")
    s = at[order]
    first = np.r_[True, s[1:] != s[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(s)), 0))
    rank = np.empty(len(at), np.int64)
    rank[order] = np.arange(len(s)) - start
    out = []
    for k in range(len(inst)):  # loops over instalments
        per_site = plan.sites[plan.sites.instalment == k + 1]
        start_day = np.zeros(len(capacity), np.int64)
        start_day[per_site.site.to_numpy()] = per_site.start_day.to_numpy()
        out.append((start_day[at] + rank // capacity[at]).astype(np.int32))
    return out


def _require(ok: bool, what: str) -> None:
    """An exact-money invariant; a failure is a bug, reported as such (not stripped by -O)."""
    if not ok:
        raise AssertionError(f"payments: {what}; this is a bug in Madad, please report it.")


def instructions(households: pd.DataFrame, sites: pd.DataFrame, instalments, key: bytes,
                 ) -> dict[tuple[str, int], pd.DataFrame]:
    """Payment instructions: one frame per (partner, instalment), without ``household_id``.

    Each frame has one row per paid household with a site: ``pseudonym``, ``partner_id``,
    ``instalment``, ``day``, ``amount_pkr`` (that instalment's part, exact int64 by
    :func:`~simulator.engine.payouts.instalment_split`), ``site_id``, ``site_name``,
    ``district_id``, ``province_code``; written in a partner's layout by
    :func:`to_partner_columns`. Households without a site are in no frame (see
    :func:`payments` and :func:`summary`). Arguments and errors as :func:`payments`.
    """
    return split_by_file(payments(households, sites, instalments, key))


def split_by_file(pay: Payments) -> dict[tuple[str, int], pd.DataFrame]:
    """:attr:`Payments.rows` without ``household_id``, one frame per (partner, instalment)."""
    rows = pay.rows.drop(columns="household_id")
    return {(str(p), int(k)): frame.reset_index(drop=True)
            for (p, k), frame in rows.groupby(["partner_id", "instalment"], sort=True)}


def summary(pay: Payments) -> pd.DataFrame:
    """Rows and PKR per partner and instalment, then one ``unassigned`` row per instalment.

    Columns ``partner_id`` (``unassigned`` for households without a site), ``instalment``,
    ``households``, ``amount_pkr``. For each instalment the rows add up exactly to the
    instalment's total (checked).
    """
    files = (pay.rows.groupby(["partner_id", "instalment"], sort=True)
             .agg(households=("amount_pkr", "size"), amount_pkr=("amount_pkr", "sum")).reset_index())
    lost = pd.DataFrame({"partner_id": "unassigned", "instalment": pay.instalments.instalment,
                         "households": pay.instalments.unassigned_households,
                         "amount_pkr": pay.instalments.unassigned_pkr})
    out = pd.concat([files, lost], ignore_index=True)
    out["instalment"] = out.instalment.astype(np.int64)
    out["households"] = out.households.astype(np.int64)
    out["amount_pkr"] = out.amount_pkr.astype(np.int64)
    total = out.groupby("instalment").amount_pkr.sum().reindex(pay.instalments.instalment).to_numpy()
    _require((total == pay.instalments.amount_pkr.to_numpy()).all(),
             "files + unassigned differ from an instalment's total")
    return out


def to_partner_columns(frame: pd.DataFrame, schema: dict, block: str = "instruction") -> pd.DataFrame:
    """A canonical frame (fields as columns) in the partner's column names and order."""
    columns = schema[block]["columns"]
    return pd.DataFrame({c["name"]: frame[c["field"]].to_numpy() if c["field"] in frame.columns
                         else np.full(len(frame), None, dtype=object) for c in columns})


def from_partner_columns(frame: pd.DataFrame, schema: dict, block: str, *, source: str) -> pd.DataFrame:
    """A frame in the partner's columns with the schema's fields as column names.

    Raises
    ------
    ExportError
        A column of the schema is missing (the message names it, the file and the schema).
    """
    columns = schema[block]["columns"]
    names = [str(c).strip() for c in frame.columns]
    missing = [c["name"] for c in columns if c["name"] not in names]
    if missing:
        raise ExportError(
            f"{source}: no column {missing} (header has {names}); a {schema['partner_id']} "
            f"{block} file has columns {[c['name'] for c in columns]} separated by "
            f"{schema[block]['delimiter']!r} (data/partners/{schema['partner_id']}.schema.json)."
        )
    frame = frame.set_axis(names, axis=1)
    extra = [n for n in names if n not in {c["name"] for c in columns}]
    if extra:
        log.warning("%s: ignoring columns %s, which the %s schema does not list", source, extra,
                    schema["partner_id"])
    return pd.DataFrame({c["field"]: frame[c["name"]].to_numpy() for c in columns})


# ---------------------------------------------------------------------------------------------
# Return files
# ---------------------------------------------------------------------------------------------


def _ints(values: pd.Series, *, source: str, column: str, first_line: int) -> pd.Series:
    text = values.astype(str).str.strip()
    blank = text == ""
    number = pd.to_numeric(text.where(~blank, None), errors="coerce")
    ok = blank | (number.notna() & (number == np.floor(number.fillna(0))) & text.str.fullmatch(r"[+-]?\d+"))
    if not ok.all():
        i = int(np.argmax(~ok.to_numpy()))
        raise ExportError(f"{source}: line {first_line + i}, column {column!r}: {text.iloc[i]!r} is not a "
                          "whole number; write it with digits only (no separators or decimals).")
    return number.astype("Int64")


def parse_returns(raw: pd.DataFrame, schema: dict, *, source: str, first_line: int = 2) -> pd.DataFrame:
    """A partner's return rows, read as text, to canonical typed fields.

    Parameters
    ----------
    raw
        The file's cells as text (``str``; blank for empty), columns as in the file.
    schema
        The partner's schema (:func:`load_schema`).
    source
        The file name, for messages.
    first_line
        File line of the first row (2: after the header).

    Returns
    -------
    pandas.DataFrame
        ``partner_id``, ``line``, ``pseudonym``, ``instalment`` (Int64), ``status`` (``paid``,
        ``failed`` or NA when the code is unknown), ``status_code`` (as written), ``reason``
        (of :data:`FAILURE_REASONS`, NA when blank or unknown), ``reason_code`` (as written),
        ``amount_paid_pkr`` (Int64; NA when blank), ``paid_date`` (datetime64; NaT when blank).

    Raises
    ------
    ExportError
        A missing column, or a cell of an int or date column that is not one: the message names
        the file, the line and the column.
    """
    ret = schema["return"]
    fields = from_partner_columns(raw.fillna("").astype(str), schema, "return", source=source)
    name_of = {c["field"]: c["name"] for c in ret["columns"]}
    out = pd.DataFrame({"partner_id": schema["partner_id"],
                        "line": np.arange(first_line, first_line + len(fields), dtype=np.int64)})
    out["pseudonym"] = fields.pseudonym.str.strip().to_numpy()
    for field in ("instalment", "amount_paid_pkr"):
        out[field] = _ints(fields[field], source=source, column=name_of[field], first_line=first_line).to_numpy()
    out["status_code"] = fields.status.str.strip().to_numpy()
    out["status"] = out.status_code.map(ret["status_codes"])
    out["reason_code"] = fields.reason.str.strip().to_numpy()
    out["reason"] = out.reason_code.map(ret["reason_codes"])
    date_text = fields.paid_date.str.strip()
    dates = pd.to_datetime(date_text.where(date_text != "", None), format=ret["date_format"], errors="coerce")
    bad = (date_text != "") & dates.isna()
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise ExportError(f"{source}: line {first_line + i}, column {name_of['paid_date']!r}: "
                          f"{date_text.iloc[i]!r} is not a date in the form {ret['date_format']!r}.")
    out["paid_date"] = dates.to_numpy()
    return out


@dataclass
class Reconciliation:
    """Each household's instalments after the partners' returns, and the totals.

    Attributes
    ----------
    households
        One row per household and instalment: ``household_id``, ``instalment``, ``status``
        (:data:`STATUSES`), ``reason`` (a failure reason, else null), ``amount_pkr``
        (scheduled), ``partner_id``, ``site_id``, ``district_id``, ``province_code``,
        ``paid_date``.
    quarantine
        Return rows not used, each with ``reason`` (``;``-joined :data:`QUARANTINE_REASONS`):
        ``file``, ``line``, ``partner_id``, ``pseudonym``, ``instalment``, ``status_code``,
        ``reason_code``, ``amount_paid_pkr``, ``reason``.
    national, provinces, districts, sites
        Totals per instalment (and, in ``national``, over all: ``instalment`` 0): counts and
        PKR of ``paid``, ``failed``, ``unpaid`` and (but for sites) ``unassigned``;
        ``scheduled_pkr`` = paid + failed + unpaid, exactly.
    failures
        Per partner, instalment and reason: ``households``, ``amount_pkr``.
    """

    households: pd.DataFrame
    quarantine: pd.DataFrame
    national: pd.DataFrame
    provinces: pd.DataFrame
    districts: pd.DataFrame
    sites: pd.DataFrame
    failures: pd.DataFrame


def reconcile(pay: Payments, returns: pd.DataFrame) -> Reconciliation:
    """Match the partners' return rows to the instructions; quarantine the rows that do not fit.

    A return row counts when it names a pseudonym and instalment of its partner's instructions,
    is the first row for them, has a known status, and, when paid, the instructed amount and a
    date, or when failed, a known reason and no amount paid. Every other row goes to the
    quarantine with its reasons, never dropped silently; its household stays ``unpaid`` unless a
    valid row says otherwise. A household and instalment without a valid row is ``unpaid``.

    Parameters
    ----------
    pay
        The instructions (:func:`payments` with the export's key).
    returns
        Rows of :func:`parse_returns`, concatenated, with a ``file`` column.

    Returns
    -------
    Reconciliation
        Money reconciles exactly: paid + failed + unpaid = scheduled for every site, district,
        province and instalment, and nationally (checked).
    """
    r = returns.reset_index(drop=True).copy()
    if "file" not in r.columns:
        r["file"] = ""
    expected = pay.rows[["pseudonym", "partner_id", "instalment", "amount_pkr"]].copy()
    expected["instalment"] = expected.instalment.astype(np.int64)
    known = pd.MultiIndex.from_frame(expected[["partner_id", "pseudonym"]].drop_duplicates())
    full = pd.MultiIndex.from_frame(expected[["partner_id", "pseudonym", "instalment"]])
    key2 = pd.MultiIndex.from_arrays([r.partner_id.astype(str), r.pseudonym.astype(str)])
    inst = r.instalment.astype("Int64")
    key3 = pd.MultiIndex.from_arrays([r.partner_id.astype(str), r.pseudonym.astype(str),
                                      inst.fillna(-1).astype(np.int64)])
    at = full.get_indexer(key3)
    due = np.where(at >= 0, expected.amount_pkr.to_numpy()[np.maximum(at, 0)], 0)
    amount = r.amount_paid_pkr.astype("Int64")
    status = r.status
    flags = {
        "missing_pseudonym": (r.pseudonym.astype(str) == "").to_numpy(),
        "unknown_pseudonym": ((r.pseudonym.astype(str) != "") & (known.get_indexer(key2) < 0)).to_numpy(),
        "duplicate_row": ((at >= 0) & key3.duplicated(keep="first")),
        "unknown_status": status.isna().to_numpy(),
        "unknown_reason": ((status == "failed") & (r.reason_code != "") & r.reason.isna()).to_numpy(),
        "missing_reason": ((status == "failed") & (r.reason_code == "")).to_numpy(),
        "amount_mismatch": (at >= 0) & (((status == "paid") & (amount.fillna(-1).to_numpy() != due))
                                        | ((status == "failed") & (amount.fillna(0) != 0))).to_numpy(dtype=bool),
        "missing_paid_date": ((status == "paid") & r.paid_date.isna()).to_numpy(),
    }
    flags["wrong_instalment"] = (at < 0) & ~flags["unknown_pseudonym"] & ~flags["missing_pseudonym"]
    codes = np.full(len(r), "", dtype=object)
    for name in QUARANTINE_REASONS:  # loops over the reason codes
        hit = np.asarray(flags[name], dtype=bool)
        codes[hit] = np.where(codes[hit] == "", name, codes[hit] + ";" + name)
    bad = codes != ""
    quarantine = r.loc[bad, ["file", "line", "partner_id", "pseudonym", "instalment", "status_code",
                             "reason_code", "amount_paid_pkr"]].assign(reason=codes[bad]).reset_index(drop=True)

    good = r.loc[~bad]
    result = np.full(len(expected), "unpaid", dtype=object)
    reason = np.full(len(expected), None, dtype=object)
    paid_date = np.full(len(expected), np.datetime64("NaT"), dtype="datetime64[ns]")
    where = at[~bad]
    result[where] = good.status.to_numpy(dtype=object)
    reason[where] = np.where(good.status.to_numpy() == "failed", good.reason.to_numpy(dtype=object), None)
    paid_date[where] = good.paid_date.to_numpy(dtype="datetime64[ns]")
    rows = pay.rows
    status_frame = pd.concat([
        pd.DataFrame({"household_id": rows.household_id.to_numpy(), "instalment": rows.instalment.to_numpy(np.int64),
                      "status": result, "reason": reason, "amount_pkr": rows.amount_pkr.to_numpy(np.int64),
                      "partner_id": rows.partner_id.to_numpy(), "site_id": rows.site_id.to_numpy(),
                      "district_id": rows.district_id.to_numpy(), "province_code": rows.province_code.to_numpy(),
                      "paid_date": paid_date}),
        pd.DataFrame({"household_id": pay.unassigned.household_id.to_numpy(),
                      "instalment": pay.unassigned.instalment.to_numpy(np.int64), "status": "unassigned",
                      "reason": None, "amount_pkr": pay.unassigned.amount_pkr.to_numpy(np.int64),
                      "partner_id": None, "site_id": None, "district_id": pay.unassigned.district_id.to_numpy(),
                      "province_code": pay.unassigned.province_code.to_numpy(),
                      "paid_date": np.datetime64("NaT", "ns")}),
    ], ignore_index=True)
    for column in ("household_id", "status", "reason", "partner_id", "site_id", "district_id", "province_code"):
        status_frame[column] = status_frame[column].astype(object)

    national = _totals(status_frame, [], sites=False)
    overall = _totals(status_frame.assign(instalment=0), [], sites=False)
    national = pd.concat([national, overall], ignore_index=True)
    provinces = _totals(status_frame, ["province_code"], sites=False)
    districts = _totals(status_frame, ["province_code", "district_id"], sites=False)
    sites = _totals(status_frame[status_frame.status != "unassigned"], ["partner_id", "site_id"], sites=True)
    failed = status_frame[status_frame.status == "failed"]
    failures = (failed.groupby(["partner_id", "instalment", "reason"], sort=True)
                .agg(households=("amount_pkr", "size"), amount_pkr=("amount_pkr", "sum")).reset_index())
    for table in (national, provinces, districts, sites):
        _require(((table.paid_pkr + table.failed_pkr + table.unpaid_pkr) == table.scheduled_pkr).all(),
                 "paid + failed + unpaid differs from scheduled")
    by_inst = national[national.instalment > 0].set_index("instalment")
    _require((by_inst.scheduled_pkr.reindex(pay.instalments.instalment).to_numpy()
              == pay.instalments.scheduled_pkr.to_numpy()).all()
             and (by_inst.unassigned_pkr.reindex(pay.instalments.instalment).to_numpy()
                  == pay.instalments.unassigned_pkr.to_numpy()).all(),
             "reconciled totals differ from the instructions")
    for table in (provinces, districts, sites):
        _require(table.groupby("instalment").scheduled_pkr.sum().reindex(by_inst.index, fill_value=0).tolist()
                 == by_inst.scheduled_pkr.tolist(), "a breakdown does not add up to the national total")
    log.info("reconcile: %d return rows, %d quarantined; %d paid, %d failed, %d unpaid",
             len(r), int(bad.sum()), int((result == "paid").sum()), int((result == "failed").sum()),
             int((result == "unpaid").sum()))
    return Reconciliation(households=status_frame, quarantine=quarantine, national=national,
                          provinces=provinces, districts=districts, sites=sites, failures=failures)


def _totals(frame: pd.DataFrame, by: list[str], *, sites: bool) -> pd.DataFrame:
    """Households and PKR per status, per ``by`` and instalment (exact int64 sums)."""
    keys = [*by, "instalment"]
    statuses = ["paid", "failed", "unpaid"] + ([] if sites else ["unassigned"])
    grouped = (frame.groupby([*keys, "status"], sort=True, dropna=False)
               .agg(_n=("amount_pkr", "size"), _pkr=("amount_pkr", "sum")).unstack("status", fill_value=0))
    out = pd.DataFrame(index=grouped.index)
    for s in statuses:  # loops over statuses
        out[f"{s}_households"] = grouped["_n"][s] if ("_n", s) in grouped.columns else 0
        out[f"{s}_pkr"] = grouped["_pkr"][s] if ("_pkr", s) in grouped.columns else 0
    out = out.astype(np.int64)
    out["scheduled_households"] = out.paid_households + out.failed_households + out.unpaid_households
    out["scheduled_pkr"] = out.paid_pkr + out.failed_pkr + out.unpaid_pkr
    if not len(out.index):
        return pd.DataFrame(columns=[*keys, *out.columns])
    out = out.reset_index()
    return out[out[[c for c in out.columns if c.endswith("_households")]].sum(axis=1) > 0].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Made-up return files
# ---------------------------------------------------------------------------------------------


def simulate_returns(instruction_frame: pd.DataFrame, schema: dict, *, failure_rate: float = 0.05,
                     missing_rate: float = 0.02, seed: int | Sequence[int] = 0,
                     start_date: str = "2025-01-01") -> pd.DataFrame:
    """A made-up return file for one instruction file, for tests and demos.

    Parameters
    ----------
    instruction_frame
        One instruction file: canonical fields (:func:`instructions`) or the partner's columns.
    schema
        The partner's schema (:func:`load_schema`).
    failure_rate
        Share of rows reported failed [0-1], each with a reason drawn from
        :data:`FAILURE_REASONS` (the partner's codes).
    missing_rate
        Share of rows left out of the return file [0-1] (they reconcile as ``unpaid``).
    seed
        Seed of the numpy generator (an int or a sequence of ints).
    start_date
        Date of day 0 of the response; a paid row's date is ``start_date + day``.

    Returns
    -------
    pandas.DataFrame
        The return rows in the partner's return columns and codes, in instruction order.
    """
    if not (0 <= failure_rate <= 1 and 0 <= missing_rate <= 1 and failure_rate + missing_rate <= 1):
        raise ExportError(f"simulate_returns: failure_rate {failure_rate} and missing_rate {missing_rate} "
                          "must lie in [0, 1] and add up to at most 1.")
    frame = instruction_frame
    names = {c["name"]: c["field"] for c in schema["instruction"]["columns"]}
    if "pseudonym" not in frame.columns and set(names) <= set(frame.columns):
        frame = frame.rename(columns=names)
    n = len(frame)
    rng = np.random.default_rng(seed)
    draw = rng.random(n)
    failed = draw < failure_rate
    kept = draw < 1.0 - missing_rate
    ret = schema["return"]
    status_code = {v: k for k, v in ret["status_codes"].items()}
    reason_code = {v: k for k, v in ret["reason_codes"].items()}
    reasons = np.array([reason_code.get(r, "") for r in FAILURE_REASONS], dtype=object)
    reason = np.where(failed, reasons[rng.integers(0, len(reasons), n)], "")
    day = (pd.to_numeric(frame["day"], errors="coerce").fillna(0).to_numpy(np.int64)
           if "day" in frame.columns else np.zeros(n, np.int64))
    dates = pd.to_datetime(start_date) + pd.to_timedelta(day, unit="D")
    amount = pd.to_numeric(frame["amount_pkr"]).to_numpy(np.int64)
    out = pd.DataFrame({
        "pseudonym": frame["pseudonym"].to_numpy(),
        "instalment": pd.to_numeric(frame["instalment"]).to_numpy(np.int64),
        "status": np.where(failed, status_code["failed"], status_code["paid"]),
        "reason": reason,
        "amount_paid_pkr": np.where(failed, 0, amount),
        "paid_date": np.where(failed, "", dates.strftime(ret["date_format"]).to_numpy(dtype=object)),
    })
    return to_partner_columns(out[kept].reset_index(drop=True), schema, "return")
