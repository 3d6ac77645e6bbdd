"""The event-set model: :class:`EventSet`, many hazard events on one grid as a sparse matrix.

The data model follows CLIMADA's hazard (an events-by-centroids intensity matrix plus an annual
frequency per event; Aznar-Siguan & Bresch 2019, doi:10.5194/gmd-12-3085-2019), without its
mixins or in-place mutation: an :class:`EventSet` is immutable and every analysis is a sparse
matrix operation with no Python loop over events. See :mod:`hazards.events` for the overview;
files are read and written by :mod:`hazards.eventfile`, stochastic sets are made by
:mod:`hazards.stochastic`.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from affine import Affine
from scipy import sparse

from hazards.errors import HazardError
from hazards.eventfile import read_npz, write_npz
from hazards.impact import HOUSING, ImpactFunction, housing_codes
from hazards.layer import KINDS, UNITS, crs_of, make_layer, transform_of
from hazards.sampling import locate

log = logging.getLogger(__name__)
#: Environment variable capping the number of stored values while building an event set.
MAX_NNZ_ENV = "MADAD_MAX_EVENT_NNZ"
DEFAULT_MAX_NNZ = 500_000_000  # about 4 GB of float32 values and int32 indices
DIRECTIONS = ("increasing", "decreasing")
#: Default intensity thresholds of stochastic sets by (kind, units) [those units]: below every
#: shipped impact function's lowest tier (data/impact/functions.csv: heat_tmax 45 degC, heat_index
#: 39.4 degC, drought_spi -1.0, cyclone_wind 17.5 m/s, earthquake_mmi 6.0), so that no payout
#: changes while the dense fields of temperature, SPI, wind and shaking are stored only where
#: hazardous. Floods (depth is 0 where dry) and other units store every nonzero value.
INTENSITY_THRESHOLDS: dict[tuple[str, str], float] = {
    ("heatwave", "degC"): 39.0, ("drought", "index"): -0.9, ("cyclone", "m/s"): 15.0, ("earthquake", "index"): 4.0,
}


def _max_nnz() -> int:
    text = os.environ.get(MAX_NNZ_ENV)
    if not text:
        return DEFAULT_MAX_NNZ
    try:
        return int(text)
    except ValueError:
        raise HazardError(f"{MAX_NNZ_ENV}={text!r} is not an integer; set e.g. {DEFAULT_MAX_NNZ}.") from None


def _json_clean(value: Any) -> Any:
    """Provenance as it will read back from JSON (tuples become lists, numpy scalars numbers)."""
    return json.loads(json.dumps(value, sort_keys=True, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _grid_of(layer: Any, i: int) -> dict[str, Any]:
    """Grid, CRS, units and kind of event ``i``'s footprint (which must be a 2-D layer)."""
    if not isinstance(layer, xr.DataArray) or layer.ndim != 2:
        raise HazardError(f"event {i}: a footprint must be a 2-D hazard layer (y, x); got {type(layer).__name__}.")
    return {
        "transform": tuple(float(v) for v in transform_of(layer)[:6]),
        "shape": tuple(layer.shape),
        "crs": crs_of(layer),
        "units": layer.attrs.get("units"),
        "kind": layer.attrs.get("kind"),
    }


