"""Nodes in one process, on the memory bus and on a real nats-server (one connection per node):
identical pictures, late start, release policy, bad input, health."""

from __future__ import annotations

import asyncio
import math
import time

import httpx
import msgspec
import numpy as np
import pytest

from airpicture.errors import ConfigError
from airpicture.net import (
    Bus,
    DetectionBatch,
    Heartbeat,
    LabelSpace,
    MemoryBus,
    NatsBus,
    NatsServer,
    PictureDelta,
    decode_message,
    encode_message,
)
from airpicture.node import Node, NodeConfig
from airpicture.tables import per_sensor_sequence
from tests.net.conftest import wait_until
from tests.net.helpers import NATIONS, assert_same_picture, batch_picture, node_values


class Network:
    """The bus of one test: a shared MemoryBus, or a fresh nats-server that each node dials."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.server = NatsServer().start() if kind == "nats" else None
        self._memory = MemoryBus() if kind == "memory" else None

    def node(self, values: dict) -> Node:
        if self.server is not None:
            return Node(
                NodeConfig.from_mapping({**values, "bus": self.server.url, "insecure": True})
            )
        return Node(NodeConfig.from_mapping(values), bus=self._memory)

    async def client(self) -> Bus:
        if self.server is not None:
            return await NatsBus.connect(self.server.url, name="test-client")
        return self._memory

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


@pytest.fixture(params=["memory", "nats"])
def network(request):
    net = Network(request.param)
    yield net
    net.close()


async def _run_nodes(nodes: list[Node], *, stagger_s: float = 0.0) -> None:
    runs = []
    for i, node in enumerate(nodes):
        if i and stagger_s:
            await asyncio.sleep(stagger_s)
        runs.append(asyncio.create_task(node.run()))
    await asyncio.wait_for(asyncio.gather(*runs), timeout=60)


async def test_three_nodes_hold_the_batch_trackers_picture(scenario_dir, network):
    nodes = [network.node(node_values(n, scenario_dir)) for n in NATIONS]
    await _run_nodes(nodes)
    expected = batch_picture(scenario_dir)
    assert len(expected) > 100
    for node in nodes:
        assert node.done
        assert_same_picture(node.picture, expected)
        health = node.health()
        assert health["rejected"] == {} and health["late"] == 0
        assert health["processed"] == health["received"]["detections"]
    assert {s for s in expected.nations} >= {"AUS;JPN;USA"}


async def test_a_node_that_starts_late_catches_up_and_agrees(scenario_dir, network):
    nodes = [network.node(node_values(n, scenario_dir, start_in_s=0.1)) for n in NATIONS]
    await _run_nodes(nodes, stagger_s=0.4)  # the last node starts about 40 s of scenario time late
    expected = batch_picture(scenario_dir)
    for node in nodes:
        assert_same_picture(node.picture, expected)


async def test_withholding_a_sensor_removes_exactly_its_contribution(scenario_dir, network):
    policy = {"default": ["*"], "sensors": {"JPN-R1": ["AUS"]}}  # JPN-R1 withheld from the USA
    configs = {n: node_values(n, scenario_dir) for n in NATIONS}
    configs["JPN"]["release"] = policy
    nodes = {n: network.node(v) for n, v in configs.items()}
    await _run_nodes(list(nodes.values()))
    full = batch_picture(scenario_dir, released={"JPN-R1": ("JPN", "AUS")})
    without = batch_picture(scenario_dir, drop_sensor="JPN-R1")
    assert_same_picture(nodes["JPN"].picture, full)
    assert_same_picture(nodes["AUS"].picture, full)
    assert_same_picture(nodes["USA"].picture, without)
    assert len(without) != len(full)
    # Nothing of JPN-R1 ever reached the USA: its detections only.
    usa = nodes["USA"].health()
    jpn_r1 = int(np.count_nonzero(batch_detections_of(scenario_dir, "JPN-R1")))
    assert usa["received"]["detections"] == nodes["JPN"].health()["received"]["detections"] - jpn_r1


def batch_detections_of(scenario_dir, sensor_id):
    from airpicture.io import read_detections, read_sensors

    sensors = read_sensors(scenario_dir / "sensors.csv")
    dets = read_detections(scenario_dir / "detections.csv", sensors)
    return dets.sensor_index == sensors.index_of(sensor_id)


async def test_bad_messages_are_counted_by_reason_and_change_nothing(scenario_dir, network):
    bus = await network.client()
    good_hb = Heartbeat(recipient="JPN", clock_s=0.0)
    dets = DetectionBatch(
        recipient="JPN",
        clock_s=1.0,
        sensor_ids=["JPN-R1"],
        sensor_ref=b"",
        sensor_seq=b"",
        arrival_s=b"",
        t_s=b"",
        range_m=b"",
        azimuth_rad=b"",
        elevation_rad=b"",
        range_rate_mps=b"",
        sensor_lat_rad=b"",
        sensor_lon_rad=b"",
        sensor_alt_m=b"",
        label_nations=[],
        label=b"",
    )
    one = np.zeros(1)
    foreign = DetectionBatch(
        recipient="JPN",
        clock_s=1.0,
        sensor_ids=["JPN-R1"],
        sensor_ref=np.zeros(1, "<u2").tobytes(),
        sensor_seq=np.zeros(1, "<u8").tobytes(),
        arrival_s=one.tobytes(),
        t_s=one.tobytes(),
        range_m=(one + 1e4).tobytes(),
        azimuth_rad=one.tobytes(),
        elevation_rad=one.tobytes(),
        range_rate_mps=(one * np.nan).tobytes(),
        sensor_lat_rad=(one + 0.6).tobytes(),
        sensor_lon_rad=(one + 2.3).tobytes(),
        sensor_alt_m=one.tobytes(),
        label_nations=["JPN"],
        label=np.full(1, LabelSpace(("JPN",)).label({"JPN"}), "<u8").tobytes(),
    )
    unknown_sensor = msgspec.structs.replace(foreign, sensor_ids=["USA-R9"])
    bad = [
        ("air.det.USA.JPN", b"\x93garbage"),
        ("air.det.USA.JPN", msgspec.msgpack.encode([7, "hb", "intruder", "USA", 1, 1, b"", b""])),
        ("air.hb.AUS.JPN", encode_message("hb", good_hb, sender="intruder", nation="USA", seq=1)),
        ("air.det.USA.JPN", encode_message("det", foreign, sender="intruder", nation="USA", seq=2)),
        (
            "air.det.USA.JPN",
            encode_message("det", unknown_sensor, sender="intruder", nation="USA", seq=3),
        ),
        ("air.hb.GBR.JPN", encode_message("hb", good_hb, sender="intruder", nation="GBR", seq=1)),
        (
            "air.hb.USA.JPN",
            encode_message(
                "hb",
                Heartbeat(recipient="AUS", clock_s=0.0),
                sender="intruder",
                nation="USA",
                seq=4,
            ),
        ),
        (
            "air.det.USA.JPN",
            encode_message(
                "det",
                msgspec.structs.replace(dets, t_s=b"\x00"),
                sender="intruder",
                nation="USA",
                seq=5,
            ),
        ),
    ]
    for subject, data in bad:
        await bus.publish(subject, data)
    nodes = {n: network.node(node_values(n, scenario_dir)) for n in NATIONS}
    runs = [asyncio.create_task(node.run()) for node in nodes.values()]
    # Mid-run: replay one of the USA's real messages to Japan.
    real = []

    async def keep(message):
        if b"usa-node" in message.data:
            real.append(message)

    while len(real) < 2:  # re-send an older one: a replay, not the latest message again
        real.clear()
        await asyncio.sleep(0.02)
        await bus.replay("air.det.USA.JPN", keep)
    await bus.publish("air.det.USA.JPN", real[0].data)
    await asyncio.wait_for(asyncio.gather(*runs), timeout=60)

    rejected = nodes["JPN"].health()["rejected"]
    assert rejected == {
        "malformed": 1,
        "version": 1,
        "subject": 1,
        "sensor": 2,
        "sender": 1,
        "recipient": 1,
        "length": 1,
        "replay": 1,
    }
    expected = batch_picture(scenario_dir)
    for node in nodes.values():
        assert_same_picture(node.picture, expected)
    if network.kind == "nats":
        await bus.close()


async def test_health_over_http(scenario_dir):
    bus = MemoryBus()
    values = node_values("JPN", scenario_dir, health_port=0, exit_when_done=False, network=["JPN"])
    node = Node(NodeConfig.from_mapping(values), bus=bus)
    stop = asyncio.Event()
    run = asyncio.create_task(node.run(stop))
    await wait_until(lambda: node.health_port is not None and node.done)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{node.health_port}") as client:
        foreign = await client.get("/health", headers={"Host": "evil.example"})
        response = await client.get("/health")
        missing = await client.get("/nope")
        posted = await client.post("/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    health = response.json()
    assert health["nation"] == "JPN" and health["done"] is True
    for key in ("received", "rejected", "late", "processed", "lag_s", "tracks", "peers", "pending"):
        assert key in health
    assert isinstance(health["registration"], dict)
    assert health["received"]["detections"] == health["processed"] > 0
    assert missing.status_code == 404 and "GET /health" in missing.json()["error"]
    assert foreign.status_code == 403 and foreign.json()["error"]["where"] == "Host header"
    assert health["rejected_requests"] == {"total": 1, "by_reason": {"403 Host header": 1}}
    assert posted.status_code == 404
    stop.set()
    await run


def test_node_config_from_toml_with_inline_sensors(tmp_path):
    path = tmp_path / "jpn.toml"
    path.write_text(
        """
