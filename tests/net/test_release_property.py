"""Property: over random release policies (per sensor, per area, per track kind, coarse and
threats lists, track sharing with or without downgrade or of threats only), no nation ever
receives a detection, or a track, that was not released to it. Three signed nodes run on the
in-process bus, each nation observed through its own bus permissions; a shared track's label is
checked against an independent oracle: the batch tracker re-run on what the sharing node
received, labelled by the senders' policies."""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from airpicture.codes import TRACK_KINDS
from airpicture.geo import ecef2geodetic
from airpicture.net import (
    FULL,
    BusError,
    DetectionBatch,
    LabelSpace,
    MemoryBus,
    Message,
    PictureDelta,
    PolicyBus,
    ReleasePolicy,
    TrackShare,
    decode_message,
    detection_labels,
    init_keys,
)
from airpicture.node import Node, NodeConfig
from airpicture.tables import Detections
from airpicture.tracker import Tracker, TrackerConfig
from tests.net.conftest import wait_until
from tests.net.helpers import NATIONS, node_keys
from tests.net.synthetic import synthetic_scenario

_WORK = Path(tempfile.mkdtemp(prefix="airpicture-release-"))
_SCENARIO = synthetic_scenario(n_targets=4, duration_s=24.0, seed=11)
_DIR = _SCENARIO.write(_WORK / "scenario")
_KEYS = _WORK / "keys"
init_keys(_KEYS, NATIONS)
_OWN = {n: [s.sensor_id for s in _SCENARIO.sensors if s.nation == n] for n in NATIONS}
_OWNER = {s.sensor_id: s.nation for s in _SCENARIO.sensors}
_SPACE = LabelSpace(NATIONS)
_TRACKER = {"latency_window_s": 4.0}
_BOXES = (
    {"lat": [36.0, 37.5], "lon": [135.0, 136.5]},
    {"lat": [35.0, 36.8], "lon": [135.8, 137.5]},
)

_recipients = st.sets(st.sampled_from([*NATIONS, "*"]), max_size=3).map(sorted)


@st.composite
def policies(draw) -> dict[str, dict]:
    out = {}
    for nation in NATIONS:
        sensors = {s: draw(_recipients) for s in _OWN[nation] if draw(st.booleans())}
        areas = [
            {"name": f"a{k}", "to": draw(_recipients), "box": box}
            for k, box in enumerate(_BOXES)
            if draw(st.booleans())
        ]
        kinds = {k: draw(_recipients) for k in TRACK_KINDS if draw(st.integers(0, 3)) == 0}
        out[nation] = {
            "default": draw(_recipients),
            "sensors": sensors,
            "coarse": draw(_recipients),
            "threats": draw(_recipients),
            "areas": areas,
            "tracks": {
                "to": draw(_recipients),
                "kinds": kinds,
                "downgrade": draw(st.sampled_from(["none", "position-only"])),
            },
        }
        if draw(st.integers(0, 3)) == 0:
            out[nation]["tracks"]["only"] = "threats"
    return out


_MARKER = b"every message published before this one has been delivered"


