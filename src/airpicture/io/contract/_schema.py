"""The data contract as data: one schema per table, the single source of truth for its columns.

A schema lists a table's columns in contract order with, for each, its name, file type (float,
text or boolean), unit, whether its cells may be empty, the values it allows, and the in-memory
field it becomes. The columns of the optional tail (the truth table's ``detectable``, the tracks
table's ``local_id``, ``sources`` and ``quality``, the impacts table's launch uncertainty) may be
left out of a file. The checks, the
conversions both ways and the file handling of :mod:`airpicture.io.contract` all follow these
schemas; ``docs/data-contract.md`` is their prose.

Units: a ``*_deg`` column holds degrees and becomes the ``*_rad`` field in radians; every other
column keeps its contract unit (m, m/s, s) and its name. A column that is ``part_of`` a field is
one column of an (n, k) array, such as ``x_m`` of the state ``x``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import numpy as np
import pyarrow as pa

from airpicture.codes import NATION_CODE
from airpicture.tables import (
    ALERT_EVENTS,
    ALERT_STATES,
    COV_POS_COLUMNS,
    SENSOR_KINDS,
    STATUS_NAMES,
)


def _num(value: float) -> str:
    """A bound for a message: ``360`` rather than ``360.0``, ``1e+11`` rather than eleven zeros."""
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:g}" if float(f"{value:g}") == value else repr(value)


@dataclass(frozen=True)
class _Float:
    """A float column with an allowed interval; ``optional`` cells may be empty.

    ``dtype`` is the field's in-memory dtype (files hold floats); ``part_of`` names the (n, k)
    field whose columns are the columns so marked, in contract order (``x`` of ``x_m`` to
    ``vz_mps``).
    """

    name: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    optional: bool = False
    dtype: str = "float64"
    part_of: str = ""

    @property
    def degrees(self) -> bool:
        """Whether the file holds degrees (the field holds radians)."""
        return self.name.endswith("_deg")

    @property
    def field(self) -> str:
        """The in-memory field: ``*_deg`` becomes ``*_rad``, other names stay."""
        return self.name[: -len("_deg")] + "_rad" if self.degrees else self.name

    def interval(self) -> str:
        """The allowed values in words (``in [0, 360)``, ``> 0``, or nothing)."""
        has_low, has_high = math.isfinite(self.low), math.isfinite(self.high)
        if has_low and has_high:
            left = "(" if self.low_open else "["
            right = ")" if self.high_open else "]"
            return f" in {left}{_num(self.low)}, {_num(self.high)}{right}"
        if has_low:
            return f" {'>' if self.low_open else '>='} {_num(self.low)}"
        if has_high:
            return f" {'<' if self.high_open else '<='} {_num(self.high)}"
        return ""

    def expected(self) -> str:
        """What a cell must hold, in words."""
        tail = " or empty" if self.optional else ""
        return f"a finite float{self.interval()}{tail}"

    def outside(self, values: np.ndarray) -> np.ndarray:
        """Mask of values outside the interval (NaN is never outside)."""
        bad = np.zeros(values.shape, dtype=bool)
        if math.isfinite(self.low):
            bad |= (values <= self.low) if self.low_open else (values < self.low)
        if math.isfinite(self.high):
            bad |= (values >= self.high) if self.high_open else (values > self.high)
        return bad


@dataclass(frozen=True)
class _Text:
    """A string column: non-empty unless ``allow_empty``, optionally from a set or a pattern."""

    name: str
    choices: tuple[str, ...] = ()
    pattern: str = ""
    pattern_meaning: str = ""
    allow_empty: bool = False
    lookup: bool = False  # checked against another table instead (detections.sensor_id)

    @property
    def field(self) -> str:
        """The in-memory field."""
        return self.name

    def expected(self) -> str:
        """What a cell must hold, in words."""
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.pattern:
            return self.pattern_meaning
        if self.allow_empty:
            return "a string without line breaks"
        return "a non-empty string without line breaks"


@dataclass(frozen=True)
class _Bool:
    """A boolean column: ``true`` or ``false`` in CSV (any letter case), booleans in Parquet."""

    name: str

    @property
    def field(self) -> str:
        """The in-memory field."""
        return self.name

    def expected(self) -> str:
        """What a cell must hold, in words."""
        return "true or false"


_Column = _Float | _Text | _Bool


def _arrow_type(col: _Column) -> pa.DataType:
    """The Arrow type a column is written with."""
    if isinstance(col, _Float):
        return pa.float64()
    if isinstance(col, _Bool):
        return pa.bool_()
    return pa.string()


@dataclass(frozen=True)
class _Schema:
    """The columns of one contract table, in contract order.

    ``columns`` must be in every file; ``optional`` columns may be left out and follow the
    required ones wherever they are present.
    """

    table: str
    columns: tuple[_Column, ...]
    optional: tuple[_Column, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The required columns."""
        return tuple(c.name for c in self.columns)

    def position(self, name: str) -> int:
        """Contract position of a required or optional column (orders the problems of a row)."""
        return (*self.names, *(c.name for c in self.optional)).index(name)

    def present(self, names: Sequence[str]) -> tuple[_Column, ...]:
        """The required columns and the optional ones among ``names``, in contract order."""
        return self.columns + tuple(c for c in self.optional if c.name in names)

    def of_file(self, names: Sequence[str]) -> _Schema:
        """The columns a file with header ``names`` holds, all required (for its readers)."""
        return _Schema(self.table, self.present(names))

    def arrow(self, names: Sequence[str] = ()) -> pa.Schema:
        """The Arrow schema of the required columns and the optional ones among ``names``."""
        return pa.schema([(c.name, _arrow_type(c)) for c in self.present(names)])

    def groups(self) -> dict[str, tuple[str, ...]]:
        """The (n, k) fields and their columns, in contract order (``x``: ``x_m`` ...)."""
        groups: dict[str, tuple[str, ...]] = {}
        for c in self.columns:
            if isinstance(c, _Float) and c.part_of:
                groups[c.part_of] = (*groups.get(c.part_of, ()), c.name)
        return groups


