"""Reading one ``[[objects]]`` table with errors that name the file, key, expectation and value."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from airpicture.errors import ConfigError

_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_MISSING = object()


def show(value: object) -> str:
    """A short, readable rendering of a TOML value for an error message."""
    if value is _MISSING:
        return "nothing (the key is missing)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        text = repr(value)
        return (text[:60] + "...'") if len(text) > 64 else text
    if isinstance(value, Mapping):
        return f"a table with keys {sorted(value)}"
    if isinstance(value, list):
        text = repr(value)
        return text if len(text) <= 80 else text[:76] + " ...]"
    return repr(value)


def _interval(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    lo_text = "-inf" if lo is None else f"{lo:g}"
    hi_text = "inf" if hi is None else f"{hi:g}"
    return f"{left}{lo_text}, {hi_text}{right}"


def _is_number(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(float(value))
    )


class SpecReader:
    """Typed, checked access to the keys of one table; :meth:`finish` rejects unknown keys.

    Parameters
    ----------
    data : object
        The parsed TOML table (anything else is an error naming ``prefix``).
    source : str
        The file name, for messages.
    prefix : str
        Key path of the table, ``objects[3]``.
    """

    def __init__(self, data: object, source: str, prefix: str) -> None:
        self.source = source
        self.prefix = prefix
        if not isinstance(data, Mapping):
            raise ConfigError(source, key=prefix, expected="a table", got=show(data))
        self.data: Mapping[str, Any] = data
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        """Full key path of ``name``."""
        return f"{self.prefix}.{name}"

    def error(self, name: str, expected: str, got: object) -> ConfigError:
        """A ConfigError for key ``name`` (``got`` is rendered with :func:`show`)."""
        return ConfigError(self.source, key=self.key(name), expected=expected, got=show(got))

    def has(self, name: str) -> bool:
        """Whether the table has ``name``."""
        return name in self.data

    def _get(self, name: str, default: Any, expected: str) -> Any:
        self.used.add(name)
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            raise self.error(name, expected, _MISSING)
        return default

    def number(
        self,
        name: str,
        *,
        default: Any = _MISSING,
        lo: float | None = None,
        hi: float | None = None,
        lo_open: bool = False,
        hi_open: bool = False,
    ) -> float:
        """A finite number (TOML integer or float) within bounds."""
        expected = "a finite number"
        if lo is not None or hi is not None:
            expected = f"a number in {_interval(lo, hi, lo_open, hi_open)}"
        value = self._get(name, default, expected)
        if value is default and default is not _MISSING:
            return default  # type: ignore[no-any-return]
        if not _is_number(value) or not _within(float(value), lo, hi, lo_open, hi_open):
            raise self.error(name, expected, value)
        return float(value)

    def integer(self, name: str, *, lo: int, hi: int, default: Any = _MISSING) -> int:
        """An integer within ``[lo, hi]``."""
        expected = f"an integer in [{lo}, {hi}]"
        value = self._get(name, default, expected)
        if value is default and default is not _MISSING:
            return default  # type: ignore[no-any-return]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.error(name, expected, value)
        return int(value)

    def identifier(self, name: str, *, default: Any = _MISSING, max_len: int = 64) -> str:
        """An id or id prefix: letters, digits, ``_``, ``.`` and ``-``, starting alphanumeric."""
        expected = (
            f"an id of 1 to {max_len} letters, digits, '_', '.' or '-', starting with a letter "
            "or digit"
        )
        value = self._get(name, default, expected)
        if (
            not isinstance(value, str)
            or len(value) > max_len
            or _ID_PATTERN.fullmatch(value) is None
        ):
            raise self.error(name, expected, value)
        return value

    def number_list(
        self,
        name: str,
        *,
        length: int | None = None,
        lo: float | None = None,
        hi: float | None = None,
        lo_open: bool = False,
        what: str = "numbers",
    ) -> list[float]:
        """A list of finite numbers within bounds (of a given length if set)."""
        count = f"{length} " if length is not None else ""
        bounds = (
            f" in {_interval(lo, hi, lo_open, False)}" if lo is not None or hi is not None else ""
        )
        expected = f"a list of {count}{what}{bounds}"
        value = self._get(name, _MISSING, expected)
        if not isinstance(value, list) or (length is not None and len(value) != length):
            raise self.error(name, expected, value)
        if not value:
            raise self.error(name, expected, value)
        for i, item in enumerate(value):
            if not _is_number(item) or not _within(float(item), lo, hi, lo_open, False):
                raise ConfigError(
                    self.source,
                    key=f"{self.key(name)}[{i}]",
                    expected=f"a number{bounds}",
                    got=show(item),
                )
        return [float(v) for v in value]

    def number_range(
        self, name: str, *, default: tuple[float, float], lo: float, hi: float
    ) -> tuple[float, float]:
        """``[min, max]`` with ``lo <= min <= max <= hi``, or the default."""
        if not self.has(name):
            self.used.add(name)
            return default
        values = self.number_list(name, length=2, lo=lo, hi=hi, what="numbers [min, max]")
        if values[0] > values[1]:
            raise self.error(
                name, f"[min, max] with min <= max, within [{lo:g}, {hi:g}]", self.data[name]
            )
        return values[0], values[1]

    def point(
        self,
        name: str,
        *,
        with_alt: bool,
        alt_lo: float = -500.0,
        alt_hi: float = 20000.0,
        item_key: str | None = None,
        value: Any = _MISSING,
    ) -> tuple[float, float, float]:
        """A ``[lat_deg, lon_deg]`` or ``[lat_deg, lon_deg, alt_m]`` point (alt 0 without)."""
        key = item_key if item_key is not None else self.key(name)
        shape = "[lat_deg, lon_deg, alt_m]" if with_alt else "[lat_deg, lon_deg]"
        expected = f"a point {shape}"
        if value is _MISSING:
            value = self._get(name, _MISSING, expected)
        n = 3 if with_alt else 2
        if not isinstance(value, list) or len(value) != n or not all(_is_number(v) for v in value):
            raise ConfigError(self.source, key=key, expected=expected, got=show(value))
        lat, lon = float(value[0]), float(value[1])
        if not -90.0 <= lat <= 90.0:
            raise ConfigError(
                self.source,
                key=f"{key}[0]",
                expected="a latitude in [-90, 90] degrees",
                got=show(value[0]),
            )
        if not -180.0 <= lon <= 180.0:
            raise ConfigError(
                self.source,
                key=f"{key}[1]",
                expected="a longitude in [-180, 180] degrees",
                got=show(value[1]),
            )
        alt = float(value[2]) if with_alt else 0.0
        if with_alt and not alt_lo <= alt <= alt_hi:
            raise ConfigError(
                self.source,
                key=f"{key}[2]",
                expected=f"a height in [{alt_lo:g}, {alt_hi:g}] m",
                got=show(value[2]),
            )
        return lat, lon, alt

    def waypoints(
        self, name: str, *, alt_lo: float, alt_hi: float
    ) -> list[tuple[float, float, float]]:
        """At least two ``[lat_deg, lon_deg, alt_m]`` points."""
        expected = "a list of at least 2 waypoints [lat_deg, lon_deg, alt_m]"
        value = self._get(name, _MISSING, expected)
        if not isinstance(value, list) or len(value) < 2:
            raise self.error(name, expected, value)
        return [
            self.point(name, with_alt=True, alt_lo=alt_lo, alt_hi=alt_hi,
                       item_key=f"{self.key(name)}[{i}]", value=item)
            for i, item in enumerate(value)
        ]  # fmt: skip

    def string_list(self, name: str, *, choices: Sequence[str]) -> list[str]:
        """A non-empty list of distinct strings from ``choices``."""
        expected = "a non-empty list of distinct names"
        value = self._get(name, _MISSING, expected)
        if not isinstance(value, list) or not value or len(set(map(str, value))) != len(value):
            raise self.error(name, expected, value)
        for i, item in enumerate(value):
            if not isinstance(item, str) or item not in choices:
                raise ConfigError(
                    self.source,
                    key=f"{self.key(name)}[{i}]",
                    expected=f"one of {', '.join(choices)}",
                    got=show(item),
                )
        return list(value)

    def finish(self, allowed: Sequence[str], what: str) -> None:
        """Reject keys outside ``allowed`` (``what`` names the kind of table, for the message)."""
        for name in self.data:
            if name not in allowed:
                raise ConfigError(
                    self.source,
                    key=self.key(name),
                    expected=f"one of the keys of {what}: {', '.join(allowed)}",
                    got="an unknown key",
                )


def _within(x: float, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> bool:
    if lo is not None and (x < lo or (lo_open and x == lo)):
        return False
    return not (hi is not None and (x > hi or (hi_open and x == hi)))


MISSING = _MISSING
"""Sentinel for a required key."""
