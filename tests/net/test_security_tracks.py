"""Shared tracks on a secure nats-server: a nation can read only the track subjects addressed to
it and publish tracks only as itself, and secure nodes share tracks through those permissions."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from airpicture.net import ADMIN, BusError, Message, NatsBus, NatsServer, init_keys
from airpicture.net._security import PolicyBus, nats_options
from airpicture.node import Node, NodeConfig
from tests.net.conftest import wait_until
from tests.net.helpers import NATIONS, node_keys, node_values, raw_nats_connection


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


async def test_a_nation_reads_only_the_track_subjects_addressed_to_it(server, keys):
    url = server.url
    aus = await NatsBus.connect(url, name="aus", api_timeout_s=0.5, **nats_options(keys, "AUS"))
    jpn = await NatsBus.connect(url, name="jpn", **nats_options(keys, "JPN"))
    admin = await NatsBus.connect(url, name="admin", **nats_options(keys, ADMIN))
    try:
        got: list[str] = []

        async def keep(message: Message) -> None:
            got.append(message.subject)

        # JetStream consumers on tracks shared with another nation are refused ...
        for pattern in ("air.trk.JPN.USA", "air.trk.*.USA", "air.trk.JPN.*", "air.trk.>"):
            with pytest.raises(BusError):
                await aus.subscribe(pattern, keep, from_seq=1)
        with pytest.raises(BusError):
            await aus.last_message("air.trk.JPN.USA")
        # ... and so are core subscriptions and publishing tracks as another nation.
        nc, violations = await raw_nats_connection(url, keys, "AUS")

        async def core(msg) -> None:
            got.append(msg.subject)

        await nc.subscribe("air.trk.JPN.USA", cb=core)
        await nc.publish("air.trk.JPN.USA", b"forged")
        await nc.flush()
        await jpn.publish("air.trk.JPN.USA", b"for the USA only")
        await wait_until(lambda: len(violations) >= 2)
        await nc.close()
        assert any("subscription" in v and "air.trk.jpn.usa" in v for v in violations)
        assert any("publish" in v and "air.trk.jpn.usa" in v for v in violations)
        assert (await admin.last_message("air.trk.JPN.USA")).data == b"for the USA only"
        assert "air.trk.JPN.USA" not in got
        # What is addressed to it arrives.
        sub = await aus.subscribe("air.*.*.AUS", keep, from_seq=1)
        await jpn.publish("air.trk.JPN.AUS", b"for AUS")
        await wait_until(lambda: "air.trk.JPN.AUS" in got)
        await sub.unsubscribe()
    finally:
        for bus in (aus, jpn, admin):
            await bus.close()


def test_the_policy_bus_keeps_track_subjects_to_their_recipient():
    from airpicture.net import MemoryBus

    async def run() -> None:
        shared = MemoryBus()
        aus = PolicyBus(shared, "AUS")

        async def keep(message: Message) -> None:
            raise AssertionError(message.subject)

        for pattern in ("air.trk.JPN.USA", "air.trk.*.USA", "air.trk.>"):
            with pytest.raises(BusError, match="permission denied"):
                await aus.subscribe(pattern, keep)
        with pytest.raises(BusError, match="permission denied"):
            await aus.publish("air.trk.JPN.AUS", b"forged")
        assert aus.denied == 4

    asyncio.run(run())


async def test_secure_nodes_share_tracks_over_nats(server, keys, scenario_dir, tmp_path):
    start = time.time() + 0.5
    nodes = {}
    for nation in NATIONS:
        values = node_values(
            nation,
            scenario_dir,
            bus=server.url,
            security={
                "keys_dir": str(node_keys(keys, nation)),
                "audit_log": str(tmp_path / f"{nation}.jsonl"),
            },
            release={"tracks": {"to": ["*"], "kinds": {"aircraft": ["USA"]}}}
            if nation == "JPN"
            else {},
            exit_when_done=False,
        )
        values["source"]["start_at_unix_s"] = start
        nodes[nation] = Node(NodeConfig.from_mapping(values))
    stop = asyncio.Event()
    runs = [asyncio.create_task(n.run(stop)) for n in nodes.values()]

    def shared_arrived() -> bool:
        sent = nodes["JPN"].health()["shared"]["sent"]
        # firm tracks only are shared: the aircraft to the USA; AUS may get none
        return (
            nodes["JPN"].done
            and sent["USA"]["rows"] > 0
            and all(
                nodes[r].health()["shared"]["received"].get("JPN", 0) == sent[r]["rows"]
                for r in ("AUS", "USA")
            )
        )

    try:
        await wait_until(shared_arrived, deadline_s=60)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*runs), timeout=30)
    for nation, node in nodes.items():
        health = node.health()
        assert health["rejected"] == {} and health["dropped"] == {}, nation
    assert "aircraft" not in set(nodes["AUS"].shared.rows.kind)
    assert set(nodes["USA"].shared.owner) == {"JPN"}
