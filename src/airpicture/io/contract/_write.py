"""The writers of the data-contract tables.

A :class:`TableWriter` converts each chunk of in-memory rows to a record batch in file units with
the table's conversion (:mod:`airpicture.io.contract._arrow`), checks that batch as a reader would
check it, and streams it to ``<path>.partial``, which takes the file's own name only when the
writer closes without error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Final, Self

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from airpicture.errors import ConfigError, DataError
from airpicture.io.contract._arrow import _check_unique_ids, _Chunk, _conversion
from airpicture.io.contract._check import _clip
from airpicture.io.contract._files import _format_of
from airpicture.io.contract._schema import _SCHEMAS
from airpicture.tables import AlertRows, Detections, ImpactRows, SensorTable, TrackRows, Truth

_log = logging.getLogger(__package__)  # airpicture.io.contract


def _csv_write_options() -> pa_csv.WriteOptions:
    """Unquoted header names where this pyarrow can do it (the names need no quotes)."""
    try:
        return pa_csv.WriteOptions(quoting_header="none")
    except TypeError:
        return pa_csv.WriteOptions()


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
        self._conversion = _conversion(table, sensors)
        self._schema = self._conversion.schema
        self._arrow_schema: pa.Schema | None = None  # fixed by the first chunk
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
        batch = self._conversion.to_batch(chunk, source, first)
        rows = self._conversion.from_batch(batch, first, source)
        if isinstance(chunk, SensorTable):
            ids = rows["sensor_id"]
            _check_unique_ids(np.concatenate([*self._sensor_ids, ids]), source, 0)
            self._sensor_ids.append(ids)
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
    >>> from airpicture.io.contract import read_truth
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
