"""The message bus between nodes: one protocol, an in-process and a NATS implementation.

Subjects are dot-separated tokens (``air.det.JPN.USA``). Subscription patterns follow NATS: ``*``
matches exactly one token and ``>`` (last token only) matches one or more. Every published
message gets a sequence number in the bus history (1, 2, ...), so a subscriber can ask for the
history from a sequence number on and then keep receiving live messages with no gap and no
duplicate: that is how a node that starts late or restarts catches up.

=================  =========================================================================
implementation     history
=================  =========================================================================
:class:`MemoryBus`  in this process only (the embedded default; no server needed)
:class:`NatsBus`    a JetStream stream on a ``nats-server`` (persistent, shared by processes)
=================  =========================================================================

Both pass the same contract test suite (``tests/net/test_bus_contract.py``).

Delivery contract
-----------------
- A handler is an ``async`` callable taking a :class:`Message`. Each subscription calls its
  handler for one message at a time, in bus order (increasing ``seq``).
- An exception raised by a handler is logged and counted in ``Subscription.errors``; delivery
  goes on with the next message.
- ``subscribe(pattern, handler)`` delivers messages published after it returns;
  ``subscribe(..., from_seq=k)`` first delivers the stored messages with ``seq >= k``.
- ``replay(pattern, handler)`` delivers the stored messages up to the last one at the time of the
  call and returns that sequence number.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from airpicture.errors import AirpictureError, ConfigError

__all__ = [
    "Bus",
    "BusError",
    "Handler",
    "MemoryBus",
    "Message",
    "NatsBus",
    "StreamLimits",
    "Subscription",
    "check_pattern",
    "check_subject",
    "connect_bus",
    "subject_matches",
]

log = logging.getLogger(__name__)


class BusError(AirpictureError):
    """The bus could not do what was asked (not connected, no stream, server error)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One delivered message.

    Attributes
    ----------
    subject : str
        The subject it was published on.
    data : bytes
        The payload, as published.
    seq : int
        Its sequence number in the bus history (1-based, increasing in publish order).
    """

    subject: str
    data: bytes
    seq: int


Handler = Callable[[Message], Awaitable[None]]
"""An async callable receiving each message of a subscription."""


@runtime_checkable
class Subscription(Protocol):
    """A live subscription; ``errors`` counts the handler's exceptions."""

    pattern: str
    errors: int

    async def unsubscribe(self) -> None:
        """Stop delivering; messages not yet handled are dropped."""
        ...


@runtime_checkable
class Bus(Protocol):
    """What a node needs from a message bus (see the module docstring for the contract)."""

    async def publish(self, subject: str, data: bytes) -> int:
        """Store and deliver ``data`` on ``subject``; return its sequence number."""
        ...

    async def subscribe(
        self, pattern: str, handler: Handler, *, from_seq: int | None = None
    ) -> Subscription:
        """Deliver messages matching ``pattern`` (the history from ``from_seq`` on, then live)."""
        ...

    async def replay(self, pattern: str, handler: Handler, *, from_seq: int = 1) -> int:
        """Deliver the stored messages matching ``pattern``; return the last sequence number."""
        ...

    async def last_seq(self) -> int:
        """Sequence number of the newest stored message (0 when none)."""
        ...

    async def last_message(self, subject: str) -> Message | None:
        """The newest stored message on exactly ``subject``, or None."""
        ...

    async def close(self) -> None:
        """Stop every subscription and release the connection."""
        ...


# ---------------------------------------------------------------------------- subjects
def check_subject(subject: str) -> str:
    """Return ``subject`` if it is a valid concrete subject, else raise ``ValueError``."""
    if not isinstance(subject, str) or not subject:
        raise ValueError(f"subject: expected a non-empty string, got {subject!r}")
    for token in subject.split("."):
        if not token or token in ("*", ">") or any(c.isspace() for c in token):
            raise ValueError(
                f"subject {subject!r}: expected dot-separated tokens without wildcards or spaces"
            )
    return subject


