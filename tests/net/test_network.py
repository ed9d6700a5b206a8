"""Node processes on a real nats-server: ``network up``, a killed and restarted node, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict
from pathlib import Path

import pytest

from airpicture.cli import main as cli_main
from airpicture.io import read_tracks
from airpicture.net import NatsServer, free_port, init_keys
from airpicture.network import NetworkResult, network_up, node_config_toml
from airpicture.tracker import TrackerConfig
from tests.net.helpers import (
    NATIONS,
    TRACKER,
    assert_same_picture,
    batch_picture,
    node_keys,
    node_values,
)

_NODE = [sys.executable, "-m", "airpicture.cli", "node"]


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1.0) as response:
            return json.loads(response.read())
    except OSError:
        return None


def _wait(predicate, deadline_s: float = 60.0) -> None:
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached before the deadline")
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" in status.read_text()


def test_network_up_pictures_are_identical_and_equal_the_batch_track(scenario_dir, tmp_path):
    from airpicture.assess import AssessConfig, read_warning_areas
    from airpicture.batch import track_scenario

    started = {}
    result = network_up(
        scenario=str(scenario_dir),
        nations=NATIONS,
        speed=30.0,
        record_dir=tmp_path / "rec",
        tracker=TrackerConfig(**TRACKER),
        tick_s=0.02,
        on_started=started.update,
    )
    assert result.exit_codes == {n: 0 for n in NATIONS} and not result.interrupted
    assert set(result.records) == set(NATIONS)
    (tmp_path / "batch").mkdir()
    track_scenario(
        scenario_dir,
        tmp_path / "batch" / "tracks.csv",
        config=TrackerConfig(**TRACKER),
        assess=AssessConfig(),
        areas=read_warning_areas(),
    )
    for name in ("tracks.csv", "impacts.csv", "alerts.csv"):  # every node assesses as the batch
        batch_bytes = (tmp_path / "batch" / name).read_bytes()
        for nation in NATIONS:
            assert (result.records[nation].parent / name).read_bytes() == batch_bytes, name
    assert_same_picture(read_tracks(result.records["JPN"]), batch_picture(scenario_dir))
    assert all(_gone(v["pid"]) for v in started["nodes"].values()) and _gone(started["server_pid"])


def test_a_killed_node_restarts_catches_up_and_agrees(scenario_dir, tmp_path):
    # Secure: TLS identities with subject permissions, signed messages, audit logs.
    init_keys(tmp_path / "keys", NATIONS)
    with NatsServer(keys_dir=tmp_path / "keys") as server:
        start_at = time.time() + 3.0
        ports, paths = {}, {}
        for nation in NATIONS:
            ports[nation] = free_port()
            values = node_values(
                nation,
                scenario_dir,
                speed=12.0,
                bus=server.url,
                health_port=ports[nation],
                record=str(tmp_path / nation / "tracks.csv"),
                security={
                    "keys_dir": str(node_keys(tmp_path / "keys", nation)),
                    "audit_log": str(tmp_path / nation / "audit.jsonl"),
                },
            )
            values["source"]["start_at_unix_s"] = start_at
            paths[nation] = tmp_path / f"{nation}.toml"
            paths[nation].write_text(node_config_toml(values))
        procs = {
            n: subprocess.Popen([*_NODE, str(paths[n])], start_new_session=True) for n in NATIONS
        }
        try:
            # Kill Japan once it has sent part of its detections, then bring it back.
            _wait(
                lambda: (
                    ((_health(ports["JPN"]) or {}).get("published", {}).get("detections", 0)) > 300
                )
            )
            procs["JPN"].send_signal(signal.SIGKILL)
            procs["JPN"].wait()
            assert not (tmp_path / "JPN" / "tracks.csv").exists()
            time.sleep(1.0)
            procs["JPN"] = subprocess.Popen([*_NODE, str(paths["JPN"])], start_new_session=True)
            for process in procs.values():
                assert process.wait(timeout=90) == 0
        finally:
            for process in procs.values():
                if process.poll() is None:
                    process.kill()
                    process.wait()
    expected = batch_picture(scenario_dir)
    for nation in NATIONS:
        assert_same_picture(read_tracks(tmp_path / nation / "tracks.csv"), expected)
        audit = tmp_path / nation / "audit.jsonl"
        # The restarted node re-reads its history: its own duplicates are the only rejections.
        lines = audit.read_text().splitlines() if audit.exists() else []
        assert all(json.loads(line)["reason"] in ("duplicate", "replay") for line in lines)


def test_ctrl_c_stops_every_process_and_records_the_pictures(scenario_dir, tmp_path):
    args = [
        sys.executable,
        "-m",
        "airpicture.cli",
        "network",
        "up",
        "--scenario",
        str(scenario_dir),
        "--nations",
        ",".join(NATIONS),
        "--speed",
        "1",
        "--record",
        str(tmp_path / "rec"),
    ]
    parent = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = parent.stdout.readline()
        assert line.startswith("network up on tls://127.0.0.1:"), line  # secure by default
        server_pid = int(re.search(r"nats-server pid (\d+)", line).group(1))
        nodes = {
            m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"(\w{3}) pid (\d+) http://127\.0\.0\.1:(\d+)/health", line)
        }
        assert set(nodes) == set(NATIONS)
        _wait(lambda: all(_health(port) is not None for _, port in nodes.values()))
        parent.send_signal(signal.SIGINT)
        out, err = parent.communicate(timeout=60)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert parent.returncode == 130, err
    assert "network stopped by Ctrl-C" in out
    _wait(lambda: all(_gone(pid) for pid, _ in nodes.values()) and _gone(server_pid), deadline_s=10)
    for nation in NATIONS:
        assert (tmp_path / "rec" / nation / "tracks.csv").exists()


def test_nats_server_helper_cleans_up(tmp_path):
    server = NatsServer().start()
    store = server._store_dir
    assert server.running and store is not None and store.exists()
    assert server.url == f"nats://127.0.0.1:{server.port}"
    server.stop()
    assert not server.running and not store.exists()


@pytest.mark.parametrize("speed", [0.0, -1.0])
def test_network_up_refuses_bad_input(scenario_dir, speed):
    from airpicture.errors import ConfigError

    with pytest.raises(ConfigError, match="--nations: expected at least one nation with sensors"):
        network_up(scenario=str(scenario_dir), nations=["GBR"], bus="memory")
    many = [f"N{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(22)]
    with pytest.raises(ConfigError, match="--nations: expected at most 21 distinct nations"):
        network_up(scenario=str(scenario_dir), nations=["JPN", *many], bus="memory")
    with pytest.raises(ConfigError, match="--release: expected one of hub, full, threats"):
        network_up(scenario=str(scenario_dir), nations=["JPN"], bus="memory", release="open")
    with pytest.raises(ConfigError, match="--bus"):
        network_up(scenario=str(scenario_dir), nations=["JPN"], bus="kafka")
    with pytest.raises(ConfigError, match="source.speed"):
        network_up(scenario=str(scenario_dir), nations=["JPN"], bus="memory", speed=speed)


def _in_process(scenario_dir: Path, record_dir: Path, **options) -> NetworkResult:
    """``network up`` on the memory bus, fast, with the tests' tracker settings."""
    return network_up(
        scenario=str(scenario_dir),
        nations=NATIONS,
        speed=60.0,
        record_dir=record_dir,
        bus="memory",
        tracker=TrackerConfig(**TRACKER),
        tick_s=0.02,
        **options,
    )


