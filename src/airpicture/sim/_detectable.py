"""Which truth objects the radars made detectable: the ``detectable`` column of the truth table.

The rule (``docs/data-contract.md``, truth table): an object is *detectable* at time ``t`` when
one radar of the scenario has detected it at least :data:`MIN_DETECTIONS` times within its last
:data:`WINDOW_SCANS` scan periods, i.e. with measurement times in ``(t - WINDOW_SCANS * T, t]``
for that radar's scan period ``T``. Only real detections count (never false alarms), and only
those of radars: an IR sensor measures no range, so one alone gives no position to track.

Why the detections and not the coverage geometry: the radars' ``max_range_m`` is an instrumented
range, and with the radar equation a small target inside it may have a single-look probability of
detection near zero, so "inside the coverage" would count objects that never produced a plot.
The rule scores a picture against the objects its input data actually held: two detections by
one radar are the least a tracker needs for a position and a velocity, and three scan periods
allow one missed look between them (a probability of detection below one). An object that stops
being detected stays detectable for at most three scan periods, the time a tracker may coast.

For the detection times ``d_1 < d_2 < ...`` of one object by one radar with scan period ``T`` and
``M = MIN_DETECTIONS``, ``W = WINDOW_SCANS * T``, the object is detectable exactly on the union
of the intervals ``[d_k, d_(k-M+1) + W)``: at ``t`` in ``[d_k, d_(k+1))`` the ``M``-th most
recent detection is ``d_(k-M+1)``, which lies in the window when ``t < d_(k-M+1) + W``.
:class:`DetectableMarker` adds these intervals scan by scan and marks the truth times inside them.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from airpicture.tables import Truth

if TYPE_CHECKING:
    from airpicture.sim._scenario import SensorConfig
    from airpicture.sim._sensors import Reports

__all__ = ["MIN_DETECTIONS", "WINDOW_SCANS", "DetectableMarker"]

logger = logging.getLogger(__name__)

MIN_DETECTIONS = 2
"""Detections of one object by one radar that make it detectable."""

WINDOW_SCANS = 3
"""The window, in scan periods of that radar, that holds them."""


class DetectableMarker:
    """Marks, at the truth times, which objects are detectable by the detection-history rule.

    Feed it every scan of every radar in scan order per sensor (:meth:`add_scan`), then ask for
    truth rows (:meth:`detectable`). Memory: one bool per object and truth time, and
    ``MIN_DETECTIONS - 1`` times per radar and object.

    Parameters
    ----------
    times_s : ndarray, shape (m,)
        The truth times, s, increasing.
    n_objects : int
        Number of objects; object indices are ``0 .. n_objects - 1``.
    scan_periods_s : ndarray, shape (n_sensors,)
        Scan period of each sensor, s, by sensor index; NaN for sensors that do not count
        (IR sensors).
    min_detections : int
        Detections needed, >= 1.
    window_scans : float
        Window length in scan periods, > 0.

    Raises
    ------
    ValueError
        If ``times_s`` is not increasing or ``min_detections`` / ``window_scans`` is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> marker = DetectableMarker(np.arange(0.0, 60.0, 5.0), 1, np.array([10.0]))
    >>> for t in (3.0, 13.0):  # two detections 10 s apart: detectable from 13 s until 33 s
    ...     marker.add_scan(0, np.array([0]), np.array([t]))
    >>> marker.detectable(np.zeros(12, dtype=int), np.arange(12)).astype(int).tolist()
    [0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    """

    def __init__(
        self,
        times_s: np.ndarray,
        n_objects: int,
        scan_periods_s: np.ndarray,
        *,
        min_detections: int = MIN_DETECTIONS,
        window_scans: float = WINDOW_SCANS,
    ) -> None:
        times = np.asarray(times_s, dtype=np.float64).reshape(-1)
        if times.size > 1 and not np.all(np.diff(times) > 0.0):
            raise ValueError("DetectableMarker: expected increasing truth times")
        bad_count = isinstance(min_detections, bool) or not isinstance(min_detections, int)
        if bad_count or min_detections < 1:
            raise ValueError(
                f"DetectableMarker: expected an integer min_detections >= 1, got {min_detections!r}"
            )
        if not (np.isfinite(window_scans) and window_scans > 0.0):
            raise ValueError(f"DetectableMarker: expected window_scans > 0, got {window_scans!r}")
        self._times = times
        self._window_s = float(window_scans) * np.asarray(scan_periods_s, dtype=np.float64)
        self._marked = np.zeros((int(n_objects), times.size), dtype=bool)
        # The last min_detections - 1 detection times of each (sensor, object), oldest first.
        self._history = np.full((self._window_s.size, int(n_objects), min_detections - 1), -np.inf)

    @classmethod
    def for_sensors(
        cls, times_s: np.ndarray, n_objects: int, sensors: Sequence[SensorConfig]
    ) -> DetectableMarker:
        """The marker of a scenario's sensors, by sensor index: radars count, IR sensors not."""
        periods = [s.scan_period_s if s.kind == "radar" else math.nan for s in sensors]
        return cls(times_s, n_objects, np.array(periods))

    @property
    def marked(self) -> np.ndarray:
        """Detectable flags by object and truth time, bool (n_objects, m) (read-only view)."""
        view = self._marked.view()
        view.flags.writeable = False
        return view

    def add_scan(self, sensor_index: int, object_index: np.ndarray, t_s: np.ndarray) -> None:
        """Add the object detections of one scan of one sensor.

        Scans of one sensor must come in time order; a scan detects an object at most once.

        Parameters
        ----------
        sensor_index : int
            The sensor; ignored when its scan period is NaN (a sensor that does not count).
        object_index : ndarray of int, shape (n,)
            The detected objects (no false alarms: those have no object).
        t_s : ndarray, shape (n,)
            Measurement times, s.
        """
        window_s = self._window_s[sensor_index]
        objects = np.asarray(object_index, dtype=np.intp).reshape(-1)
        if objects.size == 0 or not np.isfinite(window_s):
            return
        t = np.asarray(t_s, dtype=np.float64).reshape(-1)
        history = self._history[sensor_index]
        if history.shape[1]:
            oldest = history[objects, 0]
            history[objects, :-1] = history[objects, 1:]
            history[objects, -1] = t
        else:  # one detection is enough
            oldest = t
        start = np.searchsorted(self._times, t, side="left")
        stop = np.searchsorted(self._times, oldest + window_s, side="left")
        self._mark(objects, start, stop)

    def add_reports(self, sensor_index: int, reports: Reports) -> None:
        """Add one scan's simulated reports (false alarms, object index -1, left out); fits
        ``stream_detections``' ``on_scan``."""
        real = reports.object_index >= 0
        self.add_scan(sensor_index, reports.object_index[real], reports.t_s[real])

    def _mark(self, objects: np.ndarray, start: np.ndarray, stop: np.ndarray) -> None:
        """Set the flags of truth times ``start[i] <= j < stop[i]`` of object ``objects[i]``."""
        length = np.maximum(stop - start, 0)
        total = int(length.sum())
        if total == 0:
            return
        rows = np.repeat(objects, length)
        first = np.repeat(start - (np.cumsum(length) - length), length)
        self._marked[rows, first + np.arange(total)] = True

    def detectable(self, object_index: np.ndarray, time_index: np.ndarray) -> np.ndarray:
        """The flags of truth rows given by object and truth-time index.

        Parameters
        ----------
        object_index, time_index : ndarray of int, shape (n,)

        Returns
        -------
        ndarray of bool, shape (n,)
        """
        return self._marked[np.asarray(object_index, np.intp), np.asarray(time_index, np.intp)]

    def mark(self, truth: Truth, object_ids: np.ndarray) -> Truth:
        """``truth`` with its ``detectable`` column set.

        Parameters
        ----------
        truth : Truth
            Rows at some of the marker's truth times.
        object_ids : ndarray of str, shape (n_objects,)
            The id of each object index (``ObjectSet.object_id``).
        """
        ids = np.asarray(object_ids)
        order = np.argsort(ids, kind="stable")
        index = order[np.searchsorted(ids, truth.object_id, sorter=order)]
        detectable = self.detectable(index, np.searchsorted(self._times, truth.t_s))
        return dataclasses.replace(truth, detectable=detectable)
