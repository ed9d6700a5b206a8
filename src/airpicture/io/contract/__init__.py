"""Read and write the data-contract tables (sensors, detections, truth, tracks, and the impacts
and alerts of assessment), CSV or Parquet.

The tables and their columns are defined in ``docs/data-contract.md``; their in-memory shapes in
:mod:`airpicture.tables`. A file is CSV (``.csv``, header row, comma-separated) or Parquet
(``.parquet``, same column names), chosen by its extension. Unknown extra columns are ignored;
every required contract column must be present, and cells of the columns marked "or empty" may be
empty. An optional column (the truth table's ``detectable``) may be left out of a file; when it is
there, every cell is checked like any other.

This package is the edge where file data is validated, once: every problem raises
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

The package: :mod:`~airpicture.io.contract._schema` holds the tables' columns (the contract as
data), :mod:`~airpicture.io.contract._check` checks record batches against them,
:mod:`~airpicture.io.contract._arrow` converts record batches to in-memory tables and back,
:mod:`~airpicture.io.contract._files` opens files and streams their batches, and
:mod:`~airpicture.io.contract._read` and :mod:`~airpicture.io.contract._write` hold the readers and
the writers. The public names are those re-exported here.
"""

from airpicture.io.contract._files import ScenarioFiles, find_scenario_files
from airpicture.io.contract._read import (
    check_column,
    check_rows,
    iter_detections,
    read_alerts,
    read_detections,
    read_impacts,
    read_sensors,
    read_tracks,
    read_truth,
    sensors_from_rows,
)
from airpicture.io.contract._schema import TABLE_COLUMNS
from airpicture.io.contract._write import (
    TableWriter,
    open_table_writer,
    write_detections,
    write_sensors,
    write_tracks,
    write_truth,
)

__all__ = [
    "TABLE_COLUMNS",
    "ScenarioFiles",
    "TableWriter",
    "check_column",
    "check_rows",
    "find_scenario_files",
    "iter_detections",
    "open_table_writer",
    "read_alerts",
    "read_detections",
    "read_impacts",
    "read_sensors",
    "read_tracks",
    "read_truth",
    "sensors_from_rows",
    "write_detections",
    "write_sensors",
    "write_tracks",
    "write_truth",
]
