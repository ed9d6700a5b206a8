"""Run a scenario end to end: objects, every sensor's scans, and the data-contract tables on disk.

:func:`simulate` writes into ``out_dir``:

===============  ============================================================================
file             content
===============  ============================================================================
sensors.csv      the sensors table; a moving platform's position is where it first detected
detections.csv   every report, **in arrival order** (``t_s`` + report delay), streamed in chunks
truth.csv        every object's ECEF state every ``truth_interval_s`` and whether the radars
                 made it detectable then (:mod:`airpicture.sim._detectable`; evaluation only)
biases.csv       each sensor's hidden registration biases (evaluation only)
===============  ============================================================================

Randomness comes from one seed: the objects draw from their own generator and each sensor from
a generator derived from ``(seed, sensor_id)``, so the same seed gives byte-identical files and
adding a sensor does not change what the others report.

Streaming: scans are simulated window by window in measurement time. After the window
``[w, w + W)`` every future report has ``t_s >= w + W`` and a non-negative delay, so all pending
reports that arrive before ``w + W`` are final; they are sorted by
``(arrival, t_s, sensor, sequence)`` and written. The file is therefore exactly in arrival order,
and memory holds one window plus the reports still in flight.
"""

from __future__ import annotations

import csv
import logging
import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from airpicture.io import open_table_writer, write_sensors
from airpicture.sim._detectable import DetectableMarker
from airpicture.sim._objects import ObjectSet, build_objects
from airpicture.sim._scenario import Scenario, SensorConfig
from airpicture.sim._sensors import ObjectStates, Reports, observe, scan_times
from airpicture.tables import Detections, SensorTable

__all__ = [
    "SimulationSummary",
    "object_rng",
    "sensor_rng",
    "simulate",
    "simulate_detections",
    "stream_detections",
    "truth_times",
]

logger = logging.getLogger(__name__)

_WINDOW_S = 20.0
_TRUTH_TIMES_PER_CHUNK = 60


@dataclass(frozen=True)
class SimulationSummary:
    """What :func:`simulate` wrote.

    Attributes
    ----------
    scenario : str
        Scenario name.
    seed : int
    t0_s, duration_s : float
        Simulated interval, s.
    out_dir : Path
    files : tuple of (str, Path)
        ``("sensors", path)``, ``("detections", path)``, ``("truth", path)``, ``("biases", path)``.
    n_objects : int
    n_detections : int
        Rows of the detections table.
    n_false_detections : int
        Of which clutter.
    n_truth_rows : int
    n_truth_rows_detectable : int
        Of which marked ``detectable``.
    detections_per_sensor : tuple of (str, int)
        Rows per sensor id, sorted by id.
    """

    scenario: str
    seed: int
    t0_s: float
    duration_s: float
    out_dir: Path
    files: tuple[tuple[str, Path], ...]
    n_objects: int
    n_detections: int
    n_false_detections: int
    n_truth_rows: int
    n_truth_rows_detectable: int
    detections_per_sensor: tuple[tuple[str, int], ...]


def _derived_rng(seed: int, label: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(label.encode("utf-8"))]))


def sensor_rng(seed: int, sensor_id: str) -> np.random.Generator:
    """The generator of one sensor: depends on the scenario seed and the sensor id only."""
    return _derived_rng(seed, f"sensor:{sensor_id}")


def object_rng(seed: int) -> np.random.Generator:
    """The generator handed to :func:`airpicture.sim.build_objects`."""
    return _derived_rng(seed, "objects")


def truth_times(scenario: Scenario) -> np.ndarray:
    """Times of the truth table: ``t0_s, t0_s + dt, ...`` up to the end inclusive, shape (m,)."""
    count = int(math.floor(scenario.duration_s / scenario.truth_interval_s + 1e-9)) + 1
    return scenario.t0_s + scenario.truth_interval_s * np.arange(count, dtype=np.float64)


@dataclass(frozen=True)
class _Chunk:
    sensor_index: np.ndarray
    sequence: np.ndarray
    reports: Reports


