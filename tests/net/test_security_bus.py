"""The bus as a shared resource, on a real secure nats-server: the stream's limits, no stream
information for a nation, each nation's JetStream consumers its own and limited in number, and
other nations' delivery subjects out of reach (rows 6 and 7 of the security review)."""

from __future__ import annotations

import json
from pathlib import Path

import nats
import pytest

from airpicture.net import (
    ADMIN,
    CONSUMERS_PER_NATION,
    BusError,
    Message,
    NatsBus,
    NatsServer,
    StreamLimits,
    init_keys,
)
from airpicture.net._security import nats_options
from tests.net.conftest import wait_until
from tests.net.helpers import NATIONS, raw_nats_connection


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("keys") / "keys"
    init_keys(directory, NATIONS)
    return directory


@pytest.fixture
def server(keys: Path):
    server = NatsServer(keys_dir=keys).start()
    try:
        yield server
    finally:
        server.stop()


async def _refused(nc, violations: list[str], subject: str, payload: bytes = b"") -> bool:
    """True when the server drops a request on ``subject`` as a permission violation."""
    with pytest.raises(nats.errors.TimeoutError):
        await nc.request(subject, payload, timeout=0.5)
    await wait_until(lambda: any(subject.lower() in v for v in violations))
    return True


def _create(name: str, filter_subject: str, **config) -> tuple[str, bytes]:
    """The API subject and request creating consumer ``name`` on ``filter_subject``."""
    request = {
        "stream_name": "AIR",
        "config": {"name": name, "filter_subject": filter_subject, "ack_policy": "none", **config},
        "action": "create",
    }
    return f"$JS.API.CONSUMER.CREATE.AIR.{name}.{filter_subject}", json.dumps(request).encode()


async def test_the_stream_is_created_with_its_limits(keys):
    """Row 7: the stream had no size or age limit."""
    limits = StreamLimits(
        max_bytes=4 << 20, max_age_s=600.0, max_msgs_per_subject=3, max_message_bytes=4096
    )
    with NatsServer(keys_dir=keys, limits=limits) as server:
        admin = await NatsBus.connect(server.url, name="admin", **nats_options(keys, ADMIN))
        try:
            info = await admin._js.stream_info("AIR")
            config = info.config
            assert (config.max_bytes, config.max_age) == (4 << 20, 600.0)
            assert (config.max_msgs_per_subject, config.max_msg_size) == (3, 4096)
            seqs = [await admin.publish("air.hb.JPN.USA", b"%d" % i) for i in range(5)]
            kept: list[Message] = []

            async def keep(message: Message) -> None:
                kept.append(message)

            await admin.replay("air.hb.JPN.USA", keep)
            assert [m.seq for m in kept] == seqs[-3:]  # one subject keeps its newest 3
            with pytest.raises(BusError, match="maximum"):
                await admin.publish("air.hb.JPN.USA", b"x" * 5000)
        finally:
            await admin.close()
    with NatsServer(keys_dir=keys) as server:  # the defaults
        admin = await NatsBus.connect(server.url, name="admin", **nats_options(keys, ADMIN))
        config = (await admin._js.stream_info("AIR")).config
        default = StreamLimits()
        assert (config.max_bytes, config.max_age) == (default.max_bytes, default.max_age_s)
        assert config.max_msgs_per_subject == default.max_msgs_per_subject
        assert config.max_msg_size == default.max_message_bytes
        await admin.close()


async def test_a_nation_gets_no_stream_information_yet_its_node_reads_the_head(server, keys):
    """Row 6: the stream's information with a subjects filter listed every subject and its
    count to any nation (who sends how much to whom)."""
    admin = await NatsBus.connect(server.url, name="admin", **nats_options(keys, ADMIN))
    jpn = await NatsBus.connect(server.url, name="jpn", **nats_options(keys, "JPN"))
    nc, violations = await raw_nats_connection(server.url, keys, "JPN")
    try:
        for subject in ("air.det.USA.AUS", "air.det.USA.JPN", "air.hb.AUS.USA"):
            await admin.publish(subject, b"x")
        listing = json.dumps({"subjects_filter": ">"}).encode()
        assert await _refused(nc, violations, "$JS.API.STREAM.INFO.AIR", listing)
        for subject in ("$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST", "$JS.API.INFO"):
            assert await _refused(nc, violations, subject)
        # What the node needs still works: the stream's head, a replay of its own subjects.
        assert await jpn.last_seq() == await admin.last_seq() == 3
        got: list[str] = []

        async def keep(message: Message) -> None:
            got.append(message.subject)

        assert await jpn.replay("air.*.*.JPN", keep) == 3
        assert got == ["air.det.USA.JPN"]
    finally:
        await nc.close()
        for bus in (jpn, admin):
            await bus.close()