nation = "JPN"
bus = "memory://"
health_port = 0
record = "out/tracks.csv"

[[sensors]]
sensor_id = "JPN-R1"
nation = "JPN"
kind = "radar"
lat_deg = 35.6
lon_deg = 135.4
alt_m = 60
sigma_range_m = 40
sigma_azimuth_deg = 0.15
sigma_elevation_deg = 0.15
max_range_m = 450000
scan_period_s = 2

[[sensors]]
sensor_id = "USA-R1"
nation = "USA"
kind = "ir"
lat_deg = 37
lon_deg = 137.6
alt_m = 40
sigma_azimuth_deg = 0.05
sigma_elevation_deg = 0.05
max_range_m = 450000
scan_period_s = 2

[release]
default = ["USA"]

[tracker]
latency_window_s = 3.0
"""
    )
    config = NodeConfig.from_toml(path)
    assert config.node_id == "jpn-node" and config.own_sensors == ("JPN-R1",)
    assert config.network == ("JPN", "USA") and config.health_port == 0
    assert config.record == tmp_path / "out" / "tracks.csv"
    assert config.tracker.latency_window_s == 3.0
    assert math.isclose(config.sensors[0].sigma_azimuth_rad, math.radians(0.15))
    assert math.isnan(config.sensors[1].sigma_range_m)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"nation": "Japan"}, "key nation: expected an ISO 3166-1 alpha-3 code"),
        ({"tick_s": 0.0}, "key tick_s: expected a number in"),
        ({"colour": "red"}, "key colour: expected one of"),
        ({"own_sensors": ["USA-R1"]}, "key own_sensors: expected sensors of JPN"),
        ({"tracker": {"frame_s": -1.0}}, "key frame_s: expected a number in"),
        ({"release": {"sensors": {"USA-R1": ["AUS"]}}}, "key release.sensors.USA-R1"),
        ({"sensors_file": ""}, "key sensors_file: expected a sensors table"),
        ({"source": {"speed": 2.0}}, "key source.scenario_dir"),
    ],
)
def test_node_config_errors(scenario_dir, change, message):
    values = node_values("JPN", scenario_dir)
    values.update(change)
    with pytest.raises(ConfigError, match=message):
        NodeConfig.from_mapping(values, source="jpn.toml")


def test_per_sensor_sequence_numbers_each_sensors_rows_in_order():
    index = np.array([2, 0, 2, 1, 0, 2])
    assert per_sensor_sequence(index).tolist() == [0, 0, 1, 0, 1, 2]


def test_time_is_not_needed_for_identity():
    """Node identities and sequence numbers: a restarted sender keeps numbering upwards."""
    before = time.time_ns()
    node = Node(NodeConfig.from_mapping({"nation": "JPN", "sensors": _one_sensor()}))
    first = node.sender.next_seq()
    assert first >= before and node.sender.next_seq() > first


def _one_sensor():
    return [
        {
            "sensor_id": "JPN-R1",
            "nation": "JPN",
            "kind": "radar",
            "lat_deg": 35.0,
            "lon_deg": 135.0,
            "alt_m": 0,
            "sigma_range_m": 40,
            "sigma_azimuth_deg": 0.1,
            "sigma_elevation_deg": 0.1,
            "max_range_m": 4e5,
            "scan_period_s": 2,
        }
    ]


async def test_reports_later_than_the_window_still_give_one_picture_everywhere(tmp_path):
    """Late reports go through the tracker's out-of-sequence path; nodes still agree exactly."""
    from tests.net.synthetic import synthetic_scenario

    folder = synthetic_scenario(n_targets=8, duration_s=40.0, max_delay_s=5.0, seed=5).write(
        tmp_path
    )
    bus = MemoryBus()
    tracker = {"latency_window_s": 0.5}
    nodes = [
        Node(
            NodeConfig.from_mapping(node_values(n, folder, start_in_s=0.1, tracker=tracker)),
            bus=bus,
        )
        for n in NATIONS
    ]
    await _run_nodes(nodes, stagger_s=0.2)
    assert nodes[0].health()["late"] > 0
    for node in nodes[1:]:
        assert_same_picture(node.picture, nodes[0].picture)


