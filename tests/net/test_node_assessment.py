"""A node assesses its picture as the batch does: kinds, impacts and alerts, published on the
node's own subjects (air.impact.<NATION>, air.alert.<NATION>), permitted for that nation only,
recorded next to the tracks table and counted in the health."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pytest

from airpicture.assess import AssessConfig, read_warning_areas
from airpicture.batch import track_scenario
from airpicture.errors import ConfigError, DataError
from airpicture.io import read_alerts, read_impacts
from airpicture.net import BusError, MemoryBus, Message, decode_message, init_keys
from airpicture.net._security import PolicyBus, nats_permissions, pattern_within
from airpicture.node import Node, NodeConfig
from airpicture.sim import load_scenario, simulate
from airpicture.tables import AlertRows, ImpactRows
from airpicture.tracker import TrackerConfig
from tests.net.conftest import wait_until
from tests.net.helpers import node_keys

TRACKER = {"latency_window_s": 4.0}
ASSESS = {"alert_min_hits": 5}
AIM = (35.6857, 142.7102)  # where the re-entry scenario's body comes down


def _box(area_id: str, lat: float, lon: float, h: float = 0.1) -> dict:
    ring = [[lon - h, lat - h], [lon + h, lat - h], [lon + h, lat + h], [lon - h, lat + h]]
    return {
        "type": "Feature",
        "properties": {"id": area_id, "name": area_id.title()},
        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
    }


@pytest.fixture(scope="module")
def reentry(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The library's re-entry scenario on disk, and warning areas: one on the impact point."""
    folder = tmp_path_factory.mktemp("reentry")
    simulate(load_scenario("reentry"), folder)
    areas = folder / "areas.geojson"
    features = [_box("target", *AIM), _box("elsewhere", AIM[0] + 2.0, AIM[1])]
    areas.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return folder, areas


def _values(folder: Path, areas: Path, **extra: object) -> dict:
    return {
        "nation": "JPN",
        "sensors_file": str(folder / "sensors.csv"),
        "tick_s": 0.02,
        "exit_when_done": True,
        "source": {"scenario_dir": str(folder), "speed": 50.0, "start_at_unix_s": time.time()},
        "tracker": dict(TRACKER),
        "assess": {**ASSESS, "areas": str(areas)},
        **extra,
    }


async def test_a_node_publishes_and_records_the_batch_assessment(reentry, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder, areas = reentry
    init_keys(tmp_path / "keys", ["JPN"])
    bus = MemoryBus()
    seen: dict[str, list] = {"impact": [], "alert": []}

    async def keep(message: Message) -> None:
        envelope, payload = decode_message(message.data, source=message.subject)
        assert message.subject == f"air.{envelope.kind}.JPN" and payload.nation == "JPN"
        seen[envelope.kind].append(payload.to_rows())

    subs = [await bus.subscribe(f"air.{k}.JPN", keep) for k in ("impact", "alert")]
    record = tmp_path / "rec" / "tracks.csv"
    # A secure node: it sees the bus through its nation's permissions, which must allow these.
    values = _values(
        folder,
        areas,
        record=str(record),
        security={
            "keys_dir": str(node_keys(tmp_path / "keys", "JPN")),
            "audit_log": str(tmp_path / "audit.jsonl"),
        },
    )
    node = Node(NodeConfig.from_mapping(values), bus=bus)
    await asyncio.wait_for(node.run(), timeout=60)
    await wait_until(lambda: sum(map(len, seen["alert"])) == len(node.alerts))
    for sub in subs:
        await sub.unsubscribe()

    # The same tables as `airpicture track` with the same settings, byte for byte.
    (tmp_path / "batch").mkdir()
    track_scenario(
        folder,
        tmp_path / "batch" / "tracks.csv",
        config=TrackerConfig(**TRACKER),
        assess=AssessConfig(**ASSESS),
        areas=read_warning_areas(areas),
    )
    for name in ("tracks.csv", "impacts.csv", "alerts.csv"):
        assert (record.parent / name).read_bytes() == (tmp_path / "batch" / name).read_bytes(), name
    impacts = read_impacts(record.parent / "impacts.csv")
    alerts = read_alerts(record.parent / "alerts.csv")
    assert "ballistic" in set(node.picture.kind) and len(impacts) >= 10
    # One alert, for the area the body comes down in; the input ends before it is down.
    assert list(alerts.area_id[alerts.event == "issued"]) == ["target"]
    assert list(alerts.reason[-1:]) == ["end-of-input"]
    # What went out on the bus is what the node holds.
    assert_equal(ImpactRows.concat(seen["impact"]), node.impacts)
    assert_equal(AlertRows.concat(seen["alert"]), node.alerts)
    health = node.health()
    assert health["assessment"] == {
        "impacts": len(impacts),
        "alerts": {"issued": 1, "updated": int((alerts.event == "updated").sum()), "cancelled": 1},
        "active_alerts": 0,
        "errors": 0,
    }
    assert health["published"]["impact_messages"] == len(seen["impact"]) > 0
    assert health["published"]["alert_messages"] == len(seen["alert"]) > 0
    assert health["rejected"] == {}
    await bus.close()


def assert_equal(a: ImpactRows | AlertRows, b: ImpactRows | AlertRows) -> None:
    assert len(a) == len(b)
    for name in a.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_assess_settings_in_the_node_file(reentry, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder, areas = reentry
    config = NodeConfig.from_mapping(_values(folder, areas))
    assert config.assess.alert_min_hits == 5 and config.areas.ids == ("target", "elsewhere")
    default = NodeConfig.from_mapping({**_values(folder, areas), "assess": {}})
    assert default.areas.ids == read_warning_areas().ids  # the shipped areas
    with pytest.raises(ConfigError, match=r"\[assess\], key confidence: expected a number in"):
        NodeConfig.from_mapping({**_values(folder, areas), "assess": {"confidence": 2.0}})
    with pytest.raises(ConfigError, match="key assess.areas: expected a GeoJSON file, got 3"):
        NodeConfig.from_mapping({**_values(folder, areas), "assess": {"areas": 3}})
    with pytest.raises(DataError, match="nowhere.geojson: expected a readable GeoJSON file"):
        NodeConfig.from_mapping(
            {**_values(folder, areas), "assess": {"areas": "nowhere.geojson"}}, base_dir=tmp_path
        )


async def test_alerts_and_impacts_are_for_the_nodes_own_nation_only() -> None:
    shared = MemoryBus()
    jpn, usa = PolicyBus(shared, "JPN"), PolicyBus(shared, "USA")
    got: list[str] = []

    async def keep(message: Message) -> None:
        got.append(message.subject)

    for kind in ("alert", "impact"):
        await jpn.subscribe(f"air.{kind}.JPN", keep)
        with pytest.raises(BusError, match="permission denied"):
            await usa.subscribe(f"air.{kind}.JPN", keep)
        with pytest.raises(BusError, match="permission denied"):
            await usa.publish(f"air.{kind}.JPN", b"forged")
        await jpn.publish(f"air.{kind}.JPN", b"mine")
    await wait_until(lambda: got == ["air.alert.JPN", "air.impact.JPN"])
    # The NATS user of each nation gets exactly its own.
    for kind in ("alert", "impact"):
        subject = f"air.{kind}.JPN"
        for nation, allowed in (("JPN", True), ("USA", False)):
            perms = nats_permissions(nation)
            for key in ("publish", "subscribe"):
                assert any(pattern_within(subject, p) for p in perms[key]) is allowed, (nation, key)
    await shared.close()
