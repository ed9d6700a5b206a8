"""The multi-sensor, multi-nation tracker: ordered detections in, a picture of tracks out.

Processing follows the architecture's first principle: the picture is a deterministic function of
the ordered stream of detections. Detections arrive in any order; they wait in a buffer for the
latency window, then are processed in time frames on a fixed grid (``k * frame_s``), each frame in
``(t_s, sensor_id, row)`` order. Within a frame, each sensor's scan is one association problem
(``tracker.scan``):

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
assigned like any other, globally, and settles it: a track sharing a report with another live
track is confirmed only once its score exceeds every rival's by the confirmation threshold, and
when a track is confirmed, every tentative track sharing one of its reports is dropped.

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
Every track carries a score (``tracker.score``): the log-likelihood ratio of its reports under
"one object" against "false alarms", from each report's likelihood, the sensor's false-alarm
density and the track's own detection probability. A tentative track is confirmed when its score
reaches Wald's upper threshold (``false_track_probability``, ``lost_object_probability``) and
dropped when it falls to the lower one; a firm track is dropped once its score has fallen
``ln(1 / delete_probability)`` below its peak. A firm track whose
prediction to the end of the frame lies under the ground (beyond 3 sigma and
``_GROUND_MARGIN_M``) is dropped as down (``TrackerStats.down``): its object has hit the ground
or the sea, and coasting on would show it flying where nothing is.
After every frame an optional ``on_frame`` hook sees the frame's rows and the live track table
(assessment hooks in there).

Reports later than the window are used by an out-of-sequence update (Bar-Shalom's one-step
"B1" algorithm, ``tracker.out_of_sequence``) when they are at most ``oosm_horizon_s`` old, and
counted either way.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from airpicture.association._gating import chi2_gate
from airpicture.models._measurement import measurement_noise
from airpicture.models._motion import cv_predict
from airpicture.tables import (
    STATUS_NAMES,
    Detections,
    SensorTable,
    TrackRows,
    cov_pos_from_matrix,
)
from airpicture.tracker._config import TrackerConfig
from airpicture.tracker._dynamics import MotionModelSet, approximate_height
from airpicture.tracker._out_of_sequence import _OutOfSequence
from airpicture.tracker._registration import Registration, RegistrationEstimate
from airpicture.tracker._scan import KAPPA_PRIOR, _SensorModel
from airpicture.tracker._score import log_false_alarm_density, miss_log_probability
from airpicture.tracker._table import COASTING, CONFIRMED, DELETED, TENTATIVE, TrackTable

__all__ = ["KAPPA_PRIOR", "FrameCallback", "Tracker", "TrackerStats"]

log = logging.getLogger(__name__)

FrameCallback = Callable[[TrackRows, float], None]
"""``on_frame(rows, t_s)``: one processed frame's rows, and the time the picture is complete to."""

_GROUND_MARGIN_M = 1000.0
"""How far below the ellipsoid (beyond 3 sigma) a track may be before it is dropped, m."""

_DUPLICATE_SEARCH_M = 50_000.0
"""A new track is checked against the firm tracks within this distance for being one of them."""

_SUBORBITAL_SPEED_MPS = 8000.0
"""Speed (beyond 3 sigma) above which a firm track is dropped, m/s: orbital speed, beyond every
object in scope (suborbital, like every ballistic missile)."""


