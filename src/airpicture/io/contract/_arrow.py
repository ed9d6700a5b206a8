"""Conversion between a table's record batches in file units and its in-memory columns.

One converter each way serves all six tables, driven by the table's schema: a ``*_deg`` column
becomes the ``*_rad`` field (and back, in the degrees that read back to the same radians), the
columns ``part_of`` a field are stacked into one (n, k) array (and split again), an optional
column a file leaves out is a None field (and a None field is not written), a field's dtype is
restored on reading. What a table does beyond that is written here once, for that table only:

* detections: ``sensor_id`` <-> ``sensor_index`` through the sensors table, ``row`` numbers, and
  the measurements each sensor can make (range for radars only, range rate where reported);
* sensors: the sigmas that fit the sensor's kind, and ids unique over the whole table;
* impacts: a semi-minor axis no longer than the semi-major one.

Every batch a writer produces is checked by the same converter as a file's, so a written file
always reads back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import partial
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airpicture.errors import DataError
from airpicture.io.contract._check import (
    _check_columns,
    _Checked,
    _got_float,
    _got_float_of,
    _got_text,
    _list_names,
)
from airpicture.io.contract._schema import _DETECTIONS, _SCHEMAS, _Bool, _Float, _Schema
from airpicture.tables import (
    COV_POS_COLUMNS,
    AlertRows,
    Detections,
    ImpactRows,
    Sensor,
    SensorTable,
    TrackRows,
    Truth,
    cov_pos_to_matrix,
    covariance_problems,
)

_Chunk = SensorTable | Detections | Truth | TrackRows | ImpactRows | AlertRows

_OwnCheck = Callable[[_Checked, int], dict[str, np.ndarray]]
"""A table's own checks of a batch whose columns passed theirs (given the batch's first row):
they add to its problems and return the fields they make."""

_OwnColumns = Callable[[Mapping[str, Any], str, int], dict[str, pa.Array]]
"""The columns a table builds itself for a batch from its fields (given the source and the
batch's first row), such as the sensor ids of detections."""


# --------------------------------------------------------------------------------------------
# Values, both ways
# --------------------------------------------------------------------------------------------


def _rad_to_deg(rad: np.ndarray) -> np.ndarray:
    """Degrees that ``np.deg2rad`` maps back to ``rad`` exactly where possible, shortest first
    (radians too large for degrees give infinities, which the checks refuse)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _shortest_degrees(np.asarray(rad, dtype=np.float64))


def _shortest_degrees(rad: np.ndarray) -> np.ndarray:
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


def _file_degrees(col: _Float, rad: Any) -> np.ndarray:
    """The degrees of a column's radians; below a half-open upper bound (an azimuth's 360) when
    the radians are below it, rather than rounded up to it."""
    deg = _rad_to_deg(rad)
    if col.high_open and math.isfinite(col.high):
        below = np.asarray(rad) < float(np.deg2rad(col.high))
        deg[(deg >= col.high) & below] = float(np.nextafter(col.high, 0.0))
    return deg


def _as_str_array(arr: pa.Array) -> np.ndarray:
    """An Arrow string array as a NumPy unicode array."""
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=str)


def _float_array(values: Any, optional: bool) -> pa.Array:
    """A float64 Arrow array; NaN becomes an empty cell in optional columns only."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    return pa.array(values, pa.float64(), mask=np.isnan(values) if optional else None)


def _text_array(values: Sequence[str] | np.ndarray) -> pa.Array:
    # Through Python strings: pyarrow cuts NumPy unicode arrays at the first NUL character.
    return pa.array(np.asarray(values, dtype=str).tolist(), pa.string())


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


def _fields_of(chunk: _Chunk) -> dict[str, Any]:
    """The in-memory fields of a chunk by name (of a sensor table: each attribute's list)."""
    if isinstance(chunk, SensorTable):
        return {f.name: [getattr(s, f.name) for s in chunk] for f in fields(Sensor)}
    return {f.name: getattr(chunk, f.name) for f in fields(chunk)}


# --------------------------------------------------------------------------------------------
# The converter, driven by a table's schema
# --------------------------------------------------------------------------------------------


def _memory_fields(schema: _Schema, checked: _Checked) -> dict[str, Any]:
    """The fields of a checked batch; those of optional columns the batch lacks are None."""
    out: dict[str, Any] = {}
    values: np.ndarray | None
    for col in schema.columns + schema.optional:
        if isinstance(col, _Float):
            if col.part_of:
                continue
            values = checked.floats.get(col.name)
            if values is not None:
                values = np.deg2rad(values) if col.degrees else values
                values = values.astype(col.dtype, copy=False)
        elif isinstance(col, _Bool):
            values = checked.bools.get(col.name)
        elif col.lookup:
            continue
        else:
            text = checked.texts.get(col.name)
            values = None if text is None else _as_str_array(text)
        out[col.field] = values
    for field, names in schema.groups().items():
        out[field] = np.column_stack([checked.floats[n] for n in names]).reshape(-1, len(names))
    return out


