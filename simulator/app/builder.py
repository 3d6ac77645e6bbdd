"""The Scenario page's builder: a few generator parameters per hazard kind, how severity is
judged, default programmes, instalments, the sidebar what-if and validation as the CLI does
it. Nothing here imports Streamlit."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simulator.app.text import fmt_value

# ---------------------------------------------------------------------------------------------
# The scenario builder: a few parameters per hazard kind, and how severity is judged
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One generator parameter the builder shows: its widget and range."""

    name: str
    label: str  # label key
    kind: str  # "number", "int", "select", "multiselect"
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    options: tuple = ()


@dataclass(frozen=True)
class KindSpec:
    """What the builder offers for one hazard kind."""

    kind: str
    params: tuple[Param, ...]
    tiers: tuple[float, float | None, float | None] | None  # default tiers, None: impact only
    impact: str | None  # default impact function
    generator_fixed: dict = field(default_factory=dict)


BUILDER: dict[str, KindSpec] = {
    "riverine-flood": KindSpec("riverine-flood", (
        Param("river", "p_river", "multiselect", ("indus",),
              options=("indus", "chenab", "jhelum", "kabul", "ravi", "sutlej", "swat")),
        Param("return_period", "p_return_period", "select", 50.0, options=(10.0, 25.0, 50.0, 100.0, 200.0, 500.0)),
    ), (0.5, 1.5, 2.5), "flood_depth_damage"),
    "flash-flood": KindSpec("flash-flood", (
        Param("return_period", "p_return_period", "select", 100.0, options=(10.0, 25.0, 50.0, 100.0, 200.0, 500.0)),
        Param("n_cells", "p_n_cells", "int", 4, 1, 20, 1),
    ), (64.5, 115.6, 204.5), "flash_flood_rainfall"),
    "heatwave": KindSpec("heatwave", (
        Param("days", "p_days", "int", 6, 1, 20, 1),
        Param("anomaly_degc", "p_anomaly", "number", 5.0, 0.0, 12.0, 0.5),
    ), (45.0, 47.0, None), "heat_tmax"),
    "drought": KindSpec("drought", (
        Param("deficit", "p_deficit", "number", 0.5, 0.0, 0.95, 0.05),
    ), None, "drought_spi"),
    "earthquake": KindSpec("earthquake", (
        Param("magnitude", "p_magnitude", "number", 7.6, 5.0, 8.5, 0.1),
        Param("lon", "p_lon", "number", 73.59, 61.0, 77.5, 0.01),
        Param("lat", "p_lat", "number", 34.49, 24.0, 37.0, 0.01),
        Param("depth_km", "p_depth", "number", 26.0, 1.0, 100.0, 1.0),
    ), (6.0, 7.0, 8.0), "earthquake_mmi", {"measure": "mmi"}),
    "cyclone": KindSpec("cyclone", (
        Param("landfall_lon", "p_landfall_lon", "number", 67.4, 61.5, 69.0, 0.05),
        Param("landfall_lat", "p_landfall_lat", "number", 23.9, 23.0, 25.5, 0.05),
        Param("delta_p_hpa", "p_delta_p", "number", 40.0, 10.0, 90.0, 1.0),
    ), (17.5, 24.7, 32.9), "cyclone_wind"),
}
#: Generator bounding boxes wide enough for a built event anywhere in its region [degrees].
EARTHQUAKE_HALF_BOX = 2.0


