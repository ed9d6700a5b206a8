"""Read and write the data-contract tables (sensors, detections, truth, tracks, and the impacts
and alerts of assessment), CSV or Parquet.

The tables and their columns are defined in ``docs/data-contract.md``; their in-memory shapes in
:mod:`airpicture.tables`. A file is CSV (``.csv``, header row, comma-separated) or Parquet
(``.parquet``, same column names), chosen by its extension. Unknown extra columns are ignored;
every required contract column must be present, and cells of the columns marked "or empty" may be
empty. An optional column (the truth table's ``detectable``) may be left out of a file; when it is
there, every cell is checked like any other.

This module is the edge where file data is validated, once: every problem raises
:class:`~airpicture.errors.DataError` naming the file, the 1-based data row (the header is row 0),
the column, what was expected and what was found, e.g.
``detections.csv row 17, column azimuth_deg: expected a finite float in [0, 360), got 'abc'``.
The checks are vectorised over record batches, and large files are streamed: memory is bounded by
the chunk size, not the file size.

Units: ``*_deg`` file columns are degrees and become ``*_rad`` radians in memory; everything else
keeps its contract unit (m, m/s, s). Writers convert radians back to the degrees that read back to
the same radians bit for bit (for every value read from a file, and for all but about one radian
value in ten otherwise, which then comes back within one unit in the last place), preferring the
shortest decimal form, so a file that was read and written again keeps ``35.6`` as ``35.6``.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Final, Literal, Self, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from airpicture.errors import ConfigError, DataError
from airpicture.tables import (
    ALERT_EVENTS,
    ALERT_STATES,
    COV_POS_COLUMNS,
    SENSOR_KINDS,
    STATUS_NAMES,
    AlertRows,
    Detections,
    ImpactRows,
    Sensor,
    SensorTable,
    TrackRows,
    Truth,
)

__all__ = [
    "TABLE_COLUMNS",
    "ScenarioFiles",
    "TableWriter",
    "find_scenario_files",
    "iter_detections",
    "open_table_writer",
    "read_alerts",
    "read_detections",
    "read_impacts",
    "read_sensors",
    "read_tracks",
    "read_truth",
    "write_detections",
    "write_sensors",
    "write_tracks",
    "write_truth",
]

_log = logging.getLogger(__name__)

_Format = Literal["csv", "parquet"]
_R = TypeVar("_R")

_CSV_BLOCK_BYTES: Final = 1 << 19  # the CSV reader keeps a few dozen blocks in flight
_PARQUET_BATCH_ROWS: Final = 1 << 16
_PARQUET_BUFFER_BYTES: Final = 1 << 20  # buffered column reads keep memory flat on big files
_HEADER_SNIFF_BYTES: Final = 1 << 20
_GOT_MAX_CHARS: Final = 80
_FULL_TURN_RAD: Final = float(np.deg2rad(360.0))
_BELOW_360_DEG: Final = float(np.nextafter(360.0, 0.0))


# --------------------------------------------------------------------------------------------
# Column specifications: the contract as data
# --------------------------------------------------------------------------------------------


def _num(value: float) -> str:
    """A bound for a message: ``360`` rather than ``360.0``."""
    return str(int(value)) if float(value).is_integer() else repr(value)


@dataclass(frozen=True)
class _Float:
    """A float column with an allowed interval; ``optional`` cells may be empty."""

    name: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    optional: bool = False

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


_NATION = r"[A-Z]{3}"


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
)

_DETECTIONS = _Schema(
    "detections",
    (
        _Float("t_s"),
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
        _Float("t_s"),
        _Text("object_id"),
        _Text("kind"),
        *(_Float(name) for name in _STATE_COLUMNS),
    ),
    optional=(_Bool("detectable"),),
)

_TRACKS = _Schema(
    "tracks",
    (
        _Float("t_s"),
        _Text("track_id"),
        *(_Float(name) for name in _STATE_COLUMNS),
        *(
            _Float(name, 0.0) if name in ("cov_xx", "cov_yy", "cov_zz") else _Float(name)
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
        _Float("quality", 0.0, 15.0),
    ),
)

_IMPACTS = _Schema(
    "impacts",
    (
        _Float("t_s"),
        _Text("track_id"),
        _Float("impact_t_s"),
        _Float("impact_lat_deg", -90.0, 90.0),
        _Float("impact_lon_deg", -180.0, 180.0),
        _Float("semi_major_m", 0.0),
        _Float("semi_minor_m", 0.0),
        _Float("orientation_deg", 0.0, 180.0, high_open=True),
        _Float("confidence", 0.0, 1.0, low_open=True, high_open=True),
        _Float("launch_t_s", optional=True),
        _Float("launch_lat_deg", -90.0, 90.0, optional=True),
        _Float("launch_lon_deg", -180.0, 180.0, optional=True),
    ),
)

_ALERTS = _Schema(
    "alerts",
    (
        _Float("t_s"),
        _Text("alert_id"),
        _Text("area_id"),
        _Text("track_id"),
        _Text("state", choices=ALERT_STATES),
        _Text("event", choices=ALERT_EVENTS),
        _Text("reason", allow_empty=True),
        _Float("impact_t_s", optional=True),
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


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _clip(text: str) -> str:
    """Shorten a value for a message."""
    return text if len(text) <= _GOT_MAX_CHARS else text[: _GOT_MAX_CHARS - 3] + "..."


def _got_text(value: object) -> str:
    """A cell's text as the *got* part of a message (``'abc'``, or ``empty``)."""
    if value is None or value == "":
        return "empty"
    return _clip(repr(value))


def _got_float(value: float) -> str:
    """A float as the *got* part of a message (``400.0``, ``nan``, ``-inf``)."""
    return repr(float(value))


def _got_float_of(values: np.ndarray) -> Callable[[int], str]:
    """The *got* part of a message for row ``i`` of a float column."""
    return lambda i: _got_float(values[i])


def _list_names(names: Sequence[str], limit: int = 12) -> str:
    """Names for a message, cut after ``limit``."""
    shown = ", ".join(repr(n) for n in names[:limit])
    if len(names) > limit:
        shown += f" and {len(names) - limit} more"
    return shown or "none"


