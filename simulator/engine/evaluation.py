"""The vectorized payout engine: overlay -> tiers -> programmes -> dedup -> cost-sharing -> budgets.

Works on numpy columns. Every step after the overlay runs on the affected households only, so a
national registry costs little more than its overlay. No Python loop over households, pixels or
events; the loops here are over hazards and programmes (a handful each).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hazards import sampling as overlay
from hazards.errors import ScenarioError
from simulator.engine import budget, dedup, financing, payouts, targeting

#: Who delivers a household's payment.
PAYER = ("none", "federal", "provincial", "federal+provincial")
EXPANSIONS = ("vertical", "horizontal", "all_affected")


def household_columns(households: pd.DataFrame) -> dict[str, np.ndarray]:
    """The engine's view of a validated registry frame: plain numpy columns."""
    n = len(households)

    def flag(name: str) -> np.ndarray:
        return households[name].to_numpy(dtype=bool) if name in households else np.zeros(n, bool)

    under5 = (
        households["children_under5"].to_numpy(dtype=np.int16)
        if "children_under5" in households
        else np.zeros(n, np.int16)
    )
    return {
        "lon": households["lon"].to_numpy(dtype=np.float64),
        "lat": households["lat"].to_numpy(dtype=np.float64),
        "province": households["province_code"].cat.codes.to_numpy().astype(np.int8),
        "district": households["district_id"].cat.codes.to_numpy().astype(np.int16),
        "hh_size": households["hh_size"].to_numpy(dtype=np.int16),
        "pmt_score": households["pmt_score"].to_numpy(dtype=np.float32),
        "enrolled_kafaalat": flag("enrolled_kafaalat"),
        "enrolled_prov_uct": flag("enrolled_prov_uct"),
        "enrolled_prov_cct": flag("enrolled_prov_cct"),
        "female_headed": flag("female_headed"),
        "disability": flag("disability"),
        "children_under5": under5,
        # 0 kacha, 1 pakka; unknown housing counts as kacha, the more vulnerable (stated in
        # the README), so that impact functions by housing type apply to every household.
        "housing": _housing_codes(households),
        "weight": (
            households["weight"].to_numpy(dtype=np.int64)
            if "weight" in households
            else np.ones(n, np.int64)
        ),
        # 0: a federal (NSER) record, 1: a provincial registry's record (federal programmes do
        # not reach it); duplicate: a provincial record of a household the federal registry has.
        "source": (
            households["source"].cat.codes.to_numpy().astype(np.int8)
            if "source" in households
            else np.zeros(n, np.int8)
        ),
        "duplicate": (
            households["duplicate_of"].to_numpy() >= 0
            if "duplicate_of" in households
            else np.zeros(n, bool)
        ),
    }


def _housing_codes(households: pd.DataFrame) -> np.ndarray:
    if "housing" not in households:
        return np.zeros(len(households), np.int8)
    codes = households["housing"].cat.codes.to_numpy().astype(np.int8)
    return np.where(codes < 0, 0, codes).astype(np.int8)


@dataclass
class EngineResult:
    """Per-household results and the affected subset's working columns.

    Money and payer are held for the affected households only (``sub``); the full-length
    arrays (zero elsewhere) are built on first use.
    """

    intensity: dict[str, np.ndarray]  # per hazard label, float32, NaN outside / nodata
    tier: np.ndarray  # int8 0-3
    status: np.ndarray  # int8, targeting.STATUS
    weight: np.ndarray  # int64, households each row stands for (1 in a real registry)
    affected_index: np.ndarray  # positions of households with tier > 0
    sub: dict[str, np.ndarray] = field(default_factory=dict)  # columns over affected_index
    programme_households: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)  # affected provincial duplicates removed

    def _full(self, name: str, dtype) -> np.ndarray:
        out = np.zeros(len(self.tier), dtype=dtype)
        out[self.affected_index] = self.sub[name]
        return out

    @functools.cached_property
    def counted_weight(self) -> np.ndarray | None:
        """Households each row counts for: its weight, 0 for duplicate records (provincial copies
        of federal households). None when every row counts once (a real registry without
        duplicates), so that counts need no weights."""
        duplicate = self.status == targeting.DUPLICATE
        if not duplicate.any():
            return None if bool((self.weight == 1).all()) else self.weight
        out = self.weight.copy()
        out[duplicate] = 0
        return out

    @functools.cached_property
    def amount_pkr(self) -> np.ndarray:
        """PKR paid to each household (int64)."""
        return self._full("paid_pkr", np.int64)

    @functools.cached_property
    def federal_pkr(self) -> np.ndarray:
        """PKR funded federally for each household (int64)."""
        return self._full("federal_pkr", np.int64)

    @functools.cached_property
    def provincial_pkr(self) -> np.ndarray:
        """PKR funded by provinces for each household (int64)."""
        return self._full("provincial_pkr", np.int64)

    @functools.cached_property
    def payer(self) -> np.ndarray:
        """Who delivers each household's payment (int8 codes of PAYER)."""
        return self._full("payer", np.int8)

    @functools.cached_property
    def eligible(self) -> np.ndarray:
        """Entitled under at least one programme (before budgets)."""
        return self._full("entitled", bool)


