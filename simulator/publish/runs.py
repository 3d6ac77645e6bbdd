"""A run to publish: its plan, households and hazard layers, read from a run folder or a result;
and the plan (JSON) and per-household table (Parquet) as a run folder stores them.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hazards.errors import ExportError

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

__all__ = ["Run", "load_run", "write_households", "write_json"]


class Run:
    """A run to export: its plan, and (read when first needed) households and hazard layers.

    Build one with :func:`load_run`.
    """

    def __init__(
        self,
        plan: dict,
        *,
        label: str,
        folder: Path | None = None,
        households: pd.DataFrame | None = None,
        hazards: Sequence[xr.DataArray] | None = None,
        created: str | None = None,
    ) -> None:
        self.plan = plan
        self.label = label
        self.folder = folder
        self._households = households
        self._hazards = None if hazards is None else list(hazards)
        self.created = created or time.strftime("%Y-%m-%d", time.gmtime())

    @functools.cached_property
    def households(self) -> pd.DataFrame:
        """The per-household table (``households.parquet`` of a run folder)."""
        if self._households is not None:
            return self._households
        path = self.folder / "households.parquet"
        if not path.exists():
            raise ExportError(
                f"{path}: missing; the run folder is incomplete. Run the scenario again with "
                "`madad run SCENARIO --out DIR`."
            )
        return pq.read_table(path).to_pandas()

    @functools.cached_property
    def hazards(self) -> list[xr.DataArray]:
        """The hazard layers (``hazard.tif``, ``hazard2.tif``... of a run folder); may be empty."""
        if self._hazards is not None:
            return self._hazards
        from hazards.io import read_geotiff

        paths = [self.folder / "hazard.tif"]
        paths += sorted(self.folder.glob("hazard[0-9]*.tif"), key=lambda p: int(p.stem[6:] or 0))
        return [read_geotiff(p) for p in paths if p.exists()]


def load_run(run_dir_or_result: Any) -> Run:
    """A :class:`Run` from a run folder, a ``plan.json`` path or a ``RunResult``.

    Parameters
    ----------
    run_dir_or_result : str, Path, RunResult or Run
        A folder written by ``madad run`` (it holds ``plan.json``, ``households.parquet`` and
        ``hazard.tif``), or a result of :func:`simulator.plans.run`.

    Returns
    -------
    Run

    Raises
    ------
    ExportError
        The folder does not exist or has no readable ``plan.json`` with a ``schema_version``.
    """
    if isinstance(run_dir_or_result, Run):
        return run_dir_or_result
    if hasattr(run_dir_or_result, "plan") and hasattr(run_dir_or_result, "households"):
        res = run_dir_or_result
        import xarray as xr

        layers = [h for h in res.hazards if isinstance(h, xr.DataArray)]  # not declared-district tables
        return Run(res.plan, label="in-memory run", households=res.households, hazards=layers)
    folder = Path(run_dir_or_result)
    if folder.is_file() and folder.name == "plan.json":
        folder = folder.parent
    path = folder / "plan.json"
    if not folder.is_dir():
        raise ExportError(
            f"{folder}: no such run folder. Make one with `madad run SCENARIO --out {folder}`."
        )
    if not path.exists():
        raise ExportError(
            f"{folder}: not a run folder (no plan.json). Make one with "
            f"`madad run SCENARIO --out {folder}`."
        )
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}).") from exc
    if not isinstance(plan, dict) or "schema_version" not in plan or "totals" not in plan:
        raise ExportError(f"{path}: not a Madad plan (no schema_version or totals).")
    created = None
    manifest = folder / "manifest.json"
    if manifest.exists():
        try:
            created = json.loads(manifest.read_text(encoding="utf-8")).get("created_utc", "")[:10] or None
        except json.JSONDecodeError:
            created = None
    return Run(plan, label=str(folder), folder=folder, created=created)



def write_json(plan: dict, path: str | Path) -> Path:
    """Write the plan as JSON for other systems.

    Parameters
    ----------
    plan : dict
        A plan from :func:`simulator.plans.build.build`; it carries ``schema_version``.
    path : str or Path
        Output ``.json``.

    Returns
    -------
    Path
        ``path``. Keys keep the plan's order; the text is UTF-8 with a final newline, so the same
        plan always gives the same bytes.
    """
    path = Path(path)
    path.write_text(json.dumps(plan, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_households(result: pd.DataFrame, path: str | Path) -> Path:
    """Write the per-household result as Parquet (zstd): pseudonymous ids only, never a CNIC.

    Parameters
    ----------
    result : pandas.DataFrame
        The per-household table of a run (:func:`simulator.plans.result_table`).
    path : str or Path
        Output ``.parquet``.

    Returns
    -------
    Path
        ``path``. Schema metadata is dropped so identical tables give identical bytes.
    """
    path = Path(path)
    table = pa.Table.from_pandas(result, preserve_index=False)
    table = table.replace_schema_metadata({})
    pq.write_table(table, path, compression="zstd")
    return path


