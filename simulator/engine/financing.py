"""Who funds what is paid: federal and provincial shares, in int64 PKR, by a rule chosen by name.

Rules
-----
``fixed``
    The federal government funds ``federal_share`` of every household's amount, the household's
    own province the rest.
``ownership``
    Each programme's owner funds what it delivers: federal programmes federally, provincial
    programmes by the province.
``key``
    Co-financing across provinces: the federal government funds ``federal_share``; the provincial
    part of every amount goes to a pool that the four provinces fund by a key from
    ``data/cost_sharing_keys.csv`` (the 7th NFC award's horizontal shares, or 2023 population
    shares), whichever province the benefits fall in.

Islamabad Capital Territory has no provincial government: under every rule the federal
government funds what a province would fund there.

Rounding rule (every rule): a household's federal share is rounded down to the rupee,
``federal = amount * share_bp // 10_000`` with the share in basis points, and the province (or
the pool) funds the rest, so shares add up exactly to each household's amount and therefore to
every district, province and national total. Under ``key``, each province's contribution to a
benefiting province's pool is apportioned by the largest-remainder method (ties to the province
listed first in the key), so contributions add up exactly too.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from hazards import tables as data
from hazards.errors import ScenarioError

RULES = ("fixed", "ownership", "key")
PROVINCES = tuple(data.PROVINCES)  # PB, SD, KP, BA, IS: the province index used everywhere
_IS = PROVINCES.index("IS")


@functools.cache
def keys() -> pd.DataFrame:
    """The cost-sharing keys table (``key``, ``province_code``, ``share_pct``, ``source``)."""
    path = data.data_dir() / "cost_sharing_keys.csv"
    table = pd.read_csv(path)
    for key, group in table.groupby("key"):
        total = group.share_pct.sum()
        if abs(total - 100.0) > 1e-6:
            raise ScenarioError(f"{path}: key {key!r} sums to {total}, not 100; fix its rows.")
    return table


def key_shares(name: str) -> np.ndarray:
    """Shares (0-1) of PB, SD, KP, BA, IS under key ``name`` (IS is 0: it is federal)."""
    table = keys()
    rows = table[table.key == name]
    if rows.empty:
        raise ScenarioError(
            f"cost_sharing.key {name!r} is unknown; choose one of {sorted(table.key.unique())} "
            f"(data/cost_sharing_keys.csv)."
        )
    shares = np.zeros(len(PROVINCES))
    for code, pct in zip(rows.province_code, rows.share_pct, strict=True):
        shares[PROVINCES.index(code)] = pct / 100.0
    return shares


def _floor_share(amount: np.ndarray, share: float) -> np.ndarray:
    return amount * np.int64(round(share * 10_000)) // np.int64(10_000)


def split(
    amount_pkr: np.ndarray,
    federal_delivers_pkr: np.ndarray,
    province: np.ndarray,
    *,
    rule: str,
    federal_share: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Federal and provincial funding of each household's amount [PKR, int64].

    Parameters
    ----------
    amount_pkr
        What each household is paid.
    federal_delivers_pkr
        The part delivered by federal programmes (used by ``ownership``).
    province
        Province index of each household (PB, SD, KP, BA, IS = 0..4).
    """
    if rule not in RULES:
        raise ScenarioError(f"cost_sharing.rule {rule!r} is unknown; choose one of {RULES}.")
    if not 0.0 <= federal_share <= 1.0:
        raise ScenarioError(f"cost_sharing.federal_share must lie in [0, 1], got {federal_share}.")
    amount = np.asarray(amount_pkr, dtype=np.int64)
    if rule == "ownership":
        federal = np.asarray(federal_delivers_pkr, dtype=np.int64).copy()
    else:
        federal = _floor_share(amount, federal_share)
    federal = np.where(province == _IS, amount, federal)
    return federal, amount - federal


def split_fixed(amount_pkr: np.ndarray, *, federal_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Federal and provincial PKR for a fixed federal share (0 to 1, to a basis point)."""
    amount = np.asarray(amount_pkr, dtype=np.int64)
    return split(amount, amount, np.zeros(len(amount), np.int8), rule="fixed", federal_share=federal_share)


def largest_remainder(total: int, shares: np.ndarray) -> np.ndarray:
    """Split an integer ``total`` by ``shares`` into integers that add up to it exactly."""
    shares = np.asarray(shares, dtype=float)
    if total == 0 or shares.sum() == 0:
        return np.zeros(len(shares), dtype=np.int64)
    exact = total * shares / shares.sum()
    base = np.floor(exact).astype(np.int64)
    left = int(total - base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:left]] += 1
    return base


def contributions(provincial_by_province: np.ndarray, *, rule: str, key: str = "nfc7") -> np.ndarray:
    """Who funds each province's provincial part: a (benefiting x paying) matrix [PKR, int64].

    Rows and columns are PB, SD, KP, BA, IS. Under ``fixed`` and ``ownership`` each province
    funds its own (a diagonal); under ``key`` every row is apportioned over the four provinces.
    """
    totals = np.asarray(provincial_by_province, dtype=np.int64)
    if rule != "key":
        return np.diag(totals)
    shares = key_shares(key)
    return np.vstack([largest_remainder(int(t), shares) for t in totals])


def pool_capacity(ceilings: dict[str, int], key: str) -> float:
    """Under ``key``, the largest pool the provinces' ceilings allow: min over provinces of
    ceiling / share (a province with no ceiling does not limit it)."""
    shares = key_shares(key)
    caps = [c / shares[PROVINCES.index(p)] for p, c in ceilings.items() if shares[PROVINCES.index(p)] > 0]
    return min(caps) if caps else float("inf")
