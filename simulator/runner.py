"""The thin orchestrator: scenario -> hazard -> registry -> overlay -> targeting -> payouts -> plan.

Each stage is a pure function elsewhere in the package; this module strings them together,
times them, and (in :func:`write_run`) writes a run folder with its manifest.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hazards import generators
from hazards.io import read_geotiff, write_geotiff
from simulator import __version__, financing, overlay, payouts, plan, registry, targeting
from simulator.scenario import Scenario, file_sha256

log = logging.getLogger(__name__)

RESULT_COLUMNS = [
    "household_id", "province_code", "district_id", "hh_size", "pmt_score", "intensity",
    "affected", "eligible", "amount_pkr", "federal_pkr", "provincial_pkr", "status",
]


@dataclass
class RunResult:
    """Everything a run produced, in memory."""

    scenario: Scenario
    plan: dict
    households: pd.DataFrame
    hazard: xr.DataArray
    quarantine: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    inputs: dict[str, dict] = field(default_factory=dict)


def _resolve(path: str, base: Path | None) -> Path:
    p = Path(path)
    return p if p.is_absolute() or base is None else (base / p)


def build_hazard(scn: Scenario, *, base: Path | None = None) -> tuple[xr.DataArray, dict]:
    """The scenario's hazard layer and a description of where it came from."""
    spec = scn.hazard
    if spec.file is not None:
        path = _resolve(spec.file, base)
        layer = read_geotiff(path, units=spec.units, kind=spec.kind)
        return layer, {"file": str(path), "sha256": file_sha256(path)}
    params = spec.generator.model_dump()
    layer = generators.riverine_flood(**params, seed=scn.seed)
    return layer, {"generator": "riverine_flood", "params": params, "seed": scn.seed}


def load_registry(
    scn: Scenario, *, base: Path | None = None, households: int | None = None,
    registry_path: str | Path | None = None,
) -> tuple[registry.Registry, dict]:
    """Validated households: the given file, the scenario's file, or the synthetic generator."""
    path = registry_path or (scn.registry.path and _resolve(scn.registry.path, base))
    if path:
        reg = registry.load(path)
        return reg, {"file": str(path), "sha256": file_sha256(path)}
    n = scn.registry.synthetic_households if households is None else households
    frame = registry.generate(n, seed=scn.seed)
    reg = registry.validate(frame, source=f"synthetic registry ({n:,} households, seed {scn.seed})")
    return reg, {"synthetic_households": n, "seed": scn.seed}


def compute(
    scn: Scenario, households: pd.DataFrame, hazard: xr.DataArray
) -> pd.DataFrame:
    """Per-household results: intensity, affected, eligible, amounts, payer split and status."""
    intensity, where = overlay.sample(hazard, households["lon"].to_numpy(), households["lat"].to_numpy())
    hit = targeting.affected(intensity, where, threshold=scn.hazard.threshold)
    elig = targeting.eligible(households["pmt_score"].to_numpy(), pmt_max=scn.policy.eligibility.pmt_max)
    paid = hit & elig
    amount = payouts.flat_transfer(paid, transfer_pkr=scn.policy.transfer_pkr)
    federal, provincial = financing.split_fixed(amount, federal_share=scn.cost_sharing.federal_share)

    status = np.full(len(households), targeting.NOT_AFFECTED, dtype=np.int8)
    status[where == overlay.OUTSIDE] = targeting.OUTSIDE_AREA
    status[where == overlay.NODATA] = targeting.NO_HAZARD_DATA
    status[hit & ~elig] = targeting.NOT_ELIGIBLE
    status[paid] = targeting.PAID
    return pd.DataFrame(
        {
            "household_id": households["household_id"].array,
            "province_code": households["province_code"].array,
            "district_id": households["district_id"].array,
            "hh_size": households["hh_size"].to_numpy(),
            "pmt_score": households["pmt_score"].to_numpy(),
            "intensity": intensity,
            "affected": hit,
            "eligible": elig,
            "amount_pkr": amount,
            "federal_pkr": federal,
            "provincial_pkr": provincial,
            "status": pd.Categorical.from_codes(status, categories=list(targeting.STATUS)),
        }
    )[RESULT_COLUMNS]


