"""The household registry: schema, reading, validation with quarantine, and a synthetic generator.

Schema (one row per household; a raw CNIC is never a column)

=====================  ========  ==========================================================
column                 type      meaning
=====================  ========  ==========================================================
``household_id``       string    pseudonymous household id (e.g. a keyed hash); never a CNIC
``lon``, ``lat``       float64   location, EPSG:4326 degrees
``province_code``      string    PB, SD, KP, BA or IS; derived from the district if absent
``district_id``        string    2023 census district code, e.g. ``sd_dadu`` (data/districts.csv)
``tehsil_id``          string    tehsil code where known, else empty (optional)
``hh_size``            int16     persons in the household, 1 to 50
``pmt_score``          float32   proxy means test score, 0 (poorest) to 100
``enrolled_kafaalat``  bool      BISP Kafaalat beneficiary
``enrolled_prov_uct``  bool      in the province's unconditional cash programme
``enrolled_prov_cct``  bool      in the province's conditional cash programme
``female_headed``      bool      household headed by a woman
``disability``         bool      a member with a disability
``housing``            category  ``kacha`` (mud/unfired brick) or ``pakka`` (fired brick/concrete)
``children_under5``    int16     children under five in the household (optional, default 0)
``weight``             int32     households this row stands for (optional, default 1): 1 in a
                                 real registry; in a synthetic sample, census households per row
=====================  ========  ==========================================================

Files: GeoParquet (a WKB ``geometry`` point column plus ``lon``/``lat``; plain Parquet with
``lon``/``lat`` is accepted too) and CSV with a header row.

Rows that break the schema are never dropped silently: :func:`validate` returns them in a
quarantine table with the file row number and a reason each, and counts them in a report.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hazards import tables as data
from hazards.errors import RegistryError

log = logging.getLogger(__name__)

REQUIRED = ["household_id", "lon", "lat", "district_id", "hh_size", "pmt_score"]
FLAGS = [
    "enrolled_kafaalat",
    "enrolled_prov_uct",
    "enrolled_prov_cct",
    "female_headed",
    "disability",
]
OPTIONAL = ["province_code", "tehsil_id", *FLAGS, "housing", "children_under5", "weight"]
COLUMNS = [
    "household_id", "lon", "lat", "province_code", "district_id", "tehsil_id",
    "hh_size", "pmt_score", *FLAGS, "housing", "children_under5", "weight",
]
HOUSING = ["kacha", "pakka"]
MAX_HH_SIZE = 50
#: Column names that suggest a raw national identity number; such files are refused.
CNIC_COLUMN_NAMES = {"cnic", "cnic_no", "cnic_number", "nic", "national_id", "b_form"}
_CNIC_RE = r"^\d{5}-?\d{7}-?\d$"

# --- Assumptions of the synthetic generator (each is a parameter, named and sourced) -------
#: BISP Kafaalat eligibility cut-off: PMT <= 32. Source: Economic Survey 2021-22 (FACTS.md s.2).
KAFAALAT_PMT_CUTOFF = 32.0
#: Take-up of Kafaalat among eligible households. Chosen so that the caseload share is about
#: 9.3 M of 35 M NSER households (26.6 %; BISP Jan-Mar 2024 cycle, FACTS.md s.2-3).
KAFAALAT_TAKEUP = 0.90
#: Mean PMT score / 100 for rural and urban households, before provincial shifts. Calibrated so
#: that about 29.5 % of households score <= 32 (26.6 % caseload / 0.90 take-up). Assumption.
PMT_MEAN = {"rural": 0.39, "urban": 0.52}
#: Provincial shift of the mean PMT / 100: Sindh and Balochistan poorer (assumption, in line with
#: the 2022 flood caseload's provincial split, FACTS.md s.5).
PMT_SHIFT = {"PB": 0.03, "SD": -0.05, "KP": -0.01, "BA": -0.07, "IS": 0.12}
PMT_CONCENTRATION = 7.0
#: Female-headed households (assumption, about 1 in 9; PSLM reports 8-12 %), households with a
#: member with a disability (assumption), kacha share at PMT 0 and its fall per PMT point.
P_FEMALE_HEADED = 0.11
P_DISABILITY = 0.05
#: Chance that each member other than the head is a child under five (assumption giving about
#: 0.85 per household of 6.3, in line with under-fives being about 14 % of the population).
P_UNDER_FIVE = 0.16
#: Households per synthetic village and the spread of villages around anchors.
HOUSEHOLDS_PER_VILLAGE = 150
#: Urban density used to size the town around a district's point [persons per km2] (assumption).
URBAN_DENSITY = 8000.0
KM_PER_DEG = 111.32


@dataclass
class ValidationReport:
    """What validation found in one registry file."""

    source: str
    rows_read: int
    rows_valid: int
    rows_quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{self.source}: {self.rows_read:,} rows read, {self.rows_valid:,} valid, "
            f"{self.rows_quarantined:,} quarantined"
        ]
        lines += [f"  {reason}: {n:,}" for reason, n in sorted(self.reasons.items())]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "rows_quarantined": self.rows_quarantined,
            "reasons": dict(sorted(self.reasons.items())),
            "notes": self.notes,
        }


@dataclass
class Registry:
    """Validated households, the quarantined rows and the validation report."""

    households: pd.DataFrame
    quarantine: pd.DataFrame
    report: ValidationReport


# ---------------------------------------------------------------------------------------------
# Reading and validation
# ---------------------------------------------------------------------------------------------


def read_raw(path: str | Path) -> pd.DataFrame:
    """Read a registry file (GeoParquet, Parquet or CSV) without validating its rows.

    Raises
    ------
    RegistryError
        The file is missing, unreadable, of an unsupported type, lacks required columns or
        carries a raw CNIC column.
    """
    path = Path(path)
    if not path.exists():
        raise RegistryError(f"{path}: no such registry file. Give a .parquet or .csv file.")
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".geoparquet", ".pq"}:
            table = pq.read_table(path)
            if "geometry" in table.column_names:
                if "lon" not in table.column_names or "lat" not in table.column_names:
                    lon, lat = _points_from_wkb(table.column("geometry"))
                    table = table.append_column("lon", pa.array(lon))
                    table = table.append_column("lat", pa.array(lat))
                table = table.drop(["geometry"])
            frame = table.to_pandas()
        elif suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        else:
            raise RegistryError(
                f"{path}: unsupported registry format {suffix!r}; use .parquet (GeoParquet) or .csv."
            )
    except RegistryError:
        raise
    except Exception as exc:  # pyarrow / pandas parse errors
        raise RegistryError(f"{path}: cannot be read as a registry ({exc}).") from exc
    _check_columns(frame, str(path))
    return frame


def _points_from_wkb(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    import shapely

    geoms = shapely.from_wkb(column.to_numpy(zero_copy_only=False))
    return shapely.get_x(geoms), shapely.get_y(geoms)


def _check_columns(frame: pd.DataFrame, source: str) -> None:
    lowered = {c.lower() for c in frame.columns}
    cnic = sorted(lowered & CNIC_COLUMN_NAMES)
    if cnic:
        raise RegistryError(
            f"{source}: column {cnic[0]!r} looks like a raw CNIC. Madad never stores raw CNICs: "
            "replace it with a pseudonymous household_id (a keyed hash held by the data owner) "
            "and remove the column."
        )
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise RegistryError(
            f"{source}: required columns {missing} are missing. A registry needs "
            f"{REQUIRED}; optional: {OPTIONAL}."
        )


def _to_bool(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse a flag column; return (value, is_bad)."""
    if values.dtype == bool:
        return values.to_numpy(), np.zeros(len(values), bool)
    text = values.astype("string").str.strip().str.lower()
    truthy = text.isin(["true", "1", "yes", "y", "t"]).to_numpy(dtype=bool)
    falsy = text.isin(["false", "0", "no", "n", "f"]).to_numpy(dtype=bool)
    missing = text.isna().to_numpy(dtype=bool)
    return truthy, ~(truthy | falsy | missing)


