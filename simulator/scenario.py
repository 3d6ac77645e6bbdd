"""Scenario files: strict pydantic models read from YAML, with errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hazards.errors import ScenarioError
from simulator.digests import file_sha256 as file_sha256  # re-exported: its home before digests


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ProvinceCode = Literal["PB", "SD", "KP", "BA", "IS"]
TierName = Literal["affected", "severely_affected", "displaced"]
Category = Literal["female_headed", "disability", "children_under_five"]
Enrolment = Literal["kafaalat", "prov_uct", "prov_cct"]
TIER_NAMES = ("none", "affected", "severely_affected", "displaced")

# ---------------------------------------------------------------------------------------------
# Money bounds. Money is int64 PKR (largest 2**63 - 1, about 9.2e18) and int64 arithmetic wraps
# silently, so every amount a scenario declares has a ceiling, chosen so that no product or sum
# the engine forms can leave int64:
#
#   one programme, one household   <= MAX_TRANSFER_PKR + MAX_HH_SIZE * MAX_PER_PERSON_PKR
#                                   = 1e8 + 50 * 1e7 = 6e8                (MAX_HOUSEHOLD_PKR)
#   one household, all programmes  <= MAX_PROGRAMMES * 6e8 = 1.2e10      (what dedup sums)
#   one registry row               <= 1.2e10 * 1e6 (the registry's largest row weight) = 1.2e16
#   a plan                         <= 1.2e10 * MAX_HOUSEHOLDS (3e8) = 3.6e18  (< 2**63 by 2.5x)
#
# and every share product stays small: a federal share or an instalment is amount * basis
# points // 10_000 and a cost-sharing key amount * numerator // 10**6, each computed as quotient
# and remainder (simulator.engine.financing), never as the full product. Budgets stay below
# 2**53 so that comparing int64 running sums with a ceiling held as a float is exact. A plan
# whose money would still not fit (e.g. a registry whose weights add up to more than
# MAX_HOUSEHOLDS) is refused by the engine with a message, never wrapped.
# ---------------------------------------------------------------------------------------------

#: Largest base amount, floor or cap of a transfer [PKR per household]: 4,000 times BISP's 2022
#: flood relief of PKR 25,000; nothing a cash response pays comes near it.
MAX_TRANSFER_PKR = 10**8
#: Largest per-person amount of a transfer [PKR per household member].
MAX_PER_PERSON_PKR = 10**7
#: Largest household the registry accepts [persons] (simulator.registry.schema.MAX_HH_SIZE; the
#: scenario layer sits below the registry, so the number is repeated; a test checks they agree).
MAX_HH_SIZE = 50
#: The most one programme can pay one household [PKR].
MAX_HOUSEHOLD_PKR = MAX_TRANSFER_PKR + MAX_HH_SIZE * MAX_PER_PERSON_PKR
#: Most programmes in one policy (the library scenarios have one or two).
MAX_PROGRAMMES = 20
#: Most households a plan may count, weights included [households]: 7.9 times the 38 million
#: households of the 2023 census, room for a regional registry or a 150 M-household scale test
#: (issue 13), with every sum still inside int64 (see above).
MAX_HOUSEHOLDS = 3 * 10**8
#: Largest budget ceiling [PKR], federal or of one province: about 50 times Pakistan's whole
#: federal budget (PKR 17.6 trillion in 2025-26), and below 2**53 (9.0e15), so that a ceiling
#: compared as a float is exact.
MAX_BUDGET_PKR = 10**15
#: Largest scenario seed: the generators seed numpy's SeedSequence, which takes non-negative
#: integers; seeds are kept to 32 bits (ensembles and back-tests add up to a few hundred).
MAX_SEED = 2**32 - 1


class ProvincialRegistry(_Strict):
    """A province's own registry (e.g. Punjab's PSER), whose households provincial programmes reach.

    Its records that are the same households as federal (NSER) records are removed as duplicates:
    records with the same pseudonymous id (both sides keyed alike), and the pairs in ``links``
    (``provincial_id``, ``federal_id``; from privacy-preserving record linkage, ``madad exchange
    link``). A linked record's provincial enrolment is carried over to the federal record.
    """

    province: ProvinceCode
    path: str = Field(description="GeoParquet/Parquet/CSV registry; relative to the scenario file")
    links: str | None = Field(None, description="CSV/Parquet of linked pairs: provincial_id, federal_id")


class RegistrySpec(_Strict):
    """Where households come from: a file, or the seeded synthetic generator, plus provincial
    registries to merge without duplicates."""

    path: str | None = Field(None, description="GeoParquet/Parquet/CSV registry; relative to the scenario file")
    synthetic_households: int = Field(200_000, ge=0, description="households to generate when no path is given")
    provincial: list[ProvincialRegistry] = []


HazardKind = Literal["riverine-flood", "flash-flood", "heatwave", "drought", "earthquake", "cyclone"]


class Tiers(_Strict):
    """Severity tiers: the intensity (in the layer's units) at or above which each tier starts."""

    affected: float = Field(ge=0)
    severely_affected: float | None = None
    displaced: float | None = None

    @model_validator(mode="after")
    def _increasing(self) -> Tiers:
        values = [v for v in (self.affected, self.severely_affected, self.displaced) if v is not None]
        if any(b <= a for a, b in zip(values, values[1:], strict=False)):
            raise ValueError("tier thresholds must increase: affected < severely_affected < displaced")
        if self.displaced is not None and self.severely_affected is None:
            raise ValueError("give severely_affected when displaced is given")
        return self

    def thresholds(self) -> list[float]:
        """Thresholds of tiers 1, 2, 3 (inf where a tier is not used)."""
        return [
            self.affected,
            self.severely_affected if self.severely_affected is not None else float("inf"),
            self.displaced if self.displaced is not None else float("inf"),
        ]


class HazardSpec(_Strict):
    """One hazard and how its intensity becomes a severity tier.

    Source, exactly one of: ``file`` (GeoTIFF/COG, NetCDF or Zarr), ``generator`` (parameters of
    the ``kind``'s generator in :mod:`hazards.generators`; the scenario's seed is used) or
    ``admin_table`` (a CSV of declared districts with ``severity`` and/or ``share_affected``, what
    NDMA calamity notifications give). Tiers, for rasters exactly one of: ``threshold``
    (affected at or above it), ``tiers`` (affected / severely affected / displaced) or ``impact``
    (an impact function of :mod:`hazards.impact`, with its own tiers by housing type).
    """

    name: str | None = Field(None, description="label for this hazard (defaults to its kind)")
    kind: HazardKind = "riverine-flood"
    file: str | None = Field(None, description="raster file; relative to the scenario file")
    units: str | None = Field(None, description="units of the file's values when it does not say")
    variable: str | None = Field(None, description="NetCDF/Zarr: the data variable to read")
    time: str | int | None = Field(None, description="NetCDF/Zarr: the time step (index or ISO date)")
    generator: dict[str, Any] | None = Field(None, description="generator parameters (madad hazard generate --help)")
    admin_table: str | None = Field(None, description="CSV: district_id, severity and/or share_affected")
    threshold: float | None = Field(None, description="shorthand for tiers: {affected: threshold}")
    tiers: Tiers | None = None
    impact: str | None = Field(None, description="impact function name, e.g. flood_depth_damage")
    affected: Literal["share", "tier"] = Field(
        "share",
        description="with an impact function, who is affected: 'share' (each household at the "
        "function's share for its intensity: a seeded draw per household; a weighted row counts "
        "its expected number) or 'tier' (every household at or above the affected tier)",
    )
    source: str | None = Field(None, description="where the library's tiers or footprint comes from (a citation); shown in the plan's assumptions")

    @model_validator(mode="after")
    def _one_source(self) -> HazardSpec:
        sources = [x for x in (self.file, self.generator, self.admin_table) if x is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one of hazard.file, hazard.generator or hazard.admin_table")
        ways = [x for x in (self.threshold, self.tiers, self.impact) if x is not None]
        if self.admin_table is not None:
            if ways:
                raise ValueError("an admin_table gives its own severity; drop threshold, tiers and impact")
        elif len(ways) != 1:
            raise ValueError("give exactly one of threshold, tiers or impact")
        if self.generator is not None:
            from hazards import generators

            allowed = set(generators.parameters(self.kind)) - {"seed"}
            unknown = sorted(set(self.generator) - allowed)
            if unknown:
                raise ValueError(
                    f"unknown {self.kind} generator parameter(s) {unknown}; allowed: {sorted(allowed)}"
                )
        if self.impact is None and self.affected != "share":
            raise ValueError("affected: tier applies to an impact function; add impact or drop affected")
        if self.impact is not None:
            from hazards import impact

            known = impact.names(kind=self.kind)
            if self.impact not in known:
                raise ValueError(f"impact {self.impact!r} is not a {self.kind} impact function; choose one of {known}")
        return self

    def tier_thresholds(self) -> list[float]:
        """Thresholds of tiers 1-3 (``threshold`` or ``tiers``; ``impact`` has its own)."""
        if self.tiers is not None:
            return self.tiers.thresholds()
        if self.threshold is not None:
            return Tiers(affected=self.threshold).thresholds()
        raise ValueError(f"hazard {self.label} takes its tiers from {self.impact or self.admin_table}")

    @property
    def label(self) -> str:
        return self.name or self.kind


class Transfer(_Strict):
    """How much a programme pays a household [PKR]: by tier, plus per person, within floor and cap.

    A tier not listed takes the amount of the highest listed tier below it (a more severely
    affected household never gets less); tiers below the lowest listed tier get nothing.
    """

    by_tier_pkr: dict[TierName, Annotated[int, Field(ge=0, le=MAX_TRANSFER_PKR)]] = Field(
        description=f"base amount per tier [PKR, 0 to {MAX_TRANSFER_PKR:,}], e.g. {{affected: 25000}}"
    )
    per_person_pkr: int = Field(
        0, ge=0, le=MAX_PER_PERSON_PKR, description=f"added per household member [PKR, at most {MAX_PER_PERSON_PKR:,}]"
    )
    floor_pkr: int = Field(
        0, ge=0, le=MAX_TRANSFER_PKR, description=f"minimum paid to an entitled household [PKR, at most {MAX_TRANSFER_PKR:,}]"
    )
    cap_pkr: int | None = Field(
        None, ge=0, le=MAX_TRANSFER_PKR, description=f"maximum paid to one household [PKR, at most {MAX_TRANSFER_PKR:,}]"
    )

    @model_validator(mode="after")
    def _check(self) -> Transfer:
        if not self.by_tier_pkr:
            raise ValueError("by_tier_pkr needs at least one tier, e.g. {affected: 25000}")
        if any(v < 0 for v in self.by_tier_pkr.values()):
            raise ValueError("by_tier_pkr amounts must be >= 0")
        amounts = [self.by_tier_pkr[t] for t in TIER_NAMES[1:] if t in self.by_tier_pkr]
        if any(b < a for a, b in zip(amounts, amounts[1:], strict=False)):
            raise ValueError("by_tier_pkr must not fall as severity rises")
        if self.cap_pkr is not None and self.cap_pkr < self.floor_pkr:
            raise ValueError("cap_pkr must be >= floor_pkr")
        return self

    def tier_table(self) -> list[int]:
        """Base amount for tiers 0..3 (tier 0, not affected, is always 0)."""
        out, current = [0], 0
        started = False
        for t in TIER_NAMES[1:]:
            if t in self.by_tier_pkr:
                current, started = self.by_tier_pkr[t], True
            out.append(current if started else 0)
        return out


class Programme(_Strict):
    """A programme paying in this response: who runs it, whom it reaches and how much it pays.

    ``vertical``: a top-up to existing beneficiaries of the programmes in ``beneficiaries_of``.
    ``horizontal``: temporary inclusion of households NOT enrolled in ``beneficiaries_of`` whose
    PMT score is at or below ``pmt_max`` (by province where given; or under a category's own
    cut-off). ``all_affected``: every affected household (``pmt_max`` optional).
    """

    name: str
    name_ur: str | None = Field(None, description="the name in Urdu, shown in the app's Urdu view (default: name)")
    owner: Literal["federal", "provincial"]
    expansion: Literal["vertical", "horizontal", "all_affected"]
    beneficiaries_of: list[Enrolment] = []
    pmt_max: float | None = Field(None, ge=0, le=100)
    pmt_max_by_province: dict[ProvinceCode, float] = {}
    category_pmt_max: dict[Category, float] = Field(
        {}, description="a household in the category is eligible up to this PMT (e.g. disability: 37)"
    )
    categories: list[Category] = Field([], description="if given, only households in any of these")
    provinces: list[ProvinceCode] | None = Field(None, description="where it operates (default everywhere)")
    min_tier: TierName = "affected"
    transfer: Transfer
    source: str | None = Field(None, description="where the library's amounts and cut-offs comes from (a citation); shown in the plan's assumptions")

    @model_validator(mode="after")
    def _check(self) -> Programme:
        if self.expansion == "vertical" and not self.beneficiaries_of:
            raise ValueError("a vertical expansion needs beneficiaries_of (e.g. [kafaalat])")
        if self.expansion == "horizontal" and self.pmt_max is None and not self.pmt_max_by_province:
            raise ValueError("a horizontal expansion needs pmt_max (the temporary, higher cut-off)")
        return self


class Instalment(_Strict):
    share: float = Field(gt=0, le=1)
    day: int = Field(0, ge=0, description="days after the response starts")


class Policy(_Strict):
    programmes: list[Programme] = Field(min_length=1, max_length=MAX_PROGRAMMES)
    instalments: list[Instalment] = [Instalment(share=1.0, day=0)]
    poverty_line_pmt: float = Field(
        32.0, ge=0, le=100, description="PMT at or below which an unpaid affected household counts as poor and missed"
    )

    @model_validator(mode="after")
    def _check(self) -> Policy:
        if round(sum(i.share for i in self.instalments) * 10_000) != 10_000:
            raise ValueError("instalment shares must add up to 1")
        names = [p.name for p in self.programmes]
        if len(set(names)) != len(names):
            raise ValueError("programme names must be unique")
        return self


class Dedup(_Strict):
    """How a household entitled under both federal and provincial programmes is paid once.

    ``top_up``: the ``base`` owner pays its amount, the other pays only what its programme
    gives above that. ``priority``: the first owner in ``order`` with an entitlement pays; the
    other's entitlement is removed.
    """

    rule: Literal["top_up", "priority"] = "top_up"
    base: Literal["federal", "provincial"] = "federal"
    order: list[Literal["federal", "provincial"]] = ["federal", "provincial"]


class CostSharing(_Strict):
    """Who funds what is paid (see simulator.engine.financing for the rounding rule)."""

    rule: Literal["fixed", "ownership", "key"] = "fixed"
    federal_share: float = Field(0.5, ge=0, le=1, description="fixed and key rules: federal share of each amount")
    key: str = Field("nfc7", description="key rule: a key in data/cost_sharing_keys.csv (nfc7, population2023)")
    source: str | None = Field(None, description="where the library's rule and shares comes from (a citation); shown in the plan's assumptions")


class Budget(_Strict):
    """Ceilings [PKR] on what each government funds; none means no ceiling."""

    federal_pkr: int | None = Field(None, ge=0, le=MAX_BUDGET_PKR, description=f"federal ceiling [PKR, at most {MAX_BUDGET_PKR:,}]")
    provincial_pkr: dict[ProvinceCode, Annotated[int, Field(ge=0, le=MAX_BUDGET_PKR)]] = Field(
        {}, description=f"ceiling of each province [PKR, at most {MAX_BUDGET_PKR:,}], e.g. {{SD: 150000000}}"
    )
    priority: list[Literal["severity", "pmt"]] = ["severity", "pmt"]


class NserUpdate(_Strict):
    """A joint NSER update survey to cost with the plan (declaration item 4), split between
    federal and provincial governments by a named rule (see simulator.plans.nser_update)."""

    scope: Literal["affected_districts", "national"] = Field(
        "affected_districts", description="resurvey the affected households' districts, or every district"
    )
    coverage: float = Field(1.0, gt=0, le=2, description="share of the base households to visit")
    rule: Literal["fixed", "key", "ownership"] = "fixed"
    federal_share: float = Field(0.5, ge=0, le=1)
    key: str = "nfc7"


class BoundarySpec(_Strict):
    path: str
    layer: str | None = None
    code_column: str = "district_id"
    name_column: str | None = None


class Ensemble(_Strict):
    """Members over the seeds of the modelled hazards: the plan reports P10/P50/P90."""

    members: int = Field(ge=2, le=200, description="members: the scenario's seed and the next members-1 seeds")


class Closure(_Strict):
    """Which delivery sites the hazard closes: those at ``tier`` or above, for ``days`` days
    (none: for the whole response)."""

    tier: Literal["affected", "severely_affected", "displaced"] = Field(
        "severely_affected", description="the lowest hazard tier at a site that closes it")
    days: int | None = Field(None, ge=0, le=365, description="days a closed site stays closed; "
                             "none: closed for the whole response (its households go elsewhere)")


class CampsiteSpec(_Strict):
    """Campsites the provinces open where open sites are too far or too slow (item 6)."""

    max_days: int = Field(14, ge=1, le=365, description="days within which every household should be paid "
                          "(ASSUMPTION: two weeks); sites slower than this get a campsite beside them")
    grid_km: float = Field(10.0, gt=0, le=200, description="demand is aggregated to cells of this size [km] "
                           "before siting")
    time_limit_s: float = Field(10.0, gt=0, le=3600, description="solver time per province [s]; a province "
                                "not solved within mip_gap in time reports its gap")
    mip_gap: float = Field(0.05, ge=0, le=0.5, description="the solver stops once its campsite count is proven "
                           "within this fraction of the fewest possible")


class Delivery(_Strict):
    """Where the paid households are paid, how fast, and which sites the hazard closes
    (declaration items 5 and 6; see simulator.plans.delivery)."""

    sites: str | None = Field(None, description="sites table (CSV, GeoPackage or GeoParquet, "
                              "see simulator.registry.sites); none: the shipped ILLUSTRATIVE table")
    roads: str | None = Field(None, description="road network (GeoPackage, GeoParquet or GeoJSON of road lines, "
                              "e.g. an OpenStreetMap extract): travel by road; none: straight lines x detour_factor")
    roads_layer: str | None = Field(None, description="layer of a multi-layer roads file")
    closure: Closure = Closure()
    detour_factor: float = Field(1.3, ge=1, le=5, description="travel distance / straight-line distance "
                                 "(ASSUMPTION, Ballou et al. 2002 give 1.2-1.4); with roads, for the legs off the network")
    far_limit_km: float = Field(25.0, gt=0, le=1000, description="households farther than this [km of "
                                "travel] from their site are flagged and get a campsite")
    payments_per_staff_day: int = Field(100, ge=1, le=10_000, description="payments one staff member "
                                        "makes in a day (ASSUMPTION)")
    complaints_share: float = Field(0.05, ge=0, le=1, description="complaints as a share of payments "
                                    "(ASSUMPTION), for the complaints load of each site")
    one_window_centres: list[str] = Field([], description="sites acting as One Window Centres: site ids, "
                                          "or site kinds (e.g. bisp_tehsil_office) for every site of a kind")
    campsites: CampsiteSpec | None = Field(CampsiteSpec(), description="site campsites where needed; "
                                           "null: none (far households are only flagged)")


# ---------------------------------------------------------------------------------------------
# Risk financing over stochastic event sets (issue 17): layers, pools, parametric triggers and
# the event sets to run. Declared here; computed by simulator.plans.layers / risk / risk_plan and
# the event engine (``madad risk``).
# ---------------------------------------------------------------------------------------------

LayerKind = Literal["reserve", "fund", "contingent_credit", "parametric_insurance", "cat_bond", "pool"]
Payer = Literal["federal", "PB", "SD", "KP", "BA", "IS", "total"]
FunderProvince = Literal["PB", "SD", "KP", "BA"]
#: Units of a point trigger's index by hazard kind (the units of the kind's hazard layer).
INDEX_UNITS = {"riverine-flood": "m", "flash-flood": "mm", "heatwave": "degC", "drought": "index",
               "earthquake": "index", "cyclone": "m/s"}
#: Largest number of layers, triggers and event sets in one financing block.
MAX_FINANCING_ITEMS = 50
#: Largest premium multiple [-]: catastrophe layers price at 1.5-3 x expected loss; 50 leaves room.
MAX_PREMIUM_MULTIPLE = 50.0
#: Largest return period reported [years].
MAX_RETURN_PERIOD = 1_000_000.0
#: Most events and simulated years of a generated event set.
MAX_EVENTS = 1_000_000
MAX_EVENT_YEARS = 1_000_000.0


def _money(default: Any, what: str, *, minimum: int = 0) -> Any:
    return Field(default, ge=minimum, le=MAX_BUDGET_PKR,
                 description=f"{what} [PKR, {minimum:,} to {MAX_BUDGET_PKR:,}]")


class PoolSpec(_Strict):
    """Who funds a pooled layer: the federal government ``federal_share`` of each payout, the
    provinces the rest by ``key`` (simulator.plans.layers.Pool)."""

    key: Literal["nfc7", "population2023", "exposure", "equal"] = Field(
        description="how the provinces split their part: nfc7 or population2023 (data/cost_sharing_keys.csv), "
        "exposure (shares below, or the event set's affected households by province when none are given) "
        "or equal (over provinces)")
    federal_share: float = Field(0.0, ge=0, le=1, description="part of each payout the federal government funds "
                                 "[0-1, used in basis points]")
    shares: dict[FunderProvince, Annotated[float, Field(ge=0, le=1e12)]] | None = Field(
        None, description="key exposure: a weight per province [>= 0, e.g. exposed households], normalised; "
        "none: the caller's exposure (affected households by province)")
    provinces: list[FunderProvince] = Field(["PB", "SD", "KP", "BA"], min_length=1, max_length=4,
                                            description="key equal: the provinces sharing equally")

    def pool_terms(self, exposure_shares: dict[str, float] | None = None) -> dict[str, Any]:
        """Keyword arguments of :class:`simulator.plans.layers.Pool`; ``exposure_shares``
        (province -> weight) fills an exposure key given without shares.

        Raises
        ------
        ScenarioError
            Key ``exposure`` with neither shares nor ``exposure_shares``.
        """
        shares = self.shares
        if self.key == "exposure" and not shares:
            if not exposure_shares:
                raise ScenarioError(
                    "pool key 'exposure' without shares needs the exposure by province (the event set's "
                    "affected households); give pool.shares, e.g. {PB: 0.4, SD: 0.4, KP: 0.1, BA: 0.1}.")
            shares = {p: float(w) for p, w in exposure_shares.items() if p in ("PB", "SD", "KP", "BA")}
        return {"key": self.key, "federal_share": float(self.federal_share),
                "shares": dict(shares) if self.key == "exposure" else None, "provinces": tuple(self.provinces)}


class LayerSpec(_Strict):
    """One layer of a payer's tower (simulator.plans.layers.Layer): it pays
    ``share x min(max(loss - attachment_pkr, 0), limit_pkr)`` of each event's loss (basis
    occurrence) or of the year's loss (basis aggregate)."""

    name: str = Field(min_length=1, max_length=120, description="unique name, e.g. Sindh contingency reserve")
    kind: LayerKind = Field("fund", description="reserve, fund, contingent_credit, parametric_insurance, "
                            "cat_bond or pool (a label for reports; pool needs pool:)")
    payer: Payer = Field(description="whose loss the layer covers: federal, a province code or total")
    attachment_pkr: int = _money(0, "loss at which the layer starts paying")
    limit_pkr: int | None = _money(None, "most the layer's band holds; none: unlimited", minimum=1)
    share: float = Field(1.0, gt=0, le=1, description="part of the band the layer pays [0-1, > 0; to 1 ppm]")
    order: int = Field(1, ge=1, le=100, description="position in the payer's tower [1 lowest to 100], "
                       "unique per payer")
    basis: Literal["occurrence", "aggregate"] = Field(
        "aggregate", description="occurrence: applied to each event's loss; aggregate: to the year's loss")
    premium_multiple: float | None = Field(
        None, ge=0, le=MAX_PREMIUM_MULTIPLE, description="indicative premium = expected annual cost x this "
        f"[-, 0 to {MAX_PREMIUM_MULTIPLE:g}; 1.5-3 typical of catastrophe layers; an ASSUMPTION, not a quote]")
    pool: PoolSpec | None = Field(None, description="who funds the layer when pooled; none: the payer")
    source: str | None = Field(None, description="where the terms come from (a citation or decision)")
    note: str | None = Field(None, description="free text shown with the layer")

    def layer_terms(self, exposure_shares: dict[str, float] | None = None) -> dict[str, Any]:
        """Keyword arguments of :class:`simulator.plans.layers.Layer`, ``pool`` as those of
        :class:`~simulator.plans.layers.Pool` (or None); the objects are made by
        :func:`simulator.plans.risk_plan.to_layers` (the scenario model sits below the plans)."""
        return {"name": self.name, "payer": self.payer, "attachment_pkr": int(self.attachment_pkr),
                "limit_pkr": None if self.limit_pkr is None else int(self.limit_pkr),
                "share": float(self.share), "order": int(self.order), "basis": self.basis,
                "premium_multiple": None if self.premium_multiple is None else float(self.premium_multiple),
                "kind": self.kind, "pool": None if self.pool is None else self.pool.pool_terms(exposure_shares)}


class TriggerIndex(_Strict):
    """The hazard index a trigger reads, per event (computed by the event engine).

    ``point``: the intensity of the event's hazard at ``lon``, ``lat`` (the cell there when
    ``radius_km`` is 0, else the largest within the radius), in the hazard's units
    (:data:`INDEX_UNITS`). ``district_share``: the share [0-1] of the registry households of
    ``districts`` whose tier is ``tier`` or above. ``lead_days`` and ``forecast_error`` stand
    for a forecast: the index is multiplied by a lognormal error of that standard deviation
    (seeded by the scenario seed); 0 means the index is observed.
    """

    type: Literal["point", "district_share"] = Field(description="point (a place's intensity) or district_share "
                                                      "(share of the districts' households affected)")
    hazard: HazardKind | None = Field(None, description="the kind of event set whose events the index reads; "
                                      "none: the first event set")
    lon: float | None = Field(None, ge=-180, le=180, description="point: longitude [degrees east, EPSG:4326]")
    lat: float | None = Field(None, ge=-90, le=90, description="point: latitude [degrees north, EPSG:4326]")
    radius_km: float = Field(0.0, ge=0, le=500, description="point: 0 reads the cell at the point, else the "
                             "largest value within this radius [km, 0 to 500]")
    districts: list[str] = Field([], max_length=200, description="district_share: district_id codes of "
                                 "data/districts.csv, e.g. [sd_dadu, sd_jamshoro]")
    tier: TierName = Field("affected", description="district_share: the lowest tier that counts")
    lead_days: int = Field(0, ge=0, le=90, description="forecast lead time [days, 0 to 90]; 0: observed")
    forecast_error: float = Field(0.0, ge=0, le=3, description="standard deviation of the multiplicative "
                                  "lognormal forecast error at that lead [-, 0 to 3, in log units]; 0: none")

    @model_validator(mode="after")
    def _check(self) -> TriggerIndex:
        if self.type == "point":
            if self.lon is None or self.lat is None:
                raise ValueError("a point index needs lon and lat [degrees], e.g. lon: 68.37, lat: 25.36")
            if self.districts:
                raise ValueError("districts are for type district_share; drop them from a point index")
            from hazards.tables import PAKISTAN_BBOX

            x0, y0, x1, y1 = PAKISTAN_BBOX
            if not (x0 <= self.lon <= x1 and y0 <= self.lat <= y1):
                raise ValueError(f"point ({self.lon}, {self.lat}) lies outside Pakistan ({x0}-{x1} E, {y0}-{y1} N); "
                                 "give lon, lat in degrees (lon first)")
        else:
            if not self.districts:
                raise ValueError("a district_share index needs districts: district_id codes, e.g. [sd_dadu]")
            if self.lon is not None or self.lat is not None or self.radius_km:
                raise ValueError("lon, lat and radius_km are for type point; drop them from a district_share index")
            from hazards.tables import district_codes

            known = set(district_codes())
            unknown = [d for d in self.districts if d not in known]
            if unknown:
                import difflib

                hint = {d: difflib.get_close_matches(str(d).strip().lower(), sorted(known), n=1) for d in unknown}
                tips = ", ".join(f"{d!r} (did you mean {h[0]!r}?)" if h else repr(d) for d, h in hint.items())
                raise ValueError(f"districts {tips} are not district_id codes of data/districts.csv "
                                 "(lower case, province prefix: sd_dadu)")
            if len(set(self.districts)) != len(self.districts):
                raise ValueError("districts lists a district twice")
        if self.forecast_error > 0 and self.lead_days == 0:
            raise ValueError("forecast_error is the error of a forecast; give lead_days > 0 with it")
        return self

    def units(self, kind: str | None = None) -> str:
        """Units of the index: ``1`` (a share) or the hazard kind's units (``kind`` when
        ``hazard`` is not given)."""
        if self.type == "district_share":
            return "1"
        return INDEX_UNITS.get(self.hazard or kind or "", "")


class TriggerSpec(_Strict):
    """A parametric trigger (simulator.plans.layers.Trigger): in a year the index reaches
    ``threshold``, ``payout_pkr`` is released once; judged against need (the ``need_payer``'s
    annual loss above ``need_threshold_pkr``)."""

    name: str = Field(min_length=1, max_length=120, description="label, e.g. Kotri gauge depth")
    threshold: float = Field(ge=-1e9, le=1e9, description="threshold of the index [index units: the hazard's "
                             "for point, 0-1 for district_share]")
    payout_pkr: int = _money(..., "pre-arranged payout, released at most once a year")
    direction: Literal[">=", "<="] = Field(">=", description=">= fires at or above the threshold; <= at or below")
    need_threshold_pkr: int = _money(0, "a year has need when the need payer's loss exceeds this")
    need_payer: Payer = Field("total", description="whose annual loss is the need: total (default), federal "
                              "or a province")
    index: TriggerIndex
    source: str | None = Field(None, description="where the terms come from")
    note: str | None = Field(None, description="free text shown with the trigger")

    @model_validator(mode="after")
    def _check(self) -> TriggerSpec:
        if self.index.type == "district_share" and not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold {self.threshold:g} of a district_share index must lie in [0, 1] "
                             "(a share of households)")
        return self

    def trigger_terms(self, kind: str | None = None) -> dict[str, Any]:
        """Keyword arguments of :class:`simulator.plans.layers.Trigger` (``kind``: the hazard
        kind the index reads when the index names none, for its units)."""
        return {"name": self.name, "threshold": float(self.threshold), "payout_pkr": int(self.payout_pkr),
                "direction": self.direction, "index_units": self.index.units(kind)}


class EventGenerate(_Strict):
    """A stochastic event set to build (as ``madad hazard events`` does)."""

    kind: HazardKind
    events: int = Field(ge=1, le=MAX_EVENTS, description=f"number of events [1 to {MAX_EVENTS:,}]")
    years: float = Field(gt=0, le=MAX_EVENT_YEARS, description=f"simulated years the events stand for "
                         f"[years, > 0, at most {MAX_EVENT_YEARS:,.0f}]")
    seed: int = Field(0, ge=0, le=MAX_SEED, description=f"seed of every draw, 0 to {MAX_SEED:,}")
    params: dict[str, Any] = Field({}, description="fixed generator parameters (e.g. river, bbox, resolution); "
                                   "madad hazard generate --help")
    threshold: float | None = Field(None, ge=-1e6, le=1e6, description="store only intensities at or beyond "
                                    "this [the kind's units]; none: hazards.eventset.INTENSITY_THRESHOLDS")

    @model_validator(mode="after")
    def _check(self) -> EventGenerate:
        if self.params:
            from hazards import generators

            allowed = set(generators.parameters(self.kind)) - {"seed"}
            unknown = sorted(set(self.params) - allowed)
            if unknown:
                raise ValueError(f"unknown {self.kind} generator parameter(s) {unknown}; allowed: {sorted(allowed)}")
        return self


class EventSetSpec(_Strict):
    """An event set to run: a file (``madad hazard events``) or one to generate, exactly one."""

    file: str | None = Field(None, description=".npz event set made by madad hazard events; relative to "
                             "the scenario file")
    generate: EventGenerate | None = Field(None, description="build the set: kind, events, years, seed, params")
    hazard: str | None = Field(None, description="label of the scenario hazard whose tiers or impact function "
                               "apply; none: the scenario hazard of the same kind")

    @model_validator(mode="after")
    def _one_source(self) -> EventSetSpec:
        if (self.file is None) == (self.generate is None):
            raise ValueError("give exactly one of file or generate for an event set")
        return self


class Financing(_Strict):
    """Risk financing over stochastic event sets: what a year of disasters costs each
    government, and the layers, pools and triggers that pay for it (simulator.plans.risk_plan)."""

    layers: list[LayerSpec] = Field([], max_length=MAX_FINANCING_ITEMS,
                                    description="the towers: reserves, funds, credit, insurance, cat bonds, pools")
    triggers: list[TriggerSpec] = Field([], max_length=MAX_FINANCING_ITEMS, description="parametric triggers")
    return_periods: list[Annotated[float, Field(ge=1, le=MAX_RETURN_PERIOD)]] = Field(
        [5, 10, 25, 50, 100, 250], min_length=1, max_length=50,
        description="return periods reported [years, 1 to 1,000,000]")
    confidence: float = Field(0.90, gt=0, lt=1, description="level of every interval [0-1, exclusive]")
    events: list[EventSetSpec] = Field([], max_length=MAX_FINANCING_ITEMS,
                                       description="the event sets to run; empty: give madad risk --events")

    @model_validator(mode="after")
    def _check(self) -> Financing:
        periods = [float(t) for t in self.return_periods]
        if len(set(periods)) != len(periods):
            raise ValueError("return_periods lists a period twice")
        _check_programme(self.layers)
        names = [t.name for t in self.triggers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"triggers: name(s) {twice} used twice; give every trigger its own name")
        kinds = [e.generate.kind for e in self.events if e.generate is not None]
        if kinds and len(kinds) == len(self.events):
            for i, spec in enumerate(self.triggers):
                if spec.index.hazard is not None and spec.index.hazard not in kinds:
                    raise ValueError(f"triggers[{i}] {spec.name!r}: index.hazard {spec.index.hazard!r} is not the kind "
                                     f"of any event set ({sorted(set(kinds))})")
        return self

    def layer_terms(self, exposure_shares: dict[str, float] | None = None) -> list[dict[str, Any]]:
        """Each layer's :meth:`LayerSpec.layer_terms`, in the order given.

        Raises
        ------
        ScenarioError
            An exposure pool without shares and no ``exposure_shares``; the message names the
            layer (``financing.layers[i] 'name'``).
        """
        out = []
        for i, spec in enumerate(self.layers):
            try:
                out.append(spec.layer_terms(exposure_shares))
            except ScenarioError as exc:
                raise ScenarioError(f"financing.layers[{i}] {spec.name!r}: pool: {exc}") from None
        return out

    def trigger_terms(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Each trigger's :meth:`TriggerSpec.trigger_terms`, in the order given."""
        return [spec.trigger_terms(kind) for spec in self.triggers]


#: Parts per million of a layer's share, as simulator.plans.layers uses it.
_SHARE_PPM = 1_000_000


def _check_programme(layers: list[LayerSpec]) -> None:
    """The programme checks of :func:`simulator.plans.layers.check_layers` that span layers,
    repeated at parse time so that the file's line is named (the scenario model sits below the
    plans and cannot call it; :func:`simulator.plans.risk_plan.to_layers` runs it again): names
    used once, one order per payer, and the shares of a payer's layers of one basis adding up to
    at most 1 over every band of loss. Field bounds are pydantic's."""
    names = [la.name for la in layers]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"layers: name(s) {twice} used twice; give every layer its own name")
    for i, la in enumerate(layers):
        if la.kind == "pool" and la.pool is None:
            raise ValueError(f"layers[{i}] {la.name!r}: kind pool needs pool: {{key: ..., federal_share: ...}}")
    for payer in dict.fromkeys(la.payer for la in layers):
        mine = [la for la in layers if la.payer == payer]
        orders = [la.order for la in mine]
        again = sorted({o for o in orders if orders.count(o) > 1})
        if again:
            raise ValueError(f"layers: payer {payer!r}: order {again} is given to more than one layer; "
                             "give each layer of a payer its own order")
        for basis in ("occurrence", "aggregate"):
            same = [la for la in mine if la.basis == basis]
            ends = [float("inf") if la.limit_pkr is None else la.attachment_pkr + la.limit_pkr for la in same]
            for point in sorted({la.attachment_pkr for la in same}):
                covering = [la for la, end in zip(same, ends, strict=True) if la.attachment_pkr <= point < end]
                total = sum(round(la.share * _SHARE_PPM) for la in covering)
                if total > _SHARE_PPM:
                    raise ValueError(
                        f"layers: payer {payer!r}, {basis} layers {[la.name for la in covering]} overlap at a loss "
                        f"of PKR {point:,} with shares adding up to {total / _SHARE_PPM:g} > 1; they would pay more "
                        "than the loss. Move an attachment or lower a share")


class Scenario(_Strict):
    """A scenario: hazards, registry, policy, dedup, cost-sharing and budgets, with assumptions."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    title_ur: str | None = Field(None, description="the title in Urdu, shown in the app's Urdu view (default: title)")
    modelled_on: str | None = Field(None, description="the event this is modelled on (not a reproduction of)")
    modelled_on_ur: str | None = Field(None, description="modelled_on in Urdu (default: modelled_on)")
    description: str = ""
    description_ur: str | None = Field(None, description="the description in Urdu (default: description)")
    assumptions: list[str] = []
    seed: int = Field(0, ge=0, le=MAX_SEED, description=f"random seed of the modelled hazards and draws, 0 to {MAX_SEED:,}")
    registry: RegistrySpec = RegistrySpec()
    hazards: list[HazardSpec] = Field(min_length=1)
    combine: Literal["max_tier", "max_intensity"] = Field(
        "max_tier", description="several hazards: highest tier of any, or tiers of the highest intensity"
    )
    policy: Policy
    dedup: Dedup = Dedup()
    cost_sharing: CostSharing = CostSharing()
    budget: Budget = Budget()
    nser_update: NserUpdate | None = None
    boundaries: BoundarySpec | None = None
    ensemble: Ensemble | None = Field(
        None, description="run the modelled hazards over several seeds and report P10/P50/P90 "
        "ranges; the plan's tables are the scenario's own seed (the member paid from)")
    delivery: Delivery | None = Field(
        None, description="plan where the paid households are paid: sites, closures, travel, "
        "schedule, campsites, One Window Centres (simulator.plans.delivery)")
    financing: Financing | None = Field(
        None, description="risk financing over stochastic event sets: annual losses per government, "
        "layers, pools and parametric triggers (madad risk; simulator.plans.risk_plan)")

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        labels = [h.label for h in self.hazards]
        if len(set(labels)) != len(labels):
            raise ValueError("hazards need distinct names (add name: to each)")
        if self.ensemble is not None and not any(h.generator is not None for h in self.hazards):
            raise ValueError("ensemble needs a modelled hazard (generator:); a file or a declared "
                             "table gives the same footprint for every seed")
        if self.financing is not None:
            by_label = {h.label: h for h in self.hazards}
            for i, spec in enumerate(self.financing.events):
                if spec.hazard is not None and spec.hazard not in by_label:
                    raise ValueError(f"financing.events[{i}].hazard {spec.hazard!r} is not a hazard of the "
                                     f"scenario; choose one of {sorted(by_label)}")
                if spec.generate is None:
                    continue
                kind = spec.generate.kind
                if spec.hazard is not None and by_label[spec.hazard].kind != kind:
                    raise ValueError(f"financing.events[{i}]: hazard {spec.hazard!r} is a {by_label[spec.hazard].kind}, "
                                     f"the event set a {kind}; name a {kind} hazard")
                if spec.hazard is None and not any(h.kind == kind for h in self.hazards):
                    raise ValueError(f"financing.events[{i}]: no scenario hazard is a {kind} to give the events "
                                     "their tiers; add one or name it in hazard:")
        return self


def _bound_hint(loc: tuple[Any, ...]) -> str:
    """The fix for an amount or seed out of bounds: the range allowed and the named bound."""
    if loc and loc[-1] == "seed":
        return f"use a seed from 0 to {MAX_SEED:,} (MAX_SEED in simulator/scenario.py)."
    if loc and loc[0] in ("budget", "financing"):
        name, bound = "MAX_BUDGET_PKR", MAX_BUDGET_PKR
    elif "per_person_pkr" in loc:
        name, bound = "MAX_PER_PERSON_PKR", MAX_PER_PERSON_PKR
    else:
        name, bound = "MAX_TRANSFER_PKR", MAX_TRANSFER_PKR
    return (f"give a whole number of PKR from 0 to {bound:,} ({name} in simulator/scenario.py: "
            "the bound that keeps every int64 PKR total from overflowing).")


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of its deepest existing parent)."""
    node, line = root, None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == key]
            if not match:
                break
            keyed = [k for k, v in node.value if k.value == key][0]
            line = keyed.start_mark.line + 1
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def parse(text: str, *, source: str = "<scenario>") -> Scenario:
    """Parse scenario YAML; every problem is reported with file, line and field."""
    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ScenarioError(f"{source}{where}: not valid YAML ({exc}).") from exc
    if not isinstance(raw, dict):
        raise ScenarioError(f"{source}: a scenario is a YAML mapping (name:, title:, hazard: ...).")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            field = ".".join(str(p) for p in loc) or "(top level)"
            line = _line_of(root, loc)
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                parent = Scenario
                for part in loc[:-1]:
                    if isinstance(part, int):
                        continue
                    info = getattr(parent, "model_fields", {}).get(part)
                    ann = getattr(info, "annotation", None)
                    parent = next(
                        (a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)),
                        None,
                    )
                    if parent is None:
                        break
                allowed = sorted(parent.model_fields) if parent else []
                msg = f"unknown field; allowed here: {', '.join(allowed)}"
            elif err["type"] in ("less_than_equal", "greater_than_equal", "int_parsing_size") and any(
                isinstance(p, str) and (p.endswith("_pkr") or p == "seed") for p in loc
            ):
                msg = f"{msg} (got {err.get('input')!r}); {_bound_hint(loc)}"
            lines.append(f"{source}:{line or '?'}: {field}: {msg}")
        raise ScenarioError("\n".join(lines)) from None


