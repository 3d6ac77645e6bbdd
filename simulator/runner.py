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
from hazards.io import write_geotiff
from simulator import __version__, engine, plan, registry, targeting
from simulator.scenario import Scenario, file_sha256

log = logging.getLogger(__name__)

RESULT_COLUMNS = [
    "household_id", "province_code", "district_id", "tehsil_id", "hh_size", "pmt_score",
    "weight", "intensity", "tier", "eligible", "amount_pkr", "federal_pkr", "provincial_pkr", "payer", "status",
]


@dataclass
class RunResult:
    """Everything a run produced, in memory."""

    scenario: Scenario
    plan: dict
    households: pd.DataFrame
    hazards: list[xr.DataArray]
    quarantine: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    inputs: dict[str, dict] = field(default_factory=dict)

    @property
    def hazard(self) -> xr.DataArray | None:
        """The first raster hazard layer (None when every hazard is a declared-districts table)."""
        found = rasters(self.hazards)
        return found[0] if found else None


def _resolve(path: str, base: Path | None) -> Path:
    p = Path(path)
    return p if p.is_absolute() or base is None else (base / p)


def build_hazards(
    scn: Scenario, *, base: Path | None = None, aoi: tuple[float, float, float, float] | None = None
) -> tuple[list, list[dict]]:
    """The scenario's hazard sources (raster layers, or declared-district tables) and, for
    each, where it came from. ``aoi`` (lon/lat box of the registry) limits raster reads."""
    from hazards.admin import read_admin_table
    from hazards.io import read_raster

    layers, inputs = [], []
    for spec in scn.hazards:
        if spec.file is not None:
            path = _resolve(spec.file, base)
            layers.append(
                read_raster(path, aoi=aoi, units=spec.units, kind=spec.kind, variable=spec.variable, time=spec.time)
            )
            inputs.append({"hazard": spec.label, "file": str(path), "sha256": file_sha256(path)})
        elif spec.admin_table is not None:
            path = _resolve(spec.admin_table, base)
            layers.append(read_admin_table(path))
            inputs.append({"hazard": spec.label, "admin_table": str(path), "sha256": file_sha256(path)})
        else:
            params = dict(spec.generator)
            layers.append(generators.generate(spec.kind, seed=scn.seed, **params))
            inputs.append({"hazard": spec.label, "generator": spec.kind, "params": params, "seed": scn.seed})
    return layers, inputs


def rasters(layers: list) -> list[xr.DataArray]:
    """The raster layers among a run's hazard sources."""
    return [layer for layer in layers if isinstance(layer, xr.DataArray)]


def build_hazard(scn: Scenario, *, base: Path | None = None) -> tuple[xr.DataArray, dict]:
    """The scenario's first hazard layer (see :func:`build_hazards`)."""
    layers, inputs = build_hazards(scn, base=base)
    return layers[0], inputs[0]


def load_registry(
    scn: Scenario, *, base: Path | None = None, households: int | None = None,
    registry_path: str | Path | None = None,
) -> tuple[registry.Registry, dict]:
    """Validated households: the given file, the scenario's file, or the synthetic generator;
    with the scenario's provincial registries merged in, duplicates marked."""
    path = registry_path or (scn.registry.path and _resolve(scn.registry.path, base))
    if path:
        reg = registry.load(path)
        info: dict = {"file": str(path), "sha256": file_sha256(path)}
    else:
        n = scn.registry.synthetic_households if households is None else households
        frame = registry.generate(n, seed=scn.seed)
        reg = registry.validate(frame, source=f"synthetic registry ({n:,} households, seed {scn.seed})")
        info = {"synthetic_households": n, "seed": scn.seed}
    if scn.registry.provincial:
        extra, info["provincial"] = [], []
        for spec in scn.registry.provincial:
            p = _resolve(spec.path, base)
            links = registry.read_links(_resolve(spec.links, base)) if spec.links else None
            extra.append((spec.province, registry.load(p), links))
            entry = {"province": spec.province, "file": str(p), "sha256": file_sha256(p)}
            if spec.links:
                entry["links"] = {"file": str(_resolve(spec.links, base)), "sha256": file_sha256(_resolve(spec.links, base))}
            info["provincial"].append(entry)
        reg = registry.merge(reg, extra)
    return reg, info