_NATION = NATION_CODE.pattern


TIME_LIMIT_S = 1e11
"""Every time of the contract lies within this many seconds of the epoch (about 3,000 years):
further out, it is no clock's reading, and a tracker's frame grid could not hold it."""


def _time(name: str, *, optional: bool = False) -> _Float:
    """A time column, s since the epoch, within ``TIME_LIMIT_S`` of it."""
    return _Float(name, -TIME_LIMIT_S, TIME_LIMIT_S, optional=optional)


def _positive(name: str, *, optional: bool = False) -> _Float:
    """A float column that must be > 0."""
    return _Float(name, 0.0, low_open=True, optional=optional)


_SENSORS = _Schema(
    "sensors",
    (
        _Text("sensor_id"),
        _Text(
            "nation",
            pattern=_NATION,
            pattern_meaning="an ISO 3166-1 alpha-3 code in capitals (such as JPN)",
        ),
        _Text("kind", choices=SENSOR_KINDS),
        _Float("lat_deg", -90.0, 90.0),
        _Float("lon_deg", -180.0, 180.0),
        _Float("alt_m"),
        _positive("sigma_range_m", optional=True),
        _positive("sigma_azimuth_deg"),
        _positive("sigma_elevation_deg"),
        _positive("sigma_range_rate_mps", optional=True),
        _positive("max_range_m"),
        _positive("scan_period_s"),
        _Float("p_detect", 0.0, 1.0, optional=True),
        _Float("clutter_per_scan", 0.0, optional=True),
    ),
    optional=(
        _Float("min_elevation_deg", -90.0, 90.0, optional=True),
        _Float("max_elevation_deg", -90.0, 90.0, optional=True),
        _Float("sector_start_deg", 0.0, 360.0, high_open=True, optional=True),
        _Float("sector_end_deg", 0.0, 360.0, high_open=True, optional=True),
        _positive("max_range_rate_mps", optional=True),
    ),
)