def load(path: str | Path) -> Scenario:
    """Read a scenario YAML file."""
    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"{path}: no such scenario file. See scenarios/ for examples.")
    if path.is_dir():
        raise ScenarioError(f"{path}: a directory, not a scenario file. Give a .yaml file.")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(
            f"{path}: line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8 (the file is in "
            "another encoding, e.g. Latin-1 or Windows-1252). Save it as UTF-8, e.g. "
            f"`iconv -f cp1252 -t utf-8 {path.name} > fixed.yaml`."
        ) from None
    return parse(text.removeprefix("\ufeff"), source=str(path))


def headline_policy(scn: Scenario) -> dict[str, float]:
    """The four numbers a what-if changes: the first programme's transfer (lowest listed tier) and
    PMT cut-off, the first hazard's ``affected`` threshold and the federal share."""
    prog = scn.policy.programmes[0]
    first_tier = next(t for t in TIER_NAMES[1:] if t in prog.transfer.by_tier_pkr)
    hazard = scn.hazards[0]
    has_threshold = hazard.tiers is not None or hazard.threshold is not None
    return {
        "transfer_pkr": prog.transfer.by_tier_pkr[first_tier],
        "pmt_max": prog.pmt_max if prog.pmt_max is not None else 100.0,
        "threshold": hazard.tier_thresholds()[0] if has_threshold else None,
        "federal_share": scn.cost_sharing.federal_share,
    }