def stream_detections(
    scenario: Scenario,
    sensors: tuple[SensorConfig, ...],
    objects: ObjectStates,
    *,
    window_s: float = _WINDOW_S,
    progress: Callable[[float], None] | None = None,
    on_scan: Callable[[int, Reports], None] | None = None,
) -> Iterator[tuple[np.ndarray, Reports]]:
    """Simulate every scan of every sensor and yield the reports in arrival order.

    Parameters
    ----------
    scenario : Scenario
        Supplies the interval and the seed.
    sensors : tuple of SensorConfig
        In sensor-index order (the order of the :class:`~airpicture.tables.SensorTable`).
    objects : ObjectStates
        The simulated objects.
    window_s : float
        Measurement-time window per step, s; it changes memory use, never the output.
    progress : callable or None
        Called with the fraction of simulated time done, in (0, 1].
    on_scan : callable or None
        Called as ``on_scan(sensor_index, reports)`` with the reports of every scan as it is
        simulated, before any reordering: the scans of one sensor come in time order.

    Yields
    ------
    sensor_index : ndarray of int32, shape (n,)
    reports : Reports
        Consecutive chunks; concatenated they are sorted by ``(arrival_s, t_s, sensor_index,
        per-sensor sequence)``.
    """
    t0, t_end = scenario.t0_s, scenario.t_end_s
    rngs = [sensor_rng(scenario.seed, s.sensor_id) for s in sensors]
    scans = [scan_times(s, t0, t_end, rng) for s, rng in zip(sensors, rngs, strict=True)]
    next_scan = [0] * len(sensors)
    sequence = [0] * len(sensors)
    pending: list[_Chunk] = []
    w = t0
    while w < t_end:
        w_next = min(w + window_s, t_end)
        for i, sensor in enumerate(sensors):
            times = scans[i]
            while next_scan[i] < times.shape[0] and times[next_scan[i]] < w_next:
                reports = observe(
                    sensor, objects, float(times[next_scan[i]]), rngs[i], t_end_s=t_end
                )
                next_scan[i] += 1
                if on_scan is not None:
                    on_scan(i, reports)
                n = len(reports)
                if n:
                    pending.append(
                        _Chunk(
                            np.full(n, i, dtype=np.int32),
                            np.arange(sequence[i], sequence[i] + n, dtype=np.int64),
                            reports,
                        )
                    )
                    sequence[i] += n
        cutoff = w_next if w_next < t_end else math.inf
        if pending:
            sensor_index = np.concatenate([c.sensor_index for c in pending])
            seq = np.concatenate([c.sequence for c in pending])
            merged = Reports.concat([c.reports for c in pending])
            ready = merged.arrival_s < cutoff
            if np.any(ready):
                idx = np.flatnonzero(ready)
                order = idx[
                    np.lexsort(
                        (seq[idx], sensor_index[idx], merged.t_s[idx], merged.arrival_s[idx])
                    )
                ]
                yield sensor_index[order], merged.take(order)
            rest = np.flatnonzero(~ready)
            pending = (
                [_Chunk(sensor_index[rest], seq[rest], merged.take(rest))] if rest.size else []
            )
        if progress is not None:
            progress((w_next - t0) / scenario.duration_s)
        w = w_next


def _detections(sensor_index: np.ndarray, reports: Reports, first_row: int) -> Detections:
    n = len(reports)
    return Detections(
        t_s=reports.t_s,
        sensor_index=sensor_index.astype(np.int32),
        range_m=reports.range_m,
        azimuth_rad=reports.azimuth_rad,
        elevation_rad=reports.elevation_rad,
        range_rate_mps=reports.range_rate_mps,
        sensor_lat_rad=reports.sensor_lat_rad,
        sensor_lon_rad=reports.sensor_lon_rad,
        sensor_alt_m=reports.sensor_alt_m,
        row=np.arange(first_row, first_row + n, dtype=np.int64),
    )


def _write_biases(path: Path, sensors: tuple[SensorConfig, ...]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["sensor_id", "bias_range_m", "bias_azimuth_deg", "bias_elevation_deg"])
        for s in sensors:
            writer.writerow(
                [
                    s.sensor_id,
                    "" if math.isnan(s.bias_range_m) else repr(s.bias_range_m),
                    repr(math.degrees(s.bias_azimuth_rad)),
                    repr(math.degrees(s.bias_elevation_rad)),
                ]
            )


def _objects_and_sensors(scenario: Scenario) -> tuple[ObjectSet, tuple[SensorConfig, ...]]:
    """The scenario's simulated objects and its sensors in sensor-index order."""
    objects = build_objects(
        [dict(item) for item in scenario.objects],
        source=scenario.source,
        t0_s=scenario.t0_s,
        duration_s=scenario.duration_s,
        rng=object_rng(scenario.seed),
    )
    return objects, tuple(sorted(scenario.sensors, key=lambda s: s.sensor_id))


