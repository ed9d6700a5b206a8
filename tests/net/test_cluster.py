"""A secure ``airpicture network up --cluster 3`` (three nats-server processes on 127.0.0.1, the
stream at three copies) loses the server that leads the stream mid-run: nothing is lost, nothing
is doubled, the nodes fail over. The guarantee is in docs/reliability.md."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from airpicture.io import read_tracks
from airpicture.net import stream_leader
from tests.net.helpers import NATIONS, TRACKER, assert_same_picture, batch_picture
from tests.net.test_faults import _gone, _published, _wait


def test_a_cluster_losing_the_stream_leader_loses_nothing(scenario_dir, tmp_path):
    (tmp_path / "tracker.toml").write_text(
        "[tracker]\n" + "".join(f"{k} = {v}\n" for k, v in TRACKER.items())
    )
    args = [sys.executable, "-m", "airpicture.cli", "network", "up", "--cluster", "3"]
    args += ["--scenario", str(scenario_dir), "--nations", ",".join(NATIONS), "--speed", "10"]
    args += ["--record", str(tmp_path / "rec"), "--config", str(tmp_path / "tracker.toml")]
    err = tmp_path / "network-up.err"
    with err.open("w") as errors:
        run = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, text=True)
    try:
        assert run.stdout is not None
        first = run.stdout.readline()
        work = Path(run.stdout.readline().removeprefix("work folder: ").strip())
        url = re.search(r"network up on (\S+) ", first).group(1)
        servers = {name: int(pid) for name, pid in re.findall(r"(n\d) pid (\d+)", first)}
        health = dict(re.findall(r"(\w{3}) pid \d+ (http://\S+/health)", first))
        assert len(servers) == 3 and url.count("tls://") == 3
        # the operator's keys, kept: the run removes its work folder when it ends
        keys = tmp_path / "keys"
        shutil.copytree(work / "keys", keys)
        _wait(lambda: _published(health["JPN"]) > 300)
        leader = stream_leader(url, keys_dir=keys)
        assert leader in servers
        killed_at = time.monotonic()
        os.kill(servers[leader], signal.SIGKILL)
        _wait(lambda: _gone(servers[leader]))
        # Another server takes the lead: the stream carries on with its copies (unless the
        # short run ends first; its pictures below are the guarantee).
        _wait(
            lambda: run.poll() is not None
            or stream_leader(url, keys_dir=keys) not in (None, leader)
        )
        print(f"new stream leader or end of run after {time.monotonic() - killed_at:.1f} s")
        out, _ = run.communicate(timeout=90)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    log = err.read_text()
    assert run.returncode == 0, log
    assert all(f"{n}: exit 0" in out for n in NATIONS), out
    expected = batch_picture(scenario_dir)  # what a clean run records (test_network.py)
    for nation in NATIONS:
        assert_same_picture(read_tracks(tmp_path / "rec" / nation / "tracks.csv"), expected)
    print(f"{len(expected)} rows equal at each of {len(NATIONS)} nodes")