async def _run(tables: dict[str, dict]) -> tuple[dict[str, list], dict[str, Node]]:
    bus = MemoryBus()
    received: dict[str, list[tuple[str, object]]] = {n: [] for n in NATIONS}
    markers = dict.fromkeys(NATIONS, 0)
    subs = []
    for nation in NATIONS:
        view = PolicyBus(bus, nation)

        async def keep(message: Message, nation: str = nation) -> None:
            if message.data == _MARKER:
                markers[nation] += 1
                return
            envelope, payload = decode_message(message.data)
            received[nation].append((envelope.nation, payload))

        subs.append(await view.subscribe(f"air.*.*.{nation}", keep, from_seq=1))
        subs.append(await view.subscribe(f"air.pic.{nation}", keep, from_seq=1))
        for other in NATIONS:
            if other != nation:
                for pattern in (f"air.pic.{other}", f"air.trk.*.{other}", f"air.*.{other}.*"):
                    with pytest.raises(BusError):
                        await view.subscribe(pattern, keep)
    start = time.time() + 0.1
    nodes = {}
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
            "security": {"keys_dir": str(node_keys(_KEYS, nation))},
            "tracker": dict(_TRACKER),
        }
        nodes[nation] = Node(NodeConfig.from_mapping(values), bus=bus)
    await asyncio.wait_for(asyncio.gather(*(n.run() for n in nodes.values())), timeout=60)
    # A marker on each subscription, behind everything the nodes published: a subscription
    # delivers in order, so once its marker is in, nothing the nodes sent is still on its way.
    for nation in NATIONS:
        await bus.publish(f"air.hb.MARKER.{nation}", _MARKER)
        await bus.publish(f"air.pic.{nation}", _MARKER)
    await wait_until(lambda: all(count == 2 for count in markers.values()))
    for sub in subs:
        await sub.unsubscribe()
    await bus.close()
    for node in nodes.values():
        health = node.health()
        assert health["rejected"] == {} and health["dropped"] == {}
    return received, nodes


def _allows(nations: list[str] | None, nation: str) -> bool:
    return nations is None or "*" in nations or nation in nations


def _oracle_labels(batches: list[tuple[str, DetectionBatch]], policy: dict[str, ReleasePolicy]):
    """Labels of the rows of the batch tracker re-run on what a node received, each detection
    labelled by its sender's policy: {(track_id, t_s): label}."""
    sensors = _SCENARIO.sensors
    parts = []
    for sender, batch in batches:
        dets = batch.to_detections(sensors, _SPACE)
        labels = detection_labels(dets, sensors, policy[sender], _SPACE)
        parts.append(replace(dets, release=labels))
    dets = Detections.concat([p for p in parts if len(p)])
    rows = Tracker(sensors, TrackerConfig(**_TRACKER)).run([dets])
    return {
        (str(t), float(ts)): int(label)
        for t, ts, label in zip(rows.track_id, rows.t_s, rows.release, strict=True)
    }


def _check_tracks(
    recipient: str,
    owner: str,
    share: TrackShare,
    table: dict,
    oracle: dict,
    picture: dict,
) -> None:
    """Every row shared with ``recipient`` is released to it by the owner's rules and by the
    labels of every detection the track was built on."""
    assert share.recipient == recipient and share.picture.nation == owner
    reports, coarse = share.to_reports(_SPACE)
    rows = reports.rows
    tracks = table["tracks"]
    for i in range(len(rows)):
        key = (str(rows.track_id[i]), float(rows.t_s[i]))
        local_id, kind, x = picture[key]
        label = oracle[(local_id, key[1])]
        assert int(rows.release[i]) == label, key
        if coarse[i]:
            assert tracks["downgrade"] == "position-only"
            assert recipient in _SPACE.coarse(label) and recipient not in _SPACE.full(label)
            assert rows.kind[i] == "unknown" and not rows.x[i, 3:].any()
        else:
            assert recipient in _SPACE.full(label)
        if not coarse[i]:
            x = rows.x[i]  # what the owner decided on (its picture shows the fused state)
        assert _allows(tracks["to"], recipient)
        assert _allows(tracks["kinds"].get(kind), recipient)
        lat, lon, _ = ecef2geodetic(x[0], x[1], x[2])
        for area in table["areas"]:
            (south, north), (west, east) = area["box"]["lat"], area["box"]["lon"]
            # degrees: positions on the border are left to the unit tests (a position-only
            # row is checked at the owner's fused position, within about a kilometre)
            margin = 1e-2 if coarse[i] else 1e-4
            inside = (
                south + margin < math.degrees(lat) < north - margin
                and west + margin < math.degrees(lon) < east - margin
            )
            if inside:
                assert _allows(area["to"], recipient), (key, area)


