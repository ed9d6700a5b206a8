"""What a node takes in: every message addressed to its nation checked at the edge (sender,
signature, subject, recipient, sequence, clock, sensors, release labels, and the input limits of
:class:`~airpicture.node.InputLimits`: times, sizes, density), rejected ones counted and audited
once per burst, accepted detections kept until the barrier releases them to the tracker, and
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
from dataclasses import dataclass, field

import numpy as np

from airpicture.fusion import TrackReports
from airpicture.net._bus import Message
from airpicture.net._messages import (
    CoordinationAction,
    DetectionBatch,
    Envelope,
    Heartbeat,
    MessageError,
    TrackShare,
    decode_envelope,
    decode_payload,
)
from airpicture.net._release import COARSE, FULL, THREAT, LabelSpace, threat_mask
from airpicture.net._security import AuditLog, NodeSecurity
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


@dataclass
class _Burst:
    """Rejections of one sender for one reason after the first one of a burst."""

    start_mono: float
    subject: str
    sender: str
    more: int = 0
    rows: int = 0
    last_bus_seq: int | None = None
    subjects: set[str] = field(default_factory=set)


class Bursts:
    """Rejections and dropped rows, logged and audited once per burst of one sender and reason.

    The first rejection of a sending nation for a reason is logged and audited in full; the
    ones that follow within ``window_s`` (wall clock) are only counted, and one entry sums them
    up when the burst is closed (:meth:`close`: by the next rejection after the window, by the
    node's watch loop, or when the node stops). A flood of bad messages therefore costs one log
    line and two audit entries, not one per message or row.
    """

    def __init__(self, node_id: str, audit: AuditLog | None, window_s: float) -> None:
        self.node_id = node_id
        self.audit = audit
        self.window_s = window_s
        self._open: dict[tuple[str, str], _Burst] = {}

    def note(
        self,
        reason: str,
        text: str,
        *,
        subject: str,
        sender: str,
        nation: str,
        bus_seq: int | None,
        rows: int = 0,
    ) -> None:
        """One rejected message (or ``rows`` dropped rows of an accepted one)."""
        now = time.monotonic()
        key = (nation, reason)
        burst = self._open.get(key)
        if burst is not None and now - burst.start_mono < self.window_s:
            burst.more += 1
            burst.rows += rows
            burst.last_bus_seq = bus_seq
            burst.subjects.add(subject)
            return
        if burst is not None:
            self._summarise(key, burst)
        log.warning("%s: %s (%s)", self.node_id, text, reason)
        if self.audit is not None:
            self.audit.record(
                subject=subject,
                reason=reason,
                sender=sender,
                nation=nation,
                bus_seq=bus_seq,
                detail=text,
            )
        self._open[key] = _Burst(now, subject, sender)

    def close(self, *, every: bool = False) -> None:
        """Sum up the bursts whose window has passed (``every``: all of them)."""
        now = time.monotonic()
        for key, burst in list(self._open.items()):
            if every or now - burst.start_mono >= self.window_s:
                del self._open[key]
                self._summarise(key, burst)

    def _summarise(self, key: tuple[str, str], burst: _Burst) -> None:
        if not burst.more:
            return
        nation, reason = key
        rows = f" ({burst.rows} rows)" if burst.rows else ""
        text = (
            f"{burst.more} more from {nation}{rows} within {self.window_s:g} s of the first, on "
            + ", ".join(sorted(burst.subjects))
        )
        log.warning("%s: %s (%s)", self.node_id, text, reason)
        if self.audit is not None:
            self.audit.record(
                subject=burst.subject,
                reason=reason,
                sender=burst.sender,
                nation=nation,
                bus_seq=burst.last_bus_seq,
                detail=text,
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
    clock : callable, optional
        The receiver's clock (scenario time, s) that bounds how far ahead a message may be
        (``limits.max_lead_s``); without it, the most advanced clock heard so far.
    on_action : callable, optional
        Called with each partner operator's coordination action addressed to this nation
        (the operator's nation the sender's; checked here).
    """

    def __init__(
        self,
        config: NodeConfig,
        labels: LabelSpace,
        security: NodeSecurity | None,
        counters: NodeCounters,
        peers: Peers,
        on_tracks: Callable[[str, TrackReports], None],
        clock: Callable[[], float] | None = None,
        on_action: Callable[[CoordinationAction], None] | None = None,
    ) -> None:
        self.config = config
        self.on_action = on_action
        self.clock = clock
        self.labels = labels
        self.security = security
        self.counters = counters
        self.peers = peers
        self.on_tracks = on_tracks
        self.shared: list[SharedTracks] = []
        self.last_delivered_seq = 0
        # messages up to this bus sequence number are history (exempt from the rate limit)
        self.history_seq = 0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._pending: list[Detections] = []
        self._pending_arrival: list[np.ndarray] = []
        self._sensor_nation = np.array([s.nation for s in config.sensors], dtype=object)
        self._scan_period_s = config.sensors.column("scan_period_s").astype(float)
        # detections taken per (sensor, scan number), for limits.max_reports_per_scan
        self._per_scan: dict[tuple[int, int], int] = {}
        self.bursts = Bursts(
            config.node_id,
            security.audit if security is not None else None,
            config.limits.audit_burst_s,
        )

    @property
    def pending(self) -> int:
        """Detections accepted and not yet released to the tracker."""
        return int(sum(len(p) for p in self._pending))

    def take(self, message: Message) -> bool:
        """Count one delivered message and take it in; False when it was rejected."""
        self.counters.received_messages += 1
        self.counters.received_bytes += len(message.data)
        self.last_delivered_seq = max(self.last_delivered_seq, message.seq)
        if not self._within_rate(message):
            return False
        try:
            self._accept(message)
        except MessageError as exc:
            self.reject(exc.reason, str(exc), message)
            return False
        return True

    def _within_rate(self, message: Message) -> bool:
        """Whether a live message fits its sending nation's rate (``limits.max_messages_per_s``,
        a token bucket); one that does not is rejected (``rate``) before anything is decoded.
        The sending nation is the subject's (``air.<kind>.<SENDER>.<RECIPIENT>``: subject
        permissions let only that nation publish there)."""
        if message.seq <= self.history_seq:
            return True
        limits = self.config.limits
        tokens = depth = max(1.0, limits.max_messages_per_s * limits.rate_burst_s)
        tokens_of = message.subject.split(".")
        nation = tokens_of[2] if len(tokens_of) == 4 else "?"
        now = time.monotonic()
        last = self._buckets.get(nation)
        if last is not None:
            tokens = min(depth, last[0] + (now - last[1]) * limits.max_messages_per_s)
        if tokens < 1.0:
            self._buckets[nation] = (tokens, now)
            self.counters.rejected["rate"] += 1
            self.bursts.note(
                "rate",
                f"rejected a message: {message.subject} #{message.seq}: more than "
                f"{limits.max_messages_per_s:g} messages per second from {nation} (limits)",
                subject=message.subject,
                sender="?",
                nation=nation,
                bus_seq=message.seq,
            )
            return False
        self._buckets[nation] = (tokens - 1.0, now)
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
            if not (isinstance(payload, Heartbeat) and payload.final):
                self._check_lead(payload.clock_s, where)
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
            if len(payload) > cfg.limits.max_batch_rows:
                raise MessageError(
                    where,
                    reason="size",
                    column="sensor_ref",
                    expected=f"at most {cfg.limits.max_batch_rows} detections (limits)",
                    got=f"{len(payload)}",
                )
            detections = payload.to_detections(cfg.sensors, self.labels, source=where)
            self._check_times(detections, payload.clock_s, where)
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
            stale = detections.t_s < payload.clock_s - cfg.limits.max_report_age_s
            if stale.any():
                self._drop_rows(
                    "stale",
                    int(stale.sum()),
                    f"detections more than {cfg.limits.max_report_age_s:g} s older than their "
                    "batch's clock",
                    message,
                    envelope,
                )
                mine &= ~stale
            mine &= self._within_scan_limit(detections, mine, message, envelope)
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
        elif isinstance(payload, CoordinationAction):
            if payload.origin != envelope.nation or envelope.nation == cfg.nation:
                raise MessageError(
                    where,
                    reason="sender",
                    column="origin",
                    expected=f"an action of an operator of {envelope.nation}, another nation",
                    got=repr(payload.origin),
                )
            if self.on_action is not None:
                self.on_action(payload)
        peer.last_seq[envelope.sender] = envelope.seq
        peer.heard_mono = time.monotonic()

    def receiver_clock(self) -> float:
        """The clock a message may not run ahead of (by more than ``limits.max_lead_s``): the
        ``clock`` given, or the most advanced clock heard so far."""
        return self.clock() if self.clock is not None else self.receiver_clock_of_peers()

    def receiver_clock_of_peers(self) -> float:
        """The most advanced finite clock heard from the senders (inf before any)."""
        heard = [p.clock_s for p in self.peers.by_nation.values() if math.isfinite(p.clock_s)]
        return max(heard, default=math.inf)

    def _check_lead(self, clock_s: float, where: str) -> None:
        lead = self.config.limits.max_lead_s
        mine = self.receiver_clock()
        if clock_s > mine + lead:
            raise MessageError(
                where,
                reason="future",
                column="clock_s",
                expected=f"a clock at most {lead:g} s ahead of the receiver's ({mine:.3f})",
                got=repr(clock_s),
            )

    def _check_times(self, detections: Detections, clock_s: float, where: str) -> None:
        """A detection time far ahead of its batch's clock rejects the batch (``future``)."""
        lead = self.config.limits.max_lead_s
        ahead = detections.t_s > clock_s + lead
        if ahead.any():
            first = int(np.flatnonzero(ahead)[0])
            raise MessageError(
                where,
                reason="future",
                column="t_s",
                expected=f"times at most {lead:g} s after the batch's clock ({clock_s!r})",
                got=f"{float(detections.t_s[first])!r} at index {first}",
            )

    def _within_scan_limit(
        self, detections: Detections, taken: np.ndarray, message: Message, envelope: Envelope
    ) -> np.ndarray:
        """Which detections fit ``limits.max_reports_per_scan`` of their sensor's scan (in
        message order, after those taken before); the rest are dropped (``density``)."""
        cap = self.config.limits.max_reports_per_scan
        idx = np.flatnonzero(taken)
        keep = np.ones(len(detections), dtype=bool)
        if not len(idx):
            return keep
        sensor = detections.sensor_index[idx].astype(np.int64)
        scan = np.floor(detections.t_s[idx] / self._scan_period_s[sensor]).astype(np.int64)
        keys, inverse, counts = np.unique(
            np.stack([sensor, scan], axis=1), axis=0, return_inverse=True, return_counts=True
        )
        inverse = inverse.reshape(-1)
        before = np.array([self._per_scan.get((int(a), int(b)), 0) for a, b in keys])
        if (before + counts <= cap).all():
            for (a, b), n in zip(keys, before + counts, strict=True):
                self._per_scan[int(a), int(b)] = int(n)
        else:
            order = np.argsort(inverse, kind="stable")
            starts = np.r_[0, np.cumsum(counts)[:-1]]
            rank = np.empty(len(idx), dtype=np.int64)
            rank[order] = np.arange(len(idx)) - np.repeat(starts, counts)
            over = before[inverse] + rank >= cap
            keep[idx[over]] = False
            for (a, b), n in zip(keys, np.minimum(before + counts, cap), strict=True):
                self._per_scan[int(a), int(b)] = int(n)
            self._drop_rows(
                "density",
                int(over.sum()),
                f"detections beyond {cap} of one sensor in one scan",
                message,
                envelope,
            )
        self._forget_old_scans(float(detections.t_s[idx].max()))
        return keep

    def _forget_old_scans(self, newest_s: float) -> None:
        """Scans older than the oldest time still taken need no count."""
        if len(self._per_scan) < 4096:
            return
        horizon = newest_s - self.config.limits.max_report_age_s
        self._per_scan = {
            (sensor, scan): n
            for (sensor, scan), n in self._per_scan.items()
            if (scan + 1) * self._scan_period_s[sensor] >= horizon
        }

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
        """Count, log and audit (once per burst) rows of an accepted message not used."""
        self.counters.dropped[reason] += count
        self.bursts.note(
            reason,
            f"dropped {count} {what} from {message.subject}"
            + (f" (not released to {self.config.nation})" if reason == "label" else ""),
            subject=message.subject,
            sender=envelope.sender,
            nation=envelope.nation,
            bus_seq=message.seq,
            rows=count,
        )

    def reject(self, reason: str, text: str, message: Message | None = None) -> None:
        """Count, log and audit (once per burst) a rejected message."""
        self.counters.rejected[reason] += 1
        sender, nation = "?", "?"
        if message is not None:
            try:
                envelope = decode_envelope(message.data, source=message.subject)
                sender, nation = envelope.sender, envelope.nation
            except MessageError:
                pass
        self.bursts.note(
            reason,
            f"rejected a message: {text}",
            subject=message.subject if message is not None else "",
            sender=sender,
            nation=nation,
            bus_seq=message.seq if message is not None else None,
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