_DETECTIONS = _Schema(
    "detections",
    (
        _time("t_s"),
        _Text("sensor_id", lookup=True),
        _Float("range_m", 0.0, optional=True),
        _Float("azimuth_deg", 0.0, 360.0, high_open=True),
        _Float("elevation_deg", -90.0, 90.0),
        _Float("range_rate_mps", optional=True),
        _Float("sensor_lat_deg", -90.0, 90.0),
        _Float("sensor_lon_deg", -180.0, 180.0),
        _Float("sensor_alt_m"),
    ),
)

_STATE_COLUMNS = ("x_m", "y_m", "z_m", "vx_mps", "vy_mps", "vz_mps")

_TRUTH = _Schema(
    "truth",
    (
        _time("t_s"),
        _Text("object_id"),
        _Text("kind"),
        *(_Float(name, part_of="x") for name in _STATE_COLUMNS),
    ),
    optional=(_Bool("detectable"),),
)

_TRACKS = _Schema(
    "tracks",
    (
        _time("t_s"),
        _Text("track_id"),
        *(_Float(name, part_of="x") for name in _STATE_COLUMNS),
        *(
            _Float(name, 0.0, part_of="cov_pos")
            if name in ("cov_xx", "cov_yy", "cov_zz")
            else _Float(name, part_of="cov_pos")
            for name in COV_POS_COLUMNS
        ),
        _Text("kind"),
        _Text("status", choices=STATUS_NAMES),
        _Text(
            "nations",
            pattern=f"(?:{_NATION}(?:;{_NATION})*)?",
            pattern_meaning="';'-separated ISO 3166-1 alpha-3 codes (such as JPN;USA) or empty",
            allow_empty=True,
        ),
    ),
    optional=(
        _Text("local_id", allow_empty=True),
        _Text(
            "sources",
            pattern=f"(?:{_NATION}:(?:plots|track)(?:;{_NATION}:(?:plots|track))*)?",
            pattern_meaning="';'-separated NATION:plots or NATION:track entries, or empty",
            allow_empty=True,
        ),
        _Float("quality", 0.0, 15.0, dtype="int8"),
    ),
)

_IMPACTS = _Schema(
    "impacts",
    (
        _time("t_s"),
        _Text("track_id"),
        _time("impact_t_s"),
        _Float("impact_lat_deg", -90.0, 90.0),
        _Float("impact_lon_deg", -180.0, 180.0),
        _Float("semi_major_m", 0.0),
        _Float("semi_minor_m", 0.0),
        _Float("orientation_deg", 0.0, 180.0, high_open=True),
        _Float("confidence", 0.0, 1.0, low_open=True, high_open=True),
        _time("launch_t_s", optional=True),
        _Float("launch_lat_deg", -90.0, 90.0, optional=True),
        _Float("launch_lon_deg", -180.0, 180.0, optional=True),
    ),
    optional=(
        _Float("launch_sd_t_s", 0.0, optional=True),
        _Float("launch_semi_major_m", 0.0, optional=True),
        _Float("launch_semi_minor_m", 0.0, optional=True),
        _Float("launch_orientation_deg", 0.0, 180.0, high_open=True, optional=True),
    ),
)

_ALERTS = _Schema(
    "alerts",
    (
        _time("t_s"),
        _Text("alert_id"),
        _Text("area_id"),
        _Text("track_id"),
        _Text("state", choices=ALERT_STATES),
        _Text("event", choices=ALERT_EVENTS),
        _Text("reason", allow_empty=True),
        _time("impact_t_s", optional=True),
    ),
)

_SCHEMAS: Final[Mapping[str, _Schema]] = MappingProxyType(
    {s.table: s for s in (_SENSORS, _DETECTIONS, _TRUTH, _TRACKS, _IMPACTS, _ALERTS)}
)

TABLE_COLUMNS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {name: schema.names for name, schema in _SCHEMAS.items()}
)
"""The required columns of each data-contract table (``sensors``, ``detections``, ``truth``,
``tracks``, ``impacts``, ``alerts``), in contract order: the order the writers use. The truth
table's optional ``detectable`` column follows them in files that carry it."""