class _SensorSites:
    """Where each sensor was when it first reported (where it started, for one that never did):
    the sites of the sensors table, and the count of each sensor's detections."""

    def __init__(self, scenario: Scenario, sensors: tuple[SensorConfig, ...]) -> None:
        start = np.array([scenario.t0_s])
        self.sensors = sensors
        self.counts = np.zeros(len(sensors), dtype=np.int64)
        self._first_t = np.full(len(sensors), math.inf)
        self._first_pos = [tuple(float(c[0]) for c in s.path.geodetic_at(start)) for s in sensors]
        self.initial = self.table()

    def add(self, sensor_index: np.ndarray, reports: Reports) -> None:
        self.counts += np.bincount(sensor_index, minlength=len(self.sensors))
        for i in np.unique(sensor_index):
            mine = sensor_index == i
            j = int(np.argmin(np.where(mine, reports.t_s, math.inf)))
            if reports.t_s[j] < self._first_t[i]:
                self._first_t[i] = reports.t_s[j]
                self._first_pos[i] = (
                    float(reports.sensor_lat_rad[j]),
                    float(reports.sensor_lon_rad[j]),
                    float(reports.sensor_alt_m[j]),
                )

    def table(self) -> SensorTable:
        return SensorTable(
            tuple(s.table_row(*self._first_pos[i]) for i, s in enumerate(self.sensors))
        )


def simulate_detections(
    scenario: Scenario, *, progress: Callable[[float], None] | None = None
) -> tuple[SensorTable, Detections]:
    """Simulate a scenario's sensors and detections in memory, as :func:`simulate` writes them.

    Returns
    -------
    sensors : SensorTable
        The sensors table (each sensor where it first reported).
    detections : Detections
        Every detection in arrival order, the order of the detections file.

    Raises
    ------
    ConfigError
        When the ``[[objects]]`` tables are invalid.
    """
    objects, sensors = _objects_and_sensors(scenario)
    sites = _SensorSites(scenario, sensors)
    parts = []
    n_rows = 0
    for sensor_index, reports in stream_detections(scenario, sensors, objects, progress=progress):
        parts.append(_detections(sensor_index, reports, n_rows))
        n_rows += len(reports)
        sites.add(sensor_index, reports)
    return sites.table(), Detections.concat(parts)


def simulate(
    scenario: Scenario,
    out_dir: str | Path,
    *,
    progress: Callable[[float], None] | None = None,
) -> SimulationSummary:
    """Simulate a scenario and write its tables into ``out_dir`` (created if needed).

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (:func:`airpicture.sim.load_scenario`).
    out_dir : str or Path
        Output folder; existing files of the same names are replaced.
    progress : callable or None
        Called with the fraction done, in (0, 1], as the simulation advances.

    Returns
    -------
    SimulationSummary

    Raises
    ------
    ConfigError
        When the ``[[objects]]`` tables are invalid (raised by ``build_objects``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    objects, sensors = _objects_and_sensors(scenario)
    sites = _SensorSites(scenario, sensors)
    logger.info(
        "simulating %s: %d objects, %d sensors, %.0f s",
        scenario.name,
        len(objects.object_id),
        len(sensors),
        scenario.duration_s,
    )

    files = {
        "sensors": out / "sensors.csv",
        "detections": out / "detections.csv",
        "truth": out / "truth.csv",
        "biases": out / "biases.csv",
    }
    times = truth_times(scenario)
    marker = DetectableMarker.for_sensors(times, len(objects.object_id), sensors)

    n_rows = 0
    n_false = 0
    with open_table_writer(files["detections"], "detections", sensors=sites.initial) as writer:
        for sensor_index, reports in stream_detections(
            scenario, sensors, objects, progress=progress, on_scan=marker.add_reports
        ):
            writer.write(_detections(sensor_index, reports, n_rows))
            n_rows += len(reports)
            n_false += int(np.count_nonzero(reports.object_index < 0))
            sites.add(sensor_index, reports)

    write_sensors(files["sensors"], sites.table())
    n_truth = 0
    n_detectable = 0
    with open_table_writer(files["truth"], "truth") as truth_writer:
        for chunk in np.array_split(times, max(1, math.ceil(times.size / _TRUTH_TIMES_PER_CHUNK))):
            truth = marker.mark(objects.truth(chunk), objects.object_id)
            assert truth.detectable is not None
            truth_writer.write(truth)
            n_truth += len(truth)
            n_detectable += int(np.count_nonzero(truth.detectable))
    _write_biases(files["biases"], sensors)
    logger.info(
        "wrote %d detections (%d false) and %d truth rows (%d detectable) to %s",
        n_rows,
        n_false,
        n_truth,
        n_detectable,
        out,
    )
    return SimulationSummary(
        scenario=scenario.name,
        seed=scenario.seed,
        t0_s=scenario.t0_s,
        duration_s=scenario.duration_s,
        out_dir=out,
        files=tuple(files.items()),
        n_objects=int(len(objects.object_id)),
        n_detections=n_rows,
        n_false_detections=n_false,
        n_truth_rows=n_truth,
        n_truth_rows_detectable=n_detectable,
        detections_per_sensor=tuple(
            (s.sensor_id, int(c)) for s, c in zip(sensors, sites.counts, strict=True)
        ),
    )
