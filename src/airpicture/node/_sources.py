"""A node's own detections: a scenario directory replayed on a clock mapped from wall time."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

import numpy as np

from airpicture.node._config import SourceConfig
from airpicture.tables import Detections, SensorTable, per_sensor_sequence

__all__ = ["ReplaySource"]


class ReplaySource:
    """A node's own detections, released on a clock mapped from wall time.

    Parameters
    ----------
    detections : Detections
        The node's own detections in arrival order; ``sensor_index`` indexes the shared table.
    arrival_s : ndarray, shape (n,)
        When each detection reaches the node (scenario time, s), non-decreasing.
    sensor_seq : ndarray of int, shape (n,)
        Each detection's number among its sensor's detections (arrival order).
    t0_s : float
        Scenario time that plays at ``start_at_unix_s``.
    speed : float
        Scenario seconds per wall-clock second.
    start_at_unix_s : float
        Wall time at which ``t0_s`` plays.
    """

    def __init__(
        self,
        detections: Detections,
        arrival_s: np.ndarray,
        sensor_seq: np.ndarray,
        *,
        t0_s: float,
        speed: float,
        start_at_unix_s: float,
    ) -> None:
        self.detections = detections
        self.arrival_s = np.asarray(arrival_s, dtype=np.float64)
        self.sensor_seq = np.asarray(sensor_seq, dtype=np.int64)
        self.t0_s = float(t0_s)
        self.speed = float(speed)
        self.start_at_unix_s = float(start_at_unix_s)

    def __len__(self) -> int:
        return len(self.detections)

    def clock(self, wall_s: float) -> float:
        """Scenario time at wall time ``wall_s``: ``t0_s + (wall_s - start_at_unix_s) * speed``."""
        return self.t0_s + (wall_s - self.start_at_unix_s) * self.speed

    @classmethod
    def from_scenario(
        cls,
        config: SourceConfig,
        sensors: SensorTable,
        own_sensors: tuple[str, ...],
        *,
        now_unix_s: float | None = None,
    ) -> ReplaySource:
        """Read a scenario directory and keep the rows of ``own_sensors``.

        Raises
        ------
        DataError
            When the files break the data contract or name sensors outside ``sensors``.
        """
        from airpicture.io import find_scenario_files, iter_detections

        files = find_scenario_files(config.scenario_dir)
        chunks = iter_detections(files.detections, sensors, chunk_rows=200_000)
        start = config.start_at_unix_s
        if start is None:
            start = time.time() if now_unix_s is None else now_unix_s
        return cls._of_own(chunks, sensors, own_sensors, config.t0_s, config.speed, start)

    @classmethod
    def from_detections(
        cls,
        detections: Detections,
        sensors: SensorTable,
        own_sensors: tuple[str, ...],
        *,
        speed: float,
        start_at_unix_s: float,
        t0_s: float | None = None,
    ) -> ReplaySource:
        """The rows of ``own_sensors`` among ``detections`` held in memory, in the order of a
        detections file (arrival order), played from ``t0_s`` (the first detection time when
        None) at ``start_at_unix_s``."""
        return cls._of_own([detections], sensors, own_sensors, t0_s, speed, start_at_unix_s)

    @classmethod
    def _of_own(
        cls,
        chunks: Iterable[Detections],
        sensors: SensorTable,
        own_sensors: tuple[str, ...],
        t0_s: float | None,
        speed: float,
        start_at_unix_s: float,
    ) -> ReplaySource:
        """A detections table lists reports in arrival order without their arrival time; a
        report cannot arrive before any report above it was measured, so its arrival is taken
        as the running maximum of ``t_s`` down the whole table (all nations), which every node
        computes alike."""
        own = np.zeros(len(sensors), dtype=bool)
        for sensor_id in own_sensors:
            own[sensors.index_of(sensor_id)] = True
        parts: list[Detections] = []
        arrivals: list[np.ndarray] = []
        running = -math.inf
        first_t = math.inf
        for chunk in chunks:
            if not len(chunk):
                continue
            arrival = np.maximum.accumulate(np.r_[running, chunk.t_s])[1:]
            running = float(arrival[-1])
            first_t = min(first_t, float(chunk.t_s.min()))
            keep = own[chunk.sensor_index]
            parts.append(chunk.take(keep))
            arrivals.append(arrival[keep])
        detections = Detections.concat(parts)
        arrival_s = np.concatenate(arrivals) if arrivals else np.empty(0)
        t0 = t0_s if t0_s is not None else (first_t if math.isfinite(first_t) else 0.0)
        return cls(
            detections,
            arrival_s,
            per_sensor_sequence(detections.sensor_index),
            t0_s=t0,
            speed=speed,
            start_at_unix_s=start_at_unix_s,
        )
