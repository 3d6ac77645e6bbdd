"""Cell-key perturbation of published figures, so that publications differing by one household
do not give that household away (:func:`perturb_plan`, :func:`protect_plan`,
:func:`perturb_hexagons`, :func:`registry_key`).

Small-cell suppression alone (:func:`simulator.publish.disclosure.suppress_plan`) protects one
publication. Two publications whose registries differ by one household could still be
subtracted: a district's households 12 -> 11 and PKR 25,000 less gave the household's district,
tier, size and payment. Published outputs (the minister's view in the app, the PDF brief, the
GeoJSON export and the map's hexagons) are therefore perturbed before they are suppressed; the
planner's exports (plan.json, plan.xlsx, the household list) stay exact.

Method: the ABS cell-key method
-------------------------------
Every published cell gets a *cell key* ``u`` in [0, 1), and its perturbation is a deterministic
function of ``u`` and the cell's value, read from a *perturbation table* (``ptable``): the
row of the value, the column whose cumulative probability first exceeds ``u`` (Fraser and Wooton
2005; Thompson, Broadfoot and Elazar 2013; ABS TableBuilder). In the ABS method the cell key is
the sum, modulo 1, of fixed random *record keys* of the cell's records. Here the record keys are
drawn afresh for every registry version, as the ABS draws them for every dataset, which makes
every cell key of one registry version a fresh uniform number; they are computed as a keyed
hash (BLAKE2b) of the cell's identity (level, area, column) and its true value, keyed by
:func:`registry_key`, a SHA-256 digest of the registry's content (pseudonymous ids, places,
sizes, PMT scores, weights; not the policy). So:

- the same cell with the same value always gets the same noise, in every output and every
  publication of one registry version, whatever the policy (the minister's what-if cannot
  average noise away: a cell whose value a policy does not change is published identically);
- any change to the registry (one household more or less) re-keys every cell, so *every*
  published cell changes, not only those of the household's tehsil, and the household's cells
  differ from the rest only by a shift of one household hidden in noise of standard deviation
  ``sqrt(2 V)`` (see the attacker's test below);
- nobody without the registry can compute the keys (its pseudonymous ids are a keyed hash held
  by the data owner).

Parameters (:data:`PTABLE_SD`, :data:`PTABLE_BOUND`): perturbations are integers ``p`` with
``|p| <= 15`` registry rows, a discretised normal of standard deviation 5 (variance 24.7), with
zero mean for every value: for a count ``n < 15`` the table is cut at ``-n`` (no negative
count) and exponentially tilted so that its mean stays zero (its variance is then smaller).
Zeros stay zero (``p = 0``). Counts are perturbed in registry rows and reported in households:
``unit`` (the registry's mean weight, 1 for a real registry, about 175 for the synthetic
demo's rows) households per row.

Which cells, and how they add up
--------------------------------
Counts (``households``, ``*_households``) are perturbed in the *bottom* cells of the plan:
every listed tehsil, each district's remainder (households in no listed tehsil) and each
province's remainder (unlisted districts). Everything above is the sum of its published
parts, so districts add up to provinces and provinces to the national totals **exactly in
what is published**; national totals are therefore perturbed too (by the sum of the bottom
cells' noise, a few hundred households nationally; the exact totals are in the planner's
plan.json and xlsx). Row relations hold in every row: ``eligible = paid + over_budget`` and
``amount = federal + provincial``.

People and PKR follow the count they belong to: ``x' = (x / n) * (n' + unit * e)``, the cell's
mean per household times the perturbed count plus an independent draw ``e`` from the same
table (so the cell's mean, which a one-household change would move, is itself noisy); PKR are
rounded to :data:`PKR_BASE` (PKR 1,000), people to the person. The federal share of a cell is
``amount' * F / A`` plus an independent draw times the cell's mean federal payment, rounded to
PKR 1,000 and kept within ``[0, amount']``; the provincial share is the rest.

A tehsil or district is listed when its perturbed affected households are above zero (a true
count of one may be published as zero), so a tehsil does not vanish from the list only because
its one affected household did. National breakdowns follow the totals: tiers and status counts
are derived from the perturbed totals (the largest status balances them), instalments are the
perturbed amounts split by the plan's rule, contributions split each province's perturbed
provincial amount in the plan's proportions; programme entitlements, payers, registry
duplicates, ensemble ranges and unregistered estimates are perturbed as national or provincial
cells. The household groups (``plan["groups"]``: female-headed, with a disabled member, with
children under five) are a district table of their own: listed districts and each province's
remainder are bottom cells (``groups:...``), provinces and the nation their sums; they are
suppressed as one more hierarchy. The perturbed plan then goes through small-cell suppression (cells under ``k``, with
complements) as before: the hidden cells of a perturbed table are protected against the
published (perturbed) totals.

The map's hexagons (:func:`perturb_hexagons`) are counts of the same kind: each hexagon is a
cell (``hex:q:r``), perturbed by the same table and key; hexagons perturbed to zero are dropped,
and the app hides those under ``k`` from ministers.

The attacker's test (``tests/test_differencing.py``)
----------------------------------------------------
The attacker holds two publications of the same scenario from registries that differ by one
household ``h``, knows that exactly one household was removed, and knows the method and its
parameters but not the registry key. For each district ``d`` of either publication they
compute the published differences ``D[d, c] = first - second`` of every count column ``c``
(hidden cells as 0) and score ``d`` by ``sum_c D[d, c]`` (the likelihood-ratio statistic for a
shift of +1 in the columns holding ``h`` under independent equal-variance noise); their guess is
the best-scoring district. Over many removed households the guess must be right no more often
than chance (one over the districts in play) plus a margin, the tier guess (the tier column of
the national totals with the largest drop) no more often than the most common tier's share plus
a margin, and the payment guess (the national ``amount_pkr`` drop) must miss the true payment by
more than PKR 25,000 most of the time. The same test is run on the hexagons.

Limits
------
- Within one registry version, cells whose value a policy changes get fresh noise and the
  others keep theirs; so two *policies* that differ for one household only (a PMT cut-off moved
  past a single household) show which cells moved. The app offers coarse what-if steps only.
- Across registry versions the noise is re-drawn: averaging the publications of ``K`` registry
  versions over a cell whose true value did not change narrows its noise by ``sqrt(K)``.
- Registry quality figures (rows read, quarantined and their reasons) and the registry's row
  count stay exact: they tell that one row went, not where.
- Perturbed nested counts need not stay nested (a small district's paid households may exceed
  its eligible by a few).

References: Fraser, B. and Wooton, J. (2005), *A proposed method for confidentialising
tabular output to protect against differencing*, UNECE Work Session on Statistical Data
Confidentiality, Geneva; Thompson, G., Broadfoot, S. and Elazar, D. (2013), *Methodology for
the automatic confidentialisation of statistical outputs from remote servers at the Australian
Bureau of Statistics*, UNECE Work Session on Statistical Data Confidentiality, Ottawa;
Australian Bureau of Statistics, *TableBuilder: confidentiality and relative standard error*
(perturbation of counts by cell key).
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache

import numpy as np
import pandas as pd

from hazards.errors import DisclosureError

log = logging.getLogger(__name__)

__all__ = [
    "PKR_BASE", "PTABLE_BOUND", "PTABLE_SD", "REGISTRY_COLUMNS", "cell_keys", "perturb_counts",
    "perturb_hexagons", "perturb_plan", "protect_plan", "ptable", "registry_key", "unit_of",
]

#: Standard deviation of the perturbation table [registry rows] (before truncation).
PTABLE_SD = 5.0
#: Largest perturbation [registry rows]: |p| <= PTABLE_BOUND.
PTABLE_BOUND = 15
#: Published PKR are rounded to this many rupees.
PKR_BASE = 1_000
#: Registry columns whose content keys the perturbation (never policy-dependent columns).
REGISTRY_COLUMNS = ("household_id", "province_code", "district_id", "tehsil_id", "hh_size",
                    "pmt_score", "weight", "lon", "lat")
_DOMAIN = b"madad-cell-key-v1"


# --------------------------------------------------------------------------------------------
# The perturbation table and the keys
# --------------------------------------------------------------------------------------------


def _tilted(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Support and probabilities of the row for a count of ``n`` rows (``n >= 1``)."""
    d, var = PTABLE_BOUND, PTABLE_SD**2
    support = np.arange(max(-n, -d), d + 1)
    base = np.exp(-(support.astype(float) ** 2) / (2 * var))
    if n >= d:
        return support, base / base.sum()
    lo, hi = -10.0, 0.0  # tilt exp(lam * p), lam < 0 moves the mean down to zero
    for _ in range(200):
        lam = (lo + hi) / 2
        w = base * np.exp(lam * support)
        mean = float((support * w).sum() / w.sum())
        if mean > 0:
            hi = lam
        else:
            lo = lam
    w = base * np.exp(lo * support)
    return support, w / w.sum()


