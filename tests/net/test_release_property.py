"""Property: over random release policies, no nation ever receives a detection, or a track built
on a detection, that was not released to it (three signed nodes on the in-process bus, each
nation observed through its own bus permissions)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airpicture.net.bus import BusError, MemoryBus, Message
from airpicture.net.keys import init_keys
from airpicture.net.messages import DetectionBatch, PictureDelta, decode_message
from airpicture.net.release import ReleasePolicy, releasable
from airpicture.net.security import PolicyBus
from airpicture.node import Node, NodeConfig
from tests.net.helpers import NATIONS
from tests.net.synthetic import synthetic_scenario

_WORK = Path(tempfile.mkdtemp(prefix="airpicture-release-"))
_SCENARIO = synthetic_scenario(n_targets=4, duration_s=24.0, seed=11)
_DIR = _SCENARIO.write(_WORK / "scenario")
_KEYS = _WORK / "keys"
init_keys(_KEYS, NATIONS)
_OWN = {n: [s.sensor_id for s in _SCENARIO.sensors if s.nation == n] for n in NATIONS}
_OWNER = {s.sensor_id: s.nation for s in _SCENARIO.sensors}

_recipients = st.sets(st.sampled_from([*NATIONS, "*"]), max_size=3).map(sorted)


@st.composite
def policies(draw) -> dict[str, dict]:
    out = {}
    for nation in NATIONS:
        sensors = {s: draw(_recipients) for s in _OWN[nation] if draw(st.booleans())}
        out[nation] = {"default": draw(_recipients), "sensors": sensors}
    return out


async def _run(tables: dict[str, dict]) -> dict[str, list[tuple[str, object]]]:
    bus = MemoryBus()
    received: dict[str, list[tuple[str, object]]] = {n: [] for n in NATIONS}
    subs = []
    for nation in NATIONS:
        view = PolicyBus(bus, nation)

        async def keep(message: Message, nation: str = nation) -> None:
            envelope, payload = decode_message(message.data)
            received[nation].append((envelope.nation, payload))

        subs.append(await view.subscribe(f"air.*.*.{nation}", keep, from_seq=1))
        subs.append(await view.subscribe(f"air.pic.{nation}", keep, from_seq=1))
        for other in NATIONS:
            if other != nation:
                with pytest.raises(BusError):
                    await view.subscribe(f"air.pic.{other}", keep)
    start = time.time() + 0.1
    nodes = []
    for nation in NATIONS:
        values = {
            "nation": nation,
            "sensors_file": str(_DIR / "sensors.csv"),
            "network": list(NATIONS),
            "tick_s": 0.02,
            "peer_timeout_s": 60.0,
            "exit_when_done": True,
            "source": {"scenario_dir": str(_DIR), "speed": 200.0, "start_at_unix_s": start},
            "release": tables[nation],
            "security": {"keys_dir": str(_KEYS)},
            "tracker": {"latency_window_s": 4.0},
        }
        nodes.append(Node(NodeConfig.from_mapping(values), bus=bus))
    await asyncio.wait_for(asyncio.gather(*(n.run() for n in nodes)), timeout=60)
    await asyncio.sleep(0.05)
    for sub in subs:
        await sub.unsubscribe()
    await bus.close()
    for node in nodes:
        assert node.health()["rejected"] == {}
    return received


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies())
def test_no_nation_receives_what_is_not_released_to_it(tables):
    received = asyncio.run(_run(tables))
    policy = {
        n: ReleasePolicy.from_mapping(tables[n], owner=n, own_sensors=tuple(_OWN[n]), source="t")
        for n in NATIONS
    }
    sensors = _SCENARIO.sensors
    for recipient in NATIONS:
        got = {n: 0 for n in NATIONS}
        contributors = {recipient}
        for sender, payload in received[recipient]:
            if isinstance(payload, DetectionBatch):
                assert payload.recipient == recipient
                ref = np.frombuffer(payload.sensor_ref, "<u2")
                for sensor_id in {payload.sensor_ids[i] for i in ref}:
                    owner = _OWNER[sensor_id]
                    assert owner == sender
                    assert releasable(sensor_id, recipient, policy[owner], sensor_nation=owner)
                got[sender] += len(payload)
                if len(payload):
                    contributors.add(sender)
            elif isinstance(payload, PictureDelta):
                # Only the recipient's own picture reaches it, built on what it received.
                assert payload.nation == recipient and sender == recipient
                for label in payload.nations_labels:
                    assert set(filter(None, label.split(";"))) <= contributors
        # The sender released exactly what its policy allows (nothing withheld by mistake).
        for owner in NATIONS:
            allowed = [
                releasable(s.sensor_id, recipient, policy[owner], sensor_nation=s.nation)
                for s in sensors
            ]
            expected = int(np.count_nonzero(np.asarray(allowed)[_SCENARIO.detections.sensor_index]))
            assert got[owner] == expected, (owner, recipient)