def _to_bool_numpy(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as a NumPy mask, nulls as False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _format_of(path: Path, source: str) -> _Format:
    """The file format named by the extension."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".parquet":
        return "parquet"
    raise DataError(
        source, expected="a file name ending in .csv or .parquet", got=_clip(repr(path.name))
    )


def _rad_to_deg(rad: np.ndarray) -> np.ndarray:
    """Degrees that ``np.deg2rad`` maps back to ``rad`` exactly where possible, shortest first."""
    rad = np.asarray(rad, dtype=np.float64)
    deg = np.rad2deg(rad)
    out: np.ndarray = deg.copy()
    todo = np.flatnonzero(np.isfinite(rad) & (np.deg2rad(deg) != rad))
    short = np.flatnonzero(np.isfinite(rad))
    # Prefer short decimal forms: 35.6 rather than 35.60000000000001 when both read back alike.
    for decimals in range(10):
        if short.size == 0:
            break
        candidate = np.round(deg[short], decimals)
        hit = np.deg2rad(candidate) == rad[short]
        out[short[hit]] = candidate[hit]
        short = short[~hit]
    todo = todo[np.deg2rad(out[todo]) != rad[todo]]
    # Then the neighbours of the plain conversion, one and two units in the last place away.
    for direction in (np.inf, -np.inf):
        step = deg[todo]
        for _ in range(2):
            if todo.size == 0:
                break
            step = np.nextafter(step, direction)
            hit = np.deg2rad(step) == rad[todo]
            out[todo[hit]] = step[hit]
            todo, step = todo[~hit], step[~hit]
    return out


# --------------------------------------------------------------------------------------------
# Validation of one record batch
# --------------------------------------------------------------------------------------------


class _Problems:
    """The first problem of a batch: lowest row first, then the column's contract position."""

    def __init__(self, schema: _Schema) -> None:
        self._schema = schema
        self._key: tuple[int, int] | None = None
        self._what: tuple[str, str, str] = ("", "", "")

    def add(self, bad: np.ndarray, column: str, expected: str, got: Callable[[int], str]) -> None:
        """Record the first row of mask ``bad`` if it precedes the problem kept so far."""
        if not bad.any():
            return
        index = int(np.argmax(bad))
        key = (index, self._schema.position(column))
        if self._key is None or key < self._key:
            self._key = key
            self._what = (column, expected, got(index))

    def raise_first(self, source: str, first_row: int) -> None:
        """Raise the kept problem, numbering rows from ``first_row`` (0-based, global)."""
        if self._key is None:
            return
        column, expected, got = self._what
        raise DataError(
            source, row=first_row + self._key[0] + 1, column=column, expected=expected, got=got
        )


class _Unconvertible(Exception):
    """A cell that does not convert (internal, becomes a DataError naming its row)."""

    def __init__(self, index: int, got: str, expected: str | None = None) -> None:
        super().__init__(index, got, expected)
        self.index = index
        self.got = got
        self.expected = expected


def _type_error(source: str, column: str, expected: str, arrow_type: pa.DataType) -> DataError:
    return DataError(source, column=column, expected=expected, got=f"a column of type {arrow_type}")


def _first_failure(arr: pa.Array, target: pa.DataType) -> int:
    """Index of the first element of ``arr`` that does not cast to ``target`` (one must exist)."""
    low, high = 0, len(arr)  # the first failure lies in [low, high)
    while high - low > 1:
        mid = (low + high) // 2
        try:
            pc.cast(arr.slice(low, mid - low), target)
        except pa.ArrowInvalid:
            high = mid
        else:
            low = mid
    return low


def _is_text_type(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
    )


def _utf8(arr: pa.Array) -> pa.Array:
    """A string or binary column as UTF-8 strings (``_Unconvertible`` at the first bad bytes)."""
    if pa.types.is_string(arr.type):
        return arr
    try:
        return pc.cast(arr, pa.string())
    except pa.ArrowInvalid:
        index = _first_failure(arr, pa.string())
        raise _Unconvertible(index, _clip(repr(arr[index].as_py())), "UTF-8 text") from None


def _as_float64(arr: pa.Array, source: str, column: str) -> pa.Array:
    """Column ``arr`` as float64 (``_Unconvertible`` at the first cell that is not a number)."""
    arrow_type = arr.type
    if pa.types.is_float64(arrow_type):
        return arr
    if (
        pa.types.is_floating(arrow_type)
        or pa.types.is_integer(arrow_type)
        or pa.types.is_decimal(arrow_type)
    ):
        return pc.cast(arr, pa.float64(), safe=False)
    if pa.types.is_null(arrow_type):
        return pa.nulls(len(arr), pa.float64())
    if pa.types.is_dictionary(arrow_type):
        return _as_float64(arr.dictionary_decode(), source, column)
    if _is_text_type(arrow_type):
        # The CSV reader's own float parser trims blanks and reads a blank cell as empty.
        utf8 = _utf8(arr)
        text = pc.utf8_trim_whitespace(utf8)
        text = pc.if_else(pc.equal(pc.utf8_length(text), 0), pa.scalar(None, text.type), text)
        try:
            return pc.cast(text, pa.float64())
        except pa.ArrowInvalid:
            index = _first_failure(text, pa.float64())
            raise _Unconvertible(index, _got_text(utf8[index].as_py())) from None
    raise _type_error(source, column, "a column of floats", arrow_type)


def _as_text(arr: pa.Array, source: str, column: str) -> pa.Array:
    """Column ``arr`` as an Arrow string array (``_Unconvertible`` at bytes that are not UTF-8)."""
    arrow_type = arr.type
    if pa.types.is_dictionary(arrow_type):
        return _as_text(arr.dictionary_decode(), source, column)
    if _is_text_type(arrow_type):
        return _utf8(arr)
    if pa.types.is_integer(arrow_type) or pa.types.is_null(arrow_type):
        return pc.cast(arr, pa.string())
    raise _type_error(source, column, "a column of strings", arrow_type)


def _as_bool(arr: pa.Array, source: str, column: str) -> pa.Array:
    """Column ``arr`` as Arrow booleans, or as text to be checked for ``true`` and ``false``."""
    arrow_type = arr.type
    if pa.types.is_boolean(arrow_type):
        return arr
    if pa.types.is_null(arrow_type):
        return pa.nulls(len(arr), pa.bool_())
    if pa.types.is_dictionary(arrow_type):
        return _as_bool(arr.dictionary_decode(), source, column)
    if _is_text_type(arrow_type):
        return _utf8(arr)
    raise _type_error(source, column, "a column of booleans (true or false)", arrow_type)


@dataclass(frozen=True)
class _Checked:
    """The contract columns of one batch after the per-column checks.

    Floats are float64 arrays with NaN for empty cells; texts are Arrow string arrays; bools are
    NumPy bool arrays (bad cells read False: they are problems).
    """

    floats: dict[str, np.ndarray]
    texts: dict[str, pa.Array]
    bools: dict[str, np.ndarray]
    problems: _Problems


def _check_float(
    values: np.ndarray, nulls: np.ndarray | None, col: _Float, problems: _Problems
) -> np.ndarray:
    """Add the problems of one float column; return it with empty cells as NaN."""

    def got(i: int) -> str:
        return "empty" if nulls is not None and nulls[i] else _got_float(values[i])

    finite = np.isfinite(values)
    if col.optional:
        # NaN in an optional column means "empty"; infinities are errors.
        problems.add(np.isinf(values), col.name, col.expected(), got)
    else:
        problems.add(~finite, col.name, col.expected(), got)
    problems.add(col.outside(values), col.name, col.expected(), got)
    return values


def _check_text(arr: pa.Array, col: _Text, problems: _Problems) -> pa.Array:
    """Add the problems of one text column; return it with nulls as empty strings."""
    arr = pc.fill_null(arr, "")
    if col.lookup:
        return arr

    def got(i: int) -> str:
        return _got_text(arr[i].as_py())

    empty = _to_bool_numpy(pc.equal(pc.utf8_length(arr), 0))
    if not col.allow_empty:
        problems.add(empty, col.name, col.expected(), got)
    if not (col.choices or col.pattern):
        breaks = _to_bool_numpy(pc.match_substring_regex(arr, r"[\r\n]"))
        problems.add(breaks, col.name, col.expected(), got)
    if col.choices:
        known = _to_bool_numpy(pc.is_in(arr, value_set=pa.array(col.choices, pa.string())))
        problems.add(~known & ~empty, col.name, col.expected(), got)
    if col.pattern:
        matches = _to_bool_numpy(pc.match_substring_regex(arr, f"^(?:{col.pattern})$"))
        problems.add(~matches & ~empty, col.name, col.expected(), got)
    return arr


def _check_bool(arr: pa.Array, col: _Bool, problems: _Problems) -> np.ndarray:
    """Add the problems of one boolean column (empty, or text other than true or false)."""
    if pa.types.is_boolean(arr.type):
        bad = _to_bool_numpy(arr.is_null())
        problems.add(bad, col.name, col.expected(), lambda i: "empty")
        return _to_bool_numpy(arr)
    word = pc.utf8_lower(pc.utf8_trim_whitespace(arr))
    true = _to_bool_numpy(pc.equal(word, "true"))
    false = _to_bool_numpy(pc.equal(word, "false"))
    problems.add(~(true | false), col.name, col.expected(), lambda i: _got_text(arr[i].as_py()))
    return true


def _check_columns(
    batch: pa.RecordBatch,
    schema: _Schema,
    source: str,
    first_row: int,
    recheck: Callable[[pa.RecordBatch, int], object],
) -> _Checked:
    """Convert and check every contract column of ``batch``.

    ``recheck`` is the table's full check, run on the rows before an unparsable cell so that an
    earlier problem of another kind is reported first.
    """
    columns = schema.present(batch.schema.names)
    converted: dict[str, pa.Array] = {}
    first_bad: tuple[int, int, _Unconvertible] | None = None
    for position, col in enumerate(columns):
        arr = batch.column(col.name)
        try:
            if isinstance(col, _Float):
                converted[col.name] = _as_float64(arr, source, col.name)
            elif isinstance(col, _Bool):
                converted[col.name] = _as_bool(arr, source, col.name)
            else:
                converted[col.name] = _as_text(arr, source, col.name)
        except _Unconvertible as bad:
            if first_bad is None or (bad.index, position) < first_bad[:2]:
                first_bad = (bad.index, position, bad)
    if first_bad is not None:
        index, position, cell = first_bad
        if index > 0:
            recheck(batch.slice(0, index), first_row)
        col = columns[position]
        raise DataError(
            source,
            row=first_row + index + 1,
            column=col.name,
            expected=cell.expected or col.expected(),
            got=cell.got,
        )

    problems = _Problems(schema)
    floats: dict[str, np.ndarray] = {}
    texts: dict[str, pa.Array] = {}
    bools: dict[str, np.ndarray] = {}
    for col in columns:
        arr = converted[col.name]
        if isinstance(col, _Float):
            nulls = arr.is_null().to_numpy(zero_copy_only=False) if arr.null_count else None
            values = arr.to_numpy(zero_copy_only=False, writable=True)
            floats[col.name] = _check_float(values, nulls, col, problems)
        elif isinstance(col, _Bool):
            bools[col.name] = _check_bool(arr, col, problems)
        else:
            texts[col.name] = _check_text(arr, col, problems)
    return _Checked(floats, texts, bools, problems)


def _as_str_array(arr: pa.Array) -> np.ndarray:
    """An Arrow string array as a NumPy unicode array."""
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=str)


