"""``airpicture demo``: a scenario played live through one node per nation, on a map in the browser.

:func:`run_demo` serves the map on 127.0.0.1 at once, simulates the scenario in memory (a few
seconds; no files), hands each node its own nation's detections and plays them in real time (or
``speed`` times faster) through three :class:`~airpicture.node.Node` instances, one per nation, on
one in-process :class:`~airpicture.net.MemoryBus`. Each node ingests its own nation's sensors,
releases detections as the release policy allows, tracks and assesses everything released to it and
publishes its picture, its impact predictions and its alerts; the demo subscribes to every node's
picture deltas, impacts and alerts and feeds them to a :class:`~airpicture.web.PictureStore`, whose
views the map shows: tracks, the predicted impact points of ballistic missiles with their ellipses
and launch points, the warning areas (the nodes' areas: the illustrative ones shipped with the
package unless ``areas`` is given) and the alerts as they are issued and cancelled.

Release policies (``release``, the presets of :func:`airpicture.net.preset_tables`):

* ``"threats"`` (default): detections as in ``"hub"``, and every nation lets tracks of threats
  built on its detections go to every partner and shares its tracks of threats with every
  partner (ballistic and cruise missiles, unknown objects above the aircraft ceiling, tracks
  with an alert in force).
* ``"hub"``: every nation releases its sensors to the USA, and the USA releases its own to every
  nation; the USA holds the complete picture, Japan and Australia each see their own sensors
  and the USA's (their pictures differ where only the other's sensors see).
* ``"full"``: every nation releases everything to every nation; all pictures are identical.

Moving sensor platforms (ships, aircraft) are shown where the scenario puts them at the current
picture time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.errors import ConfigError
from airpicture.tables import Detections, SensorTable

__all__ = ["DemoSummary", "run_demo"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSummary:
    """What a demo run did.

    Attributes
    ----------
    url : str
        Where the map was served.
    scenario : str
        The scenario played.
    nations : tuple of str
        The nations that ran a node.
    tracks : dict of str to int
        Tracks held by each nation's picture when the demo stopped.
    finished : bool
        True when the scenario had played to its end.
    alerts : dict of str to int
        Alerts each nation's view held when the demo stopped, active or cancelled (those
        cancelled longer ago than the store's history span are forgotten).
    """

    url: str
    scenario: str
    nations: tuple[str, ...]
    tracks: dict[str, int]
    finished: bool
    alerts: dict[str, int]


def _views_of_sensors(
    sensors: Any, release: dict[str, dict[str, Any]], nations: tuple[str, ...]
) -> dict[str, list[str]]:
    """For each nation, the sensor ids whose detections reach its picture."""
    from airpicture.net._release import ReleasePolicy, releasable

    policies = {
        n: ReleasePolicy.from_mapping(
            release[n],
            owner=n,
            own_sensors=tuple(s.sensor_id for s in sensors if s.nation == n),
            source="demo",
        )
        for n in nations
    }
    views: dict[str, list[str]] = {n: [] for n in nations}
    for s in sensors:
        if s.nation not in policies:
            continue
        for n in nations:
            if releasable(s.sensor_id, n, policies[s.nation], sensor_nation=s.nation):
                views[n].append(s.sensor_id)
    return views


def _lighten(colour: str | None) -> str | None:
    """A scenario colour made legible on the dark map (mixed 45 % with white)."""
    if not colour or not colour.startswith("#") or len(colour) != 7:
        return colour
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * 0.45):02x}" for c in rgb)


def _sites(scenario: Any, views: dict[str, list[str]], t_s: float) -> list[Any]:
    from airpicture.web._store import SensorSite

    reach: dict[str, list[str]] = {}
    for nation, ids in views.items():
        for sensor_id in ids:
            reach.setdefault(sensor_id, []).append(nation)
    out = []
    at = np.array([t_s])
    for s in scenario.sensors:
        lat, lon, alt = (float(c[0]) for c in s.path.geodetic_at(at))
        space = s.platform == "space"
        sector = None
        if s.sector_rad is not None and not space:
            sector = (math.degrees(s.sector_rad[0]), math.degrees(s.sector_rad[1]))
        out.append(
            SensorSite(
                sensor_id=s.sensor_id,
                nation=s.nation,
                kind=s.kind,
                lat_deg=math.degrees(lat),
                lon_deg=math.degrees(lon),
                alt_m=alt,
                max_range_m=0.0 if space else float(s.max_range_m),
                sector_deg=sector,
                platform=s.platform,
                views=tuple(sorted(reach.get(s.sensor_id, ()))),
            )
        )
    return out


def run_demo(
    scenario: str = "sea-of-japan-raid",
    *,
    speed: float = 1.0,
    port: int | None = None,
    release: str = "threats",
    areas: str | Path | None = None,
    duration_s: float | None = None,
    seed: int | None = None,
    open_browser: bool = False,
    on_ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    accounts: str | Path | None = None,
    audit_log: str | Path | None = None,
    host: str = "127.0.0.1",
    tls_cert: str | Path | None = None,
    tls_key: str | Path | None = None,
) -> DemoSummary:
    """Play a scenario live through one node per nation and serve the map until stopped.

    Parameters
    ----------
    scenario : str
        A library scenario name (``sea-of-japan-raid``, ``drill`` ...) or a scenario TOML file.
    speed : float
        Scenario seconds per wall-clock second (1 = real time).
    port : int, optional
        Port of the map on 127.0.0.1 (:data:`~airpicture.web.DEFAULT_PORT` by default,
        another free port when that one is taken; 0 for any free port).
    release : str
        Release policy, one of :data:`~airpicture.net.RELEASE_PRESETS` (see the module
        docstring).
    areas : path, optional
        Warning areas of the nodes' alerts, shown on the map: a GeoJSON FeatureCollection file
        (the illustrative areas shipped with the package by default).
    duration_s, seed : optional
        Overrides of the scenario's duration (s) and seed.
    open_browser : bool
        Open the map in the default browser.
    on_ready : callable, optional
        Called with the map's URL as soon as it is served.
    stop : threading.Event, optional
        Set it to stop the demo (Ctrl-C also stops it when called from the main thread).
    allowed_hosts, allowed_origins : iterable of str
        ``Host`` values (``name`` or ``name:port``) and origins (``http(s)://name[:port]``) the
        map accepts besides its own, 127.0.0.1, localhost and [::1] on its port: the name of a
        reverse proxy in front of it, say (:func:`airpicture.web.create_app`).
    accounts : path, optional
        Operators' accounts file (``airpicture operators add``): the map then needs a login,
        and operators take coordination actions in their nation's view, applied by its node.
    audit_log : path, optional
        Where the map and the nodes write logins, what operators looked at and did, and the
        actions applied to each view (one hash-chained log per node and one for the map:
        ``<stem>-<NATION>.jsonl`` next to it for the nodes).
    host, tls_cert, tls_key : optional
        The address the map listens on (127.0.0.1; another only with TLS and ``accounts``),
        and the server's certificate and key (:func:`airpicture.web.start_server`).

    Returns
    -------
    DemoSummary

    Raises
    ------
    ConfigError
        An unknown scenario or release preset, a bad speed or port, an allowed host or origin
        that is not of that form.
    DataError
        A warning areas file that is missing or not valid.
    """
    from airpicture.assess import read_warning_areas
    from airpicture.net import AuditLog
    from airpicture.net._release import preset_tables
    from airpicture.sim import simulate_detections
    from airpicture.sim._scenario import load_scenario
    from airpicture.web._app import create_app
    from airpicture.web._auth import Accounts
    from airpicture.web._coordination import CoordinationBoard
    from airpicture.web._feed import NodeActions
    from airpicture.web._server import DEFAULT_PORT, start_server
    from airpicture.web._store import PictureStore

    if isinstance(speed, bool) or not isinstance(speed, int | float) or not (0 < speed <= 10_000):
        raise ConfigError("demo", key="speed", expected="a number in (0, 10000]", got=repr(speed))
    sc = load_scenario(scenario).with_overrides(seed=seed, duration_s=duration_s)
    owners = {s.nation for s in sc.sensors}
    nations = tuple(n.code for n in sc.nations if n.code in owners) or tuple(sorted(owners))
    release_by_nation = preset_tables(release, nations, source="demo")

    store = PictureStore(nations=nations)
    store.info = {
        "title": sc.description,
        "scenario": sc.name,
        "nation_names": {n.code: n.name for n in sc.nations},
        "nation_colours": {n.code: _lighten(n.colour) for n in sc.nations if n.colour},
        "default_nation": nations[0],
        "release": release,
        "speed": speed,
        "status": "simulating",
    }
    ground = [s for s in sc.sensors if s.platform != "space"]
    if ground:
        at = np.array([sc.t0_s])
        pos = np.array([[float(c[0]) for c in s.path.geodetic_at(at)[:2]] for s in ground])
        store.info["center"] = [
            round(math.degrees(float(np.mean(pos[:, 0]))), 3),
            round(math.degrees(float(np.mean(pos[:, 1]))), 3),
        ]
        store.info["zoom"] = 6
    store.set_areas(read_warning_areas(areas))

    board = CoordinationBoard(nations)
    actions = NodeActions()
    audit = AuditLog(audit_log, node="map") if audit_log is not None else None
    app = create_app(
        store,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
        accounts=Accounts.load(accounts) if accounts is not None else None,
        coordination=board,
        act=actions,
        audit=audit,
    )
    server = start_server(
        app,
        host=host,
        port=DEFAULT_PORT if port is None else port,
        tls_cert=tls_cert,
        tls_key=tls_key,
    )
    logger.info("map on %s", server.url)
    if on_ready is not None:
        on_ready(server.url)
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)

    stop = stop if stop is not None else threading.Event()
    finished = False
    try:
        logger.info(
            "simulating %s (%d objects, %d sensors, %.0f s)",
            sc.name,
            len(sc.objects),
            len(sc.sensors),
            sc.duration_s,
        )
        sensors, detections = simulate_detections(sc)
        if stop.is_set():
            return _summary(server.url, sc.name, nations, store, False)
        store.info["status"] = "live"
        finished = _play(
            sc,
            sensors,
            detections,
            nations,
            release_by_nation,
            store,
            areas=areas,
            speed=speed,
            stop=stop,
            board=board,
            actions=actions,
            audit_log=Path(audit_log) if audit_log is not None else None,
        )
    except KeyboardInterrupt:
        logger.info("interrupted")
    finally:
        server.stop()
        if audit is not None:
            audit.close()
    return _summary(server.url, sc.name, nations, store, finished)


def _summary(
    url: str, name: str, nations: tuple[str, ...], store: Any, finished: bool
) -> DemoSummary:
    health = store.health()
    return DemoSummary(
        url,
        name,
        nations,
        {n: int(health[n]["tracks"]) for n in nations},
        finished,
        {n: len(store.alerts(n)) for n in nations},
    )


def _play(
    sc: Any,
    sensors: SensorTable,
    detections: Detections,
    nations: tuple[str, ...],
    release: dict[str, dict[str, Any]],
    store: Any,
    *,
    areas: str | Path | None,
    speed: float,
    stop: threading.Event,
    board: Any,
    actions: Any,
    audit_log: Path | None,
) -> bool:
    """Run the nodes on a memory bus until ``stop``, each handed its own detections in memory,
    their outputs fed to the map (``store`` and ``board``) and operators' actions to them
    (``actions``); True when the scenario played to the end."""
    from airpicture.net import AuditLog, MemoryBus
    from airpicture.node import Node, NodeConfig, ReplaySource
    from airpicture.web._feed import NODE_OUTPUT_SUBJECTS, apply_node_output

    views = _views_of_sensors(sensors, release, nations)
    store.set_sensors(_sites(sc, views, sc.t0_s))
    start_at = time.time() + 0.3

    async def main() -> bool:
        halt = asyncio.Event()
        loop = asyncio.get_running_loop()
        handled = threading.current_thread() is threading.main_thread()
        if handled:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, halt.set)
        bus = MemoryBus()
        finals: set[str] = set()

        async def on_output(message: Any) -> None:
            final = apply_node_output(store, board, message.data, source=message.subject)
            if final is not None:
                finals.add(final)

        async def watch() -> None:
            last_sites = 0.0
            while not halt.is_set():
                if stop.is_set():
                    halt.set()
                    return
                now = time.time()
                if now - last_sites >= 2.0:
                    last_sites = now
                    t_s = min(sc.t0_s + max(0.0, now - start_at) * speed, sc.t_end_s)
                    store.set_sensors(_sites(sc, views, t_s))
                if len(finals) == len(nations) and store.info.get("status") != "finished":
                    store.info["status"] = "finished"
                    logger.info(
                        "scenario %s played to its end; the map stays up until Ctrl-C", sc.name
                    )
                await asyncio.sleep(0.2)

        try:
            subs = [
                await bus.subscribe(subject, on_output, from_seq=1)
                for subject in NODE_OUTPUT_SUBJECTS
            ]
            nodes = []
            for nation in nations:
                config = NodeConfig.from_mapping(
                    {
                        "nation": nation,
                        "node_id": f"{nation.lower()}-node",
                        "bus": "memory://",
                        "network": list(nations),
                        "release": release[nation],
                        "log_interval_s": 30.0,
                        "assess": {"areas": str(areas)} if areas is not None else {},
                    },
                    source=f"demo ({nation})",
                    sensors=sensors,
                )
                source = ReplaySource.from_detections(
                    detections,
                    sensors,
                    config.own_sensors,
                    speed=float(speed),
                    start_at_unix_s=start_at,
                )
                node = Node(config, bus=bus, source=source)
                if audit_log is not None:  # the demo's nodes are unsigned: an audit log only
                    path = audit_log.with_name(f"{audit_log.stem}-{nation}{audit_log.suffix}")
                    node.coordination.audit = AuditLog(path, node=config.node_id)
                nodes.append(node)
            actions.attach(nodes, asyncio.get_running_loop())
            runs = [asyncio.create_task(node.run(halt)) for node in nodes]
            watcher = asyncio.create_task(watch())
            await halt.wait()
            await asyncio.gather(*runs, return_exceptions=False)
            for node in nodes:
                if node.coordination.audit is not None:
                    node.coordination.audit.close()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            for sub in subs:
                await sub.unsubscribe()
            return len(finals) == len(nations)
        finally:
            if handled:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
            await bus.close()

    return asyncio.run(main())