async def test_a_nation_holds_only_its_own_consumers_and_at_most_its_limit(server, keys):
    """Row 7: Japan created 200 consumers, and read and deleted the USA's consumer by name."""
    admin = await NatsBus.connect(server.url, name="admin", **nats_options(keys, ADMIN))
    usa = await NatsBus.connect(server.url, name="usa", **nats_options(keys, "USA"))
    jpn = await NatsBus.connect(server.url, name="jpn", **nats_options(keys, "JPN"))
    nc, violations = await raw_nats_connection(server.url, keys, "JPN")
    got: list[str] = []

    async def keep(message: Message) -> None:
        got.append(message.subject)

    try:
        await usa.subscribe("air.*.*.USA", keep)
        assert (await admin._js.consumer_info("AIR", "USA_0")).config.filter_subject == (
            "air.*.*.USA"
        )
        # The USA's consumer: Japan can neither look it up, fetch from it nor delete it, nor
        # list the consumers to find it.
        for op in ("INFO", "DELETE", "MSG.NEXT"):
            assert await _refused(nc, violations, f"$JS.API.CONSUMER.{op}.AIR.USA_0")
        for op in ("LIST", "NAMES"):
            assert await _refused(nc, violations, f"$JS.API.CONSUMER.{op}.AIR")
        # Japan cannot create consumers under another nation's name, a name of its choosing,
        # no name, or a filter it may not read.
        for name, filter_subject in (
            ("USA_1", "air.*.*.JPN"),
            ("spy", "air.*.*.JPN"),
            ("JPN_0", "air.*.*.USA"),
        ):
            assert await _refused(nc, violations, *_create(name, filter_subject))
        assert await _refused(nc, violations, "$JS.API.CONSUMER.CREATE.AIR")
        # At most CONSUMERS_PER_NATION consumers at a time, then no more.
        subs = [await jpn.subscribe("air.*.*.JPN", keep) for _ in range(CONSUMERS_PER_NATION)]
        with pytest.raises(BusError, match="no free consumer name"):
            await jpn.subscribe("air.*.*.JPN", keep)
        extra = f"JPN_{CONSUMERS_PER_NATION}"
        assert await _refused(nc, violations, *_create(extra, "air.*.*.JPN"))
        # One freed, one more.
        await subs[0].unsubscribe()
        subs[0] = await jpn.subscribe("air.*.*.JPN", keep)
        # The USA's consumer is untouched and still delivers.
        await admin.publish("air.det.AUS.USA", b"for the USA")
        await wait_until(lambda: "air.det.AUS.USA" in got)
        assert (await admin._js.consumer_info("AIR", "USA_0")).name == "USA_0"
    finally:
        await nc.close()
        for bus in (jpn, usa, admin):
            await bus.close()


async def test_other_nations_delivery_subjects_stay_out_of_reach(server, keys):
    """Row 7: a push consumer of Japan delivering into ``_INBOX_USA.*`` was accepted.

    nats-server does not check a consumer's delivery subject against its creator's
    permissions, so the server still accepts it; what keeps it from reaching the USA is that
    the USA only listens on delivery and reply subjects under random 22-character tokens
    (``_INBOX_USA.<nuid>``) which no other nation can learn: it cannot subscribe to them,
    look up the USA's consumers (which name their delivery subjects), list consumers, or
    watch the JetStream advisories. The USA's subscription receives none of Japan's
    deliveries."""
    admin = await NatsBus.connect(server.url, name="admin", **nats_options(keys, ADMIN))
    usa = await NatsBus.connect(server.url, name="usa", **nats_options(keys, "USA"))
    nc, violations = await raw_nats_connection(server.url, keys, "JPN")
    got: list[bytes] = []

    async def keep(message: Message) -> None:
        got.append(message.data)

    try:
        await usa.subscribe("air.*.*.USA", keep)
        for subject in ("_INBOX_USA.>", "$JS.EVENT.ADVISORY.>", "$JS.EVENT.>", ">"):
            await nc.subscribe(subject)
        await nc.flush()
        await wait_until(lambda: sum("subscription" in v for v in violations) >= 4)
        assert await _refused(nc, violations, "$JS.API.CONSUMER.INFO.AIR.USA_0")
        # A push consumer of Japan towards a subject in the USA's inbox: delivered there, to no
        # one (the USA's delivery subject is not that one).
        subject, request = _create(
            "JPN_0", "air.*.*.JPN", deliver_subject="_INBOX_USA.guess", deliver_policy="all"
        )
        answer = json.loads((await nc.request(subject, request, timeout=2)).data)
        assert "error" not in answer
        await admin.publish("air.det.AUS.JPN", b"for Japan")
        await admin.publish("air.det.AUS.USA", b"for the USA")
        await wait_until(lambda: b"for the USA" in got)
        assert got == [b"for the USA"]
    finally:
        await nc.close()
        for bus in (usa, admin):
            await bus.close()
