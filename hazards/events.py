"""Event sets: many hazard events on one grid, stored as a sparse events x cells matrix.

The data model follows CLIMADA's hazard (an events-by-centroids intensity matrix plus an annual
frequency per event; Aznar-Siguan & Bresch 2019, doi:10.5194/gmd-12-3085-2019), without its
mixins or in-place mutation: an :class:`EventSet` is immutable and every analysis is a sparse
matrix operation with no Python loop over events.

Cells are the pixels of a north-up grid (``transform``, ``shape``, ``crs`` as in
:mod:`hazards.layer`), numbered row-major: cell ``row * cols + col``. A stored value is the
event's intensity in ``units``; cells an event does not touch (zero or NaN in its footprint) are
not stored and read as 0, the hazard-free value. For hazards where lower is worse (SPI), 0 is
still the hazard-free value and the footprint should store only the negative (dry) values.

Files: :meth:`EventSet.save` writes one compressed ``.npz`` holding the CSR arrays, the
frequencies, the event ids, optional per-event columns and a JSON ``metadata`` entry; :func:`load`
reads it back exactly.

The code is in three modules; this one re-exports their names, so ``hazards.events.<name>``
keeps working:

* :mod:`hazards.eventset` -- the model: :class:`EventSet`, its analyses and :func:`load`;
* :mod:`hazards.eventfile` -- the ``.npz`` file format;
* :mod:`hazards.stochastic` -- :func:`stochastic` and :func:`return_period_footprint`.
"""

from __future__ import annotations

from hazards.eventfile import FORMAT, FORMAT_VERSION, read_npz, write_npz
from hazards.eventset import (
    DEFAULT_MAX_NNZ,
    DIRECTIONS,
    MAX_NNZ_ENV,
    EventSet,
    _grid_of,
    _json_clean,
    _json_default,
    _max_nnz,
    _sign,
    _stack_sparse,
    load,
)
from hazards.stochastic import (
    Footprint,
    _describe,
    _severity_for,
    return_period_footprint,
    stochastic,
)

__all__ = [
    "DEFAULT_MAX_NNZ",
    "DIRECTIONS",
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_NNZ_ENV",
    "EventSet",
    "Footprint",
    "load",
    "return_period_footprint",
    "stochastic",
]

#: Internal names kept importable from here for code and tests written before the split.
_INTERNALS = (
    read_npz, write_npz, _grid_of, _json_clean, _json_default, _max_nnz, _sign, _stack_sparse,
    _describe, _severity_for,
)
