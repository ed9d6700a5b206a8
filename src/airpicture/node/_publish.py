"""What a node publishes of its picture: picture deltas, impact predictions and alert changes on
its nation's subjects, and its own tracks to each nation its release policy shares them with
(:class:`Share`). Publishing runs apart from receiving, so a slow acknowledgement never holds up
the tracker."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from airpicture.fusion import TrackReports
from airpicture.net._messages import AlertMessage, ImpactMessage, PictureDelta, TrackShare
from airpicture.net._release import COARSE, LabelSpace, coarsen, threat_mask, track_levels
from airpicture.node._config import NodeConfig
from airpicture.node._counters import NodeCounters
from airpicture.node._outbound import Sender
from airpicture.node._tracking import Pipeline
from airpicture.tables import AlertRows, ImpactRows, TrackRows

__all__ = ["Publisher", "Share"]

_MAX_DELTA_ROWS = 4096
"""Rows per picture delta message."""

_MAX_SHARE_ROWS = 1024
"""Rows per track share message: each carries a full state and covariance (about 600 bytes),
and a message must stay under the bus's payload limit (1 MiB on NATS by default)."""


@dataclass
class Share:
    """A node's tracks as shared with one nation: per live track there, the row it last got
    (the reports, a row index and whether position-only)."""

    recipient: str
    live: dict[str, tuple[TrackReports, int, bool]] = field(default_factory=dict)
    rows: int = 0
    position_only: int = 0
    withdrawn: int = 0
    sent_through_s: float = -math.inf

    def select(
        self, reports: TrackReports, level: np.ndarray, coarse_m: float
    ) -> tuple[TrackReports, np.ndarray]:
        """What to send for ``rows`` released at ``level`` (:func:`track_levels`).

        Released rows go, position-only ones coarsened; a track the recipient holds that is no
        longer releasable to it goes as ``deleted``, with the last row it was given (nothing
        new). Returns the tracks and coarse flags in order; a position-only row carries no
        state beyond its coarse position.
        """
        rows = reports.rows
        coarse_rows = level == COARSE
        shown = replace(reports, rows=coarsen(rows, coarse_m, coarse_rows))
        if coarse_rows.any():
            state, cov = shown.state.copy(), shown.cov.copy()
            state[coarse_rows, :6] = shown.rows.x[coarse_rows]
            state[coarse_rows, 6] = 0.0
            cov[coarse_rows] = np.eye(7) * coarse_m**2
            shown = replace(shown, state=state, cov=cov)
        picked: list[int] = []
        withdrawn: list[TrackReports] = []
        position: list[int] = []
        coarse: list[bool] = []
        for i, (track_id, status, lev) in enumerate(
            zip(rows.track_id, rows.status, level, strict=True)
        ):
            tid = str(track_id)
            if lev:
                picked.append(i)
                position.append(len(coarse))
                coarse.append(bool(lev == COARSE))
                if status == "deleted":
                    self.live.pop(tid, None)
                else:
                    self.live[tid] = (shown, i, bool(lev == COARSE))
            elif tid in self.live:
                table, j, was_coarse = self.live.pop(tid)
                last = table.take(np.array([j]))
                withdrawn.append(
                    replace(last, rows=replace(last.rows, status=np.array(["deleted"])))
                )
                coarse.append(was_coarse)
        if not coarse:
            return TrackReports.empty(), np.empty(0, bool)
        out = TrackReports.concat([shown.take(np.array(picked, dtype=np.int64)), *withdrawn])
        order = np.r_[position, np.setdiff1d(np.arange(len(coarse)), position)]
        out = out.take(np.argsort(order, kind="stable"))
        coarse_flags = np.array(coarse, dtype=bool)
        self.rows += len(out)
        self.position_only += int(coarse_flags.sum())
        self.withdrawn += len(withdrawn)
        return out, coarse_flags


