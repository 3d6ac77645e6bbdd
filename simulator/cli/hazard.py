"""``madad hazard ...``: generate hazard layers and describe hazard rasters.

The lead registers it on the main app with ``app.add_typer(hazard_app, name="hazard")``.
Exit codes: 0 success; 2 bad input (unknown kind or parameter, bad bbox, unreadable file).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import typer

from hazards import generators
from hazards.errors import HazardError, MadadError
from simulator.cli.common import command_group, fail

#: Each kind's own parameters (besides bbox, resolution and seed), for the help text. Kept as
#: text so that ``madad --help`` does not import numpy, scipy and xarray; a test checks it
#: against :func:`hazards.generators.parameters`.
#: Each kind's generator parameters (besides bbox, resolution and seed), for --help.
KIND_PARAMETERS = {
    kind: ", ".join(n for n in generators.parameters(kind) if n not in ("bbox", "resolution", "seed"))
    for kind in generators.GENERATORS
}


hazard_app = command_group(
    "Generate hazard layers and describe hazard rasters.\n\n"
    "Example: madad hazard generate earthquake --magnitude 7.2 --out quake.tif\n\n"
    "Example: madad hazard info quake.tif"
)




def parse_value(text: str) -> Any:
    """A --param value: JSON (numbers, true/false, null, lists, quoted strings), a comma list,
    or else the text itself."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    if "," in text:
        return [parse_value(part) for part in text.split(",")]
    lowered = text.lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def parse_bbox(text: str) -> list[float]:
    """``"lon_min,lat_min,lon_max,lat_max"`` as four numbers [degrees]."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise HazardError(
            f"--bbox {text!r} must be four numbers lon_min,lat_min,lon_max,lat_max in degrees, "
            'e.g. --bbox "67.5,24.5,69.0,26.5".'
        )
    return values


def _params(
    kind: str,
    *,
    param: list[str] | None,
    seed: int | None,
    bbox: str | None,
    resolution: float | None,
    return_period: float | None,
    river: list[str] | None,
    magnitude: float | None,
    lon: float | None,
    lat: float | None,
    depth: float | None,
    dem: Path | None,
) -> dict[str, Any]:
    """The generator's keyword parameters from --param key=value and the first-class options."""
    params: dict[str, Any] = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise HazardError(f"--param {item!r} must be key=value, e.g. --param days=7.")
        params[key] = parse_value(value)

    options: dict[str, Any] = {
        "seed": seed,
        "bbox": parse_bbox(bbox) if bbox is not None else None,
        "resolution": resolution,
        "return_period": return_period,
        "river": list(river) if river else None,
        "magnitude": magnitude,
        "depth_km": depth,
        "dem": str(dem) if dem is not None else None,
    }
    if lon is not None or lat is not None:
        if kind == "earthquake":
            options["lon"], options["lat"] = lon, lat
        elif kind in ("flash-flood", "cyclone"):
            if lon is None or lat is None:
                raise HazardError(f"{kind}: give both --lon and --lat.")
            options["centres" if kind == "flash-flood" else "landfall"] = (
                [[lon, lat]] if kind == "flash-flood" else [lon, lat]
            )
        else:
            raise HazardError(
                f"--lon/--lat do not apply to {kind}; they set the epicentre (earthquake), the "
                "storm centre (flash-flood) or the landfall point (cyclone)."
            )
    for key, value in options.items():
        if value is None:
            continue
        if key in params:
            raise HazardError(f"{key} is given twice (as an option and as --param {key}=...); keep one.")
        params[key] = value
    return params