def generator_params(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The generator's keyword parameters from the builder's values (lists, not tuples)."""
    spec = BUILDER[kind]
    out: dict[str, Any] = dict(spec.generator_fixed)
    for p in spec.params:
        v = values.get(p.name, p.default)
        if p.kind == "multiselect":
            v = list(v) if v else list(p.default)
        elif p.kind == "int":
            v = int(v)
        elif p.kind in ("number", "select"):
            v = float(v)
        out[p.name] = v
    if kind == "cyclone":
        out["landfall"] = [out.pop("landfall_lon"), out.pop("landfall_lat")]
    if kind == "earthquake":
        lon, lat = out["lon"], out["lat"]
        h = EARTHQUAKE_HALF_BOX
        out["bbox"] = [round(lon - h, 2), round(lat - h, 2), round(lon + h, 2), round(lat + h, 2)]
    if kind == "riverine-flood" and set(out["river"]) - {"indus"}:
        out["bbox"] = [66.5, 23.6, 75.5, 35.5]
    return out


def severity_raw(how: str, tiers: Sequence[float | None] | None, impact_name: str | None) -> dict[str, Any]:
    """The hazard's ``tiers`` or ``impact`` entry of a scenario dict."""
    if how == "impact":
        return {"impact": impact_name}
    t = [v for v in (tiers or []) if v is not None]
    out: dict[str, Any] = {"affected": float(t[0])}
    if len(t) > 1:
        out["severely_affected"] = float(t[1])
    if len(t) > 2:
        out["displaced"] = float(t[2])
    return {"tiers": out}


def default_programme() -> dict[str, Any]:
    """The programme a newly built scenario starts with (BISP's 2022 relief amount)."""
    return {
        "name": "BISP emergency cash",
        "owner": "federal",
        "expansion": "all_affected",
        "pmt_max": 32.0,
        "transfer": {"by_tier_pkr": {"affected": 25000}},
    }


def scenario_raw(scn) -> dict[str, Any]:
    """A scenario model as a plain dict that :func:`validate_raw` accepts again."""
    return json.loads(scn.model_dump_json())


def validate_raw(raw: Mapping[str, Any], *, source: str = "<scenario built in the app>"):
    """Validate a scenario dict exactly as the CLI validates a YAML file.

    The dict is written as YAML and parsed by :func:`simulator.scenario.parse`, so a mistake
    gives the same :class:`ScenarioError` message as ``madad validate`` would.
    """
    import yaml

    from simulator import scenario

    return scenario.parse(yaml.safe_dump(json.loads(json.dumps(raw)), sort_keys=False), source=source)


def equal_instalments(n: int, every_days: int) -> list[dict[str, Any]]:
    """``n`` instalments of equal shares (4 decimals, the last takes the remainder) ``every_days``
    apart, starting on day 0."""
    n = max(1, int(n))
    base = math.floor(10_000 / n) / 10_000
    shares = [base] * (n - 1) + [round(1 - base * (n - 1), 4)]
    return [{"share": s, "day": int(every_days) * i} for i, s in enumerate(shares)]


def what_if_changes(before: Mapping[str, Any], after: Mapping[str, Any], units: str) -> list[tuple[str, str, str]]:
    """(label key, new, old) for each quick what-if value that moved from the scenario's.

    Both mappings hold ``transfer_pkr`` [PKR], ``pmt_max``, ``threshold`` (None when the hazard
    has no threshold) and ``federal_share_pct`` [%] (None when the rule has no federal share).
    """
    out = []
    rows = (("transfer_pkr", "q_transfer", lambda v: f"PKR {int(v):,}"),
            ("pmt_max", "q_pmt", lambda v: f"{float(v):g}"),
            ("threshold", "q_threshold", lambda v: fmt_value(round(float(v), 6), units)),
            ("federal_share_pct", "q_federal", lambda v: f"{int(v)}%"))
    for key, label, fmt in rows:
        old, new = before.get(key), after.get(key)
        if old is None or new is None:
            continue
        if (round(float(old), 6) if key == "threshold" else old) != new:
            out.append((label, fmt(new), fmt(old)))
    return out


#: Quick what-if threshold slider: (min, max, step) by units.
THRESHOLD_RANGES = {"m": (0.0, 5.0, 0.1), "mm": (0.0, 400.0, 5.0), "degC": (30.0, 55.0, 0.5),
                    "g": (0.0, 1.0, 0.01), "m/s": (0.0, 70.0, 0.5), "index": (1.0, 12.0, 0.5)}


def threshold_range(units: str, value: float, next_tier: float | None) -> tuple[float, float, float]:
    """(min, max, step) of the quick threshold slider: below the next tier, holding ``value``."""
    lo, hi, step = THRESHOLD_RANGES.get(units, (0.0, max(1.0, 4 * abs(value)), 0.1))
    if next_tier is not None and math.isfinite(next_tier):
        hi = min(hi, next_tier - step)
    lo, hi = min(lo, value), max(hi, value)
    return float(lo), float(hi), float(step)