def validate(raw: pd.DataFrame, *, source: str = "<registry>") -> Registry:
    """Check every row of a registry against the schema.

    Bad rows go to the quarantine, one row each with ``row`` (1-based data row of the file),
    ``household_id`` (redacted when it looks like a CNIC) and ``reason`` (``;``-joined codes).

    Reason codes: ``missing_<column>``, ``coords_swapped``, ``coords_outside_pakistan``,
    ``unknown_district``, ``province_mismatch``, ``impossible_size``, ``pmt_out_of_range``,
    ``invalid_<flag>``, ``invalid_housing``, ``id_looks_like_cnic``, ``duplicate_id``.
    """
    _check_columns(raw, source)
    n = len(raw)
    reasons: dict[str, np.ndarray] = {}
    notes: list[str] = []

    def flag(code: str, mask: np.ndarray) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            reasons[code] = reasons.get(code, np.zeros(n, bool)) | mask

    ids = raw["household_id"].astype("string").str.strip()
    flag("missing_household_id", ids.isna().to_numpy(dtype=bool) | (ids == "").fillna(False).to_numpy(dtype=bool))
    looks_cnic = ids.str.match(_CNIC_RE).fillna(False).to_numpy(dtype=bool)
    flag("id_looks_like_cnic", looks_cnic)

    lon = pd.to_numeric(raw["lon"], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(raw["lat"], errors="coerce").to_numpy(dtype=float)
    flag("missing_lon", np.isnan(lon))
    flag("missing_lat", np.isnan(lat))
    x0, y0, x1, y1 = data.PAKISTAN_BBOX
    inside = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    swapped = ~inside & (lat >= x0) & (lat <= x1) & (lon >= y0) & (lon <= y1)
    known = ~np.isnan(lon) & ~np.isnan(lat)
    flag("coords_swapped", swapped)
    flag("coords_outside_pakistan", known & ~inside & ~swapped)

    table = data.districts()
    district = raw["district_id"].astype("string").str.strip().str.lower()
    codes = pd.Index(table.district_id).get_indexer(district)
    flag("missing_district_id", district.isna().to_numpy(dtype=bool))
    flag("unknown_district", (codes < 0) & ~district.isna().to_numpy(dtype=bool))
    expected_prov = table.province_code.to_numpy()[np.where(codes >= 0, codes, 0)]
    if "province_code" in raw.columns:
        prov = raw["province_code"].astype("string").str.strip().str.upper()
        given = ~prov.isna().to_numpy(dtype=bool)
        flag("province_mismatch", given & (codes >= 0) & (prov.fillna("").to_numpy() != expected_prov))
    else:
        notes.append("province_code absent: derived from district_id")

    size = pd.to_numeric(raw["hh_size"], errors="coerce").to_numpy(dtype=float)
    flag("missing_hh_size", np.isnan(size))
    flag(
        "impossible_size",
        ~np.isnan(size) & ((size < 1) | (size > MAX_HH_SIZE) | (size != np.round(size))),
    )
    pmt = pd.to_numeric(raw["pmt_score"], errors="coerce").to_numpy(dtype=float)
    flag("missing_pmt_score", np.isnan(pmt))
    flag("pmt_out_of_range", ~np.isnan(pmt) & ((pmt < 0) | (pmt > 100)))
    if "children_under5" in raw.columns:
        under5 = pd.to_numeric(raw["children_under5"], errors="coerce").to_numpy(dtype=float)
        bad_u5 = ~np.isnan(under5) & ((under5 < 0) | (under5 != np.round(under5)) | (under5 >= np.nan_to_num(size, nan=np.inf)))
        flag("invalid_children_under5", bad_u5)
        under5 = np.nan_to_num(under5, nan=0.0)
    else:
        under5 = np.zeros(n)
        notes.append("children_under5 absent: assumed 0 for every household")
    if "weight" in raw.columns:
        weight = pd.to_numeric(raw["weight"], errors="coerce").to_numpy(dtype=float)
        flag("invalid_weight", np.isnan(weight) | (weight < 1) | (weight != np.round(weight)) | (weight > 1e6))
        weight = np.nan_to_num(weight, nan=1.0)
    else:
        weight = np.ones(n)

    flags = {}
    for name in FLAGS:
        if name in raw.columns:
            value, bad = _to_bool(raw[name])
            flag(f"invalid_{name}", bad)
            flags[name] = value
        else:
            flags[name] = np.zeros(n, bool)
            notes.append(f"{name} absent: assumed false for every household")
    if "housing" in raw.columns:
        housing = raw["housing"].astype("string").str.strip().str.lower()
        bad = ~housing.isin(HOUSING).fillna(False).to_numpy(dtype=bool) & ~housing.isna().to_numpy(dtype=bool)
        flag("invalid_housing", bad)
        housing = pd.Categorical(housing.where(~bad), categories=HOUSING)
    else:
        housing = pd.Categorical([None] * n, categories=HOUSING)
        notes.append("housing absent: unknown for every household")

    # Duplicates among otherwise valid rows: the first occurrence is kept, later ones quarantined.
    bad_so_far = np.zeros(n, bool)
    for mask in reasons.values():
        bad_so_far |= mask
    dup = ids.where(~bad_so_far).duplicated(keep="first").to_numpy(dtype=bool) & ~bad_so_far
    flag("duplicate_id", dup)

    bad = np.zeros(n, bool)
    for mask in reasons.values():
        bad |= mask
    good = ~bad

    tehsil = (
        raw["tehsil_id"].astype("string").str.strip().str.lower().to_numpy()[good]
        if "tehsil_id" in raw.columns
        else pd.array([pd.NA] * int(good.sum()), dtype="string")
    )
    households = pd.DataFrame(
        {
            "household_id": pd.array(ids.to_numpy()[good], dtype="string"),
            "lon": lon[good],
            "lat": lat[good],
            "province_code": pd.Categorical(expected_prov[good], categories=list(data.PROVINCES)),
            "district_id": pd.Categorical.from_codes(codes[good], categories=table.district_id),
            "tehsil_id": pd.array(tehsil, dtype="string"),
            "hh_size": size[good].astype(np.int16),
            "pmt_score": pmt[good].astype(np.float32),
            **{name: flags[name][good] for name in FLAGS},
            "housing": housing[good],
            "children_under5": under5[good].astype(np.int16),
            "weight": weight[good].astype(np.int32),
        }
    )

    quarantine = _quarantine(ids, looks_cnic, reasons, bad)
    report = ValidationReport(
        source=source,
        rows_read=n,
        rows_valid=int(good.sum()),
        rows_quarantined=int(bad.sum()),
        reasons={code: int(mask.sum()) for code, mask in reasons.items()},
        notes=notes,
    )
    if report.rows_quarantined:
        log.warning("%s: %d of %d rows quarantined", source, report.rows_quarantined, n)
    return Registry(households, quarantine, report)


def _quarantine(
    ids: pd.Series, looks_cnic: np.ndarray, reasons: dict[str, np.ndarray], bad: np.ndarray
) -> pd.DataFrame:
    rows = np.flatnonzero(bad)
    text = np.full(len(rows), "", dtype=object)
    for code, mask in sorted(reasons.items()):
        hit = mask[rows]
        text[hit] = np.where(text[hit] == "", code, text[hit] + ";" + code)
    shown = ids.to_numpy()[rows].astype(object)
    shown[looks_cnic[rows]] = "<redacted: looked like a CNIC>"
    return pd.DataFrame(
        {"row": rows + 1, "household_id": pd.array(shown, dtype="string"), "reason": text}
    )


def load(path: str | Path) -> Registry:
    """Read and validate a registry file."""
    return validate(read_raw(path), source=str(path))


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _wkb_points(lon: np.ndarray, lat: np.ndarray) -> pa.Array:
    """Little-endian WKB points built with numpy (21 bytes each), no per-point calls."""
    rec = np.empty(len(lon), dtype=[("bo", "u1"), ("t", "<u4"), ("x", "<f8"), ("y", "<f8")])
    rec["bo"] = 1
    rec["t"] = 1
    rec["x"] = lon
    rec["y"] = lat
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(21), len(rec), [None, pa.py_buffer(rec.tobytes())]
    )
    return fixed.cast(pa.binary())