# --------------------------------------------------------------------------------------------
# Table-specific checks and conversions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SensorLookup:
    """What the detection checks need to know about the sensors, per sensor index."""

    ids: pa.Array
    is_radar: np.ndarray
    has_rate: np.ndarray

    @classmethod
    def of(cls, sensors: SensorTable) -> _SensorLookup:
        return cls(
            ids=pa.array(list(sensors.ids), pa.string()),
            is_radar=np.array([s.has_range for s in sensors], dtype=bool),
            has_rate=np.array([s.has_range_rate for s in sensors], dtype=bool),
        )

    def describe(self) -> str:
        return f"a sensor_id of the sensors table ({_list_names(self.ids.to_pylist())})"


def _detections_from_batch(
    batch: pa.RecordBatch, first_row: int, source: str, sensors: _SensorLookup
) -> Detections:
    """Check one batch of detections and convert it (degrees to radians)."""

    def recheck(part: pa.RecordBatch, start: int) -> object:
        return _detections_from_batch(part, start, source, sensors)

    checked = _check_columns(batch, _DETECTIONS, source, first_row, recheck)
    f, problems = checked.floats, checked.problems
    ids = checked.texts["sensor_id"]
    found = pc.index_in(ids, value_set=sensors.ids)
    unknown = found.is_null().to_numpy(zero_copy_only=False)
    problems.add(unknown, "sensor_id", sensors.describe(), lambda i: _got_text(ids[i].as_py()))
    sensor_index = np.asarray(pc.fill_null(found, 0).to_numpy(zero_copy_only=False), np.int32)

    known = ~unknown
    range_m, range_rate = f["range_m"], f["range_rate_mps"]
    is_radar = sensors.is_radar[sensor_index] if len(sensors.is_radar) else known
    has_rate = sensors.has_rate[sensor_index] if len(sensors.has_rate) else known

    def sensor_of(i: int) -> str:
        return repr(ids[i].as_py())

    problems.add(
        known & is_radar & np.isnan(range_m),
        "range_m",
        "a finite float >= 0 (the sensor is a radar)",
        lambda i: f"empty for sensor {sensor_of(i)}",
    )
    problems.add(
        known & ~is_radar & ~np.isnan(range_m),
        "range_m",
        "empty (the sensor is an ir sensor, which measures no range)",
        lambda i: f"{_got_float(range_m[i])} for sensor {sensor_of(i)}",
    )
    problems.add(
        known & ~has_rate & ~np.isnan(range_rate),
        "range_rate_mps",
        "empty (the sensor reports no range rate: its sigma_range_rate_mps is empty)",
        lambda i: f"{_got_float(range_rate[i])} for sensor {sensor_of(i)}",
    )
    problems.raise_first(source, first_row)

    n = batch.num_rows
    return Detections(
        t_s=f["t_s"],
        sensor_index=sensor_index,
        range_m=range_m,
        azimuth_rad=np.deg2rad(f["azimuth_deg"]),
        elevation_rad=np.deg2rad(f["elevation_deg"]),
        range_rate_mps=range_rate,
        sensor_lat_rad=np.deg2rad(f["sensor_lat_deg"]),
        sensor_lon_rad=np.deg2rad(f["sensor_lon_deg"]),
        sensor_alt_m=f["sensor_alt_m"],
        row=np.arange(first_row, first_row + n, dtype=np.int64),
    )


def _truth_from_batch(batch: pa.RecordBatch, first_row: int, source: str) -> Truth:
    """Check one batch of truth rows and convert it."""

    def recheck(part: pa.RecordBatch, start: int) -> object:
        return _truth_from_batch(part, start, source)

    checked = _check_columns(batch, _TRUTH, source, first_row, recheck)
    checked.problems.raise_first(source, first_row)
    f, t = checked.floats, checked.texts
    return Truth(
        t_s=f["t_s"],
        object_id=_as_str_array(t["object_id"]),
        kind=_as_str_array(t["kind"]),
        x=np.column_stack([f[name] for name in _STATE_COLUMNS]).reshape(-1, 6),
        detectable=checked.bools.get("detectable"),
    )


def _tracks_from_batch(batch: pa.RecordBatch, first_row: int, source: str) -> TrackRows:
    """Check one batch of track rows and convert it."""

    def recheck(part: pa.RecordBatch, start: int) -> object:
        return _tracks_from_batch(part, start, source)

    checked = _check_columns(batch, _TRACKS, source, first_row, recheck)
    checked.problems.raise_first(source, first_row)
    f, t = checked.floats, checked.texts
    return TrackRows(
        t_s=f["t_s"],
        track_id=_as_str_array(t["track_id"]),
        x=np.column_stack([f[name] for name in _STATE_COLUMNS]).reshape(-1, 6),
        cov_pos=np.column_stack([f[name] for name in COV_POS_COLUMNS]).reshape(-1, 6),
        kind=_as_str_array(t["kind"]),
        status=_as_str_array(t["status"]),
        nations=_as_str_array(t["nations"]),
        local_id=_as_str_array(t["local_id"]) if "local_id" in t else None,
        sources=_as_str_array(t["sources"]) if "sources" in t else None,
        quality=f["quality"].astype(np.int8) if "quality" in f else None,
    )


def _impacts_from_batch(batch: pa.RecordBatch, first_row: int, source: str) -> ImpactRows:
    """Check one batch of impact rows and convert it (degrees to radians)."""

    def recheck(part: pa.RecordBatch, start: int) -> object:
        return _impacts_from_batch(part, start, source)

    checked = _check_columns(batch, _IMPACTS, source, first_row, recheck)
    f, t, problems = checked.floats, checked.texts, checked.problems
    problems.add(
        f["semi_minor_m"] > f["semi_major_m"],
        "semi_minor_m",
        "at most semi_major_m",
        _got_float_of(f["semi_minor_m"]),
    )
    problems.raise_first(source, first_row)
    return ImpactRows(
        t_s=f["t_s"],
        track_id=_as_str_array(t["track_id"]),
        impact_t_s=f["impact_t_s"],
        impact_lat_rad=np.deg2rad(f["impact_lat_deg"]),
        impact_lon_rad=np.deg2rad(f["impact_lon_deg"]),
        semi_major_m=f["semi_major_m"],
        semi_minor_m=f["semi_minor_m"],
        orientation_rad=np.deg2rad(f["orientation_deg"]),
        confidence=f["confidence"],
        launch_t_s=f["launch_t_s"],
        launch_lat_rad=np.deg2rad(f["launch_lat_deg"]),
        launch_lon_rad=np.deg2rad(f["launch_lon_deg"]),
    )


def _alerts_from_batch(batch: pa.RecordBatch, first_row: int, source: str) -> AlertRows:
    """Check one batch of alert rows and convert it."""

    def recheck(part: pa.RecordBatch, start: int) -> object:
        return _alerts_from_batch(part, start, source)

    checked = _check_columns(batch, _ALERTS, source, first_row, recheck)
    checked.problems.raise_first(source, first_row)
    f, t = checked.floats, checked.texts
    return AlertRows(
        t_s=f["t_s"],
        alert_id=_as_str_array(t["alert_id"]),
        area_id=_as_str_array(t["area_id"]),
        track_id=_as_str_array(t["track_id"]),
        state=_as_str_array(t["state"]),
        event=_as_str_array(t["event"]),
        reason=_as_str_array(t["reason"]),
        impact_t_s=f["impact_t_s"],
    )


@dataclass(frozen=True)
class _SensorRows:
    """Checked sensor rows, file units, before the whole-table checks."""

    floats: dict[str, np.ndarray]
    texts: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.texts["sensor_id"])


def _sensor_rows_from_batch(batch: pa.RecordBatch, first_row: int, source: str) -> _SensorRows:
    """Check one batch of sensors (all but the uniqueness of ids)."""

    def recheck(part: pa.RecordBatch, start: int) -> object:
        return _sensor_rows_from_batch(part, start, source)

    checked = _check_columns(batch, _SENSORS, source, first_row, recheck)
    f, problems = checked.floats, checked.problems
    kind = _as_str_array(checked.texts["kind"])
    is_radar, is_ir = kind == "radar", kind == "ir"
    problems.add(
        is_radar & np.isnan(f["sigma_range_m"]),
        "sigma_range_m",
        "a finite float > 0 for a radar",
        lambda i: "empty",
    )
    for name, what in (("sigma_range_m", "range"), ("sigma_range_rate_mps", "range rate")):
        problems.add(
            is_ir & ~np.isnan(f[name]),
            name,
            f"empty for an ir sensor (it measures no {what})",
            _got_float_of(f[name]),
        )
    problems.raise_first(source, first_row)
    return _SensorRows(f, {name: _as_str_array(arr) for name, arr in checked.texts.items()})


