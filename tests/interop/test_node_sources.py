"""A node fed from recordings (``[[sources]]``: a radar's ASTERIX and an ADS-B receiver's
Beast file) holds the picture of both, and streams it to a TAK address as CoT."""

from __future__ import annotations

import asyncio
import socket
import time

import numpy as np
import pytest

from airpicture.errors import ConfigError
from airpicture.interop import ingest
from airpicture.interop._sample import write_sample_recordings
from airpicture.io import read_tracks
from airpicture.net import MemoryBus
from airpicture.node import Node, NodeConfig
from tests.interop.test_picture_out import check_cot_event


def _values(tmp_path, rec, **extra):  # type: ignore[no-untyped-def]
    scn = tmp_path / "scn"
    if not (scn / "sensors.csv").is_file():
        # primary-only plots skipped, as the node's [[sources]] skip them by default
        ingest(
            [(rec.asterix, "asterix"), (rec.beast, "beast")],
            scn,
            sites=list(rec.sites),
            date=rec.date,
            start_t_s=rec.start_t_s,
            primary_height_m=None,
        )
    start = time.time() + 0.3
    clock = {"speed": 100.0, "start_at_unix_s": start}
    values = {
        "nation": "JPN",
        "sensors_file": str(scn / "sensors.csv"),
        "network": ["JPN"],
        "tick_s": 0.02,
        "exit_when_done": True,
        "sources": [
            {
                "kind": "asterix",
                "path": str(rec.asterix),
                "sensor_id": "JPN-R1",
                "sac": 25,
                "sic": 1,
                "date": rec.date,
                **clock,
            },
            {
                "kind": "beast",
                "path": str(rec.beast),
                "sensor_id": "JPN-RX1-ADSB",
                "start_time_s": rec.start_t_s,
                **clock,
            },
        ],
    }
    values.update(extra)
    return values


def test_node_fed_from_recordings_streams_cot(tmp_path):
    rec = write_sample_recordings(tmp_path / "rec", duration_s=100.0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 23)
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(0.2)
        _run_node(tmp_path, rec, listener)


def _run_node(tmp_path, rec, listener) -> list[bytes]:  # type: ignore[no-untyped-def]
    port = listener.getsockname()[1]
    config = NodeConfig.from_mapping(_values(tmp_path, rec, tak=f"udp://127.0.0.1:{port}"))
    assert config.tak == f"udp://127.0.0.1:{port}" and len(config.feeds) == 2
    node = Node(config, bus=MemoryBus())
    asyncio.run(asyncio.wait_for(node.run(), 60))
    picture = node.picture
    assert node.health()["processed"] > 200
    # the batch tracker on the ingested tables makes the same number of firm tracks
    from airpicture.batch import track_scenario

    track_scenario(tmp_path / "scn", tmp_path / "batch.csv")
    batch = read_tracks(tmp_path / "batch.csv")
    firm = {
        str(t) for t, s in zip(picture.track_id, picture.status, strict=True) if s == "confirmed"
    }
    batch_firm = {
        str(t) for t, s in zip(batch.track_id, batch.status, strict=True) if s == "confirmed"
    }
    assert len(firm) == len(batch_firm) == 5
    events = []
    while True:
        try:
            events.append(listener.recv(65_535))
        except TimeoutError:
            break
    # UDP may drop datagrams of a burst (the replay runs 100 times faster than real time)
    sent = node.counters.cot_events
    assert sent >= len(events) > sent // 2 and node.counters.cot_errors == 0
    uids = {check_cot_event(e).get("uid") for e in events}
    assert uids == {f"airpicture.{t}" for t in firm}
    assert np.isfinite(node.picture.t_s).all()
    return events


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "mp4"}, "sources[0].kind"),
        ({"sensor_id": "USA-R9"}, "sources[0].sensor_id"),
        ({"sac": 300}, "sources[0].sac"),
        ({"speed": 5.0}, "one speed and start_at_unix_s"),
        ({"colour": "red"}, "sources[0].colour"),
    ],
)
def test_sources_errors(tmp_path, change, message):
    rec = write_sample_recordings(tmp_path / "rec", duration_s=8.0)
    values = _values(tmp_path, rec)
    values["sources"][0].update(change)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        NodeConfig.from_mapping(values, source="jpn.toml")
    both = _values(tmp_path, rec, source={"scenario_dir": str(tmp_path / "scn")})
    with pytest.raises(ConfigError, match="both"):
        NodeConfig.from_mapping(both, source="jpn.toml")
    with pytest.raises(ConfigError, match="tak"):
        NodeConfig.from_mapping(_values(tmp_path, rec, tak="http://x:1"), source="jpn.toml")
