"""Federal and provincial registries together: linkage tables and the merged registry.

A provincial record that duplicates a federal one (the same pseudonymous id, or paired in a
links table from ``madad exchange link``) is kept but marked, so that the engine pays the
household once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from hazards.errors import RegistryError
from simulator.registry.schema import Registry, ValidationReport

SOURCES = ["federal", "provincial"]


def read_links(path: str | Path) -> pd.DataFrame:
    """Linked pairs (``provincial_id``, ``federal_id``) from CSV or Parquet, one-to-one.

    Parameters
    ----------
    path
        ``.csv``, ``.parquet`` or ``.pq`` file with columns ``provincial_id`` and ``federal_id``
        (a ``score`` column is allowed and ignored).

    Returns
    -------
    pandas.DataFrame
        Columns ``provincial_id`` and ``federal_id`` as strings.

    Raises
    ------
    RegistryError
        Missing or unreadable file, missing columns, or an id linked more than once.
    """
    path = Path(path)
    if not path.exists():
        raise RegistryError(f"{path}: no such links file. Produce one with `madad exchange link`.")
    try:
        links = pd.read_parquet(path) if path.suffix.lower() in {".parquet", ".pq"} else pd.read_csv(path, dtype=str)
    except Exception as exc:
        raise RegistryError(f"{path}: cannot be read as a links table ({exc}).") from exc
    missing = [c for c in ("provincial_id", "federal_id") if c not in links.columns]
    if missing:
        raise RegistryError(
            f"{path}: columns {missing} are missing; a links table has provincial_id and federal_id "
            "(and optionally score)."
        )
    links = links[["provincial_id", "federal_id"]].astype("string")
    for col in ("provincial_id", "federal_id"):
        dup = links[col].duplicated(keep=False).to_numpy(dtype=bool)
        if dup.any():
            rows = (np.flatnonzero(dup) + 2)[:10].tolist()
            raise RegistryError(
                f"{path}: {col} repeats on lines {rows}; links must be one-to-one (each household "
                "linked at most once)."
            )
    return links


def merge(federal: Registry, provincial: list[tuple[str, Registry, pd.DataFrame | None]]) -> Registry:
    """The federal registry with provincial registries appended, duplicates marked.

    Adds columns ``source`` (``federal`` or ``provincial``) and ``duplicate_of`` (the position of
    the federal record a provincial record duplicates, or -1). A provincial record duplicates a
    federal one when it has the same pseudonymous id, or when ``links`` pairs them. Provincial
    records outside their registry's province are quarantined (``outside_registry_province``).
    Provincial enrolment known to the province is carried over to the federal record (the
    declaration's two-way exchange); nothing else of the provincial record is used for a
    duplicate.

    Parameters
    ----------
    federal
        The validated federal (NSER) registry.
    provincial
        ``(province_code, registry, links)`` per provincial registry; ``links`` from
        :func:`read_links`, or None to match on identical ids only.

    Returns
    -------
    Registry
        All households (federal first), every quarantined row with its ``source``, and a
        report summing the parts' counts [rows].

    Raises
    ------
    RegistryError
        A link names a federal id that is not in the federal registry.
    """
    fed = federal.households.copy()
    fed["source"] = pd.Categorical(["federal"] * len(fed), categories=SOURCES)
    fed["duplicate_of"] = np.full(len(fed), -1, dtype=np.int64)
    fed_index = pd.Index(fed["household_id"].astype("string"))
    frames, quarantines = [fed], [federal.quarantine.assign(source=federal.report.source)]
    reasons = dict(federal.report.reasons)
    rows_read = federal.report.rows_read
    notes = list(federal.report.notes)
    for province, reg, links in provincial:
        hh = reg.households
        outside = (hh["province_code"].astype(str) != province).to_numpy()
        if outside.any():
            quarantines.append(
                pd.DataFrame(
                    {
                        "row": np.flatnonzero(outside) + 1,
                        "household_id": hh["household_id"].to_numpy()[outside],
                        "reason": "outside_registry_province",
                        "source": reg.report.source,
                    }
                )
            )
            reasons["outside_registry_province"] = reasons.get("outside_registry_province", 0) + int(outside.sum())
            hh = hh[~outside]
        hh = hh.copy()
        ids = hh["household_id"].astype("string")
        twin = fed_index.get_indexer(ids)
        linked = 0
        if links is not None and len(links):
            by_link = pd.Series(links["federal_id"].to_numpy(), index=links["provincial_id"].to_numpy())
            target = ids.map(by_link)
            via_link = fed_index.get_indexer(target.fillna(""))
            unknown = target.notna().to_numpy() & (via_link < 0)
            if unknown.any():
                raise RegistryError(
                    f"{int(unknown.sum())} links name federal ids that are not in the federal registry "
                    f"({reg.report.source}); link against the same registry extract."
                )
            linked = int((via_link >= 0).sum())
            twin = np.where(twin >= 0, twin, via_link)
        hh["source"] = pd.Categorical(["provincial"] * len(hh), categories=SOURCES)
        hh["duplicate_of"] = twin.astype(np.int64)
        dup = twin >= 0
        for flag_name in ("enrolled_prov_uct", "enrolled_prov_cct"):
            carried = hh[flag_name].to_numpy()[dup]
            column = fed[flag_name].to_numpy().copy()
            column[twin[dup]] |= carried
            fed[flag_name] = column
        frames.append(hh)
        quarantines.append(reg.quarantine.assign(source=reg.report.source))
        for code, count in reg.report.reasons.items():
            reasons[code] = reasons.get(code, 0) + count
        rows_read += reg.report.rows_read
        notes.append(
            f"{reg.report.source} ({province}): {len(hh):,} records, {int(dup.sum()):,} duplicates of "
            f"federal records ({linked:,} through linkage)"
        )
    frames[0] = fed
    households = pd.concat(frames, ignore_index=True)
    for column in ("province_code", "district_id", "housing", "source"):
        households[column] = pd.Categorical(households[column], categories=frames[0][column].cat.categories)
    # tehsil codes differ between registries: the union of their categories
    households["tehsil_id"] = union_categoricals([f["tehsil_id"] for f in frames])
    quarantine = pd.concat(quarantines, ignore_index=True)
    report = ValidationReport(
        source=" + ".join([federal.report.source] + [r.report.source for _, r, _ in provincial]),
        rows_read=rows_read,
        rows_valid=len(households),
        rows_quarantined=len(quarantine),
        reasons=reasons,
        notes=notes,
    )
    return Registry(households, quarantine, report)