def _check_unique_ids(ids: np.ndarray, source: str, first_row: int) -> None:
    """Raise on the first sensor id that repeats an earlier one."""
    if ids.size == 0:
        return
    _, first_index, inverse = np.unique(ids, return_index=True, return_inverse=True)
    earlier = first_index[inverse.reshape(-1)]
    repeats = np.flatnonzero(earlier != np.arange(ids.size))
    if repeats.size:
        i = int(repeats[0])
        raise DataError(
            source,
            row=first_row + i + 1,
            column="sensor_id",
            expected="a sensor_id that no other row uses",
            got=f"{_got_text(str(ids[i]))}, already on row {first_row + int(earlier[i]) + 1}",
        )


_SENSOR_ATTRIBUTES: Final = (
    ("lat_deg", "lat_rad", True),
    ("lon_deg", "lon_rad", True),
    ("alt_m", "alt_m", False),
    ("sigma_range_m", "sigma_range_m", False),
    ("sigma_azimuth_deg", "sigma_azimuth_rad", True),
    ("sigma_elevation_deg", "sigma_elevation_rad", True),
    ("sigma_range_rate_mps", "sigma_range_rate_mps", False),
    ("max_range_m", "max_range_m", False),
    ("scan_period_s", "scan_period_s", False),
    ("p_detect", "p_detect", False),
    ("clutter_per_scan", "clutter_per_scan", False),
)
"""File column, :class:`Sensor` attribute, and whether the column is in degrees."""


def _sensor_table(rows: _SensorRows) -> SensorTable:
    """Sensors from checked rows (degrees to radians)."""
    values = {
        attribute: np.deg2rad(rows.floats[column]) if is_deg else rows.floats[column]
        for column, attribute, is_deg in _SENSOR_ATTRIBUTES
    }
    sensors = [
        Sensor(
            sensor_id=str(rows.texts["sensor_id"][i]),
            nation=str(rows.texts["nation"][i]),
            kind=str(rows.texts["kind"][i]),
            **{attribute: float(column[i]) for attribute, column in values.items()},
        )
        for i in range(len(rows))
    ]
    return SensorTable(tuple(sensors))


def _concat_sensor_rows(parts: Sequence[_SensorRows]) -> _SensorRows:
    if not parts:
        return _SensorRows(
            {c.name: np.empty(0) for c in _SENSORS.columns if isinstance(c, _Float)},
            {c.name: np.empty(0, dtype=str) for c in _SENSORS.columns if isinstance(c, _Text)},
        )
    return _SensorRows(
        {k: np.concatenate([p.floats[k] for p in parts]) for k in parts[0].floats},
        {k: np.concatenate([p.texts[k] for p in parts]) for k in parts[0].texts},
    )


# --------------------------------------------------------------------------------------------
# Record batches out of files
# --------------------------------------------------------------------------------------------


def _check_file(path: Path, source: str) -> None:
    """Raise unless ``path`` is an existing, non-empty file."""
    if not path.exists():
        raise DataError(source, expected="an existing file", got="no such file")
    if not path.is_file():
        raise DataError(source, expected="a file", got="a directory or another non-file")
    if path.stat().st_size == 0:
        raise DataError(source, expected="a header row and data rows", got="an empty file")


def _check_header(names: Sequence[str], schema: _Schema, source: str) -> None:
    """Raise on a missing or repeated contract column (an optional one may be missing)."""
    for col in schema.present(names):
        name = col.name
        count = sum(1 for n in names if n == name)
        if count == 0:
            raise DataError(
                source,
                column=name,
                expected=f"a column named {name} (the {schema.table} table has columns "
                f"{', '.join(schema.names)})",
                got=f"a header without it: {_list_names(list(names), limit=20)}",
            )
        if count > 1:
            raise DataError(
                source, column=name, expected="the column once", got=f"{count} columns so named"
            )


def _csv_header(path: Path, source: str) -> tuple[list[str], bool]:
    """Column names of a CSV file, and whether the file holds the header line only."""
    with path.open("rb") as stream:
        head = stream.read(_HEADER_SNIFF_BYTES)
        at_end = not stream.read(1)
    end = head.find(b"\n")
    if end < 0 and not at_end:
        raise DataError(
            source,
            row=0,
            expected="a CSV header line",
            got=f"no line break in the first {_HEADER_SNIFF_BYTES} bytes (is it a CSV file?)",
        )
    line = head if end < 0 else head[:end]
    try:
        text = line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:
        raise DataError(
            source,
            row=0,
            expected="a UTF-8 CSV header line",
            got="binary data (is it a CSV file?)",
        )
    try:
        names = next(csv.reader([text]), [])
    except csv.Error as exc:  # a stray carriage return inside the line
        raise DataError(source, row=0, expected="a CSV header line", got=str(exc)) from None
    if not any(name.strip() for name in names):
        raise DataError(
            source, row=0, expected="a header row naming the columns", got="an empty first line"
        )
    header_only = end < 0 or (at_end and not head[end + 1 :].strip())
    return names, header_only


class _InvalidRows:
    """Collects the rows the CSV parser rejects (wrong number of fields)."""

    def __init__(self) -> None:
        self.rows: list[Any] = []

    def __call__(self, row: Any) -> str:
        self.rows.append(row)
        return "error"


def _open_csv(
    path: Path,
    schema: _Schema,
    block_bytes: int,
    invalid_rows: _InvalidRows,
    *,
    as_bytes: bool,
) -> pa_csv.CSVStreamingReader:
    """A single-threaded streaming CSV reader of the contract columns (row numbers known).

    ``as_bytes`` reads every column as raw bytes: the slow path that locates a problem.
    """
    column_types = {
        c.name: pa.binary() if as_bytes else pa.float64() if isinstance(c, _Float) else pa.string()
        for c in schema.columns  # a boolean column is read as text and checked word by word
    }
    return pa_csv.open_csv(
        path,
        read_options=pa_csv.ReadOptions(use_threads=False, block_size=block_bytes),
        parse_options=pa_csv.ParseOptions(invalid_row_handler=invalid_rows),
        convert_options=pa_csv.ConvertOptions(
            column_types=column_types,
            include_columns=list(schema.names),
            null_values=[""],
            strings_can_be_null=as_bytes,
            quoted_strings_can_be_null=False,
        ),
    )


def _invalid_row_error(path: Path, source: str, row: Any) -> DataError:
    """The error for a row with the wrong number of fields (a truncated file, often)."""
    text = str(row.text)
    data_row = None if row.number is None else int(row.number) - 1
    got = f"{row.actual_columns} fields: {_clip(repr(text))}"
    if row.actual_columns < row.expected_columns:
        encoded = text.encode("utf-8", errors="replace")
        size = path.stat().st_size
        with path.open("rb") as stream:
            stream.seek(max(0, size - len(encoded) - 2))
            tail = stream.read()
        if tail.rstrip(b"\r").endswith(encoded) and not tail.endswith(b"\n"):
            got = (
                f"{row.actual_columns} fields in the last line, which ends without a line break "
                f"(the file looks truncated): {_clip(repr(text))}"
            )
    return DataError(
        source,
        row=data_row,
        expected=f"{row.expected_columns} comma-separated fields, as in the header",
        got=got,
    )


def _locate_csv_problem(
    path: Path,
    source: str,
    schema: _Schema,
    convert: Callable[[pa.RecordBatch, int], object],
    rows_done: int,
    block_bytes: int,
    cause: Exception,
) -> DataError:
    """Re-read a CSV file as strings from data row ``rows_done`` to find what the fast path hit."""
    invalid_rows = _InvalidRows()
    seen = 0
    try:
        with _open_csv(path, schema, block_bytes, invalid_rows, as_bytes=True) as reader:
            for batch in reader:
                end = seen + batch.num_rows
                if end > rows_done:
                    skip = max(0, rows_done - seen)
                    convert(batch.slice(skip), seen + skip)
                seen = end
    except DataError as exc:
        return exc
    except (pa.ArrowException, OSError) as exc:
        if invalid_rows.rows:
            return _invalid_row_error(path, source, invalid_rows.rows[0])
        cause = exc
    return DataError(
        source,
        row=rows_done + 1,
        expected="a readable CSV file",
        got=f"a CSV read error at or after this row: {_clip(str(cause))}",
    )


def _check_csv_header(path: Path, source: str, schema: _Schema) -> tuple[_Schema, bool]:
    """Check the header of a CSV file: the columns it holds, and whether it has no data rows."""
    names, header_only = _csv_header(path, source)
    _check_header(names, schema, source)
    return schema.of_file(names), header_only