@lru_cache(maxsize=1)
def ptable() -> pd.DataFrame:
    """The perturbation table: one row per count in rows (1 .. PTABLE_BOUND, the last standing
    for every larger count), columns ``n``, ``p``, ``prob``, ``cum`` (cumulative over ``p``)."""
    rows = []
    for n in range(1, PTABLE_BOUND + 1):
        support, prob = _tilted(n)
        cum = np.cumsum(prob)
        cum[-1] = 1.0
        rows.append(pd.DataFrame({"n": n, "p": support, "prob": prob, "cum": cum}))
    return pd.concat(rows, ignore_index=True)


@cache
def _row(n: int) -> tuple[np.ndarray, np.ndarray]:
    table = ptable()
    sub = table[table.n == min(n, PTABLE_BOUND)]
    return sub.p.to_numpy(np.int64), sub.cum.to_numpy()


@lru_cache(maxsize=1)
def ptable_moments() -> dict:
    """Mean and variance of each row of :func:`ptable` (the report states them)."""
    table = ptable()
    out = {}
    for n, sub in table.groupby("n"):
        mean = float((sub.p * sub.prob).sum())
        out[int(n)] = {"mean": round(mean, 9), "variance": round(float((sub.p**2 * sub.prob).sum() - mean**2), 3)}
    return out


