"""The files of the data contract: names and formats, opening, headers, record batches.

A table file is CSV (``.csv``, header row, comma-separated) or Parquet (``.parquet``, same column
names), chosen by its extension. Its name, the file and its header are checked when it is
opened; its rows then stream as record batches of the contract columns, converted batch by batch
by the caller, so memory is bounded by the batch size, not the file size. A CSV file is read
with a fast typed parser; when that fails, the file is read again as raw bytes from the failing
batch on to name the row and column of the problem. A scenario directory holds one file per
table.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from airpicture.errors import DataError
from airpicture.io.contract._check import _clip, _list_names
from airpicture.io.contract._schema import _Float, _Schema

_log = logging.getLogger(__package__)  # airpicture.io.contract

_Format = Literal["csv", "parquet"]
_R = TypeVar("_R")

_CSV_BLOCK_BYTES: Final = 1 << 19  # the CSV reader keeps a few dozen blocks in flight
_PARQUET_BATCH_ROWS: Final = 1 << 16
_PARQUET_BUFFER_BYTES: Final = 1 << 20  # buffered column reads keep memory flat on big files
_HEADER_SNIFF_BYTES: Final = 1 << 20


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