def _iter_csv(
    path: Path,
    source: str,
    schema: _Schema,
    convert: Callable[[pa.RecordBatch, int], _R],
) -> Iterator[_R]:
    """Converted batches of a CSV file; parser errors become DataErrors with their row."""
    invalid_rows = _InvalidRows()
    rows_done = 0
    reader: pa_csv.CSVStreamingReader | None = None
    try:
        while True:
            try:
                if reader is None:
                    reader = _open_csv(path, schema, _CSV_BLOCK_BYTES, invalid_rows, as_bytes=False)
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowException, OSError) as exc:
                if invalid_rows.rows:
                    raise _invalid_row_error(path, source, invalid_rows.rows[0]) from None
                raise _locate_csv_problem(
                    path, source, schema, convert, rows_done, _CSV_BLOCK_BYTES, exc
                ) from None
            yield convert(batch, rows_done)
            rows_done += batch.num_rows
    finally:
        if reader is not None:
            reader.close()


def _open_parquet(path: Path, source: str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path, buffer_size=_PARQUET_BUFFER_BYTES, pre_buffer=False)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            source, expected="a Parquet file", got=f"a file that is not Parquet: {_clip(str(exc))}"
        ) from None


def _check_parquet_header(path: Path, source: str, schema: _Schema) -> _Schema:
    """Check the columns of a Parquet file; return the contract columns it holds."""
    parquet = _open_parquet(path, source)
    try:
        names = parquet.schema_arrow.names
        _check_header(names, schema, source)
        return schema.of_file(names)
    finally:
        parquet.close()


def _iter_parquet(
    path: Path,
    source: str,
    schema: _Schema,
    convert: Callable[[pa.RecordBatch, int], _R],
    batch_rows: int,
) -> Iterator[_R]:
    """Converted batches of a Parquet file; reader errors become DataErrors."""
    parquet = _open_parquet(path, source)
    try:
        rows_done = 0
        batches = parquet.iter_batches(
            batch_size=min(batch_rows, _PARQUET_BATCH_ROWS), columns=list(schema.names)
        )
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except (pa.ArrowException, OSError) as exc:
                raise DataError(
                    source,
                    row=rows_done + 1,
                    expected="a readable Parquet file",
                    got=f"a Parquet read error at or after this row: {_clip(str(exc))}",
                ) from None
            yield convert(batch, rows_done)
            rows_done += batch.num_rows
    finally:
        parquet.close()


def _open_converted(
    path: str | os.PathLike[str],
    schema: _Schema,
    convert: Callable[[pa.RecordBatch, int, str], _R],
    batch_rows: int,
) -> tuple[_Schema, Iterator[_R]]:
    """The contract columns a table file holds, and its checked, converted record batches.

    The name, the file and its header are checked now; the rows as the iterator reaches them,
    in file order. The columns are the required ones and the optional ones the file has.
    """
    source = os.fspath(path)
    file_path = Path(path)
    file_format = _format_of(file_path, source)
    _check_file(file_path, source)
    _log.debug("reading %s table from %s (%s)", schema.table, source, file_format)

    def bound(batch: pa.RecordBatch, first_row: int) -> _R:
        return convert(batch, first_row, source)

    if file_format == "csv":
        file_schema, header_only = _check_csv_header(file_path, source, schema)
        if header_only:
            return file_schema, iter(())
        return file_schema, _iter_csv(file_path, source, file_schema, bound)
    file_schema = _check_parquet_header(file_path, source, schema)
    return file_schema, _iter_parquet(file_path, source, file_schema, bound, batch_rows)


def _iter_converted(
    path: str | os.PathLike[str],
    schema: _Schema,
    convert: Callable[[pa.RecordBatch, int, str], _R],
    batch_rows: int,
) -> Iterator[_R]:
    """Checked, converted record batches of a contract table file (see :func:`_open_converted`)."""
    return _open_converted(path, schema, convert, batch_rows)[1]


def _rechunk(parts: Iterator[Detections], chunk_rows: int) -> Iterator[Detections]:
    """Regroup detections into chunks of exactly ``chunk_rows`` rows (the last may be shorter).

    Rows are copied into a chunk allocated once, so that at most the chunk being filled and the
    one last yielded are alive: memory stays near twice the chunk size.
    """
    names = [f.name for f in fields(Detections) if f.name != "release"]  # files carry no labels
    buffer: dict[str, np.ndarray] = {}
    filled = 0
    for part in parts:
        start, size = 0, len(part)
        while start < size:
            if filled == 0 and size - start >= chunk_rows:
                yield part.take(slice(start, start + chunk_rows))
                start += chunk_rows
                continue
            if not buffer:
                buffer = {
                    name: np.empty((chunk_rows,), getattr(part, name).dtype) for name in names
                }
            take = min(chunk_rows - filled, size - start)
            for name in names:
                buffer[name][filled : filled + take] = getattr(part, name)[start : start + take]
            filled += take
            start += take
            if filled == chunk_rows:
                yield Detections(**buffer)
                buffer, filled = {}, 0
    if filled:
        yield Detections(**{name: values[:filled].copy() for name, values in buffer.items()})


def _check_chunk_rows(chunk_rows: int, caller: str) -> None:
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ConfigError(
            caller, key="chunk_rows", expected="an integer >= 1", got=repr(chunk_rows)
        )


# --------------------------------------------------------------------------------------------
# Public readers
# --------------------------------------------------------------------------------------------


def read_sensors(path: str | os.PathLike[str]) -> SensorTable:
    """Read a sensors table.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` or ``.parquet`` file with the columns of the sensors table.

    Returns
    -------
    SensorTable
        The sensors, sorted by ``sensor_id``; positions and angular sigmas converted from degrees
        to radians (``lat_rad``, ``lon_rad``, ``sigma_azimuth_rad``, ``sigma_elevation_rad``),
        empty optional cells as NaN.

    Raises
    ------
    DataError
        If the file is missing, unreadable, or breaks the contract: missing column, non-number,
        non-finite or out-of-range value (latitude outside [-90, 90], longitude outside
        [-180, 180], sigma, maximum range or scan period <= 0, ``p_detect`` outside [0, 1],
        negative clutter), unknown ``kind``, a nation that is not an alpha-3 code, a radar
        without ``sigma_range_m``, an IR sensor with a range or range-rate sigma, or a repeated
        ``sensor_id``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "sensors.csv").write_text(
    ...     "sensor_id,nation,kind,lat_deg,lon_deg,alt_m,sigma_range_m,sigma_azimuth_deg,"
    ...     "sigma_elevation_deg,sigma_range_rate_mps,max_range_m,scan_period_s,p_detect,"
    ...     "clutter_per_scan\\n"
    ...     "R1,JPN,radar,35.6,139.7,40,50,0.1,0.1,,400000,10,0.9,\\n")
    >>> sensors = read_sensors(folder / "sensors.csv")
    >>> sensors[0].sensor_id, round(sensors[0].sigma_azimuth_rad, 6), sensors[0].has_range_rate
    ('R1', 0.001745, False)
    """
    source = os.fspath(path)
    parts = list(_iter_converted(path, _SENSORS, _sensor_rows_from_batch, _PARQUET_BATCH_ROWS))
    rows = _concat_sensor_rows(parts)
    _check_unique_ids(rows.texts["sensor_id"], source, 0)
    return _sensor_table(rows)


def iter_detections(
    path: str | os.PathLike[str], sensors: SensorTable, *, chunk_rows: int = 500_000
) -> Iterator[Detections]:
    """Stream a detections table in file order, in chunks of at most ``chunk_rows`` rows.

    Memory use is bounded by the chunk size (about twice a chunk, plus a few MiB of read
    buffers), not by the file size. The file name, the file and its header are checked when the
    function is called; each chunk is checked before it is yielded, so a problem further on
    raises when the iteration reaches it.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` or ``.parquet`` file with the columns of the detections table.
    sensors : SensorTable
        The scenario's sensors; every ``sensor_id`` must be one of them.
    chunk_rows : int, keyword-only
        Rows per chunk; every chunk but the last has exactly this many.

    Yields
    ------
    Detections
        Arrays of shape (n,) with n <= ``chunk_rows``: ``t_s`` (s, Unix epoch), ``sensor_index``
        (int32, index into ``sensors``), ``range_m`` (m, NaN for IR), ``azimuth_rad`` and
        ``elevation_rad`` (rad, sensor's local ENU frame), ``range_rate_mps`` (m/s, NaN where
        empty), ``sensor_lat_rad``, ``sensor_lon_rad`` (rad, WGS-84), ``sensor_alt_m``
        (m above the ellipsoid) and ``row`` (int64, 0-based data-row index in the file).

    Raises
    ------
    DataError
        If the file is missing, unreadable, truncated, or breaks the contract: missing column,
        non-number, non-finite or out-of-range value (``azimuth_deg`` outside [0, 360),
        ``elevation_deg`` outside [-90, 90], negative ``range_m``, latitude outside [-90, 90],
        longitude outside [-180, 180]), unknown ``sensor_id``, a radar detection without range,
        an IR detection with a range, or a range rate from a sensor that reports none.
    ConfigError
        If ``chunk_rows`` is not a positive integer.
    """
    _check_chunk_rows(chunk_rows, "iter_detections")
    lookup = _SensorLookup.of(sensors)

    def convert(batch: pa.RecordBatch, first_row: int, source: str) -> Detections:
        return _detections_from_batch(batch, first_row, source, lookup)

    parts = _iter_converted(path, _DETECTIONS, convert, batch_rows=chunk_rows)
    return _rechunk(parts, chunk_rows)


