"""Hostile input at a node's edge and what reaches its tracker: times far ahead, oversized and
piled-up batches, covariances no filter makes, a forged history on a node's own channel. Each is
refused and counted (and audited once per burst), and the tracker's cost stays bounded whatever
reaches it."""

from __future__ import annotations

import asyncio
import json
import math
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from airpicture.fusion import TrackReports
from airpicture.net import (
    DetectionBatch,
    Heartbeat,
    LabelSpace,
    MemoryBus,
    MessageError,
    PictureDelta,
    TrackShare,
    decode_message,
    encode_message,
    init_keys,
)
from airpicture.node import Node, NodeConfig
from airpicture.tables import Detections, TrackRows
from airpicture.tracker import Tracker, TrackerConfig
from tests.net.helpers import NATIONS, assert_same_picture, batch_picture, node_keys, node_values
from tests.net.synthetic import T0_S, sensor_table, synthetic_scenario

SENSORS = sensor_table()
SPACE = LabelSpace(NATIONS)


# ---------------------------------------------------------------------------- covariances
def _track_rows(n: int, cov_pos: np.ndarray) -> TrackRows:
    return TrackRows(
        t_s=T0_S + np.arange(n, dtype=float),
        track_id=np.array([f"T{i:06d}" for i in range(n)]),
        x=np.tile([-3.6e6, 3.6e6, 3.8e6, 100.0, 0.0, 0.0], (n, 1)),
        cov_pos=cov_pos,
        kind=np.full(n, "aircraft"),
        status=np.full(n, "confirmed"),
        nations=np.full(n, "USA"),
        release=np.full(n, SPACE.label(NATIONS), dtype=np.uint64),
    )


def _share(cov: np.ndarray) -> TrackShare:
    n = len(cov)
    rows = _track_rows(n, np.tile([100.0, 0, 0, 100.0, 0, 100.0], (n, 1)))
    state = np.zeros((n, 7))
    state[:, :6] = rows.x
    reports = TrackReports(rows, state, cov, np.full(n, 9), rows.t_s)
    return TrackShare.from_reports(
        reports,
        np.zeros(n, bool),
        owner="USA",
        recipient="JPN",
        through_s=T0_S,
        label_nations=SPACE.nations,
    )


def _decode(kind: str, payload: object) -> object:
    data = encode_message(kind, payload, sender="usa-node", nation="USA", seq=1, sent_ns=1)
    return decode_message(data)[1]


def test_covariances_that_no_filter_makes_are_refused_by_the_decoder():
    """Row 9 of the review: picture deltas and track shares with a covariance that is not
    symmetric positive semi-definite were accepted. Good ones still pass, rounding included."""
    good = np.tile(np.eye(7) * 100.0, (3, 1, 1))
    good[1, 0, 1] = good[1, 1, 0] = 100.0 * (1 - 1e-12)  # singular up to rounding: fine
    assert len(_decode("trk", _share(good))) == 3
    indefinite = good.copy()
    indefinite[2, 0, 1] = indefinite[2, 1, 0] = 500.0  # correlation 5
    asymmetric = good.copy()
    asymmetric[0, 3, 4] = 1.0
    negative = good.copy()
    negative[1, 5, 5] = -1.0
    for cov, index in ((indefinite, 2), (asymmetric, 0), (negative, 1)):
        with pytest.raises(MessageError, match=f"column cov.*at index {index}") as err:
            _decode("trk", _share(cov))
        assert err.value.reason == "range"
    # a picture delta's position covariance (upper triangle)
    ok = PictureDelta.from_rows(
        _track_rows(2, np.tile([100.0, 0, 0, 100.0, 0, 100.0], (2, 1))),
        nation="USA",
        through_s=T0_S,
    )
    assert len(_decode("pic", ok)) == 2
    bad = _track_rows(2, np.array([[100.0, 0, 0, 100.0, 0, 100.0], [100.0, 300.0, 0, 100.0, 0, 1]]))
    # the tracks table's rule, as for a tracks file
    with pytest.raises(MessageError, match="column cov_xy.*an eigenvalue of -.* at index 1"):
        _decode("pic", PictureDelta.from_rows(bad, nation="USA", through_s=T0_S))


def test_times_beyond_any_clock_are_refused_by_the_decoder():
    """A time of 1e300 s (row 1 of the review) is no clock's reading: the data contract bounds
    every time to 1e11 s of the epoch, on the wire as in files."""
    batch = _batch(SENSORS.index_of("USA-R1"), np.array([T0_S, 1e300]), clock_s=T0_S)
    with pytest.raises(MessageError, match="column t_s.*1e\\+300") as err:
        _decode("det", batch)
    assert err.value.reason == "range"