_GEO_METADATA = {
    "version": "1.0.0",
    "primary_column": "geometry",
    "columns": {
        "geometry": {
            "encoding": "WKB",
            "geometry_types": ["Point"],
            "crs": None,  # replaced below with PROJJSON of EPSG:4326
        }
    },
}


def _geo_metadata() -> bytes:
    from pyproj import CRS

    meta = json.loads(json.dumps(_GEO_METADATA))
    meta["columns"]["geometry"]["crs"] = CRS.from_epsg(4326).to_json_dict()
    return json.dumps(meta).encode()


def _to_arrow(households: pd.DataFrame) -> pa.Table:
    frame = households[COLUMNS]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column("geometry", _wkb_points(frame.lon.to_numpy(), frame.lat.to_numpy()))
    meta = dict(table.schema.metadata or {})
    meta.pop(b"pandas", None)
    meta[b"geo"] = _geo_metadata()
    return table.replace_schema_metadata(meta)


def write(households: pd.DataFrame | Iterator[pd.DataFrame], path: str | Path) -> int:
    """Write households to GeoParquet (``.parquet``) or CSV (``.csv``); return rows written.

    Accepts one frame or an iterator of frames (chunks), so a national registry is written
    without holding it in memory twice.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    chunks = [households] if isinstance(households, pd.DataFrame) else households
    rows = 0
    if path.suffix.lower() == ".csv":
        for i, chunk in enumerate(chunks):
            chunk[COLUMNS].to_csv(path, mode="w" if i == 0 else "a", header=i == 0, index=False)
            rows += len(chunk)
        return rows
    if path.suffix.lower() not in {".parquet", ".geoparquet", ".pq"}:
        raise RegistryError(f"{path}: write registries as .parquet (GeoParquet) or .csv.")
    writer = None
    try:
        for chunk in chunks:
            table = _to_arrow(chunk)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table)
            rows += len(chunk)
    finally:
        if writer is not None:
            writer.close()
    return rows


# ---------------------------------------------------------------------------------------------
# Synthetic generator
# ---------------------------------------------------------------------------------------------


def district_counts(households: int, seed: int) -> np.ndarray:
    """Households per district: a multinomial draw on the 2023 census household shares."""
    table = data.districts()
    share = table.households_2023.to_numpy(dtype=float)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    return rng.multinomial(households, share / share.sum())


def _pseudonyms(index: np.ndarray, seed: int) -> np.ndarray:
    """16-hex-digit pseudonyms: a bijective 64-bit mix (splitmix64) of the row index.

    Distinct indices always give distinct ids; the ids carry no personal information.
    """
    key = np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
    with np.errstate(over="ignore"):
        z = index.astype(np.uint64) + key
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    raw = z.astype(">u8").view(np.uint8).reshape(-1, 8)
    hexed = np.empty((len(z), 16), dtype=np.uint8)
    hexed[:, 0::2] = digits[raw >> 4]
    hexed[:, 1::2] = digits[raw & 15]
    return hexed.view("S16").ravel()


def _generate_district(
    d: int, count: int, first_index: int, seed: int, anchors: np.ndarray
) -> dict[str, np.ndarray]:
    """Households of one district (vectorized over its households)."""
    table = data.districts()
    row = table.iloc[d]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1, d]))
    urban = rng.random(count) < row.urban_pct / 100.0
    lon = np.empty(count)
    lat = np.empty(count)
    coslat = np.cos(np.radians(row.lat))

    # Towns: a normal spread around the district's point, sized by the urban population.
    n_urban = int(urban.sum())
    urban_km = max(1.0, 0.5 * np.sqrt(row.pop_2023 * row.urban_pct / 100.0 / URBAN_DENSITY))
    lon[urban] = row.lon + rng.normal(0, urban_km, n_urban) / (KM_PER_DEG * coslat)
    lat[urban] = row.lat + rng.normal(0, urban_km, n_urban) / KM_PER_DEG

    # Villages: a fixed set per district, as many as the census's rural households / 150,
    # scattered around the district's anchors with lognormal sizes. The set depends on the seed
    # and district only, so a small registry is a sample of the same settlement pattern as a
    # national one. Households are jittered within about 300 m of their village centre.
    rural = ~urban
    n_rural = count - n_urban
    census_rural = row.households_2023 * (1.0 - row.urban_pct / 100.0)
    n_villages = max(1, int(np.ceil(census_rural / HOUSEHOLDS_PER_VILLAGE)))
    vrng = np.random.default_rng(np.random.SeedSequence([seed, 2, d]))
    spread_km = 0.3 * np.sqrt(row.area_sqkm / max(len(anchors), 1))
    which = vrng.integers(0, len(anchors), n_villages)
    v_lon = anchors[which, 0] + vrng.normal(0, spread_km, n_villages) / (KM_PER_DEG * coslat)
    v_lat = anchors[which, 1] + vrng.normal(0, spread_km, n_villages) / KM_PER_DEG
    weight = np.cumsum(vrng.lognormal(0.0, 0.8, n_villages))
    village = np.searchsorted(weight, rng.random(n_rural) * weight[-1], side="right")
    lon[rural] = v_lon[village] + rng.normal(0, 0.3, n_rural) / (KM_PER_DEG * coslat)
    lat[rural] = v_lat[village] + rng.normal(0, 0.3, n_rural) / KM_PER_DEG
    x0, y0, x1, y1 = data.PAKISTAN_BBOX
    lon = np.clip(lon, x0, x1).round(5)
    lat = np.clip(lat, y0, y1).round(5)

    size = np.clip(1 + rng.poisson(max(row.avg_hh_size - 1.0, 0.5), count), 1, 30).astype(np.int16)
    mean = np.where(urban, PMT_MEAN["urban"], PMT_MEAN["rural"]) + PMT_SHIFT[row.province_code]
    mean = np.clip(mean - 0.012 * (size - row.avg_hh_size), 0.05, 0.95)
    pmt = (100 * rng.beta(mean * PMT_CONCENTRATION, (1 - mean) * PMT_CONCENTRATION)).astype(
        np.float32
    ).round(2)
    poor = pmt <= KAFAALAT_PMT_CUTOFF
    kafaalat = poor & (rng.random(count) < KAFAALAT_TAKEUP)
    prov_uct = rng.random(count) < np.where(pmt <= 25, 0.25, np.where(pmt <= 40, 0.03, 0.0))
    prov_cct = rng.random(count) < np.where(pmt <= 35, 0.20, 0.0)
    female = rng.random(count) < P_FEMALE_HEADED
    disability = rng.random(count) < P_DISABILITY
    p_kacha = np.clip(np.where(urban, 0.35, 0.95) - pmt / 100.0, 0.02, 0.95)
    kacha = rng.random(count) < p_kacha
    under5 = rng.binomial(size.astype(np.int64) - 1, P_UNDER_FIVE).astype(np.int16)

    # Each row stands for census households: the district's households_2023 spread over its
    # rows as evenly as integers allow (at least 1 per row), so that a sample of any size sums
    # to the census.
    base, extra = divmod(int(row.households_2023), count) if count else (1, 0)
    weight = np.full(count, max(base, 1), dtype=np.int32)
    if base >= 1:
        weight[:extra] += 1

    index = np.arange(first_index, first_index + count)
    return {
        "household_id": _pseudonyms(index, seed),
        "lon": lon,
        "lat": lat,
        "district": np.full(count, d, np.int16),
        "hh_size": size,
        "pmt_score": pmt,
        "enrolled_kafaalat": kafaalat,
        "enrolled_prov_uct": prov_uct,
        "enrolled_prov_cct": prov_cct,
        "female_headed": female,
        "disability": disability,
        "kacha": kacha,
        "children_under5": under5,
        "weight": weight,
    }


def _frame(parts: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    table = data.districts()
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    prov_codes = pd.Categorical(table.province_code, categories=list(data.PROVINCES)).codes
    ids = pa.array(cols["household_id"], type=pa.binary(16)).cast(pa.string())
    return pd.DataFrame(
        {
            "household_id": pd.array(ids, dtype=pd.ArrowDtype(pa.string())),
            "lon": cols["lon"],
            "lat": cols["lat"],
            "province_code": pd.Categorical.from_codes(
                prov_codes[cols["district"]], categories=list(data.PROVINCES)
            ),
            "district_id": pd.Categorical.from_codes(cols["district"], categories=table.district_id),
            "tehsil_id": pd.array([pd.NA] * len(cols["lon"]), dtype="string"),
            "hh_size": cols["hh_size"],
            "pmt_score": cols["pmt_score"],
            **{name: cols[name] for name in FLAGS},
            "housing": pd.Categorical.from_codes(
                np.where(cols["kacha"], 0, 1).astype(np.int8), categories=HOUSING
            ),
            "children_under5": cols["children_under5"],
            "weight": cols["weight"],
        }
    )


def generate_chunks(
    households: int = 200_000, *, seed: int = 0, chunk_size: int = 2_000_000
) -> Iterator[pd.DataFrame]:
    """Synthetic households in chunks of whole districts (about ``chunk_size`` rows each).

    The result does not depend on ``chunk_size``: each district has its own seeded stream.

    Method: households per district are a multinomial draw on 2023 census household shares;
    a district's urban share (census) is placed as a town around its representative point, the
    rest in villages around 16 anchor points sampled inside the district polygon
    (``data/district_anchors.csv``); a district has one village per 150 rural households of the
    census, whatever the registry's size. Household size is 1 + Poisson(census average - 1).
    PMT scores are Beta-distributed, poorer in rural areas, in Sindh and Balochistan and in larger
    households, calibrated so that about 29.5 % score <= 32; Kafaalat enrolment is 90 % of those
    (about 26.6 % of all, the share of 9.3 M beneficiaries in 35 M NSER households). Provincial
    programme enrolment, female headship, disability and housing are assumptions stated as
    constants in this module. Tehsil codes are left empty (no tehsil geometry is shipped).
    Each row's ``weight`` is the number of census households it stands for (the district's
    2023 households spread evenly over its rows, at least 1), so plans from a sample are at
    national scale.
    """
    if households < 0:
        raise RegistryError(f"--households must be >= 0, got {households}.")
    counts = district_counts(households, seed)
    anchor_table = data.anchors()
    table = data.districts()
    groups = anchor_table.groupby("district_id")[["lon", "lat"]]
    anchor_arrays = {k: v.to_numpy() for k, v in groups}
    parts: list[dict[str, np.ndarray]] = []
    in_chunk = 0
    first = 0
    for d, count in enumerate(counts):
        if count == 0:
            continue
        anchors = anchor_arrays.get(table.district_id[d], table.loc[[d], ["lon", "lat"]].to_numpy())
        parts.append(_generate_district(d, int(count), first, seed, anchors))
        first += int(count)
        in_chunk += int(count)
        if in_chunk >= chunk_size:
            yield _frame(parts)
            parts, in_chunk = [], 0
    if parts:
        yield _frame(parts)


def generate(households: int = 200_000, *, seed: int = 0) -> pd.DataFrame:
    """A synthetic registry of ``households`` rows in memory (see :func:`generate_chunks`)."""
    chunks = list(generate_chunks(households, seed=seed, chunk_size=max(households, 1)))
    if not chunks:
        return _frame([_generate_district(0, 0, 0, seed, data.anchors()[["lon", "lat"]].to_numpy()[:1])])
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Federal and provincial registries together
# ---------------------------------------------------------------------------------------------

SOURCES = ["federal", "provincial"]


def read_links(path: str | Path) -> pd.DataFrame:
    """Linked pairs (``provincial_id``, ``federal_id``) from CSV or Parquet, one-to-one."""
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
