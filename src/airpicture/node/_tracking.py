"""A node's tracking: its tracker over the detections released to it, every frame classified
(:class:`~airpicture.fusion.LocalFrame`), and the network picture stepped over those frames
with the partners' shared tracks (:class:`~airpicture.fusion.CommonPicture`)."""

from __future__ import annotations

import collections
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from airpicture.assess import Assessor
from airpicture.fusion import CommonPicture, LocalFrame, TrackReports
from airpicture.net._release import LabelSpace
from airpicture.node._config import NodeConfig
from airpicture.node._counters import NodeCounters
from airpicture.tables import AlertRows, Detections, ImpactRows, TrackRows
from airpicture.tracker import Tracker

__all__ = ["Frames", "Pipeline"]

log = logging.getLogger("airpicture.node")


@dataclass
class Frames:
    """What one call of :meth:`Pipeline.step` made.

    Attributes
    ----------
    rows, impacts, alerts : list
        The network frames' rows, impact predictions and alert changes.
    reports : list of TrackReports
        This node's tracks to share.
    waiting_s : float
        The end of the first frame still waiting for partners' tracks (inf for none).
    final : bool
        The picture is final.
    """

    rows: list[TrackRows]
    impacts: list[ImpactRows]
    alerts: list[AlertRows]
    reports: list[TrackReports]
    waiting_s: float
    final: bool


class Pipeline:
    """Tracker, assessor and network picture of one node; :meth:`step` runs in a worker thread.

    Partners' tracks are queued by the event loop (:meth:`receive`) and taken by the worker.
    """

    def __init__(self, config: NodeConfig, labels: LabelSpace, counters: NodeCounters) -> None:
        self.config = config
        self.counters = counters
        self.tracker = Tracker(config.sensors, config.tracker)
        # a track's number comes from its first report that every nation of the network holds
        self.tracker.wide_release = labels.bits(config.network)
        self.assessor = Assessor(config.assess, areas=config.areas)
        self.common = CommonPicture(config.nation, config.sensors, config.fusion)
        self.tracker_flushed = False
        # network numbers with an alert in force (threats: shared under a threats release)
        self.alerted: frozenset[str] = frozenset()
        self._tracks_in: collections.deque[tuple[str, TrackReports]] = collections.deque()
        # tracker frames waiting for the partners' tracks up to them (see step)
        self._frames: collections.deque[LocalFrame] = collections.deque()
        self._last_frame_s = -math.inf

    def receive(self, owner: str, reports: TrackReports) -> None:
        """Queue a partner's tracks for the network picture (called by the event loop)."""
        self._tracks_in.append((owner, reports))

    def has_work(self, partners_through: float) -> bool:
        """Partners' tracks wait, or a frame waiting for partners' tracks may now be stepped."""
        return bool(self._tracks_in) or (
            bool(self._frames)
            and self._frames[0].t_s <= partners_through + self.config.fusion.partner_lag_s
        )

    def step(
        self,
        chunks: list[Detections],
        flush: bool,
        partners_through: Callable[[], float],
    ) -> Frames:
        """Run the tracker on each chunk in turn (and flush it), taking every frame it makes
        (:meth:`LocalFrame.take`: classified, with what the network picture needs); then step
        the network picture (:meth:`CommonPicture.step_local`: number, fuse with partners'
        tracks, warn) over the frames that the partners sharing tracks with this node allow:
        those at most ``fusion.partner_lag_s`` ahead of every such partner's picture
        (``partners_through()``).

        The picture is final once the input has ended (the tracker is flushed) and every frame
        is stepped (and, for a node with nothing to track, no partner's picture is still to
        come); then the alerts still in force are closed
        (:meth:`~airpicture.assess.Assessor.finish`). The tracker trusts its input (validated
        at the node's edge); should it or the assessment still fail, the node logs and counts
        it and goes on (the frame is lost to the picture, the tracks go on).
        """
        node_id = self.config.node_id
        out = Frames([], [], [], [], math.inf, False)
        self._take_partner_tracks()

        def on_frame(frame: TrackRows, t_s: float) -> None:
            self._last_frame_s = max(self._last_frame_s, t_s)
            try:
                self._frames.append(LocalFrame.take(self.assessor, self.tracker, frame, t_s))
            except Exception:
                self.counters.assess_errors += 1
                log.exception("%s: the assessment of a frame failed", node_id)

        for chunk in chunks:
            try:
                self.tracker.process(chunk, on_frame=on_frame)
            except Exception:
                self.counters.tracker_errors += 1
                log.exception("%s: the tracker failed on %d detections", node_id, len(chunk))
        if flush:
            try:
                self.tracker.flush(on_frame=on_frame)
            except Exception:
                self.counters.tracker_errors += 1
                log.exception("%s: the tracker failed at the end of input", node_id)
            self.tracker_flushed = True
        through = partners_through()
        sensorless = self.tracker.stats.received == 0
        if sensorless:
            self._partner_frames(through)
        limit = through + self.config.fusion.partner_lag_s
        while self._frames and self._frames[0].t_s <= limit:
            local = self._frames.popleft()
            try:
                assessed, own = self.common.step_local(self.assessor, local)
            except Exception:
                self.counters.assess_errors += 1
                log.exception("%s: the network picture of a frame failed", node_id)
                continue
            out.rows.append(assessed.rows)
            out.impacts.append(assessed.impacts)
            out.alerts.append(assessed.alerts)
            out.reports.append(own)
            book = self.assessor.alert_book
            if book is not None and len(assessed.alerts):
                self.alerted = frozenset(track for _, _, track in book.active())
        out.final = (
            self.tracker_flushed
            and not self._frames
            and not (sensorless and math.isfinite(partners_through()))
        )
        if out.final:
            try:
                out.alerts.append(self.assessor.finish(self._last_frame_s))
            except Exception:
                self.counters.assess_errors += 1
                log.exception("%s: closing the alerts failed", node_id)
        out.waiting_s = self._frames[0].t_s if self._frames else math.inf
        return out

    def _partner_frames(self, through: float) -> None:
        """With no detections to track (yet), the partners' tracks alone make the frames, on the
        tracker's grid, as far as every sharing partner's picture (complete ``through``)
        allows."""
        step = self.config.tracker.frame_s
        oldest, newest = self.common.report_span()
        if not math.isfinite(newest):
            return
        end = min(through, newest + step) + self.config.fusion.partner_lag_s
        t = (
            self._last_frame_s + step
            if math.isfinite(self._last_frame_s)
            else math.floor(oldest / step) * step + step
        )
        while t <= end:
            self._frames.append(LocalFrame.empty(t))
            self._last_frame_s = t
            t += step

    def _take_partner_tracks(self) -> None:
        """Hand the partners' tracks received so far to the network picture (in the worker)."""
        while self._tracks_in:
            owner, reports = self._tracks_in.popleft()
            refused = self.common.receive(owner, reports)
            for number, why in refused.items():
                log.warning(
                    "%s: refused %s's track %s: covariance %s",
                    self.config.node_id,
                    owner,
                    number,
                    why,
                )

    def through(self, max_t_fed: float) -> float:
        """Detections before this time are in the picture (the tracker's processed frames)."""
        cfg = self.config.tracker
        watermark = max_t_fed - cfg.latency_window_s
        if not math.isfinite(watermark):
            return -math.inf
        return math.floor(watermark / cfg.frame_s) * cfg.frame_s
