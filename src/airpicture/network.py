"""A whole local network in one command: the library behind ``airpicture network up``.

:func:`network_up` simulates a scenario (or takes a data-contract directory), starts a local
``nats-server`` with JetStream and one ``airpicture node`` process per nation, each fed its own
nation's sensors from the scenario, and waits until every node's picture is final (or until
interrupted). With ``record_dir``, each node writes its picture to
``<record_dir>/<NATION>/tracks.csv`` when it stops. With ``bus="memory"`` the nodes run in this
process on one :class:`~airpicture.net.MemoryBus` instead (no server, no processes).

Everything a run needs lives in its work folder (a temporary folder, removed at the end): the
scenario, keys, each node's file (``nodes/<NATION>.toml``) and the server's configuration and
JetStream store (``nats/``). ``on_started`` gets the folder and, for the server and each node,
the shell line that starts it again by hand after a crash (it resumes: the server from its
store, a node from the stream). Every process, also one restarted by hand, holds a pid file in
the folder (:mod:`airpicture.processes`): a node restarted by hand counts as running, and the run
stops it at its end as it stops the rest.

Clean stop: the node processes run in their own sessions, so a Ctrl-C reaches this process only;
it (or a SIGTERM) asks every node to stop (SIGTERM: the node writes its record and exits), waits,
kills what is left after a grace period, then stops the server and removes the work folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airpicture.errors import ConfigError
from airpicture.processes import owned_pid, read_pid_file, stop_owned
from airpicture.tracker import TrackerConfig

if TYPE_CHECKING:
    from airpicture.net._release import ReleasePolicy

__all__ = ["NetworkResult", "network_up", "node_config_toml", "read_release_file"]

log = logging.getLogger(__name__)

_STARTUP_S = 3.0


@dataclass(frozen=True)
class NetworkResult:
    """What :func:`network_up` ran and left behind.

    Attributes
    ----------
    nations : tuple of str
    exit_codes : dict of str to int or None
        Each node's exit status (0: stopped cleanly; for in-process nodes, always 0). A node
        restarted by hand reports the status of its last process, None when that process
        recorded none (killed).
    records : dict of str to Path
        Each node's recorded picture (only with ``record_dir``).
    interrupted : bool
        True when the run was stopped before every picture was final.
    """

    nations: tuple[str, ...]
    exit_codes: dict[str, int | None] = field(default_factory=dict)
    records: dict[str, Path] = field(default_factory=dict)
    interrupted: bool = False


def node_config_toml(values: Mapping[str, Any]) -> str:
    """A node configuration mapping as TOML (``tomli_w``; tables and arrays of tables at any
    depth, such as release areas with an inline box or a polygon).

    Raises
    ------
    TypeError
        On a value TOML cannot hold (None, an object).
    """
    import tomli_w

    return tomli_w.dumps(values)


def _scenario_files(
    scenario: str, work: Path, duration_s: float | None, seed: int | None
) -> tuple[Any, float | None]:
    """The scenario's tables: a data-contract directory as it is, else simulated into ``work``.

    A bare library name is the library's scenario even where a folder of that name exists (the
    quick start's ``airpicture simulate drill -o drill`` makes one): ``./drill`` names the folder.
    A folder is replayed as it is, so it takes no duration or seed.
    """
    from airpicture.io import find_scenario_files
    from airpicture.sim._scenario import is_library_scenario, load_scenario

    path = Path(scenario)
    if path.is_dir() and not is_library_scenario(scenario):
        if duration_s is not None or seed is not None:
            raise ConfigError(
                "command line",
                key="--duration" if duration_s is not None else "--seed",
                expected="a scenario to simulate (a data-contract folder is replayed as it is)",
                got=f"the folder {scenario}",
            )
        return find_scenario_files(path), None
    from airpicture.sim._run import simulate

    spec = load_scenario(scenario).with_overrides(seed=seed, duration_s=duration_s)
    log.info("simulating %s (%.0f s of scenario time)", spec.name, spec.duration_s)
    summary = simulate(spec, work / "scenario")
    return find_scenario_files(summary.out_dir), float(spec.t0_s)


def network_up(
    *,
    scenario: str,
    nations: Sequence[str],
    duration_s: float | None = None,
    speed: float = 1.0,
    record_dir: str | Path | None = None,
    bus: str = "nats",
    tracker: TrackerConfig | None = None,
    seed: int | None = None,
    tick_s: float = 0.05,
    peer_timeout_s: float = 30.0,
    verbose: bool = False,
    on_started: Callable[[dict[str, Any]], None] | None = None,
    insecure: bool = False,
    keys_dir: str | Path | None = None,
    release: Mapping[str, Any] | str | None = None,
    release_source: str = "release policies",
    cluster: int = 1,
) -> NetworkResult:
    """Run a local network of one node per nation until every picture is final or Ctrl-C.

    Parameters
    ----------
    scenario : str
        A library scenario name, a scenario TOML file, or a data-contract directory.
    nations : sequence of str
        The nations that run a node (at most 21). A nation without sensors in the scenario runs
        a node that tracks what the others release to it; at least one nation must own sensors.
    duration_s : float, optional
        Simulated duration, s (library or TOML scenarios only).
    speed : float
        Scenario seconds per wall-clock second.
    record_dir : path, optional
        Folder of the recorded pictures, ``<record_dir>/<NATION>/tracks.csv``.
    bus : {"nats", "memory"}
        A local NATS server and node processes, or in-process nodes on one memory bus.
    tracker : TrackerConfig, optional
        Tracker settings of every node.
    seed : int, optional
        Simulation seed override.
    tick_s, peer_timeout_s : float
        Node settings (see :class:`~airpicture.node.NodeConfig`).
    verbose : bool
        Let the node processes log at INFO level.
    on_started : callable, optional
        Called once everything runs, with ``{"bus_url", "server_pid", "nodes": {nation: {"pid",
        "health"}}}`` (``server_pid`` is None on the memory bus); with ``bus="nats"`` also
        ``"work"`` (the work folder), ``"server_command"`` and each node's ``"command"``: the
        shell lines that start them again by hand.
    insecure : bool
        Run without TLS, authentication, permissions and signatures. By default the network is
        secure: keys are made for the run (or taken from ``keys_dir``), the server requires TLS
        client certificates and per-nation nkey users with subject permissions, and every node
        signs and verifies (audit logs in ``<record_dir>/<NATION>/audit.jsonl``).
    keys_dir : path, optional
        An existing keys folder (:mod:`airpicture.net._keys`) to use instead of fresh keys. The
        server uses it whole; each node gets a copy of only what it needs
        (:func:`~airpicture.net.export_node_keys`).
    release : dict or str, optional
        Release policies per nation: ``{nation: table}``, each table what that node's
        ``[release]`` holds (:mod:`airpicture.net._release`); relative ``geojson`` paths in it must
        already be resolved (:func:`read_release_file` does). A nation not given releases
        everything to everyone. Or the name of a preset
        (:data:`~airpicture.net.RELEASE_PRESETS`,
        :func:`~airpicture.net.preset_tables`) for the whole network.
    release_source : str
        Where ``release`` came from, named in errors.
    cluster : int
        Servers of the NATS bus: 1, or a cluster (:class:`~airpicture.net.NatsCluster`) whose
        stream has a copy on every server; the nodes connect with every server's URL and fail
        over when theirs is lost. ``on_started`` then gets ``"servers"``, each member's
        ``{"pid", "command"}`` by name, instead of ``"server_pid"`` and ``"server_command"``.

    Returns
    -------
    NetworkResult

    Raises
    ------
    ConfigError
        On an unknown scenario or bus, more than 21 nations or none with sensors in the
        scenario, an unknown preset or a release policy that is not valid (named by nation and
        key).
    """
    from airpicture.io import read_sensors
    from airpicture.net._release import LabelSpace, preset_tables

    nations = tuple(dict.fromkeys(n.strip().upper() for n in nations if n.strip()))
    if bus not in ("nats", "memory"):
        raise ConfigError("network up", key="--bus", expected="'nats' or 'memory'", got=repr(bus))
    if not nations:
        raise ConfigError("network up", key="--nations", expected="at least one nation", got="none")
    if cluster < 1 or (cluster > 1 and bus != "nats"):
        raise ConfigError(
            "network up",
            key="--cluster",
            expected="at least 1 server (more on the nats bus only)",
            got=f"{cluster} on the {bus} bus",
        )
    try:
        LabelSpace(nations)
    except ConfigError as exc:
        raise ConfigError(
            "network up", key="--nations", expected=exc.expected, got=exc.got
        ) from None
    if isinstance(release, str):
        release = preset_tables(release, nations, source="network up", key="--release")
    tracker = tracker if tracker is not None else TrackerConfig()
    work = Path(tempfile.mkdtemp(prefix="airpicture-network-"))
    record_root = Path(record_dir).resolve() if record_dir is not None else None
    try:
        files, t0_s = _scenario_files(scenario, work, duration_s, seed)
        sensors = read_sensors(files.sensors)
        if not set(nations) & set(sensors.nations):
            raise ConfigError(
                "network up",
                key="--nations",
                expected="at least one nation with sensors in the scenario ("
                + ", ".join(sensors.nations)
                + ")",
                got=", ".join(nations),
            )
        for nation in nations:
            if nation not in sensors.nations:
                log.info("%s has no sensors in the scenario: its node only receives", nation)
        tables, policies = _release_policies(release or {}, nations, sensors, release_source)
        keys: Path | None = None
        if not insecure:
            if keys_dir is not None:
                keys = Path(keys_dir).resolve()
            else:
                from airpicture.net._keys import init_keys

                keys = work / "keys"
                init_keys(keys, nations)
        start_at = time.time() + (_STARTUP_S if bus == "nats" else 0.5)
        configs: dict[str, dict[str, Any]] = {}
        for nation in nations:
            source: dict[str, Any] = {
                "scenario_dir": str(files.directory.resolve()),
                "speed": float(speed),
                "start_at_unix_s": start_at,
            }
            if t0_s is not None:
                source["t0_s"] = t0_s
            values: dict[str, Any] = {
                "nation": nation,
                "node_id": f"{nation.lower()}-node",
                "sensors_file": str(files.sensors.resolve()),
                "network": list(nations),
                "tick_s": tick_s,
                "peer_timeout_s": peer_timeout_s,
                "exit_when_done": True,
                "source": source,
                "release": tables[nation],
                "tracker": asdict(tracker),
            }
            if record_root is not None:
                values["record"] = str(record_root / nation / "tracks.csv")
            if keys is not None:
                from airpicture.net._keys import export_node_keys

                # Each node gets its own folder: trust.json, ca.crt and its nation's keys only.
                own = export_node_keys(keys, nation, work / "node-keys" / nation)
                audit = (record_root or work) / nation / "audit.jsonl"
                values["security"] = {"keys_dir": str(own), "audit_log": str(audit)}
            else:
                values["insecure"] = True
            configs[nation] = values
        if bus == "memory":
            result = _run_in_process(configs, nations, on_started)
        else:
            result = _run_processes(
                configs, nations, work, verbose, on_started, keys, policies, cluster
            )
        records = {}
        if record_root is not None:
            records = {
                n: record_root / n / "tracks.csv"
                for n in nations
                if (record_root / n / "tracks.csv").exists()
            }
        return NetworkResult(nations, result[0], records, result[1])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def read_release_file(path: str | Path) -> dict[str, Any]:
    """Per-nation release policies from a TOML file, for :func:`network_up`.

    The file holds one table per nation, each what that nation's node would have as its
    ``[release]`` table::

        [JPN]
        default = ["USA"]               # JPN's sensors go to the USA only ...
        [JPN.sensors]
        JPN-SADO = ["*"]                # ... except this one
        [JPN.tracks]
        to = ["AUS"]                    # JPN shares its tracks with Australia

    Relative ``geojson`` paths of areas are taken relative to the file's folder.

    Raises
    ------
    ConfigError
        A missing file, bad TOML, or a top-level entry that is not a table.
    """
    from airpicture.config import load_toml

    path = Path(path)
    tables = load_toml(path)
    base = path.resolve().parent
    out: dict[str, Any] = {}
    for nation, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(
                str(path), key=nation, expected="a table of release rules", got=repr(table)
            )
        areas = table.get("areas")
        if isinstance(areas, list):
            table = {
                **table,
                "areas": [
                    {**a, "geojson": str(base / a["geojson"])}
                    if isinstance(a, dict) and isinstance(a.get("geojson"), str)
                    else a
                    for a in areas
                ],
            }
        out[nation] = table
    return out


def _release_policies(
    release: Mapping[str, Any], nations: tuple[str, ...], sensors: Any, source: str
) -> tuple[dict[str, dict[str, Any]], dict[str, ReleasePolicy]]:
    """Each node's ``[release]`` table and its policy (for the server's permissions), checked
    here so a bad policy stops nothing half-started."""
    from airpicture.net._release import ReleasePolicy

    unknown = sorted(set(release) - set(nations))
    if unknown:
        raise ConfigError(
            source,
            key=unknown[0],
            expected="a nation of the network (" + ", ".join(nations) + ")",
            got=repr(unknown[0]),
        )
    tables, policies = {}, {}
    for nation in nations:
        tables[nation] = release.get(nation, {"default": ["*"]})
        own = tuple(s.sensor_id for s in sensors if s.nation == nation)
        try:
            policies[nation] = ReleasePolicy.from_mapping(
                tables[nation], owner=nation, own_sensors=own, source=source
            )
        except ConfigError as exc:
            raise ConfigError(
                source, key=f"{nation}.{exc.key}", expected=exc.expected, got=exc.got
            ) from None
    return tables, policies


def _run_in_process(
    configs: dict[str, dict[str, Any]],
    nations: tuple[str, ...],
    on_started: Callable[[dict[str, Any]], None] | None,
) -> tuple[dict[str, int | None], bool]:
    from airpicture.net._bus import MemoryBus
    from airpicture.node import Node, NodeConfig

    async def main() -> bool:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Signals reach the main thread only: elsewhere (a worker's thread) the caller stops it.
        signals = (signal.SIGINT, signal.SIGTERM) if _in_main_thread() else ()
        for number in signals:
            loop.add_signal_handler(number, stop.set)
        bus = MemoryBus()
        try:
            nodes = [
                Node(
                    NodeConfig.from_mapping(
                        {**configs[n], "bus": "memory://"}, source=f"network up ({n})"
                    ),
                    bus=bus,
                )
                for n in nations
            ]
            runs = [asyncio.create_task(node.run(stop)) for node in nodes]
            if on_started is not None:
                on_started(
                    {
                        "bus_url": "memory://",
                        "server_pid": None,
                        "nodes": {n: {"pid": os.getpid(), "health": None} for n in nations},
                    }
                )
            await asyncio.gather(*runs)
            return stop.is_set()
        finally:
            for number in signals:
                loop.remove_signal_handler(number)
            await bus.close()

    interrupted = asyncio.run(main())
    return {n: 0 for n in nations}, interrupted


@dataclass
class _NodeProcess:
    """A node process of the run, and the command that starts it again by hand.

    The node holds ``pid_file`` (``airpicture node --pid-file``), so the node is found again
    when it was restarted by hand with ``command`` after its first process ended.
    """

    nation: str
    command: list[str]
    pid_file: Path
    child: subprocess.Popen[bytes]

    @property
    def pid(self) -> int | None:
        """The node's running process (the one started here or one restarted by hand)."""
        if self.child.poll() is None:
            return self.child.pid
        return owned_pid(self.pid_file, self.command)

    @property
    def exit_code(self) -> int | None:
        """The exit status of its last process: None for one restarted by hand that recorded
        none (killed)."""
        read = read_pid_file(self.pid_file)
        if read is None or read[0] == self.child.pid:
            return self.child.returncode
        return read[1]

    def stop(self) -> None:
        """Ask the running process to stop (SIGTERM: it writes its record and exits)."""
        if self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)
        elif (pid := self.pid) is not None:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(pid, signal.SIGTERM)


