"""What a node sends: signed messages with at-least-once publishing (:class:`Sender`), and its
own detections to each nation its release policy allows, with its clock (:class:`Outbound`).

A node that restarts resumes each outgoing channel after the last clock it had sent there
(read back from the bus), so nothing of its sources is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from airpicture.net._bus import Bus, BusError, Message
from airpicture.net._messages import (
    DetectionBatch,
    Heartbeat,
    MessageError,
    decode_envelope,
    decode_payload,
    encode_message,
)
from airpicture.net._release import FULL, LabelSpace, detection_labels
from airpicture.net._security import NodeSecurity
from airpicture.node._config import NodeConfig
from airpicture.node._counters import NodeCounters
from airpicture.node._sources import ReplaySource

__all__ = ["Outbound", "Sender"]

log = logging.getLogger("airpicture.node")

class Sender:
    """Encodes, signs and publishes a node's messages, each with a rising sequence number."""

    def __init__(
        self, config: NodeConfig, security: NodeSecurity | None, counters: NodeCounters
    ) -> None:
        self.config = config
        self.security = security
        self.counters = counters
        self.bus: Bus | None = None
        self.stopping = False
        self.seq = 0

    def next_seq(self) -> int:
        """A sequence number above every earlier one, and above the wall clock in ns (so a
        restarted node keeps numbering upwards)."""
        self.seq = max(self.seq + 1, time.time_ns())
        return self.seq

    async def send(self, kind: str, subject: str, payload: Any) -> None:
        bus = self.bus
        if bus is None:
            return
        data = encode_message(
            kind,
            payload,
            sender=self.config.node_id,
            nation=self.config.nation,
            seq=self.next_seq(),
            subject=subject,
            signer=self.security.signer.sign if self.security is not None else None,
        )
        # At least once: on a failed publish the same bytes go again (a copy that did arrive
        # carries the same sequence number, so receivers drop it as a duplicate).
        delay_s = 0.1
        while True:
            try:
                await bus.publish(subject, data)
                break
            except BusError as exc:
                if self.stopping:
                    raise
                self.counters.publish_retries += 1
                log.warning("%s: %s; retrying in %.1f s", self.config.node_id, exc, delay_s)
                await asyncio.sleep(delay_s)
                delay_s = min(2.0 * delay_s, 2.0)
        self.counters.published_messages += 1
        self.counters.published_bytes[kind] += len(data)


@dataclass
class _Channel:
    """One outgoing channel (this node to one recipient nation)."""

    recipient: str
    cursor: int = 0
    clock_s: float = -math.inf
    final: bool = False
    mask: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


