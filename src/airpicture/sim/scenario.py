"""Scenario files: TOML in, one validated, frozen :class:`Scenario` out.

A scenario file holds the top-level keys ``name``, ``description``, ``start_utc``,
``duration_s``, ``seed`` (and optionally ``truth_interval_s``), then arrays of tables
``[[nations]]``, ``[[sensors]]`` and ``[[objects]]``. Every key of the top level, of the nations
and of the sensors is checked here, in one place, against constraints declared as data; an
unknown key is an error. The ``[[objects]]`` tables are passed on untouched to
:func:`airpicture.sim.objects.build_objects`, which checks them. Keys and their meaning are
documented in ``docs/scenarios.md``.

Errors are :class:`~airpicture.errors.ConfigError` naming the file, the dotted key (0-based
array indices, ``sensors[2].scan_period_s``), what was expected and what was found.

Angles are converted to radians on the way in (``*_deg`` keys become ``*_rad`` attributes).

Example
-------
>>> from airpicture.sim.scenario import load_scenario
>>> scenario = load_scenario("drill")
>>> scenario.name
'drill'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from airpicture.errors import ConfigError
from airpicture.sim.platforms import FixedPlatform, Platform, RacetrackPath, WaypointPath
from airpicture.tables import Sensor

__all__ = [
    "DEFAULT_REFRACTION_K",
    "PLATFORMS",
    "Nation",
    "Scenario",
    "SensorConfig",
    "list_scenarios",
    "load_scenario",
    "parse_scenario",
]

DEFAULT_REFRACTION_K = 4.0 / 3.0
"""Effective earth radius factor of the standard atmosphere (the 4/3-earth model)."""

PLATFORMS = ("ground", "ship", "airborne", "space")
"""Platform kinds of a sensor."""

_SCANS = ("rotating", "staring")
_DETECTS = ("all", "boosting")
_SHIP_SPEED_MPS = (5.0, 15.0)
_SPACE_MIN_ALT_M = 100e3


@dataclass(frozen=True)
class Nation:
    """A nation taking part: ISO 3166-1 alpha-3 ``code``, display ``name``, optional ``colour``."""

    code: str
    name: str
    colour: str | None = None


@dataclass(frozen=True)
class SensorConfig:
    """One validated ``[[sensors]]`` table; angles in radians, NaN where a value does not apply.

    Attributes
    ----------
    sensor_id, nation, kind, platform : str
        Identity; ``kind`` is ``radar`` or ``ir``, ``platform`` one of :data:`PLATFORMS`.
    path : Platform
        Where the sensor is at any time (:mod:`airpicture.sim.platforms`).
    max_range_m : float
        Instrumented range, m.
    min_elevation_rad, max_elevation_rad : float
        Elevation limits in the sensor's ENU frame, rad.
    sector_rad : tuple of float or None
        ``(az_min, az_max)`` azimuth sector clockwise from north, rad, in [0, 2*pi); the sector
        runs clockwise from ``az_min`` to ``az_max`` (it may cross north). None: all round.
    scan : str
        ``rotating`` (the beam sweeps the sector once per period; each object is seen when the
        beam passes it) or ``staring`` (every object in view is measured at the frame time).
    scan_period_s : float
        Revisit period, s.
    sigma_range_m, sigma_azimuth_rad, sigma_elevation_rad, sigma_range_rate_mps : float
        1-sigma Gaussian measurement noise; ``sigma_range_m`` is NaN for ``ir``,
        ``sigma_range_rate_mps`` NaN when the sensor reports no range rate.
    p_detect : float
        Fixed probability of detection, or NaN when the radar equation is used.
    reference_snr_db, reference_range_m, p_false_alarm : float
        Radar-equation detection model (NaN when ``p_detect`` is fixed): the SNR of a 1 m^2
        target at the reference range, and the false-alarm probability of the detector.
    clutter_per_scan : float
        Mean of the Poisson number of false detections per scan.
    bias_range_m, bias_azimuth_rad, bias_elevation_rad : float
        Registration biases added to every measurement of the sensor (NaN range bias for ``ir``).
    latency_mean_s, latency_jitter_s : float
        Mean and standard deviation of the log-normal report delay, s.
    detects : str
        ``all`` objects, or only ``boosting`` ones (hot plumes, ``ir`` only).
    refraction_k : float
        Effective earth radius factor for the line-of-sight check (4/3 by default).
    """

    sensor_id: str
    nation: str
    kind: str
    platform: str
    path: Platform
    max_range_m: float
    min_elevation_rad: float
    max_elevation_rad: float
    sector_rad: tuple[float, float] | None
    scan: str
    scan_period_s: float
    sigma_range_m: float
    sigma_azimuth_rad: float
    sigma_elevation_rad: float
    sigma_range_rate_mps: float
    p_detect: float
    reference_snr_db: float
    reference_range_m: float
    p_false_alarm: float
    clutter_per_scan: float
    bias_range_m: float
    bias_azimuth_rad: float
    bias_elevation_rad: float
    latency_mean_s: float
    latency_jitter_s: float
    detects: str
    refraction_k: float

    @property
    def has_range(self) -> bool:
        """True for radars (they measure range)."""
        return self.kind == "radar"

    @property
    def has_range_rate(self) -> bool:
        """True when the sensor reports range rate."""
        return not math.isnan(self.sigma_range_rate_mps)

    def table_row(self, lat_rad: float, lon_rad: float, alt_m: float) -> Sensor:
        """The data-contract :class:`~airpicture.tables.Sensor` row, at the given position."""
        return Sensor(
            sensor_id=self.sensor_id,
            nation=self.nation,
            kind=self.kind,
            lat_rad=float(lat_rad),
            lon_rad=float(lon_rad),
            alt_m=float(alt_m),
            sigma_range_m=self.sigma_range_m,
            sigma_azimuth_rad=self.sigma_azimuth_rad,
            sigma_elevation_rad=self.sigma_elevation_rad,
            sigma_range_rate_mps=self.sigma_range_rate_mps,
            max_range_m=self.max_range_m,
            scan_period_s=self.scan_period_s,
            p_detect=self.p_detect,
            clutter_per_scan=self.clutter_per_scan,
        )


@dataclass(frozen=True)
class Scenario:
    """A validated scenario.

    Attributes
    ----------
    name, description : str
    source : str
        The file it came from (used in every error message about it).
    t0_s : float
        Start time, s since the Unix epoch (``start_utc``).
    duration_s : float
        Length of the simulation, s.
    seed : int
        Seed of every random draw: the same seed gives byte-identical output.
    truth_interval_s : float
        Spacing of the truth table, s.
    nations : tuple of Nation
    sensors : tuple of SensorConfig
        In file order.
    objects : tuple of dict
        The raw ``[[objects]]`` tables, for :func:`airpicture.sim.objects.build_objects`.
    """

    name: str
    description: str
    source: str
    t0_s: float
    duration_s: float
    seed: int
    truth_interval_s: float
    nations: tuple[Nation, ...]
    sensors: tuple[SensorConfig, ...]
    objects: tuple[dict[str, Any], ...]

    @property
    def t_end_s(self) -> float:
        """End time, s since the epoch."""
        return self.t0_s + self.duration_s

    def with_overrides(
        self, *, seed: int | None = None, duration_s: float | None = None
    ) -> Scenario:
        """A copy with another seed and/or duration (as given on the command line).

        A shorter duration leaves out the objects that would start (``start_s``, ``launch_s``)
        only after the new end, so the first minutes of a long scenario can be run on their own.

        Raises
        ------
        ConfigError
            A negative seed or a duration that is not a positive finite number.
        """
        changes: dict[str, Any] = {}
        if seed is not None:
            changes["seed"] = _INT_SEED.check(seed, "command line", "--seed")
        if duration_s is not None:
            duration = _POSITIVE.check(duration_s, "command line", "--duration")
            changes["duration_s"] = duration
            changes["objects"] = tuple(o for o in self.objects if _starts_before(o, duration))
        return dataclasses.replace(self, **changes) if changes else self


def _starts_before(spec: dict[str, Any], duration_s: float) -> bool:
    """Whether an object table's own start time (if it gives one as a number) is before the end."""
    for key in ("start_s", "launch_s"):
        value = spec.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= duration_s:
            return False
    return True