def result_table(households: pd.DataFrame, res: engine.EngineResult) -> pd.DataFrame:
    """The per-household result: pseudonymous id, intensity, tier, eligibility, money, payer, status."""
    intensity = {
        ("intensity" if len(res.intensity) == 1 else f"intensity_{label}"): values
        for label, values in res.intensity.items()
    }
    frame = pd.DataFrame(
        {
            "household_id": households["household_id"].array,
            "province_code": households["province_code"].array,
            "district_id": households["district_id"].array,
            "tehsil_id": households["tehsil_id"].array,
            "hh_size": households["hh_size"].to_numpy(),
            "pmt_score": households["pmt_score"].to_numpy(),
            "weight": res.weight.astype(np.int32),
            **intensity,
            "tier": pd.Categorical.from_codes(res.tier, categories=list(targeting.TIER_NAMES)),
            "eligible": res.eligible,
            "amount_pkr": res.amount_pkr,
            "federal_pkr": res.federal_pkr,
            "provincial_pkr": res.provincial_pkr,
            "payer": pd.Categorical.from_codes(res.payer, categories=list(engine.PAYER)),
            "status": pd.Categorical.from_codes(res.status, categories=list(targeting.STATUS)),
        }
    )
    if "source" in households:
        frame.insert(1, "source", households["source"].array)
    return frame


def compute(scn: Scenario, households: pd.DataFrame, layers: list | xr.DataArray):
    """Engine results and the engine's columns for validated ``households``."""
    layers = [layers] if isinstance(layers, xr.DataArray | pd.DataFrame) else layers
    cols = engine.household_columns(households)
    res = engine.evaluate(scn, cols, layers)
    return res, cols


def _money(v: int) -> str:
    return f"PKR {v:,}"