@dataclass
class TrackerStats:
    """Counters of what the tracker did with its input.

    ``implausible`` counts the tracks dropped because no object can have their state (they are
    counted in ``deleted`` too); ``initiation_excluded`` the radar reports left over inside a
    firm track's initiation exclusion gate, which started no track; ``branched`` the tracks
    started as a one-report track's continuation on a report above the aircraft ceiling (beside
    the track itself), ``pruned`` the tentative tracks dropped for sharing a report with a firm
    one (counted in ``deleted`` too); ``down`` the firm tracks dropped because their prediction
    to the end of the frame is under the ground (counted in ``deleted`` too); ``duplicates``
    the tracks dropped at confirmation as a firm track's object (counted in ``deleted`` too).

    ``nis_sum`` adds up the normalised innovation squared ``nu' S^-1 nu`` of every update in
    sequence (of the model the track held most probable before it), over ``nis_updates``
    updates of ``nis_dof`` measured components in all: :attr:`nis_per_dof` is 1 when the
    filter's innovation covariances match its innovations.
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
    duplicates: int = 0
    unassociated_angle_only: int = 0
    frames: int = 0
    nis_updates: int = 0
    nis_dof: int = 0
    nis_sum: float = 0.0
    late_examples: list[str] = field(default_factory=list)

    @property
    def nis_per_dof(self) -> float:
        """Mean NIS per measured component (NaN before any update)."""
        return self.nis_sum / self.nis_dof if self.nis_dof else math.nan

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict (no examples)."""
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


