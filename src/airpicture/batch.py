"""Batch jobs over data-contract files: the library behind ``airpicture track``.

Composition layer: reads files with :mod:`airpicture.io`, runs :class:`airpicture.tracker.Tracker`,
and streams the picture to a tracks table, so a detections file of any size is tracked in bounded
memory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from airpicture.io import find_scenario_files, iter_detections, open_table_writer, read_sensors
from airpicture.tracker import Tracker, TrackerConfig, TrackerStats

__all__ = ["track_scenario"]


def track_scenario(
    scenario_dir: str | Path,
    output: str | Path,
    *,
    config: TrackerConfig | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_rows: int = 200_000,
) -> TrackerStats:
    """Track a scenario directory's detections and write the tracks table.

    Parameters
    ----------
    scenario_dir : path
        A directory with ``sensors`` and ``detections`` tables (CSV or Parquet).
    output : path
        The tracks table to write; ``.csv`` or ``.parquet``.
    config : TrackerConfig, optional
        Tracker settings (defaults when omitted).
    progress : callable, optional
        Called with the number of detections taken in, chunk by chunk.
    chunk_rows : int
        Detections read per chunk (bounds memory).

    Returns
    -------
    TrackerStats
        What the tracker did with the input (received, late, initiated ...).

    Raises
    ------
    airpicture.errors.DataError
        On a missing or malformed input file, naming file, row and column.
    """
    files = find_scenario_files(scenario_dir)
    sensors = read_sensors(files.sensors)
    tracker = Tracker(sensors, config)
    with open_table_writer(output, "tracks") as writer:
        tracker.run(
            iter_detections(files.detections, sensors, chunk_rows=chunk_rows),
            on_rows=lambda rows: writer.write(rows) if len(rows) else None,
            progress=progress,
        )
    return tracker.stats