def _stack_sparse(layers: Iterable[xr.DataArray], limit: int,
                  threshold: float | None | str = None) -> tuple[dict[str, Any], sparse.csr_matrix]:
    """The common grid of the footprints and their nonzero finite values as rows of a matrix.

    Each footprint is sparsified as it arrives; more than ``limit`` stored values is refused.
    ``threshold``: only values at or beyond it (above for a positive threshold or an
    increasing hazard, at or below for a negative one, SPI) are stored; ``"default"``: the
    first layer's (kind, units) in :data:`INTENSITY_THRESHOLDS`. The value used is returned in
    the grid dict as ``threshold``.
    """
    grid: dict[str, Any] | None = None
    data: list[np.ndarray] = []
    indices: list[np.ndarray] = []
    counts: list[int] = []
    total = 0
    for i, layer in enumerate(layers):
        this = _grid_of(layer, i)
        if grid is None:
            grid = this
            if threshold == "default":
                threshold = INTENSITY_THRESHOLDS.get((this["kind"], this["units"]))
            grid["threshold"] = threshold
        else:
            for key, value in this.items():
                if key != "threshold" and value != grid[key]:
                    raise HazardError(
                        f"event {i}: {key} {value!r} differs from the first event's "
                        f"{grid[key]!r}; all events of a set share one grid, units and kind."
                    )
        values = np.asarray(layer.values).ravel()
        with np.errstate(invalid="ignore"):
            keep = np.isfinite(values) & (values != 0)
            if threshold is not None:
                keep &= (values >= threshold) if threshold >= 0 else (values <= threshold)
        keep = np.flatnonzero(keep)
        total += len(keep)
        if total > limit:
            raise HazardError(
                f"event set exceeds {limit:,} stored values at event {i}; coarsen the grid, "
                f"use fewer events, or raise the limit with {MAX_NNZ_ENV}."
            )
        indices.append(keep)
        data.append(values[keep].astype(np.float32))
        counts.append(len(keep))
    if grid is None:
        raise HazardError("no footprints were given; an event set needs at least one event.")
    rows, cols = grid["shape"]
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    matrix = sparse.csr_matrix(
        (np.concatenate(data), np.concatenate(indices), indptr), shape=(len(counts), rows * cols)
    )
    return grid, matrix


