"""Delivery sites: read and validate a table of places that pay, register or hear complaints.

Schema (one row per site; CSV with a header row, GeoPackage or GeoParquet)

=========================  ========  ====================================================
column                     type      meaning
=========================  ========  ====================================================
``site_id``                string    unique id (``id`` is accepted as its name too)
``kind``                   category  one of :data:`KINDS`
``lon``, ``lat``           float64   location, EPSG:4326 degrees; or a point ``geometry``
                                     (GeoPackage/GeoParquet; reprojected to EPSG:4326)
``services``               text      ``;``-separated subset of :data:`SERVICES`
``operator``               category  ``federal`` or ``provincial``
``payments_per_day``       int32     payments the site can make in a day [households/day]
``registrations_per_day``  int32     registrations it can take in a day [households/day]
``name``                   string    optional label
``district_id``            string    optional, the district the site lies in (informative)
``province_code``          string    optional (informative)
``illustrative``           bool      optional (default false): true for made-up sites
``placement``              string    optional: how the location was chosen
``partner``                string    optional: the payment partner paying there (a
                                     ``partner_id`` of ``data/partners/partners.csv``);
                                     blank: the default partner of the site's kind
=========================  ========  ====================================================

Capacities: a column that is absent, or a blank cell, takes the kind's assumed default from
``data/sites/capacity_assumptions.csv`` (each an ASSUMPTION with its basis), and the report's
notes say how many were filled. A given value must be a whole number >= 0; a site offering
``payment`` needs ``payments_per_day`` > 0 (else ``payment_without_capacity``), likewise
registration.

Rows that break the schema are never dropped silently: they go to the quarantine with the 1-based
file row and ``;``-joined reason codes, and are counted in the report (the registry's
:class:`~simulator.registry.schema.ValidationReport`). Reason codes: ``missing_site_id``,
``duplicate_id``, ``missing_kind``, ``unknown_kind``, ``missing_lon``, ``missing_lat``,
``geometry_not_point``, ``coords_swapped``, ``coords_outside_pakistan``, ``missing_services``,
``unknown_service``, ``missing_operator``, ``unknown_operator``, ``invalid_<capacity>`` (not a
whole number), ``negative_<capacity>``, ``payment_without_capacity``,
``registration_without_capacity``, ``invalid_illustrative``.

The shipped table (:func:`illustrative_path`) is ILLUSTRATIVE: 926 BISP sites placed at stated
points from published counts (``data/sites/build_sites.py``, ``data/README.md`` section
"sites"). A user's real list replaces it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hazards import tables
from hazards.errors import DataFileError, RegistryError
from simulator.registry.schema import ValidationReport
from simulator.registry.validation import Reasons as _Reasons
from simulator.registry.validation import flag_places

log = logging.getLogger(__name__)

#: Site kinds, in code order.
KINDS = (
    "bisp_headquarters",
    "bisp_regional_office",
    "bisp_divisional_office",
    "bisp_tehsil_office",
    "nser_registration_centre",
    "one_window_centre",
    "campsite",
    "bank_branch",
    "bank_agent",
)
#: Services a site may offer.
SERVICES = ("payment", "registration", "complaints")
#: Who runs a site.
OPERATORS = ("federal", "provincial")
#: Columns a sites table must have (a point ``geometry`` may stand for ``lon``/``lat``).
REQUIRED = ["site_id", "kind", "lon", "lat", "services", "operator"]
#: Capacity columns [households/day]; absent or blank: the kind's assumed default.
CAPACITY = ["payments_per_day", "registrations_per_day"]
#: Optional descriptive columns kept as given.
DESCRIPTIVE = ["name", "district_id", "province_code", "placement", "partner"]
#: The columns of a validated sites frame, in order.
COLUMNS = [
    "site_id", "name", "kind", "lon", "lat", "services", "offers_payment", "offers_registration",
    "offers_complaints", "operator", "payments_per_day", "registrations_per_day", "district_id",
    "province_code", "illustrative", "placement", "partner",
]
ILLUSTRATIVE_FILE = "sites/sites_illustrative.csv"
ASSUMPTIONS_FILE = "sites/capacity_assumptions.csv"
GEO_SUFFIXES = {".gpkg"}
PARQUET_SUFFIXES = {".parquet", ".geoparquet", ".pq"}


@dataclass
class Sites:
    """Validated sites, the quarantined rows and the validation report.

    ``sites`` has :data:`COLUMNS` (one row per valid site, in file order); ``quarantine`` has
    ``row`` (1-based data row of the file), ``site_id`` and ``reason`` (``;``-joined codes).
    """

    sites: pd.DataFrame
    quarantine: pd.DataFrame
    report: ValidationReport


def illustrative_path() -> Path:
    """The shipped ILLUSTRATIVE national sites table (``data/sites/sites_illustrative.csv``).

    Raises
    ------
    DataFileError
        The file is missing (the message gives the command that rebuilds it).
    """
    path = tables.data_dir() / ILLUSTRATIVE_FILE
    if not path.exists():
        raise DataFileError(
            f"{path}: missing. It ships with the repository; rebuild it with "
            "`.venv/bin/python data/sites/build_sites.py`."
        )
    return path


def capacity_assumptions() -> pd.DataFrame:
    """The assumed staff and capacities per kind (``data/sites/capacity_assumptions.csv``):
    ``kind``, ``services``, ``payment_staff``, ``payments_per_day``, ``registration_staff``,
    ``registrations_per_day`` [households/day] and ``basis`` (each row an ASSUMPTION).

    Raises
    ------
    DataFileError
        The file is missing or lacks a kind of :data:`KINDS`.
    """
    path = tables.data_dir() / ASSUMPTIONS_FILE
    if not path.exists():
        raise DataFileError(f"{path}: missing. It ships with the repository (data/sites/).")
    table = pd.read_csv(path)
    absent = sorted(set(KINDS) - set(table.kind))
    if absent:
        raise DataFileError(f"{path}: no row for kinds {absent}; add one per kind of {list(KINDS)}.")
    return table.set_index("kind").loc[list(KINDS)].reset_index()


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def read_raw(path: str | Path) -> pd.DataFrame:
    """Read a sites file (CSV, GeoPackage, GeoParquet or Parquet) without validating its rows.

    A point ``geometry`` gives ``lon``/``lat`` [degrees, EPSG:4326] when those columns are absent
    (reprojected from the file's CRS; a geometry that is not a point gives missing coordinates
    and the reason ``geometry_not_point``). An ``id`` column is taken as ``site_id``.

    Raises
    ------
    RegistryError
        The file is missing, of an unsupported type, unreadable, without a CRS on its geometry,
        or lacking a required column (the message names the file, the column and the fix).
    """
    path = Path(path)
    if not path.exists():
        raise RegistryError(f"{path}: no such sites file. Give a .csv, .gpkg or .parquet file.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
        elif suffix in GEO_SUFFIXES or suffix in PARQUET_SUFFIXES:
            frame = _read_geo(path, suffix)
        else:
            raise RegistryError(
                f"{path}: unsupported sites format {suffix!r}; use .csv (lon/lat columns), "
                ".gpkg or .parquet (GeoParquet with point geometry)."
            )
    except RegistryError:
        raise
    except UnicodeDecodeError:
        raise RegistryError(f"{path}: the sites CSV is not UTF-8; save it as 'CSV UTF-8' and load it again.") from None
    except Exception as exc:  # parser errors of pandas, pyogrio, pyarrow
        raise RegistryError(f"{path}: cannot be read as a sites table ({exc}).") from exc
    return check_columns(frame, str(path))


def _read_geo(path: Path, suffix: str) -> pd.DataFrame:
    import geopandas as gpd
    import pyarrow.parquet as pq
    import shapely

    if suffix in PARQUET_SUFFIXES:
        meta = pq.read_schema(path).metadata or {}
        if b"geo" not in meta:  # plain Parquet: lon/lat columns
            return pd.read_parquet(path)
        frame = gpd.read_parquet(path)
    else:
        frame = gpd.read_file(path)
    if frame.geometry.name not in frame.columns or {"lon", "lat"} <= set(frame.columns):
        return pd.DataFrame(frame.drop(columns=[frame.geometry.name], errors="ignore"))
    if frame.crs is None:
        raise RegistryError(
            f"{path}: the geometry has no CRS, so its coordinates cannot be read safely. Set it "
            f"(e.g. `ogr2ogr -a_srs EPSG:4326 fixed{suffix} {path.name}`) or give lon/lat columns."
        )
    geoms = frame.geometry.to_crs(4326).values if not frame.crs.equals("EPSG:4326") else frame.geometry.values
    point = np.asarray(shapely.get_type_id(geoms) == 0) & ~np.asarray(shapely.is_empty(geoms))
    lon = np.where(point, shapely.get_x(geoms), np.nan)
    lat = np.where(point, shapely.get_y(geoms), np.nan)
    out = pd.DataFrame(frame.drop(columns=[frame.geometry.name]))
    out["lon"], out["lat"] = lon, lat
    out["_not_point"] = ~point
    return out


def check_columns(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """The frame, ``id`` renamed ``site_id``; refused when it lacks a required column.

    Raises
    ------
    RegistryError
        A column of :data:`REQUIRED` missing; the message lists the schema.
    """
    if "site_id" not in frame.columns and "id" in frame.columns:
        frame = frame.rename(columns={"id": "site_id"})
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise RegistryError(
            f"{source}: required columns {missing} are missing. A sites table needs {REQUIRED} "
            f"(or a point geometry for lon/lat); optional: {CAPACITY + DESCRIPTIVE + ['illustrative']}. "
            f"Kinds: {list(KINDS)}; services: {list(SERVICES)} joined by ';'."
        )
    return frame


def load(path: str | Path | None = None) -> Sites:
    """Read and validate a sites file; ``None`` loads the shipped ILLUSTRATIVE table."""
    path = illustrative_path() if path is None else Path(path)
    return validate(read_raw(path), source=str(path))


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _text(raw: pd.DataFrame, column: str) -> pd.Series:
    """A column as stripped text, missing as <NA> (empty text counts as missing)."""
    text = raw[column].astype("string").str.strip()
    return text.mask(text == "")


def _numbers(raw: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(raw[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _check_coordinates(raw: pd.DataFrame, reasons: _Reasons) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = _numbers(raw, "lon"), _numbers(raw, "lat")
    if "_not_point" in raw.columns:
        reasons.flag("geometry_not_point", raw["_not_point"].to_numpy(bool))
    else:
        reasons.flag("missing_lon", np.isnan(lon))
        reasons.flag("missing_lat", np.isnan(lat))
    flag_places(lon, lat, reasons)
    return lon, lat


def _check_services(raw: pd.DataFrame, reasons: _Reasons) -> tuple[pd.Series, dict[str, np.ndarray]]:
    text = _text(raw, "services").str.lower()
    reasons.flag("missing_services", text.isna().to_numpy())
    parts = text.fillna("").str.replace(",", ";").str.split(";")
    tokens = parts.explode().str.strip()
    tokens = tokens[tokens != ""]
    unknown = ~tokens.isin(SERVICES)
    reasons.flag("unknown_service", np.isin(np.arange(len(raw)), tokens.index[unknown.to_numpy()].to_numpy()))
    offers = {s: np.isin(np.arange(len(raw)), tokens.index[(tokens == s).to_numpy()].to_numpy()) for s in SERVICES}
    normal = pd.Series("", index=raw.index, dtype=object)
    for s in SERVICES:  # loops over the three services, not rows
        normal = normal.where(~offers[s], np.where(normal == "", s, normal + ";" + s))
    return normal.astype("string"), offers


def _check_choice(raw: pd.DataFrame, column: str, choices: tuple[str, ...], reasons: _Reasons) -> np.ndarray:
    text = _text(raw, column).str.lower()
    reasons.flag(f"missing_{column}", text.isna().to_numpy())
    codes = pd.Index(choices).get_indexer(text.fillna(""))
    reasons.flag(f"unknown_{column}", (codes < 0) & text.notna().to_numpy())
    return codes


def _check_capacity(raw: pd.DataFrame, column: str, kinds: np.ndarray, reasons: _Reasons,
                    notes: list[str]) -> np.ndarray:
    default = capacity_assumptions()[column].to_numpy(np.int64)
    assumed = default[np.where(kinds >= 0, kinds, 0)]
    if column not in raw.columns:
        notes.append(f"{column} absent: every site takes its kind's ASSUMED default "
                     f"({ASSUMPTIONS_FILE})")
        return assumed
    value = _numbers(raw, column)
    blank = _text(raw, column).isna().to_numpy()
    with np.errstate(invalid="ignore"):
        reasons.flag(f"invalid_{column}", ~blank & (np.isnan(value) | (value != np.floor(value)) | (value > 1e7)))
        reasons.flag(f"negative_{column}", value < 0)
    if blank.any():
        notes.append(f"{column}: {int(blank.sum()):,} blank cell(s) take their kind's ASSUMED "
                     f"default ({ASSUMPTIONS_FILE})")
    out = np.where(blank | np.isnan(value), assumed, np.nan_to_num(value))
    return np.clip(out, 0, 1e7).astype(np.int64)


def _check_flag(raw: pd.DataFrame, column: str, reasons: _Reasons) -> np.ndarray:
    if column not in raw.columns:
        return np.zeros(len(raw), bool)
    text = _text(raw, column).str.lower()
    truthy = text.isin(["true", "1", "yes", "y", "t"]).to_numpy(bool)
    falsy = text.isin(["false", "0", "no", "n", "f"]).to_numpy(bool) | text.isna().to_numpy()
    reasons.flag(f"invalid_{column}", ~truthy & ~falsy)
    return truthy


def validate(raw: pd.DataFrame, *, source: str = "<sites>") -> Sites:
    """Check every row of a sites table against the schema (see the module docstring).

    Parameters
    ----------
    raw
        Rows as read (:func:`read_raw`); values may be strings.
    source
        Where they came from, for the report and messages.

    Returns
    -------
    Sites
        Valid sites (:data:`COLUMNS`: ``lon``/``lat`` [degrees, EPSG:4326], capacities
        [households/day] int32, ``offers_*`` booleans), the quarantine and the report.

    Raises
    ------
    RegistryError
        A required column missing.
    """
    raw = check_columns(raw.reset_index(drop=True), source)
    n = len(raw)
    reasons = _Reasons(n)
    notes: list[str] = []
    ids = _text(raw, "site_id")
    reasons.flag("missing_site_id", ids.isna().to_numpy())
    kinds = _check_choice(raw, "kind", KINDS, reasons)
    lon, lat = _check_coordinates(raw, reasons)
    services, offers = _check_services(raw, reasons)
    operator = _check_choice(raw, "operator", OPERATORS, reasons)
    payments = _check_capacity(raw, "payments_per_day", kinds, reasons, notes)
    registrations = _check_capacity(raw, "registrations_per_day", kinds, reasons, notes)
    reasons.flag("payment_without_capacity", offers["payment"] & (payments <= 0))
    reasons.flag("registration_without_capacity", offers["registration"] & (registrations <= 0))
    illustrative = _check_flag(raw, "illustrative", reasons)
    # later repeats of an id among rows otherwise valid are duplicates
    ok = ~reasons.any_row()
    reasons.flag("duplicate_id", ok & ids.where(pd.Series(ok)).duplicated(keep="first").to_numpy()
                 & ids.notna().to_numpy())
    extra = [c for c in raw.columns if c not in set(REQUIRED + CAPACITY + DESCRIPTIVE) | {"illustrative", "_not_point"}]
    if extra:
        notes.append(f"columns {[str(c) for c in extra]} are not in the sites schema: not kept")

    bad = reasons.any_row()
    good = ~bad

    def optional(column: str) -> pd.Series:
        values = _text(raw, column) if column in raw.columns else pd.Series(pd.NA, index=raw.index, dtype="string")
        return values[good].reset_index(drop=True)

    sites = pd.DataFrame({
        "site_id": ids[good].reset_index(drop=True),
        "name": optional("name"),
        "kind": pd.Categorical.from_codes(kinds[good], categories=list(KINDS)),
        "lon": lon[good],
        "lat": lat[good],
        "services": services[good].reset_index(drop=True),
        **{f"offers_{s}": offers[s][good] for s in SERVICES},
        "operator": pd.Categorical.from_codes(operator[good], categories=list(OPERATORS)),
        "payments_per_day": payments[good].astype(np.int32),
        "registrations_per_day": registrations[good].astype(np.int32),
        "district_id": optional("district_id"),
        "province_code": optional("province_code"),
        "illustrative": illustrative[good],
        "placement": optional("placement"),
        "partner": optional("partner"),
    })
    rows = np.flatnonzero(bad)
    text = np.full(len(rows), "", dtype=object)
    for code, mask in sorted(reasons.masks.items()):  # loops over reason codes, not rows
        hit = mask[rows]
        text[hit] = np.where(text[hit] == "", code, text[hit] + ";" + code)
    quarantine = pd.DataFrame({"row": rows + 1, "site_id": ids.to_numpy()[rows], "reason": text})
    quarantine["site_id"] = quarantine["site_id"].astype("string")
    report = ValidationReport(
        source=source, rows_read=n, rows_valid=int(good.sum()), rows_quarantined=int(bad.sum()),
        reasons={code: int(mask.sum()) for code, mask in reasons.masks.items()}, notes=notes,
    )
    if report.rows_quarantined:
        log.warning("%s: %d of %d site rows quarantined", source, report.rows_quarantined, n)
    if not sites.empty and sites.illustrative.all():
        log.info("%s: ILLUSTRATIVE sites (not BISP's real list); load a real table to replace it", source)
    return Sites(sites, quarantine, report)
