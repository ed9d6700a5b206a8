"""Scenario files: TOML in, one validated, frozen :class:`Scenario` out.

A scenario file holds the top-level keys ``name``, ``description``, ``start_utc``,
``duration_s``, ``seed`` (and optionally ``truth_interval_s``), then arrays of tables
``[[nations]]``, ``[[sensors]]`` and ``[[objects]]``. Every key of the top level, of the nations
and of the sensors is checked here, in one place, against constraints declared as data; an
unknown key is an error. The ``[[objects]]`` tables are passed on untouched to
:func:`airpicture.sim.build_objects`, which checks them. Keys and their meaning are
documented in ``docs/scenarios.md``.

Errors are :class:`~airpicture.errors.ConfigError` naming the file, the dotted key (0-based
array indices, ``sensors[2].scan_period_s``), what was expected and what was found.

Angles are converted to radians on the way in (``*_deg`` keys become ``*_rad`` attributes).

Example
-------
>>> from airpicture.sim._scenario import load_scenario
>>> scenario = load_scenario("drill")
>>> scenario.name
'drill'
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from airpicture.errors import ConfigError
from airpicture.sim._platforms import FixedPlatform, Platform, RacetrackPath, WaypointPath
from airpicture.sim._scenario_rules import (
    _ANGLE_SIGMA,
    _ANY,
    _BIAS_ANGLE,
    _ELEVATION,
    _INT_SEED,
    _NAME,
    _NON_NEGATIVE,
    _POSITIVE,
    _PROBABILITY,
    _SIGMA,
    _boolean,
    _point,
    _real,
    _Rule,
    _sector,
    _Table,
    _text,
    _timestamp,
    _waypoints,
)
from airpicture.sim._scenario_types import (
    DEFAULT_REFRACTION_K,
    PLATFORMS,
    Nation,
    Scenario,
    SensorConfig,
)
from airpicture.sim._specs import show

__all__ = [
    "DEFAULT_REFRACTION_K",
    "PLATFORMS",
    "Nation",
    "Scenario",
    "SensorConfig",
    "is_library_scenario",
    "list_scenarios",
    "load_scenario",
    "load_scenario_data",
    "parse_scenario",
]

_SCANS = ("rotating", "staring")
_DETECTS = ("all", "boosting")
_SHIP_SPEED_MPS = (5.0, 15.0)
_SPACE_MIN_ALT_M = 100e3

_TOP_KEYS = (
    "name",
    "description",
    "start_utc",
    "duration_s",
    "seed",
    "truth_interval_s",
    "nations",
    "sensors",
    "objects",
)
_NATION_KEYS = ("code", "name", "colour")
_SENSOR_KEYS = (
    "id",
    "nation",
    "kind",
    "platform",
    "position",
    "path",
    "max_range_m",
    "min_elevation_deg",
    "max_elevation_deg",
    "sector",
    "scan",
    "scan_period_s",
    "sigma_range_m",
    "sigma_azimuth_deg",
    "sigma_elevation_deg",
    "sigma_range_rate_mps",
    "p_detect",
    "reference_snr_db",
    "reference_range_m",
    "p_false_alarm",
    "clutter_per_scan",
    "bias_range_m",
    "bias_azimuth_deg",
    "bias_elevation_deg",
    "latency_mean_s",
    "latency_jitter_s",
    "detects",
    "refraction_k",
)
_WAYPOINT_KEYS = ("type", "waypoints", "speed_mps", "loop")
_RACETRACK_KEYS = (
    "type",
    "centre",
    "alt_m",
    "length_m",
    "turn_radius_m",
    "heading_deg",
    "speed_mps",
    "start_fraction",
    "clockwise",
)


def _array_of_tables(top: _Table, name: str, *, required: bool) -> list[Any]:
    top.used.add(name)
    value = top.data.get(name, [])
    if not isinstance(value, list) or (required and not value):
        raise ConfigError(
            top.source,
            key=name,
            expected=f"at least one [[{name}]] table" if required else f"[[{name}]] tables",
            got=show(value) if name in top.data else "nothing (missing)",
        )
    return value


def _parse_nation(data: Any, source: str, prefix: str) -> Nation:
    table = _Table(data, source=source, prefix=prefix)
    code = table.get(
        "code", _text(pattern="[A-Z]{3}", what="an ISO 3166-1 alpha-3 code such as 'JPN'")
    )
    name = table.get("name", _NAME)
    colour = table.get(
        "colour", _text(pattern="#[0-9a-fA-F]{6}", what="a colour '#rrggbb'"), default=None
    )
    table.finish(_NATION_KEYS)
    return Nation(code=code, name=name, colour=colour)


def _parse_path(data: Any, source: str, prefix: str, *, platform: str, t0_s: float) -> Platform:
    table = _Table(data, source=source, prefix=prefix)
    kinds = ("waypoints",) if platform == "ship" else ("waypoints", "racetrack")
    kind = table.get("type", _text(choices=kinds))
    if kind == "waypoints":
        points = table.get("waypoints", _waypoints())
        if platform == "ship":
            lo, hi = _SHIP_SPEED_MPS
            speed_rule = _real(lo, hi)
            speed_rule = _Rule(f"{speed_rule.expected} (a ship's speed)", speed_rule.convert)
        else:
            speed_rule = _POSITIVE
        speed = table.get("speed_mps", speed_rule)
        loop = table.get("loop", _boolean(), default=False)
        table.finish(_WAYPOINT_KEYS)
        return WaypointPath(waypoints=points, speed_mps=speed, t0_s=t0_s, loop=loop)
    centre = table.get("centre", _point(alt_required=False))
    if len(centre) == 3:
        raise ConfigError(
            source,
            key=table.key("centre"),
            expected="[lat_deg, lon_deg] (the height is alt_m)",
            got=show(table.data["centre"]),
        )
    path = RacetrackPath(
        centre_lat_rad=centre[0],
        centre_lon_rad=centre[1],
        alt_m=table.get("alt_m", _real(0.0, 30000.0), default=9000.0),
        length_m=table.get("length_m", _POSITIVE),
        turn_radius_m=table.get("turn_radius_m", _POSITIVE),
        heading_rad=math.radians(table.get("heading_deg", _real(0.0, 360.0))),
        speed_mps=table.get("speed_mps", _real(0.0, 400.0, lo_open=True)),
        t0_s=t0_s,
        start_fraction=table.get("start_fraction", _real(0.0, 1.0, hi_open=True), default=0.0),
        clockwise=table.get("clockwise", _boolean(), default=True),
    )
    table.finish(_RACETRACK_KEYS)
    return path


def _parse_sensor(
    data: Any, source: str, prefix: str, *, nations: tuple[str, ...], t0_s: float
) -> SensorConfig:
    table = _Table(data, source=source, prefix=prefix)
    sensor_id = table.get(
        "id", _text(pattern=r"[^,\s\"]+", what="a non-empty id without spaces, commas or quotes")
    )
    nation = table.get(
        "nation",
        _text(choices=nations) if nations else _text(),
    )
    kind = table.get("kind", _text(choices=("radar", "ir")))
    platform = table.get("platform", _text(choices=PLATFORMS))

    # Where: a fixed position or a path, never both.
    if table.has("position") == table.has("path"):
        allowed = "position" if platform in ("ground", "space") else "position or path"
        raise ConfigError(
            source,
            key=table.key("position"),
            expected=f"exactly one of position and path (a {platform} sensor takes {allowed})",
            got="both" if table.has("position") else "neither",
        )
    if table.has("position"):
        lat, lon, alt = table.get("position", _point(alt_required=True))
        if platform == "space" and alt < _SPACE_MIN_ALT_M:
            raise ConfigError(
                source,
                key=table.key("position"),
                expected=f"a space sensor's height of at least {_SPACE_MIN_ALT_M:g} m",
                got=f"{alt:g} m",
            )
        path: Platform = FixedPlatform(lat_rad=lat, lon_rad=lon, alt_m=alt)
    else:
        table.used.add("path")
        if platform in ("ground", "space"):
            raise ConfigError(
                source,
                key=table.key("path"),
                expected=f"a fixed position for a {platform} sensor",
                got="a path",
            )
        path = _parse_path(
            table.data["path"], source, table.key("path"), platform=platform, t0_s=t0_s
        )

    max_range_m = table.get("max_range_m", _POSITIVE)
    min_el = table.get("min_elevation_deg", _ELEVATION)
    max_el = table.get("max_elevation_deg", _ELEVATION)
    if max_el <= min_el:
        raise ConfigError(
            source,
            key=table.key("max_elevation_deg"),
            expected=f"more than min_elevation_deg ({min_el:g})",
            got=show(max_el),
        )
    sector = table.get("sector", _sector(), default=None)
    default_scan = "rotating" if kind == "radar" else "staring"
    scan = table.get("scan", _text(choices=_SCANS), default=default_scan)
    scan_period_s = table.get("scan_period_s", _POSITIVE)

    nan = math.nan
    if kind == "radar":
        sigma_range_m = table.get("sigma_range_m", _SIGMA)
        sigma_rr = table.get("sigma_range_rate_mps", _SIGMA, default=nan)
        bias_range_m = table.get("bias_range_m", _ANY, default=0.0)
    else:
        for name in ("sigma_range_m", "sigma_range_rate_mps", "bias_range_m"):
            table.forbid(name, "for an ir sensor (it measures azimuth and elevation only)")
        sigma_range_m = sigma_rr = bias_range_m = nan
    sigma_az = math.radians(table.get("sigma_azimuth_deg", _ANGLE_SIGMA))
    sigma_el = math.radians(table.get("sigma_elevation_deg", _ANGLE_SIGMA))

    # Detection: a fixed Pd, or the radar equation with Swerling 1 fluctuation.
    equation_keys = ("reference_snr_db", "reference_range_m", "p_false_alarm")
    if table.has("p_detect"):
        p_detect = table.get("p_detect", _PROBABILITY)
        for name in equation_keys:
            table.forbid(name, "when p_detect is set (choose a fixed Pd or the radar equation)")
        ref_snr_db = ref_range_m = p_fa = nan
    elif kind == "ir":
        p_detect = table.get("p_detect", _PROBABILITY)
        ref_snr_db = ref_range_m = p_fa = nan
    else:
        if not any(table.has(name) for name in equation_keys):
            raise ConfigError(
                source,
                key=table.key("p_detect"),
                expected="p_detect, or reference_snr_db, reference_range_m and p_false_alarm",
                got="none of them",
            )
        p_detect = nan
        ref_snr_db = table.get("reference_snr_db", _real(-50.0, 150.0))
        ref_range_m = table.get("reference_range_m", _POSITIVE)
        p_fa = table.get("p_false_alarm", _real(0.0, 1.0, lo_open=True, hi_open=True))

    clutter = table.get("clutter_per_scan", _NON_NEGATIVE, default=0.0)
    bias_az = math.radians(table.get("bias_azimuth_deg", _BIAS_ANGLE, default=0.0))
    bias_el = math.radians(table.get("bias_elevation_deg", _BIAS_ANGLE, default=0.0))
    latency_mean_s = table.get("latency_mean_s", _NON_NEGATIVE, default=0.0)
    latency_jitter_s = table.get("latency_jitter_s", _NON_NEGATIVE, default=0.0)
    if latency_jitter_s > 0.0 and latency_mean_s == 0.0:
        raise ConfigError(
            source,
            key=table.key("latency_mean_s"),
            expected="a positive mean delay when latency_jitter_s is set",
            got="0",
        )
    if kind == "ir":
        detects = table.get("detects", _text(choices=_DETECTS), default="boosting")
    else:
        table.forbid("detects", "for a radar (radars see every object in their volume)")
        detects = "all"
    refraction_k = table.get("refraction_k", _real(0.5, 10.0), default=DEFAULT_REFRACTION_K)
    table.finish(_SENSOR_KEYS)

    return SensorConfig(
        sensor_id=sensor_id,
        nation=nation,
        kind=kind,
        platform=platform,
        path=path,
        max_range_m=max_range_m,
        min_elevation_rad=math.radians(min_el),
        max_elevation_rad=math.radians(max_el),
        sector_rad=sector,
        scan=scan,
        scan_period_s=scan_period_s,
        sigma_range_m=sigma_range_m,
        sigma_azimuth_rad=sigma_az,
        sigma_elevation_rad=sigma_el,
        sigma_range_rate_mps=sigma_rr,
        p_detect=p_detect,
        reference_snr_db=ref_snr_db,
        reference_range_m=ref_range_m,
        p_false_alarm=p_fa,
        clutter_per_scan=clutter,
        bias_range_m=bias_range_m,
        bias_azimuth_rad=bias_az,
        bias_elevation_rad=bias_el,
        latency_mean_s=latency_mean_s,
        latency_jitter_s=latency_jitter_s,
        detects=detects,
        refraction_k=refraction_k,
    )


def parse_scenario(data: Mapping[str, Any], *, source: str) -> Scenario:
    """Validate the parsed TOML of a scenario file.

    Parameters
    ----------
    data : mapping
        The document as returned by :func:`tomllib.load`.
    source : str
        Where it came from (a file name), for error messages.

    Returns
    -------
    Scenario

    Raises
    ------
    ConfigError
        The first key that is missing, unknown or out of range, with what was expected.
    """
    top = _Table(dict(data), source=source, prefix="")
    name = top.get("name", _NAME)
    description = top.get("description", _text(what="a one-line description"))
    t0_s = top.get("start_utc", _timestamp())
    duration_s = top.get("duration_s", _POSITIVE)
    seed = top.get("seed", _INT_SEED)
    truth_interval_s = top.get("truth_interval_s", _POSITIVE, default=1.0)

    nations = tuple(
        _parse_nation(item, source, f"nations[{i}]")
        for i, item in enumerate(_array_of_tables(top, "nations", required=True))
    )
    codes = [n.code for n in nations]
    for i, code in enumerate(codes):
        if code in codes[:i]:
            raise ConfigError(
                source,
                key=f"nations[{i}].code",
                expected="a code not listed before",
                got=repr(code),
            )

    sensors = tuple(
        _parse_sensor(item, source, f"sensors[{i}]", nations=tuple(codes), t0_s=t0_s)
        for i, item in enumerate(_array_of_tables(top, "sensors", required=True))
    )
    ids = [s.sensor_id for s in sensors]
    for i, sensor_id in enumerate(ids):
        if sensor_id in ids[:i]:
            raise ConfigError(
                source,
                key=f"sensors[{i}].id",
                expected="an id not used by another sensor",
                got=repr(sensor_id),
            )

    objects = _array_of_tables(top, "objects", required=False)
    for i, item in enumerate(objects):
        if not isinstance(item, dict):
            raise ConfigError(source, key=f"objects[{i}]", expected="a table", got=show(item))
    top.finish(_TOP_KEYS)

    return Scenario(
        name=name,
        description=description,
        source=source,
        t0_s=t0_s,
        duration_s=duration_s,
        seed=seed,
        truth_interval_s=truth_interval_s,
        nations=nations,
        sensors=sensors,
        objects=tuple(objects),
    )


# ----------------------------------------------------------------------------------------------
# Files and the library shipped in the package.


def _library_dir() -> Path:
    return Path(str(resources.files("airpicture.sim").joinpath("library")))


def list_scenarios() -> list[tuple[str, str]]:
    """The scenarios shipped in the package: ``(name, description)`` pairs sorted by name."""
    out = []
    for path in sorted(_library_dir().glob("*.toml"), key=lambda p: p.stem):
        scenario = _load_file(path)
        out.append((path.stem, scenario.description))
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    source = str(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            source, key="(file)", expected="an existing file", got="no such file"
        ) from None
    except OSError as exc:
        raise ConfigError(
            source, key="(file)", expected="a readable TOML file", got=exc.strerror or str(exc)
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, key="(syntax)", expected="valid TOML", got=str(exc)) from None


def _load_file(path: Path) -> Scenario:
    return parse_scenario(_read_toml(path), source=str(path))


def is_library_scenario(name: str | Path) -> bool:
    """Whether ``name`` is a bare name (no folder, no ``.toml``) of a library scenario: what
    :func:`load_scenario` looks up first, before any file or folder of that name."""
    text = str(name)
    if isinstance(name, Path) or text.endswith(".toml") or "/" in text or os.sep in text:
        return False
    return (_library_dir() / f"{text}.toml").is_file()


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a scenario by library name (``"drill"``) or from a TOML file path.

    Parameters
    ----------
    name_or_path : str or Path
        A name listed by :func:`list_scenarios`, or the path of a ``.toml`` file. A bare name
        (no folder, no ``.toml``) is looked up in the library first, so an output folder
        called ``drill`` does not hide the ``drill`` scenario.

    Returns
    -------
    Scenario

    Raises
    ------
    ConfigError
        An unknown name, a missing or malformed file, or an invalid key (:func:`parse_scenario`).
    """
    return _load_file(_scenario_file(name_or_path))


def load_scenario_data(name_or_path: str | Path) -> dict[str, Any]:
    """The contents of a scenario file, found as :func:`load_scenario` finds it, unchecked
    (for tools that make scenarios from others, such as
    :func:`~airpicture.sim.randomized_scenario`).

    Raises
    ------
    ConfigError
        An unknown name, or a missing or malformed file.
    """
    return _read_toml(_scenario_file(name_or_path))


def _scenario_file(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    path = Path(text)
    if is_library_scenario(name_or_path):
        return _library_dir() / f"{text}.toml"
    looks_like_path = (
        isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text or os.sep in text
    )
    if looks_like_path or path.is_file():
        return path
    names = ", ".join(sorted(p.stem for p in _library_dir().glob("*.toml")))
    raise ConfigError(
        "scenario library",
        key="name",
        expected=f"a library scenario ({names}) or a .toml file",
        got=repr(text),
    )
