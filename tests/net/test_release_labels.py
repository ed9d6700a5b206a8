"""Release labels end to end: the tracker's AND of contributing labels, labels and shared tracks
on the wire (validated on decode), a receiver dropping what its labels leave out (counted and
audited), and tracks shared between nodes, in full or position-only."""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import replace
from pathlib import Path

import msgspec
import numpy as np
import pytest

from airpicture.fusion import TrackReports
from airpicture.net import (
    DetectionBatch,
    Heartbeat,
    LabelSpace,
    MemoryBus,
    MessageError,
    Signer,
    TrackShare,
    decode_message,
    encode_message,
    init_keys,
    load_signing_key,
    nation_paths,
)
from airpicture.node import Node, NodeConfig
from airpicture.tables import RELEASE_ALL, TrackRows
from airpicture.tracker import Tracker, TrackerConfig
from tests.net.conftest import wait_until
from tests.net.helpers import NATIONS, node_keys, node_values
from tests.net.synthetic import T0_S, sensor_table, synthetic_scenario

SPACE = LabelSpace(NATIONS)


# ---------------------------------------------------------------------------- tracker
@pytest.mark.parametrize(("report", "window_s"), [("scan", 4.0), ("scan", 0.3)])
def test_a_track_label_is_the_and_of_its_contributing_detections_labels(report, window_s):
    scenario = synthetic_scenario(n_targets=6, duration_s=40.0, seed=5, report=report)
    sensors = scenario.sensors
    per_nation = {
        "AUS": SPACE.label({"AUS", "JPN", "USA"}),
        "JPN": SPACE.label({"JPN", "USA"}, coarse={"AUS"}),
        "USA": SPACE.label({"AUS", "JPN", "USA"}, coarse={"AUS"}),
    }
    owner = np.array([s.nation for s in sensors])[scenario.detections.sensor_index]
    labels = np.array([per_nation[n] for n in owner], dtype=np.uint64)
    order = np.argsort(scenario.arrival_s, kind="stable")
    dets = replace(scenario.detections, release=labels).take(order)
    tracker = Tracker(sensors, TrackerConfig(latency_window_s=window_s))
    chunks = np.array_split(np.arange(len(dets)), 40)
    rows = tracker.run([dets.take(c) for c in chunks])
    if window_s < 1.0:
        assert tracker.stats.late_used > 0  # the out-of-sequence path took part
    assert len(rows) > 0
    # The nations column (OR of contributors, kept independently) says whose labels met.
    for nations, label in zip(rows.nations, rows.release, strict=True):
        expected = RELEASE_ALL
        for nation in nations.split(";"):
            expected &= per_nation[nation]
        assert int(label) == expected
    # Unlabelled detections leave every bit set.
    plain = Tracker(sensors, TrackerConfig(latency_window_s=window_s)).run([scenario.detections])
    assert (plain.release == np.uint64(RELEASE_ALL)).all()


# ---------------------------------------------------------------------------- wire
def _batch(label_nations, labels) -> DetectionBatch:
    n = len(labels)
    one = np.zeros(n)
    return DetectionBatch(
        recipient="JPN",
        clock_s=T0_S + 1.0,
        sensor_ids=["USA-R1"],
        sensor_ref=np.zeros(n, "<u2").tobytes(),
        sensor_seq=np.arange(n, dtype="<u8").tobytes(),
        arrival_s=(one + T0_S).tobytes(),
        t_s=(one + T0_S).tobytes(),
        range_m=(one + 1e5).tobytes(),
        azimuth_rad=one.tobytes(),
        elevation_rad=(one + 0.01).tobytes(),
        range_rate_mps=(one * np.nan).tobytes(),
        sensor_lat_rad=(one + 0.64).tobytes(),
        sensor_lon_rad=(one + 2.4).tobytes(),
        sensor_alt_m=one.tobytes(),
        label_nations=list(label_nations),
        label=np.asarray(labels, "<u8").tobytes(),
    )


