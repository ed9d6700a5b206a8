"""Process faults under a secure ``airpicture network up`` (real processes on 127.0.0.1): a node or
the broker killed mid-run and restarted by hand with the command ``network up`` printed; the
run owns and stops what was restarted. The guarantees are listed in docs/reliability.md."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from airpicture.io import read_tracks
from airpicture.processes import hold_pid_file, owned_pid, read_pid_file, stop_owned
from tests.net.helpers import NATIONS, TRACKER, assert_same_picture, batch_picture


def _wait(predicate, deadline_s: float = 60.0) -> None:
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached before the deadline")
        time.sleep(0.05)


def _published(health: str) -> int:
    try:
        with urllib.request.urlopen(health, timeout=1.0) as response:
            return int(json.loads(response.read()).get("published", {}).get("detections", 0))
    except OSError:
        return 0


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" in status.read_text()


class _NetworkUp:
    """``airpicture network up`` as a user runs it, with what it prints at start parsed."""

    def __init__(self, scenario_dir: Path, tmp_path: Path, speed: float) -> None:
        (tmp_path / "tracker.toml").write_text(
            "[tracker]\n" + "".join(f"{k} = {v}\n" for k, v in TRACKER.items())
        )
        args = [sys.executable, "-m", "airpicture.cli", "network", "up"]
        args += ["--scenario", str(scenario_dir), "--nations", ",".join(NATIONS)]
        args += ["--speed", str(speed), "--record", str(tmp_path / "rec")]
        args += ["--config", str(tmp_path / "tracker.toml")]
        self.err = tmp_path / "network-up.err"
        with self.err.open("w") as err:
            self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True)
        assert self.process.stdout is not None
        lines = [self.process.stdout.readline() for _ in range(3 + len(NATIONS))]
        self.server_pid = int(re.search(r"nats-server pid (\d+)", lines[0]).group(1))
        self.health = dict(re.findall(r"(\w{3}) pid \d+ (http://\S+/health)", lines[0]))
        self.work = Path(lines[1].removeprefix("work folder: ").strip())
        self.commands = dict(re.findall(r"^restart (.+) by hand: (.+)$", "".join(lines), re.M))

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        """Run the printed command of ``name`` as a user would paste it into a shell."""
        return subprocess.Popen(
            shlex.split(self.commands[name]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def finish(self, timeout_s: float = 90.0) -> str:
        out, _ = self.process.communicate(timeout=timeout_s)
        return out

    def close(self, *others: subprocess.Popen[bytes]) -> None:
        for process in (self.process, *others):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_a_killed_node_restarted_by_hand_is_owned_and_catches_up(scenario_dir, tmp_path):
    run = _NetworkUp(scenario_dir, tmp_path, speed=10.0)
    hand = None
    try:
        assert run.work.is_dir() and str(run.work) in run.commands["JPN"]
        _wait(lambda: _published(run.health["JPN"]) > 300)
        first = read_pid_file(run.work / "nodes" / "JPN.pid")
        assert first is not None
        os.kill(first[0], signal.SIGKILL)
        _wait(lambda: "node JPN ended (exit -9)" in run.err.read_text())
        hand = run.restart("JPN")
        out = run.finish()
        assert hand.poll() == 0  # network up waited for it
    finally:
        run.close(*(p for p in (hand,) if p is not None))
    errors = run.err.read_text()
    assert f"node JPN runs again, restarted by hand (pid {hand.pid})" in errors
    assert run.process.returncode == 0, errors
    assert all(f"{n}: exit 0" in out for n in NATIONS), out
    assert not run.work.exists()
    expected = batch_picture(scenario_dir)  # what a clean run records (test_network.py)
    for nation in NATIONS:
        assert_same_picture(read_tracks(tmp_path / "rec" / nation / "tracks.csv"), expected)


def test_a_killed_broker_restarted_by_hand_keeps_the_stream_and_is_stopped(scenario_dir, tmp_path):
    run = _NetworkUp(scenario_dir, tmp_path, speed=10.0)
    hand = None
    try:
        _wait(lambda: _published(run.health["JPN"]) > 300)
        os.kill(run.server_pid, signal.SIGKILL)
        _wait(lambda: _gone(run.server_pid))
        hand = run.restart("the server")
        out = run.finish()
        # The run stopped the broker it did not start.
        assert hand.wait(timeout=30) == 0
    finally:
        run.close(*(p for p in (hand,) if p is not None))
    assert run.process.returncode == 0, run.err.read_text()
    assert all(f"{n}: exit 0" in out for n in NATIONS), out
    expected = batch_picture(scenario_dir)
    for nation in NATIONS:
        assert_same_picture(read_tracks(tmp_path / "rec" / nation / "tracks.csv"), expected)


def test_sigterm_stops_every_process_also_one_restarted_by_hand(scenario_dir, tmp_path):
    run = _NetworkUp(scenario_dir, tmp_path, speed=1.0)
    hands: list[subprocess.Popen[bytes]] = []
    try:
        _wait(lambda: _published(run.health["USA"]) > 0)
        pid_file = run.work / "nodes" / "USA.pid"
        first = read_pid_file(pid_file)
        assert first is not None
        os.kill(first[0], signal.SIGKILL)
        _wait(lambda: "node USA ended" in run.err.read_text())
        hands.append(run.restart("USA"))
        _wait(lambda: (read_pid_file(pid_file) or (0,))[0] == hands[0].pid)
        _wait(lambda: _published(run.health["USA"]) > 0)  # connected (a node must connect once)
        os.kill(run.server_pid, signal.SIGKILL)
        _wait(lambda: _gone(run.server_pid))
        hands.append(run.restart("the server"))
        server_pid_file = run.work / "nats" / "nats-server.pid"
        _wait(lambda: (read_pid_file(server_pid_file) or (0,))[0] == hands[1].pid)
        run.process.send_signal(signal.SIGTERM)
        out = run.finish(timeout_s=60)
        assert [hand.wait(timeout=30) for hand in hands] == [0, 0]
    finally:
        run.close(*hands)
    assert run.process.returncode == 130 and "network stopped by Ctrl-C" in out
    assert "USA: exit 0" in out, out
    assert all(_gone(p.pid) for p in hands)


def test_a_pid_file_never_leads_to_a_process_that_is_not_ours(tmp_path):
    pid_file = tmp_path / "x.pid"
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    other = subprocess.Popen(sleeper)
    try:
        pid_file.write_text(f"{other.pid}\n")
        _wait(lambda: owned_pid(pid_file, sleeper) == other.pid)  # once it runs the command
        # The same number under another command (a stale file, the number reused): not ours.
        assert owned_pid(pid_file, [sys.executable, "-c", "pass"]) is None
        assert stop_owned(pid_file, [sys.executable, "-m", "airpicture.cli", "node"]) is None
        assert other.poll() is None
        assert stop_owned(pid_file, sleeper) == other.pid
        assert other.wait(timeout=10) == -signal.SIGTERM
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
    assert owned_pid(pid_file, sleeper) is None  # ended
    assert owned_pid(tmp_path / "missing.pid", sleeper) is None
    with hold_pid_file(pid_file):
        assert read_pid_file(pid_file) == (os.getpid(), None)
    assert read_pid_file(pid_file) == (os.getpid(), 0)
