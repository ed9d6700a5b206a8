"""The multi-sensor, multi-nation tracker: ordered detections in, a picture of tracks out.

Processing follows the architecture's first principle: the picture is a deterministic function of
the ordered stream of detections. Detections arrive in any order; they wait in a buffer for the
latency window, then are processed in time frames on a fixed grid (``k * frame_s``), each frame in
``(t_s, sensor_id, row)`` order. Within a frame, each sensor's scan is one association problem:

1. coarse spatial pre-gate (k-d tree over ECEF) of tracks predicted to the scan;
2. exact prediction of every candidate pair to the detection's own time, chi-square gate on the
   Mahalanobis distance of the innovation;
3. global-nearest-neighbour assignment on independent clusters, in three stages so firm tracks
   choose first: confirmed and coasting tracks, then tentative tracks, then one-detection tracks;
4. batched EKF update of the assigned pairs; every radar detection left over starts a track,
   unless it falls inside the wider initiation exclusion gate
   (``initiation_exclusion_probability``) of a firm track that took no report of the scan: a
   radar reports an object once a scan, so such a report is that track's object seen off its
   gate (a sensor's bias, a manoeuvre), not a new object; it is counted
   (``TrackerStats.initiation_excluded``) and left out.

Initiation above the aircraft ceiling keeps every hypothesis until the third report: there a
one-report track's velocity is only bounded by ``ballistic_max_speed_mps``, so its gate holds
every missile of a salvo, and one nearest-neighbour choice would as often join two missiles as
follow one. Instead a report above the ceiling continues, as a new track each, every one-report
track it gates within one revisit of that track's sensor, and starts its own track too (the
one-report tracks themselves wait, their own object may have faded). The third report is
assigned like any other, globally, and settles it: when a track is confirmed, every tentative
track sharing one of its reports is dropped; of tracks confirmed together that share one, the
one with the lowest mean association cost wins. Above the ceiling a tentative track is continued
on consecutive revisits only (``rocket_tentative_misses``): after a missed one its gate holds the
whole salvo.

Every radar report is first corrected by its sensor's estimated registration offsets
(``tracker.registration``: estimated jointly for all radars from pairs of consecutive reports of
one track by two radars).

Each track is an interacting-multiple-model filter (nearly constant velocity, left/right
coordinated turns, ballistic free flight and boost, ``tracker.dynamics``); gating and
assignment use its combined prediction. A prediction far less certain than the report (a new
track's second report) is updated iteratively; an infrared (angle-only) report updates firm
tracks only, and one that fits more than one track, or a track that gates more than one, is left
out, since bearings cannot tell closely spaced objects apart; a track whose state no object can
have (a tentative one faster than ``ballistic_max_speed_mps``, a firm one faster than orbital
speed, or either well under the ground) is dropped and counted (``TrackerStats.implausible``).
A tentative track is confirmed at ``confirm_hits`` updates (``boost_confirm_hits`` while boost is
its most probable model) and dropped after
``tentative_misses`` missed revisits in a row (``rocket_tentative_misses`` above the aircraft
ceiling, ``boost_tentative_misses`` while boost is its most probable model). A firm track whose
prediction to the end of the frame lies under the ground (beyond 3 sigma and
``_GROUND_MARGIN_M``) is dropped as down (``TrackerStats.down``): its object has hit the ground
or the sea, and coasting on would show it flying where nothing is.
After every frame an optional ``on_frame`` hook sees the frame's rows and the live track table
(assessment hooks in there).

Reports later than the window are used by an out-of-sequence update (Bar-Shalom's one-step
"B1" algorithm) when they are at most ``oosm_horizon_s`` old, and counted either way.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from airpicture.association.assignment import gnn_assign
from airpicture.association.gating import candidate_pairs, chi2_gate
from airpicture.filters.imm import combine, mix, update_probabilities
from airpicture.filters.kalman import Innovation, innovation, update
from airpicture.geo import aer2ecef, geodetic2ecef
from airpicture.models.measurement import (
    SensorGeometry,
    detection_jacobians,
    measurement_noise,
    measurement_vectors,
    predict_measurements,
    wrap_angle,
)
from airpicture.models.motion import cv_predict, cv_process_noise, cv_transition
from airpicture.tables import (
    RELEASE_ALL,
    STATUS_NAMES,
    Detections,
    SensorTable,
    TrackRows,
    cov_pos_from_matrix,
)
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.dynamics import (
    STATE_DIM,
    MotionModelSet,
    approximate_height,
    project_kappa,
)
from airpicture.tracker.registration import PAIR_WITHIN_S, Registration, RegistrationEstimate
from airpicture.tracker.table import COASTING, CONFIRMED, DELETED, TENTATIVE, TrackTable

__all__ = ["KAPPA_PRIOR", "FrameCallback", "Tracker", "TrackerStats"]

log = logging.getLogger(__name__)

FrameCallback = Callable[[TrackRows, float], None]
"""``on_frame(rows, t_s)``: one processed frame's rows, and the time the picture is complete to."""

_WIDE_PRIOR = 0.5
"""Iterate an update whose linearisation bias would exceed this fraction of the report's noise."""

_IEKF_ITERATIONS = 3
"""Relinearisations of the iterated update."""

_GROUND_MARGIN_M = 1000.0
"""How far below the ellipsoid (beyond 3 sigma) a track may be before it is dropped, m."""

_SUBORBITAL_SPEED_MPS = 8000.0
"""Speed (beyond 3 sigma) above which a firm track is dropped, m/s: orbital speed, beyond every
object in scope (suborbital, like every ballistic missile)."""

KAPPA_PRIOR = 2e-4
"""Prior mean and standard deviation of a new track's inverse ballistic coefficient, m^2/kg."""

_BEARING_GATE_MIN_RANGE_M = 1000.0
"""A track that may be nearer than this to a bearing sensor takes all its bearings to the gate."""