# ----------------------------------------------------------------------------------------------
# Constraints as data: each rule converts a TOML value or raises with what it expected.


class _Bad(Exception):
    """A value that broke a rule (internal; becomes a ConfigError with the key)."""


def _show(value: object) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        text = repr(value)
        return (text[:60] + "...'") if len(text) > 64 else text
    if isinstance(value, dict):
        return f"a table with keys {sorted(value)}"
    if isinstance(value, list):
        text = repr(value)
        return text if len(text) <= 80 else text[:76] + " ...]"
    return repr(value)


@dataclass(frozen=True)
class _Rule:
    expected: str
    convert: Callable[[Any], Any]

    def check(self, value: Any, source: str, key: str) -> Any:
        try:
            return self.convert(value)
        except _Bad:
            raise ConfigError(source, key=key, expected=self.expected, got=_show(value)) from None


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad
    out = float(value)
    if not math.isfinite(out):
        raise _Bad
    return out


def _real(
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> _Rule:
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    lo_text = "-inf" if lo is None else f"{lo:g}"
    hi_text = "inf" if hi is None else f"{hi:g}"
    if lo is None and hi is None:
        expected = "a finite number"
    else:
        expected = f"a number in {left}{lo_text}, {hi_text}{right}"

    def convert(value: Any) -> float:
        x = _number(value)
        if lo is not None and (x < lo or (lo_open and x == lo)):
            raise _Bad
        if hi is not None and (x > hi or (hi_open and x == hi)):
            raise _Bad
        return x

    return _Rule(expected, convert)


def _integer(lo: int, hi: int) -> _Rule:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise _Bad
        return int(value)

    return _Rule(f"an integer in [{lo}, {hi}]", convert)


def _text(
    *,
    choices: tuple[str, ...] | None = None,
    pattern: str | None = None,
    what: str = "a non-empty string",
) -> _Rule:
    if choices is not None:
        expected = "one of " + ", ".join(repr(c) for c in choices)
    else:
        expected = what

    def convert(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _Bad
        if choices is not None and value not in choices:
            raise _Bad
        if pattern is not None and re.fullmatch(pattern, value) is None:
            raise _Bad
        return value

    return _Rule(expected, convert)


def _boolean() -> _Rule:
    def convert(value: Any) -> bool:
        if not isinstance(value, bool):
            raise _Bad
        return value

    return _Rule("true or false", convert)


def _lat_lon(value: Any) -> tuple[float, float]:
    lat, lon = _number(value[0]), _number(value[1])
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 360.0:
        raise _Bad
    lon = (lon + 180.0) % 360.0 - 180.0  # the data contract's [-180, 180)
    return math.radians(lat), math.radians(lon)


def _point(*, alt_required: bool) -> _Rule:
    if alt_required:
        expected = "[lat_deg, lon_deg, alt_m] with lat in [-90, 90] and lon in [-180, 360]"
    else:
        expected = "[lat_deg, lon_deg] or [lat_deg, lon_deg, alt_m] with lat in [-90, 90]"

    def convert(value: Any) -> tuple[float, ...]:
        sizes = (3,) if alt_required else (2, 3)
        if not isinstance(value, list) or len(value) not in sizes:
            raise _Bad
        lat, lon = _lat_lon(value)
        alt = _number(value[2]) if len(value) == 3 else 0.0
        return (lat, lon, alt) if alt_required or len(value) == 3 else (lat, lon)

    return _Rule(expected, convert)


def _waypoints() -> _Rule:
    def convert(value: Any) -> tuple[tuple[float, float, float], ...]:
        if not isinstance(value, list) or len(value) < 2:
            raise _Bad
        out = []
        for item in value:
            if not isinstance(item, list) or len(item) not in (2, 3):
                raise _Bad
            lat, lon = _lat_lon(item)
            out.append((lat, lon, _number(item[2]) if len(item) == 3 else 0.0))
        return tuple(out)

    return _Rule(
        "an array of at least two [lat_deg, lon_deg] or [lat_deg, lon_deg, alt_m] points", convert
    )


def _sector() -> _Rule:
    def convert(value: Any) -> tuple[float, float]:
        if not isinstance(value, list) or len(value) != 2:
            raise _Bad
        lo, hi = _number(value[0]), _number(value[1])
        if not (0.0 <= lo <= 360.0 and 0.0 <= hi <= 360.0) or lo % 360.0 == hi % 360.0:
            raise _Bad
        return math.radians(lo % 360.0), math.radians(hi % 360.0)

    return _Rule(
        "[az_min_deg, az_max_deg], two different azimuths in [0, 360] (clockwise from az_min)",
        convert,
    )


def _timestamp() -> _Rule:
    def convert(value: Any) -> float:
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise _Bad from None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise _Bad
        return value.timestamp()

    return _Rule("an ISO-8601 date and time with a time zone, e.g. '2025-01-15T03:00:00Z'", convert)


_POSITIVE = _real(0.0, None, lo_open=True)
_NON_NEGATIVE = _real(0.0, None)
_ANY = _real()
_INT_SEED = _integer(0, 2**63 - 1)
_SIGMA = _real(0.0, None, lo_open=True)
_ANGLE_SIGMA = _real(0.0, 90.0, lo_open=True)
_ELEVATION = _real(-90.0, 90.0)
_BIAS_ANGLE = _real(-180.0, 180.0)
_PROBABILITY = _real(0.0, 1.0, lo_open=True)
_NAME = _text()
_MISSING = object()


class _Table:
    """Reads the keys of one TOML table, remembering which it used to reject the rest."""

    def __init__(self, data: Any, *, source: str, prefix: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(
                source, key=prefix or "(top level)", expected="a table", got=_show(data)
            )
        self.data: dict[str, Any] = data
        self.source = source
        self.prefix = prefix
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def has(self, name: str) -> bool:
        return name in self.data

    def get(self, name: str, rule: _Rule, default: Any = _MISSING) -> Any:
        self.used.add(name)
        if name not in self.data:
            if default is _MISSING:
                raise ConfigError(
                    self.source, key=self.key(name), expected=rule.expected, got="nothing (missing)"
                )
            return default
        return rule.check(self.data[name], self.source, self.key(name))

    def forbid(self, name: str, reason: str) -> None:
        """Reject a key that does not apply here (``reason`` completes "expected no <key> ...")."""
        if name in self.data:
            raise ConfigError(
                self.source,
                key=self.key(name),
                expected=f"no {name} {reason}",
                got=_show(self.data[name]),
            )

    def finish(self, known: tuple[str, ...]) -> None:
        for name in self.data:
            if name not in known:
                raise ConfigError(
                    self.source,
                    key=self.key(name),
                    expected="one of the keys " + ", ".join(known),
                    got=f"unknown key {name!r}",
                )


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
            got=_show(value) if name in top.data else "nothing (missing)",
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
            got=_show(table.data["centre"]),
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
            got=_show(max_el),
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
            raise ConfigError(source, key=f"objects[{i}]", expected="a table", got=_show(item))
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
    for path in sorted(_library_dir().glob("*.toml")):
        scenario = _load_file(path)
        out.append((path.stem, scenario.description))
    return out


def _load_file(path: Path) -> Scenario:
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
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
    return parse_scenario(data, source=source)


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
    text = str(name_or_path)
    path = Path(text)
    looks_like_path = (
        isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text or os.sep in text
    )
    candidate = _library_dir() / f"{text}.toml"
    if not looks_like_path and candidate.is_file():
        return _load_file(candidate)
    if looks_like_path or path.is_file():
        return _load_file(path)
    names = ", ".join(sorted(p.stem for p in _library_dir().glob("*.toml")))
    raise ConfigError(
        "scenario library",
        key="name",
        expected=f"a library scenario ({names}) or a .toml file",
        got=repr(text),
    )