def registry_key(households: pd.DataFrame) -> bytes:
    """The key of a registry version: SHA-256 of its content (:data:`REGISTRY_COLUMNS` that
    are present, rows in any order), independent of the policy run on it.

    Fast at national scale and in numpy throughout (:func:`row_hashes`): repeated ids (a run's
    table repeats a weighted row the hazard split) are looked for by 64-bit hashes
    (:func:`simulator.registry.validation.id_hashes`), each row is hashed from its values
    (not from a column's type or category list), and the sorted row hashes are digested."""
    from simulator.registry.validation import id_hashes

    cols = [c for c in REGISTRY_COLUMNS if c in households.columns]
    if not cols:
        raise DisclosureError("the household table has none of the registry columns; cannot key the perturbation.")
    frame = households[cols]
    ids = id_hashes(frame["household_id"]) if "household_id" in cols else None
    if ids is not None and _repeats(frame["household_id"], lambda _ids: ids):
        # A weighted row split by the hazard into an affected part and the rest: one row per
        # household again, its weights summed, so that the key does not depend on the scenario.
        others = [c for c in cols if c not in ("household_id", "weight")]
        agg = {c: "first" for c in others}
        if "weight" in cols:
            agg["weight"] = "sum"
        frame = frame.groupby("household_id", sort=False, observed=True).agg(agg).reset_index()[cols]
        ids = None  # the rows changed: hashed again
    digest = hashlib.sha256(_REGISTRY_DOMAIN)
    digest.update(",".join(cols).encode())
    digest.update(np.sort(row_hashes(frame, known={} if ids is None else {"household_id": ids})).tobytes())
    return digest.digest()