def _rows(n: int, labels) -> TrackRows:
    x = np.tile([-3.6e6, 3.6e6, 3.8e6, 100.0, 0.0, 0.0], (n, 1))
    return TrackRows(
        t_s=1.79e9 + np.arange(n, dtype=float),
        track_id=np.array([f"T{i:06d}" for i in range(n)]),
        x=x,
        cov_pos=np.tile([100.0, 0, 0, 100.0, 0, 100.0], (n, 1)),
        kind=np.full(n, "aircraft"),
        status=np.full(n, "confirmed"),
        nations=np.full(n, "USA"),
        release=np.asarray(labels, dtype=np.uint64),
    )


def _share(labels, coarse, *, owner="USA", recipient="JPN", final=False) -> TrackShare:
    n = len(labels)
    rows = _rows(n, labels)
    state = np.zeros((n, 7))
    state[:, :6] = rows.x
    reports = TrackReports(
        rows, state, np.tile(np.eye(7) * 100.0, (n, 1, 1)), np.full(n, 9), rows.t_s
    )
    return TrackShare.from_reports(
        reports,
        np.asarray(coarse, bool),
        owner=owner,
        recipient=recipient,
        through_s=math.inf if final else 1.79e9,
        label_nations=SPACE.nations,
        final=final,
    )


def _encode(kind, payload, seq=1):
    return encode_message(kind, payload, sender="usa-node", nation="USA", seq=seq, sent_ns=1)


def test_labels_and_shared_tracks_round_trip_in_the_receivers_order():
    label = SPACE.label({"JPN", "USA"}, coarse={"AUS"})
    _, batch = decode_message(_encode("det", _batch(SPACE.nations, [label, SPACE.label({"*"})])))
    # Bits of nations the receiver does not know are dropped; the rest move to its order.
    other = LabelSpace(("USA", "JPN", "KOR"))
    dets = batch.to_detections(sensor_table(), other)
    assert other.full(dets.release[0]) == {"JPN", "USA"}
    assert other.coarse(dets.release[0]) == {"JPN", "USA"}
    assert other.full(dets.release[1]) == {"JPN", "USA"}
    share = _share([label, label], [False, True])
    _, back = decode_message(_encode("trk", share))
    reports, coarse = back.to_reports(SPACE)
    rows = reports.rows
    assert back == share and coarse.tolist() == [False, True]
    np.testing.assert_array_equal(rows.release, [label, label])


@pytest.mark.parametrize(
    ("label_nations", "labels", "column", "reason"),
    [
        # a bit past the two nations
        (("AUS", "JPN"), [1 << 2 | 1 << 23 | 1 << 44], "label", "label"),
        # full field outside threat field
        (("AUS", "JPN", "USA"), [1 << 1 | 1 << 43], "label", "label"),
        (("AUS", "JPN", "USA"), [1 << 22], "label", "label"),  # threat field outside coarse field
        (("AUS", "AUS"), [0], "label_nations", "label"),
        # more nations than labels hold, and a name that is no nation code (the payload type's
        # constraints)
        (tuple(f"N{chr(65 + i)}A" for i in range(22)), [0], "label_nations", "range"),
        (("AUS", "Jpn"), [0], "label_nations[1]", "range"),
    ],
)
def test_bad_labels_are_rejected_on_decode(label_nations, labels, column, reason):
    for kind, payload in (
        ("det", _batch(label_nations, labels)),
        ("trk", replace_labels(_share([0] * len(labels), [False]), label_nations, labels)),
    ):
        with pytest.raises(MessageError) as info:
            decode_message(_encode(kind, payload))
        assert (info.value.reason, info.value.column) == (reason, column)


def replace_labels(share: TrackShare, label_nations, labels) -> TrackShare:
    return msgspec.structs.replace(
        share, label_nations=list(label_nations), label=np.asarray(labels, "<u8").tobytes()
    )


def test_shared_tracks_of_the_wrong_shape_are_rejected():
    share = _share([SPACE.label({"*"})] * 2, [False, False])
    for bad, reason in (
        (msgspec.structs.replace(share, coarse=b"\x00"), "length"),
        (msgspec.structs.replace(share, coarse=b"\x00\x02"), "range"),
        (msgspec.structs.replace(share, label=b"\x00" * 8), "length"),
    ):
        with pytest.raises(MessageError) as info:
            decode_message(_encode("trk", bad))
        assert info.value.reason == reason


