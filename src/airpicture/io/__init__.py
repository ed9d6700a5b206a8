"""Edges of the system that speak files and foreign formats.

:mod:`airpicture.io.contract` reads and writes the data-contract tables (sensors, detections,
truth, tracks) as CSV or Parquet, validating every row once at this edge; its public names are
re-exported here. Units follow the package convention: radians in memory, degrees only in the
``*_deg`` file columns.
"""

from airpicture.io.contract import (
    TABLE_COLUMNS,
    ScenarioFiles,
    TableWriter,
    check_column,
    check_rows,
    find_scenario_files,
    iter_detections,
    open_table_writer,
    read_alerts,
    read_detections,
    read_impacts,
    read_sensors,
    read_tracks,
    read_truth,
    sensors_from_rows,
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
