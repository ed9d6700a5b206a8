"""The readers of the data-contract tables.

Each reader checks the file's name, the file and its header at once, then converts its record
batches in file order with the table's conversion (:mod:`airpicture.io.contract._arrow`); the
detections can be streamed in chunks of a chosen size.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import fields
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from airpicture.errors import ConfigError, DataError
from airpicture.io.contract._arrow import _Conversion, _conversion, _file_degrees, _sensor_table
from airpicture.io.contract._check import _got_float
from airpicture.io.contract._files import _PARQUET_BATCH_ROWS, _iter_converted, _open_converted
from airpicture.io.contract._schema import _SCHEMAS, _Float, _Schema, _Text
from airpicture.tables import AlertRows, Detections, ImpactRows, SensorTable, TrackRows, Truth

_R = TypeVar("_R")


def _open_rows(
    path: str | os.PathLike[str],
    conversion: _Conversion,
    build: Callable[..., _R],
    batch_rows: int = _PARQUET_BATCH_ROWS,
) -> tuple[_Schema, Iterator[_R]]:
    """The contract columns a table file holds, and its rows built batch by batch from the
    converted fields (see :func:`~airpicture.io.contract._files._open_converted`)."""

    def convert(batch: pa.RecordBatch, first_row: int, source: str) -> _R:
        return build(**conversion.from_batch(batch, first_row, source))

    return _open_converted(path, conversion.schema, convert, batch_rows)


def _joined(
    parts: Sequence[_R], empty: Callable[[], _R], concat: Callable[[Sequence[_R]], _R]
) -> _R:
    """One table of the parts read: ``empty()`` for none, the part itself for one."""
    if not parts:
        return empty()
    return parts[0] if len(parts) == 1 else concat(parts)


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
    conversion = _conversion("sensors")
    parts = _iter_converted(path, conversion.schema, conversion.from_batch, _PARQUET_BATCH_ROWS)
    return _sensor_table(list(parts), os.fspath(path))


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
    conversion = _conversion("detections", sensors)
    _, parts = _open_rows(path, conversion, Detections, batch_rows=chunk_rows)
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
    return _joined(list(iter_detections(path, sensors)), Detections.empty, Detections.concat)


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
    file_schema, parts = _open_rows(path, _conversion("truth"), Truth)
    detectable = "detectable" in file_schema.names
    return _joined(list(parts), lambda: _empty_truth(detectable=detectable), Truth.concat)


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
    _, parts = _open_rows(path, _conversion("tracks"), TrackRows)
    return _joined(list(parts), TrackRows.empty, TrackRows.concat)


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
    _, parts = _open_rows(path, _conversion("impacts"), ImpactRows)
    return _joined(list(parts), ImpactRows.empty, ImpactRows.concat)


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
    _, parts = _open_rows(path, _conversion("alerts"), AlertRows)
    return _joined(list(parts), AlertRows.empty, AlertRows.concat)


_TABLE_OF: dict[type, str] = {
    Truth: "truth",
    TrackRows: "tracks",
    ImpactRows: "impacts",
    AlertRows: "alerts",
}


def check_rows(rows: Truth | TrackRows | ImpactRows | AlertRows, source: str) -> None:
    """Check rows held in memory against their table's contract, as a file of them would be.

    The wire decoders and the map's store check what they take in with this, so a row is
    accepted or refused by one rule wherever it comes from.

    Raises
    ------
    DataError
        On the first value the contract refuses, naming ``source``, the row (1-based) and the
        column.
    """
    conversion = _conversion(_TABLE_OF[type(rows)])
    conversion.from_batch(conversion.to_batch(rows, source, 0), 0, source)


def sensors_from_rows(items: Sequence[Mapping[str, Any]], source: str) -> SensorTable:
    """A sensors table from rows given as mappings of its contract columns (a node file's
    ``[[sensors]]`` tables), checked as the sensors file would be (:func:`read_sensors`).

    Raises
    ------
    DataError
        On an unknown column, a value of the wrong type, or anything :func:`read_sensors`
        refuses; the row counts from 1.
    """
    schema = _conversion("sensors").schema
    known = {c.name: c for c in schema.present([c.name for c in schema.optional])}
    columns: dict[str, list[Any]] = {name: [] for name in known}
    for i, item in enumerate(items):
        for name in item:
            if name not in known:
                raise DataError(
                    source, row=i + 1, column=name, expected="a sensors-table column", got="a key"
                )
        for name, col in known.items():
            value = item.get(name)
            if isinstance(col, _Float):
                ok = value is None or (
                    isinstance(value, int | float) and not isinstance(value, bool)
                )
                value = math.nan if value is None else value
            else:
                ok = isinstance(value, str) or (value is None and isinstance(col, _Text))
            if not ok:
                raise DataError(
                    source, row=i + 1, column=name, expected=col.expected(), got=repr(value)
                )
            columns[name].append(value)
    batch = pa.record_batch(
        [
            pa.array(values, pa.float64(), from_pandas=True)
            if isinstance(known[name], _Float)
            else pa.array(values, pa.string())
            for name, values in columns.items()
        ],
        names=list(columns),
    )
    parts = [_conversion("sensors").from_batch(batch, 0, source)] if len(batch) else []
    return _sensor_table(parts, source)


@functools.cache
def _float_column(table: str, field: str) -> _Float:
    """The float column of ``table`` that holds in-memory ``field``."""
    schema = _SCHEMAS[table]
    col = next(c for c in schema.present([c.name for c in schema.optional]) if c.field == field)
    assert isinstance(col, _Float), f"{table}.{field} is not a float column"
    return col


def check_column(table: str, field: str, values: np.ndarray, source: str) -> None:
    """Check one column held in memory (a table field: radians where the file has degrees) by
    its table's schema, as the files' cells are: finite (NaN allowed where a cell may be
    empty), inside the column's interval.

    Raises
    ------
    DataError
        On the first value refused, naming ``source``, the row (1-based) and the file column.
    """
    col = _float_column(table, field)
    values = np.asarray(values, dtype=np.float64)

    def refused(v: np.ndarray) -> np.ndarray:
        return (np.isinf(v) if col.optional else ~np.isfinite(v)) | col.outside(v)

    shown = values
    if col.degrees:
        # plain degrees first; only the values they refuse get the file's exact degrees (which
        # may sit an ulp inside a bound that the plain conversion crosses)
        with np.errstate(over="ignore", invalid="ignore"):
            shown = np.rad2deg(values)
    bad = refused(shown)
    if col.degrees and bad.any():
        suspect = np.flatnonzero(bad)
        shown[suspect] = _file_degrees(col, values[suspect])
        bad[suspect] = refused(shown[suspect])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        got = _got_float(shown[i])
        if col.degrees:
            got = f"{_got_float(values[i])} rad ({got} degrees)"
        raise DataError(source, row=i + 1, column=col.name, expected=col.expected(), got=got)