# ---------------------------------------------------------------------------- the node's edge
def _batch(
    sensor: int, t_s: np.ndarray, *, clock_s: float, recipient: str = "JPN", seq0: int = 0
) -> DetectionBatch:
    """Detections of one sensor at one spot (100 km east of it, about 5 km up)."""
    n = len(t_s)
    s = SENSORS[sensor]
    dets = Detections(
        t_s=np.asarray(t_s, float),
        sensor_index=np.full(n, sensor, np.int32),
        range_m=np.full(n, 1e5) if s.has_range else np.full(n, np.nan),
        azimuth_rad=np.full(n, math.pi / 2),
        elevation_rad=np.full(n, 0.05),
        range_rate_mps=np.full(n, np.nan),
        sensor_lat_rad=np.full(n, s.lat_rad),
        sensor_lon_rad=np.full(n, s.lon_rad),
        sensor_alt_m=np.full(n, s.alt_m),
        row=np.zeros(n, np.int64),
    )
    return DetectionBatch.from_detections(
        dets,
        SENSORS,
        recipient=recipient,
        clock_s=clock_s,
        arrival_s=np.minimum(np.asarray(t_s, float), clock_s),
        sensor_seq=seq0 + np.arange(n),
        label=np.full(n, SPACE.label(NATIONS), np.uint64),
        label_nations=SPACE.nations,
    )


class _Sender:
    """Signs and publishes as the USA's node on the in-process bus (an ally gone bad)."""

    def __init__(self, bus: MemoryBus, keys: Path) -> None:
        from airpicture.net import Signer, load_signing_key, nation_paths

        self.bus = bus
        self.signer = Signer(
            "USA", "usa-node", load_signing_key(nation_paths(keys, "USA").signing_key)
        )
        self.seq = time.time_ns()

    async def send(self, kind: str, subject: str, payload: object) -> None:
        self.seq += 1
        data = encode_message(
            kind,
            payload,
            sender="usa-node",
            nation="USA",
            seq=self.seq,
            subject=subject,
            signer=self.signer.sign,
        )
        await self.bus.publish(subject, data)


def _jpn_node(tmp_path: Path, bus: MemoryBus, keys: Path, scenario_dir: Path, **limits) -> Node:
    values = node_values(
        "JPN",
        scenario_dir,
        security={"keys_dir": str(keys), "audit_log": str(tmp_path / "JPN.jsonl")},
        limits=limits,
    )
    return Node(NodeConfig.from_mapping(values), bus=bus)


async def test_an_allys_hostile_batches_are_refused_counted_audited_once_and_change_nothing(
    tmp_path: Path,
):
    """Signed, decoder-valid messages of the USA to Japan (rows 1 and 2 of the review): a batch
    and a heartbeat whose clock runs days ahead of Japan's, a detection days ahead of its batch,
    a batch over the size limit, a detection older than the age limit, and 40 batches piling
    reports onto one spot beyond a sensor's reports per scan. The far-ahead and oversized ones
    are rejected whole, the stale and piled-up rows dropped; Japan's picture equals the clean
    one, and a flood of one reason is one audit entry plus one summing it up."""
    keys = tmp_path / "keys"
    init_keys(keys, NATIONS)
    scenario = synthetic_scenario(n_targets=2, duration_s=20.0, seed=3)
    # The USA's node does not run (the attacker speaks for it): the clean run is the scenario
    # without the USA's radar; JPN and AUS run signed.
    usa_r1 = SENSORS.index_of("USA-R1")
    keep = scenario.detections.sensor_index != usa_r1
    scenario_dir = replace(
        scenario, detections=scenario.detections.take(keep), arrival_s=scenario.arrival_s[keep]
    ).write(tmp_path / "scenario")
    bus = MemoryBus()
    usa = _Sender(bus, keys)
    day = 86400.0
    hostile = [
        ("det", _batch(usa_r1, [T0_S + day], clock_s=T0_S + day)),  # clock ahead: future
        ("hb", Heartbeat(recipient="JPN", clock_s=T0_S + day)),  # clock ahead: future
        ("det", _batch(usa_r1, [T0_S + day], clock_s=T0_S)),  # a row ahead: future
        ("det", _batch(usa_r1, np.full(600, T0_S), clock_s=T0_S)),  # over 500 rows: size
    ]
    for kind, payload in hostile:
        await usa.send(kind, f"air.{kind}.USA.JPN", payload)
    # a row far older than its batch's clock, and 40 x 10 reports of one scan at one spot
    await usa.send("det", "air.det.USA.JPN", _batch(usa_r1, [T0_S - 700.0], clock_s=T0_S))
    for k in range(40):
        pile = _batch(usa_r1, np.full(10, T0_S + 0.5), clock_s=T0_S + 0.5, seq0=10 * k + 1)
        await usa.send("det", "air.det.USA.JPN", pile)
    for nation in ("JPN", "AUS"):
        final = Heartbeat(recipient=nation, clock_s=math.inf, final=True)
        await usa.send("hb", f"air.hb.USA.{nation}", final)
    limits = {"max_batch_rows": 500, "max_reports_per_scan": 8}
    nodes = {}
    for nation in ("JPN", "AUS"):
        security = {
            "keys_dir": str(node_keys(keys, nation)),
            "audit_log": str(tmp_path / f"{nation}.jsonl"),
        }
        values = node_values(nation, scenario_dir, security=security, limits=limits)
        nodes[nation] = Node(NodeConfig.from_mapping(values), bus=bus)
    await asyncio.wait_for(asyncio.gather(*(n.run() for n in nodes.values())), timeout=60)
    health = nodes["JPN"].health()
    assert health["rejected"] == {"future": 3, "size": 1}
    assert health["dropped"] == {"stale": 1, "density": 400 - 8}
    # The 8 piled-up reports that fit start tracks of their own, far from every target, that
    # only the USA's radar ever saw; everything else is the clean picture.
    expected = batch_picture(scenario_dir)
    picture = nodes["JPN"].picture
    assert set(picture.nations[picture.nations == "USA"]) <= {"USA"}
    assert_same_picture(picture.take(picture.nations != "USA"), expected)
    lines = [json.loads(x) for x in (tmp_path / "JPN.jsonl").read_text().splitlines()]
    by_reason: dict[str, int] = {}
    for line in lines:
        by_reason[line["reason"]] = by_reason.get(line["reason"], 0) + 1
    # future: the first and one entry summing up the other two; density: the first batch
    # (2 rows over) and one entry for the 39 batches after it
    assert by_reason == {"future": 2, "size": 1, "stale": 1, "density": 2}
    summary = [x for x in lines if x["reason"] == "density"][1]
    assert "39 more from USA (390 rows)" in summary["detail"]
    assert nodes["AUS"].health()["rejected"] == {}