def _hazard_tiers(spec, source, cols: dict[str, np.ndarray], seed: int):
    """(intensity, tier, overlay status) of one hazard for every household.

    ``source`` is a raster layer, or an admin table (see :mod:`hazards.admin`): then a declared
    ``severity`` is the tier, and a declared ``share_affected`` alone makes each household of the
    district affected with that probability (a seeded draw per household and hazard).
    """
    if isinstance(source, pd.DataFrame):
        from hazards.admin import admin_intensity

        declared = admin_intensity(source, cols["district"])
        n = len(cols["district"])
        where = np.where(declared.declared, overlay.INSIDE, overlay.OUTSIDE).astype(np.int8)
        if declared.severity is not None:
            tier = declared.severity.astype(np.int8)
            intensity = tier.astype(np.float32)
        else:
            share = np.nan_to_num(declared.share_affected, nan=0.0)
            rng = np.random.default_rng(np.random.SeedSequence([seed, 31, len(spec.label)]))
            tier = (rng.random(n) < share).astype(np.int8)
            intensity = declared.share_affected.astype(np.float32)
        return intensity, tier, where
    values, where = overlay.sample(source, cols["lon"], cols["lat"])
    if spec.impact is not None:
        from hazards import impact

        tier = impact.load(spec.impact).tier(values, housing=cols["housing"]).astype(np.int8)
    else:
        tier = targeting.tiers(values, spec.tier_thresholds())
    return values, tier, where


def _overlay_all(scn, sources: list, cols: dict[str, np.ndarray]):
    intensity, tier_list, status_list = {}, [], []
    for spec, source in zip(scn.hazards, sources, strict=True):
        values, tier_h, where = _hazard_tiers(spec, source, cols, scn.seed)
        intensity[spec.label] = values
        status_list.append(where)
        tier_list.append(tier_h)
    if scn.combine == "max_tier" or len(sources) == 1:
        tier = np.maximum.reduce(tier_list) if len(tier_list) > 1 else tier_list[0]
    else:
        if any(isinstance(src, pd.DataFrame) for src in sources) or any(h.impact for h in scn.hazards):
            raise ScenarioError("combine: max_intensity needs rasters with thresholds or tiers; use max_tier.")
        units = {src.attrs.get("units") for src in sources}
        if len(units) > 1:
            raise ScenarioError(
                f"combine: max_intensity needs hazards in the same units, got {sorted(units)}; "
                "use combine: max_tier."
            )
        stacked = np.fmax.reduce(list(intensity.values()))
        tier = targeting.tiers(stacked, scn.hazards[0].tier_thresholds())
    inside_any = np.zeros(len(tier), dtype=bool)
    nodata_any = np.zeros(len(tier), dtype=bool)
    for where in status_list:
        inside_any |= where == overlay.INSIDE
        nodata_any |= where == overlay.NODATA
    where = np.where(inside_any, overlay.INSIDE, np.where(nodata_any, overlay.NODATA, overlay.OUTSIDE))
    return intensity, tier, where.astype(np.int8)


