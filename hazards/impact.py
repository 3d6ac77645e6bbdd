"""Impact functions: hazard intensity to a share affected (0..1) and to a severity tier.

Every function lives in ``data/impact/`` as data, not code: ``functions.csv`` registers each
function by name (one row per housing type: ``any``, or both ``kacha`` and ``pakka``) with its
hazard kind, units, form, direction, tier thresholds and source; the curves themselves are small
CSV tables (``intensity,share``) beside it. ``data/impact/README.md`` gives the sources.

Forms, chosen by name from a closed set (:data:`FORMS`):

``step``              share = the ``share`` of the last row whose ``intensity`` the value reaches;
                      0 below the first row.
``piecewise_linear``  linear interpolation between rows; the first and last shares hold beyond
                      the table.
``sigmoid``           logistic ``top / (1 + exp(-slope (v - midpoint)))`` with parameters
                      ``midpoint``, ``slope`` (> 0) and optional ``top`` (default 1) and
                      ``cutoff`` (share 0 on the mild side of it).

``direction`` is ``increasing`` (a higher intensity is worse: depth, wind) or ``decreasing``
(lower is worse: SPI). A decreasing table lists intensities from the mildest to the most severe,
that is in decreasing order, and its tier thresholds decrease too.

Tiers (:data:`TIERS`) are int8 codes 0 none, 1 affected, 2 severely affected, 3 displaced: the
number of tier thresholds the intensity reaches. Share and tier answer different questions (how
much damage or what part of the cell is affected; which payout category applies) and come from
separate columns. NaN intensity (nodata, outside the raster) gives share 0 and tier 0.

Tables are validated when loaded; every error names the file, the line and the fix.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import expit

from hazards.errors import HazardError
from hazards.layer import KINDS, UNITS
from hazards.tables import data_dir

log = logging.getLogger(__name__)

#: Severity tiers; a tier is the int8 position in this tuple.
TIERS = ("none", "affected", "severely_affected", "displaced")
#: Forms an impact function can take.
FORMS = ("step", "piecewise_linear", "sigmoid")
#: Housing types, in the order of ``simulator.registry.HOUSING`` (codes 0 and 1).
HOUSING = ("kacha", "pakka")
#: Values of the registry's ``housing`` column.
HOUSING_KEYS = ("any", *HOUSING)
DIRECTIONS = ("increasing", "decreasing")
#: File name of the registry inside the impact folder.
REGISTRY = "functions.csv"
REGISTRY_COLUMNS = (
    "name", "kind", "units", "form", "housing", "direction", "table", "params",
    "affected", "severely_affected", "displaced", "source",
)
TABLE_COLUMNS = ("intensity", "share")
SIGMOID_REQUIRED = ("midpoint", "slope")
SIGMOID_OPTIONAL = ("top", "cutoff")


def impact_dir() -> Path:
    """Folder of the impact tables: ``data_dir() / 'impact'`` (``$MADAD_DATA`` honoured)."""
    return data_dir() / "impact"


# --------------------------------------------------------------------------------------------
# Reading CSV with comment lines and line numbers


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and ``(line number, row)`` pairs of a CSV whose ``#`` lines are comments."""
    if not path.exists():
        raise HazardError(
            f"{path}: missing. Impact tables ship in data/impact/; restore it with "
            f"`git checkout -- data/impact/{path.name}` or fix the file name in {REGISTRY}."
        )
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise HazardError(f"{path}: cannot be read as UTF-8 text ({exc}); save it as UTF-8 CSV.") from None
    numbered = [(i + 1, line) for i, line in enumerate(lines)
                if line.strip() and not line.lstrip().startswith("#")]
    if not numbered:
        raise HazardError(f"{path}: no header and no rows; add a header line and rows.")
    records = list(csv.reader([line for _, line in numbered]))
    header = [h.strip() for h in records[0]]
    rows = []
    for (lineno, _), record in zip(numbered[1:], records[1:], strict=True):
        if len(record) != len(header):
            raise HazardError(
                f"{path} line {lineno}: {len(record)} fields but the header has {len(header)}; "
                "quote fields that contain commas."
            )
        rows.append((lineno, {h: v.strip() for h, v in zip(header, record, strict=True)}))
    return header, rows