def test_network_up_on_the_memory_bus_runs_in_process(scenario_dir, tmp_path):
    result = _in_process(scenario_dir, tmp_path / "rec")
    assert not result.interrupted and set(result.records) == set(NATIONS)
    expected = batch_picture(scenario_dir)
    for nation in NATIONS:
        assert_same_picture(read_tracks(result.records[nation]), expected)


def test_network_up_applies_a_release_file(scenario_dir, tmp_path):
    from airpicture.network import read_release_file

    policy = tmp_path / "release.toml"
    policy.write_text('[JPN]\ndefault = ["USA"]\n[JPN.sensors]\nJPN-R1 = []\n')
    result = _in_process(
        scenario_dir,
        tmp_path / "rec",
        release=read_release_file(policy),
        release_source=str(policy),
    )
    assert not result.interrupted
    nations = {n: set(";".join(read_tracks(result.records[n]).nations).split(";")) for n in NATIONS}
    assert "JPN" in nations["JPN"] and "JPN" in nations["USA"]  # the JPN IR sensor goes to the USA
    assert "JPN" not in nations["AUS"]  # nothing of Japan's reaches Australia
    released = {"JPN-R1": ("JPN",), "JPN-IR1": ("JPN", "USA")}
    assert_same_picture(
        read_tracks(result.records["JPN"]), batch_picture(scenario_dir, released=released)
    )