def check_pattern(pattern: str) -> str:
    """Return ``pattern`` if it is a valid subscription pattern, else raise ``ValueError``."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"pattern: expected a non-empty string, got {pattern!r}")
    tokens = pattern.split(".")
    for i, token in enumerate(tokens):
        bad = not token or any(c.isspace() for c in token)
        bad = bad or (token != "*" and "*" in token) or (token != ">" and ">" in token)
        bad = bad or (token == ">" and i != len(tokens) - 1)
        if bad:
            raise ValueError(
                f"pattern {pattern!r}: expected dot-separated tokens, '*' for one token and "
                "'>' only as the last token"
            )
    return pattern


def subject_matches(pattern: str, subject: str) -> bool:
    """True when ``subject`` matches the NATS-style ``pattern`` (``*`` one token, ``>`` the rest).

    Examples
    --------
    >>> subject_matches("air.det.*.USA", "air.det.JPN.USA")
    True
    >>> subject_matches("air.>", "air")
    False
    """
    return _match_tokens(pattern.split("."), subject.split("."))


def _match_tokens(pattern: list[str], subject: list[str]) -> bool:
    for i, token in enumerate(pattern):
        if token == ">":
            return len(subject) > i
        if i >= len(subject) or (token != "*" and token != subject[i]):
            return False
    return len(pattern) == len(subject)


async def _deliver(handler: Handler, message: Message, counter: _Counted) -> None:
    """Call a handler, logging and counting what it raises instead of ending delivery."""
    try:
        await handler(message)
    except asyncio.CancelledError:
        raise
    except Exception:
        counter.errors += 1
        log.exception(
            "handler of %s failed on message %d (%s)", counter.pattern, message.seq, message.subject
        )


class _Counted:
    pattern: str
    errors: int


# ---------------------------------------------------------------------------- memory
class _MemorySubscription(_Counted):
    def __init__(self, bus: MemoryBus, pattern: str, handler: Handler) -> None:
        self.pattern = pattern
        self.errors = 0
        self._tokens = pattern.split(".")
        self._bus = bus
        self._handler = handler
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def matches(self, subject: str) -> bool:
        return _match_tokens(self._tokens, subject.split("."))

    def offer(self, message: Message) -> None:
        self._queue.put_nowait(message)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"memorybus:{self.pattern}"
        )

    async def _run(self) -> None:
        while True:
            message = await self._queue.get()
            await _deliver(self._handler, message, self)

    async def unsubscribe(self) -> None:
        self._bus._drop(self)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


class MemoryBus:
    """The in-process bus: every subscriber in this process, history kept in memory.

    Parameters
    ----------
    max_messages : int, optional
        Keep at most this many messages of history (oldest dropped first); unbounded if omitted.

    Examples
    --------
    >>> import asyncio
    >>> async def demo():
    ...     bus = MemoryBus()
    ...     await bus.publish("air.hb.JPN.USA", b"hello")
    ...     got = []
    ...     async def keep(m):
    ...         got.append(m.data)
    ...     await bus.replay("air.hb.*.USA", keep)
    ...     await bus.close()
    ...     return got
    >>> asyncio.run(demo())
    [b'hello']
    """

    def __init__(self, *, max_messages: int | None = None) -> None:
        if max_messages is not None and max_messages < 1:
            raise ConfigError(
                "MemoryBus", key="max_messages", expected="an integer >= 1", got=str(max_messages)
            )
        self._history: deque[Message] = deque(maxlen=max_messages)
        self._last: dict[str, Message] = {}
        self._seq = 0
        self._subs: list[_MemorySubscription] = []
        self._closed = False

    async def publish(self, subject: str, data: bytes) -> int:
        """Store the message and queue it for every matching subscription; return its sequence."""
        self._check_open()
        check_subject(subject)
        self._seq += 1
        message = Message(subject, bytes(data), self._seq)
        if self._history.maxlen is not None and len(self._history) == self._history.maxlen:
            oldest = self._history[0]
            if self._last.get(oldest.subject) is oldest:
                del self._last[oldest.subject]
        self._history.append(message)
        self._last[subject] = message
        for sub in self._subs:
            if sub.matches(subject):
                sub.offer(message)
        return self._seq

    async def subscribe(
        self, pattern: str, handler: Handler, *, from_seq: int | None = None
    ) -> Subscription:
        """Subscribe; with ``from_seq``, the stored messages from that sequence on come first."""
        self._check_open()
        check_pattern(pattern)
        sub = _MemorySubscription(self, pattern, handler)
        if from_seq is not None:
            for message in self._stored(from_seq):
                if sub.matches(message.subject):
                    sub.offer(message)
        # No await between copying the history and registering: no gap, no duplicate.
        self._subs.append(sub)
        sub.start()
        return sub

    async def replay(self, pattern: str, handler: Handler, *, from_seq: int = 1) -> int:
        """Deliver the stored messages matching ``pattern``, in order; return the last sequence."""
        self._check_open()
        check_pattern(pattern)
        tokens = pattern.split(".")
        last = self._seq
        counter = _Counted()
        counter.pattern, counter.errors = pattern, 0
        for message in self._stored(from_seq):
            if _match_tokens(tokens, message.subject.split(".")):
                await _deliver(handler, message, counter)
        return last

    async def last_seq(self) -> int:
        """Sequence number of the newest message (0 when none was published)."""
        return self._seq

    async def last_message(self, subject: str) -> Message | None:
        """The newest stored message on exactly ``subject``, or None."""
        check_subject(subject)
        return self._last.get(subject)

    async def close(self) -> None:
        """Cancel every subscription; further calls raise :class:`BusError`."""
        self._closed = True
        for sub in list(self._subs):
            await sub.unsubscribe()

    def _stored(self, from_seq: int) -> list[Message]:
        if not self._history:
            return []
        start = max(0, from_seq - self._history[0].seq)
        return [self._history[i] for i in range(start, len(self._history))]

    def _drop(self, sub: _MemorySubscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def _check_open(self) -> None:
        if self._closed:
            raise BusError("the memory bus is closed")


# ---------------------------------------------------------------------------- NATS
class _NatsSubscription(_Counted):
    def __init__(self, pattern: str, bus: NatsBus) -> None:
        self.pattern = pattern
        self.errors = 0
        self.name = ""
        self._bus = bus
        self._sub: object | None = None

    async def unsubscribe(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()  # type: ignore[attr-defined]
            except Exception as exc:  # the connection may already be gone
                log.debug("unsubscribe %s: %s", self.pattern, exc)
            await self._bus._delete_consumer(self.name)


@dataclass(frozen=True)
class StreamLimits:
    """Limits of the JetStream stream, set when it is created (the bus is shared: one sender
    must not fill it, nor keep it forever).

    Attributes
    ----------
    max_bytes : int
        Size of the whole history; the oldest messages go first beyond it (1 GiB).
    max_age_s : float
        Age beyond which messages go, s (1 h: the default freshness window of a secure node,
        which refuses older messages anyway).
    max_msgs_per_subject : int
        Messages kept per subject, the oldest of that subject going first (1,000,000: an hour of
        a channel at a 4 ms tick); one channel cannot hold the whole history in numbers.
    max_message_bytes : int
        Largest message the stream accepts (1 MiB, NATS's default payload limit).
    """

    max_bytes: int = 1 << 30
    max_age_s: float = 3600.0
    max_msgs_per_subject: int = 1_000_000
    max_message_bytes: int = 1 << 20


_CONSUMER_EXISTS = 10148
"""JetStream error code of a consumer created under a name already taken."""

_STREAM_NOT_FOUND = 10059
"""JetStream error code of a missing stream."""

_INACTIVE_S = 30.0
"""Pull consumers (replays, head looks) are removed by the server after this long unused."""


class NatsBus:
    """The bus on a NATS server, with history in one JetStream stream.

    Create it with :meth:`connect`. Every subject must fall under the stream's subjects
    (``air.>`` by default); subscriptions are ordered push consumers, replays are pull consumers.
    Every consumer is created with a name that puts its filter subject into the API subject
    (where permissions can check it), as a new consumer only (never bound to an existing one of
    that name), and deleted when done.
    """

    def __init__(
        self,
        nc: object,
        js: object,
        stream: str,
        *,
        api_timeout_s: float = 5.0,
        consumer_names: tuple[str, ...] | None = None,
        head_filter: str | None = None,
    ) -> None:
        self._nc = nc
        self._js = js
        self._stream = stream
        self._api_timeout_s = api_timeout_s
        self._names = consumer_names
        self._in_use: set[str] = set()
        self._head_filter = head_filter
        self._subs: list[_NatsSubscription] = []

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        name: str = "airpicture",
        stream: str = "AIR",
        subjects: tuple[str, ...] = ("air.>",),
        limits: StreamLimits | None = None,
        storage: str = "file",
        replicas: int = 1,
        connect_timeout_s: float = 2.0,
        max_reconnect_attempts: int = 30,
        tls: ssl.SSLContext | None = None,
        inbox_prefix: str | None = None,
        create_stream: bool = True,
        api_timeout_s: float = 5.0,
        consumer_names: tuple[str, ...] | None = None,
        head_filter: str | None = None,
    ) -> NatsBus:
        """Connect to a NATS server and make sure the JetStream stream exists.

        Parameters
        ----------
        url : str
            ``nats://host:port``, or a comma-separated list of the servers of one cluster
            (``nats://127.0.0.1:4222,nats://127.0.0.1:4223``): the client connects to one and
            fails over to the others.
        name : str
            Connection name shown by the server (the node id).
        stream, subjects : str, tuple of str
            The JetStream stream holding the history and the subjects it captures.
        limits : StreamLimits, optional
            Limits of a stream created here (:class:`StreamLimits`' defaults when omitted).
        storage : {"file", "memory"}
            JetStream storage of a stream created here.
        replicas : int
            Servers of a cluster that hold a copy of a stream created here (3 survives the loss
            of any one of three servers).
        connect_timeout_s : float
            Timeout of one connection attempt, s.
        max_reconnect_attempts : int
            Reconnection attempts after a lost connection.
        tls : ssl.SSLContext, optional
            TLS client context (CA and client certificate) for a ``tls://`` server; on a secure
            server the certificate is the client's identity.
        inbox_prefix : str, optional
            Prefix of this client's reply and delivery subjects (a nation's own, so that
            subject permissions can keep other nations out of them).
        create_stream : bool
            Create the stream when it does not exist (a secure node may not: the operator
            provisions it).
        api_timeout_s : float
            Timeout of a JetStream API request, s (a request the server's permissions refuse
            gets no answer and fails after it).
        consumer_names : tuple of str, optional
            The only names this client's consumers may take (a nation's own, which permissions
            allow; one is free again once its consumer is deleted); random names when omitted.
        head_filter : str, optional
            A subject pattern this client may consume. When given, :meth:`last_seq` reads the
            stream's head from a consumer on it instead of the stream's information (which a
            nation may not read: it lists every subject and its count).

        Raises
        ------
        BusError
            When the server cannot be reached or has no JetStream, or (``create_stream``
            false) the stream does not exist.
        """
        import nats
        from nats.js import api

        async def on_error(exc: Exception) -> None:
            log.warning("nats %s: %s", name, exc)

        async def on_disconnect() -> None:
            log.info("nats %s: disconnected", name)

        async def on_reconnect() -> None:
            log.info("nats %s: reconnected", name)

        extra: dict[str, object] = {}
        if tls is not None:
            extra["tls"] = tls
            extra["tls_hostname"] = "127.0.0.1"
        if inbox_prefix is not None:
            extra["inbox_prefix"] = inbox_prefix
        try:
            nc = await nats.connect(
                [server.strip() for server in url.split(",")],
                **extra,  # type: ignore[arg-type]
                name=name,
                connect_timeout=connect_timeout_s,
                max_reconnect_attempts=max_reconnect_attempts,
                reconnect_time_wait=0.5,
                allow_reconnect=True,
                error_cb=on_error,
                disconnected_cb=on_disconnect,
                reconnected_cb=on_reconnect,
            )
        except Exception as exc:  # nats raises several unrelated types here
            raise BusError(f"cannot connect to {url}: {exc}") from exc
        js = nc.jetstream(timeout=api_timeout_s)
        bus = cls(
            nc,
            js,
            stream,
            api_timeout_s=api_timeout_s,
            consumer_names=consumer_names,
            head_filter=head_filter,
        )
        limits = limits if limits is not None else StreamLimits()
        config = api.StreamConfig(
            name=stream,
            subjects=list(subjects),
            storage=api.StorageType.FILE if storage == "file" else api.StorageType.MEMORY,
            max_age=limits.max_age_s,
            max_bytes=limits.max_bytes,
            max_msgs_per_subject=limits.max_msgs_per_subject,
            max_msg_size=limits.max_message_bytes,
            discard=api.DiscardPolicy.OLD,
            allow_direct=True,
            num_replicas=replicas,
        )
        try:
            if not create_stream:
                await bus.last_seq()  # fails on a missing stream
            else:
                try:
                    await js.stream_info(stream)
                except nats.js.errors.NotFoundError:
                    try:
                        await js.add_stream(config)
                    except nats.js.errors.BadRequestError:
                        await js.stream_info(stream)  # created concurrently by another node
        except Exception as exc:
            await nc.close()
            raise BusError(f"JetStream stream {stream} on {url}: {exc}") from exc
        return bus

    async def _create_consumer(self, config: object) -> tuple[str, dict[str, object]]:
        """Create a new consumer under the first free name; return its name and information.

        The request asks for creation only, and the configuration carries a fresh description,
        so a leftover consumer of the same name (a restarted process, another connection of the
        same nation) is never taken over: that name is skipped.
        """
        import json

        nuid = self._nc._nuid.next().decode()  # type: ignore[attr-defined]
        config.description = f"airpicture {nuid}"  # type: ignore[attr-defined]
        names = self._names if self._names is not None else (nuid,)
        taken = 0
        for name in names:
            if name in self._in_use:
                continue
            config.name = name  # type: ignore[attr-defined]
            filtered = config.filter_subject not in (None, ">")  # type: ignore[attr-defined]
            subject = f"$JS.API.CONSUMER.CREATE.{self._stream}.{name}" + (
                f".{config.filter_subject}" if filtered else ""  # type: ignore[attr-defined]
            )
            request = {"stream_name": self._stream, "config": config.as_dict(), "action": "create"}  # type: ignore[attr-defined]
            reply = await self._nc.request(  # type: ignore[attr-defined]
                subject, json.dumps(request).encode(), timeout=self._api_timeout_s
            )
            answer = json.loads(reply.data)
            error = answer.get("error")
            if error is None:
                self._in_use.add(name)
                return name, answer
            if error.get("err_code") == _CONSUMER_EXISTS:
                taken += 1
                continue
            if error.get("err_code") == _STREAM_NOT_FOUND:
                raise BusError(f"no stream {self._stream}: the operator must create it")
            raise BusError(f"consumer on {self._stream}: {error.get('description')}")
        raise BusError(
            f"no free consumer name on {self._stream}: {len(self._in_use)} in use here, "
            f"{taken} taken by other connections"
        )

    async def _delete_consumer(self, name: str) -> None:
        """Delete a consumer of this bus (whatever is left of it) and free its name."""
        try:
            await self._js.delete_consumer(self._stream, name)  # type: ignore[attr-defined]
        except Exception as exc:  # already gone, or the connection is closing
            log.debug("delete consumer %s: %s", name, exc)
        self._in_use.discard(name)

    async def publish(self, subject: str, data: bytes) -> int:
        """Publish into the stream and wait for the server's acknowledgement."""
        check_subject(subject)
        try:
            ack = await self._js.publish(subject, data)  # type: ignore[attr-defined]
        except Exception as exc:
            raise BusError(f"publish on {subject}: {exc}") from exc
        return int(ack.seq)

    async def subscribe(
        self, pattern: str, handler: Handler, *, from_seq: int | None = None
    ) -> Subscription:
        """Ordered push consumer on ``pattern``: the history from ``from_seq`` on, then live."""
        from nats.js import api

        check_pattern(pattern)
        sub = _NatsSubscription(pattern, self)

        async def on_message(msg: object) -> None:
            seq = int(msg.metadata.sequence.stream)  # type: ignore[attr-defined]
            await _deliver(handler, Message(msg.subject, msg.data, seq), sub)  # type: ignore[attr-defined]

        # The settings nats-py gives an ordered consumer it creates itself.
        config = api.ConsumerConfig(
            deliver_subject=self._nc.new_inbox(),  # type: ignore[attr-defined]
            filter_subject=pattern,
            ack_policy=api.AckPolicy.NONE,
            max_deliver=1,
            ack_wait=22 * 3600,
            flow_control=True,
            idle_heartbeat=2.0,
            num_replicas=1,
            mem_storage=True,
        )
        if from_seq is None:
            config.deliver_policy = api.DeliverPolicy.NEW
        else:
            config.deliver_policy = api.DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = max(1, int(from_seq))
        try:
            sub.name, _ = await self._create_consumer(config)
            sub._sub = await self._js.subscribe_bind(  # type: ignore[attr-defined]
                stream=self._stream,
                config=config,
                consumer=sub.name,
                cb=on_message,
                ordered_consumer=True,
            )
            self._recreate_afresh(sub)
        except BusError:
            raise
        except Exception as exc:
            raise BusError(f"subscribe to {pattern}: {exc}") from exc
        self._subs.append(sub)
        return sub

    def _recreate_afresh(self, sub: _NatsSubscription) -> None:
        """Make the ordered consumer's reset (after a gap or missed heartbeats: a lost server)
        delete its old consumer before it creates the new one under the same name: in a cluster
        the old one may live on, on a server that did not fail, and the server refuses to move
        its start (``start sequence can not be updated``), which would stop delivery for good.
        """
        jsi = sub._sub._sub._jsi  # type: ignore[attr-defined]
        recreate = jsi.recreate_consumer

        async def recreate_afresh() -> None:
            try:
                await self._js.delete_consumer(self._stream, sub.name)  # type: ignore[attr-defined]
            except Exception as exc:  # gone with its server, or not reachable yet
                log.debug("reset of %s: delete %s: %s", sub.pattern, sub.name, exc)
            await recreate()

        jsi.recreate_consumer = recreate_afresh

    async def replay(self, pattern: str, handler: Handler, *, from_seq: int = 1) -> int:
        """Deliver the stored messages matching ``pattern`` up to the current last one."""
        from nats.js import api

        check_pattern(pattern)
        last = await self.last_seq()
        if last < from_seq:
            return last
        counter = _Counted()
        counter.pattern, counter.errors = pattern, 0
        config = api.ConsumerConfig(
            filter_subject=pattern,
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=max(1, int(from_seq)),
            ack_policy=api.AckPolicy.NONE,
            inactive_threshold=_INACTIVE_S,
        )
        try:
            name, info = await self._create_consumer(config)
        except BusError:
            raise
        except Exception as exc:
            raise BusError(f"replay of {pattern}: {exc}") from exc
        try:
            if info.get("num_pending") == 0:
                return last
            psub = await self._js.pull_subscribe_bind(name, stream=self._stream)  # type: ignore[attr-defined]
            try:
                while True:
                    msgs = await psub.fetch(batch=512, timeout=10.0)
                    for msg in msgs:
                        seq = int(msg.metadata.sequence.stream)
                        if seq > last:
                            return last
                        await _deliver(handler, Message(msg.subject, msg.data, seq), counter)
                        if seq == last or msg.metadata.num_pending == 0:
                            return last
            finally:
                try:
                    await psub.unsubscribe()
                except Exception as exc:
                    log.debug("replay unsubscribe: %s", exc)
        except BusError:
            raise
        except Exception as exc:
            raise BusError(f"replay of {pattern}: {exc}") from exc
        finally:
            await self._delete_consumer(name)

    async def last_seq(self) -> int:
        """Last sequence number of the stream (0 when empty).

        From the stream's information, or, with a ``head_filter``, from a consumer created to
        deliver only new messages: the server starts it right after the stream's last message.
        """
        from nats.js import api

        if self._head_filter is None:
            try:
                info = await self._js.stream_info(self._stream)  # type: ignore[attr-defined]
            except Exception as exc:
                raise BusError(f"stream {self._stream}: {exc}") from exc
            return int(info.state.last_seq)
        config = api.ConsumerConfig(
            filter_subject=self._head_filter,
            deliver_policy=api.DeliverPolicy.NEW,
            ack_policy=api.AckPolicy.NONE,
            inactive_threshold=_INACTIVE_S,
        )
        try:
            name, info = await self._create_consumer(config)
        except BusError:
            raise
        except Exception as exc:
            raise BusError(f"stream {self._stream}: {exc}") from exc
        await self._delete_consumer(name)
        delivered = info.get("delivered")
        return int(delivered["stream_seq"]) if isinstance(delivered, dict) else 0

    async def last_message(self, subject: str) -> Message | None:
        """The newest stored message on exactly ``subject``, or None."""
        import nats.js.errors

        check_subject(subject)
        # Direct get names the subject in the API subject, so permissions can narrow it.
        try:
            raw = await self._js.get_last_msg(self._stream, subject, direct=True)  # type: ignore[attr-defined]
        except nats.js.errors.NotFoundError:
            return None
        except Exception as exc:
            raise BusError(f"last message on {subject}: {exc}") from exc
        return Message(raw.subject or subject, raw.data or b"", int(raw.seq))

    async def close(self) -> None:
        """Unsubscribe everything and close the connection."""
        for sub in self._subs:
            await sub.unsubscribe()
        self._subs.clear()
        try:
            await self._nc.close()  # type: ignore[attr-defined]
        except Exception as exc:
            log.debug("closing nats connection: %s", exc)


async def connect_bus(url: str, *, name: str = "airpicture", **options: object) -> Bus:
    """Open the bus named by a URL: ``memory://`` (a new in-process bus), ``nats://host:port``
    or ``tls://host:port``, or a comma-separated list of the servers of one cluster
    (``options`` go to :meth:`NatsBus.connect`: TLS, nkey, inbox).

    Raises
    ------
    ConfigError
        On a URL of another scheme.
    BusError
        When a NATS server cannot be reached.
    """
    if url.startswith("memory://"):
        return MemoryBus()
    if url.startswith(("nats://", "tls://")):
        return await NatsBus.connect(url, name=name, **options)  # type: ignore[arg-type]
    raise ConfigError(
        "bus", key="bus", expected="a URL memory:// or nats://HOST:PORT", got=repr(url)
    )