@hazard_app.command(
    epilog="Parameters by kind (for --param; all also take bbox, resolution, seed):\n\n"
    + "\n\n".join(f"{kind}: {names}" for kind, names in KIND_PARAMETERS.items())
)
def generate(
    kind: str = typer.Argument(
        ..., help="riverine-flood, flash-flood, heatwave, drought, earthquake or cyclone."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="GeoTIFF to write, e.g. flood.tif."),
    seed: int | None = typer.Option(None, help="Seed of the generator's randomness (default 0)."),
    bbox: str | None = typer.Option(
        None, help='Grid extent "lon_min,lat_min,lon_max,lat_max" in degrees (EPSG:4326).'
    ),
    resolution: float | None = typer.Option(
        None, help="Grid spacing in degrees (default 1/120, about 1 km)."
    ),
    return_period: float | None = typer.Option(
        None, "--return-period", "-T", help="Return period in years (riverine-flood, flash-flood)."
    ),
    river: list[str] | None = typer.Option(
        None, "--river", help="River of data/rivers.csv (repeat for several, or 'all'); riverine-flood."
    ),
    magnitude: float | None = typer.Option(None, help="Moment magnitude Mw (earthquake)."),
    lon: float | None = typer.Option(
        None, help="Longitude in degrees: epicentre, storm centre (flash-flood) or landfall (cyclone)."
    ),
    lat: float | None = typer.Option(None, help="Latitude in degrees, with --lon."),
    depth: float | None = typer.Option(None, help="Hypocentral depth in km (earthquake)."),
    dem: Path | None = typer.Option(
        None, help="DEM GeoTIFF in metres (riverine-flood: the waypoint HAND method; heatwave: lapse rate). "
        "The default terrain method uses the shipped GLOBE DEM's drainage."
    ),
    param: list[str] | None = typer.Option(
        None, "--param", "-p", help="key=value for any parameter of the generator (repeatable)."
    ),
) -> None:
    """Generate a hazard layer of KIND and write it as a GeoTIFF.

    Every kind has working defaults; options and --param key=value override them. An unknown kind or parameter is refused with the list of valid ones (exit code 2).

    Example: madad hazard generate riverine-flood --river indus --river chenab -T 100 --out flood.tif

    Example: madad hazard generate riverine-flood --dem data/dem/dem_globe_30arcsec_pakistan.tif -p method=hand --bbox "67.5,24.5,69,26.5" --out hand.tif

    Example: madad hazard generate earthquake --magnitude 7.6 --lon 73.59 --lat 34.49 --depth 26 -p measure=mmi --out kashmir_mmi.tif

    Example: madad hazard generate heatwave -p days=7 -p relative_humidity=60 --out heat.tif

    Example: madad hazard generate flash-flood -p method=terrain -p rainfall=monsoon_2022 -p max_relief_m=30 --out rain_flood.tif
    """
    import numpy as np

    from hazards import generators
    from hazards.io import write_geotiff

    try:
        params = _params(
            kind.strip().lower().replace("_", "-"), param=param, seed=seed, bbox=bbox,
            resolution=resolution, return_period=return_period, river=river, magnitude=magnitude,
            lon=lon, lat=lat, depth=depth, dem=dem,
        )
        layer = generators.generate(kind, **params)
        path = write_geotiff(layer, out)
    except MadadError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{out}: cannot write the GeoTIFF ({exc}).")
    values = np.asarray(layer.values, dtype=float)
    valid = values[np.isfinite(values)]
    summary = (f"min {valid.min():.4g}, max {valid.max():.4g}" if valid.size else "no valid cells")
    typer.echo(
        f"wrote {path}: {layer.attrs['kind']} [{layer.attrs['units']}], "
        f"{layer.shape[0]} x {layer.shape[1]} cells, {summary}"
    )


