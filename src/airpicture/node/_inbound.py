"""What a node takes in: every message addressed to its nation checked at the edge (sender,
signature, subject, recipient, sequence, clock, sensors, release labels), rejected ones counted
and audited, accepted detections kept until the barrier releases them to the tracker, and
partners' shared tracks kept (:class:`SharedTracks`) and handed to the network picture.

Same detections, same picture: a receiving node feeds its tracker only detections that arrived
at or before the barrier (:class:`~airpicture.node._peers.Peers`), cut into fixed steps of arrival
time (``feed_step_s``, :meth:`Inbound.take_ready`), so every node and every replay gives the
tracker the same input in the same chunks.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from airpicture.fusion import TrackReports
from airpicture.net._bus import Message
from airpicture.net._messages import (
    DetectionBatch,
    Envelope,
    Heartbeat,
    MessageError,
    TrackShare,
    decode_envelope,
    decode_payload,
)
from airpicture.net._release import COARSE, FULL, THREAT, LabelSpace, threat_mask
from airpicture.net._security import NodeSecurity
from airpicture.node._config import NodeConfig
from airpicture.node._counters import NodeCounters
from airpicture.node._peers import Peers
from airpicture.tables import Detections, TrackRows

__all__ = ["Inbound", "SharedTracks"]

log = logging.getLogger("airpicture.node")


@dataclass(frozen=True)
class SharedTracks:
    """Track rows other nations shared with a node (:attr:`airpicture.node.Node.shared`).

    Attributes
    ----------
    rows : TrackRows
        The rows, ``release`` holding each track's label over the node's nations; ``status``
        ``deleted`` also marks a track the owner no longer releases to this nation.
    owner : ndarray of str, shape (n,)
        The nation that shared each row (whose track ids the row's ``track_id`` is).
    coarse : ndarray of bool, shape (n,)
        Position-only rows (:func:`airpicture.net.coarsen`).
    """

    rows: TrackRows
    owner: np.ndarray
    coarse: np.ndarray

    @classmethod
    def concat(cls, parts: list[SharedTracks]) -> SharedTracks:
        if not parts:
            return cls(TrackRows.empty(), np.empty(0, dtype=str), np.zeros(0, bool))
        return cls(
            TrackRows.concat([s.rows for s in parts]),
            np.concatenate([s.owner for s in parts]),
            np.concatenate([s.coarse for s in parts]),
        )


class Inbound:
    """Checks and takes in the messages addressed to a node's nation.

    Parameters
    ----------
    config, labels, security, counters, peers
        The node's settings, label space, security (None: unsigned), counters and peers.
    on_tracks : callable
        Called with (owner, reports) for each partner's full (not position-only) track rows
        released to this nation: they join the network picture.
    """

    def __init__(
        self,
        config: NodeConfig,
        labels: LabelSpace,
        security: NodeSecurity | None,
        counters: NodeCounters,
        peers: Peers,
        on_tracks: Callable[[str, TrackReports], None],
    ) -> None:
        self.config = config
        self.labels = labels
        self.security = security
        self.counters = counters
        self.peers = peers
        self.on_tracks = on_tracks
        self.shared: list[SharedTracks] = []
        self.last_delivered_seq = 0
        self._pending: list[Detections] = []
        self._pending_arrival: list[np.ndarray] = []
        self._sensor_nation = np.array([s.nation for s in config.sensors], dtype=object)

    @property
    def pending(self) -> int:
        """Detections accepted and not yet released to the tracker."""
        return int(sum(len(p) for p in self._pending))

    def take(self, message: Message) -> bool:
        """Count one delivered message and take it in; False when it was rejected."""
        self.counters.received_messages += 1
        self.counters.received_bytes += len(message.data)
        self.last_delivered_seq = max(self.last_delivered_seq, message.seq)
        try:
            self._accept(message)
        except MessageError as exc:
            self.reject(exc.reason, str(exc), message)
            return False
        return True

    def _accept(self, message: Message) -> None:
        """Validate one message and take in what it carries (raises MessageError to reject)."""
        cfg = self.config
        where = f"{message.subject} #{message.seq}"
        # Verify before decoding the payload: a payload is only parsed once its sender is known
        # and its signature, sent time and size are good.
        if self.security is not None:
            envelope = self.security.verifier.verify(message.data, message.subject)
        else:
            envelope = decode_envelope(message.data, source=where)
        payload = decode_payload(envelope, source=where)
        tokens = message.subject.split(".")
        if len(tokens) != 4 or tokens[1] != envelope.kind or tokens[2] != envelope.nation:
            raise MessageError(
                where,
                reason="subject",
                column="nation",
                expected=f"a {tokens[1] if len(tokens) > 1 else '?'} message from "
                f"{tokens[2] if len(tokens) > 2 else '?'}",
                got=f"{envelope.kind} from {envelope.nation}",
            )
        peer = self.peers.get(envelope.nation)
        if peer is None:
            raise MessageError(
                where,
                reason="sender",
                column="nation",
                expected="a nation of the network (" + ", ".join(cfg.network) + ")",
                got=repr(envelope.nation),
            )
        if getattr(payload, "recipient", None) != cfg.nation:
            raise MessageError(
                where,
                reason="recipient",
                column="recipient",
                expected=repr(cfg.nation),
                got=repr(getattr(payload, "recipient", None)),
            )
        last = peer.last_seq.get(envelope.sender, -1)
        if envelope.seq <= last:
            raise MessageError(
                where,
                reason="duplicate" if envelope.seq == last else "replay",
                column="seq",
                expected=f"a sequence number above {last}",
                got=str(envelope.seq),
            )
        if isinstance(payload, DetectionBatch | Heartbeat):
            if payload.clock_s < peer.clock_s:
                raise MessageError(
                    where,
                    reason="clock",
                    column="clock_s",
                    expected=f"a clock at or after {peer.clock_s!r}",
                    got=repr(payload.clock_s),
                )
            if peer.final:
                raise MessageError(
                    where,
                    reason="clock",
                    column="clock_s",
                    expected="nothing after a final heartbeat",
                    got=f"a {envelope.kind} message",
                )
        if isinstance(payload, DetectionBatch):
            detections = payload.to_detections(cfg.sensors, self.labels, source=where)
            owners = (
                set(self._sensor_nation[np.unique(detections.sensor_index)])
                if len(detections)
                else set()
            )
            if owners - {envelope.nation}:
                raise MessageError(
                    where,
                    reason="sensor",
                    column="sensor_ids",
                    expected=f"sensors of {envelope.nation}",
                    got="sensors of " + ", ".join(sorted(owners)),
                )
            # Defence in depth: a detection whose label leaves this nation out is not used.
            assert detections.release is not None  # a batch's detections carry their labels
            mine = self.labels.level(detections.release, cfg.nation) == FULL
            if not mine.all():
                self._drop_rows("label", int((~mine).sum()), "detections", message, envelope)
            if mine.any():
                self._pending.append(detections.take(mine))
                self._pending_arrival.append(payload.arrival()[mine])
                self.counters.received_detections += int(mine.sum())
            peer.clock_s = payload.clock_s
        elif isinstance(payload, Heartbeat):
            peer.clock_s = payload.clock_s
            peer.final = payload.final
        elif isinstance(payload, TrackShare):
            self._take_shared(payload, message, envelope, where)
        peer.last_seq[envelope.sender] = envelope.seq
        peer.heard_mono = time.monotonic()

    def _take_shared(
        self, share: TrackShare, message: Message, envelope: Envelope, where: str
    ) -> None:
        """Keep the rows of another nation's shared tracks that their labels release to us."""
        nation = self.config.nation
        if share.picture.nation != envelope.nation or envelope.nation == nation:
            raise MessageError(
                where,
                reason="sender",
                column="picture.nation",
                expected=f"tracks of {envelope.nation}, another nation",
                got=repr(share.picture.nation),
            )
        reports, coarse = share.to_reports(self.labels)
        peer = self.peers.by_nation[envelope.nation]
        # a partner that shares tracks with this node (even none yet: its threats may come at
        # any time) holds its picture back to its own
        peer.shares_tracks = True
        peer.track_through_s = max(peer.track_through_s, share.picture.through_s)
        peer.track_final = peer.track_final or share.picture.final
        rows = reports.rows
        assert rows.release is not None  # shared rows carry their labels
        level = self.labels.level(rows.release, nation)
        # in full: released to us, or a threat whose owners granted us their threat tracks (and
        # the end of such a track)
        threat = (level == THREAT) & (
            threat_mask(rows, (), self.config.tracker.aircraft_ceiling_m)
            | (rows.status == "deleted")
        )
        mine = np.where(coarse, level >= COARSE, (level == FULL) | threat)
        if not mine.all():
            self._drop_rows("label", int((~mine).sum()), "track rows", message, envelope)
        if mine.any():
            n = int(mine.sum())
            owner = envelope.nation
            self.shared.append(
                SharedTracks(rows.take(mine), np.full(n, owner), coarse[mine].copy())
            )
            self.counters.shared_received[owner] += n
            # full tracks join the picture (position-only ones stay a layer of their own)
            fuse = mine & ~coarse
            if fuse.any():
                self.on_tracks(owner, reports.take(fuse))

    def _drop_rows(
        self, reason: str, count: int, what: str, message: Message, envelope: Envelope
    ) -> None:
        """Count, log and audit rows of an otherwise accepted message that are not used."""
        self.counters.dropped[reason] += count
        text = f"{count} {what} not released to {self.config.nation}"
        log.warning(
            "%s: dropped %s (%s) from %s", self.config.node_id, text, reason, message.subject
        )
        if self.security is not None and self.security.audit is not None:
            self.security.audit.record(
                subject=message.subject,
                reason=reason,
                sender=envelope.sender,
                nation=envelope.nation,
                bus_seq=message.seq,
                detail=text,
            )

    def reject(self, reason: str, text: str, message: Message | None = None) -> None:
        """Count, log and audit a rejected message."""
        self.counters.rejected[reason] += 1
        log.warning("%s: rejected a message (%s): %s", self.config.node_id, reason, text)
        audit = self.security.audit if self.security is not None else None
        if audit is not None and message is not None:
            sender, nation = "?", "?"
            try:
                envelope = decode_envelope(message.data, source=message.subject)
                sender, nation = envelope.sender, envelope.nation
            except MessageError:
                pass
            audit.record(
                subject=message.subject,
                reason=reason,
                sender=sender,
                nation=nation,
                bus_seq=message.seq,
                detail=text,
            )

    def take_ready(self, barrier: float) -> list[Detections]:
        """The pending detections the barrier releases, as the tracker's input chunks.

        Chunks are the cells ``[k, k + 1) * feed_step_s`` of arrival time, in order, and a cell
        goes to the tracker only once the barrier has passed its end. The tracker's input is
        therefore cut the same way on every node and in every replay, whatever the network's
        timing: even reports that come later than the latency window (the tracker's
        out-of-sequence path) give the same picture everywhere.
        """
        if not self._pending:
            return []
        dets = Detections.concat(self._pending) if len(self._pending) > 1 else self._pending[0]
        arrival = (
            np.concatenate(self._pending_arrival)
            if len(self._pending_arrival) > 1
            else self._pending_arrival[0]
        )
        step = self.config.feed_step_s
        cell = np.floor(arrival / step).astype(np.int64)
        if barrier == math.inf:
            ready = np.ones(len(arrival), dtype=bool)
        elif barrier == -math.inf:
            ready = np.zeros(len(arrival), dtype=bool)
        else:
            ready = cell < math.floor(barrier / step)
        if not ready.any():
            self._pending, self._pending_arrival = [dets], [arrival]
            return []
        rest = ~ready
        self._pending = [dets.take(rest)] if rest.any() else []
        self._pending_arrival = [arrival[rest]] if rest.any() else []
        idx = np.flatnonzero(ready)
        order = idx[np.lexsort((dets.row[idx], arrival[idx]))]
        cells = cell[order]
        bounds = np.flatnonzero(np.diff(cells)) + 1
        return [
            dets.take(order[a:b])
            for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(order)], strict=True)
        ]