def read_detections(path: str | os.PathLike[str], sensors: SensorTable) -> Detections:
    """Read a whole detections table (the concatenation of :func:`iter_detections`).

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` or ``.parquet`` file with the columns of the detections table.
    sensors : SensorTable
        The scenario's sensors.

    Returns
    -------
    Detections
        All rows in file order, arrays of shape (n,), units as in :func:`iter_detections`;
        ``row`` is ``arange(n)``.

    Raises
    ------
    DataError
        As :func:`iter_detections`.
    """
    parts = list(iter_detections(path, sensors))
    if not parts:
        return Detections.empty()
    return parts[0] if len(parts) == 1 else Detections.concat(parts)


def _empty_truth(*, detectable: bool = False) -> Truth:
    return Truth(
        np.empty(0),
        np.empty(0, dtype=str),
        np.empty(0, dtype=str),
        np.empty((0, 6)),
        np.empty(0, dtype=bool) if detectable else None,
    )


def read_truth(path: str | os.PathLike[str]) -> Truth:
    """Read a truth table.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` or ``.parquet`` file with the columns of the truth table.

    Returns
    -------
    Truth
        ``t_s`` shape (n,) in s; ``object_id`` and ``kind`` shape (n,) strings; ``x`` shape
        (n, 6), WGS-84 ECEF ``[x, y, z, vx, vy, vz]`` in m and m/s; ``detectable`` shape (n,)
        bool when the file has the optional column of that name, else None. Rows in file order.

    Raises
    ------
    DataError
        If the file is missing, unreadable, truncated, or breaks the contract: missing column,
        non-number, non-finite value, an empty ``object_id`` or ``kind``, or a ``detectable``
        cell that is neither ``true`` nor ``false`` (any letter case; a Parquet file may use a
        boolean column instead).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "truth.csv"
    >>> _ = path.write_text(
    ...     "t_s,object_id,kind,x_m,y_m,z_m,vx_mps,vy_mps,vz_mps,detectable\\n"
    ...     "10,T1,aircraft,1,2,3,4,5,6,true\\n"
    ...     "10,T2,aircraft,7,8,9,0,0,0,false\\n")
    >>> read_truth(path).detectable.tolist()
    [True, False]
    """
    file_schema, batches = _open_converted(path, _TRUTH, _truth_from_batch, _PARQUET_BATCH_ROWS)
    parts = list(batches)
    if not parts:
        return _empty_truth(detectable="detectable" in file_schema.names)
    return parts[0] if len(parts) == 1 else Truth.concat(parts)


def read_tracks(path: str | os.PathLike[str]) -> TrackRows:
    """Read a tracks table (the picture as rows).

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` or ``.parquet`` file with the columns of the tracks table.

    Returns
    -------
    TrackRows
        ``t_s`` shape (n,) in s; ``track_id``, ``kind``, ``status``, ``nations`` shape (n,)
        strings; ``x`` shape (n, 6), ECEF m and m/s; ``cov_pos`` shape (n, 6), the upper triangle
        of the ECEF position covariance in m^2 ordered as ``COV_POS_COLUMNS``. File order.

    Raises
    ------
    DataError
        If the file is missing, unreadable, truncated, or breaks the contract: missing column,
        non-number, non-finite value, negative variance (``cov_xx``, ``cov_yy``, ``cov_zz``),
        unknown ``status``, or ``nations`` that are not ``;``-separated alpha-3 codes.
    """
    parts = list(_iter_converted(path, _TRACKS, _tracks_from_batch, _PARQUET_BATCH_ROWS))
    if not parts:
        return TrackRows.empty()
    return parts[0] if len(parts) == 1 else TrackRows.concat(parts)


def read_impacts(path: str | os.PathLike[str]) -> ImpactRows:
    """Read an impacts table (predicted impacts and launches of ballistic tracks).

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` or ``.parquet`` file with the columns of the impacts table.

    Returns
    -------
    ImpactRows
        Arrays of shape (n,), file order; ``*_deg`` columns become ``*_rad`` radians, empty
        launch cells NaN.

    Raises
    ------
    DataError
        If the file is missing, unreadable, truncated, or breaks the contract: missing column,
        non-number, non-finite required value, latitude or longitude out of range, negative
        semi-axis or a semi-minor axis longer than the semi-major one, orientation outside
        [0, 180), or a confidence outside (0, 1).
    """
    parts = list(_iter_converted(path, _IMPACTS, _impacts_from_batch, _PARQUET_BATCH_ROWS))
    if not parts:
        return ImpactRows.empty()
    return parts[0] if len(parts) == 1 else ImpactRows.concat(parts)


def read_alerts(path: str | os.PathLike[str]) -> AlertRows:
    """Read an alerts table (changes of civil-defence warnings).

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` or ``.parquet`` file with the columns of the alerts table.

    Returns
    -------
    AlertRows
        Arrays of shape (n,), file order; an empty ``impact_t_s`` is NaN.

    Raises
    ------
    DataError
        If the file is missing, unreadable, truncated, or breaks the contract: missing column,
        empty id, or a ``state`` or ``event`` that is not one of the contract's words.
    """
    parts = list(_iter_converted(path, _ALERTS, _alerts_from_batch, _PARQUET_BATCH_ROWS))
    if not parts:
        return AlertRows.empty()
    return parts[0] if len(parts) == 1 else AlertRows.concat(parts)


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


def _float_array(values: np.ndarray, optional: bool) -> pa.Array:
    """A float64 Arrow array; NaN becomes an empty cell in optional columns only."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    return pa.array(values, pa.float64(), mask=np.isnan(values) if optional else None)


def _text_array(values: Sequence[str] | np.ndarray) -> pa.Array:
    # Through Python strings: pyarrow cuts NumPy unicode arrays at the first NUL character.
    return pa.array(np.asarray(values, dtype=str).tolist(), pa.string())


def _optional(schema: _Schema, name: str) -> bool:
    col = schema.columns[schema.position(name)]
    return isinstance(col, _Float) and col.optional


def _sensors_batch(table: SensorTable) -> pa.RecordBatch:
    arrays: dict[str, pa.Array] = {
        "sensor_id": _text_array([s.sensor_id for s in table]),
        "nation": _text_array([s.nation for s in table]),
        "kind": _text_array([s.kind for s in table]),
    }
    for column, attribute, is_deg in _SENSOR_ATTRIBUTES:
        values = np.array([getattr(s, attribute) for s in table], dtype=np.float64)
        arrays[column] = _float_array(
            _rad_to_deg(values) if is_deg else values, _optional(_SENSORS, column)
        )
    return pa.record_batch([arrays[name] for name in _SENSORS.names], schema=_SENSORS.arrow())


def _detections_batch(
    det: Detections, lookup: _SensorLookup, source: str, first_row: int
) -> pa.RecordBatch:
    index = np.asarray(det.sensor_index)
    bad = (index < 0) | (index >= len(lookup.ids))
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            source,
            row=first_row + i + 1,
            column="sensor_id",
            expected=f"a sensor_index in [0, {len(lookup.ids)}) of the sensors table",
            got=str(index[i]),
        )
    azimuth_deg = _rad_to_deg(det.azimuth_rad)
    # An azimuth a hair below 2 pi whose nearest degrees round up to 360 stays below 360.
    azimuth_deg[(azimuth_deg == 360.0) & (det.azimuth_rad < _FULL_TURN_RAD)] = _BELOW_360_DEG
    arrays = {
        "t_s": det.t_s,
        "range_m": det.range_m,
        "azimuth_deg": azimuth_deg,
        "elevation_deg": _rad_to_deg(det.elevation_rad),
        "range_rate_mps": det.range_rate_mps,
        "sensor_lat_deg": _rad_to_deg(det.sensor_lat_rad),
        "sensor_lon_deg": _rad_to_deg(det.sensor_lon_rad),
        "sensor_alt_m": det.sensor_alt_m,
    }
    columns = [
        pc.take(lookup.ids, pa.array(index.astype(np.int64)))
        if name == "sensor_id"
        else _float_array(arrays[name], _optional(_DETECTIONS, name))
        for name in _DETECTIONS.names
    ]
    return pa.record_batch(columns, schema=_DETECTIONS.arrow())


def _state_arrays(x: np.ndarray, names: Sequence[str], rows: int) -> dict[str, np.ndarray]:
    """The columns of an (n, k) array by name."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (rows, len(names)):
        raise ValueError(f"expected an array of shape ({rows}, {len(names)}), got {x.shape}")
    return {name: x[:, k] for k, name in enumerate(names)}