def _run_processes(
    configs: dict[str, dict[str, Any]],
    nations: tuple[str, ...],
    work: Path,
    verbose: bool,
    on_started: Callable[[dict[str, Any]], None] | None,
    keys: Path | None = None,
    policies: dict[str, ReleasePolicy] | None = None,
    cluster: int = 1,
) -> tuple[dict[str, int | None], bool]:
    from airpicture.net._server import NatsCluster, NatsServer, free_port

    server: NatsServer | NatsCluster
    if cluster > 1:
        server = NatsCluster(cluster, store_dir=work / "nats", keys_dir=keys, policies=policies)
    else:
        server = NatsServer(store_dir=work / "nats", keys_dir=keys, policies=policies)
    nodes: dict[str, _NodeProcess] = {}
    interrupted = False
    # SIGTERM stops the run as Ctrl-C does (signals can be set in the main thread only).
    main_thread = _in_main_thread()
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler) if main_thread else None
    try:
        server.start()
        info: dict[str, Any] = {"bus_url": server.url, "work": str(work), "nodes": {}}
        if isinstance(server, NatsCluster):
            info["servers"] = {
                member.name: {"pid": member.pid, "command": shlex.join(member.command)}
                for member in server.servers
            }
        else:
            info["server_pid"] = server.pid
            info["server_command"] = shlex.join(server.command)
        for nation in nations:
            port = free_port()
            values = {**configs[nation], "bus": server.url, "health_port": port}
            path = work / "nodes" / f"{nation}.toml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(node_config_toml(values), encoding="utf-8")
            pid_file = path.with_suffix(".pid")
            args = (
                [sys.executable, "-m", "airpicture.cli"]
                + (["-v"] if verbose else [])
                + ["node", "--pid-file", str(pid_file), str(path)]
            )
            child = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
            nodes[nation] = _NodeProcess(nation, args, pid_file, child)
            info["nodes"][nation] = {
                "pid": child.pid,
                "health": f"http://127.0.0.1:{port}/health",
                "command": shlex.join(args),
            }
            log.info("node %s: pid %d, health http://127.0.0.1:%d/health", nation, child.pid, port)
        if on_started is not None:
            on_started(info)
        _watch(nodes)
    except KeyboardInterrupt:
        interrupted = True
        log.info("interrupted: stopping %d node(s)", sum(n.pid is not None for n in nodes.values()))
    finally:
        _stop_processes(nodes)
        server.stop()
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    return {n: p.exit_code for n, p in nodes.items()}, interrupted