# ---------------------------------------------------------------------------- receiver
async def test_a_receiver_drops_counts_and_audits_what_its_labels_leave_out(tmp_path: Path):
    keys = tmp_path / "keys"
    init_keys(keys, NATIONS)
    scenario = synthetic_scenario(n_targets=1, duration_s=4.0, seed=1)
    scenario_dir = scenario.write(tmp_path / "scenario")
    bus = MemoryBus()
    signers = {
        n: Signer(n, f"{n.lower()}-node", load_signing_key(nation_paths(keys, n).signing_key))
        for n in ("USA", "AUS")
    }
    seq = iter(range(time.time_ns(), time.time_ns() + 100))

    async def send(nation: str, kind: str, subject: str, payload) -> None:
        data = encode_message(
            kind,
            payload,
            sender=f"{nation.lower()}-node",
            nation=nation,
            seq=next(seq),
            subject=subject,
            signer=signers[nation].sign,
        )
        await bus.publish(subject, data)

    for_jpn, not_jpn = SPACE.label({"JPN", "USA"}), SPACE.label({"USA"}, coarse={"JPN"})
    await send("USA", "det", "air.det.USA.JPN", _batch(SPACE.nations, [for_jpn, not_jpn, for_jpn]))
    await send("USA", "trk", "air.trk.USA.JPN", _share([for_jpn, not_jpn, not_jpn], [0, 0, 1]))
    await send("USA", "trk", "air.trk.USA.JPN", _share([for_jpn], [0], owner="AUS"))
    bad = msgspec.structs.replace(_share([for_jpn], [0]), coarse=b"\x07")
    await send("USA", "trk", "air.trk.USA.JPN", bad)
    for nation in ("USA", "AUS"):
        final = Heartbeat(recipient="JPN", clock_s=math.inf, final=True)
        await send(nation, "hb", f"air.hb.{nation}.JPN", final)
    # the USA's picture is final too (JPN waits for the end of the tracks it shares)
    await send("USA", "trk", "air.trk.USA.JPN", _share([], [], final=True))
    values = node_values("JPN", scenario_dir, security={"keys_dir": str(node_keys(keys, "JPN"))})
    values["security"]["audit_log"] = str(tmp_path / "audit.jsonl")
    node = Node(NodeConfig.from_mapping(values), bus=bus)
    await asyncio.wait_for(node.run(), timeout=30)
    health = node.health()
    # One detection and one full track row left JPN out; the position-only row is in the
    # coarse half of its label, so JPN keeps it.
    assert health["dropped"] == {"label": 2}
    assert health["rejected"] == {"sender": 1, "range": 1}
    assert health["shared"]["received"] == {"USA": 2}
    jpn_own = int(np.count_nonzero(scenario.detections.sensor_index == 1)) + int(
        np.count_nonzero(scenario.detections.sensor_index == 2)
    )
    assert health["received"]["detections"] == jpn_own + 2
    layer = node.shared
    assert layer.owner.tolist() == ["USA", "USA"] and layer.coarse.tolist() == [False, True]
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert sorted(line["reason"] for line in lines) == ["label", "label", "range", "sender"]
    assert all(line["nation"] == "USA" for line in lines)