def with_what_if(
    scn: Scenario,
    *,
    transfer_pkr: int | None = None,
    pmt_max: float | None = None,
    threshold: float | None = None,
    federal_share: float | None = None,
    note: str | None = None,
) -> Scenario:
    """The scenario with its headline policy changed (see :func:`headline_policy`).

    The transfer change scales every tier of the first programme by the same amount (so tiers
    keep their order); ``pmt_max`` applies to the first programme; ``threshold`` moves the first
    hazard's ``affected`` threshold. The result is validated again, so an impossible change
    (e.g. an affected threshold above the severely-affected one) raises :class:`ScenarioError`.
    ``note`` joins the assumptions.
    """
    raw = scn.model_dump(mode="python", exclude_unset=False)
    prog = raw["policy"]["programmes"][0]
    if transfer_pkr is not None:
        delta = int(transfer_pkr) - int(headline_policy(scn)["transfer_pkr"])
        prog["transfer"]["by_tier_pkr"] = {
            k: max(int(v) + delta, 0) for k, v in prog["transfer"]["by_tier_pkr"].items()
        }
    if pmt_max is not None:
        # The poverty line that counts "affected poor not paid" is the headline cut-off when the
        # file sets them equal (BISP's PMT <= 32); it then moves with the cut-off.
        if raw["policy"]["poverty_line_pmt"] == headline_policy(scn)["pmt_max"]:
            raw["policy"]["poverty_line_pmt"] = float(pmt_max)
        prog["pmt_max"] = float(pmt_max)
    if threshold is not None:
        hazard = raw["hazards"][0]
        if hazard["tiers"] is None and hazard["threshold"] is None:
            raise ScenarioError(
                f"{scn.name}: hazard {scn.hazards[0].label} takes its tiers from an impact function "
                "or a declared table; a threshold cannot be changed."
            )
        if hazard["tiers"] is not None:
            hazard["tiers"]["affected"] = float(threshold)
        else:
            hazard["threshold"] = float(threshold)
    if federal_share is not None:
        raw["cost_sharing"]["federal_share"] = float(federal_share)
    if note:
        raw["assumptions"] = [*raw["assumptions"], note]
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ScenarioError(f"{scn.name}: the what-if change is not possible ({problems}).") from None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (for editors: ``scenarios/schema.json``)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Madad scenario"
    return schema


def write_schema(path: str | Path) -> Path:
    """Write :func:`json_schema` to ``path`` (stable key order, trailing newline)."""
    import json

    path = Path(path)
    path.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover - `python -m simulator.scenario` refreshes the schema
    out = write_schema(Path(__file__).resolve().parent.parent / "scenarios" / "schema.json")
    print(f"wrote {out}")