_TRACKS_OF_ALL_KINDS = {k: [] for k in TRACK_KINDS}
_NOTHING = {"default": [], "sensors": {}, "coarse": [], "threats": [], "areas": []}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies())
# A partner's shared track fused into the recipient's picture makes the partner a contributor.
@example(
    tables={
        "AUS": {
            **_NOTHING,
            "areas": [{"name": "a0", "to": [], "box": _BOXES[0]}],
            "tracks": {
                "to": ["AUS", "JPN"],
                "kinds": {"ballistic": [], "unknown": []},
                "downgrade": "none",
            },
        },
        **{
            n: {
                **_NOTHING,
                "default": ["AUS", "JPN"] if n == "USA" else [],
                "tracks": {
                    "to": [],
                    "kinds": dict(_TRACKS_OF_ALL_KINDS),
                    "downgrade": "none",
                    "only": "threats",
                },
            }
            for n in ("JPN", "USA")
        },
    }
)
def test_no_nation_receives_a_detection_or_track_not_released_to_it(tables):
    received, nodes = asyncio.run(_run(tables))
    policy = {
        n: ReleasePolicy.from_mapping(tables[n], owner=n, own_sensors=tuple(_OWN[n]), source="t")
        for n in NATIONS
    }
    sensors = _SCENARIO.sensors
    all_labels = {
        n: detection_labels(_SCENARIO.detections, sensors, policy[n], _SPACE) for n in NATIONS
    }
    batches = {
        n: [(s, p) for s, p in received[n] if isinstance(p, DetectionBatch)] for n in NATIONS
    }
    for recipient in NATIONS:
        got = {n: 0 for n in NATIONS}
        contributors = {recipient}
        for sender, payload in batches[recipient]:
            assert payload.recipient == recipient
            ref = np.frombuffer(payload.sensor_ref, "<u2")
            assert {_OWNER[payload.sensor_ids[i]] for i in ref} <= {sender}
            dets = payload.to_detections(sensors, _SPACE)
            expected = detection_labels(dets, sensors, policy[sender], _SPACE)
            np.testing.assert_array_equal(dets.release, expected)
            assert all(recipient in _SPACE.full(label) for label in expected)
            got[sender] += len(payload)
            if len(payload):
                contributors.add(sender)
        # Partners' tracks shared with the recipient are fused into its picture too.
        for sender, payload in received[recipient]:
            if isinstance(payload, TrackShare) and len(payload):
                contributors.add(sender)
        for sender, payload in received[recipient]:
            if isinstance(payload, PictureDelta):
                # Only the recipient's own picture reaches it, built on what it received.
                assert payload.nation == recipient and sender == recipient
                for label in payload.nations_labels:
                    assert set(filter(None, label.split(";"))) <= contributors
        # The sender released exactly what its policy allows (nothing withheld by mistake).
        for owner in NATIONS:
            mine = _SCENARIO.detections.sensor_index
            owned = np.array([s.nation == owner for s in sensors])[mine]
            allowed = _SPACE.level(all_labels[owner], recipient) == FULL
            assert got[owner] == int(np.count_nonzero(owned & allowed)), (owner, recipient)
    for owner in NATIONS:
        shares = [
            (r, p)
            for r in NATIONS
            for s, p in received[r]
            if isinstance(p, TrackShare) and s == owner
        ]
        if not shares:
            continue
        oracle = _oracle_labels(batches[owner], policy)
        own = nodes[owner].picture
        assert own.local_id is not None
        picture = {
            (str(t), float(ts)): (str(lid), str(k), x)
            for t, ts, lid, k, x in zip(
                own.track_id, own.t_s, own.local_id, own.kind, own.x, strict=True
            )
        }
        for recipient, share in shares:
            assert recipient != owner
            _check_tracks(recipient, owner, share, tables[owner], oracle, picture)
        # What a node keeps of the others' tracks is exactly what was shared with it.
        for recipient in NATIONS:
            layer = nodes[recipient].shared
            sent = sum(len(p) for r, p in shares if r == recipient)
            assert int(np.count_nonzero(layer.owner == owner)) <= sent
