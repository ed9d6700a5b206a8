"""Constraints as data for the keys of a scenario file: each rule converts a TOML value or raises
with what it expected; :class:`_Table` reads the keys of one table with them."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airpicture.errors import ConfigError
from airpicture.sim._specs import show


class _Bad(Exception):
    """A value that broke a rule (internal; becomes a ConfigError with the key)."""


@dataclass(frozen=True)
class _Rule:
    expected: str
    convert: Callable[[Any], Any]

    def check(self, value: Any, source: str, key: str) -> Any:
        try:
            return self.convert(value)
        except _Bad:
            raise ConfigError(source, key=key, expected=self.expected, got=show(value)) from None


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
                source, key=prefix or "(top level)", expected="a table", got=show(data)
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
                got=show(self.data[name]),
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