#: The registry key's domain: v2 hashes rows in numpy (v1 hashed them with pandas, 17 s at
#: 35 M rows, holding Python's lock), so every published figure was perturbed afresh.
_REGISTRY_DOMAIN = b"madad-cell-key-v2"
#: Multiplier of the rows' running hash (an odd 64-bit constant, the golden ratio's).
_ROW_PRIME = np.uint64(0x9E3779B97F4A7C15)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer, in place on uint64 values (every bit of the input reaches every
    bit of the output)."""
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def _column_bits(values: pd.Series) -> np.ndarray:
    """A column as one uint64 per row, from its values: text by its 64-bit hash, a category by
    its label's, integers and flags as int64, numbers as float64 (so int32 and int64, or
    float32 and float64, of the same values agree); missing as a fixed word."""
    from simulator.registry.validation import id_hashes

    missing = np.uint64(0x6D697373696E6721)  # "missing!"
    if isinstance(values.dtype, pd.CategoricalDtype):
        labels = pd.Series(values.cat.categories.astype("string"))
        by_label = np.append(id_hashes(labels) if len(labels) else np.zeros(0, np.uint64), missing)
        return by_label[values.cat.codes.to_numpy()]  # code -1 (missing) reads the appended word
    kind = values.dtype.kind if isinstance(values.dtype, np.dtype) else "O"
    if kind in "iub":
        return values.to_numpy(np.int64).view(np.uint64)
    if kind == "f":
        out = values.to_numpy(np.float64).view(np.uint64).copy()
        out[np.isnan(values.to_numpy(np.float64))] = missing
        return out
    return id_hashes(values)  # text (nulls hash as empty text)


def row_hashes(frame: pd.DataFrame, known: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """One 64-bit hash per row of ``frame`` from its columns' values (:func:`_column_bits`, or
    ``known`` bits of a column already made), in column order: each column xor-ed in and the
    running value multiplied by an odd constant (both one-to-one, so a change in one value
    always changes its row's hash), then mixed once. Vectorized, no Python object per row."""
    known = known or {}
    out = np.zeros(len(frame), np.uint64)
    with np.errstate(over="ignore"):
        for name in frame.columns:  # a loop over columns, never over rows
            bits = known[name] if name in known else _column_bits(frame[name])
            out ^= bits
            out *= _ROW_PRIME
    return _mix(out)


def _repeats(ids: pd.Series, hashes) -> bool:
    """Whether any id occurs twice: by hash, then as text among the rows whose hash repeats."""
    h = hashes(ids)
    ordered = np.sort(h)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not repeated.size:
        return False
    return bool(ids[np.isin(h, repeated)].duplicated().any())


def plan_key(plan: Mapping) -> bytes:
    """A registry key from the plan alone (when no household table is at hand): the registry's
    households by province, district and tehsil and its row count, which any change of
    registry households alters and no policy does."""
    digest = hashlib.sha256(_DOMAIN + b"|plan")
    digest.update(repr(plan.get("registry_rows")).encode())
    digest.update(repr(plan.get("registry", {})).encode())
    for level, key in (("provinces", "province_code"), ("districts", "district_id"), ("tehsils", "tehsil_id")):
        for row in plan.get(level, []):
            digest.update(f"{level}:{row.get(key)}:{row.get('households')}|".encode())
    return digest.digest()


def unit_of(plan: Mapping) -> int:
    """Households per registry row (the registry's mean weight, at least 1)."""
    rows = plan.get("registry_rows") or 0
    households = plan.get("totals", {}).get("households", 0) or 0
    return max(1, int(round(households / rows))) if rows else 1


def cell_keys(key: bytes, cells: Sequence[str], values: Sequence[int], tag: str = "") -> np.ndarray:
    """Cell keys in [0, 1): a keyed BLAKE2b hash of each cell's identity, true value and tag."""
    out = np.empty(len(cells), dtype=np.float64)
    k = key[:64]
    for i, (cell, value) in enumerate(zip(cells, values, strict=True)):
        h = hashlib.blake2b(f"{cell}|{int(value)}|{tag}".encode(), key=k, digest_size=8).digest()
        out[i] = int.from_bytes(h, "big") / 2.0**64
    return out


def _draws(key: bytes, cells: Sequence[str], values: np.ndarray, unit: int, tag: str) -> np.ndarray:
    """Perturbations [rows] read from the table at each cell's key (0 for zero cells)."""
    values = np.asarray(values, dtype=np.int64)
    u = cell_keys(key, cells, values, tag)
    rows_n = np.rint(values / unit).astype(np.int64)
    out = np.zeros(len(values), dtype=np.int64)
    for i, n in enumerate(rows_n):
        if values[i] == 0:
            continue
        support, cum = _row(max(int(n), 1))
        out[i] = support[min(int(np.searchsorted(cum, u[i], side="right")), len(support) - 1)]
    return out


def perturb_counts(values: Sequence[int], cells: Sequence[str], key: bytes, unit: int = 1) -> np.ndarray:
    """Perturbed counts [households]: ``value + unit * p``, never negative, zeros kept."""
    values = np.asarray(values, dtype=np.int64)
    p = _draws(key, cells, values, unit, "count")
    return np.maximum(values + unit * p, 0)


def _round(x: np.ndarray, base: int) -> np.ndarray:
    return (np.rint(np.asarray(x, dtype=float) / base) * base).astype(np.int64)


# --------------------------------------------------------------------------------------------
# A table of bottom cells
# --------------------------------------------------------------------------------------------

_SPLIT = {"amount_pkr": ("federal_pkr", "provincial_pkr")}


def _linked(columns: Sequence[str]) -> dict[str, str]:
    from simulator.publish.disclosure.protection import PLAN_LINKS

    out = {}
    for c in columns:
        if c in PLAN_LINKS and PLAN_LINKS[c] in columns:
            out[c] = PLAN_LINKS[c]
        elif c.endswith("_people") and c.replace("_people", "_households") in columns:
            out[c] = c.replace("_people", "_households")
    return out


def _perturb_frame(frame: pd.DataFrame, cells: list[str], columns: list[str], key: bytes, unit: int) -> pd.DataFrame:
    """Perturb the figures of bottom cells (one row each, identities ``cells``)."""
    from simulator.publish.disclosure.protection import PLAN_ROW_TOTALS

    out = frame.copy()
    if not len(frame):
        return out
    linked = _linked(columns)
    split_parts = {p for parts in _SPLIT.values() for p in parts}
    derived = {t: parts for t, parts in PLAN_ROW_TOTALS.items()
               if t.endswith("_households") and all(c in columns for c in (t, *parts))}
    counts = [c for c in columns if c not in linked and c not in split_parts and c not in derived]
    for c in counts:
        out[c] = perturb_counts(frame[c].to_numpy(np.int64), cells, key, unit)
    for t, parts in derived.items():
        out[t] = sum(out[p].to_numpy(np.int64) for p in parts)
    for c, n in linked.items():
        x = frame[c].to_numpy(np.int64)
        n_true = frame[n].to_numpy(np.int64)
        e = _draws(key, cells, n_true, unit, f"linked:{c}")
        mean = np.divide(x, n_true, out=np.zeros(len(x)), where=n_true > 0)
        value = np.where(n_true > 0, mean * (out[n].to_numpy(np.int64) + unit * e), x)
        base = PKR_BASE if c.endswith("_pkr") else 1
        out[c] = np.maximum(_round(value, base), 0)
    for total, (first, second) in _SPLIT.items():
        if not all(c in columns for c in (total, first, second)):
            continue
        a_true = frame[total].to_numpy(np.int64)
        f_true = frame[first].to_numpy(np.int64)
        n_true = frame[linked.get(total, total)].to_numpy(np.int64) if total in linked else np.ones(len(frame), np.int64)
        a_new = out[total].to_numpy(np.int64)
        share = np.divide(f_true, a_true, out=np.zeros(len(a_true)), where=a_true > 0)
        mean_f = np.divide(f_true, n_true, out=np.zeros(len(a_true)), where=n_true > 0)
        e = _draws(key, cells, n_true, unit, f"split:{first}")
        known = share[a_true > 0]
        if len(known) and float(known.max() - known.min()) < 1e-3:
            e = np.zeros_like(e)  # one share everywhere (the fixed rule): nothing to hide
        f_new = _round(a_new * share + mean_f * unit * e, PKR_BASE)
        f_new = np.clip(f_new, 0, a_new)
        f_new = np.where(f_true == 0, 0, np.where(f_true == a_true, a_new, f_new))
        out[first] = f_new
        out[second] = a_new - f_new
    return out


# --------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------


def _figure_columns(plan: Mapping) -> list[str]:
    return [c for c, v in plan["totals"].items() if isinstance(v, (int, np.integer)) and not isinstance(v, bool)]


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for c in columns:
        if c not in frame.columns:
            frame[c] = 0
    if len(frame) and frame[columns].isna().to_numpy().any():
        raise DisclosureError("the plan already has hidden (null) cells; perturb the exact plan.")
    return frame


def _records(frame: pd.DataFrame) -> list[dict]:
    out = []
    for row in frame.to_dict("records"):
        out.append({k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()})
    return out


def perturb_plan(plan_dict: Mapping, key: bytes, *, unit: int | None = None) -> dict:
    """A copy of an exact plan with every published figure perturbed (module docstring).

    Parameters
    ----------
    plan_dict
        A plan from :func:`simulator.plans.build.build` (exact, not suppressed).
    key
        The registry version's key (:func:`registry_key` of its household table, or
        :func:`plan_key`).
    unit
        Households per registry row; default :func:`unit_of`.

    Returns
    -------
    dict
        The plan with perturbed provinces, districts, tehsils and totals (districts add up to
        provinces and provinces to the totals exactly), national breakdowns following them, and
        ``perturbation`` (method, parameters, key source) to be put in the disclosure report.
    """
    plan = copy.deepcopy(dict(plan_dict))
    unit = unit_of(plan) if unit is None else int(unit)
    columns = _figure_columns(plan)
    provinces = _frame(plan.get("provinces", []), columns)
    districts = _frame(plan.get("districts", []), columns)
    tehsils = _frame(plan.get("tehsils", []), columns)
    # Bottom cells: listed tehsils, each listed district's remainder, each province's remainder.
    bottom: list[pd.DataFrame] = []
    if len(tehsils):
        t = tehsils.copy()
        t["_cell"] = "tehsil:" + t.district_id.astype(str) + ":" + t.tehsil_id.astype(str)
        t["_district"] = t.district_id.astype(str)
        bottom.append(t)
    if len(districts):
        sums = (tehsils.groupby(tehsils.district_id.astype(str))[columns].sum() if len(tehsils)
                else pd.DataFrame(columns=columns))
        d = districts.set_index(districts.district_id.astype(str))
        rest = d[columns] - sums.reindex(d.index, fill_value=0)[columns]
        if (rest < 0).to_numpy().any():
            raise DisclosureError("plan: tehsils exceed their district; the plan is inconsistent.")
        rest = rest.reset_index(names="_district")
        rest["_cell"] = "tehsil-rest:" + rest["_district"]
        bottom.append(rest)
    cells = pd.concat(bottom, ignore_index=True) if bottom else pd.DataFrame(columns=[*columns, "_cell", "_district"])
    cells[columns] = cells[columns].astype(np.int64)
    cells = _perturb_frame(cells, list(cells["_cell"]), columns, key, unit)
    # Districts: the sum of their bottom cells.
    district_sum = cells.groupby("_district")[columns].sum()
    new_districts = districts.copy()
    if len(districts):
        new_districts[columns] = district_sum.reindex(districts.district_id.astype(str))[columns].to_numpy(np.int64)
    # Provinces: their districts plus the remainder of unlisted districts.
    prov_codes = provinces.province_code.astype(str) if len(provinces) else pd.Series(dtype=str)
    dsum = (districts.groupby(districts.province_code.astype(str))[columns].sum() if len(districts)
            else pd.DataFrame(columns=columns))
    prest = provinces.set_index(prov_codes)[columns] - dsum.reindex(prov_codes, fill_value=0)[columns]
    if (prest < 0).to_numpy().any():
        raise DisclosureError("plan: districts exceed their province; the plan is inconsistent.")
    prest_cells = ["district-rest:" + c for c in prest.index]
    prest_new = _perturb_frame(prest.reset_index(drop=True).astype(np.int64), prest_cells, columns, key, unit)
    new_dsum = (new_districts.groupby(new_districts.province_code.astype(str))[columns].sum() if len(districts)
                else pd.DataFrame(columns=columns))
    new_provinces = provinces.copy()
    if len(provinces):
        new_provinces[columns] = (new_dsum.reindex(prov_codes, fill_value=0)[columns].to_numpy(np.int64)
                                  + prest_new[columns].to_numpy(np.int64))
    totals_true = dict(plan["totals"])
    totals_new = {c: int(new_provinces[c].sum()) if len(provinces) else int(totals_true[c]) for c in columns}
    # Listing: a tehsil or district with perturbed affected households above zero.
    listed_d = (new_districts.affected_households > 0) if len(districts) else pd.Series(dtype=bool)
    kept_districts = new_districts[listed_d] if len(districts) else new_districts
    if len(tehsils):
        tcells = cells.iloc[: len(tehsils)]
        new_tehsils = tehsils.copy()
        new_tehsils[columns] = tcells[columns].to_numpy(np.int64)
        keep = (new_tehsils.affected_households > 0) & new_tehsils.district_id.astype(str).isin(
            kept_districts.district_id.astype(str))
        new_tehsils = new_tehsils[keep]
    else:
        new_tehsils = tehsils
    plan["districts"] = _records(kept_districts)
    plan["tehsils"] = _records(new_tehsils)
    plan["provinces"] = _records(new_provinces)
    plan["totals"] = {**totals_true, **totals_new}
    _national(plan, plan_dict, key, unit, totals_true)
    if isinstance(plan.get("groups"), dict):
        _perturb_groups(plan["groups"], {str(d) for d in kept_districts.district_id} if len(districts) else set(),
                        key, unit)
    plan["perturbation"] = {
        "method": "cell-key perturbation (ABS TableBuilder; Fraser and Wooton 2005; Thompson, "
                  "Broadfoot and Elazar 2013), record keys drawn per registry version",
        "ptable_sd_rows": PTABLE_SD,
        "ptable_bound_rows": PTABLE_BOUND,
        "ptable_variance_rows": ptable_moments()[PTABLE_BOUND]["variance"],
        "ptable_mean_rows": 0,
        "unit_households_per_row": unit,
        "pkr_base": PKR_BASE,
        "zeros": "kept",
        "additive": "districts add up to provinces and provinces to the national totals; "
                    "national totals are perturbed (the exact ones are in plan.json and plan.xlsx)",
    }
    return plan


def _perturb_groups(block: dict, listed: set[str], key: bytes, unit: int) -> None:
    """``plan["groups"]`` perturbed in place as the district tables are: every listed district's
    row and each province's remainder (districts not listed) are bottom cells (``groups:...``,
    so their noise is not the district table's), provinces are the sum of their bottom cells
    and the nation the sum of the provinces; districts stay listed where the perturbed plan
    lists them (``listed``). Counts are weighted households [households]."""
    ids = ("district_id", "province_code")
    provinces = pd.DataFrame(block.get("provinces", []))
    if not len(provinces):
        return
    columns = [c for c in provinces.columns if c != "province_code"]
    districts = _frame(block.get("districts", []), columns)
    if not len(districts):
        districts = pd.DataFrame(columns=[*ids, *columns])
    districts[columns] = districts[columns].astype(np.int64)
    codes = provinces.province_code.astype(str)
    dsum = districts.groupby(districts.province_code.astype(str))[columns].sum()
    rest = provinces.set_index(codes)[columns].astype(np.int64) - dsum.reindex(codes, fill_value=0)[columns]
    if (rest < 0).to_numpy().any():
        raise DisclosureError("plan groups: districts exceed their province; the plan is inconsistent.")
    new_d = _perturb_frame(districts, [f"groups:district:{d}" for d in districts.district_id.astype(str)],
                           columns, key, unit)
    new_rest = _perturb_frame(rest.reset_index(drop=True).astype(np.int64),
                              [f"groups:district-rest:{c}" for c in rest.index], columns, key, unit)
    new_dsum = new_d.groupby(new_d.province_code.astype(str))[columns].sum()
    new_p = provinces.copy()
    new_p[columns] = new_dsum.reindex(codes, fill_value=0)[columns].to_numpy(np.int64) + new_rest[columns].to_numpy(np.int64)
    block["districts"] = _records(new_d[new_d.district_id.astype(str).isin(listed)])
    block["provinces"] = _records(new_p)
    groups = [g for g in block.get("groups", []) if f"{g}_affected" in columns and f"{g}_paid" in columns]
    block["national"] = {g: {m: int(new_p[f"{g}_{m}"].sum()) for m in ("affected", "paid")} for g in groups}


def _nat_counts(key: bytes, names: Sequence[str], values: Sequence[int], unit: int) -> list[int]:
    return [int(v) for v in perturb_counts(list(values), [f"national:{n}" for n in names], key, unit)]


def _nat_money(key: bytes, name: str, value: int, mean: float, unit: int) -> int:
    if not value:
        return int(value or 0)
    e = _draws(key, [f"national:{name}"], np.array([max(int(round(value / max(mean, 1))), 1)]), unit, "money")[0]
    return max(int(_round(np.array([value + mean * unit * e]), PKR_BASE)[0]), 0)


def _national(plan: dict, true: Mapping, key: bytes, unit: int, t_true: Mapping) -> None:
    """National breakdowns following the perturbed totals (module docstring)."""
    t = plan["totals"]
    mean_pay = t_true["amount_pkr"] / t_true["paid_households"] if t_true.get("paid_households") else 0.0
    tiers = plan.get("tiers")
    if isinstance(tiers, dict) and {"none", "affected", "severely_affected", "displaced"} <= set(tiers):
        tiers["displaced"] = t["displaced_households"]
        tiers["severely_affected"] = max(t["severely_affected_households"] - t["displaced_households"], 0)
        tiers["affected"] = max(t["affected_households"] - t["severely_affected_households"], 0)
        tiers["none"] = max(t["households"] - t["affected_households"], 0)
    status = plan.get("status_counts")
    if isinstance(status, dict) and status:
        fixed = {"paid": t.get("paid_households"), "over_budget": t.get("over_budget_households")}
        free = [s for s in status if s not in fixed or fixed[s] is None]
        balance = max(free, key=lambda s: status[s]) if free else None
        others = [s for s in free if s != balance]
        new = dict(zip(others, _nat_counts(key, [f"status:{s}" for s in others], [status[s] for s in others], unit),
                       strict=True))
        for s, v in fixed.items():
            if s in status and v is not None:
                new[s] = int(v)
        if balance is not None:
            shift = sum(new[s] - status[s] for s in new)
            new[balance] = max(int(status[balance] + (t["households"] - t_true["households"]) - shift), 0)
        plan["status_counts"] = {s: new.get(s, status[s]) for s in status}
    targeting = plan.get("targeting")
    if isinstance(targeting, dict):
        if "affected_poor_unpaid_households" in targeting and "affected_poor_unpaid_households" in t:
            targeting["affected_poor_unpaid_households"] = t["affected_poor_unpaid_households"]
        if targeting.get("paid_not_affected_households"):
            targeting["paid_not_affected_households"] = _nat_counts(
                key, ["paid_not_affected"], [targeting["paid_not_affected_households"]], unit)[0]
    payers = plan.get("payers")
    if isinstance(payers, dict) and payers:
        names = [p for p in payers if p != "none"]
        new = dict(zip(names, _nat_counts(key, [f"payer:{p}" for p in names], [payers[p] for p in names], unit),
                       strict=True))
        if "none" in payers:
            new["none"] = max(t["households"] - sum(new.values()), 0)
        plan["payers"] = {p: new.get(p, payers[p]) for p in payers}
    for prog in plan.get("programmes", []):
        if isinstance(prog.get("entitled_households"), int):
            prog["entitled_households"] = _nat_counts(
                key, [f"programme:{prog.get('name')}"], [prog["entitled_households"]], unit)[0]
    dedup = plan.get("dedup")
    if isinstance(dedup, dict):
        if "overlap_households" in dedup:
            dedup["overlap_households"] = t.get("dedup_overlap_households", dedup["overlap_households"])
        if "savings_pkr" in dedup:
            dedup["savings_pkr"] = t.get("dedup_savings_pkr", dedup["savings_pkr"])
        n = dedup.get("registry_duplicates_households")
        if isinstance(n, int) and n:
            m = dedup.get("registry_duplicates_savings_pkr", 0) / n
            dedup["registry_duplicates_households"] = _nat_counts(key, ["registry_duplicates"], [n], unit)[0]
            dedup["registry_duplicates_savings_pkr"] = int(_round(
                np.array([m * dedup["registry_duplicates_households"]]), PKR_BASE)[0])
    budget = plan.get("budget")
    if isinstance(budget, dict):
        if "over_budget_households" in budget:
            budget["over_budget_households"] = t.get("over_budget_households", budget["over_budget_households"])
        if "shortfall_pkr" in budget:
            budget["shortfall_pkr"] = t.get("budget_shortfall_pkr", budget["shortfall_pkr"])
    inst = plan.get("instalments") or []
    if inst:
        from simulator.engine.payouts import instalment_split

        shares = [float(i["share"]) for i in inst]
        fed = instalment_split(np.array([t["federal_pkr"]]), shares)[:, 0]
        prov = instalment_split(np.array([t["provincial_pkr"]]), shares)[:, 0]
        for i, f, p in zip(inst, fed, prov, strict=True):
            i["federal_pkr"], i["provincial_pkr"], i["amount_pkr"] = int(f), int(p), int(f + p)
    contributions = plan.get("cost_sharing", {}).get("contributions", [])
    if contributions:
        by_prov = {p["province_code"]: p.get("provincial_pkr", 0) for p in plan["provinces"]}
        groups: dict[str, list[dict]] = {}
        for c in contributions:
            groups.setdefault(c["benefiting_province"], []).append(c)
        for b, items in groups.items():
            target = int(by_prov.get(b, 0) or 0)
            weights = np.array([max(int(c["amount_pkr"] or 0), 0) for c in items], dtype=float)
            if weights.sum() <= 0:
                for c in items:
                    c["amount_pkr"] = 0
                continue
            exact = target * weights / weights.sum()
            floor = np.floor(exact).astype(np.int64)
            order = np.argsort(-(exact - floor), kind="stable")
            floor[order[: target - int(floor.sum())]] += 1
            for c, v in zip(items, floor, strict=True):
                c["amount_pkr"] = int(v)
    _ensemble_and_estimates(plan, key, unit, mean_pay)


def _noisy(key: bytes, cell: str, name: str, value, unit: int, mean_pay: float):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value == 0:
        return value
    if name.endswith("_pkr"):
        return _nat_money(key, cell, int(value), mean_pay or 1.0, unit)
    if name.endswith("_households"):
        return int(perturb_counts([int(value)], [cell], key, unit)[0])
    return value


def _ensemble_and_estimates(plan: dict, key: bytes, unit: int, mean_pay: float) -> None:
    ensemble = plan.get("ensemble")
    if isinstance(ensemble, dict):
        areas = [("national", ensemble.get("national") or {})]
        areas += [(p.get("province_code"), p) for p in ensemble.get("provinces", [])]
        areas += [(d.get("district_id"), d) for d in ensemble.get("districts", [])]
        for area, item in areas:
            for metric, q in item.items():
                if not isinstance(q, dict):
                    continue
                vals = {k: _noisy(key, f"ensemble:{area}:{metric}:{k}", metric, v, unit, mean_pay)
                        for k, v in q.items()}
                numbers = sorted(v for v in vals.values() if isinstance(v, (int, np.integer)))
                if len(numbers) == len(vals):
                    vals = dict(zip(sorted(vals), numbers, strict=True))  # p10 <= p50 <= p90
                item[metric] = vals
    unreg = plan.get("unregistered")
    if isinstance(unreg, dict):
        areas = [("national", unreg.get("totals") or {})]
        areas += [(p.get("province_code"), p) for p in unreg.get("provinces", [])]
        areas += [(d.get("district_id"), d) for d in unreg.get("districts", [])]
        for area, item in areas:
            for metric, v in list(item.items()):
                if metric.startswith("census_"):
                    continue
                item[metric] = _noisy(key, f"unregistered:{area}:{metric}", metric, v, unit, mean_pay)


def protect_plan(plan_dict: Mapping, k: int, *, key: bytes | None = None, households: pd.DataFrame | None = None,
                 unit: int | None = None, min_width: float = 1.0, upper: bool = True) -> dict:
    """The plan as it may be published: :func:`perturb_plan`, then small-cell suppression
    (:func:`simulator.publish.disclosure.suppress_plan` with ``k``) of the perturbed plan.

    The key is ``key``, else :func:`registry_key` of ``households``, else :func:`plan_key`.
    The report (``plan["disclosure"]``) gains ``perturbation``: the method, its parameters and
    which key was used.
    """
    from simulator.publish.disclosure.plan import suppress_plan

    source = "given"
    if key is None and households is not None:
        key, source = registry_key(households), "registry"
    elif key is None:
        key, source = plan_key(plan_dict), "plan"
    perturbed = perturb_plan(plan_dict, key, unit=unit)
    note = perturbed.pop("perturbation")
    out = suppress_plan(perturbed, k=int(k), min_width=min_width, upper=upper)
    note["key_source"] = source
    out["disclosure"]["perturbation"] = note
    out["disclosure"]["rules"].insert(
        0, f"Every published count is perturbed by the cell-key method (noise of standard deviation "
           f"about {PTABLE_SD:g} registry rows, at most {PTABLE_BOUND}, zero mean, the same for the "
           "same cell of one registry version); people and PKR follow their count (PKR to the "
           f"nearest {PKR_BASE:,}); districts add up to provinces and provinces to the national "
           "totals, which are perturbed too.")
    return out


def perturb_hexagons(hexes: pd.DataFrame, key: bytes, unit: int = 1) -> pd.DataFrame:
    """Hexagon counts (``q``, ``r``, ``count``) perturbed as cells ``hex:q:r`` by the same
    table and key; hexagons perturbed to zero are dropped."""
    if not len(hexes):
        return hexes.copy()
    cells = [f"hex:{q}:{r}" for q, r in zip(hexes["q"].tolist(), hexes["r"].tolist(), strict=True)]
    out = hexes.copy()
    out["count"] = perturb_counts(hexes["count"].to_numpy(np.int64), cells, key, unit)
    return out[out["count"] > 0].reset_index(drop=True)