class Tracker(_OutOfSequence):
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
        every nation holds (:mod:`airpicture.fusion._numbers`).

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
        chunks: Iterable[Detections] | Detections,
        *,
        on_rows: Callable[[TrackRows], None] | None = None,
        on_frame: FrameCallback | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> TrackRows:
        """Track a whole stream of detection chunks (arrival order) and return every row.

        Parameters
        ----------
        chunks : Detections or iterable of Detections
            The input, in arrival order: one table, or its chunks.
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
        for chunk in [chunks] if isinstance(chunks, Detections) else chunks:
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

    def track_ids(self, numbers: np.ndarray) -> np.ndarray:
        """Track id strings of track numbers."""
        numbers = np.asarray(numbers, dtype=np.int64)
        if not len(numbers):
            return np.empty(0, dtype=str)
        return np.char.add("T", np.char.zfill(numbers.astype(str), 6))

    def track_index(self, numbers: np.ndarray) -> np.ndarray:
        """Rows of :attr:`tracks` holding the given track numbers, -1 for numbers of no live
        track.

        Parameters
        ----------
        numbers : ndarray of int, shape (m,)
            Track numbers, as the tracker's rows carry them (``TrackRows.number``).

        Returns
        -------
        ndarray of int64, shape (m,)
        """
        numbers = np.asarray(numbers, dtype=np.int64)
        table_numbers = self._table.number  # ascending: tracks are appended in number order
        pos = np.searchsorted(table_numbers, numbers)
        pos_ok = np.minimum(pos, max(len(table_numbers) - 1, 0))
        found = pos < len(table_numbers)
        if len(table_numbers):
            found &= table_numbers[pos_ok] == numbers
        return np.where(found, pos_ok, -1).astype(np.int64)

    def rows_index(self, rows: TrackRows) -> np.ndarray:
        """:meth:`track_index` of rows this tracker made (by the track numbers they carry).

        Raises
        ------
        ValueError
            If the rows carry no track numbers (rows read from a file or received).
        """
        if rows.number is None and len(rows):
            raise ValueError(
                "Tracker.rows_index: expected rows made by a tracker (with track numbers), "
                "got rows without them"
            )
        return self.track_index(rows.number if rows.number is not None else np.empty(0, np.int64))

    # ------------------------------------------------------------------ set-up
    def _sensor_model(self, i: int) -> _SensorModel:
        s = self.sensors[i]
        with_rr = s.has_range_rate and s.has_range
        R = measurement_noise(self.sensors, i, with_range_rate=with_rr)
        angle_cols = (1, 2) if s.has_range else (0, 1)
        gate = chi2_gate(self.config.gate_probability, R.shape[0])
        exclusion_gate = chi2_gate(self.config.initiation_exclusion_probability, R.shape[0])
        cfg = self.config
        return _SensorModel(
            s.has_range,
            with_rr,
            R,
            angle_cols,
            gate,
            exclusion_gate,
            self._nations.index(s.nation),
            cfg.default_p_detect if math.isnan(s.p_detect) else s.p_detect,
            log_false_alarm_density(
                s,
                with_range_rate=with_rr,
                default_clutter_per_scan=cfg.default_clutter_per_scan,
                max_range_rate_mps=cfg.default_range_rate_span_mps,
            ),
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
        rows = []
        start_s = t_end_s - self.config.frame_s
        if self._processed_until < start_s and len(self._table):
            # The frames since the last one had no reports: their end of frame comes first, so
            # what was missed for too long goes now instead of being predicted over the silence
            # (whose length the input, not the tracker, decides).
            rows.append(self._lifecycle(start_s, np.zeros(len(self._table), dtype=bool)))
        updated = np.zeros(len(self._table), dtype=bool)
        for group in self._scans(dets):
            updated = self._assimilate(group, updated)
        self._registration.solve()
        self._processed_until = t_end_s
        rows.append(self._lifecycle(t_end_s, updated))
        return _concat_rows(rows)

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

    # ------------------------------------------------------------------ lifecycle
    def _lifecycle(self, t_s: float, updated: np.ndarray) -> TrackRows:
        """Confirm, coast and drop tracks at the end of a frame; return the frame's rows."""
        table = self._table
        cfg = self.config
        missed = self._missed_revisits(slice(None), t_s)
        score = table.score + miss_log_probability(table.hits, table.looks, table.pd_prior, missed)
        alpha, beta = cfg.false_track_probability, cfg.lost_object_probability
        old_status = table.status.copy()
        tentative = table.status == TENTATIVE
        implausible = self._implausible(
            np.where(tentative, cfg.ballistic_max_speed_mps, _SUBORBITAL_SPEED_MPS)
        )
        drop_tentative = tentative & (score <= math.log(beta / (1.0 - alpha)))
        # Tracks share reports only after initiation above the aircraft ceiling.
        ids = np.sort(table.first_reports[table.first_reports >= 0])
        sharing = bool((ids[1:] == ids[:-1]).any())
        if sharing:
            drop_tentative &= ~self._roots_of_branches()
        confirm_at = math.log((1.0 - beta) / alpha)
        confirm = tentative & ~drop_tentative & ~implausible & (score >= confirm_at)
        if sharing:
            confirm, shared = self._shared_reports(tentative, confirm, score, confirm_at)
            self.stats.pruned += int((shared & ~drop_tentative & ~implausible).sum())
            drop_tentative |= shared
        duplicate = self._duplicates(confirm, ~tentative & ~implausible)
        confirm &= ~duplicate
        drop_tentative |= duplicate
        self.stats.duplicates += int(duplicate.sum())
        firm = ~tentative | confirm
        lost = table.score_peak - score >= -math.log(cfg.delete_probability)
        coasting = np.flatnonzero(firm & (missed >= 1) & ~implausible)
        down = np.zeros(len(table), dtype=bool)
        down[coasting] = self._below_ground(coasting, t_s)
        drop_firm = firm & (lost | down)
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
        self, tentative: np.ndarray, confirm: np.ndarray, score: np.ndarray, confirm_at: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Resolve tracks that share a report (initiation above the aircraft ceiling).

        A report belongs to one object: a track about to be confirmed that shares a report with
        another live track is one of several hypotheses, and is confirmed only once its
        ``score`` exceeds every other's by the confirmation threshold ``confirm_at`` (two
        reports of a salvo pair up with either missile's next report alike: the third report
        tells them apart); of those, none sharing a report with a firm track is (firm tracks
        keep theirs), and every tentative track sharing a report with a firm one is dropped.
        A confirmed track takes the
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
        # A candidate none of whose reports another track holds is confirmed as it is; only the
        # others are weighed against each other, one by one.
        values, counts = np.unique(reports[reports >= 0], return_counts=True)
        contested = np.isin(reports[candidates], values[counts > 1]).any(axis=1)
        alone = reports[candidates[~contested]]
        claimed = np.r_[claimed, alone[alone >= 0]]
        candidates = candidates[contested]
        for j in candidates[np.argsort(-score[candidates], kind="stable")]:
            own = reports[j][reports[j] >= 0]
            rivals = np.asarray(np.isin(reports, own).any(axis=1))
            rivals[j] = False
            ahead = not rivals.any() or score[j] - score[rivals].max() >= confirm_at
            if not ahead or np.isin(own, claimed).any():
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

    def _duplicates(self, confirm: np.ndarray, firm: np.ndarray) -> np.ndarray:
        """Tracks about to be confirmed that are a firm track's object seen off its gate.

        A firm track that misses its object's reports for a scan or two (a turn it is slow to
        follow, a sensor's late or biased reports) lets them start a new track, which the score
        soon confirms and which then takes the reports over: the object changes number. Such a
        track's position fits the firm track's, both at the later one's time, within the
        chi-square gate of ``initiation_exclusion_probability`` (the wider gate that keeps such
        reports from starting tracks at all), and no sensor that saw it reported the firm track
        in the same scan (a sensor that reports both resolves two objects: a formation, a
        crossing). Velocities are not compared: at a turn's onset the firm track's velocity is
        confidently wrong (a new track 160 m/s off it, 12 sigma, on the drill). It is dropped,
        counted in ``TrackerStats.duplicates``; the firm track goes on taking its object's
        reports.
        """
        table = self._table
        out = np.zeros(len(table), dtype=bool)
        new, old = np.flatnonzero(confirm), np.flatnonzero(firm)
        if len(new) == 0 or len(old) == 0:
            return out
        gap = table.x[new, None, :3] - table.x[None, old, :3]
        ni, oi = np.nonzero(np.einsum("ijk,ijk->ij", gap, gap) < _DUPLICATE_SEARCH_M**2)
        c, f = new[ni], old[oi]
        t = np.maximum(table.t_s[c], table.t_s[f])
        xc, Pc = cv_predict(table.x[c, :6], table.P[c, :6, :6], t - table.t_s[c], self._q_eff(c))
        xf, Pf = cv_predict(table.x[f, :6], table.P[f, :6, :6], t - table.t_s[f], self._q_eff(f))
        e = xc[:, :3] - xf[:, :3]
        S = Pc[:, :3, :3] + Pf[:, :3, :3]
        d2 = np.einsum("ni,ni->n", e, np.linalg.solve(S, e[..., None])[..., 0])
        seen_c, seen_f = table.last_seen_s[c], table.last_seen_s[f]
        resolved = (np.abs(seen_c - seen_f) < 0.5 * self._scan_period_s).any(axis=1)
        same = (d2 <= chi2_gate(self.config.initiation_exclusion_probability, 3)) & ~resolved
        out[c[same]] = True
        return out

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
            nations=self._nation_labels_of(table.nations[idx]),
            release=table.release[idx].copy(),
            number=table.number[idx].copy(),
        )

    def _nation_labels_of(self, bits: np.ndarray) -> np.ndarray:
        """The nation labels ("JPN;USA") of nation bit sets, one label made per distinct set."""
        distinct, which = np.unique(bits, return_inverse=True)
        return np.array([self._nation_label(int(b)) for b in distinct], dtype=str)[which]

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

    def _note_late(self, dets: Detections, why: str) -> None:
        log.info("%d late detection(s) not used: %s", len(dets), why)
        if len(self.stats.late_examples) < 20:
            self.stats.late_examples.append(
                f"row {int(dets.row[0])} (t_s={float(dets.t_s[0]):.3f}, "
                f"sensor {self.sensors[int(dets.sensor_index[0])].sensor_id}): {why}"
            )


def _under_ground(x: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Whether states ``x`` (n, >=3) with covariances ``P`` lie under the ellipsoid by more than
    ``_GROUND_MARGIN_M`` plus 3 sigma of their height."""
    up = x[:, :3] / np.linalg.norm(x[:, :3], axis=1, keepdims=True)
    sd_up = np.sqrt(np.einsum("ni,nij,nj->n", up, P[:, :3, :3], up))
    return approximate_height(x[:, :3]) + 3.0 * sd_up < -_GROUND_MARGIN_M


def _concat_rows(parts: list[TrackRows]) -> TrackRows:
    parts = [p for p in parts if len(p)]
    if not parts:
        return TrackRows.empty()
    return parts[0] if len(parts) == 1 else TrackRows.concat(parts)