def _watch(nodes: dict[str, _NodeProcess]) -> None:
    """Wait while any node runs; say when one ends early and when it runs again by hand."""
    pids: dict[str, int | None] = {n: p.child.pid for n, p in nodes.items()}
    while any(pid is not None for pid in pids.values()):
        time.sleep(0.2)
        for nation, node in nodes.items():
            pid, before = node.pid, pids[nation]
            if pid is None and before is not None and node.exit_code != 0:
                log.warning(
                    "node %s ended (exit %s); to restart it by hand: %s",
                    nation,
                    node.exit_code,
                    shlex.join(node.command),
                )
            elif pid is not None and pid != before:
                log.warning("node %s runs again, restarted by hand (pid %d)", nation, pid)
            pids[nation] = pid


def _stop_processes(nodes: dict[str, _NodeProcess], grace_s: float = 20.0) -> None:
    """SIGTERM every live node (restarted by hand or not), wait up to ``grace_s``, then SIGKILL
    what is left."""
    # A second Ctrl-C or SIGTERM must not cut the clean-up short.
    main_thread = _in_main_thread()
    numbers = (signal.SIGINT, signal.SIGTERM) if main_thread else ()
    previous = {n: signal.signal(n, signal.SIG_IGN) for n in numbers}
    try:
        for node in nodes.values():
            node.stop()
        deadline = time.monotonic() + grace_s
        for nation, node in nodes.items():
            try:
                node.child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("node %s did not stop within %.0f s; killing it", nation, grace_s)
                node.child.kill()
                node.child.wait()
            stop_owned(  # node.stop() sent its SIGTERM
                node.pid_file,
                node.command,
                grace_s=max(0.1, deadline - time.monotonic()),
                asked=True,
            )
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
