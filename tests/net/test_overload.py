"""Overload: a node whose tracker falls behind its input keeps at most
``limits.max_pending_detections`` waiting for it, sheds the ones taken in first, counts them
(``overload`` in ``/health``), and takes everything again once it has caught up."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from airpicture.net import DetectionBatch, LabelSpace, MemoryBus, Message, encode_message
from airpicture.node import Node, NodeConfig
from airpicture.tables import Detections
from tests.net.helpers import NATIONS, node_values
from tests.net.synthetic import T0_S, sensor_table, synthetic_scenario

SENSORS = sensor_table()
SPACE = LabelSpace(NATIONS)


def _message(seq: int, t_s: np.ndarray) -> Message:
    """An unsigned batch of the USA's radar to Japan, one report per time, its clock the last."""
    n = len(t_s)
    sensor = SENSORS.index_of("USA-R1")
    s = SENSORS[sensor]
    dets = Detections(
        t_s=t_s,
        sensor_index=np.full(n, sensor, np.int32),
        range_m=np.full(n, 1e5),
        azimuth_rad=np.linspace(0.0, 6.0, n),
        elevation_rad=np.full(n, 0.05),
        range_rate_mps=np.full(n, np.nan),
        sensor_lat_rad=np.full(n, s.lat_rad),
        sensor_lon_rad=np.full(n, s.lon_rad),
        sensor_alt_m=np.full(n, s.alt_m),
        row=np.zeros(n, np.int64),
    )
    batch = DetectionBatch.from_detections(
        dets,
        SENSORS,
        recipient="JPN",
        clock_s=float(t_s[-1]),
        arrival_s=t_s,
        sensor_seq=seq * n + np.arange(n),
        label=np.full(n, SPACE.label(NATIONS), np.uint64),
        label_nations=SPACE.nations,
    )
    data = encode_message("det", batch, sender="usa-node", nation="USA", seq=seq)
    return Message("air.det.USA.JPN", data, seq)


def test_a_node_past_its_pending_bound_sheds_the_oldest_counts_them_and_recovers(
    tmp_path: Path,
):
    """Twenty batches of 50 reports while the barrier holds (Japan's and Australia's clocks are
    not heard): 1,000 taken in, 300 kept (the newest), 700 shed and counted by reason in the
    health report. Once the tracker has taken the 300, the next batches are all kept."""
    scenario_dir = synthetic_scenario(n_targets=1, duration_s=4.0, seed=1).write(tmp_path / "s")
    values = node_values("JPN", scenario_dir, limits={"max_pending_detections": 300})
    node = Node(NodeConfig.from_mapping(values), bus=MemoryBus())
    times = T0_S + 0.01 * np.arange(1500)
    for k in range(20):
        assert node.inbound.take(_message(k + 1, times[50 * k : 50 * (k + 1)]))
    assert node.inbound.take_ready(node.peers.barrier()) == []  # the barrier holds them
    health = node.health()
    assert health["received"]["detections"] == 1000
    assert health["pending"] == 300
    assert health["dropped"] == {"overload": 700}
    # the tracker catches up, at most 120 a step in whole feed steps: it gets the 300 taken in
    # last, in order
    steps = []
    while node.inbound.pending:
        steps.append(node.inbound.take_ready(math.inf, max_rows=120))
        assert sum(len(c) for c in steps[-1]) <= 120
        assert node.inbound.ready_left == bool(node.inbound.pending)
    assert len(steps) == 3
    chunks = [c for step in steps for c in step]
    np.testing.assert_array_equal(Detections.concat(chunks).t_s, times[700:1000])
    cells = [np.unique(np.floor(c.t_s / node.config.feed_step_s)) for c in chunks]
    assert all(len(c) == 1 for c in cells)  # one feed step a chunk, never split
    assert len(np.unique(np.concatenate(cells))) == len(chunks)
    assert node.health()["pending"] == 0
    for k in range(20, 26):  # within the bound again: nothing shed
        assert node.inbound.take(_message(k + 1, times[50 * k : 50 * (k + 1)]))
    health = node.health()
    assert health["pending"] == 300
    assert health["dropped"] == {"overload": 700}
    node.inbound.bursts.close(every=True)


def test_the_history_a_node_reads_back_is_never_shed(tmp_path: Path):
    """What the bus held when the node started is read back whole (at the tracker's pace),
    however much of it waits for the barrier."""
    scenario_dir = synthetic_scenario(n_targets=1, duration_s=4.0, seed=1).write(tmp_path / "s")
    values = node_values("JPN", scenario_dir, limits={"max_pending_detections": 300})
    node = Node(NodeConfig.from_mapping(values), bus=MemoryBus())
    node.inbound.history_seq = 20
    times = T0_S + 0.01 * np.arange(1000)
    for k in range(20):
        assert node.inbound.take(_message(k + 1, times[50 * k : 50 * (k + 1)]))
    health = node.health()
    assert health["pending"] == 1000
    assert health["dropped"] == {}