def assumptions(scn: Scenario, layers: list, *, households: pd.DataFrame | None = None) -> list[str]:
    """Plain-language assumptions of a run, for the plan and the Committee."""
    out = []
    for spec, layer in zip(scn.hazards, layers, strict=True):
        if spec.admin_table is not None:
            out.append(
                f"Hazard {spec.label}: declared districts ({spec.admin_table}); a declared severity "
                "applies to every household of the district, a declared share affected to that "
                "share of its households, drawn at random with the scenario's seed."
            )
            continue
        units = layer.attrs.get("units", "")
        if spec.impact is not None:
            out.append(
                f"Hazard {spec.label}: tiers from the impact function {spec.impact} "
                "(by housing type; unknown housing counts as kacha), see data/impact/."
            )
        else:
            names = ["affected", "severely affected", "displaced"]
            steps = [f"{n} from {t:g} {units}" for n, t in zip(names, spec.tier_thresholds(), strict=True) if t != float("inf")]
            out.append(f"Hazard {spec.label}: {', '.join(steps)} at the household's location.")
        if spec.generator is not None:
            out.append(f"Hazard {spec.label}: a modelled footprint, not an observed map.")
    if len(scn.hazards) > 1:
        out.append(f"Several hazards combine by {scn.combine}.")
    for p in scn.policy.programmes:
        t = p.transfer
        amounts = ", ".join(f"{k.replace('_', ' ')} {_money(v)}" for k, v in t.by_tier_pkr.items())
        who = {
            "vertical": f"top-up to {', '.join(p.beneficiaries_of)} beneficiaries",
            "horizontal": f"households not in {', '.join(p.beneficiaries_of) or 'any programme'} with PMT <= {p.pmt_max}",
            "all_affected": "every affected household" + (f" with PMT <= {p.pmt_max}" if p.pmt_max is not None else ""),
        }[p.expansion]
        extra = []
        if p.pmt_max_by_province:
            extra.append("PMT cut-offs by province " + ", ".join(f"{k} {v}" for k, v in p.pmt_max_by_province.items()))
        if p.category_pmt_max:
            extra.append("category cut-offs " + ", ".join(f"{k} {v}" for k, v in p.category_pmt_max.items()))
        if p.categories:
            extra.append("only " + ", ".join(p.categories))
        if p.provinces:
            extra.append("in " + ", ".join(p.provinces))
        if t.per_person_pkr:
            extra.append(f"plus {_money(t.per_person_pkr)} per person")
        if t.floor_pkr or t.cap_pkr:
            extra.append(f"floor {_money(t.floor_pkr)}, cap {_money(t.cap_pkr) if t.cap_pkr else 'none'}")
        out.append(
            f"Programme {p.name} ({p.owner}, {p.expansion}): {who}; {amounts}"
            + (f"; {'; '.join(extra)}" if extra else "") + "."
        )
    inst = scn.policy.instalments
    if len(inst) > 1:
        out.append("Instalments: " + ", ".join(f"{i.share:.0%} on day {i.day}" for i in inst)
                   + " (each but the last rounded down to the rupee).")
    d = scn.dedup
    out.append(
        "Dedup: a household is paid once; "
        + (f"the {d.base} programme pays the base and the other tops up to its own amount."
           if d.rule == "top_up" else f"only the first of {' then '.join(d.order)} entitled pays.")
    )
    cs = scn.cost_sharing
    rule = {
        "fixed": f"federal {cs.federal_share:.2%} of every amount, the household's province the rest",
        "ownership": "each programme's owner funds what it pays",
        "key": f"federal {cs.federal_share:.2%}; provinces pool the rest by the {cs.key} key",
    }[cs.rule]
    out.append(f"Cost-sharing ({cs.rule}): {rule}; federal share rounded down to the rupee; "
               "ICT's provincial part is federal.")
    b = scn.budget
    if b.federal_pkr is not None or b.provincial_pkr:
        ceilings = ([f"federal {_money(b.federal_pkr)}"] if b.federal_pkr is not None else []) + [
            f"{k} {_money(v)}" for k, v in b.provincial_pkr.items()
        ]
        out.append(f"Budget ceilings: {', '.join(ceilings)}; funded in order of {' then '.join(b.priority)} "
                   "(most severe, then poorest first); once a budget runs out, later households are left out.")
    if households is not None and "weight" in households and len(households):
        rows, represented = len(households), int(households["weight"].sum())
        if represented != rows:
            out.append(
                f"Registry rows carry weights: {rows:,} rows stand for {represented:,} households "
                f"(about {represented / rows:,.0f} each), so counts and amounts are estimates at that "
                "scale; each row is paid for all the households it stands for."
            )
    if not scn.registry.path:
        out.append("Registry: synthetic households placed by 2023 census district shares; not real people.")
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
    reg, registry_input = load_registry(scn, base=base, households=households, registry_path=registry_path)
    timings["registry_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    hh = reg.households
    aoi = (
        (float(hh.lon.min()), float(hh.lat.min()), float(hh.lon.max()), float(hh.lat.max()))
        if len(hh)
        else None
    )
    layers, hazard_inputs = build_hazards(scn, base=base, aoi=aoi)
    timings["hazard_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    res, cols = compute(scn, reg.households, layers)
    timings["engine_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    the_plan = plan.build(
        res,
        cols["district"].astype(np.int64),
        scn=scn,
        registry_report=reg.report.to_dict(),
        assumptions=assumptions(scn, layers, households=reg.households),
        tehsil=reg.households["tehsil_id"],
    )
    if scn.nser_update is not None:
        the_plan["nser_update"] = nser_update_cost(scn, the_plan)
    from simulator import export

    involved = set(export.involved_provinces(the_plan))
    the_plan["agencies"] = [a for a in export.agencies().to_dict(orient="records") if a["province_code"] in involved]
    the_plan["sign_off"] = dict.fromkeys(("prepared_by", "reviewed_by", "approved_by", "date", "version"))
    table = result_table(reg.households, res)
    timings["plan_s"] = time.perf_counter() - t0
    return RunResult(
        scenario=scn,
        plan=the_plan,
        households=table,
        hazards=layers,
        quarantine=reg.quarantine,
        timings=timings,
        inputs={"hazards": hazard_inputs, "registry": registry_input},
    )


def nser_update_cost(scn: Scenario, the_plan: dict) -> dict:
    """The scenario's NSER update survey, costed (see :mod:`simulator.nser_update`): every
    registry household of the districts with affected households, or every census household."""
    from simulator import nser_update

    spec = scn.nser_update
    households = None
    if spec.scope == "affected_districts":
        households = {
            d["district_id"]: int(d["households"]) for d in the_plan["districts"] if d["affected_households"]
        }
    return nser_update.cost_update(
        coverage=spec.coverage, rule=spec.rule, federal_share=spec.federal_share, key=spec.key,
        households=households,
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
    }
    for i, layer in enumerate(rasters(res.hazards), start=1):
        name = "hazard.tif" if i == 1 else f"hazard{i}.tif"
        paths[name] = write_geotiff(layer, out / name)
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