@hazard_app.command()
def info(
    file: Path = typer.Argument(..., help="Hazard raster: GeoTIFF/COG (NetCDF or Zarr where supported)."),
    units: str | None = typer.Option(None, help="Units of the values when the file does not state them, e.g. m."),
) -> None:
    """Describe a hazard raster: CRS, bounds, shape, resolution, units, kind, values, provenance.

    Example: madad hazard info flood.tif

    Example: madad hazard info depth_cm.tif --units cm
    """
    try:
        from hazards.io import read_raster as read
    except ImportError:  # an older hazards.io with GeoTIFF only
        from hazards.io import read_geotiff as read
    import numpy as np

    from hazards.layer import bounds_of, transform_of

    try:
        layer = read(file, units=units)
    except MadadError as exc:
        fail(str(exc))
    t = transform_of(layer)
    values = np.asarray(layer.values, dtype=float)
    finite = np.isfinite(values)
    valid = values[finite]
    left, bottom, right, top = bounds_of(layer)
    if valid.size:
        value_line = f"min {valid.min():.6g}, max {valid.max():.6g}, mean {valid.mean():.6g} (valid cells)"
    else:
        value_line = "no valid cells"
    try:
        provenance = json.dumps(json.loads(layer.attrs.get("provenance", "{}")), sort_keys=True)
    except ValueError:
        provenance = str(layer.attrs.get("provenance"))
    rows = [
        ("file", str(file)),
        ("crs", str(layer.attrs.get("crs"))),
        ("bounds", f"{left:.6f}, {bottom:.6f}, {right:.6f}, {top:.6f} (left, bottom, right, top)"),
        ("shape", f"{layer.shape[-2]} rows x {layer.shape[-1]} columns"),
        ("resolution", f"{abs(t.a):.8g} x {abs(t.e):.8g} (x, y; CRS units)"),
        ("units", str(layer.attrs.get("units"))),
        ("kind", str(layer.attrs.get("kind"))),
        ("values", value_line),
        ("nodata", f"{100.0 * (1.0 - finite.mean()):.2f} % of cells"),
        ("provenance", provenance),
    ]
    for key, value in rows:
        typer.echo(f"{key + ':':<12}{value}")


@hazard_app.command()
def events(
    kind: str = typer.Argument(..., help="riverine-flood, flash-flood, heatwave, drought, earthquake or cyclone."),
    out: Path = typer.Option(..., "--out", "-o", help="Event set file to write (.npz)."),
    n_events: int = typer.Option(100, "--events", "-n", help="Number of events."),
    years: float = typer.Option(10_000.0, help="Simulated years the events stand for."),
    seed: int = typer.Option(0, help="Seed of every draw."),
    bbox: str | None = typer.Option(None, help='Grid extent "lon_min,lat_min,lon_max,lat_max".'),
    resolution: float | None = typer.Option(None, help="Grid spacing in degrees (default 1/120)."),
    param: list[str] | None = typer.Option(None, "--param", "-p", help="key=value fixed generator parameter."),
    workers: int = typer.Option(1, min=1, max=64, help="Processes making footprints (the set is the same "
                                "whatever the number)."),
    threshold: float | None = typer.Option(None, help="Store only intensities at or beyond this (default: "
                                           "hazards.eventset.INTENSITY_THRESHOLDS: 39 degC for heat, SPI -0.9, wind "
                                           "15 m/s, MMI 4; floods every nonzero value)."),
) -> None:
    """Build a stochastic event set: N footprints of KIND with annual frequencies, stored sparse.

    Severity grows with each event's return period by the illustrative relations documented in
    hazards.events.return_period_footprint.

    Example: madad hazard events riverine-flood --events 200 --years 10000 --out floods.npz
    """
    from hazards import events as events_mod

    try:
        fixed = _params(kind.strip().lower().replace("_", "-"), param=param, seed=None, bbox=bbox,
                        resolution=resolution, return_period=None, river=None, magnitude=None,
                        lon=None, lat=None, depth=None, dem=None)
        fixed.pop("seed", None)
        footprint = events_mod.return_period_footprint(kind, **fixed)
        with typer.progressbar(length=n_events, label=f"{n_events} {kind} events", file=sys.stderr) as bar:
            event_set = events_mod.stochastic(kind, n_events, years=years, seed=seed, footprint=footprint,
                                              workers=workers, on_event=lambda: bar.update(1),
                                              intensity_threshold="default" if threshold is None else threshold)
        event_set.save(out)
    except MadadError as exc:
        fail(str(exc))
    typer.echo(f"wrote {out}: {event_set}")