def _number(text: str, where: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise HazardError(f"{where}: {column} {text!r} is not a number; write e.g. 0.5.") from None
    if not math.isfinite(value):
        raise HazardError(f"{where}: {column} is {text!r}; write a finite number.")
    return value


# --------------------------------------------------------------------------------------------
# One curve (one housing type of one function)


@dataclass(frozen=True, eq=False)
class _Curve:
    """A validated curve in *oriented* form: ``z = sign * intensity``, higher z is worse."""

    form: str
    sign: float
    x: np.ndarray  # oriented table intensities (strictly increasing); empty for sigmoid
    y: np.ndarray  # shares (non-decreasing)
    params: Mapping[str, float]  # sigmoid parameters, oriented
    thresholds: np.ndarray  # oriented tier thresholds, +inf where a tier is never reached
    where: str

    def share(self, value: np.ndarray) -> np.ndarray:
        z = self.sign * value
        if self.form == "piecewise_linear":
            return np.interp(z, self.x, self.y)
        if self.form == "step":
            idx = np.searchsorted(self.x, z, side="right") - 1
            return np.where(idx >= 0, self.y[np.clip(idx, 0, None)], 0.0)
        p = self.params
        out = p["top"] * expit(p["slope"] * (z - p["midpoint"]))
        return np.where(z >= p["cutoff"], out, 0.0)

    def tier(self, value: np.ndarray) -> np.ndarray:
        z = self.sign * value
        return np.searchsorted(self.thresholds, z, side="right").astype(np.int8)


def _orientation_words(sign: float) -> tuple[str, str]:
    return ("increase", "increasing") if sign > 0 else ("decrease", "decreasing")


def _read_table(path: Path, sign: float, form: str, context: str) -> tuple[np.ndarray, np.ndarray]:
    header, rows = _read_rows(path)
    absent = [c for c in TABLE_COLUMNS if c not in header]
    if absent:
        raise HazardError(
            f"{path}: columns {absent} are missing (found {header}); a table has the columns "
            f"{list(TABLE_COLUMNS)}."
        )
    minimum = 2 if form == "piecewise_linear" else 1
    if len(rows) < minimum:
        raise HazardError(f"{path}: a {form} table needs at least {minimum} rows; add rows.")
    verb, adjective = _orientation_words(sign)
    x = np.empty(len(rows))
    y = np.empty(len(rows))
    for i, (lineno, row) in enumerate(rows):
        where = f"{path} line {lineno}"
        x[i] = _number(row["intensity"], where, "intensity")
        y[i] = _number(row["share"], where, "share")
        if not 0.0 <= y[i] <= 1.0:
            raise HazardError(
                f"{where}: share {y[i]:g} is outside [0, 1]; a share is a fraction "
                "(write 0.25 for 25 %)."
            )
        if i and not sign * x[i] > sign * x[i - 1]:
            raise HazardError(
                f"{where}: intensity {x[i]:g} does not {verb} from the line before "
                f"({x[i - 1]:g}); sort the rows so intensity is strictly {adjective} "
                f"({context}) and drop duplicates."
            )
        if i and y[i] < y[i - 1]:
            raise HazardError(
                f"{where}: share {y[i]:g} is below the line before ({y[i - 1]:g}); damage must "
                "not fall as the hazard gets worse. Fix the row so shares are non-decreasing."
            )
    return sign * x, y


def _parse_params(text: str, where: str) -> dict[str, float]:
    params: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in SIGMOID_REQUIRED + SIGMOID_OPTIONAL:
            raise HazardError(
                f"{where}: params item {item!r} is not one of "
                f"{list(SIGMOID_REQUIRED + SIGMOID_OPTIONAL)} as key=value; write e.g. "
                "'midpoint=7.6; slope=0.87'."
            )
        params[key] = _number(value.strip(), where, f"params {key}")
    missing = [k for k in SIGMOID_REQUIRED if k not in params]
    if missing:
        raise HazardError(f"{where}: a sigmoid needs params {missing}; write e.g. 'midpoint=7.6; slope=0.87'.")
    return params


def _sigmoid_params(text: str, sign: float, where: str) -> dict[str, float]:
    raw = _parse_params(text, where)
    if raw["slope"] <= 0:
        raise HazardError(
            f"{where}: sigmoid slope {raw['slope']:g} must be > 0 (steepness towards the worse "
            "end; set direction=decreasing for hazards where lower values are worse)."
        )
    top = raw.get("top", 1.0)
    if not 0.0 < top <= 1.0:
        raise HazardError(f"{where}: sigmoid top {top:g} must be in (0, 1]; it is the largest share.")
    return {
        "midpoint": sign * raw["midpoint"],
        "slope": raw["slope"],
        "top": top,
        "cutoff": sign * raw["cutoff"] if "cutoff" in raw else -np.inf,
    }


def _thresholds(row: dict[str, str], sign: float, where: str) -> np.ndarray:
    names = TIERS[1:]
    raw = [None if not row[t] else _number(row[t], where, t) for t in names]
    if raw[0] is None:
        raise HazardError(f"{where}: the 'affected' threshold is empty; give the intensity at which households count as affected.")
    given = [v for v in raw if v is not None]
    first_gap = next((i for i, v in enumerate(raw) if v is None), len(raw))
    if any(v is not None for v in raw[first_gap:]):
        raise HazardError(
            f"{where}: tier thresholds {dict(zip(names, raw, strict=True))} skip a tier; only the "
            "highest tiers may be left blank."
        )
    verb, _ = _orientation_words(sign)
    for a, b in zip(given, given[1:], strict=False):
        if not sign * b > sign * a:
            direction = "" if sign > 0 else " (direction=decreasing: lower values are worse)"
            raise HazardError(
                f"{where}: tier thresholds {dict(zip(names, raw, strict=True))} must {verb} from "
                f"affected to severely_affected to displaced{direction}; fix the row."
            )
    return np.array([sign * v if v is not None else np.inf for v in raw])


# --------------------------------------------------------------------------------------------
# The registry


@functools.lru_cache(maxsize=8)
def _registry(folder: str) -> dict[str, list[tuple[int, dict[str, str]]]]:
    """Rows of ``functions.csv`` grouped by name, with the checks that need no table."""
    path = Path(folder) / REGISTRY
    header, rows = _read_rows(path)
    absent = [c for c in REGISTRY_COLUMNS if c not in header]
    if absent:
        raise HazardError(f"{path}: columns {absent} are missing; the registry has {list(REGISTRY_COLUMNS)}.")
    grouped: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for lineno, row in rows:
        where = f"{path} line {lineno}"
        if not row["name"]:
            raise HazardError(f"{where}: name is empty; give every function a name.")
        checks = (
            ("form", FORMS), ("kind", KINDS), ("units", UNITS), ("housing", HOUSING_KEYS),
        )
        for column, valid in checks:
            if row[column] not in valid:
                raise HazardError(
                    f"{where}: {column} {row[column]!r} is not one of {list(valid)}; use one of them."
                )
        row["direction"] = row["direction"] or "increasing"
        if row["direction"] not in DIRECTIONS:
            raise HazardError(f"{where}: direction {row['direction']!r} is not one of {list(DIRECTIONS)}.")
        if row["form"] == "sigmoid" and not row["params"]:
            raise HazardError(f"{where}: a sigmoid needs params, e.g. 'midpoint=7.6; slope=0.87'.")
        if row["form"] != "sigmoid" and not row["table"]:
            raise HazardError(f"{where}: a {row['form']} function needs a table file (column 'table').")
        grouped.setdefault(row["name"], []).append((lineno, row))
    for name, entries in grouped.items():
        first_line, first = entries[0]
        for lineno, row in entries[1:]:
            for column in ("kind", "units", "direction", "form"):
                if row[column] != first[column]:
                    raise HazardError(
                        f"{path} line {lineno}: {column} {row[column]!r} differs from line "
                        f"{first_line} ({first[column]!r}) for function {name!r}; all rows of a "
                        "function share kind, units, direction and form."
                    )
        housing = [row["housing"] for _, row in entries]
        if sorted(housing) not in (["any"], sorted(HOUSING)):
            raise HazardError(
                f"{path}: function {name!r} has housing rows {housing} (lines "
                f"{[n for n, _ in entries]}); give one row 'any', or one row each for "
                f"{list(HOUSING)}."
            )
    return grouped


def _folder(folder: str | Path | None) -> str:
    return str(Path(folder) if folder is not None else impact_dir())


def names(kind: str | None = None, *, folder: str | Path | None = None) -> list[str]:
    """Names of the registered impact functions, optionally only those for one hazard ``kind``."""
    if kind is not None and kind not in KINDS:
        raise HazardError(f"kind {kind!r} is not one of {list(KINDS)}.")
    grouped = _registry(_folder(folder))
    return sorted(n for n, rows in grouped.items() if kind is None or rows[0][1]["kind"] == kind)


def load(name: str, *, folder: str | Path | None = None) -> ImpactFunction:
    """The impact function ``name``, read and validated from ``data/impact/`` (cached).

    Parameters
    ----------
    name
        A name in ``functions.csv`` (see :func:`names`).
    folder
        Another folder with a ``functions.csv`` and its tables; default ``data/impact/``.

    Raises
    ------
    HazardError
        Unknown name (the message lists the valid ones) or a table that fails validation.
    """
    return _load(name, _folder(folder))


@functools.lru_cache(maxsize=64)
def _load(name: str, folder: str) -> ImpactFunction:
    grouped = _registry(folder)
    if name not in grouped:
        raise HazardError(f"impact function {name!r} is unknown; valid names: {sorted(grouped)}.")
    path = Path(folder) / REGISTRY
    curves: dict[str, _Curve] = {}
    sources = []
    for lineno, row in grouped[name]:
        where = f"{path} line {lineno}"
        sign = 1.0 if row["direction"] == "increasing" else -1.0
        thresholds = _thresholds(row, sign, where)
        x = y = np.empty(0)
        params: dict[str, float] = {}
        if row["form"] == "sigmoid":
            params = _sigmoid_params(row["params"], sign, where)
        else:
            context = f"{row['direction']} function, {where}"
            x, y = _read_table(Path(folder) / row["table"], sign, row["form"], context)
        curves[row["housing"]] = _Curve(row["form"], sign, x, y, params, thresholds, where)
        sources.append(row["source"])
    first = grouped[name][0][1]
    return ImpactFunction(
        name=name,
        kind=first["kind"],
        units=first["units"],
        form=first["form"],
        direction=first["direction"],
        source="; ".join(dict.fromkeys(s for s in sources if s)),
        curves=curves,
    )


def check_all(*, folder: str | Path | None = None) -> list[str]:
    """Load (and so validate) every registered function and table; return their names."""
    out = names(folder=folder)
    for name in out:
        load(name, folder=folder)
    return out


def clear_cache() -> None:
    """Forget loaded tables (after editing files in ``data/impact/`` in a running session)."""
    _registry.cache_clear()
    _load.cache_clear()


# --------------------------------------------------------------------------------------------
# The function object


@dataclass(frozen=True, eq=False)
class ImpactFunction:
    """Intensity to share affected and to severity tier for one hazard kind.

    Build it with :func:`load`. ``units`` is the intensity's unit (e.g. ``m``), ``kind`` the hazard
    kind (e.g. ``riverine-flood``), ``housing`` the housing keys it has curves for (``('any',)`` or
    ``('kacha', 'pakka')``).
    """

    name: str
    kind: str
    units: str
    form: str
    direction: str
    source: str
    curves: Mapping[str, _Curve]

    @property
    def housing(self) -> tuple[str, ...]:
        return tuple(self.curves)

    @property
    def by_housing(self) -> bool:
        """True when the function has separate kacha and pakka curves."""
        return "any" not in self.curves

    def thresholds(self, housing: str = "any") -> dict[str, float | None]:
        """Tier thresholds in the intensity's units (``None``: tier never reached)."""
        curve = self._curve(housing)
        return {
            tier: (None if math.isinf(t) else float(curve.sign * t))
            for tier, t in zip(TIERS[1:], curve.thresholds, strict=True)
        }

    def share(self, intensity: Any, *, housing: Any = None) -> Any:
        """Share affected [0..1] (damage fraction or share of households) at each intensity.

        Parameters
        ----------
        intensity
            Array-like in :attr:`units`, any shape; or a hazard layer (``xarray.DataArray`` with
            ``attrs['units']``), whose units and kind must match the function's.
        housing
            Needed when the function has kacha and pakka curves: a string, an array of
            ``'kacha'``/``'pakka'``, a pandas categorical, or int codes 0 (kacha) / 1 (pakka),
            broadcastable to ``intensity``. Ignored by functions with one ``any`` curve.

        Returns
        -------
        float64 array of the intensity's shape (a DataArray with the layer's coords if a layer
        was given); NaN intensity gives 0.

        Raises
        ------
        HazardError
            Wrong units or kind, missing or unknown housing.
        """
        return self._apply(intensity, housing, "share")

    def tier(self, intensity: Any, *, housing: Any = None) -> Any:
        """Severity tier (int8 index into :data:`TIERS`) at each intensity; NaN gives 0.

        Parameters and errors as :meth:`share`.
        """
        return self._apply(intensity, housing, "tier")

    def check_layer(self, layer: xr.DataArray) -> None:
        """Raise :class:`HazardError` unless the layer's units (and kind, if set) match."""
        label = layer.name if layer.name is not None else "intensity"
        units = layer.attrs.get("units")
        if not units:
            raise HazardError(
                f"layer {label!r} has no units; set layer.attrs['units'] (impact function "
                f"{self.name!r} takes {self.units!r})."
            )
        if units != self.units:
            others = _suggest(lambda f: f.units == units and f.name != self.name)
            raise HazardError(
                f"layer {label!r} is in {units!r} but impact function {self.name!r} takes "
                f"{self.units!r}; convert the layer to {self.units!r} or use a function for "
                f"{units!r}: {others}."
            )
        kind = layer.attrs.get("kind")
        if kind in KINDS and kind != self.kind:
            raise HazardError(
                f"layer {label!r} is a {kind!r} hazard but impact function {self.name!r} is for "
                f"{self.kind!r}; use one of {_suggest(lambda f: f.kind == kind)}."
            )

    def _curve(self, housing: str) -> _Curve:
        if housing in self.curves:
            return self.curves[housing]
        if "any" in self.curves:
            return self.curves["any"]
        raise HazardError(
            f"impact function {self.name!r} has curves for {list(self.curves)}; "
            f"housing {housing!r} is not one of them."
        )

    def _apply(self, intensity: Any, housing: Any, what: str) -> Any:
        layer = intensity if isinstance(intensity, xr.DataArray) else None
        if layer is not None:
            self.check_layer(layer)
        values = np.asarray(layer.values if layer is not None else intensity, dtype=np.float64)
        dtype = np.float64 if what == "share" else np.int8
        out = np.zeros(values.shape, dtype=dtype)
        valid = ~np.isnan(values)
        if not self.by_housing or isinstance(housing, str):  # one curve for every value
            if self.by_housing:
                housing_codes(housing, (), function=self.name)  # refuses an unknown housing
            curve = self.curves["any"] if not self.by_housing else self._curve(housing)
            if valid.all():  # no NaN to leave at 0: the curve over the values as they are
                out[...] = getattr(curve, what)(values)
            else:
                out[valid] = getattr(curve, what)(values[valid])
        else:
            codes = housing_codes(housing, values.shape, function=self.name)
            for code, key in enumerate(HOUSING):
                mask = valid & (codes == code)
                if mask.any():
                    out[mask] = getattr(self.curves[key], what)(values[mask])
        if layer is None:
            return out
        attrs = {k: v for k, v in layer.attrs.items() if k in ("crs", "transform", "kind")}
        attrs.update(
            units="1" if what == "share" else "tier",
            impact_function=self.name,
            provenance=json.dumps({"impact_function": self.name, "measure": what,
                                   "layer": layer.attrs.get("provenance")}, sort_keys=True),
        )
        return xr.DataArray(out, dims=layer.dims, coords=layer.coords, name=what, attrs=attrs)

    def __repr__(self) -> str:
        return (f"ImpactFunction({self.name!r}, kind={self.kind!r}, units={self.units!r}, "
                f"form={self.form!r}, housing={self.housing})")


def _suggest(keep: Any) -> list[str]:
    """Names of shipped functions that pass ``keep`` (for error messages; never raises)."""
    try:
        return [n for n in names() if keep(load(n))]
    except HazardError:
        return []


def housing_codes(housing: Any, shape: tuple[int, ...], *, function: str = "") -> np.ndarray:
    """Housing as int8 codes (0 kacha, 1 pakka) broadcast to ``shape``.

    Accepts a string, an array-like of strings, a pandas Categorical/Series/Index (matched by
    category name), or integer codes. Unknown or missing entries raise :class:`HazardError`.
    """
    label = f"impact function {function!r}" if function else "this impact function"
    if housing is None:
        raise HazardError(
            f"{label} has separate curves for {list(HOUSING)}; pass housing= (an array of "
            "'kacha'/'pakka', a categorical, or codes 0 kacha / 1 pakka)."
        )
    if isinstance(housing, str):
        if housing not in HOUSING:
            raise HazardError(f"housing {housing!r} is not one of {list(HOUSING)}.")
        return np.full(shape, HOUSING.index(housing), dtype=np.int8)
    if isinstance(housing, pd.Series | pd.Index) and isinstance(housing.dtype, pd.CategoricalDtype):
        housing = pd.Categorical(housing)
    if isinstance(housing, pd.Categorical):
        names_ = [str(c) for c in housing.categories]
        unknown = [c for c in names_ if c not in HOUSING]
        if unknown:
            raise HazardError(f"housing categories {unknown} are not in {list(HOUSING)}; recode them.")
        lookup = np.array([HOUSING.index(c) for c in names_] + [-1], dtype=np.int8)
        codes = lookup[np.asarray(housing.codes)]  # code -1 (missing) maps to the last entry, -1
    else:
        arr = np.asarray(housing)
        if arr.dtype.kind in "iub":
            codes = arr.astype(np.int8)
            bad = (codes < 0) | (codes >= len(HOUSING))
            if bad.any():
                raise HazardError(
                    f"housing codes must be 0 (kacha) or 1 (pakka); {int(bad.sum())} are not "
                    f"(e.g. {arr[bad].ravel()[:3].tolist()})."
                )
        else:
            inverse, uniques = pd.factorize(arr.ravel())  # missing values get -1
            unknown = [str(u) for u in uniques if u not in HOUSING]
            if unknown:
                raise HazardError(
                    f"housing values {sorted(unknown)[:5]} are not one of {list(HOUSING)}; "
                    "recode them."
                )
            lookup = np.array([HOUSING.index(u) for u in uniques] + [-1], dtype=np.int8)
            codes = lookup[inverse].reshape(arr.shape)
    missing = codes < 0
    if missing.any():
        raise HazardError(
            f"{int(missing.sum())} entries have no housing type; fill them (e.g. 'kacha', the "
            f"cautious choice) before computing impact with {label}."
        )
    try:
        return np.broadcast_to(codes, shape)
    except ValueError:
        raise HazardError(
            f"housing of shape {codes.shape} does not match intensity of shape {shape}; pass one "
            "housing value per intensity value."
        ) from None