def test_a_bad_release_file_is_refused_before_anything_starts(scenario_dir, tmp_path):
    from airpicture.errors import ConfigError
    from airpicture.network import read_release_file

    bad = {
        "[GBR]\ndefault = []\n": r"key GBR: expected a nation of the network",
        "[JPN.sensors]\nUSA-R1 = []\n": r"key JPN\.release\.sensors\.USA-R1",
        "JPN = 3\n": r"key JPN: expected a table",
    }
    for i, (text, match) in enumerate(bad.items()):
        path = tmp_path / f"r{i}.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=match):
            network_up(
                scenario=str(scenario_dir),
                nations=NATIONS,
                bus="memory",
                release=read_release_file(path),
                release_source=str(path),
            )
    area = tmp_path / "sub" / "r.toml"
    area.parent.mkdir()
    area.write_text('[[JPN.areas]]\nname = "a"\nto = []\ngeojson = "area.geojson"\n')
    resolved = read_release_file(area)["JPN"]["areas"][0]["geojson"]
    assert resolved == str(area.parent / "area.geojson")


def test_a_partner_without_sensors_runs_a_node_that_receives_what_is_released_to_it(tmp_path):
    """The Philippines own no sensor of the drill; under the hub preset the USA releases its
    detections to every nation, so the Philippine picture holds tracks of US sensors only."""
    args = ["network", "up", "--scenario", "drill", "--nations", "JPN,USA,AUS,PHL"]
    args += ["--duration", "40", "--speed", "40", "--bus", "memory", "--release", "hub"]
    assert cli_main([*args, "--record", str(tmp_path / "rec")]) == 0
    tracks = read_tracks(tmp_path / "rec" / "PHL" / "tracks.csv")
    assert len(tracks) > 0
    assert set(";".join(tracks.nations).split(";")) == {"USA"}
    usa = read_tracks(tmp_path / "rec" / "USA" / "tracks.csv")
    assert {"JPN", "USA"} <= set(";".join(usa.nations).split(";"))


def test_node_files_hold_release_areas_of_any_shape(scenario_dir, tmp_path):
    import tomllib

    from airpicture.node import NodeConfig

    release = {
        "default": ["USA"],
        "coarse": ["AUS"],
        "areas": [
            {"name": "north", "to": ["USA"], "box": {"lat": [40.0, 46.0], "lon": [139.0, 146.0]}},
            {"name": "tri", "to": [], "polygon": [[35.0, 130.0], [35.0, 135.0], [38.0, 135.0]]},
        ],
        "tracks": {"to": ["*"], "kinds": {"helicopter/uav": ["USA"]}, "only": "threats"},
    }
    values = {
        "nation": "JPN",
        "sensors_file": str(scenario_dir / "sensors.csv"),
        "exit_when_done": True,
        "source": {"scenario_dir": str(scenario_dir), "speed": 2.5},
        "release": release,
        "tracker": asdict(TrackerConfig()),
        "insecure": True,
    }
    text = node_config_toml(values)
    assert tomllib.loads(text) == values
    path = tmp_path / "jpn.toml"
    path.write_text(text)
    config = NodeConfig.from_toml(path)
    assert [a.name for a in config.release.areas] == ["north", "tri"]
    assert config.release.tracks.only == "threats"


def test_a_library_name_is_the_library_scenario_even_beside_a_folder_of_that_name(
    tmp_path, monkeypatch
):
    """After the quick start's ``airpicture simulate drill -o drill``, ``--scenario drill`` is
    still the library's drill (simulated, with its duration); ``./drill`` is the folder, which
    is replayed as it is and so takes no duration."""
    from airpicture.errors import ConfigError
    from airpicture.network import _scenario_files

    monkeypatch.chdir(tmp_path)
    (tmp_path / "drill").mkdir()
    files, t0_s = _scenario_files("drill", tmp_path / "work", 20.0, None)
    assert t0_s is not None and files.detections.parent == tmp_path / "work" / "scenario"
    with pytest.raises(ConfigError, match="--duration: expected a scenario to simulate"):
        _scenario_files("./drill", tmp_path / "work2", 20.0, None)