@dataclass
class TrackerStats:
    """Counters of what the tracker did with its input.

    ``implausible`` counts the tracks dropped because no object can have their state (they are
    counted in ``deleted`` too); ``initiation_excluded`` the radar reports left over inside a
    firm track's initiation exclusion gate, which started no track; ``branched`` the tracks
    started as a one-report track's continuation on a report above the aircraft ceiling (beside
    the track itself), ``pruned`` the tentative tracks dropped for sharing a report with a firm
    one (counted in ``deleted`` too); ``down`` the firm tracks dropped because their prediction
    to the end of the frame is under the ground (counted in ``deleted`` too).
    """

    received: int = 0
    processed: int = 0
    late: int = 0
    late_used: int = 0
    late_unused: int = 0
    initiated: int = 0
    confirmed: int = 0
    deleted: int = 0
    implausible: int = 0
    initiation_excluded: int = 0
    branched: int = 0
    pruned: int = 0
    down: int = 0
    unassociated_angle_only: int = 0
    frames: int = 0
    late_examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict (no examples)."""
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


@dataclass(frozen=True)
class _SensorModel:
    with_range: bool
    with_range_rate: bool
    R: np.ndarray
    angle_cols: tuple[int, ...]
    gate: float
    exclusion_gate: float
    nation_bit: int


class Tracker:
    """Multi-sensor tracker over WGS-84 ECEF states.

    Parameters
    ----------
    sensors : SensorTable
        Every sensor whose detections may arrive (any number of sensors and nations).
    config : TrackerConfig, optional
        Settings; defaults when omitted.

    Attributes
    ----------
    wide_release : int
        Release label bits that make a report *widely released* (every bit set in its label);
        0, the default, makes every report so. Each track keeps its first such report
        (``TrackTable.first_wide_row``): a node sets the full-release bits of every nation of
        its network, so that the report a track's network number is issued from is one that
        every nation holds (:mod:`airpicture.fusion.numbers`).

    Examples
    --------
    >>> tracker = Tracker(sensors)                       # doctest: +SKIP
    >>> rows = tracker.run(iter_detections(path, sensors))  # doctest: +SKIP
    """

    def __init__(self, sensors: SensorTable, config: TrackerConfig | None = None) -> None:
        self.sensors = sensors
        self.config = config if config is not None else TrackerConfig()
        self.stats = TrackerStats()
        self.wide_release = 0
        self._nations = sensors.nations
        self._models = [self._sensor_model(i) for i in range(len(sensors))]
        self._scan_period_s = sensors.column("scan_period_s").astype(float)
        self._dynamics = MotionModelSet(self.config)
        self._table = TrackTable.empty(len(sensors), self._dynamics.r)
        self._pending: list[Detections] = []
        self._max_t_seen = -math.inf
        self._processed_until = -math.inf
        self._next_number = 1
        self._next_report = 0
        self._nation_labels: dict[int, str] = {}
        self._platform_last: dict[int, tuple[float, np.ndarray]] = {}
        self._registration = Registration(sensors, self.config.registration_memory_s)

    # ------------------------------------------------------------------ public API
    def process(
        self, detections: Detections, *, on_frame: FrameCallback | None = None
    ) -> TrackRows:
        """Take a chunk of detections in arrival order; process every frame the window allows.

        Parameters
        ----------
        detections : Detections
            The chunk, in arrival order.
        on_frame : callable, optional
            Called as ``on_frame(rows, t_s)`` after every processed frame (and after every batch
            of out-of-sequence reports) with that frame's rows and the time up to which the
            picture is complete, s; :attr:`tracks` then holds the state at the end of that
            frame. This is where per-update consumers (assessment) hook in: frames follow from
            the detections alone, so the calls do not depend on how the input was chunked.

        Returns
        -------
        TrackRows
            The rows (track states and status changes) produced by this call.
        """
        out: list[TrackRows] = []
        n = len(detections)
        if n:
            self.stats.received += n
            late = detections.t_s < self._processed_until
            if late.any():
                late_rows = self._process_late(detections.take(late))
                if on_frame is not None:
                    on_frame(late_rows, self._processed_until)
                out.append(late_rows)
                detections = detections.take(~late)
            if len(detections):
                self._pending.append(detections)
                self._max_t_seen = max(self._max_t_seen, float(detections.t_s.max()))
        watermark = self._max_t_seen - self.config.latency_window_s
        out.extend(self._process_until(watermark, on_frame))
        return _concat_rows(out)

    def flush(self, *, on_frame: FrameCallback | None = None) -> TrackRows:
        """Process everything still waiting in the latency buffer (end of input).

        ``on_frame`` is called after each frame, as in :meth:`process`.
        """
        return _concat_rows(self._process_until(math.inf, on_frame))

    def run(
        self,
        chunks: Iterable[Detections],
        *,
        on_rows: Callable[[TrackRows], None] | None = None,
        on_frame: FrameCallback | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> TrackRows:
        """Track a whole stream of detection chunks (arrival order) and return every row.

        Parameters
        ----------
        chunks : iterable of Detections
            The input, in arrival order.
        on_rows : callable, optional
            Called with the rows of each chunk as they are produced (for streaming output); when
            given, the returned table is empty.
        on_frame : callable, optional
            Called after every frame, as in :meth:`process`.
        progress : callable, optional
            Called with the number of detections of each chunk once it is taken in.
        """
        parts: list[TrackRows] = []
        sink = on_rows if on_rows is not None else parts.append
        for chunk in chunks:
            sink(self.process(chunk, on_frame=on_frame))
            if progress is not None:
                progress(len(chunk))
        sink(self.flush(on_frame=on_frame))
        return _concat_rows(parts)

    @property
    def tracks(self) -> TrackTable:
        """The live track table (read it, do not modify it)."""
        return self._table

    @property
    def registration(self) -> RegistrationEstimate:
        """Every sensor's estimated registration offsets (removed from its reports)."""
        return self._registration.estimate()

    @property
    def model_labels(self) -> tuple[str, ...]:
        """Names of the IMM models, in the order of the table's ``mu`` columns."""
        return self._dynamics.labels

    def _wide(self, labels: np.ndarray) -> np.ndarray:
        """Reports released to every nation of :attr:`wide_release` (all, without it)."""
        mask = np.uint64(self.wide_release)
        return (np.asarray(labels, dtype=np.uint64) & mask) == mask

    def track_ids(self, numbers: np.ndarray) -> np.ndarray:
        """Track id strings of track numbers."""
        return np.array([f"T{int(k):06d}" for k in numbers], dtype=str)

    def track_index(self, track_ids: np.ndarray) -> np.ndarray:
        """Rows of :attr:`tracks` holding the given track ids, -1 for ids of no live track.

        Parameters
        ----------
        track_ids : ndarray of str, shape (m,)
            Ids as in the rows (``T`` and the track number).

        Returns
        -------
        ndarray of int64, shape (m,)
        """
        ids = np.asarray(track_ids, dtype=str)
        numbers = np.array(
            [int(t[1:]) if t[:1] == "T" and t[1:].isdigit() else -1 for t in ids], dtype=np.int64
        )
        table_numbers = self._table.number  # ascending: tracks are appended in number order
        pos = np.searchsorted(table_numbers, numbers)
        pos_ok = np.minimum(pos, max(len(table_numbers) - 1, 0))
        found = (pos < len(table_numbers)) & (numbers >= 0)
        if len(table_numbers):
            found &= table_numbers[pos_ok] == numbers
        return np.where(found, pos_ok, -1).astype(np.int64)

    # ------------------------------------------------------------------ set-up
    def _sensor_model(self, i: int) -> _SensorModel:
        s = self.sensors[i]
        with_rr = s.has_range_rate and s.has_range
        R = measurement_noise(self.sensors, i, with_range_rate=with_rr)
        angle_cols = (1, 2) if s.has_range else (0, 1)
        gate = chi2_gate(self.config.gate_probability, R.shape[0])
        exclusion_gate = chi2_gate(self.config.initiation_exclusion_probability, R.shape[0])
        return _SensorModel(
            s.has_range, with_rr, R, angle_cols, gate, exclusion_gate, self._nations.index(s.nation)
        )

    # ------------------------------------------------------------------ frames
    def _process_until(
        self, watermark: float, on_frame: FrameCallback | None = None
    ) -> list[TrackRows]:
        if not self._pending:
            return []
        frame_s = self.config.frame_s
        dets = Detections.concat(self._pending) if len(self._pending) > 1 else self._pending[0]
        frame = np.floor(dets.t_s / frame_s).astype(np.int64)
        ready = (
            (frame + 1) * frame_s <= watermark
            if math.isfinite(watermark)
            else np.ones(len(dets), bool)
        )
        if not ready.any():
            self._pending = [dets]
            return []
        rest = dets.take(~ready)
        self._pending = [rest] if len(rest) else []
        todo = dets.take(ready)
        order = todo.processing_order()
        todo = todo.take(order)
        frame = np.floor(todo.t_s / frame_s).astype(np.int64)
        bounds = np.flatnonzero(np.diff(frame)) + 1
        out = []
        for start, stop in zip(np.r_[0, bounds], np.r_[bounds, len(todo)], strict=True):
            k = int(frame[start])
            t_end_s = (k + 1) * frame_s
            rows = self._process_frame(todo.take(slice(start, stop)), t_end_s)
            if on_frame is not None:
                on_frame(rows, t_end_s)
            out.append(rows)
        return out

    def _process_frame(self, dets: Detections, t_end_s: float) -> TrackRows:
        self.stats.frames += 1
        self.stats.processed += len(dets)
        updated = np.zeros(len(self._table), dtype=bool)
        for group in self._scans(dets):
            updated = self._assimilate(group, updated)
        self._registration.solve()
        self._processed_until = t_end_s
        return self._lifecycle(t_end_s, updated)

    def _scans(self, dets: Detections) -> list[Detections]:
        """Split a frame into scans: one sensor's detections within one scan period."""
        by_sensor = np.lexsort((dets.row, dets.t_s, dets.sensor_index))
        dets = dets.take(by_sensor)
        period = self._scan_period_s[dets.sensor_index]
        sensor_change = np.r_[True, np.diff(dets.sensor_index) != 0]
        first_t = np.maximum.accumulate(np.where(sensor_change, np.arange(len(dets)), 0))
        scan = np.floor((dets.t_s - dets.t_s[first_t]) / period).astype(np.int64)
        key_change = sensor_change | np.r_[False, np.diff(scan) != 0]
        starts = np.flatnonzero(key_change)
        stops = np.r_[starts[1:], len(dets)]
        groups = [dets.take(slice(a, b)) for a, b in zip(starts, stops, strict=True)]
        groups.sort(key=lambda g: (float(g.t_s[0]), int(g.sensor_index[0])))
        return groups

    # ------------------------------------------------------------------ association
    def _assimilate(self, group: Detections, updated: np.ndarray) -> np.ndarray:
        sensor = int(group.sensor_index[0])
        group = self._registration.correct(group)
        model = self._models[sensor]
        z = measurement_vectors(
            group, with_range=model.with_range, with_range_rate=model.with_range_rate
        )
        geometry = self._geometry(group, sensor)
        det_pos, det_cov, det_G = self._detection_positions(group, sensor)
        report_ids = self._next_report + np.arange(len(group))
        self._next_report += len(group)
        if model.with_range:  # the reports' positions as reported, for the registration
            det_reported = det_pos + det_G @ self._registration.bias[sensor]
        remaining = np.ones(len(group), dtype=bool)
        labels = _labels(group)
        table = self._table
        took = np.zeros(len(table), dtype=bool)
        near_ti = near_dj = np.empty(0, dtype=np.int64)
        stages = (
            (table.status == CONFIRMED) | (table.status == COASTING),
            (table.status == TENTATIVE) & (table.hits >= 2),
            (table.status == TENTATIVE) & (table.hits < 2),
        )
        # Bearings update firm tracks only: a tentative track's velocity is not yet known, and
        # around closely spaced objects (a salvo) a bearing would confirm a track started on
        # one object's report and continued on its neighbour's.
        for k, stage in enumerate(stages if model.with_range else stages[:1]):
            track_idx = np.flatnonzero(stage)
            det_idx = np.flatnonzero(remaining)
            if len(track_idx) == 0 or len(det_idx) == 0:
                continue
            # Firm tracks are pre-gated to the exclusion gate of the reports that may initiate.
            exclude = k == 0 and model.with_range
            pre_gate = model.exclusion_gate if exclude else model.gate
            ti, dj = self._candidates(track_idx, group, det_idx, det_pos, det_cov, pre_gate)
            if len(ti) == 0:
                continue
            xp, Pp, xm, Pm, c = self._predict(ti, group.t_s[dj] - table.t_s[ti])
            inn, _ = self._innovation(xp, Pp, z[dj], geometry.take(dj), model)
            if exclude:
                near = inn.d2 <= model.exclusion_gate
                near_ti, near_dj = ti[near], dj[near]
            ok = inn.d2 <= model.gate
            if not model.with_range and ok.any():
                ok &= _unambiguous(ti, dj, ok, len(table), len(group))
            if not ok.any():
                continue
            cost = inn.d2 + inn.log_det_S
            ok_idx = np.flatnonzero(ok)
            # A one-report track continues on every report above the aircraft ceiling it gates
            # within one revisit of its sensor (and on none later), each pair a new track; the
            # report also starts its own (see the module notes).
            branch = np.zeros(len(ok_idx), dtype=bool)
            if k == 2:
                assert det_pos is not None  # the third stage is a radar's (with_range)
                t_p, d_p = ti[ok_idx], dj[ok_idx]
                own_period = self._scan_period_s[table.last_report_sensor[t_p]]
                branch = approximate_height(det_pos[d_p]) > self.config.aircraft_ceiling_m
                late = branch & (group.t_s[d_p] - table.t_s[t_p] > own_period)
                ok_idx, branch = ok_idx[~late], branch[~late]
            b = ok_idx[branch]
            copies = np.empty(0, dtype=np.int64)
            if len(b):
                copies = self._branch(ti[b])
                updated = np.r_[updated, np.zeros(len(b), dtype=bool)]
                took = np.r_[took, np.zeros(len(b), dtype=bool)]
            g = ok_idx[~branch]
            at, ad = gnn_assign(ti[g], dj[g], cost[g], len(table), len(group))
            remaining[ad] = False
            # Map each assigned (track, detection) back to its gated pair.
            keys = ti[g] * len(group) + dj[g]
            sel = np.r_[g[np.searchsorted(keys, at * len(group) + ad)], b]
            at, ad = np.r_[at, copies], np.r_[ad, dj[b]]
            if model.with_range:
                assert det_G is not None  # a radar's reports have positions
                if k == 0:
                    self._register(sensor, group, at, ad, xp[sel], det_reported[ad], det_G[ad])
                table.last_report[at] = det_reported[ad]
                table.last_report_G[at] = det_G[ad]
                table.last_report_sensor[at] = sensor
                second = table.hits[at] == 1
                table.first_reports[at[second], 1] = report_ids[ad[second]]
            else:
                table.last_report_sensor[at] = -1
            table.score[at] += cost[sel]
            self._update(at, xm[sel], Pm[sel], c[sel], z[ad], geometry.take(ad), model)
            table.t_s[at] = group.t_s[ad]
            table.hits[at] += 1
            table.nations[at] |= 1 << model.nation_bit
            table.release[at] &= labels[ad]
            wide = (table.first_wide_row[at] < 0) & self._wide(labels[ad])
            table.first_wide_row[at[wide]] = group.row[ad[wide]]
            table.first_wide_t_s[at[wide]] = group.t_s[ad[wide]]
            table.last_seen_s[at, sensor] = group.t_s[ad]
            updated[at] = True
            took[at] = True
        excluded = np.zeros(len(group), dtype=bool)
        excluded[near_dj[~took[near_ti]]] = True
        excluded &= remaining
        self.stats.initiation_excluded += int(excluded.sum())
        remaining &= ~excluded
        left = np.flatnonzero(remaining)
        if len(left) and model.with_range:
            assert det_pos is not None and det_cov is not None and det_G is not None
            self._initiate(
                group.take(left),
                sensor,
                det_pos[left],
                det_cov[left],
                z[left],
                geometry.take(left),
                (det_reported[left], det_G[left]),
                report_ids[left],
            )
            updated = np.r_[updated, np.ones(len(left), dtype=bool)]
        elif len(left):
            self.stats.unassociated_angle_only += len(left)
        return updated

    def _register(
        self,
        sensor: int,
        group: Detections,
        at: np.ndarray,
        ad: np.ndarray,
        xp: np.ndarray,
        reported: np.ndarray,
        G: np.ndarray,
    ) -> None:
        """Pair radar reports with the previous report of their tracks for the registration.

        ``xp`` are the tracks' predictions to the reports and ``reported`` the reports'
        positions as reported. A pair is the track's previous update, a report of another radar
        at most ``PAIR_WITHIN_S`` earlier, carried forward by the track's predicted motion.
        """
        table = self._table
        other = table.last_report_sensor[at]
        dt = group.t_s[ad] - table.t_s[at]
        ok = np.flatnonzero((other >= 0) & (other != sensor) & (dt <= PAIR_WITHIN_S))
        if len(ok) == 0:
            return
        tk = at[ok]
        dt = dt[ok]
        motion = xp[ok, :3] - table.x[tk, :3]
        M = dt[:, None, None] ** 2 * table.P[tk, 3:6, 3:6] + (self._q_eff(tk) * dt**3 / 3.0)[
            :, None, None
        ] * np.eye(3)
        self._registration.observe(
            float(group.t_s[ad[ok]].mean()),
            sensor,
            reported[ok],
            G[ok],
            other[ok],
            table.last_report[tk] + motion,
            table.last_report_G[tk],
            M,
        )

    def _predict(
        self, ti: np.ndarray, dt_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """IMM prediction of tracks ``ti`` over steps ``dt_s``: combined and per model."""
        table = self._table
        dyn = self._dynamics
        mu = table.mu[ti]
        Pi = dyn.switch_matrix(dt_s, table.x[ti, :3])
        dyn.hold_free_flight(Pi, mu)
        x0, P0, c = mix(table.xm[ti], table.Pm[ti], mu, Pi)
        xm, Pm = dyn.predict(x0, P0, dt_s, dyn.close_free_flight(c))
        xp, Pp = combine(xm, Pm, c)
        return xp, Pp, xm, Pm, c

    @staticmethod
    def _innovation(
        x: np.ndarray, P: np.ndarray, z: np.ndarray, geometry: SensorGeometry, model: _SensorModel
    ) -> tuple[Innovation, np.ndarray]:
        """Innovation statistics of states (m, 7) against measurements (m, d); also H (m, d, 7)."""
        zp, H6 = predict_measurements(
            x[:, :6], geometry, with_range=model.with_range, with_range_rate=model.with_range_rate
        )
        H = np.concatenate([H6, np.zeros(H6.shape[:2] + (STATE_DIM - 6,))], axis=2)
        nu = z - zp
        nu[:, model.angle_cols[0]] = wrap_angle(nu[:, model.angle_cols[0]])
        return innovation(nu, P, H, model.R), H

    def _update(
        self,
        at: np.ndarray,
        xm: np.ndarray,
        Pm: np.ndarray,
        c: np.ndarray,
        z: np.ndarray,
        geometry: SensorGeometry,
        model: _SensorModel,
    ) -> None:
        """Model-matched EKF updates, model probabilities and combination for tracks ``at``."""
        n, r = c.shape
        rep = np.repeat(np.arange(n), r)
        flat_x = xm.reshape(n * r, STATE_DIM)
        flat_P = Pm.reshape(n * r, STATE_DIM, STATE_DIM)
        geo = geometry.take(rep)
        inn, H = self._innovation(flat_x, flat_P, z[rep], geo, model)
        x_new, P_new = update(flat_x, flat_P, H, model.R, inn)
        wide = self._wide_prior(flat_x, flat_P, geo, model)
        if wide.any():
            w = np.flatnonzero(wide)
            x_new[w], P_new[w] = self._iterated_update(
                flat_x[w], flat_P[w], x_new[w], z[rep][w], geo.take(w), model
            )
        x_new = project_kappa(x_new, P_new)
        d = z.shape[1]
        log_lik = -0.5 * (inn.d2 + inn.log_det_S + d * math.log(2.0 * math.pi))
        mu = update_probabilities(c, log_lik.reshape(n, r))
        table = self._table
        table.xm[at] = x_new.reshape(n, r, STATE_DIM)
        table.Pm[at] = P_new.reshape(n, r, STATE_DIM, STATE_DIM)
        table.mu[at] = mu
        table.x[at], table.P[at] = combine(table.xm[at], table.Pm[at], mu)

    @staticmethod
    def _wide_prior(
        x: np.ndarray, P: np.ndarray, geometry: SensorGeometry, model: _SensorModel
    ) -> np.ndarray:
        """Predictions whose spread makes the linearised measurement biased beyond its noise.

        Over a position spread s at range r the angles bend by about s^2 / (2 r): the update is
        iterated where that exceeds ``_WIDE_PRIOR`` times the report's own cross-range spread
        r sigma_angle.
        """
        spread2 = np.trace(P[:, :3, :3], axis1=1, axis2=2)
        range2 = np.einsum("ij,ij->i", x[:, :3] - geometry.ecef, x[:, :3] - geometry.ecef)
        sigma_angle = float(np.sqrt(np.diag(model.R)[list(model.angle_cols)].min()))
        return spread2 > 2.0 * _WIDE_PRIOR * sigma_angle * range2

    def _iterated_update(
        self,
        x: np.ndarray,
        P: np.ndarray,
        x_first: np.ndarray,
        z: np.ndarray,
        geometry: SensorGeometry,
        model: _SensorModel,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Iterated EKF update of predictions far less certain than the measurement.

        Relinearises the measurement at the latest estimate :math:`x_i`:
        x_i+1 = x + K_i [z - h(x_i) - H_i (x - x_i)], K_i from H_i and the prediction's P
        [B. M. Bell and F. W. Cathey, "The iterated Kalman filter update as a Gauss-Newton
        method", IEEE Trans. AC 38(2), 1993, pp. 294-297, eq. (8)]. A new track's second report
        is kilometres from where its zero-velocity prior puts it, and the radar's angles bend
        over such a distance: one linearisation at the prior leaves a bias of a hundred metres
        or more that the filter's own covariance does not admit.
        """
        xi = x_first
        P_new = P
        for _ in range(_IEKF_ITERATIONS):
            zp, H6 = predict_measurements(
                xi[:, :6],
                geometry,
                with_range=model.with_range,
                with_range_rate=model.with_range_rate,
            )
            H = np.concatenate([H6, np.zeros(H6.shape[:2] + (STATE_DIM - 6,))], axis=2)
            nu = z - zp
            nu[:, model.angle_cols[0]] = wrap_angle(nu[:, model.angle_cols[0]])
            nu = nu - (H @ (x - xi)[..., None])[..., 0]
            xi, P_new = update(x, P, H, model.R, innovation(nu, P, H, model.R))
        return xi, P_new

    def _geometry(self, group: Detections, sensor: int) -> SensorGeometry:
        """Sensor geometry of a scan's rows, with the platform velocity where range rate is used.

        The velocity of a moving platform is the difference quotient of its reported positions:
        each row against the sensor's last earlier distinct time (this scan or the one before).
        """
        geometry = SensorGeometry.of_detections(group)
        if not self._models[sensor].with_range_rate:
            return geometry
        last = self._platform_last.get(sensor)
        t = group.t_s
        p = geometry.ecef
        if last is not None and last[0] < t[0]:
            t = np.r_[last[0], t]
            p = np.vstack([last[1][None], p])
        prev = np.searchsorted(t, group.t_s, side="left") - 1
        have = prev >= 0
        velocity = np.zeros((len(group), 3))
        j = prev[have]
        i = np.flatnonzero(have) + (len(t) - len(group))
        velocity[have] = (p[i] - p[j]) / (t[i] - t[j])[:, None]
        if last is None or group.t_s[-1] > last[0]:
            self._platform_last[sensor] = (float(group.t_s[-1]), geometry.ecef[-1].copy())
        return geometry.with_velocity(velocity)

    def _detection_positions(
        self, group: Detections, sensor: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | tuple[None, None, None]:
        """ECEF positions, covariances and Jacobians of a radar's detections (None for bearings).

        The Jacobians are with respect to (range, azimuth, elevation), the registration's order.
        """
        s = self.sensors[sensor]
        if not s.has_range:
            return None, None, None
        p, G = detection_jacobians(group)
        var = np.array([s.sigma_azimuth_rad**2, s.sigma_elevation_rad**2, s.sigma_range_m**2])
        C = (G * var) @ np.swapaxes(G, -1, -2)
        return p, C, G[:, :, [2, 0, 1]]

    def _q_eff(self, idx: np.ndarray) -> np.ndarray:
        """Process noise density of tracks ``idx`` under their model probabilities, m^2/s^3."""
        return self._table.mu[idx] @ self._dynamics.q

    def _candidates(
        self,
        track_idx: np.ndarray,
        group: Detections,
        det_idx: np.ndarray,
        det_pos: np.ndarray | None,
        det_cov: np.ndarray | None,
        gate: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pairs within the pre-gate of chi-square ``gate``, as indices into the table and group.

        Each track is extrapolated at constant velocity to the scan's mean time, with a bound
        ``var_pos`` of the trace of its position covariance there. A radar report is a point
        (``det_pos``): the pair is kept within ``sqrt(gate (var_pos + tr C_det))`` metres. A
        bearing is a line of sight: with the angular innovation scaled to arc lengths
        (azimuth times cos(elevation)), the innovation covariance is at most
        ``var_pos / range^2 + max(sigma_az, sigma_el)^2`` in every direction, so a pair inside
        the exact gate is within ``sqrt(gate (var_pos / range^2 + sigma^2))`` radians of the
        track's line of sight; the pair is kept when the chord between the unit lines of sight
        is within that angle (a chord is never longer than its arc). Both radii grow by the
        track's motion over the scan's time spread and by the way free flight leaves constant
        velocity (:meth:`~airpicture.tracker.dynamics.MotionModelSet.free_flight_drift`, which
        also moves the extrapolation), and the angle also by the sensor's own motion (a moving
        platform) seen from the track's nearest possible range.
        """
        table = self._table
        t_ref = float(group.t_s[det_idx].mean())
        spread = float(np.abs(group.t_s[det_idx] - t_ref).max())
        dt = t_ref - table.t_s[track_idx]
        x = table.x[track_idx]
        P = table.P[track_idx]
        a = np.abs(dt) + spread
        shift, drift = self._dynamics.free_flight_drift(x, table.mu[track_idx], dt, a)
        pos = x[:, :3] + x[:, 3:6] * dt[:, None] + shift
        tr_pp = np.trace(P[:, :3, :3], axis1=1, axis2=2)
        tr_pv = np.trace(P[:, :3, 3:6], axis1=1, axis2=2)
        tr_vv = np.trace(P[:, 3:6, 3:6], axis1=1, axis2=2)
        var_pos = tr_pp + 2.0 * np.abs(dt * tr_pv) + a * a * tr_vv + self._q_eff(track_idx) * a**3
        moving = np.linalg.norm(x[:, 3:6], axis=1) * spread + drift
        if det_pos is not None:
            assert det_cov is not None  # set together with det_pos (a radar's reports)
            det_var = float(np.trace(det_cov[det_idx], axis1=1, axis2=2).max())
            radius = math.sqrt(gate) * np.sqrt(var_pos + det_var) + moving
            ti, dj = candidate_pairs(pos, radius, det_pos[det_idx])
            return track_idx[ti], det_idx[dj]
        dets = group.take(det_idx)
        site = np.stack(
            geodetic2ecef(dets.sensor_lat_rad, dets.sensor_lon_rad, dets.sensor_alt_m), axis=-1
        )
        sight = np.stack(
            aer2ecef(
                dets.azimuth_rad,
                dets.elevation_rad,
                1.0,
                dets.sensor_lat_rad,
                dets.sensor_lon_rad,
                dets.sensor_alt_m,
            ),
            axis=-1,
        )
        sight -= site
        origin = site.mean(axis=0)
        site_shift = float(np.linalg.norm(site - origin, axis=1).max())
        los = pos - origin
        rng = np.linalg.norm(los, axis=1)
        near = rng - site_shift - np.sqrt(var_pos)
        s = self.sensors[int(group.sensor_index[det_idx[0]])]
        sigma2 = max(s.sigma_azimuth_rad, s.sigma_elevation_rad) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            angle = np.sqrt(gate * (var_pos / near**2 + sigma2)) + (moving + site_shift) / near
            unit = los / rng[:, None]
        # Within a kilometre of the sensor (or an unbounded angle) every report is a candidate.
        angle = np.where((near > _BEARING_GATE_MIN_RANGE_M) & np.isfinite(angle), angle, 2.0)
        ti, dj = candidate_pairs(np.nan_to_num(unit), np.minimum(angle, 2.0), sight)
        return track_idx[ti], det_idx[dj]

    # ------------------------------------------------------------------ initiation
    def _branch(self, rows: np.ndarray) -> np.ndarray:
        """Append copies of tracks ``rows`` under new numbers; return their rows."""
        table = self._table
        copies = table.take(rows)
        m = len(rows)
        copies.number = np.arange(self._next_number, self._next_number + m, dtype=np.int64)
        self._next_number += m
        self.stats.branched += m
        start = len(table)
        table.extend(copies)
        return np.arange(start, start + m)

    def _initiate(
        self,
        dets: Detections,
        sensor: int,
        pos: np.ndarray,
        pos_cov: np.ndarray,
        z: np.ndarray,
        geometry: SensorGeometry,
        report: tuple[np.ndarray, np.ndarray],
        report_ids: np.ndarray,
    ) -> None:
        """Start tentative tracks on radar reports; ``report``: positions as reported and
        Jacobians, for the registration; ``report_ids``: the reports' ids."""
        m = len(dets)
        model = self._models[sensor]
        dyn = self._dynamics
        r = dyn.r
        # Per model: the velocity prior of the objects that can be where the track starts.
        speed = np.abs(z[:, -1]) if model.with_range_rate else None
        mu, prior = dyn.initial_conditions(pos, speed)
        x = np.zeros((m, STATE_DIM))
        x[:, :3] = pos
        x[:, 6] = KAPPA_PRIOR
        Pm = np.zeros((m, r, STATE_DIM, STATE_DIM))
        Pm[:, :, :3, :3] = pos_cov[:, None]
        Pm[:, :, 6, 6] = KAPPA_PRIOR**2
        if model.with_range_rate:
            # Radial velocity is measured: a narrow prior along the line of sight.
            los = pos - geometry.ecef
            u = los / np.linalg.norm(los, axis=1, keepdims=True)
            rr = z[:, -1]
            x[:, 3:6] = rr[:, None] * u
            if geometry.velocity is not None:
                x[:, 3:6] += geometry.velocity
            cross = (np.eye(3) - u[:, :, None] * u[:, None, :])[:, None]
            var_rr = self.sensors[sensor].sigma_range_rate_mps ** 2
            Pm[:, :, 3:6, 3:6] = cross @ prior @ cross + var_rr * (np.eye(3) - cross)
        else:
            Pm[:, :, 3:6, 3:6] = prior
        xm = np.repeat(x[:, None], r, axis=1)
        _, P = combine(xm, Pm, mu)
        last_seen = np.full((m, len(self.sensors)), np.nan)
        last_seen[:, sensor] = dets.t_s
        numbers = np.arange(self._next_number, self._next_number + m, dtype=np.int64)
        self._next_number += m
        self.stats.initiated += m
        self._table.extend(
            TrackTable(
                x=x,
                P=P,
                t_s=dets.t_s.copy(),
                t_first_s=dets.t_s.copy(),
                number=numbers,
                status=np.full(m, TENTATIVE, np.int8),
                hits=np.ones(m, np.int32),
                nations=np.full(m, 1 << model.nation_bit, np.int64),
                release=_labels(dets),
                last_seen_s=last_seen,
                last_report=report[0],
                last_report_G=report[1],
                last_report_sensor=np.full(m, sensor, np.int32),
                first_reports=np.stack([report_ids, np.full(m, -1)], axis=1),
                first_row=dets.row.astype(np.int64),
                first_wide_row=np.where(self._wide(_labels(dets)), dets.row, -1).astype(np.int64),
                first_wide_t_s=dets.t_s.copy(),
                score=np.zeros(m),
                xm=xm,
                Pm=Pm,
                mu=mu,
            )
        )

    # ------------------------------------------------------------------ lifecycle
    def _lifecycle(self, t_s: float, updated: np.ndarray) -> TrackRows:
        """Confirm, coast and drop tracks at the end of a frame; return the frame's rows."""
        table = self._table
        cfg = self.config
        seen = np.isfinite(table.last_seen_s)
        ratio = np.where(seen, (t_s - table.last_seen_s) / self._scan_period_s, np.inf).min(axis=1)
        missed = np.floor(ratio - 0.5).clip(min=0)
        old_status = table.status.copy()
        tentative = table.status == TENTATIVE
        implausible = self._implausible(
            np.where(tentative, cfg.ballistic_max_speed_mps, _SUBORBITAL_SPEED_MPS)
        )
        boosting = self._dynamics.boosting(table.mu)
        tentative_patience = np.where(
            approximate_height(table.x[:, :3]) > cfg.aircraft_ceiling_m,
            cfg.rocket_tentative_misses,
            np.where(boosting, cfg.boost_tentative_misses, cfg.tentative_misses),
        )
        drop_tentative = tentative & (missed >= tentative_patience)
        # Tracks share reports only after initiation above the aircraft ceiling.
        ids = table.first_reports[table.first_reports >= 0]
        sharing = len(np.unique(ids)) < len(ids)
        if sharing:
            drop_tentative &= ~self._roots_of_branches()
        need = np.where(
            boosting,
            cfg.boost_confirm_hits,
            cfg.confirm_hits,
        )
        confirm = tentative & ~drop_tentative & ~implausible & (table.hits >= need)
        if sharing:
            confirm, shared = self._shared_reports(tentative, confirm)
            self.stats.pruned += int((shared & ~drop_tentative & ~implausible).sum())
            drop_tentative |= shared
        firm = ~tentative | confirm
        patience = np.where(
            self._dynamics.held_in_free_flight(table.mu),
            cfg.free_flight_delete_after_misses,
            cfg.delete_after_misses,
        )
        coasting = np.flatnonzero(firm & (missed >= 1) & ~implausible)
        down = np.zeros(len(table), dtype=bool)
        down[coasting] = self._below_ground(coasting, t_s)
        drop_firm = firm & ((missed >= patience) | down)
        status = table.status
        status[confirm] = CONFIRMED
        status[firm & ~drop_firm & (missed >= 1)] = COASTING
        status[firm & ~drop_firm & (missed < 1)] = CONFIRMED
        drop = drop_tentative | drop_firm | implausible
        self.stats.confirmed += int(confirm.sum())
        self.stats.implausible += int(implausible.sum())
        self.stats.down += int(down.sum())
        self.stats.deleted += int(drop.sum())
        changed = (status != old_status) | drop
        emit = (updated | changed) & ~drop
        rows = [self._rows(np.flatnonzero(emit), None)]
        if drop.any():
            rows.append(self._rows(np.flatnonzero(drop), t_s))
        table.keep(~drop)
        if sharing and np.any(np.diff(table.number) < 0):  # a track took its root's number
            table.keep(np.argsort(table.number))
        return _concat_rows(rows)

    def _roots_of_branches(self) -> np.ndarray:
        """One-report tracks whose report a live two-report track continues (kept until one of
        them is confirmed, which takes the root's number, or all are dropped)."""
        reports = self._table.first_reports
        one = reports[:, 1] < 0
        return one & np.isin(reports[:, 0], reports[~one, 0])

    def _shared_reports(
        self, tentative: np.ndarray, confirm: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Resolve tracks that share a report (initiation above the aircraft ceiling).

        A report belongs to one object: of the tracks about to be confirmed that share a report
        with each other or with a firm track, only the one with the lowest mean association
        cost is (firm tracks keep theirs), and every tentative track sharing a report with a
        firm one is dropped. A confirmed track takes the
        number of the one-report track started on its first report (dropped with the others),
        so the object keeps the number it was first shown under.

        Returns
        -------
        confirm, shared : ndarray of bool, shape (n,)
            The tracks to confirm, and the tentative ones to drop.
        """
        table = self._table
        reports = table.first_reports
        claimed = reports[~tentative]
        claimed = claimed[claimed >= 0]
        confirm = confirm.copy()
        candidates = np.flatnonzero(confirm)
        mean_cost = table.score[candidates] / np.maximum(table.hits[candidates] - 1, 1)
        for j in candidates[np.argsort(mean_cost, kind="stable")]:
            own = reports[j][reports[j] >= 0]
            if np.isin(own, claimed).any():
                confirm[j] = False
                continue
            claimed = np.r_[claimed, own]
            # The track takes the number its first report was shown under (tentative).
            root = np.flatnonzero(
                (reports[:, 0] == reports[j, 0]) & (reports[:, 1] < 0) & tentative & ~confirm
            )
            if len(root) and table.number[root[0]] < table.number[j]:
                table.number[[j, root[0]]] = table.number[[root[0], j]]
        shared = tentative & ~confirm & np.isin(reports, claimed).any(axis=1)
        return confirm, shared

    def _implausible(self, speed_bound_mps: np.ndarray) -> np.ndarray:
        """Tracks whose state no object can have, beyond 3 sigma.

        Faster than their speed bound (``ballistic_max_speed_mps``, the bound of everything
        initiated on, for tentative tracks; orbital speed for firm ones), or below the ground by
        more than ``_GROUND_MARGIN_M``: such a state comes from joining clutter, or from a model
        (boost) free to follow it.
        """
        x, P = self._table.x, self._table.P
        speed = np.linalg.norm(x[:, 3:6], axis=1)
        u = x[:, 3:6] / np.maximum(speed, 1e-9)[:, None]
        sd_speed = np.sqrt(np.einsum("ni,nij,nj->n", u, P[:, 3:6, 3:6], u))
        too_fast = speed - 3.0 * sd_speed > speed_bound_mps
        return too_fast | _under_ground(x, P)

    def _below_ground(self, idx: np.ndarray, t_s: float) -> np.ndarray:
        """Whether tracks ``idx``, predicted to ``t_s`` (straight, with their process noise), lie
        under the ground beyond 3 sigma and ``_GROUND_MARGIN_M``."""
        table = self._table
        x, P = cv_predict(
            table.x[idx, :6], table.P[idx, :6, :6], t_s - table.t_s[idx], self._q_eff(idx)
        )
        return _under_ground(x, P)

    def _rows(self, idx: np.ndarray, t_s: float | None) -> TrackRows:
        """Rows of tracks ``idx`` at their own time, or predicted to ``t_s`` as deleted rows."""
        table = self._table
        x, P, t = table.x[idx, :6], table.P[idx, :6, :6], table.t_s[idx]
        status = table.status[idx]
        if t_s is not None:
            x, P = cv_predict(x, P, t_s - t, self._q_eff(idx))
            t = np.full(len(idx), t_s)
            status = np.full(len(idx), DELETED)
        return TrackRows(
            t_s=t.copy(),
            track_id=self.track_ids(table.number[idx]),
            x=x.copy(),
            cov_pos=cov_pos_from_matrix(P),
            kind=np.full(len(idx), "unknown"),
            status=np.asarray(STATUS_NAMES)[status],
            nations=np.array([self._nation_label(int(b)) for b in table.nations[idx]], dtype=str),
            release=table.release[idx].copy(),
        )

    def _nation_label(self, bits: int) -> str:
        label = self._nation_labels.get(bits)
        if label is None:
            label = ";".join(n for i, n in enumerate(self._nations) if bits >> i & 1)
            self._nation_labels[bits] = label
        return label

    # ------------------------------------------------------------------ out of sequence
    def _process_late(self, dets: Detections) -> TrackRows:
        """Use reports older than the processed frames (out-of-sequence measurements)."""
        n = len(dets)
        self.stats.late += n
        horizon = self._processed_until - self.config.oosm_horizon_s
        usable = dets.t_s >= horizon
        too_old = n - int(usable.sum())
        if too_old:
            self.stats.late_unused += too_old
            self._note_late(dets.take(~usable), "older than the out-of-sequence horizon")
        dets = dets.take(usable)
        if not len(dets):
            return TrackRows.empty()
        order = dets.processing_order()
        dets = dets.take(order)
        updated = np.zeros(len(self._table), dtype=bool)
        for group in self._scans(dets):
            used = self._assimilate_late(group, updated)
            self.stats.late_used += int(used.sum())
            self.stats.late_unused += int((~used).sum())
            if (~used).any():
                self._note_late(group.take(~used), "matched no track")
        self.stats.processed += len(dets)
        idx = np.flatnonzero(updated)
        return self._rows(idx, None)

    def _retrodicted_update(
        self,
        tb: np.ndarray,
        dt_s: np.ndarray,
        z: np.ndarray,
        geometry: SensorGeometry,
        model: _SensorModel,
    ) -> None:
        """Bar-Shalom's B1 update of tracks ``tb`` with reports ``dt_s`` (< 0) before their time.

        [Y. Bar-Shalom, "Update with out-of-sequence measurements in tracking: exact solution",
        IEEE Trans. AES 38(3), 2002, algorithm B1.]

        Applied to every model-conditioned state: with F = F(d, k) the straight-line retrodiction,
        x_d = F x_k, P_d = F P_k F^T + Q(|d - k|), S = H P_d H^T + R, P_xz = P_k F^T H^T,
        x_k+ = x_k + P_xz S^-1 nu and P_k+ = P_k - P_xz S^-1 P_xz^T; the model probabilities
        take the reports' likelihoods.
        """
        table = self._table
        n, r = len(tb), self._dynamics.r
        rep = np.repeat(np.arange(n), r)
        x = table.xm[tb].reshape(n * r, STATE_DIM)
        P = table.Pm[tb].reshape(n * r, STATE_DIM, STATE_DIM)
        F, Q = _retro_transition(dt_s[rep], np.tile(self._dynamics.q, n))
        xd = (F @ x[..., None])[..., 0]
        Pd = F @ P @ np.swapaxes(F, 1, 2) + Q
        inn, H = self._innovation(xd, Pd, z[rep], geometry.take(rep), model)
        Pxz = P @ np.swapaxes(F, 1, 2) @ np.swapaxes(H, 1, 2)
        G = np.swapaxes(np.linalg.solve(inn.S, np.swapaxes(Pxz, 1, 2)), 1, 2)
        x_new = x + (G @ inn.nu[..., None])[..., 0]
        P_new = P - G @ np.swapaxes(Pxz, 1, 2)
        P_new = 0.5 * (P_new + np.swapaxes(P_new, 1, 2))
        x_new = project_kappa(x_new, P_new)
        d = z.shape[1]
        log_lik = -0.5 * (inn.d2 + inn.log_det_S + d * math.log(2.0 * math.pi))
        mu = update_probabilities(table.mu[tb], log_lik.reshape(n, r))
        table.xm[tb] = x_new.reshape(n, r, STATE_DIM)
        table.Pm[tb] = P_new.reshape(n, r, STATE_DIM, STATE_DIM)
        table.mu[tb] = mu
        table.x[tb], table.P[tb] = combine(table.xm[tb], table.Pm[tb], mu)

    def _note_late(self, dets: Detections, why: str) -> None:
        log.info("%d late detection(s) not used: %s", len(dets), why)
        if len(self.stats.late_examples) < 20:
            self.stats.late_examples.append(
                f"row {int(dets.row[0])} (t_s={float(dets.t_s[0]):.3f}, "
                f"sensor {self.sensors[int(dets.sensor_index[0])].sensor_id}): {why}"
            )

    def _assimilate_late(self, group: Detections, updated: np.ndarray) -> np.ndarray:
        """Out-of-sequence update of firm tracks; returns which detections were used.

        Reports are gated and assigned against the tracks retrodicted to their times, then used
        by :meth:`_retrodicted_update`; a track older than its report is simply predicted forward
        and updated.
        """
        sensor = int(group.sensor_index[0])
        group = self._registration.correct(group)
        model = self._models[sensor]
        table = self._table
        used = np.zeros(len(group), dtype=bool)
        firm = np.flatnonzero(table.status != TENTATIVE)
        if len(firm) == 0:
            return used
        z = measurement_vectors(
            group, with_range=model.with_range, with_range_rate=model.with_range_rate
        )
        det_pos, det_cov, _ = self._detection_positions(group, sensor)
        ti, dj = self._candidates(firm, group, np.arange(len(group)), det_pos, det_cov, model.gate)
        if len(ti) == 0:
            return used
        dt = group.t_s[dj] - table.t_s[ti]
        F, Q = _retro_transition(dt, self._q_eff(ti))
        xd = (F @ table.x[ti][..., None])[..., 0]
        Pd = F @ table.P[ti] @ np.swapaxes(F, 1, 2) + Q
        geometry = self._geometry(group, sensor)
        inn, H = self._innovation(xd, Pd, z[dj], geometry.take(dj), model)
        ok = np.flatnonzero(inn.d2 <= model.gate)
        if len(ok) == 0:
            return used
        at, ad = gnn_assign(ti[ok], dj[ok], (inn.d2 + inn.log_det_S)[ok], len(table), len(group))
        keys = ti[ok] * len(group) + dj[ok]
        sel = ok[np.searchsorted(keys, at * len(group) + ad)]
        forward = dt[sel] >= 0
        if forward.any():
            tf, df = at[forward], ad[forward]
            _, _, xm, Pm, c = self._predict(tf, group.t_s[df] - table.t_s[tf])
            self._update(tf, xm, Pm, c, z[df], geometry.take(df), model)
            table.t_s[tf] = group.t_s[df]
        if (~forward).any():
            self._retrodicted_update(
                at[~forward], dt[sel[~forward]], z[ad[~forward]], geometry.take(ad[~forward]), model
            )
        table.hits[at] += 1
        table.nations[at] |= 1 << model.nation_bit
        table.release[at] &= _labels(group)[ad]
        table.last_seen_s[at, sensor] = np.fmax(table.last_seen_s[at, sensor], group.t_s[ad])
        table.last_report_sensor[at] = -1
        updated[at] = True
        used[ad] = True
        return used


def _under_ground(x: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Whether states ``x`` (n, >=3) with covariances ``P`` lie under the ellipsoid by more than
    ``_GROUND_MARGIN_M`` plus 3 sigma of their height."""
    up = x[:, :3] / np.linalg.norm(x[:, :3], axis=1, keepdims=True)
    sd_up = np.sqrt(np.einsum("ni,nij,nj->n", up, P[:, :3, :3], up))
    return approximate_height(x[:, :3]) + 3.0 * sd_up < -_GROUND_MARGIN_M


def _unambiguous(
    ti: np.ndarray, dj: np.ndarray, ok: np.ndarray, n_tracks: int, n_dets: int
) -> np.ndarray:
    """Gated pairs whose track gates no other detection and whose detection no other track.

    For angle-only (infrared) reports: a bearing fits every object along its line of sight, so
    when a track's gate holds several reports, or a report falls in several tracks' gates
    (closely spaced objects such as a salvo of missiles), the report is left out rather than
    risk pulling a track onto its neighbour; radar reports resolve such ambiguities.
    """
    per_track = np.bincount(ti[ok], minlength=n_tracks)
    per_det = np.bincount(dj[ok], minlength=n_dets)
    return (per_track[ti] == 1) & (per_det[dj] == 1)


def _retro_transition(dt_s: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line transition and process noise over steps ``dt_s`` in the 7-element state."""
    n = len(dt_s)
    F = np.broadcast_to(np.eye(STATE_DIM), (n, STATE_DIM, STATE_DIM)).copy()
    F[:, :6, :6] = cv_transition(dt_s)
    Q = np.zeros((n, STATE_DIM, STATE_DIM))
    Q[:, :6, :6] = cv_process_noise(dt_s, q)
    return F, Q


def _labels(dets: Detections) -> np.ndarray:
    """The detections' release labels (uint64); every bit set for detections without labels."""
    if dets.release is None:
        return np.full(len(dets), RELEASE_ALL, dtype=np.uint64)
    return dets.release


def _concat_rows(parts: list[TrackRows]) -> TrackRows:
    parts = [p for p in parts if len(p)]
    if not parts:
        return TrackRows.empty()
    return parts[0] if len(parts) == 1 else TrackRows.concat(parts)
