"""A risk run folder (``madad risk --out``): the event payout table, the ``risk`` section, the
workbook, the brief for finance ministers, an exceedance picture and a manifest.

Written as a run folder is (:func:`simulator.publish.atomic.replace_folder`): aside, the
manifest last with each file's sha256, then swapped in whole under a lock.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from simulator import __version__
from simulator.publish import atomic
from simulator.publish.runfolder import versions
from simulator.scenario import file_sha256

log = logging.getLogger(__name__)

#: The files a risk run writes (a folder holding others is refused, as for a run).
RISK_FILE = re.compile(r"(risk\.json|risk\.xlsx|risk\.pdf|exceedance\.png|event_payouts\.parquet|manifest\.json)")
FILES = ("event_payouts.parquet", "risk.json", "risk.xlsx", "risk.pdf", "exceedance.png", "manifest.json")


def risk_document(result) -> dict:
    """The JSON document of a risk run: scenario, policy in brief, and the ``risk`` section."""
    scn = result.scenario
    return {
        "schema": "madad.risk/1",
        "scenario": {"name": scn.name, "title": scn.title, "seed": scn.seed},
        "n_years": result.n_years,
        "risk": result.section,
    }


def write_risk_run(result, out: str | Path, *, scenario_path: str | Path | None = None) -> dict[str, Path]:
    """Write the folder; returns the paths written (manifest.json last)."""
    given = Path(out)

    def write(stage: Path, _target: Path) -> list[str]:
        from simulator.publish.risk import exceedance_png, write_risk_pdf, write_risk_xlsx
        from simulator.publish.runs import write_json

        t0 = time.perf_counter()
        paths = {}
        table = result.table
        table.to_parquet(stage / "event_payouts.parquet", index=False)
        paths["event_payouts.parquet"] = stage / "event_payouts.parquet"
        paths["risk.json"] = write_json(risk_document(result), stage / "risk.json")
        paths["risk.xlsx"] = write_risk_xlsx(result.section, table, stage / "risk.xlsx")
        paths["risk.pdf"] = write_risk_pdf(result.section, stage / "risk.pdf", title=result.scenario.title,
                                           scenario=result.scenario.name)
        paths["exceedance.png"] = exceedance_png(result.section, stage / "exceedance.png")
        manifest = {
            "madad_version": __version__,
            "command": "madad risk",
            "scenario": result.scenario.model_dump(mode="json"),
            "scenario_file": None if scenario_path is None
            else {"path": str(scenario_path), "sha256": file_sha256(scenario_path)},
            "seed": result.scenario.seed,
            "inputs": result.inputs,
            "outputs": {name: file_sha256(p) for name, p in sorted(paths.items())},
            "versions": versions(),
            "timings": {k: round(v, 3) for k, v in dict(result.timings, write_s=time.perf_counter() - t0).items()},
        }
        paths["manifest.json"] = write_json(manifest, stage / "manifest.json")
        atomic.fsync_tree(stage)
        return list(paths)

    names = atomic.replace_folder(given, write, allowed=RISK_FILE, what="a risk run")
    log.info("%s: wrote %d files", given, len(names))
    return {name: given / name for name in names}
