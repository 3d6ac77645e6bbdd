"""Event-set files: one compressed ``.npz`` per :class:`~hazards.eventset.EventSet`.

The file holds the CSR arrays of the intensity matrix (``data``, ``indices``, ``indptr``), the
``frequency`` and ``event_id`` arrays, one ``attr_<name>`` array per event attribute and a JSON
``metadata`` entry (format, version, kind, units, grid, provenance). :func:`write_npz` writes it;
:func:`read_npz` checks it and returns the arguments of ``EventSet(...)``, so reading back gives
exactly the set that was saved.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from hazards.errors import HazardError

FORMAT = "madad-eventset"
FORMAT_VERSION = 1


def write_npz(events: Any, path: str | Path) -> Path:
    """Write an event set to one compressed ``.npz`` file (exactly what :func:`read_npz` reads)."""
    path = Path(path)
    metadata = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "kind": events.kind,
        "units": events.units,
        "crs": events.crs,
        "transform": list(events.transform),
        "shape": list(events.shape),
        "n_events": events.n_events,
        "n_cells": events.n_cells,
        "event_attrs": sorted(events.event_attrs),
        "provenance": events.provenance,
    }
    arrays = {
        "metadata": np.array(json.dumps(metadata, sort_keys=True)),
        "data": events.intensity.data,
        "indices": events.intensity.indices,
        "indptr": events.intensity.indptr,
        "frequency": events.frequency,
        "event_id": events.event_id,
    }
    arrays.update({f"attr_{name}": values for name, values in events.event_attrs.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:  # a handle keeps numpy from appending ".npz"
        np.savez_compressed(handle, **arrays)
    return path


def read_metadata(path: str | Path) -> dict[str, Any]:
    """An event-set file's JSON metadata (kind, units, grid, events, provenance) without
    reading its arrays (an ``.npz`` member is read on its own)."""
    path = Path(path)
    if not path.exists():
        raise HazardError(f"{path}: no such event set file; write one with EventSet.save().")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return json.loads(str(npz["metadata"]))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise HazardError(
            f"{path}: not a readable event set .npz ({type(exc).__name__}: {exc}); the file "
            "is truncated or corrupt. Rebuild it and save it again."
        ) from None


def read_npz(path: str | Path) -> dict[str, Any]:
    """Check an event-set file and return the keyword arguments of ``EventSet(...)``.

    Raises
    ------
    HazardError
        Missing, truncated or corrupt file, or a file that is not a Madad event set.
    """
    path = Path(path)
    if not path.exists():
        raise HazardError(f"{path}: no such event set file; write one with EventSet.save().")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise HazardError(
            f"{path}: not a readable event set .npz ({type(exc).__name__}: {exc}); the file "
            "is truncated or corrupt. Rebuild it and save it again."
        ) from None
    required = ("metadata", "data", "indices", "indptr", "frequency", "event_id")
    absent = [key for key in required if key not in arrays]
    if absent:
        raise HazardError(f"{path}: entries {absent} are missing; this is not a Madad event set file.")
    try:
        metadata = json.loads(str(arrays["metadata"]))
    except json.JSONDecodeError:
        raise HazardError(f"{path}: the metadata entry is not JSON; the file is corrupt.") from None
    if metadata.get("format") != FORMAT:
        raise HazardError(f"{path}: format {metadata.get('format')!r} is not {FORMAT!r}.")
    if metadata.get("version") != FORMAT_VERSION:
        raise HazardError(
            f"{path}: event set format version {metadata.get('version')!r}; this Madad reads "
            f"version {FORMAT_VERSION}. Rebuild the set with this version."
        )
    matrix = sparse.csr_matrix(
        (arrays["data"], arrays["indices"], arrays["indptr"]),
        shape=(metadata["n_events"], metadata["n_cells"]),
    )
    return dict(
        intensity=matrix,
        frequency=arrays["frequency"],
        event_id=arrays["event_id"],
        kind=metadata["kind"],
        units=metadata["units"],
        crs=metadata["crs"],
        transform=tuple(metadata["transform"]),
        shape=tuple(metadata["shape"]),
        provenance=metadata["provenance"],
        event_attrs={name: arrays[f"attr_{name}"] for name in metadata["event_attrs"]},
    )
