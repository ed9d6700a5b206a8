"""Batch jobs over data-contract files: the library behind ``airpicture track``.

Composition layer: reads files with :mod:`airpicture.io`, runs :class:`airpicture.tracker.Tracker`
(and, when asked, :class:`airpicture.assess.Assessor` after every frame), and streams the picture
to a tracks table, with the impacts and alerts tables next to it, so a detections file of any
size is tracked in bounded memory.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airpicture.assess import AssessConfig, Assessor, WarningAreas
from airpicture.fusion import CommonPicture, LocalFrame
from airpicture.io import find_scenario_files, iter_detections, open_table_writer, read_sensors
from airpicture.tables import SensorSequence, SensorTable, TrackRows
from airpicture.tracker import Tracker, TrackerConfig, TrackerStats
from airpicture.tracker._registration import RegistrationEstimate

__all__ = ["TrackResult", "assessment_paths", "track_scenario"]


@dataclass(frozen=True)
class TrackResult:
    """What :func:`track_scenario` did and wrote.

    Attributes
    ----------
    stats : TrackerStats
        What the tracker did with the input (received, late, initiated ...).
    tracks : Path
        The tracks table written.
    impacts, alerts : Path or None
        The impacts and alerts tables written (None without assessment).
    n_impacts, n_alerts : int
        Rows written to them.
    registration : RegistrationEstimate or None
        The sensors' registration offsets estimated by the end of the input.
    identity : Path or None
        The tracks identity table written next to the tracks table
        (``<name>.identity.csv``: callsign, squawk, Mode S address, emergency of each
        identified track), when the scenario folder has a detections identity table
        (``identity.csv``, as ``airpicture ingest`` writes it); None otherwise.
    """

    stats: TrackerStats
    tracks: Path
    impacts: Path | None = None
    alerts: Path | None = None
    n_impacts: int = 0
    n_alerts: int = 0
    registration: RegistrationEstimate | None = None
    identity: Path | None = None


def assessment_paths(output: str | Path) -> tuple[Path, Path]:
    """The impacts and alerts tables that go next to a tracks table (same folder and format).

    Examples
    --------
    >>> [p.name for p in assessment_paths("out/tracks.parquet")]
    ['impacts.parquet', 'alerts.parquet']
    """
    out = Path(output)
    return out.with_name("impacts" + out.suffix), out.with_name("alerts" + out.suffix)


def track_scenario(
    scenario_dir: str | Path,
    output: str | Path,
    *,
    config: TrackerConfig | None = None,
    assess: AssessConfig | None = None,
    areas: WarningAreas | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_rows: int = 200_000,
    assessment_outputs: tuple[str | Path, str | Path] | None = None,
) -> TrackResult:
    """Track a scenario directory's detections and write the tracks table.

    Parameters
    ----------
    scenario_dir : path
        A directory with ``sensors`` and ``detections`` tables (CSV or Parquet).
    output : path
        The tracks table to write; ``.csv`` or ``.parquet``.
    config : TrackerConfig, optional
        Tracker settings (defaults when omitted).
    assess : AssessConfig, optional
        When given, every frame is assessed: the tracks table's ``kind`` column is filled, and
        the impacts and alerts tables are written next to ``output``
        (:func:`assessment_paths`); alerts still in force when the input ends get a last row,
        cancelled (:meth:`~airpicture.assess.Assessor.finish`). Without it, ``kind`` is
        ``unknown``.
    areas : WarningAreas, optional
        Warning areas of the assessment; without them no alerts are raised.
    progress : callable, optional
        Called with the number of detections taken in, chunk by chunk.
    chunk_rows : int
        Detections read per chunk (bounds memory).
    assessment_outputs : (path, path), optional
        The impacts and alerts tables to write when assessing (default:
        :func:`assessment_paths` of ``output``).

    Returns
    -------
    TrackResult

    Raises
    ------
    airpicture.errors.DataError
        On a missing or malformed input file, naming file, row and column.
    """
    files = find_scenario_files(scenario_dir)
    sensors = read_sensors(files.sensors)
    tracker = Tracker(sensors, config)
    picture = CommonPicture("", sensors)
    sequence = SensorSequence(len(sensors))
    chunks = (
        sequence.network_rows(chunk)
        for chunk in iter_detections(files.detections, sensors, chunk_rows=chunk_rows)
    )
    assessor = Assessor(assess, areas=areas) if assess is not None else None
    impacts_path, alerts_path = (
        assessment_paths(output)
        if assessment_outputs is None
        else (Path(assessment_outputs[0]), Path(assessment_outputs[1]))
    )
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(open_table_writer(output, "tracks"))
        sinks = [writer]
        if assessor is not None:
            sinks += [
                stack.enter_context(open_table_writer(impacts_path, "impacts")),
                stack.enter_context(open_table_writer(alerts_path, "alerts")),
            ]
        last_t_s = -math.inf

        def on_frame(rows: TrackRows, t_s: float) -> None:
            nonlocal last_t_s
            last_t_s = max(last_t_s, t_s)
            if assessor is None:
                net = picture.frame(LocalFrame.take(None, tracker, rows, t_s))
                parts: tuple[Any, ...] = (net.rows,)
            else:
                result, _ = picture.step(assessor, tracker, rows, t_s)
                parts = (result.rows, result.impacts, result.alerts)
            for sink, part in zip(sinks, parts, strict=True):
                if len(part):
                    sink.write(part)

        tracker.run(chunks, on_rows=lambda rows: None, on_frame=on_frame, progress=progress)
        if assessor is not None:
            closed = assessor.finish(last_t_s)
            if len(closed):
                sinks[2].write(closed)
    identity = _identify(Path(scenario_dir), files.detections, sensors, Path(output))
    if assessor is None:
        return TrackResult(
            tracker.stats, Path(output), registration=tracker.registration, identity=identity
        )
    return TrackResult(
        tracker.stats,
        Path(output),
        impacts_path,
        alerts_path,
        sinks[1].rows_written,
        sinks[2].rows_written,
        tracker.registration,
        identity,
    )


def _identify(
    scenario_dir: Path, detections: Path, sensors: SensorTable, output: Path
) -> Path | None:
    """Write ``<output>.identity.csv`` from the scenario's ``identity.csv``, if it has one."""
    source = scenario_dir / "identity.csv"
    if not source.is_file():
        return None
    from airpicture.interop import (
        identify_tracks,
        read_identity,
        write_track_identity,
    )
    from airpicture.io import read_detections, read_tracks

    found = identify_tracks(
        read_tracks(output), read_detections(detections, sensors), read_identity(source)
    )
    path = output.with_name(f"{output.stem}.identity.csv")
    write_track_identity(path, found)
    return path