def evaluate(
    scn, cols: dict[str, np.ndarray], layers: list, *, timings: dict[str, float] | None = None
) -> EngineResult:
    """Run the engine for scenario ``scn`` over household columns and hazard sources.

    ``layers`` holds one source per ``scn.hazards`` entry: a raster layer (xarray) or a declared
    districts table (pandas, from :func:`hazards.admin.read_admin_table`). ``timings``, when
    given, receives the seconds spent in each stage.
    """
    timings = {} if timings is None else timings
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = now - clock
        clock = now

    n = len(cols["lon"])
    intensity, tier, where = _overlay_all(scn, layers, cols)
    lap("overlay_s")
    duplicate = cols["duplicate"]
    idx = np.flatnonzero((tier > 0) & ~duplicate)
    sub = {k: v[idx] for k, v in cols.items() if k not in ("lon", "lat", "housing")}
    t = tier[idx]
    m = len(idx)
    # What the duplicates (provincial records of federal households) would have been paid by
    # provincial programmes had they not been removed: the savings of cross-registry dedup.
    dup_idx = np.flatnonzero((tier > 0) & duplicate)
    dup_cols = {k: v[dup_idx] for k, v in cols.items() if k not in ("lon", "lat", "housing")}
    duplicate_savings = np.zeros(len(dup_idx), np.int64)
    for prog in scn.policy.programmes:
        if prog.owner == "provincial":
            entitled_dup = targeting.programme_eligible(prog, dup_cols, tier[dup_idx])
            amount_dup = payouts.transfer_amount(prog.transfer, tier[dup_idx], dup_cols["hh_size"], entitled_dup)
            np.maximum(duplicate_savings, amount_dup, out=duplicate_savings)
    duplicate_savings *= dup_cols["weight"]

    # Programmes: the largest entitlement per owner, and what each expansion reaches.
    fed = np.zeros(m, np.int64)
    prov = np.zeros(m, np.int64)
    total = np.zeros(m, np.int64)
    count = np.zeros(m, np.int8)
    reach = {e: np.zeros(m, bool) for e in EXPANSIONS}
    programme_households = {}
    federal_record = sub["source"] == 0
    for prog in scn.policy.programmes:
        entitled = targeting.programme_eligible(prog, sub, t)
        if prog.owner == "federal":
            entitled &= federal_record  # federal programmes reach NSER records only
        amount = payouts.transfer_amount(prog.transfer, t, sub["hh_size"], entitled)
        got = amount > 0
        programme_households[prog.name] = int(sub["weight"][got].sum())
        reach[prog.expansion] |= got
        total += amount
        count += got
        if prog.owner == "federal":
            np.maximum(fed, amount, out=fed)
        else:
            np.maximum(prov, amount, out=prov)

    lap("targeting_payouts_s")
    d = scn.dedup
    resolved = dedup.resolve(fed, prov, total, count, rule=d.rule, base=d.base, order=tuple(d.order))
    # A row stands for ``weight`` households (1 in a real registry): its money is the
    # household's amount times its weight.
    w = sub["weight"]
    fed_row = resolved.federal_delivers_pkr * w
    prov_row = resolved.provincial_delivers_pkr * w
    entitled_amount = fed_row + prov_row
    lap("dedup_s")
    cs = scn.cost_sharing
    federal, provincial = financing.split(
        entitled_amount, fed_row, sub["province"],
        rule=cs.rule, federal_share=cs.federal_share,
    )

    lap("cost_sharing_s")
    # Budgets, over the entitled households only.
    entitled = entitled_amount > 0
    funded = entitled.copy()
    left_out_by = np.zeros(m, np.int8)
    b = scn.budget
    if b.federal_pkr is not None or b.provincial_pkr:
        e = np.flatnonzero(entitled)
        key = budget.priority_key(t[e], sub["pmt_score"][e], idx[e], list(b.priority))
        ok, why = budget.apply(
            key, federal[e], provincial[e], sub["province"][e],
            federal_ceiling=b.federal_pkr, provincial_ceilings=dict(b.provincial_pkr),
            rule=cs.rule, cost_key=cs.key,
        )
        funded[e] = ok
        left_out_by[e] = why
    lap("budget_s")
    keep = funded.astype(np.int64)
    paid_amount = entitled_amount * keep
    fed_del = fed_row * keep
    prov_del = prov_row * keep

    status = np.full(n, targeting.NOT_AFFECTED, dtype=np.int8)
    status[where == overlay.OUTSIDE] = targeting.OUTSIDE_AREA
    status[where == overlay.NODATA] = targeting.NO_HAZARD_DATA
    sub_status = np.where(
        ~entitled, targeting.NOT_ELIGIBLE, np.where(funded, targeting.PAID, targeting.OVER_BUDGET)
    ).astype(np.int8)
    status[idx] = sub_status
    status[duplicate] = targeting.DUPLICATE

    payer_sub = ((fed_del > 0).astype(np.int8) + 2 * (prov_del > 0).astype(np.int8)).astype(np.int8)
    sub.update(
        tier=t,
        entitled=entitled,
        entitled_pkr=entitled_amount,
        paid_pkr=paid_amount,
        federal_pkr=federal * keep,
        provincial_pkr=provincial * keep,
        payer=payer_sub,
        overlap=resolved.overlap,
        dedup_savings_pkr=resolved.savings_pkr * w,
        shortfall_pkr=entitled_amount - paid_amount,
        over_budget=entitled & ~funded,
        left_out_by=left_out_by,
        vertical=reach["vertical"] & funded,
        horizontal=reach["horizontal"] & funded,
        status=sub_status,
    )
    result = EngineResult(
        intensity=intensity,
        tier=tier,
        status=status,
        weight=cols["weight"],
        affected_index=idx,
        sub=sub,
        programme_households=programme_households,
        duplicates={
            "households": int(dup_cols["weight"].sum()),
            "records": len(dup_idx),
            "savings_pkr": int(duplicate_savings.sum()),
        },
    )
    lap("results_s")
    return result