@dataclass(frozen=True, eq=False)
class EventSet:
    """Hazard events on one grid: sparse intensity (events x cells) and annual frequencies.

    Attributes
    ----------
    intensity : scipy.sparse.csr_matrix, shape (n_events, n_cells)
        Intensity [``units``] of each event in each cell; unstored entries are 0.
    frequency : float64 array (n_events,)
        Annual frequency of each event [1/year].
    event_id : int64 array (n_events,)
        Unique event identifiers.
    kind, units : str
        Hazard kind (one of ``hazards.layer.KINDS``) and intensity units (``UNITS``).
    crs, transform, shape
        The grid: CRS text, affine transform as six numbers (rasterio order), ``(rows, cols)``.
    provenance : dict
        How the set was made (JSON-serialisable; normalised as JSON would read it back).
    event_attrs : dict of str to array (n_events,)
        Optional numeric columns per event, e.g. ``return_period`` and ``year`` from
        :func:`stochastic`.
    """

    intensity: sparse.csr_matrix
    frequency: np.ndarray
    event_id: np.ndarray
    kind: str
    units: str
    crs: str
    transform: tuple[float, ...]
    shape: tuple[int, int]
    provenance: Mapping[str, Any] = field(default_factory=dict)
    event_attrs: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise HazardError(f"event set kind {self.kind!r} is not one of {list(KINDS)}.")
        if self.units not in UNITS:
            raise HazardError(f"event set units {self.units!r} is not one of {list(UNITS)}; convert first.")
        if not self.crs:
            raise HazardError("an event set needs a CRS; pass e.g. crs='EPSG:4326'.")
        transform = tuple(float(v) for v in self.transform)
        if len(transform) != 6 or not all(map(math.isfinite, transform)):
            raise HazardError(f"transform {self.transform!r} must be six finite numbers (a, b, c, d, e, f).")
        if transform[1] != 0 or transform[3] != 0:
            raise HazardError("rotated grids are not supported; warp the rasters north-up first.")
        shape = tuple(int(v) for v in self.shape)
        if len(shape) != 2 or min(shape) < 1:
            raise HazardError(f"grid shape {self.shape!r} must be (rows, cols), both >= 1.")
        matrix = self.intensity
        if not sparse.issparse(matrix):
            raise HazardError("intensity must be a scipy.sparse matrix (events x cells).")
        matrix = sparse.csr_matrix(matrix, copy=True)
        if matrix.dtype.kind != "f":
            matrix = matrix.astype(np.float64)
        matrix.sum_duplicates()
        matrix.sort_indices()
        if not np.isfinite(matrix.data).all():
            raise HazardError("intensity holds NaN or infinite values; drop them (NaN means no data, not no hazard).")
        matrix.eliminate_zeros()
        frequency = np.asarray(self.frequency, dtype=np.float64).ravel()
        n_events = len(frequency)
        if matrix.shape != (n_events, shape[0] * shape[1]):
            raise HazardError(
                f"intensity has shape {matrix.shape} but {n_events} frequencies and a "
                f"{shape[0]}x{shape[1]} grid need ({n_events}, {shape[0] * shape[1]})."
            )
        if not (np.isfinite(frequency) & (frequency >= 0)).all():
            raise HazardError("frequency must be finite and >= 0 [1/year] for every event.")
        event_id = np.asarray(self.event_id)
        if event_id.dtype.kind not in "iu" or event_id.shape != (n_events,):
            raise HazardError(f"event_id must be {n_events} integers, one per event.")
        event_id = event_id.astype(np.int64)
        if len(np.unique(event_id)) != n_events:
            raise HazardError("event_id values must be unique; renumber the events.")
        attrs = {}
        for name, values in dict(self.event_attrs).items():
            arr = np.asarray(values)
            if not name.isidentifier() or arr.shape != (n_events,) or arr.dtype.kind not in "iuf":
                raise HazardError(
                    f"event attribute {name!r} must be a numeric array of {n_events} values "
                    "with an identifier for a name."
                )
            attrs[name] = arr
        set_ = object.__setattr__
        set_(self, "intensity", matrix)
        set_(self, "frequency", frequency)
        set_(self, "event_id", event_id)
        set_(self, "transform", transform)
        set_(self, "shape", shape)
        set_(self, "crs", str(self.crs))
        set_(self, "provenance", _json_clean(dict(self.provenance)))
        set_(self, "event_attrs", attrs)

    # ---------------------------------------------------------------------------------------
    # Construction

    @classmethod
    def from_layers(
        cls,
        layers: Iterable[xr.DataArray],
        frequency: Any,
        *,
        event_id: Any = None,
        provenance: Mapping[str, Any] | None = None,
        event_attrs: Mapping[str, Any] | None = None,
        intensity_threshold: float | None | str = None,
    ) -> EventSet:
        """Build an event set from 2-D hazard layers on one grid, one layer per event.

        ``layers`` may be a generator (each footprint is sparsified as it arrives, so only one
        dense layer is held at a time) or a 3-D DataArray (event, y, x) with the layer attrs.
        Zero and NaN cells are dropped, and with ``intensity_threshold`` the values that do not
        reach it (below a threshold >= 0; above a negative one, for SPI-like indices where lower
        is worse): they read as 0, the hazard-free value, as CLIMADA's ``intensity_thres``
        filters a hazard (e.g. 39 degC for heat: a temperature is not a hazard, its excess is).
        Grid, CRS, units and kind come from the first layer and every other layer must match.

        Raises
        ------
        HazardError
            Layers on different grids or in different units/kinds, a count that does not match
            ``frequency``, or more stored values than ``$MADAD_MAX_EVENT_NNZ`` allows.
        """
        frequency = np.asarray(frequency, dtype=np.float64).ravel()
        if isinstance(layers, xr.DataArray) and layers.ndim == 3:
            stack = layers
            layers = (stack[i] for i in range(stack.shape[0]))
        grid, matrix = _stack_sparse(layers, _max_nnz(), intensity_threshold)
        if grid["threshold"] is not None or intensity_threshold is not None:
            provenance = {**dict(provenance or {}), "intensity_threshold": grid["threshold"]}
        if matrix.shape[0] != len(frequency):
            raise HazardError(f"{matrix.shape[0]} footprints but {len(frequency)} frequencies; give one frequency per event.")
        return cls(
            intensity=matrix,
            frequency=frequency,
            event_id=np.arange(matrix.shape[0], dtype=np.int64) if event_id is None else np.asarray(event_id),
            kind=grid["kind"],
            units=grid["units"],
            crs=grid["crs"],
            transform=grid["transform"],
            shape=grid["shape"],
            provenance=dict(provenance or {}),
            event_attrs=dict(event_attrs or {}),
        )

    # ---------------------------------------------------------------------------------------
    # Grid

    @property
    def n_events(self) -> int:
        return self.intensity.shape[0]

    @property
    def n_cells(self) -> int:
        return self.intensity.shape[1]

    def template(self) -> xr.DataArray:
        """A 2-D layer of zeros on the set's grid (no copy of the grid is allocated)."""
        zeros = np.broadcast_to(np.float32(0), self.shape)
        return make_layer(zeros, Affine(*self.transform), self.crs, units=self.units,
                          kind=self.kind, provenance={"event_set_template": True})

    def footprint(self, position: int) -> xr.DataArray:
        """The event at ``position`` (0-based row of the matrix) as a dense 2-D layer."""
        if not -self.n_events <= position < self.n_events:
            raise HazardError(f"event position {position} is outside 0..{self.n_events - 1}.")
        dense = self.intensity[position].toarray().reshape(self.shape)
        return make_layer(
            dense, Affine(*self.transform), self.crs, units=self.units, kind=self.kind,
            provenance={"event_set": self.provenance,
                        "event_id": int(self.event_id[position])},
        )

    def cell_index(self, lon: Any, lat: Any, *, edge_tol: float | None = None) -> np.ndarray:
        """Flat cell index of each EPSG:4326 point; -1 outside the grid.

        Points are transformed to the grid's CRS and located with
        :func:`hazards.sampling.locate`, so edges follow the overlay's rules exactly.
        """
        return locate(self.template(), lon, lat, edge_tol=edge_tol)

    def sample_cells(
        self, lon: Any, lat: Any, *, edge_tol: float | None = None
    ) -> tuple[sparse.csr_matrix, np.ndarray]:
        """Intensity of every event at each point: ``(events x points matrix, cell index)``.

        Columns of points outside the grid are empty (their cell index is -1). The result holds
        one column per point; for millions of points use :meth:`expected_annual_at` or index the
        per-cell results of the analysis methods with :meth:`cell_index` instead.
        """
        cells = self.cell_index(lon, lat, edge_tol=edge_tol)
        inside = cells >= 0
        picked = self.intensity[:, np.where(inside, cells, 0)].tocsc()
        # Empty the columns of outside points (they were read from cell 0 as a placeholder).
        picked = picked @ sparse.diags(inside.astype(picked.dtype))
        picked = sparse.csr_matrix(picked)
        picked.eliminate_zeros()
        return picked, cells

    # ---------------------------------------------------------------------------------------
    # Analysis (vectorized: sparse products, no loop over events)

    def exceedance_frequency(self, threshold: Any, *, direction: str = "increasing") -> np.ndarray:
        """Annual frequency with which each cell's intensity reaches ``threshold`` [1/year].

        Sums the frequencies of the events whose intensity in the cell is ``>= threshold``
        (``<= threshold`` when ``direction='decreasing'``, e.g. SPI). Unstored cells count as 0.

        Returns
        -------
        float64 array (n_cells,) for a scalar threshold, (n_thresholds, n_cells) otherwise.
        """
        sign = _sign(direction)
        thresholds = np.atleast_1d(np.asarray(threshold, dtype=np.float64))
        m = self.intensity
        # Frequency of each stored entry's event; summing it per cell over the entries that
        # reach the threshold is the product (indicator matrix).T @ frequency, done by bincount.
        entry_freq = np.repeat(self.frequency, np.diff(m.indptr))
        severity = sign * m.data
        stored_freq = np.bincount(m.indices, weights=entry_freq, minlength=self.n_cells)
        total = float(self.frequency.sum())
        out = np.empty((len(thresholds), self.n_cells))
        for k, t in enumerate(thresholds):  # a loop over thresholds, not events
            weights = np.where(severity >= sign * t, entry_freq, 0.0)
            hits = np.bincount(m.indices, weights=weights, minlength=self.n_cells)
            if sign * 0.0 >= sign * t:  # the hazard-free value 0 also reaches t
                hits += total - stored_freq
            out[k] = hits
        return out[0] if np.ndim(threshold) == 0 else out

    def return_level(self, return_period: Any, *, direction: str = "increasing") -> np.ndarray:
        """Intensity each cell reaches once every ``return_period`` years (empirical).

        In each cell the events are ranked from worst to mildest and their frequencies summed;
        the return level for period T is the intensity of the first event at which that sum
        reaches 1/T. Cells that do not reach 1/T get 0 (no hazard at that return period). Only
        values worse than 0 are ranked (positive ones; negative ones if ``direction='decreasing'``).

        Returns
        -------
        float64 array (n_cells,) for a scalar period, (n_periods, n_cells) otherwise.
        """
        sign = _sign(direction)
        periods = np.atleast_1d(np.asarray(return_period, dtype=np.float64))
        if (periods <= 0).any() or not np.isfinite(periods).all():
            raise HazardError("return periods must be finite and > 0 [years].")
        csc = self.intensity.tocsc()
        col = np.repeat(np.arange(self.n_cells), np.diff(csc.indptr))
        severity = sign * csc.data
        keep = severity > 0
        col, severity, event = col[keep], severity[keep], csc.indices[keep]
        # Sort by cell, worst first, with one exact int64 key (a two-key lexsort is an order of
        # magnitude slower on national grids). For float32 the bits of a positive value order
        # like the value, so the key is (cell << 32) | ~bits; otherwise cell * n + rank.
        if severity.dtype == np.float32:
            worst_first = np.uint32(0xFFFFFFFF) - severity.view(np.uint32)
            key = (col.astype(np.int64) << 32) | worst_first.astype(np.int64)
        else:
            rank = np.empty(len(severity), dtype=np.int64)
            rank[np.argsort(-severity)] = np.arange(len(severity))
            key = col.astype(np.int64) * max(len(severity), 1) + rank
        order = np.argsort(key, kind="stable")
        col, severity, event = col[order], severity[order], event[order]
        cum = np.cumsum(self.frequency[event])
        starts = np.searchsorted(col, np.arange(self.n_cells), side="left")
        ends = np.searchsorted(col, np.arange(self.n_cells), side="right")
        before = np.concatenate([[0.0], cum])[starts]  # cumulative total before each cell
        cum_in_cell = cum - np.repeat(before, ends - starts)
        out = np.zeros((len(periods), self.n_cells))
        positions = np.arange(len(col))
        nonempty = ends > starts
        for k, period in enumerate(periods):  # a loop over return periods, not events
            reached = cum_in_cell >= (1.0 / period) * (1 - 1e-9)  # float round-off
            first = np.where(reached, positions, len(col))
            first_by_cell = np.full(self.n_cells, len(col))
            if len(col):
                first_by_cell[nonempty] = np.minimum.reduceat(first, starts[nonempty])
            hit = first_by_cell < ends
            out[k, hit] = sign * severity[first_by_cell[hit]]
        return out[0] if np.ndim(return_period) == 0 else out

    def impact(self, impact_fn: ImpactFunction, *, housing: Any = None) -> sparse.csr_matrix:
        """Share affected of every event in every cell, as a sparse matrix like ``intensity``.

        ``housing`` (for functions with kacha/pakka curves): one value for all cells, or one per
        cell (``n_cells`` values, e.g. the dominant housing type of each cell).
        """
        self._check_function(impact_fn)
        matrix = self.intensity
        if impact_fn.by_housing:
            codes = housing_codes(housing, (self.n_cells,), function=impact_fn.name)[matrix.indices]
        else:
            codes = None
        share = impact_fn.share(matrix.data, housing=codes)
        out = sparse.csr_matrix((share, matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape)
        out.eliminate_zeros()
        return out

    def expected_annual(self, impact_fn: ImpactFunction, *, housing: Any = None) -> np.ndarray:
        """Expected annual share affected in each cell [1/year]: ``frequency @ impact``.

        One sparse product over all events (CLIMADA's expected annual impact, per unit of
        exposure). ``housing`` as in :meth:`impact`.
        """
        return np.asarray(self.impact(impact_fn, housing=housing).T @ self.frequency)

    def expected_annual_at(
        self, impact_fn: ImpactFunction, lon: Any, lat: Any, *, housing: Any = None,
        edge_tol: float | None = None,
    ) -> np.ndarray:
        """Expected annual share affected at each point (e.g. household) [1/year]; NaN outside.

        Memory stays bounded by the event set: the per-cell result is computed once per housing
        type (at most two sparse products) and then read at each point's cell.
        """
        cells = self.cell_index(lon, lat, edge_tol=edge_tol)
        inside = cells >= 0
        out = np.full(len(cells), np.nan)
        if impact_fn.by_housing:
            codes = housing_codes(housing, cells.shape, function=impact_fn.name)
            for code, key in enumerate(HOUSING):
                mask = inside & (codes == code)
                if mask.any():
                    out[mask] = self.expected_annual(impact_fn, housing=key)[cells[mask]]
        else:
            out[inside] = self.expected_annual(impact_fn)[cells[inside]]
        return out

    def tier_frequency(self, impact_fn: ImpactFunction, *, housing: str = "any") -> np.ndarray:
        """Annual frequency with which each cell reaches each tier [1/year], shape (3, n_cells).

        Rows are ``TIERS[1:]`` (affected, severely affected, displaced); a tier the function
        never reaches has frequency 0. ``housing`` picks the curve of functions with kacha/pakka
        curves.
        """
        self._check_function(impact_fn)
        if impact_fn.by_housing and housing not in HOUSING:
            raise HazardError(
                f"impact function {impact_fn.name!r} has curves for {list(HOUSING)}; pass "
                "housing='kacha' or housing='pakka'."
            )
        out = np.zeros((3, self.n_cells))
        for k, threshold in enumerate(impact_fn.thresholds(housing).values()):
            if threshold is not None:
                out[k] = self.exceedance_frequency(threshold, direction=impact_fn.direction)
        return out

    def _check_function(self, impact_fn: ImpactFunction) -> None:
        if impact_fn.units != self.units:
            raise HazardError(
                f"event set is in {self.units!r} but impact function {impact_fn.name!r} takes "
                f"{impact_fn.units!r}; use a function for {self.units!r}."
            )
        if impact_fn.kind != self.kind:
            raise HazardError(
                f"event set is a {self.kind!r} hazard but impact function {impact_fn.name!r} is "
                f"for {impact_fn.kind!r}; use a function for {self.kind!r}."
            )
        zero = np.zeros(1)
        for key in impact_fn.housing:
            at_zero = impact_fn.share(zero, housing=None if key == "any" else key)[0]
            if at_zero != 0:
                raise HazardError(
                    f"impact function {impact_fn.name!r} ({key}) gives share {at_zero:.3g} at "
                    "intensity 0, but an event set reads unstored cells as 0 (no hazard); give "
                    "the function a cutoff or a zero first row."
                )

    # ---------------------------------------------------------------------------------------
    # Files

    def save(self, path: str | Path) -> Path:
        """Write the set to one compressed ``.npz`` file (exactly what :func:`load` reads)."""
        return write_npz(self, path)

    @classmethod
    def load(cls, path: str | Path) -> EventSet:
        """Read a set written by :meth:`save`.

        Raises
        ------
        HazardError
            Missing, truncated or corrupt file, or a file that is not a Madad event set.
        """
        return cls(**read_npz(path))

    def __repr__(self) -> str:
        return (
            f"EventSet(kind={self.kind!r}, units={self.units!r}, events={self.n_events}, "
            f"grid={self.shape[0]}x{self.shape[1]}, stored={self.intensity.nnz}, "
            f"total_frequency={self.frequency.sum():.4g}/yr)"
        )



def load(path: str | Path) -> EventSet:
    """Read an event set file written by :meth:`EventSet.save`."""
    return EventSet.load(path)



def _sign(direction: str) -> float:
    if direction not in DIRECTIONS:
        raise HazardError(f"direction {direction!r} is not one of {list(DIRECTIONS)}.")
    return 1.0 if direction == "increasing" else -1.0