async def test_a_track_ends_on_the_wire_with_one_deleted_row(tmp_path):
    """The pictures (``air.pic``) and shared tracks (``air.trk``) on the wire: a track's rows
    end with one ``deleted`` row, and nothing of that number comes after it. No detection in the
    middle of the run: tracks then end, in the pictures and as shared."""
    from tests.net.synthetic import T0_S, SyntheticScenario, synthetic_scenario

    full = synthetic_scenario(n_targets=4, duration_s=60.0, seed=3)
    kept = (full.detections.t_s < T0_S + 20.0) | (full.detections.t_s > T0_S + 45.0)
    folder = SyntheticScenario(
        full.sensors, full.detections.take(kept), full.arrival_s[kept]
    ).write(tmp_path)
    bus = MemoryBus()
    start = time.time() + 0.2
    nodes = []
    for nation in NATIONS:
        values = node_values(nation, folder, speed=100.0, release={"tracks": {"to": ["*"]}})
        values["source"]["start_at_unix_s"] = start
        nodes.append(Node(NodeConfig.from_mapping(values), bus=bus))
    await _run_nodes(nodes)

    sent: dict[tuple[str, str], list[tuple[float, str]]] = {}  # (subject, track): (t, status)

    async def keep(message):
        _, payload = decode_message(message.data)
        delta = payload if isinstance(payload, PictureDelta) else payload.picture
        tracks = delta.to_rows()
        for track_id, t_s, status in zip(tracks.track_id, tracks.t_s, tracks.status, strict=True):
            sent.setdefault((message.subject, str(track_id)), []).append((float(t_s), str(status)))

    await bus.replay("air.pic.*", keep)
    await bus.replay("air.trk.*.*", keep)
    ended = set()
    for (subject, track_id), rows in sent.items():
        statuses = [s for _, s in rows]
        assert "deleted" not in statuses[:-1], (subject, track_id, rows)
        if statuses[-1] == "deleted":
            ended.add(subject.split(".")[1])
    assert ended == {"pic", "trk"}


def test_the_start_of_a_node_waits_out_a_bus_that_does_not_answer(monkeypatch):
    """A cluster electing a new stream leader answers nothing for seconds: the node's start
    tries again (doubling waits) and gives up only after _STARTUP_RETRY_S."""
    import airpicture.node._node as node_module
    from airpicture.net import BusError

    calls = []

    async def flaky() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise BusError("stream AIR: nats: timeout")
        return 42

    assert asyncio.run(node_module._retrying("JPN: the stream", flaky)) == 42 and len(calls) == 3

    async def never() -> int:
        raise BusError("stream AIR: nats: timeout")

    monkeypatch.setattr(node_module, "_STARTUP_RETRY_S", 0.5)
    with pytest.raises(BusError, match="timeout"):
        asyncio.run(node_module._retrying("JPN: the stream", never))
