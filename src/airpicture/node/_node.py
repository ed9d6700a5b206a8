"""The node: its parts composed and run (see :mod:`airpicture.node`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import numpy as np

from airpicture.net._bus import Bus, BusError, Message, Subscription, connect_bus
from airpicture.net._release import LabelSpace
from airpicture.net._security import NodeSecurity, PolicyBus
from airpicture.node._config import NodeConfig
from airpicture.node._coordination import Coordination
from airpicture.node._counters import NodeCounters
from airpicture.node._health import health_report, serve_health
from airpicture.node._inbound import Inbound, SharedTracks
from airpicture.node._outbound import Outbound, Sender
from airpicture.node._peers import Peers
from airpicture.node._publish import Publisher
from airpicture.node._sources import ReplaySource
from airpicture.node._tracking import Pipeline
from airpicture.tables import AlertRows, ImpactRows, TrackRows

__all__ = ["Node", "run_node"]

log = logging.getLogger("airpicture.node")

_LAG_REFRESH_S = 1.0
_STARTUP_RETRY_S = 60.0
"""How long a node retries the bus operations of its start (its connection and the check of the
stream, the stream's state, its own channels, its subscription) before giving up: a cluster
electing a new stream leader answers none of them for a few seconds."""

_T = TypeVar("_T")


async def _retrying(what: str, operation: Callable[[], Awaitable[_T]]) -> _T:
    """``operation()``, tried again on a :class:`BusError` (doubling waits up to 2 s) until
    ``_STARTUP_RETRY_S`` have passed; the last error is raised then."""
    deadline = time.monotonic() + _STARTUP_RETRY_S
    delay_s = 0.2
    while True:
        try:
            return await operation()
        except BusError as exc:
            if time.monotonic() + delay_s > deadline:
                raise
            log.warning("%s: %s; retrying in %.1f s", what, exc, delay_s)
            await asyncio.sleep(delay_s)
            delay_s = min(2.0 * delay_s, 2.0)
"""How often a node asks the bus for its last sequence number (the lag in ``/health``), s."""


class Node:
    """One nation's node (see :mod:`airpicture.node`).

    Parameters
    ----------
    config : NodeConfig
        The node's settings.
    bus : Bus, optional
        A bus to use (several nodes in one process share a :class:`~airpicture.net.MemoryBus`
        this way); the node connects to ``config.bus`` and owns the connection when omitted.
    source : ReplaySource, optional
        The node's own detections; read from ``config.source`` when omitted.
    security : NodeSecurity, optional
        Signer, verifier and audit log; loaded from ``config.security`` when omitted. Without
        either, the node sends unsigned messages and accepts unsigned ones.

    Attributes
    ----------
    counters : NodeCounters
        What the node counted so far (:meth:`health` reports it).
    peers : Peers
        The sending nations and the barrier their clocks make.
    inbound, outbound, pipeline, publisher, coordination
        Its parts: messages in; own detections out; tracker, assessor and network picture;
        picture, impacts, alerts and shared tracks out; operators' coordination actions
        (:meth:`Coordination.act <airpicture.node._coordination.Coordination.act>` applies and
        sends one of this nation's).

    Examples
    --------
    >>> node = Node(NodeConfig.from_toml("jpn.toml"))   # doctest: +SKIP
    >>> rows = asyncio.run(node.run())                  # doctest: +SKIP
    """

    def __init__(
        self,
        config: NodeConfig,
        *,
        bus: Bus | None = None,
        source: ReplaySource | None = None,
        security: NodeSecurity | None = None,
    ) -> None:
        self.config = config
        if security is None and config.security is not None:
            security = NodeSecurity.load(
                config.security, nation=config.nation, node_id=config.node_id
            )
        self.security = security
        self._given_bus = bus
        self._given_source = source
        labels = LabelSpace(config.network)
        self.counters = NodeCounters()
        self.peers = Peers(config.network, config.nation, config.peer_timeout_s)
        self.sender = Sender(config, security, self.counters)
        self.pipeline = Pipeline(config, labels, self.counters)
        self.inbound = Inbound(
            config,
            labels,
            security,
            self.counters,
            self.peers,
            self.pipeline.receive,
            clock=self._clock,
        )
        self.outbound = Outbound(config, self.sender, labels, self.counters)
        self.publisher = Publisher(config, self.sender, labels, self.counters, self.pipeline)
        self.coordination = Coordination(
            config,
            self.sender,
            labels,
            self.counters,
            self.pipeline,
            self.publisher,
            security.audit if security is not None else None,
        )
        self.inbound.on_action = self.coordination.take
        self.health_port: int | None = None
        self.bus_last_seq = 0
        self._sub: Subscription | None = None
        self._lock = asyncio.Lock()
        self._max_t_fed = -math.inf
        self._flushed = False

    # ------------------------------------------------------------------ public
    @property
    def picture(self) -> TrackRows:
        """Every track row produced so far, in production order."""
        return TrackRows.concat([r for r in self.publisher.rows if len(r)])

    @property
    def shared(self) -> SharedTracks:
        """Every track row other nations shared with this one, in arrival order (the full ones
        are fused into the picture too; position-only ones stay a layer of their own)."""
        return SharedTracks.concat(self.inbound.shared)

    @property
    def impacts(self) -> ImpactRows:
        """Every impact prediction made so far, in production order."""
        return ImpactRows.concat(self.publisher.impacts)

    @property
    def alerts(self) -> AlertRows:
        """Every alert change so far, in production order."""
        return AlertRows.concat(self.publisher.alerts)

    @property
    def done(self) -> bool:
        """True once every nation's input has ended and the picture has been flushed."""
        return self._flushed

    def health(self) -> dict[str, Any]:
        """The node's counters as a JSON-ready dict (what ``GET /health`` returns)."""
        return health_report(self)

    async def run(self, stop: asyncio.Event | None = None) -> TrackRows:
        """Run until ``stop`` is set (or, with ``exit_when_done``, until the picture is final).

        Returns
        -------
        TrackRows
            The whole picture (also written to ``config.record`` when set).

        Raises
        ------
        BusError
            When the bus cannot be reached.
        DataError
            When the node's own source files break the data contract.
        """
        cfg = self.config
        stop = stop if stop is not None else asyncio.Event()
        self.peers.started_mono = time.monotonic()
        source = self._given_source
        if source is None and cfg.source is not None:
            source = ReplaySource.from_scenario(cfg.source, cfg.sensors, cfg.own_sensors)
        if source is None and cfg.feeds:
            source = await asyncio.to_thread(self._feed_source)
        self.outbound.source = source
        if self._given_bus is not None:
            bus = self._given_bus
        else:
            options = self.security.nats_options() if self.security is not None else {}
            bus = await _retrying(
                f"{cfg.node_id}: connecting",
                lambda: connect_bus(cfg.bus, name=cfg.node_id, **options),
            )
        own_bus = bus
        if self.security is not None:
            # The node sees the bus through its nation's permissions (NATS enforces them too).
            bus = PolicyBus(bus, cfg.nation, policy=cfg.release)
        self.sender.bus = bus
        tak = await self._open_tak()
        server = None
        tasks: list[asyncio.Task[None]] = []
        try:
            if cfg.health_port is not None:
                server = await serve_health(self, cfg.health_port)
                self.health_port = server.port
                log.info("%s: health on http://127.0.0.1:%d/health", cfg.node_id, server.port)
            name = cfg.node_id
            await _retrying(f"{name}: resuming its channels", self.outbound.resume)
            # what the bus holds already is history: read back at full speed, never rate-limited
            self.inbound.history_seq = await _retrying(f"{name}: the stream", bus.last_seq)
            self._sub = await _retrying(
                f"{name}: subscribing",
                lambda: bus.subscribe(f"air.*.*.{cfg.nation}", self._on_message, from_seq=1),
            )
            tasks.append(asyncio.create_task(self.outbound.run(), name=f"{cfg.node_id}:publish"))
            tasks.append(asyncio.create_task(self._watch_loop(), name=f"{cfg.node_id}:watch"))
            tasks.append(asyncio.create_task(self.publisher.run(), name=f"{cfg.node_id}:picture"))
            tasks.append(
                asyncio.create_task(self.coordination.run(), name=f"{cfg.node_id}:coordination")
            )
            ends = [asyncio.create_task(stop.wait())]
            final_sent = self.publisher.final_sent
            if cfg.exit_when_done:
                ends.append(asyncio.create_task(final_sent.wait()))
            waiting: set[asyncio.Task[Any]] = {*ends, *tasks}
            publishing = tasks[0]
            try:
                # Stop on request, or once the picture is final and everything of ours is sent.
                while not (
                    stop.is_set()
                    or (cfg.exit_when_done and final_sent.is_set() and publishing.done())
                ):
                    finished, waiting = await asyncio.wait(
                        waiting, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in finished:
                        if task in tasks and task.exception() is not None:
                            raise task.exception()  # type: ignore[misc]
            finally:
                for end in ends:
                    end.cancel()
        finally:
            # A flag as well as cancel(): on Python 3.11 a cancellation that meets a reply at the
            # same moment can be swallowed inside a library call, and a loop must still end.
            self.sender.stopping = True
            for task in tasks:
                task.cancel()
            if tasks:
                _, stuck = await asyncio.wait(tasks, timeout=5.0)
                for task in stuck:
                    log.warning("%s: task %s did not stop", cfg.node_id, task.get_name())
            if self._sub is not None:
                await self._sub.unsubscribe()
            if server is not None:
                await asyncio.to_thread(server.stop)
            if self._given_bus is None:
                await own_bus.close()
            if tak is not None:
                await tak.__aexit__(None, None, None)
            self.inbound.bursts.close(every=True)
            if self.security is not None and self.security.audit is not None:
                self.security.audit.close()
            self._write_record()
        log.info("%s: stopped; %s", cfg.node_id, self._summary())
        return self.picture

    def _feed_source(self) -> ReplaySource:
        """The node's own detections decoded from its ``[[sources]]`` recordings."""
        from airpicture.interop import feed_detections

        cfg = self.config
        detections, report = feed_detections(cfg.feeds, cfg.sensors)
        log.info("%s: sources decoded: %s", cfg.node_id, report.summary())
        first = cfg.feeds[0]
        start = first.start_at_unix_s if first.start_at_unix_s is not None else time.time()
        return ReplaySource.from_detections(
            detections, cfg.sensors, cfg.own_sensors, speed=first.speed, start_at_unix_s=start
        )

    async def _open_tak(self) -> Any:
        """Connect to the node's TAK address and stream every published picture batch there
        as CoT (tentative rows left out); None without one, or when it cannot be reached."""
        cfg = self.config
        if not cfg.tak:
            return None
        from airpicture.interop import CotSender, cot_events

        sender = CotSender(cfg.tak)
        try:
            await sender.__aenter__()
        except OSError as exc:
            log.warning("%s: TAK address %s unreachable (%s): no CoT", cfg.node_id, cfg.tak, exc)
            self.counters.cot_errors += 1
            return None
        counters = self.counters

        async def stream(rows: TrackRows) -> None:
            shown = rows.take(np.flatnonzero(np.asarray(rows.status).astype(str) != "tentative"))
            if not len(shown):
                return
            try:
                counters.cot_events += await sender.send(cot_events(shown))
            except OSError as exc:
                counters.cot_errors += 1
                if counters.cot_errors == 1:
                    log.warning("%s: sending CoT to %s failed: %s", cfg.node_id, cfg.tak, exc)

        self.publisher.on_picture = stream
        log.info("%s: streaming CoT to %s", cfg.node_id, cfg.tak)
        return sender

    def _clock(self) -> float:
        """The node's clock: its own source's, scenario s (-inf before the source is read);
        without sensors, the most advanced clock heard (see :meth:`Inbound.receiver_clock`)."""
        source = self.outbound.source
        if source is None:
            return self.inbound.receiver_clock_of_peers()
        return source.clock(time.time())

    # ------------------------------------------------------------------ the loop
    async def _on_message(self, message: Message) -> None:
        if self.inbound.take(message):
            await self._advance()

    async def _advance(self) -> None:
        """Feed the tracker what the barrier allows; flush once every input has ended."""
        async with self._lock:
            if self._flushed:
                return
            pipeline = self.pipeline
            ended = self.peers.input_ended()
            flush = ended and not pipeline.tracker_flushed
            chunks = self.inbound.take_ready(math.inf if ended else self.peers.barrier())
            if not (chunks or flush or ended or pipeline.has_work(self.peers.partners_through())):
                return  # nothing new for the tracker or from partners: the picture stands
            # The tracker runs in a worker thread so that the bus connection stays served.
            frames = await asyncio.to_thread(
                pipeline.step, chunks, flush, self.peers.partners_through
            )
            self.publisher.queue_assessment(frames.impacts, frames.alerts)
            self.publisher.queue_reports(frames.reports)
            for chunk in chunks:
                self._max_t_fed = max(self._max_t_fed, float(chunk.t_s.max()))
            if frames.final:
                self._flushed = True
                through = math.inf
            else:
                # frames waiting for partners' tracks are not in the picture yet
                tracked = (
                    math.inf if pipeline.tracker_flushed else pipeline.through(self._max_t_fed)
                )
                through = min(tracked, frames.waiting_s - self.config.tracker.frame_s)
            rows = [r for r in frames.rows if len(r)]
            if not rows and through <= self.publisher.through_s:
                return
            self.publisher.through_s = max(self.publisher.through_s, through)
            self.publisher.queue_picture(TrackRows.concat(rows), frames.final)
            if frames.final:
                log.info(
                    "%s: input ended; picture final (%s)", self.config.node_id, self._summary()
                )

    async def _watch_loop(self) -> None:
        """Re-check the barrier as peers time out; refresh the lag; log the health line."""
        cfg = self.config
        last_log = last_lag = time.monotonic()
        while not self.sender.stopping:
            await asyncio.sleep(min(cfg.tick_s * 4, 0.5))
            await self._advance()
            self.inbound.bursts.close()
            bus = self.sender.bus
            if bus is not None and time.monotonic() - last_lag >= _LAG_REFRESH_S:
                last_lag = time.monotonic()
                with contextlib.suppress(Exception):
                    self.bus_last_seq = await bus.last_seq()
            if time.monotonic() - last_log >= cfg.log_interval_s:
                last_log = time.monotonic()
                log.info("%s: %s", cfg.node_id, self._summary())

    def _summary(self) -> str:
        h = self.health()
        return (
            f"received {h['received']['detections']} detections in "
            f"{h['received']['messages']} messages, rejected {sum(h['rejected'].values())} "
            f"{h['rejected'] or ''}, processed {h['processed']}, "
            f"late {h['late']}, pending {h['pending']}, tracks {h['tracks']['live']} "
            f"({h['tracks']['confirmed']} confirmed), impacts {h['assessment']['impacts']}, "
            f"alerts {h['assessment']['active_alerts']} active, lag {h['lag_s']} s"
        )

    def _write_record(self) -> None:
        if self.config.record is None:
            return
        from airpicture.batch import assessment_paths
        from airpicture.io import open_table_writer, write_tracks

        path = self.config.record
        path.parent.mkdir(parents=True, exist_ok=True)
        write_tracks(path, self.picture)
        impacts_path, alerts_path = assessment_paths(path)
        self.coordination.write(path.with_name("coordination.jsonl"))
        for table, target, rows in (
            ("impacts", impacts_path, self.impacts),
            ("alerts", alerts_path, self.alerts),
        ):
            with open_table_writer(target, table) as writer:
                if len(rows):  # as a batch run writes it: an empty table has no optional columns
                    writer.write(rows)
        log.info(
            "%s: wrote the picture to %s, with %s, %s and coordination.jsonl",
            self.config.node_id,
            path,
            impacts_path.name,
            alerts_path.name,
        )


def run_node(config: NodeConfig) -> TrackRows:
    """Run a node until SIGINT or SIGTERM (or until done with ``exit_when_done``); the CLI's entry.

    Returns
    -------
    TrackRows
        The node's picture.
    """
    import signal

    async def main() -> TrackRows:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            return await Node(config).run(stop)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    return asyncio.run(main())