# ---------------------------------------------------------------------------- the tracker
def _scans(sensors, n: int, scans: int) -> list[Detections]:
    """``n`` reports of one radar at one spot on each of ``scans`` scans."""
    sensor = sensors.index_of("JPN-R1")
    period = float(sensors[sensor].scan_period_s)
    out = []
    for k in range(scans):
        batch = _batch(sensor, np.full(n, T0_S + k * period), clock_s=T0_S + k * period)
        dets = batch.to_detections(sensors, SPACE)
        out.append(replace(dets, row=dets.row + (k * n << 8)))
    return out


def test_reports_piled_onto_one_spot_cost_the_tracker_memory_linear_in_their_number():
    """Row 2 of the review: 2,000 reports at one spot took memory growing with the square of
    their number (a MemoryError). Each track now weighs at most ``gate_max_candidates``
    reports, so doubling the pile about doubles the peak, not quadruples it."""
    peaks = []
    for n in (400, 800):
        tracker = Tracker(SENSORS, TrackerConfig())
        tracemalloc.start()
        for chunk in _scans(SENSORS, n, 3):
            tracker.process(chunk)
        tracker.flush()
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 3.0 * peaks[0]  # every candidate kept: 4 times (2.6 GB at 500)


def test_a_report_far_ahead_does_not_make_the_tracker_predict_over_the_gap():
    """Row 1 of the review: a report 1e5 s ahead made the tracker propagate every track over
    the gap (seconds of work, growing with the gap, and overflows further out). The tracker
    learns of time passing from its input only; now the silence's frames end first, so every
    track missed for too long is dropped at the end of the silence without being predicted
    over it."""
    scenario = synthetic_scenario(n_targets=3, duration_s=40.0, seed=5)
    tracker = Tracker(scenario.sensors, TrackerConfig())
    tracker.run([scenario.detections])
    radar = np.isfinite(scenario.detections.range_m)
    last = scenario.detections.take(np.flatnonzero(radar)[-1:])
    for gap in (1e5, 1e10):
        live = {int(n) for n in tracker.tracks.number}
        far = replace(last, t_s=last.t_s + gap, row=last.row + 1)
        with np.errstate(all="raise"):  # no overflow anywhere on the way
            parts = [tracker.process(far), tracker.flush()]
        rows = TrackRows.concat([p for p in parts if len(p)])
        gone = rows.take(rows.status == "deleted")
        assert live and live <= {int(n) for n in gone.number}
        assert (gone.t_s == np.floor(far.t_s[0])).all()  # the silence's last frame (1 s)
        assert not live & {int(n) for n in tracker.tracks.number}
        last = far