class Outbound:
    """A node's own detections out: every tick, each recipient gets the newly arrived
    detections released to it, and the node's clock (a heartbeat when there are none)."""

    def __init__(
        self,
        config: NodeConfig,
        sender: Sender,
        labels: LabelSpace,
        counters: NodeCounters,
    ) -> None:
        self.config = config
        self.sender = sender
        self.labels = labels
        self.counters = counters
        self.source: ReplaySource | None = None
        self.channels: dict[str, _Channel] = {}
        self._labels = np.zeros(0, dtype=np.uint64)

    def clock(self) -> float:
        """The node's own source clock now (inf for a node without sensors)."""
        if self.source is None:
            return math.inf
        return self.source.clock(time.time())

    async def resume(self) -> None:
        """Set each outgoing channel's cursor after the last clock this nation sent there."""
        cfg = self.config
        source = self.source
        if self.sender.bus is None:
            return
        if source is not None:
            self._labels = detection_labels(
                source.detections, cfg.sensors, cfg.release, self.labels
            )
        for recipient in cfg.network:
            channel = _Channel(recipient)
            if source is not None and len(source):
                released = self.labels.level(self._labels, recipient) == FULL
                channel.mask = released & cfg.release.sends_plots(recipient)
            for kind in ("det", "hb"):
                found = await self._last_own(f"air.{kind}.{cfg.nation}.{recipient}")
                if found is None:
                    continue
                envelope_seq, clock, final = found
                self.sender.seq = max(self.sender.seq, envelope_seq)
                channel.clock_s = max(channel.clock_s, clock)
                channel.final = channel.final or final
            if source is not None and math.isfinite(channel.clock_s):
                channel.cursor = int(
                    np.searchsorted(source.arrival_s, channel.clock_s, side="right")
                )
            if channel.final and source is not None:
                channel.cursor = len(source)
            if math.isfinite(channel.clock_s) or channel.final:
                log.info(
                    "%s: resuming channel to %s after clock %.3f",
                    cfg.node_id,
                    recipient,
                    channel.clock_s,
                )
            self.channels[recipient] = channel

    async def _last_own(self, subject: str) -> tuple[int, float, bool] | None:
        """(seq, clock, final) of this node's last message on ``subject``, or None.

        Only the node's own messages count: when the newest one on the subject is someone
        else's (which subject permissions will rule out), the subject's history is searched.
        """
        bus = self.sender.bus
        if bus is None:
            return None
        last = await bus.last_message(subject)
        if last is None:
            return None
        found = self._read_own(last)
        if found is not None:
            return found
        mine: list[tuple[int, float, bool]] = []

        async def keep(message: Message) -> None:
            if message.seq == last.seq:
                return  # read above: not ours
            own = self._read_own(message)
            if own is not None:
                mine.append(own)

        await bus.replay(subject, keep)
        return mine[-1] if mine else None

    def _read_own(self, message: Message) -> tuple[int, float, bool] | None:
        """(seq, clock, final) of a message on one of this node's channels if it is this node's:
        with security, only a message that verifies against this nation's key is. Anything
        else found there (a forgery by someone who can write to the bus) is counted, logged and
        audited, and the search goes on, so a forged history cannot move the node's clock."""
        cfg = self.config
        security = self.sender.security
        try:
            if security is not None:
                envelope = security.verifier.verify(message.data, message.subject)
            else:
                envelope = decode_envelope(message.data, source=message.subject)
            payload = decode_payload(envelope, source=message.subject)
        except MessageError as exc:
            self.counters.rejected[exc.reason] += 1
            log.warning(
                "%s: a message on my channel %s is not mine (%s): %s",
                cfg.node_id,
                message.subject,
                exc.reason,
                exc,
            )
            if security is not None and security.audit is not None:
                security.audit.record(
                    subject=message.subject,
                    reason=exc.reason,
                    bus_seq=message.seq,
                    detail=f"read back on resuming: {exc}",
                )
            return None
        if envelope.sender != cfg.node_id or envelope.nation != cfg.nation:
            return None
        if not isinstance(payload, DetectionBatch | Heartbeat):
            return None
        return envelope.seq, payload.clock_s, bool(getattr(payload, "final", False))

    async def run(self) -> None:
        """Every tick, send each recipient the newly arrived releasable detections and the clock;
        return once every channel is final."""
        cfg = self.config
        source = self.source
        while not self.sender.stopping:
            now = time.time()
            if source is None:
                for channel in self.channels.values():
                    if not channel.final:
                        await self._heartbeat(channel.recipient, math.inf, final=True)
                        channel.final = True
                return
            clock = source.clock(now)
            end = int(np.searchsorted(source.arrival_s, clock, side="right"))
            for channel in self.channels.values():
                if not channel.final:
                    await self._publish_channel(source, channel, clock, end)
            if all(c.final for c in self.channels.values()):
                return
            await asyncio.sleep(cfg.tick_s)

    async def _heartbeat(self, recipient: str, clock: float, *, final: bool = False) -> None:
        await self.sender.send(
            "hb",
            f"air.hb.{self.config.nation}.{recipient}",
            Heartbeat(recipient=recipient, clock_s=clock, final=final),
        )

    async def _publish_channel(
        self, source: ReplaySource, channel: _Channel, clock: float, end: int
    ) -> None:
        cfg = self.config
        clock = max(clock, channel.clock_s)
        start, channel.cursor = channel.cursor, max(channel.cursor, end)
        idx = (
            start + np.flatnonzero(channel.mask[start:end])
            if end > start
            else np.empty(0, np.int64)
        )
        subject = f"air.det.{cfg.nation}.{channel.recipient}"
        for k in range(0, len(idx), cfg.max_batch_rows):
            part = idx[k : k + cfg.max_batch_rows]
            last = k + cfg.max_batch_rows >= len(idx)
            batch_clock = clock if last else float(source.arrival_s[part[-1]])
            batch = DetectionBatch.from_detections(
                source.detections.take(part),
                cfg.sensors,
                recipient=channel.recipient,
                clock_s=batch_clock,
                arrival_s=source.arrival_s[part],
                sensor_seq=source.sensor_seq[part],
                label=self._labels[part],
                label_nations=self.labels.nations,
            )
            await self.sender.send("det", subject, batch)
            self.counters.published_detections += len(part)
        if len(idx) == 0:
            await self._heartbeat(channel.recipient, clock)
        channel.clock_s = clock
        if channel.cursor >= len(source):
            await self._heartbeat(channel.recipient, math.inf, final=True)
            channel.final = True