@dataclass(frozen=True)
class _Conversion:
    """Both ways between one table's record batches (file units) and its in-memory fields.

    The generic steps follow ``schema``; ``own_check`` and ``own_columns`` are the table's own
    steps, if it has any.
    """

    schema: _Schema
    own_check: _OwnCheck | None = None
    own_columns: _OwnColumns | None = None

    def from_batch(self, batch: pa.RecordBatch, first_row: int, source: str) -> dict[str, Any]:
        """Check one batch and convert it to the fields of the table (degrees to radians).

        ``first_row`` is the 0-based data row of the batch's first row in the file, which the
        messages count from.
        """

        def recheck(part: pa.RecordBatch, start: int) -> object:
            return self.from_batch(part, start, source)

        checked = _check_columns(batch, self.schema, source, first_row, recheck)
        own = self.own_check(checked, first_row) if self.own_check else {}
        checked.problems.raise_first(source, first_row)
        return {**_memory_fields(self.schema, checked), **own}

    def to_batch(self, chunk: _Chunk, source: str, first_row: int) -> pa.RecordBatch:
        """A chunk as a record batch in file units (radians to degrees), its optional columns
        those the chunk carries; ``source`` and ``first_row`` locate a problem in the file."""
        values = _fields_of(chunk)
        rows = len(chunk)
        for field, group in self.schema.groups().items():
            values.update(_state_arrays(values[field], group, rows))
        own = self.own_columns(values, source, first_row) if self.own_columns else {}
        names = [c.name for c in self.schema.optional if values[c.field] is not None]
        arrays = []
        for col in self.schema.present(names):
            if col.name in own:
                arrays.append(own[col.name])
            elif isinstance(col, _Float):
                column = values[col.field]
                column = _file_degrees(col, column) if col.degrees else column
                arrays.append(_float_array(column, col.optional))
            elif isinstance(col, _Bool):
                label = f"{type(chunk).__name__}.{col.field}"
                arrays.append(pa.array(_bool_column(values[col.field], label, rows), pa.bool_()))
            else:
                arrays.append(_text_array(values[col.field]))
        return pa.record_batch(arrays, schema=self.schema.arrow(names))


# --------------------------------------------------------------------------------------------
# What single tables do of their own
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


def _check_detections(
    sensors: _SensorLookup, checked: _Checked, first_row: int
) -> dict[str, np.ndarray]:
    """Known sensor ids, and only the measurements each sensor makes; the sensor indices and
    the file rows of the detections."""
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
    n = len(sensor_index)
    return {
        "sensor_index": sensor_index,
        "row": np.arange(first_row, first_row + n, dtype=np.int64),
    }


def _sensor_id_column(
    sensors: _SensorLookup, values: Mapping[str, Any], source: str, first_row: int
) -> dict[str, pa.Array]:
    """The ``sensor_id`` column of detections from their sensor indices."""
    index = np.asarray(values["sensor_index"])
    bad = (index < 0) | (index >= len(sensors.ids))
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            source,
            row=first_row + i + 1,
            column="sensor_id",
            expected=f"a sensor_index in [0, {len(sensors.ids)}) of the sensors table",
            got=str(index[i]),
        )
    return {"sensor_id": pc.take(sensors.ids, pa.array(index.astype(np.int64)))}


def _check_sensor_kinds(checked: _Checked, first_row: int) -> dict[str, np.ndarray]:
    """The sigmas a sensor's kind needs (a radar's range sigma) and those it forbids (an IR
    sensor's range and range-rate sigmas)."""
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
    return {}


def _check_semi_axes(checked: _Checked, first_row: int) -> dict[str, np.ndarray]:
    """An impact ellipse's semi-minor axis no longer than its semi-major one."""
    f = checked.floats
    checked.problems.add(
        f["semi_minor_m"] > f["semi_major_m"],
        "semi_minor_m",
        "at most semi_major_m",
        _got_float_of(f["semi_minor_m"]),
    )
    return {}


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


def _sensor_table(parts: Sequence[Mapping[str, np.ndarray]], source: str) -> SensorTable:
    """The sensors of a whole table from the fields of its batches (ids must be unique)."""
    if not parts:
        return SensorTable(())
    # An optional column a batch leaves out is unknown for its sensors (NaN).
    columns = {
        name: np.concatenate(
            [np.full(len(p["sensor_id"]), np.nan) if p[name] is None else p[name] for p in parts]
        )
        for name in parts[0]
    }
    _check_unique_ids(columns["sensor_id"], source, 0)
    rows = zip(*(values.tolist() for values in columns.values()), strict=True)
    return SensorTable(tuple(Sensor(**dict(zip(columns, row, strict=True))) for row in rows))


def _check_position_covariances(checked: _Checked, first_row: int) -> dict[str, np.ndarray]:
    """A track's position covariance symmetric positive semi-definite
    (:func:`~airpicture.tables.covariance_problems`; its diagonal's sign is a column rule)."""
    f = checked.floats
    cov = np.stack([f[name] for name in COV_POS_COLUMNS], axis=1)
    # where a column rule fails (not finite, a negative variance), that rule speaks
    fit = np.isfinite(cov).all(axis=1) & (cov[:, [0, 3, 5]] >= 0.0).all(axis=1)
    problems = np.full(len(cov), "", dtype=object)
    problems[fit] = covariance_problems(cov_pos_to_matrix(cov[fit]))
    checked.problems.add(
        problems != "",
        "cov_xy",
        "a symmetric positive semi-definite covariance (cov_xx ... cov_zz)",
        lambda i: str(problems[i]),
    )
    return {}


_OWN_CHECKS: Final[Mapping[str, _OwnCheck]] = {
    "sensors": _check_sensor_kinds,
    "tracks": _check_position_covariances,
    "impacts": _check_semi_axes,
}


def _conversion(table: str, sensors: SensorTable | None = None) -> _Conversion:
    """The conversion of a contract table; detections need the ``sensors`` they refer to."""
    if table == "detections":
        if sensors is None:
            raise ValueError("detections need a sensor table")
        lookup = _SensorLookup.of(sensors)
        return _Conversion(
            _DETECTIONS, partial(_check_detections, lookup), partial(_sensor_id_column, lookup)
        )
    return _Conversion(_SCHEMAS[table], _OWN_CHECKS.get(table))
