"""Frozen-dataclass configuration loaded from TOML or mappings, validated in one place.

Each configuration class is a frozen dataclass whose fields declare their constraint as data in
``field(metadata={"check": Interval(...)})``; :func:`load_config` checks every value against it and
raises :class:`~airpicture.errors.ConfigError` naming the source, the key, what was expected and
what was found. Unknown keys are errors too (a typo must not pass silently).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from airpicture.errors import ConfigError

__all__ = ["Interval", "NamesFrom", "OneOf", "check_fields", "load_config", "load_toml"]

T = TypeVar("T")


@dataclass(frozen=True)
class Interval:
    """A number in [low, high] (ends open when ``closed`` says so); ``integer``: whole numbers."""

    low: float = -math.inf
    high: float = math.inf
    closed: str = "both"  # "both", "left", "right", "neither"
    integer: bool = False

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"{kind} in {left}{self.low:g}, {self.high:g}{right}"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if not math.isfinite(value) and not math.isinf(self.high):
            return False
        lo_ok = value >= self.low if self.closed in ("both", "left") else value > self.low
        hi_ok = value <= self.high if self.closed in ("both", "right") else value < self.high
        return bool(lo_ok and hi_ok and not math.isnan(value))


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of strings."""

    options: tuple[str, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def accepts(self, value: Any) -> bool:
        return value in self.options


@dataclass(frozen=True)
class NamesFrom:
    """A comma-separated string of distinct names, each one of ``options`` (at least one)."""

    options: tuple[str, ...]

    def describe(self) -> str:
        return "distinct comma-separated names from " + ", ".join(repr(o) for o in self.options)

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        names = [n.strip() for n in value.split(",")]
        return (
            bool(names) and all(n in self.options for n in names) and len(set(names)) == len(names)
        )


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, turning a missing file or bad syntax into a ConfigError."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            str(path), key="(file)", expected="an existing TOML file", got="no such file"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), key="(syntax)", expected="valid TOML", got=str(exc)) from None


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


_TYPE_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "str": (lambda v: isinstance(v, str), "a string"),
    "list[str]": (_strings, "a list of strings"),
    "list[str] | None": (lambda v: v is None or _strings(v), "a list of strings"),
}
"""The type checks of fields without a constraint, by annotation: a TOML string "false" is not
the boolean false."""


def load_config(cls: type[T], values: Mapping[str, Any], *, source: str, prefix: str = "") -> T:
    """Build the frozen dataclass ``cls`` from ``values``, checking every key.

    Parameters
    ----------
    cls : type
        A dataclass whose fields may carry ``metadata["check"]`` (an :class:`Interval` or
        :class:`OneOf`).
    values : mapping
        Keys of ``cls``'s fields; absent keys take the field defaults.
    source : str
        Where the values came from (file name, ``"command line"``), for error messages.
    prefix : str
        Dotted key prefix for error messages (``"tracker."``).

    Raises
    ------
    ConfigError
        On an unknown key, a missing required key, or a value outside its constraint.
    """
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    for key in values:
        if key not in known:
            raise ConfigError(
                source,
                key=prefix + key,
                expected="one of " + ", ".join(sorted(known)),
                got="an unknown key",
            )
    kwargs: dict[str, Any] = {}
    for name, f in known.items():
        if name in values:
            value = values[name]
        elif f.default is not MISSING:
            value = f.default
        elif f.default_factory is not MISSING:
            value = f.default_factory()
        else:
            raise ConfigError(source, key=prefix + name, expected="a value", got="nothing")
        check = f.metadata.get("check")
        if check is not None and not check.accepts(value):
            raise ConfigError(source, key=prefix + name, expected=check.describe(), got=repr(value))
        typed = _TYPE_CHECKS.get(str(f.type))
        if name in values and typed is not None and not typed[0](value):
            raise ConfigError(source, key=prefix + name, expected=typed[1], got=repr(value))
        if isinstance(check, Interval) and not check.integer:
            value = float(value)
        kwargs[name] = value
    return cls(**kwargs)


def check_fields(obj: Any, *, source: str) -> None:
    """Check every constrained field of a dataclass instance (for ``__post_init__``)."""
    for f in fields(obj):
        check = f.metadata.get("check")
        value = getattr(obj, f.name)
        if check is not None and not check.accepts(value):
            raise ConfigError(source, key=f.name, expected=check.describe(), got=repr(value))