class Publisher:
    """Keeps a node's picture, impact predictions and alert changes, and publishes them.

    :meth:`queue_picture` and :meth:`queue_assessment` keep and queue; :meth:`run` sends what
    piled up as one delta with the newest ``through_s``, after the impact predictions and alert
    changes queued with it, then the tracks shared with each nation.
    """

    def __init__(
        self,
        config: NodeConfig,
        sender: Sender,
        labels: LabelSpace,
        counters: NodeCounters,
        pipeline: Pipeline,
    ) -> None:
        self.config = config
        self.sender = sender
        self.labels = labels
        self.counters = counters
        self.pipeline = pipeline
        self.shares = {
            n: Share(n)
            for n in labels.full(labels.bits(config.release.tracks.to))
            if n != config.nation
        }
        self.rows: list[TrackRows] = []
        self.impacts: list[ImpactRows] = []
        self.alerts: list[AlertRows] = []
        self.through_s = -math.inf
        """Detections before this time are in the published picture."""
        self.final_sent = asyncio.Event()
        self._outbox: list[TrackRows] = []
        self._reports_outbox: list[TrackReports] = []
        self._impact_outbox: list[ImpactRows] = []
        self._alert_outbox: list[AlertRows] = []
        self._outbox_final = False
        self._outbox_ready = asyncio.Event()
        self.on_picture: Callable[[TrackRows], Awaitable[None]] | None = None
        """Called with every published batch of picture rows (the TAK stream)."""

    def queue_reports(self, reports: list[TrackReports]) -> None:
        """Queue this node's tracks to share; they go with the next picture delta."""
        self._reports_outbox.extend(reports)

    def queue_picture(self, rows: TrackRows, final: bool) -> None:
        """Keep new rows in the picture and queue them for publishing."""
        self.rows.append(rows)
        self._outbox.append(rows)
        self._outbox_final = self._outbox_final or final
        self._outbox_ready.set()

    def queue_assessment(self, impacts: list[ImpactRows], alerts: list[AlertRows]) -> None:
        """Keep new impact predictions and alert changes and queue them for publishing."""
        impacts = [r for r in impacts if len(r)]
        alerts = [r for r in alerts if len(r)]
        if not impacts and not alerts:
            return
        for part in alerts:
            self.counters.alerts.update(str(event) for event in part.event)
        self.counters.impacts += sum(len(r) for r in impacts)
        self.impacts.extend(impacts)
        self.alerts.extend(alerts)
        self._impact_outbox.extend(impacts)
        self._alert_outbox.extend(alerts)
        self._outbox_ready.set()

    async def run(self) -> None:
        """Publish queued picture changes on ``air.pic.<NATION>``, coalescing what piles up,
        until the final delta is sent."""
        subject = f"air.pic.{self.config.nation}"
        while not self.sender.stopping:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            parts, self._outbox = self._outbox, []
            reports = TrackReports.concat(self._reports_outbox)
            self._reports_outbox = []
            through = self.through_s  # every report taken above is before it
            impacts, self._impact_outbox = self._impact_outbox, []
            alerts, self._alert_outbox = self._alert_outbox, []
            final = self._outbox_final
            # Impacts and alerts first: a track dropped later in this delta takes its impact away.
            await self._publish_assessment(impacts, alerts)
            rows = TrackRows.concat([r for r in parts if len(r)])
            n = len(rows)
            for k in range(0, max(n, 1), _MAX_DELTA_ROWS):
                sl = slice(k, min(n, k + _MAX_DELTA_ROWS))
                last = k + _MAX_DELTA_ROWS >= n
                delta = PictureDelta.from_rows(
                    rows.take(sl),
                    nation=self.config.nation,
                    through_s=self.through_s,
                    final=final and last,
                )
                await self.sender.send("pic", subject, delta)
                self.counters.picture_deltas += 1
            if self.on_picture is not None and n:
                await self.on_picture(rows)
            for share in self.shares.values():
                await self._share_tracks(share, reports, through, final)
            if self.shares:
                shared_with: dict[str, set[str]] = {}
                for share in self.shares.values():
                    for number, (_, _, coarse) in share.live.items():
                        if not coarse:  # a position-only track is not fused, nor numbered
                            shared_with.setdefault(number, set()).add(share.recipient)
                # one new mapping, swapped in whole: the tracker thread reads it
                self.pipeline.common.shared_with = {k: frozenset(v) for k, v in shared_with.items()}
            if final:
                self.final_sent.set()
                return

    async def _publish_assessment(self, impacts: list[ImpactRows], alerts: list[AlertRows]) -> None:
        """Publish impact predictions on ``air.impact.<NATION>``, then alert changes on
        ``air.alert.<NATION>``, in messages of at most ``_MAX_DELTA_ROWS`` rows."""
        nation = self.config.nation
        # Loosely typed: mypy cannot pair each kind's rows with its table and message classes.
        outputs: tuple[tuple[str, list[Any], Any, Any], ...] = (
            ("impact", impacts, ImpactRows, ImpactMessage),
            ("alert", alerts, AlertRows, AlertMessage),
        )
        for kind, parts, table, message in outputs:
            if not parts:
                continue
            rows = table.concat(parts)
            for k in range(0, len(rows), _MAX_DELTA_ROWS):
                part = rows.take(slice(k, k + _MAX_DELTA_ROWS))
                await self.sender.send(
                    kind, f"air.{kind}.{nation}", message.from_rows(part, nation=nation)
                )
                if kind == "impact":
                    self.counters.impact_messages += 1
                else:
                    self.counters.alert_messages += 1

    async def _share_tracks(
        self, share: Share, reports: TrackReports, through: float, final: bool
    ) -> None:
        """Send one nation what its labels and this node's policy release of this node's own
        tracks updated since the last time, on ``air.trk.<NATION>.<RECIPIENT>``, with how far
        this node's picture is complete (``through``: the recipient's frames wait for it, so a
        message with no rows goes too once it has moved on by half of ``partner_lag_s``), and
        the end of the picture, marked ``final``."""
        cfg = self.config
        threat = threat_mask(reports.rows, self.pipeline.alerted, cfg.tracker.aircraft_ceiling_m)
        level = track_levels(reports.rows, share.recipient, cfg.release, self.labels, threat)
        out, coarse = share.select(reports, level, cfg.release.tracks.coarse_m)
        n = len(out)
        news = math.isfinite(through) and (
            through >= share.sent_through_s + 0.5 * cfg.fusion.partner_lag_s
        )
        if n == 0 and not final and not news:
            return
        share.sent_through_s = through
        subject = f"air.trk.{cfg.nation}.{share.recipient}"
        for k in range(0, max(n, 1), _MAX_SHARE_ROWS):
            sl = slice(k, min(n, k + _MAX_SHARE_ROWS))
            payload = TrackShare.from_reports(
                out.take(np.arange(n)[sl]),
                coarse[sl],
                owner=cfg.nation,
                recipient=share.recipient,
                through_s=through,
                label_nations=self.labels.nations,
                final=final and k + _MAX_SHARE_ROWS >= n,
            )
            await self.sender.send("trk", subject, payload)