# ---------------------------------------------------------------------------- restarts
async def test_a_forged_history_on_a_nodes_own_channel_cannot_move_its_clock(tmp_path: Path):
    """Row 3 of the review: an unsigned heartbeat forged on Japan's own channel while its node
    was down (sequence 2**63 - 1, final) made the restarted node resume after it, so its
    partners rejected everything it sent after. A node resuming now trusts only what verifies
    against its own key: it resumes after its last genuine message, and the forgery is counted
    and audited."""
    from airpicture.net import Signer, load_signing_key, nation_paths

    keys = tmp_path / "keys"
    init_keys(keys, NATIONS)
    scenario_dir = synthetic_scenario(n_targets=1, duration_s=4.0, seed=1).write(tmp_path / "s")
    bus = MemoryBus()
    jpn = Signer("JPN", "jpn-node", load_signing_key(nation_paths(keys, "JPN").signing_key))
    subject = "air.hb.JPN.USA"
    genuine = encode_message(
        "hb",
        Heartbeat(recipient="USA", clock_s=T0_S + 3.0),
        sender="jpn-node",
        nation="JPN",
        seq=1000,
        subject=subject,
        signer=jpn.sign,
    )
    await bus.publish(subject, genuine)
    # forged after it: unsigned, and signed with another nation's key
    forged = Heartbeat(recipient="USA", clock_s=math.inf, final=True)
    usa_key = load_signing_key(nation_paths(keys, "USA").signing_key)
    for sign in (None, Signer("JPN", "jpn-node", usa_key).sign):
        data = encode_message(
            "hb", forged, sender="jpn-node", nation="JPN", seq=2**63 - 1, subject=subject,
            signer=sign,
        )
        await bus.publish(subject, data)
    values = node_values(
        "JPN",
        scenario_dir,
        security={
            "keys_dir": str(node_keys(keys, "JPN")),
            "audit_log": str(tmp_path / "JPN.jsonl"),
        },
    )
    node = Node(NodeConfig.from_mapping(values), bus=bus)
    node.sender.bus = bus
    await node.outbound.resume()
    channel = node.outbound.channels["USA"]
    assert (channel.clock_s, channel.final) == (T0_S + 3.0, False)
    assert node.sender.seq == 1000
    assert node.counters.rejected == {"unsigned": 1, "signature": 1}
    node.security.audit.close()
    lines = [json.loads(x) for x in (tmp_path / "JPN.jsonl").read_text().splitlines()]
    assert sorted(x["reason"] for x in lines) == ["signature", "unsigned"]
    assert all(x["subject"] == subject for x in lines)


def test_a_flood_of_live_messages_is_cut_to_the_senders_rate_before_it_costs_a_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Per-sender rates: live messages of one nation beyond ``max_messages_per_s`` (a token
    bucket ``rate_burst_s`` deep) are rejected (``rate``) before their signature is checked,
    and the bucket refills with time; the history a node reads back when it starts is exempt,
    and other nations have buckets of their own."""
    from airpicture.net import Message
    from airpicture.node import _inbound

    keys = tmp_path / "keys"
    init_keys(keys, NATIONS)
    scenario_dir = synthetic_scenario(n_targets=1, duration_s=4.0, seed=1).write(tmp_path / "s")
    security = {"keys_dir": str(node_keys(keys, "JPN")), "audit_log": str(tmp_path / "a.jsonl")}
    limits = {"max_messages_per_s": 10.0, "rate_burst_s": 2.0}
    values = node_values("JPN", scenario_dir, security=security, limits=limits)
    node = Node(NodeConfig.from_mapping(values), bus=MemoryBus())
    clock = [1000.0]
    monkeypatch.setattr(_inbound.time, "monotonic", lambda: clock[0])
    junk = b"\x93garbage"  # what passes the rate is then refused as malformed
    node.inbound.history_seq = 100
    for seq in range(1, 101):  # history: all checked
        node.inbound.take(Message("air.hb.USA.JPN", junk, seq))
    assert node.counters.rejected == {"malformed": 100}
    for seq in range(101, 151):  # live: 20 in the bucket, the rest refused unread
        node.inbound.take(Message("air.hb.USA.JPN", junk, seq))
    assert node.counters.rejected == {"malformed": 120, "rate": 30}
    node.inbound.take(Message("air.hb.AUS.JPN", junk, 151))  # AUS has its own bucket
    clock[0] += 0.5  # five more tokens
    for seq in range(152, 162):
        node.inbound.take(Message("air.hb.USA.JPN", junk, seq))
    assert node.counters.rejected == {"malformed": 126, "rate": 35}
    node.inbound.bursts.close(every=True)
    node.security.audit.close()
    lines = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text().splitlines()]
    rate = [x for x in lines if x["reason"] == "rate"]
    assert len(rate) == 2 and "34 more from USA" in rate[1]["detail"]
