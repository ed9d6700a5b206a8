"""The bus contract: MemoryBus and NatsBus (on a real nats-server) must behave alike."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airpicture.net import (
    Bus,
    MemoryBus,
    Message,
    NatsBus,
    check_pattern,
    check_subject,
    subject_matches,
)
from tests.net.conftest import wait_until


@pytest.fixture(params=["memory", "nats"])
def open_bus(
    request: pytest.FixtureRequest,
) -> Callable[[], contextlib.AbstractAsyncContextManager]:
    """Opens a fresh bus and a subject prefix of its own (each NATS test gets its own stream)."""
    url = request.getfixturevalue("nats_server").url if request.param == "nats" else None

    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[tuple[Bus, str]]:
        tag = uuid.uuid4().hex[:10]
        prefix = f"c{tag}"
        if url is None:
            bus: Bus = MemoryBus()
        else:
            bus = await NatsBus.connect(
                url, name=f"test-{tag}", stream=f"C{tag}", subjects=(f"{prefix}.>",)
            )
        try:
            yield bus, prefix
        finally:
            await bus.close()

    return opened


class Collector:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def seqs(self) -> list[int]:
        return [m.seq for m in self.messages]

    @property
    def subjects(self) -> list[str]:
        return [m.subject for m in self.messages]


async def test_publish_numbers_messages_in_order(open_bus):
    async with open_bus() as (bus, p):
        first = await bus.last_seq()
        seqs = [await bus.publish(f"{p}.a.{i}", b"x") for i in range(5)]
        assert seqs == list(range(first + 1, first + 6))
        assert await bus.last_seq() == seqs[-1]


async def test_subscribe_delivers_live_matches_in_order_with_payload(open_bus):
    async with open_bus() as (bus, p):
        got = Collector()
        await bus.subscribe(f"{p}.det.*.USA", got)
        payloads = [bytes([i]) * i for i in range(1, 6)]
        for i, data in enumerate(payloads):
            await bus.publish(f"{p}.det.N{i}.USA", data)
            await bus.publish(f"{p}.det.N{i}.AUS", b"not for USA")
        await wait_until(lambda: len(got.messages) == 5)
        assert [m.data for m in got.messages] == payloads
        assert got.seqs == sorted(got.seqs)
        assert all(s.endswith(".USA") for s in got.subjects)


@pytest.mark.parametrize(
    ("pattern", "matching"),
    [
        ("{p}.det.JPN.USA", ["{p}.det.JPN.USA"]),
        ("{p}.*.JPN.USA", ["{p}.det.JPN.USA", "{p}.hb.JPN.USA"]),
        ("{p}.det.>", ["{p}.det.JPN.USA", "{p}.det.USA.JPN", "{p}.det.x"]),
        ("{p}.*", ["{p}.pic"]),
        ("{p}.>", ["{p}.det.JPN.USA", "{p}.hb.JPN.USA", "{p}.det.USA.JPN", "{p}.det.x", "{p}.pic"]),
    ],
)
async def test_wildcards(open_bus, pattern, matching):
    async with open_bus() as (bus, p):
        subjects = ["{p}.det.JPN.USA", "{p}.hb.JPN.USA", "{p}.det.USA.JPN", "{p}.det.x", "{p}.pic"]
        live, history = Collector(), Collector()
        await bus.subscribe(pattern.format(p=p), live)
        for s in subjects:
            await bus.publish(s.format(p=p), b"-")
        expected = [m.format(p=p) for m in subjects if m in matching]
        await wait_until(lambda: len(live.messages) == len(expected))
        await bus.replay(pattern.format(p=p), history)
        assert live.subjects == expected
        assert history.subjects == expected


async def test_subscribe_from_seq_gives_history_then_live_without_gap_or_duplicate(open_bus):
    async with open_bus() as (bus, p):
        seqs = [await bus.publish(f"{p}.x.{i % 2}", str(i).encode()) for i in range(6)]
        got = Collector()
        await bus.subscribe(f"{p}.x.*", got, from_seq=seqs[2])
        for i in range(6, 9):
            await bus.publish(f"{p}.x.{i % 2}", str(i).encode())
        await wait_until(lambda: len(got.messages) == 7)
        assert [m.data for m in got.messages] == [str(i).encode() for i in range(2, 9)]
        assert got.seqs == list(range(seqs[2], seqs[2] + 7))


async def test_subscribe_without_from_seq_is_live_only(open_bus):
    async with open_bus() as (bus, p):
        await bus.publish(f"{p}.old", b"old")
        got = Collector()
        await bus.subscribe(f"{p}.>", got)
        await bus.publish(f"{p}.new", b"new")
        # Delivery is in order: once the marker is in, so is anything else that was coming.
        await bus.publish(f"{p}.marker", b"marker")
        await wait_until(lambda: b"marker" in [m.data for m in got.messages])
        assert [m.data for m in got.messages] == [b"new", b"marker"]


async def test_replay_delivers_stored_matches_and_returns_the_last_sequence(open_bus):
    async with open_bus() as (bus, p):
        seqs = [await bus.publish(f"{p}.{'a' if i % 3 else 'b'}.k", bytes([i])) for i in range(9)]
        got = Collector()
        last = await bus.replay(f"{p}.a.*", got)
        assert last == seqs[-1]
        assert [m.data for m in got.messages] == [bytes([i]) for i in range(9) if i % 3]
        got2 = Collector()
        await bus.replay(f"{p}.a.*", got2, from_seq=seqs[5])
        assert [m.data for m in got2.messages] == [bytes([i]) for i in range(5, 9) if i % 3]
        none = Collector()
        assert await bus.replay(f"{p}.nothing.>", none) == seqs[-1]
        assert none.messages == []


async def test_last_message_on_exact_subject(open_bus):
    async with open_bus() as (bus, p):
        assert await bus.last_message(f"{p}.hb.JPN.USA") is None
        await bus.publish(f"{p}.hb.JPN.USA", b"1")
        seq = await bus.publish(f"{p}.hb.JPN.USA", b"2")
        await bus.publish(f"{p}.hb.JPN.AUS", b"3")
        last = await bus.last_message(f"{p}.hb.JPN.USA")
        assert last is not None and (last.data, last.seq, last.subject) == (
            b"2",
            seq,
            f"{p}.hb.JPN.USA",
        )


async def test_a_failing_handler_is_counted_and_delivery_goes_on(open_bus, caplog):
    async with open_bus() as (bus, p):
        seen: list[bytes] = []

        async def fragile(message: Message) -> None:
            seen.append(message.data)
            if message.data == b"bad":
                raise RuntimeError("handler bug")

        sub = await bus.subscribe(f"{p}.>", fragile)
        for data in (b"ok1", b"bad", b"ok2"):
            await bus.publish(f"{p}.s", data)
        await wait_until(lambda: len(seen) == 3)
        assert seen == [b"ok1", b"bad", b"ok2"]
        assert sub.errors == 1
        assert "handler bug" in caplog.text


async def test_unsubscribe_stops_delivery_and_subscribers_are_independent(open_bus):
    async with open_bus() as (bus, p):
        a, b = Collector(), Collector()
        sub_a = await bus.subscribe(f"{p}.>", a)
        await bus.subscribe(f"{p}.>", b)
        await bus.publish(f"{p}.one", b"1")
        await wait_until(lambda: len(a.messages) == 1 and len(b.messages) == 1)
        await sub_a.unsubscribe()
        await bus.publish(f"{p}.two", b"2")
        # No marker can reach a subscription that is gone: b's, behind "2", stands for it.
        await bus.publish(f"{p}.marker", b"marker")
        await wait_until(lambda: len(b.messages) == 3)
        assert [m.data for m in b.messages] == [b"1", b"2", b"marker"]
        assert [m.data for m in a.messages] == [b"1"]


async def test_empty_and_binary_payloads_round_trip(open_bus):
    async with open_bus() as (bus, p):
        got = Collector()
        await bus.subscribe(f"{p}.>", got)
        payloads = [b"", bytes(range(256)), b"\x00" * 10_000]
        for data in payloads:
            await bus.publish(f"{p}.bin", data)
        await wait_until(lambda: len(got.messages) == 3)
        assert [m.data for m in got.messages] == payloads


@pytest.mark.parametrize("subject", ["", "air..x", "air.*", "air.>", "air.a b", ".air"])
async def test_invalid_subjects_are_refused(open_bus, subject):
    async with open_bus() as (bus, _):
        with pytest.raises(ValueError, match="subject"):
            await bus.publish(subject, b"")


@pytest.mark.parametrize("pattern", ["", "air.>.x", "air.a*", "air..b", "a>"])
async def test_invalid_patterns_are_refused(open_bus, pattern):
    async with open_bus() as (bus, _):

        async def ignore(message: Message) -> None:
            return None

        with pytest.raises(ValueError, match="pattern"):
            await bus.subscribe(pattern, ignore)


# ---------------------------------------------------------------------------- matching rule
_token = st.sampled_from(["air", "det", "JPN", "USA", "x"])


def _reference_match(pattern: str, subject: str) -> bool:
    """NATS matching written as a regular expression, independently of the implementation."""
    parts = pattern.split(".")
    regex = []
    for i, token in enumerate(parts):
        if token == ">":
            regex.append(r"[^.]+(\.[^.]+)*")
        elif token == "*":
            regex.append(r"[^.]+")
        else:
            regex.append(re.escape(token))
        if i < len(parts) - 1:
            regex.append(r"\.")
    return re.fullmatch("".join(regex), subject) is not None


@given(
    st.lists(_token, min_size=1, max_size=5),
    st.lists(st.one_of(_token, st.just("*")), min_size=1, max_size=5),
    st.booleans(),
)
def test_subject_matching_agrees_with_a_regular_expression(subject_tokens, pattern_tokens, tail):
    subject = ".".join(subject_tokens)
    pattern = ".".join(pattern_tokens + ([">"] if tail else []))
    check_subject(subject)
    check_pattern(pattern)
    assert subject_matches(pattern, subject) == _reference_match(pattern, subject)