# ---------------------------------------------------------------------------- sharing
async def test_fused_tracks_reach_a_nation_in_full_only_if_every_contributor_was_released_to_it(
    tmp_path: Path,
):
    """USA releases its radar to JPN (and position-only derivatives to AUS); JPN shares every
    track, downgrading position-only: AUS gets JPN's tracks built on JPN and AUS detections in
    full, and those built on USA detections position-only; JPN tracks that the USA saw never
    reach AUS in full."""
    scenario = synthetic_scenario(n_targets=6, duration_s=30.0, seed=7)
    scenario_dir = scenario.write(tmp_path / "scenario")
    bus = MemoryBus()
    start = time.time() + 0.2
    release = {
        "USA": {"default": ["USA", "JPN"], "coarse": ["AUS"]},
        "JPN": {"tracks": {"to": ["*"], "downgrade": "position-only", "coarse_m": 20000}},
    }
    nodes = {}
    for nation in NATIONS:
        values = node_values(nation, scenario_dir, speed=100.0)
        values["source"]["start_at_unix_s"] = start
        values["release"] = release.get(nation, {})
        values["exit_when_done"] = False
        nodes[nation] = Node(NodeConfig.from_mapping(values), bus=bus)
    stop = asyncio.Event()
    runs = [asyncio.create_task(n.run(stop)) for n in nodes.values()]

    def everything_shared_arrived() -> bool:
        sent = nodes["JPN"].health()["shared"]["sent"]
        return nodes["JPN"].done and all(
            nodes[r].health()["shared"]["received"].get("JPN", 0) == sent[r]["rows"]
            for r in ("AUS", "USA")
        )

    await wait_until(everything_shared_arrived, deadline_s=60)
    stop.set()
    await asyncio.gather(*runs)
    sent = nodes["JPN"].health()["shared"]["sent"]
    assert set(sent) == {"AUS", "USA"}
    aus = nodes["AUS"].shared
    full = ~aus.coarse
    assert full.any() and aus.coarse.any()
    assert not any("USA" in n for n in aus.rows.nations[full])
    assert (aus.rows.nations[aus.coarse] == "").all()
    assert not aus.rows.x[aus.coarse, 3:].any()
    usa = nodes["USA"].shared
    assert not usa.coarse.any() and len(usa.rows) == sent["USA"]["rows"]
    # JPN and USA received the same detections: they number the same tracks alike, and the
    # USA fuses JPN's tracks into its own (JPN, which receives none, keeps its tracker's).
    jpn, usa_picture = nodes["JPN"].picture, nodes["USA"].picture
    firm = ("confirmed", "coasting")
    assert set(jpn.track_id[np.isin(jpn.status, firm)]) == set(
        usa_picture.track_id[np.isin(usa_picture.status, firm)]
    )
    assert not any(":track" in s for s in jpn.sources)
    assert any("JPN:track" in s for s in usa_picture.sources)


async def test_nations_that_share_tracks_and_no_plots_hold_each_other_by_fusion(tmp_path: Path):
    """Every nation keeps its plots (``plots = []``) and shares all its tracks: each receives
    no other nation's detections, and holds the others' objects under the numbers their owners
    issued, fused with its own tracks where it sees them too."""
    scenario = synthetic_scenario(n_targets=8, duration_s=40.0, seed=4)
    scenario_dir = scenario.write(tmp_path / "scenario")
    bus = MemoryBus()
    start = time.time() + 0.3
    nodes = {}
    for nation in NATIONS:
        values = node_values(nation, scenario_dir, speed=100.0)
        values["source"]["start_at_unix_s"] = start
        values["release"] = {"plots": [], "tracks": {"to": ["*"]}}
        nodes[nation] = Node(NodeConfig.from_mapping(values), bus=bus)
    await asyncio.wait_for(asyncio.gather(*(n.run() for n in nodes.values())), timeout=90)
    sensors = scenario.sensors
    for nation, node in nodes.items():
        own = sum(
            int(np.count_nonzero(scenario.detections.sensor_index == sensors.index_of(s.sensor_id)))
            for s in sensors
            if s.nation == nation
        )
        assert node.health()["received"]["detections"] == own, nation
    usa = nodes["USA"].picture
    firm = np.isin(usa.status, ("confirmed", "coasting"))
    jpn_numbers = {t for t in usa.track_id[firm] if str(t).startswith("JPN")}
    assert jpn_numbers, "JPN's tracks are in the USA's picture under JPN's numbers"
    sources = set(usa.sources[firm])
    assert any("JPN:track" in s and "USA:plots" in s for s in sources)  # fused
    assert any(s == "JPN:track" for s in sources)  # held through JPN only
    assert nodes["USA"].health()["fusion"]["rejected"] == {}