def _bool_column(values: np.ndarray, name: str, rows: int) -> np.ndarray:
    """A boolean column of ``rows`` values (ValueError unless a bool array of that shape)."""
    arr = np.asarray(values)
    if arr.dtype != np.bool_ or arr.shape != (rows,):
        raise ValueError(
            f"{name}: expected a bool array of shape ({rows},), got {arr.dtype} {arr.shape}"
        )
    return arr


def _truth_batch(truth: Truth) -> pa.RecordBatch:
    rows = len(truth.t_s)
    floats = {"t_s": truth.t_s, **_state_arrays(truth.x, _STATE_COLUMNS, rows)}
    texts = {"object_id": truth.object_id, "kind": truth.kind}
    bools: dict[str, np.ndarray] = {}
    if truth.detectable is not None:
        bools["detectable"] = _bool_column(truth.detectable, "Truth.detectable", rows)
    return _batch_from(_TRUTH, floats, texts, bools)


def _tracks_batch(rows: TrackRows) -> pa.RecordBatch:
    floats = {
        "t_s": rows.t_s,
        **_state_arrays(rows.x, _STATE_COLUMNS, len(rows.t_s)),
        **_state_arrays(rows.cov_pos, COV_POS_COLUMNS, len(rows.t_s)),
    }
    texts = {
        "track_id": rows.track_id,
        "kind": rows.kind,
        "status": rows.status,
        "nations": rows.nations,
    }
    present = []
    for name in ("local_id", "sources"):
        if (values := getattr(rows, name)) is not None:
            texts[name] = values
            present.append(name)
    if rows.quality is not None:
        floats["quality"] = np.asarray(rows.quality, dtype=np.float64)
        present.append("quality")
    return _batch_from(_TRACKS, floats, texts, present=present)


def _deg_below(rad: np.ndarray, limit_deg: float, limit_rad: float) -> np.ndarray:
    """Degrees of radians below ``limit_rad`` kept below ``limit_deg`` (not rounded up to it)."""
    deg = _rad_to_deg(rad)
    deg[(deg >= limit_deg) & (np.asarray(rad) < limit_rad)] = float(np.nextafter(limit_deg, 0.0))
    return deg


def _impacts_batch(rows: ImpactRows) -> pa.RecordBatch:
    floats = {
        "t_s": rows.t_s,
        "impact_t_s": rows.impact_t_s,
        "impact_lat_deg": _rad_to_deg(rows.impact_lat_rad),
        "impact_lon_deg": _rad_to_deg(rows.impact_lon_rad),
        "semi_major_m": rows.semi_major_m,
        "semi_minor_m": rows.semi_minor_m,
        "orientation_deg": _deg_below(rows.orientation_rad, 180.0, np.pi),
        "confidence": rows.confidence,
        "launch_t_s": rows.launch_t_s,
        "launch_lat_deg": _rad_to_deg(rows.launch_lat_rad),
        "launch_lon_deg": _rad_to_deg(rows.launch_lon_rad),
    }
    return _batch_from(_IMPACTS, floats, {"track_id": rows.track_id})


def _alerts_batch(rows: AlertRows) -> pa.RecordBatch:
    texts = {
        "alert_id": rows.alert_id,
        "area_id": rows.area_id,
        "track_id": rows.track_id,
        "state": rows.state,
        "event": rows.event,
        "reason": rows.reason,
    }
    return _batch_from(_ALERTS, {"t_s": rows.t_s, "impact_t_s": rows.impact_t_s}, texts)


def _batch_from(
    schema: _Schema,
    floats: Mapping[str, np.ndarray],
    texts: Mapping[str, np.ndarray],
    bools: Mapping[str, np.ndarray] | None = None,
    *,
    present: Sequence[str] = (),
) -> pa.RecordBatch:
    """A record batch of the required columns and the optional ones given (``bools``, and the
    float and text columns named in ``present``)."""
    bools = bools or {}
    names = [*bools, *present]
    columns = [
        _float_array(floats[c.name], c.optional)
        if isinstance(c, _Float)
        else pa.array(bools[c.name], pa.bool_())
        if isinstance(c, _Bool)
        else _text_array(texts[c.name])
        for c in schema.present(names)
    ]
    return pa.record_batch(columns, schema=schema.arrow(names))


def _csv_write_options() -> pa_csv.WriteOptions:
    """Unquoted header names where this pyarrow can do it (the names need no quotes)."""
    try:
        return pa_csv.WriteOptions(quoting_header="none")
    except TypeError:
        return pa_csv.WriteOptions()


_Chunk = SensorTable | Detections | Truth | TrackRows | ImpactRows | AlertRows
_CHUNK_TYPES: Final[Mapping[str, type]] = MappingProxyType(
    {
        "sensors": SensorTable,
        "detections": Detections,
        "truth": Truth,
        "tracks": TrackRows,
        "impacts": ImpactRows,
        "alerts": AlertRows,
    }
)