def assumptions(scn: Scenario, hazard: xr.DataArray) -> list[str]:
    """Plain-language assumptions of a run, for the plan and the Committee."""
    units = hazard.attrs.get("units", "")
    out = [
        f"Affected: {scn.hazard.kind} intensity at or above {scn.hazard.threshold} {units} at the household's location.",
        f"Eligible: PMT score at or below {scn.policy.eligibility.pmt_max}.",
        f"Transfer: PKR {scn.policy.transfer_pkr:,} one-off per eligible affected family.",
        f"Cost-sharing: fixed, federal {scn.cost_sharing.federal_share:.2%} of each household's amount "
        "rounded down to the rupee, the province pays the rest.",
    ]
    if not scn.registry.path:
        out.append(
            "Registry: synthetic households placed by 2023 census district shares; not real people."
        )
    if scn.hazard.generator is not None:
        out.append("Hazard: modelled footprint (distance-decay floodplain), not an observed flood map.")
    return out + list(scn.assumptions)


def run(
    scn: Scenario,
    *,
    base: Path | None = None,
    households: int | None = None,
    registry_path: str | Path | None = None,
) -> RunResult:
    """Run a scenario in memory."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    layer, hazard_input = build_hazard(scn, base=base)
    timings["hazard_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    reg, registry_input = load_registry(scn, base=base, households=households, registry_path=registry_path)
    timings["registry_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = compute(scn, reg.households, layer)
    timings["engine_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    the_plan = plan.build(
        result,
        scenario={"name": scn.name, "title": scn.title, "modelled_on": scn.modelled_on},
        registry_report=reg.report.to_dict(),
        assumptions=assumptions(scn, layer),
    )
    timings["plan_s"] = time.perf_counter() - t0
    return RunResult(
        scenario=scn,
        plan=the_plan,
        households=result,
        hazard=layer,
        quarantine=reg.quarantine,
        timings=timings,
        inputs={"hazard": hazard_input, "registry": registry_input},
    )


def versions() -> dict[str, str]:
    import geopandas
    import pyarrow
    import pydantic
    import rasterio
    import scipy

    return {
        "madad": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "xarray": xr.__version__,
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
        "geopandas": geopandas.__version__,
        "pyarrow": pyarrow.__version__,
        "pydantic": pydantic.__version__,
    }


def write_run(res: RunResult, out: str | Path, *, scenario_path: str | Path | None = None) -> dict[str, Path]:
    """Write a run folder: plan.json, plan.xlsx, households.parquet, hazard.tif, manifest.json
    (and quarantine.csv when rows were quarantined). Returns the paths written."""
    from simulator import export

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    paths = {
        "plan.json": export.write_json(res.plan, out / "plan.json"),
        "plan.xlsx": export.write_xlsx(res.plan, out / "plan.xlsx"),
        "households.parquet": export.write_households(res.households, out / "households.parquet"),
        "hazard.tif": write_geotiff(res.hazard, out / "hazard.tif"),
    }
    if len(res.quarantine):
        res.quarantine.to_csv(out / "quarantine.csv", index=False)
        paths["quarantine.csv"] = out / "quarantine.csv"
    timings = dict(res.timings, write_s=time.perf_counter() - t0)
    manifest = {
        "madad_version": __version__,
        "scenario": res.scenario.model_dump(mode="json"),
        "scenario_file": None
        if scenario_path is None
        else {"path": str(scenario_path), "sha256": file_sha256(scenario_path)},
        "seed": res.scenario.seed,
        "inputs": res.inputs,
        "outputs": {name: file_sha256(p) for name, p in sorted(paths.items())},
        "versions": versions(),
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    paths["manifest.json"] = out / "manifest.json"
    return paths