class TableWriter:
    """Streaming writer of one data-contract table to a ``.csv`` or ``.parquet`` file.

    Every chunk is checked against the contract before it is accepted, so a written file always
    reads back. Rows go to ``<path>.partial`` and the file appears under its own name only when
    the writer closes without error; :meth:`abort` (or an exception inside a ``with`` block)
    removes the partial file. Open it with :func:`open_table_writer`.

    The first chunk decides whether an optional column (``Truth.detectable``) is written: it is
    when that chunk carries it, and every later chunk must then carry it too, or none may.

    Parameters
    ----------
    path : str or path-like
        The output file; its extension picks the format.
    table : {'sensors', 'detections', 'truth', 'tracks', 'impacts', 'alerts'}
        Which table the chunks belong to.
    sensors : SensorTable, keyword-only
        Required for ``detections``: ``sensor_index`` is written as the sensor's id.
    buffer_rows : int, keyword-only
        Rows gathered before they go to the file (one Parquet row group at most per flush).

    Raises
    ------
    ConfigError
        If ``table`` is unknown, ``sensors`` is missing for detections, or ``buffer_rows`` < 1.
    DataError
        If the extension is neither ``.csv`` nor ``.parquet``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        table: str,
        *,
        sensors: SensorTable | None = None,
        buffer_rows: int = 65_536,
    ) -> None:
        if table not in _SCHEMAS:
            raise ConfigError(
                "open_table_writer",
                key="table",
                expected="one of " + ", ".join(repr(t) for t in _SCHEMAS),
                got=repr(table),
            )
        if table == "detections" and sensors is None:
            raise ConfigError(
                "open_table_writer",
                key="sensors",
                expected="the SensorTable that the detections' sensor_index refers to",
                got="None",
            )
        if isinstance(buffer_rows, bool) or not isinstance(buffer_rows, int) or buffer_rows < 1:
            raise ConfigError(
                "open_table_writer",
                key="buffer_rows",
                expected="an integer >= 1",
                got=repr(buffer_rows),
            )
        self._path = Path(path)
        self._source = os.fspath(path)
        self._format = _format_of(self._path, self._source)
        self._schema = _SCHEMAS[table]
        self._arrow_schema: pa.Schema | None = None  # fixed by the first chunk
        self._lookup = None if sensors is None else _SensorLookup.of(sensors)
        self._buffer_rows = buffer_rows
        self._partial = self._path.with_name(self._path.name + ".partial")
        self._sink: Any = None
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._rows = 0
        self._sensor_ids: list[np.ndarray] = []
        self._closed = False

    @property
    def path(self) -> Path:
        """The file being written."""
        return self._path

    @property
    def rows_written(self) -> int:
        """Rows accepted so far."""
        return self._rows

    def write(self, chunk: _Chunk) -> None:
        """Check a chunk and append it.

        Parameters
        ----------
        chunk : SensorTable, Detections, Truth or TrackRows
            Rows of this writer's table, in memory units (radians, m, m/s, s).

        Raises
        ------
        DataError
            If a row breaks the contract; the message names the output file and the row the
            value would have had in it. Nothing of the chunk is written then.
        TypeError
            If the chunk is not of this writer's table.
        ValueError
            If the writer is closed, if ``Truth.detectable`` is not a bool array of one value
            per row, or if the chunk carries an optional column that the first chunk did not
            (or lacks one that it did).
        """
        if self._closed:
            raise ValueError(f"{self._source}: the writer is closed")
        expected_type = _CHUNK_TYPES[self._schema.table]
        if not isinstance(chunk, expected_type):
            raise TypeError(
                f"{self._source}: expected a {expected_type.__name__} chunk for the "
                f"{self._schema.table} table, got {type(chunk).__name__}"
            )
        batch = self._checked_batch(chunk, f"{self._source} (writing)")
        if self._arrow_schema is None:
            self._arrow_schema = batch.schema
        elif not batch.schema.equals(self._arrow_schema):
            raise ValueError(
                f"{self._source}: expected a chunk with the columns of the first one "
                f"({', '.join(self._arrow_schema.names)}), got {', '.join(batch.schema.names)}"
            )
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self._rows += batch.num_rows
        if self._pending_rows >= self._buffer_rows:
            self._flush()

    def _checked_batch(self, chunk: _Chunk, source: str) -> pa.RecordBatch:
        """The chunk as an Arrow batch in file units, checked as a reader would check it."""
        first = self._rows
        if isinstance(chunk, SensorTable):
            batch = _sensors_batch(chunk)
            ids = _sensor_rows_from_batch(batch, first, source).texts["sensor_id"]
            _check_unique_ids(np.concatenate([*self._sensor_ids, ids]), source, 0)
            self._sensor_ids.append(ids)
        elif isinstance(chunk, Detections):
            if self._lookup is None:  # excluded by the constructor
                raise ValueError("detections need a sensor table")
            batch = _detections_batch(chunk, self._lookup, source, first)
            _detections_from_batch(batch, first, source, self._lookup)
        elif isinstance(chunk, Truth):
            batch = _truth_batch(chunk)
            _truth_from_batch(batch, first, source)
        elif isinstance(chunk, ImpactRows):
            batch = _impacts_batch(chunk)
            _impacts_from_batch(batch, first, source)
        elif isinstance(chunk, AlertRows):
            batch = _alerts_batch(chunk)
            _alerts_from_batch(batch, first, source)
        else:
            batch = _tracks_batch(chunk)
            _tracks_from_batch(batch, first, source)
        return batch

    def _open(self) -> None:
        schema = self._arrow_schema or self._schema.arrow()
        try:
            if self._format == "csv":
                self._sink = pa_csv.CSVWriter(
                    str(self._partial), schema, write_options=_csv_write_options()
                )
            else:
                self._sink = pq.ParquetWriter(str(self._partial), schema)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(self._source, expected="a writable file", got=_clip(str(exc))) from None

    def _flush(self) -> None:
        if self._sink is None:
            self._open()
        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending, schema=self._arrow_schema)
        self._sink.write_table(table)
        self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        """Write what is buffered, close the file and give it its final name."""
        if self._closed:
            return
        self._flush()
        self._sink.close()
        self._closed = True
        os.replace(self._partial, self._path)
        _log.debug("wrote %d %s rows to %s", self._rows, self._schema.table, self._source)

    def abort(self) -> None:
        """Close without publishing: the partial file is removed."""
        if self._closed:
            return
        self._closed = True
        if self._sink is not None:
            self._sink.close()
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def open_table_writer(
    path: str | os.PathLike[str],
    table: str,
    *,
    sensors: SensorTable | None = None,
    buffer_rows: int = 65_536,
) -> TableWriter:
    """Open a streaming writer of one contract table.

    Parameters
    ----------
    path : str or path-like
        The output file, ``.csv`` or ``.parquet``.
    table : {'sensors', 'detections', 'truth', 'tracks', 'impacts', 'alerts'}
        Which table the chunks belong to.
    sensors : SensorTable, keyword-only
        Required for ``detections``.
    buffer_rows : int, keyword-only
        Rows gathered before they go to the file.

    Returns
    -------
    TableWriter
        A context manager; ``write(chunk)`` appends, leaving the block publishes the file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from airpicture.tables import Truth
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "truth.csv"
    >>> chunk = Truth(np.array([0.0]), np.array(["T1"]), np.array(["uav"]), np.zeros((1, 6)))
    >>> with open_table_writer(path, "truth") as writer:
    ...     writer.write(chunk)
    ...     writer.write(chunk)
    >>> len(read_truth(path))
    2
    """
    return TableWriter(path, table, sensors=sensors, buffer_rows=buffer_rows)


def write_sensors(path: str | os.PathLike[str], table: SensorTable) -> None:
    """Write a sensors table (radians become degrees).

    Parameters
    ----------
    path : str or path-like
        The output file, ``.csv`` or ``.parquet``.
    table : SensorTable
        The sensors, in memory units; NaN optional values become empty cells.

    Raises
    ------
    DataError
        If a sensor breaks the contract (the file is not written then).
    """
    with open_table_writer(path, "sensors") as writer:
        writer.write(table)


def write_detections(
    path: str | os.PathLike[str], detections: Detections, sensors: SensorTable
) -> None:
    """Write a detections table in the order of the rows (the ``row`` field is not written).

    Parameters
    ----------
    path : str or path-like
        The output file, ``.csv`` or ``.parquet``.
    detections : Detections
        Arrays of shape (n,), memory units (rad, m, m/s, s); NaN optional values become empty.
    sensors : SensorTable
        The table ``detections.sensor_index`` refers to; ids are written.

    Raises
    ------
    DataError
        If a detection breaks the contract (the file is not written then).
    """
    with open_table_writer(path, "detections", sensors=sensors) as writer:
        writer.write(detections)


def write_truth(path: str | os.PathLike[str], truth: Truth) -> None:
    """Write a truth table.

    Parameters
    ----------
    path : str or path-like
        The output file, ``.csv`` or ``.parquet``.
    truth : Truth
        ``x`` shape (n, 6), ECEF m and m/s; ``detectable``, when not None, a bool array of
        shape (n,) written as the optional ``detectable`` column (``true`` / ``false`` in CSV).

    Raises
    ------
    DataError
        If a row breaks the contract (the file is not written then).
    ValueError
        If ``detectable`` is not a bool array of shape (n,).
    """
    with open_table_writer(path, "truth") as writer:
        writer.write(truth)


def write_tracks(path: str | os.PathLike[str], rows: TrackRows) -> None:
    """Write a tracks table.

    Parameters
    ----------
    path : str or path-like
        The output file, ``.csv`` or ``.parquet``.
    rows : TrackRows
        ``x`` shape (n, 6), ECEF m and m/s; ``cov_pos`` shape (n, 6), m^2.

    Raises
    ------
    DataError
        If a row breaks the contract (the file is not written then).
    """
    with open_table_writer(path, "tracks") as writer:
        writer.write(rows)


# --------------------------------------------------------------------------------------------
# Scenario directories
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioFiles:
    """The table files of a scenario directory.

    Attributes
    ----------
    directory : Path
        The scenario directory.
    sensors, detections : Path
        The required tables.
    truth, biases : Path or None
        The optional tables, None when absent.
    """

    directory: Path
    sensors: Path
    detections: Path
    truth: Path | None = None
    biases: Path | None = None


_SCENARIO_TABLES: Final = (
    ("sensors", True),
    ("detections", True),
    ("truth", False),
    ("biases", False),
)


def find_scenario_files(directory: str | os.PathLike[str]) -> ScenarioFiles:
    """Find the table files of a scenario directory, each ``<table>.csv`` or ``<table>.parquet``.

    Parameters
    ----------
    directory : str or path-like
        A folder holding ``sensors`` and ``detections`` and optionally ``truth`` and ``biases``.

    Returns
    -------
    ScenarioFiles
        The paths found.

    Raises
    ------
    DataError
        If the directory does not exist, a required table is missing, or a table is there both
        as CSV and as Parquet.
    """
    folder = Path(directory)
    source = os.fspath(directory)
    if not folder.is_dir():
        raise DataError(source, expected="a scenario directory", got="no such directory")
    found: dict[str, Path | None] = {}
    for table, required in _SCENARIO_TABLES:
        names = (f"{table}.csv", f"{table}.parquet")
        present = [folder / name for name in names if (folder / name).is_file()]
        if len(present) > 1:
            raise DataError(source, expected=f"one of {names[0]} or {names[1]}", got="both")
        if not present and required:
            listing = sorted(p.name for p in folder.iterdir())
            raise DataError(
                source,
                expected=f"a scenario directory with {names[0]} or {names[1]} (needed: "
                "sensors and detections; optional: truth and biases)",
                got=f"neither; the directory holds {_clip(_list_names(listing, limit=8))}",
            )
        found[table] = present[0] if present else None
    sensors, detections = found["sensors"], found["detections"]
    if sensors is None or detections is None:  # excluded above
        raise DataError(source, expected="sensors and detections tables", got="neither")
    return ScenarioFiles(folder, sensors, detections, found["truth"], found["biases"])
