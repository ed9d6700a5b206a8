"""One nation's node: own sources in, releasable detections out, everything released to it tracked.

A node ingests its nation's sensors, publishes each detection to every nation the release
policy allows, receives everything addressed to its nation (its own detections included, through
the bus), runs one :class:`~airpicture.tracker.Tracker` over it, assesses every frame with an
:class:`~airpicture.assess.Assessor` (kinds, impact predictions, alerts) and publishes its
picture, impact predictions and alerts.

Subjects (see :mod:`airpicture.net`): ``air.det.<SENDER>.<RECIPIENT>`` detection batches,
``air.hb.<SENDER>.<RECIPIENT>`` heartbeats, ``air.status.<SENDER>.<RECIPIENT>`` sensor status,
``air.trk.<SENDER>.<RECIPIENT>`` tracks shared with another nation (:attr:`Node.shared` keeps
those it receives, apart from its own picture),
``air.pic.<NATION>`` picture deltas, ``air.impact.<NATION>`` impact predictions and
``air.alert.<NATION>`` alert changes (the last three for the node's own nation only). A node
subscribes to ``air.*.*.<NATION>`` from the start of the bus history, so one that starts late or
restarts catches up before it goes live.

Same detections, same picture
-----------------------------
Every detection carries its *arrival time* at the sending node (its source clock) and every
message of a sender to a recipient carries the sender's clock: the promise that all its
detections for that recipient that arrived up to then have been sent. A receiving node feeds its
tracker only detections that arrived at or before the smallest clock of all senders (the
barrier), cut into fixed steps of arrival time (``feed_step_s``). The tracker therefore gets,
on every node and in a recording replayed later, the same input in the same chunks, whatever the
network did to the messages, so nodes that receive the same detections hold identical pictures:
the same tracks, ids and states, even for reports later than the tracker's latency window (its
out-of-sequence path). When the reports' delays stay within the window, the picture also equals
a batch run (``airpicture track``) on the same detections. A sender silent for longer than
``peer_timeout_s`` stops holding the barrier (what it sends after that is late for the others,
and only then may pictures differ; it is counted as late).

A node that restarts resumes each of its outgoing channels after the last clock it had sent
there (read back from the bus), so nothing of its sources is lost or sent twice.

Configuration: :class:`NodeConfig` (TOML, see :meth:`NodeConfig.from_toml`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.assess import AssessConfig, Assessor, WarningAreas, read_warning_areas
from airpicture.config import Interval, load_config, load_toml
from airpicture.errors import ConfigError
from airpicture.fusion import CommonPicture, FusionConfig, LocalFrame, TrackReports
from airpicture.net.bus import Bus, BusError, Message, Subscription, connect_bus
from airpicture.net.messages import (
    Alert,
    DetectionBatch,
    Envelope,
    Heartbeat,
    Impact,
    MessageError,
    PictureDelta,
    SensorStatus,
    TrackShare,
    decode_envelope,
    decode_message,
    decode_payload,
    encode_message,
)
from airpicture.net.release import (
    COARSE,
    FULL,
    THREAT,
    LabelSpace,
    ReleasePolicy,
    coarsen,
    detection_labels,
    releasable,
    threat_mask,
    track_levels,
)
from airpicture.net.security import NodeSecurity, PolicyBus, SecuritySettings
from airpicture.tables import (
    AlertRows,
    Detections,
    ImpactRows,
    Sensor,
    SensorTable,
    TrackRows,
    per_sensor_sequence,
)
from airpicture.tracker import Tracker, TrackerConfig

__all__ = [
    "Node",
    "NodeConfig",
    "ReplaySource",
    "SharedTracks",
    "SourceConfig",
    "run_node",
]

log = logging.getLogger(__name__)

_MAX_DELTA_ROWS = 4096
"""Rows per picture delta message."""

_MAX_SHARE_ROWS = 1024
"""Rows per track share message: each carries a full state and covariance (about 600 bytes),
and a message must stay under the bus's payload limit (1 MiB on NATS by default)."""

_LAG_REFRESH_S = 1.0
"""How often a node asks the bus for its last sequence number (the lag in ``/health``), s."""


# ============================================================================ configuration
@dataclass(frozen=True, kw_only=True)
class SourceConfig:
    """Replay of a scenario directory's detections (the node's own sensors only).

    Attributes
    ----------
    scenario_dir : Path
        A data-contract directory (``sensors`` and ``detections`` tables).
    speed : float
        Scenario seconds per wall-clock second (1 = real time).
    t0_s : float or None
        Scenario time that plays at ``start_at_unix_s``; the first detection time when None.
    start_at_unix_s : float or None
        Wall-clock time (s since the Unix epoch) at which ``t0_s`` plays; the node's start when
        None. Nodes of one network share it, so their clocks agree.
    """

    scenario_dir: Path
    speed: float = field(default=1.0, metadata={"check": Interval(0.0, 1e6, "right")})
    t0_s: float | None = None
    start_at_unix_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class _NodeSettings:
    """Scalar settings of a node file, checked by :func:`airpicture.config.load_config`."""

    nation: str
    node_id: str = ""
    bus: str = "memory://"
    sensors_file: str = ""
    own_sensors: list[str] | None = None
    network: list[str] | None = None
    health_port: int = field(default=-1, metadata={"check": Interval(-1, 65535, integer=True)})
    record: str = ""
    tick_s: float = field(default=0.05, metadata={"check": Interval(0.001, 10.0)})
    peer_timeout_s: float = field(default=10.0, metadata={"check": Interval(0.1, 86400.0)})
    log_interval_s: float = field(default=10.0, metadata={"check": Interval(0.1, 86400.0)})
    exit_when_done: bool = False
    insecure: bool = False
    max_batch_rows: int = field(
        default=4096, metadata={"check": Interval(1, 1_000_000, integer=True)}
    )
    feed_step_s: float = field(default=0.05, metadata={"check": Interval(1e-4, 60.0)})


@dataclass(frozen=True, kw_only=True)
class NodeConfig:
    """Everything a node needs; build it with :meth:`from_toml` or :meth:`from_mapping`.

    Attributes
    ----------
    nation : str
        The node's nation (alpha-3 code).
    node_id : str
        The node's identity on the bus (``<nation>-node`` by default).
    bus : str
        ``memory://`` or ``nats://127.0.0.1:PORT``.
    sensors : SensorTable
        Every sensor of every nation, the same on every node (it fixes sensor indices).
    own_sensors : tuple of str
        The sensors this node ingests and releases (its nation's sensors by default).
    network : tuple of str
        The nations whose nodes take part (all nations of ``sensors`` by default); the node
        waits for their clocks.
    release : ReleasePolicy
        Which own sensors go to which nations.
    source : SourceConfig or None
        The node's own detections; None for a node without sensors.
    tracker : TrackerConfig
        Tracker settings (must be the same on every node for identical pictures).
    assess : AssessConfig
        Assessment settings (the ``[assess]`` table; the same on every node for identical
        assessments).
    areas : WarningAreas
        Warning areas of the alerts (``[assess] areas``, a GeoJSON file; the illustrative areas
        shipped with the package by default).
    fusion : FusionConfig
        Network picture settings (the ``[fusion]`` table): track-to-track association, numbers.
    health_port : int or None
        Port of ``GET /health`` on 127.0.0.1 (0: any free port; None: no server).
    record : Path or None
        Where the picture is written (data-contract tracks table) when the node stops; the
        impacts and alerts tables go next to it (:func:`airpicture.batch.assessment_paths`).
    tick_s : float
        Wall-clock period of publishing, s.
    peer_timeout_s : float
        Wall-clock time after which a silent nation stops holding the barrier, s.
    log_interval_s : float
        Period of the health log line, s.
    exit_when_done : bool
        Stop once every nation's input has ended and the picture is final.
    max_batch_rows : int
        Largest detection batch per message.
    feed_step_s : float
        Arrival-time step of the tracker's input chunks, s; like the tracker settings it must
        be the same on every node (see :meth:`Node._take_ready`).
    security : SecuritySettings or None
        Keys, audit log and freshness window (the ``[security]`` table): the node signs what it
        sends, verifies what it receives and sees the bus through its nation's permissions.
    insecure : bool
        Explicitly allow a NATS bus without ``security`` (tests, local experiments). On the
        in-process bus, a node without ``security`` sends unsigned messages.
    """

    nation: str
    node_id: str
    bus: str
    sensors: SensorTable
    own_sensors: tuple[str, ...]
    network: tuple[str, ...]
    release: ReleasePolicy
    source: SourceConfig | None
    tracker: TrackerConfig
    health_port: int | None = None
    record: Path | None = None
    tick_s: float = 0.05
    peer_timeout_s: float = 10.0
    log_interval_s: float = 10.0
    exit_when_done: bool = False
    max_batch_rows: int = 4096
    feed_step_s: float = 0.05
    security: SecuritySettings | None = None
    insecure: bool = False
    assess: AssessConfig = field(default_factory=AssessConfig)
    areas: WarningAreas = field(default_factory=read_warning_areas)
    fusion: FusionConfig = field(default_factory=FusionConfig)

    @classmethod
    def from_toml(cls, path: str | Path) -> NodeConfig:
        """Read a node file; relative paths in it are relative to the file's folder.

        Top-level keys: ``nation`` (required), ``node_id``, ``bus``, ``sensors_file`` or
        ``[[sensors]]`` tables (data-contract columns), ``own_sensors``, ``network``,
        ``health_port``, ``record``, ``tick_s``, ``peer_timeout_s``, ``log_interval_s``,
        ``exit_when_done``, ``max_batch_rows``, ``feed_step_s``; tables ``[source]``
        (:class:`SourceConfig`), ``[release]`` (:class:`~airpicture.net.release.ReleasePolicy`),
        ``[tracker]`` (:class:`~airpicture.tracker.TrackerConfig`) and ``[assess]``
        (:meth:`~airpicture.assess.AssessConfig.from_mapping`, plus ``areas``: a GeoJSON file of
        warning areas).

        Raises
        ------
        ConfigError
            On a missing file, bad TOML, an unknown key or a value out of its range.
        DataError
            When the sensors file breaks the data contract.
        """
        path = Path(path)
        return cls.from_mapping(load_toml(path), source=str(path), base_dir=path.parent)

    @classmethod
    def from_mapping(
        cls,
        values: Mapping[str, Any],
        *,
        source: str = "node settings",
        base_dir: Path | None = None,
    ) -> NodeConfig:
        """Build and check the configuration from a mapping shaped like the TOML file."""
        base = base_dir if base_dir is not None else Path.cwd()
        values = dict(values)
        inline = values.pop("sensors", None)
        source_table = values.pop("source", None)
        release_table = values.pop("release", {})
        tracker_table = values.pop("tracker", {})
        assess_table = values.pop("assess", {})
        fusion_table = values.pop("fusion", {})
        security_table = values.pop("security", None)
        settings = load_config(_NodeSettings, values, source=source)
        nation = _nation(settings.nation, source, "nation")

        if inline is not None and settings.sensors_file:
            raise ConfigError(
                source, key="sensors", expected="sensors_file or [[sensors]], not both", got="both"
            )
        if inline is not None:
            sensors = _inline_sensors(inline, source)
        elif settings.sensors_file:
            from airpicture.io import read_sensors

            sensors = read_sensors(_resolve(base, settings.sensors_file))
        else:
            raise ConfigError(
                source,
                key="sensors_file",
                expected="a sensors table or [[sensors]] tables",
                got="neither",
            )

        mine = tuple(s.sensor_id for s in sensors if s.nation == nation)
        own = tuple(settings.own_sensors) if settings.own_sensors is not None else mine
        for sensor_id in own:
            if sensor_id not in mine:
                raise ConfigError(
                    source,
                    key="own_sensors",
                    expected=f"sensors of {nation} ({', '.join(mine) or 'none'})",
                    got=repr(sensor_id),
                )
        network = tuple(settings.network) if settings.network is not None else sensors.nations
        network = tuple(_nation(n, source, "network") for n in network)
        if nation not in network:
            network = tuple(sorted({*network, nation}))
        if not isinstance(release_table, Mapping):
            raise ConfigError(source, key="release", expected="a table", got=repr(release_table))
        try:
            LabelSpace(network)
        except ConfigError as exc:
            raise ConfigError(source, key="network", expected=exc.expected, got=exc.got) from None
        release = ReleasePolicy.from_mapping(
            release_table, owner=nation, own_sensors=own, source=source, base_dir=base
        )

        src = None
        if source_table is not None:
            if not isinstance(source_table, Mapping):
                raise ConfigError(source, key="source", expected="a table", got=repr(source_table))
            raw = dict(source_table)
            if "scenario_dir" not in raw:
                raise ConfigError(
                    source,
                    key="source.scenario_dir",
                    expected="a scenario directory",
                    got="nothing",
                )
            raw["scenario_dir"] = _resolve(base, str(raw["scenario_dir"]))
            src = load_config(SourceConfig, raw, source=source, prefix="source.")
            for key in ("t0_s", "start_at_unix_s"):
                value = getattr(src, key)
                if value is not None and (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not math.isfinite(value)
                ):
                    raise ConfigError(
                        source, key=f"source.{key}", expected="a finite number, s", got=repr(value)
                    )
        if not isinstance(tracker_table, Mapping):
            raise ConfigError(source, key="tracker", expected="a table", got=repr(tracker_table))
        tracker = TrackerConfig.from_mapping(dict(tracker_table), source=f"{source} [tracker]")
        if not isinstance(assess_table, Mapping):
            raise ConfigError(source, key="assess", expected="a table", got=repr(assess_table))
        assess_values = dict(assess_table)
        areas_file = assess_values.pop("areas", None)
        if areas_file is not None and not isinstance(areas_file, str):
            raise ConfigError(
                source, key="assess.areas", expected="a GeoJSON file", got=repr(areas_file)
            )
        assess = AssessConfig.from_mapping(assess_values, source=f"{source} [assess]")
        areas = read_warning_areas(_resolve(base, areas_file) if areas_file else None)
        if not isinstance(fusion_table, Mapping):
            raise ConfigError(source, key="fusion", expected="a table", got=repr(fusion_table))
        fusion = load_config(FusionConfig, dict(fusion_table), source=source, prefix="fusion.")
        security = None
        if security_table is not None:
            if not isinstance(security_table, Mapping):
                raise ConfigError(
                    source, key="security", expected="a table", got=repr(security_table)
                )
            security = SecuritySettings.from_mapping(security_table, source=source, base_dir=base)
        if security is None and not settings.insecure and not settings.bus.startswith("memory://"):
            raise ConfigError(
                source,
                key="security",
                expected="a [security] table (keys_dir) for a NATS bus, or insecure = true",
                got="neither",
            )
        return cls(
            nation=nation,
            node_id=settings.node_id or f"{nation.lower()}-node",
            bus=settings.bus,
            sensors=sensors,
            own_sensors=own,
            network=network,
            release=release,
            source=src,
            tracker=tracker,
            health_port=None if settings.health_port < 0 else settings.health_port,
            record=_resolve(base, settings.record) if settings.record else None,
            tick_s=settings.tick_s,
            peer_timeout_s=settings.peer_timeout_s,
            log_interval_s=settings.log_interval_s,
            exit_when_done=bool(settings.exit_when_done),
            max_batch_rows=settings.max_batch_rows,
            feed_step_s=settings.feed_step_s,
            security=security,
            insecure=bool(settings.insecure),
            assess=assess,
            areas=areas,
            fusion=fusion,
        )


def _resolve(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _nation(value: Any, source: str, key: str) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha() or not value.isupper():
        raise ConfigError(
            source, key=key, expected="an ISO 3166-1 alpha-3 code such as 'JPN'", got=repr(value)
        )
    return value


_SENSOR_REQUIRED = (
    "sensor_id",
    "nation",
    "kind",
    "lat_deg",
    "lon_deg",
    "alt_m",
    "sigma_azimuth_deg",
    "sigma_elevation_deg",
    "max_range_m",
    "scan_period_s",
)
_SENSOR_OPTIONAL = ("sigma_range_m", "sigma_range_rate_mps", "p_detect", "clutter_per_scan")


def _inline_sensors(items: Any, source: str) -> SensorTable:
    """Sensors given as ``[[sensors]]`` tables with the data contract's column names."""
    if not isinstance(items, list) or not items:
        raise ConfigError(
            source, key="sensors", expected="a non-empty array of tables", got=repr(items)
        )
    out = []
    for i, item in enumerate(items):
        key = f"sensors[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(source, key=key, expected="a table", got=repr(item))
        unknown = set(item) - set(_SENSOR_REQUIRED) - set(_SENSOR_OPTIONAL)
        if unknown:
            raise ConfigError(
                source,
                key=f"{key}.{sorted(unknown)[0]}",
                expected="a sensors-table column",
                got="an unknown key",
            )
        for name in _SENSOR_REQUIRED:
            if name not in item:
                raise ConfigError(source, key=f"{key}.{name}", expected="a value", got="nothing")
        kind = item["kind"]
        if kind not in ("radar", "ir"):
            raise ConfigError(source, key=f"{key}.kind", expected="'radar' or 'ir'", got=repr(kind))

        if kind == "radar" and "sigma_range_m" not in item:
            raise ConfigError(
                source, key=f"{key}.sigma_range_m", expected="a value for a radar", got="nothing"
            )
        out.append(
            Sensor(
                sensor_id=str(item["sensor_id"]),
                nation=_nation(item["nation"], source, f"{key}.nation"),
                kind=kind,
                lat_rad=math.radians(_number(item, source, key, "lat_deg", -90, 90)),
                lon_rad=math.radians(_number(item, source, key, "lon_deg", -180, 180)),
                alt_m=_number(item, source, key, "alt_m", -1e4, 1e8),
                sigma_range_m=_number(item, source, key, "sigma_range_m", 1e-9, 1e6, optional=True),
                sigma_azimuth_rad=math.radians(
                    _number(item, source, key, "sigma_azimuth_deg", 1e-9, 90)
                ),
                sigma_elevation_rad=math.radians(
                    _number(item, source, key, "sigma_elevation_deg", 1e-9, 90)
                ),
                sigma_range_rate_mps=_number(
                    item, source, key, "sigma_range_rate_mps", 1e-9, 1e4, optional=True
                ),
                max_range_m=_number(item, source, key, "max_range_m", 1e-9, 1e9),
                scan_period_s=_number(item, source, key, "scan_period_s", 1e-6, 1e5),
                p_detect=_number(item, source, key, "p_detect", 0, 1, optional=True),
                clutter_per_scan=_number(
                    item, source, key, "clutter_per_scan", 0, 1e9, optional=True
                ),
            )
        )
    ids = [s.sensor_id for s in out]
    if len(set(ids)) != len(ids):
        raise ConfigError(source, key="sensors", expected="unique sensor ids", got="a repeated id")
    return SensorTable(tuple(out))


def _number(
    item: Mapping[str, Any],
    source: str,
    key: str,
    name: str,
    low: float,
    high: float,
    *,
    optional: bool = False,
) -> float:
    """One numeric column of an inline sensor, checked against [low, high]; NaN if optional."""
    if name not in item and optional:
        return math.nan
    value = item[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(
            source,
            key=f"{key}.{name}",
            expected=f"a number in [{low:g}, {high:g}]",
            got=repr(value),
        )
    return float(value)


# ============================================================================ sources
class ReplaySource:
    """A node's own detections, released on a clock mapped from wall time.

    Parameters
    ----------
    detections : Detections
        The node's own detections in arrival order; ``sensor_index`` indexes the shared table.
    arrival_s : ndarray, shape (n,)
        When each detection reaches the node (scenario time, s), non-decreasing.
    sensor_seq : ndarray of int, shape (n,)
        Each detection's number among its sensor's detections (arrival order).
    t0_s : float
        Scenario time that plays at ``start_at_unix_s``.
    speed : float
        Scenario seconds per wall-clock second.
    start_at_unix_s : float
        Wall time at which ``t0_s`` plays.
    """

    def __init__(
        self,
        detections: Detections,
        arrival_s: np.ndarray,
        sensor_seq: np.ndarray,
        *,
        t0_s: float,
        speed: float,
        start_at_unix_s: float,
    ) -> None:
        self.detections = detections
        self.arrival_s = np.asarray(arrival_s, dtype=np.float64)
        self.sensor_seq = np.asarray(sensor_seq, dtype=np.int64)
        self.t0_s = float(t0_s)
        self.speed = float(speed)
        self.start_at_unix_s = float(start_at_unix_s)

    def __len__(self) -> int:
        return len(self.detections)

    def clock(self, wall_s: float) -> float:
        """Scenario time at wall time ``wall_s``: ``t0_s + (wall_s - start_at_unix_s) * speed``."""
        return self.t0_s + (wall_s - self.start_at_unix_s) * self.speed

    @classmethod
    def from_scenario(
        cls,
        config: SourceConfig,
        sensors: SensorTable,
        own_sensors: tuple[str, ...],
        *,
        now_unix_s: float | None = None,
    ) -> ReplaySource:
        """Read a scenario directory and keep the rows of ``own_sensors``.

        A data-contract detections file lists reports in arrival order without their arrival
        time; a report cannot arrive before any report above it was measured, so its arrival is
        taken as the running maximum of ``t_s`` down the whole file (all nations), which every
        node computes alike.

        Raises
        ------
        DataError
            When the files break the data contract or name sensors outside ``sensors``.
        """
        from airpicture.io import find_scenario_files, iter_detections

        files = find_scenario_files(config.scenario_dir)
        own = np.zeros(len(sensors), dtype=bool)
        for sensor_id in own_sensors:
            own[sensors.index_of(sensor_id)] = True
        parts: list[Detections] = []
        arrivals: list[np.ndarray] = []
        running = -math.inf
        first_t = math.inf
        for chunk in iter_detections(files.detections, sensors, chunk_rows=200_000):
            if not len(chunk):
                continue
            arrival = np.maximum.accumulate(np.r_[running, chunk.t_s])[1:]
            running = float(arrival[-1])
            first_t = min(first_t, float(chunk.t_s.min()))
            keep = own[chunk.sensor_index]
            parts.append(chunk.take(keep))
            arrivals.append(arrival[keep])
        detections = Detections.concat(parts) if parts else Detections.empty()
        arrival_s = np.concatenate(arrivals) if arrivals else np.empty(0)
        t0 = (
            config.t0_s if config.t0_s is not None else (first_t if math.isfinite(first_t) else 0.0)
        )
        start = config.start_at_unix_s
        if start is None:
            start = time.time() if now_unix_s is None else now_unix_s
        return cls(
            detections,
            arrival_s,
            per_sensor_sequence(detections.sensor_index),
            t0_s=t0,
            speed=config.speed,
            start_at_unix_s=start,
        )


# ============================================================================ the node
@dataclass
class _Peer:
    """What a node knows of one sending nation."""

    clock_s: float = -math.inf
    final: bool = False
    heard_mono: float | None = None
    last_seq: dict[str, int] = field(default_factory=dict)
    # tracks it shares with this node: how far its picture is complete, and whether finished
    shares_tracks: bool = False
    track_through_s: float = -math.inf
    track_final: bool = False


@dataclass
class _Channel:
    """One outgoing channel (this node to one recipient nation)."""

    recipient: str
    cursor: int = 0
    clock_s: float = -math.inf
    final: bool = False
    mask: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


@dataclass(frozen=True)
class SharedTracks:
    """Track rows other nations shared with a node (:attr:`Node.shared`).

    Attributes
    ----------
    rows : TrackRows
        The rows, ``release`` holding each track's label over the node's nations; ``status``
        ``deleted`` also marks a track the owner no longer releases to this nation.
    owner : ndarray of str, shape (n,)
        The nation that shared each row (whose track ids the row's ``track_id`` is).
    coarse : ndarray of bool, shape (n,)
        Position-only rows (:func:`airpicture.net.release.coarsen`).
    """

    rows: TrackRows
    owner: np.ndarray
    coarse: np.ndarray


@dataclass
class _Share:
    """This node's tracks as shared with one nation: per live track there, the row it last got
    (the reports, a row index and whether position-only)."""

    recipient: str
    live: dict[str, tuple[TrackReports, int, bool]] = field(default_factory=dict)
    rows: int = 0
    position_only: int = 0
    withdrawn: int = 0
    sent_through_s: float = -math.inf

    def select(
        self, reports: TrackReports, level: np.ndarray, coarse_m: float
    ) -> tuple[TrackReports, np.ndarray, np.ndarray]:
        """What to send for ``rows`` released at ``level`` (:func:`track_levels`).

        Released rows go (position-only ones coarsened) as ``created`` the first time the
        recipient sees the track, then ``updated``, or ``dropped`` when deleted; a track the
        recipient holds that is no longer releasable to it is ``dropped`` there, with the last
        row it was given (nothing new). Returns the tracks, change codes and coarse flags in
        order; a position-only row carries no state beyond its coarse position.
        """
        rows = reports.rows
        coarse_rows = level == COARSE
        shown = replace(reports, rows=coarsen(rows, coarse_m, coarse_rows))
        if coarse_rows.any():
            state, cov = shown.state.copy(), shown.cov.copy()
            state[coarse_rows, :6] = shown.rows.x[coarse_rows]
            state[coarse_rows, 6] = 0.0
            cov[coarse_rows] = np.eye(7) * coarse_m**2
            shown = replace(shown, state=state, cov=cov)
        picked: list[int] = []
        withdrawn: list[TrackReports] = []
        position: list[int] = []
        change: list[int] = []
        coarse: list[bool] = []
        for i, (track_id, status, lev) in enumerate(
            zip(rows.track_id, rows.status, level, strict=True)
        ):
            tid = str(track_id)
            if lev:
                picked.append(i)
                position.append(len(change))
                coarse.append(bool(lev == COARSE))
                if status == "deleted":
                    change.append(2)
                    self.live.pop(tid, None)
                else:
                    change.append(1 if tid in self.live else 0)
                    self.live[tid] = (shown, i, bool(lev == COARSE))
            elif tid in self.live:
                table, j, was_coarse = self.live.pop(tid)
                last = table.take(np.array([j]))
                withdrawn.append(
                    replace(last, rows=replace(last.rows, status=np.array(["deleted"])))
                )
                change.append(2)
                coarse.append(was_coarse)
        if not change:
            return TrackReports.empty(), np.empty(0, np.uint8), np.empty(0, bool)
        out = TrackReports.concat([shown.take(np.array(picked, dtype=np.int64)), *withdrawn])
        order = np.r_[position, np.setdiff1d(np.arange(len(change)), position)]
        out = out.take(np.argsort(order, kind="stable"))
        coarse_flags = np.array(coarse, dtype=bool)
        self.rows += len(out)
        self.position_only += int(coarse_flags.sum())
        self.withdrawn += len(withdrawn)
        return out, np.array(change, dtype=np.uint8), coarse_flags


class Node:
    """One nation's node (see the module docstring).

    Parameters
    ----------
    config : NodeConfig
        The node's settings.
    bus : Bus, optional
        A bus to use (several nodes in one process share a :class:`~airpicture.net.bus.MemoryBus`
        this way); the node connects to ``config.bus`` and owns the connection when omitted.
    source : ReplaySource, optional
        The node's own detections; read from ``config.source`` when omitted.
    security : NodeSecurity, optional
        Signer, verifier and audit log; loaded from ``config.security`` when omitted. Without
        either, the node sends unsigned messages and accepts unsigned ones.

    Examples
    --------
    >>> node = Node(NodeConfig.from_toml("jpn.toml"))   # doctest: +SKIP
    >>> rows = asyncio.run(node.run())                  # doctest: +SKIP
    """

    def __init__(
        self,
        config: NodeConfig,
        *,
        bus: Bus | None = None,
        source: ReplaySource | None = None,
        security: NodeSecurity | None = None,
    ) -> None:
        self.config = config
        if security is None and config.security is not None:
            security = NodeSecurity.load(
                config.security, nation=config.nation, node_id=config.node_id
            )
        self.security = security
        self._given_bus = bus
        self._given_source = source
        self.tracker = Tracker(config.sensors, config.tracker)
        self.labels = LabelSpace(config.network)
        # a track's number comes from its first report that every nation of the network holds
        self.tracker.wide_release = self.labels.bits(config.network)
        self.assessor = Assessor(config.assess, areas=config.areas)
        self.common = CommonPicture(config.nation, config.sensors, config.fusion)
        # partners' tracks waiting for the tracker thread (appended by the event loop)
        self._tracks_in: collections.deque[tuple[str, TrackReports]] = collections.deque()
        # tracker frames waiting for the partners' tracks up to them (see _track)
        self._frames: collections.deque[LocalFrame] = collections.deque()
        self._tracker_flushed = False
        # network numbers with an alert in force (threats: shared under a threats release)
        self._alerted: frozenset[str] = frozenset()
        self._own_labels = np.zeros(0, dtype=np.uint64)
        self._shares = {
            n: _Share(n)
            for n in self.labels.full(self.labels.bits(config.release.tracks.to))
            if n != config.nation
        }
        self._shared: list[SharedTracks] = []
        self._last_frame_s = -math.inf
        self._impacts: list[ImpactRows] = []
        self._alerts: list[AlertRows] = []
        self._sensor_nation = np.array([s.nation for s in config.sensors], dtype=object)
        self._bus: Bus | None = None
        self._source: ReplaySource | None = None
        self._sub: Subscription | None = None
        self._peers = {nation: _Peer() for nation in config.network}
        self._channels: dict[str, _Channel] = {}
        self._pending_arrival: list[np.ndarray] = []
        self._pending: list[Detections] = []
        self._rows: list[TrackRows] = []
        self._live_ids: set[str] = set()
        self._max_t_fed = -math.inf
        self._through_s = -math.inf
        self._flushed = False
        self._seq = 0
        self._lock = asyncio.Lock()
        self._done = asyncio.Event()
        self._final_sent = asyncio.Event()
        self._stopping = False
        self._outbox: list[tuple[TrackRows, np.ndarray]] = []
        self._reports_outbox: list[TrackReports] = []
        self._impact_outbox: list[ImpactRows] = []
        self._alert_outbox: list[AlertRows] = []
        self._outbox_final = False
        self._outbox_ready = asyncio.Event()
        self._started_mono = time.monotonic()
        self._last_delivered_seq = 0
        self._bus_last_seq = 0
        self.health_port: int | None = None
        self.counters: dict[str, Any] = {
            "received_messages": 0,
            "received_bytes": 0,
            "received_detections": 0,
            "rejected": {},
            "published_messages": 0,
            "published_bytes": {},
            "published_detections": 0,
            "picture_deltas": 0,
            "publish_retries": 0,
            "tracker_errors": 0,
            "assess_errors": 0,
            "impacts": 0,
            "alerts": {},
            "impact_messages": 0,
            "alert_messages": 0,
            "dropped": {},
            "shared_received": {},
        }

    # ------------------------------------------------------------------ public
    @property
    def picture(self) -> TrackRows:
        """Every track row produced so far, in production order."""
        parts = [r for r in self._rows if len(r)]
        return TrackRows.concat(parts) if parts else TrackRows.empty()

    @property
    def shared(self) -> SharedTracks:
        """Every track row other nations shared with this one, in arrival order: a separate,
        labelled layer of the picture (never fed to the tracker)."""
        if not self._shared:
            return SharedTracks(TrackRows.empty(), np.empty(0, dtype=str), np.zeros(0, bool))
        return SharedTracks(
            TrackRows.concat([s.rows for s in self._shared]),
            np.concatenate([s.owner for s in self._shared]),
            np.concatenate([s.coarse for s in self._shared]),
        )

    @property
    def impacts(self) -> ImpactRows:
        """Every impact prediction made so far, in production order."""
        return ImpactRows.concat(self._impacts) if self._impacts else ImpactRows.empty()

    @property
    def alerts(self) -> AlertRows:
        """Every alert change so far, in production order."""
        return AlertRows.concat(self._alerts) if self._alerts else AlertRows.empty()

    @property
    def done(self) -> bool:
        """True once every nation's input has ended and the picture has been flushed."""
        return self._flushed

    async def run(self, stop: asyncio.Event | None = None) -> TrackRows:
        """Run until ``stop`` is set (or, with ``exit_when_done``, until the picture is final).

        Returns
        -------
        TrackRows
            The whole picture (also written to ``config.record`` when set).

        Raises
        ------
        BusError
            When the bus cannot be reached.
        DataError
            When the node's own source files break the data contract.
        """
        cfg = self.config
        stop = stop if stop is not None else asyncio.Event()
        self._started_mono = time.monotonic()
        self._source = self._given_source
        if self._source is None and cfg.source is not None:
            self._source = ReplaySource.from_scenario(cfg.source, cfg.sensors, cfg.own_sensors)
        if self._given_bus is not None:
            self._bus = self._given_bus
        else:
            options = self.security.nats_options() if self.security is not None else {}
            self._bus = await connect_bus(cfg.bus, name=cfg.node_id, **options)
        own_bus = self._bus
        if self.security is not None:
            # The node sees the bus through its nation's permissions (NATS enforces them too).
            self._bus = PolicyBus(self._bus, cfg.nation, policy=cfg.release)
        server: asyncio.AbstractServer | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            if cfg.health_port is not None:
                server = await asyncio.start_server(
                    self._serve_health, "127.0.0.1", cfg.health_port
                )
                self.health_port = int(server.sockets[0].getsockname()[1])
                log.info("%s: health on http://127.0.0.1:%d/health", cfg.node_id, self.health_port)
            await self._resume_channels()
            self._sub = await self._bus.subscribe(
                f"air.*.*.{cfg.nation}", self._on_message, from_seq=1
            )
            tasks.append(asyncio.create_task(self._publish_loop(), name=f"{cfg.node_id}:publish"))
            tasks.append(asyncio.create_task(self._watch_loop(), name=f"{cfg.node_id}:watch"))
            tasks.append(asyncio.create_task(self._picture_loop(), name=f"{cfg.node_id}:picture"))
            ends = [asyncio.create_task(stop.wait())]
            if cfg.exit_when_done:
                ends.append(asyncio.create_task(self._final_sent.wait()))
            waiting: set[asyncio.Task[Any]] = {*ends, *tasks}
            publishing = tasks[0]
            try:
                # Stop on request, or once the picture is final and everything of ours is sent.
                while not (
                    stop.is_set()
                    or (cfg.exit_when_done and self._final_sent.is_set() and publishing.done())
                ):
                    finished, waiting = await asyncio.wait(
                        waiting, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in finished:
                        if task in tasks and task.exception() is not None:
                            raise task.exception()  # type: ignore[misc]
            finally:
                for end in ends:
                    end.cancel()
        finally:
            # A flag as well as cancel(): on Python 3.11 a cancellation that meets a reply at the
            # same moment can be swallowed inside a library call, and a loop must still end.
            self._stopping = True
            for task in tasks:
                task.cancel()
            if tasks:
                _, stuck = await asyncio.wait(tasks, timeout=5.0)
                for task in stuck:
                    log.warning("%s: task %s did not stop", cfg.node_id, task.get_name())
            if self._sub is not None:
                await self._sub.unsubscribe()
            if server is not None:
                server.close()
                await server.wait_closed()
            if self._given_bus is None:
                await own_bus.close()
            if self.security is not None and self.security.audit is not None:
                self.security.audit.close()
            self._write_record()
        log.info("%s: stopped; %s", cfg.node_id, self._summary())
        return self.picture

    def health(self) -> dict[str, Any]:
        """The node's counters as a JSON-ready dict (what ``GET /health`` returns)."""
        now = time.monotonic()
        stats = self.tracker.stats
        clock = self._own_clock()
        status = (
            self.tracker.tracks.status if len(self.tracker.tracks) else np.empty(0, dtype=np.int8)
        )
        peers = {}
        for nation, peer in self._peers.items():
            peers[nation] = {
                "clock_s": _json_number(peer.clock_s),
                "final": peer.final,
                "heard_s_ago": None if peer.heard_mono is None else round(now - peer.heard_mono, 3),
                "holding_barrier": self._holds_barrier(peer, now),
            }
        return {
            "node": self.config.node_id,
            "nation": self.config.nation,
            "uptime_s": round(now - self._started_mono, 3),
            "received": {
                "messages": self.counters["received_messages"],
                "bytes": self.counters["received_bytes"],
                "detections": self.counters["received_detections"],
            },
            "rejected": dict(self.counters["rejected"]),
            "late": stats.late,
            "late_used": stats.late_used,
            "processed": stats.processed,
            "tracker_errors": self.counters["tracker_errors"],
            "pending": int(sum(len(p) for p in self._pending)),
            "through_s": _json_number(self._through_s),
            "lag_s": _json_number(clock - self._through_s)
            if math.isfinite(self._through_s)
            else None,
            "lag_messages": max(0, self._bus_last_seq - self._last_delivered_seq),
            "tracks": {"live": int(len(status)), "confirmed": int(np.count_nonzero(status == 1))},
            "registration": self.tracker.registration.informed(),
            "assessment": {
                "impacts": self.counters["impacts"],
                "alerts": dict(self.counters["alerts"]),
                "active_alerts": len(self.assessor.alert_book or ()),
                "errors": self.counters["assess_errors"],
            },
            "published": {
                "messages": self.counters["published_messages"],
                "bytes": dict(self.counters["published_bytes"]),
                "detections": self.counters["published_detections"],
                "picture_deltas": self.counters["picture_deltas"],
                "impact_messages": self.counters["impact_messages"],
                "alert_messages": self.counters["alert_messages"],
                "retries": self.counters["publish_retries"],
            },
            "dropped": dict(self.counters["dropped"]),
            "fusion": self.common.stats.as_dict(),
            "shared": {
                "sent": {
                    n: {"rows": s.rows, "position_only": s.position_only, "withdrawn": s.withdrawn}
                    for n, s in self._shares.items()
                },
                "received": dict(self.counters["shared_received"]),
            },
            "peers": peers,
            "done": self._flushed,
        }

    # ------------------------------------------------------------------ sending
    def _next_seq(self) -> int:
        self._seq = max(self._seq + 1, time.time_ns())
        return self._seq

    async def _send(self, kind: str, subject: str, payload: Any) -> None:
        bus = self._bus
        if bus is None:
            return
        data = encode_message(
            kind,
            payload,
            sender=self.config.node_id,
            nation=self.config.nation,
            seq=self._next_seq(),
            subject=subject,
            signer=self.security.signer.sign if self.security is not None else None,
        )
        # At least once: on a failed publish the same bytes go again (a copy that did arrive
        # carries the same sequence number, so receivers drop it as a duplicate).
        delay_s = 0.1
        while True:
            try:
                await bus.publish(subject, data)
                break
            except BusError as exc:
                if self._stopping:
                    raise
                self.counters["publish_retries"] += 1
                log.warning("%s: %s; retrying in %.1f s", self.config.node_id, exc, delay_s)
                await asyncio.sleep(delay_s)
                delay_s = min(2.0 * delay_s, 2.0)
        self.counters["published_messages"] += 1
        sent = self.counters["published_bytes"]
        sent[kind] = sent.get(kind, 0) + len(data)

    async def _resume_channels(self) -> None:
        """Set each outgoing channel's cursor after the last clock this nation sent there."""
        cfg = self.config
        bus = self._bus
        source = self._source
        if bus is None:
            return
        if source is not None:
            self._own_labels = detection_labels(
                source.detections, cfg.sensors, cfg.release, self.labels
            )
        for recipient in cfg.network:
            channel = _Channel(recipient)
            if source is not None and len(source):
                released = self.labels.level(self._own_labels, recipient) == FULL
                channel.mask = released & cfg.release.sends_plots(recipient)
            for kind in ("det", "hb"):
                found = await self._last_own(f"air.{kind}.{cfg.nation}.{recipient}")
                if found is None:
                    continue
                envelope_seq, clock, final = found
                self._seq = max(self._seq, envelope_seq)
                channel.clock_s = max(channel.clock_s, clock)
                channel.final = channel.final or final
            if source is not None and math.isfinite(channel.clock_s):
                channel.cursor = int(
                    np.searchsorted(source.arrival_s, channel.clock_s, side="right")
                )
            if channel.final and source is not None:
                channel.cursor = len(source)
            if math.isfinite(channel.clock_s) or channel.final:
                log.info(
                    "%s: resuming channel to %s after clock %.3f",
                    cfg.node_id,
                    recipient,
                    channel.clock_s,
                )
            self._channels[recipient] = channel

    async def _last_own(self, subject: str) -> tuple[int, float, bool] | None:
        """(seq, clock, final) of this node's last message on ``subject``, or None.

        Only the node's own messages count: when the newest one on the subject is someone
        else's (which subject permissions will rule out), the subject's history is searched.
        """
        bus = self._bus
        if bus is None:
            return None
        last = await bus.last_message(subject)
        if last is None:
            return None
        found = self._read_own(last)
        if found is not None:
            return found
        mine: list[tuple[int, float, bool]] = []

        async def keep(message: Message) -> None:
            own = self._read_own(message)
            if own is not None:
                mine.append(own)

        await bus.replay(subject, keep)
        return mine[-1] if mine else None

    def _read_own(self, message: Message) -> tuple[int, float, bool] | None:
        cfg = self.config
        try:
            envelope, payload = decode_message(message.data, source=message.subject)
        except MessageError as exc:
            log.warning(
                "%s: unreadable message on my channel %s: %s", cfg.node_id, message.subject, exc
            )
            return None
        if envelope.sender != cfg.node_id or envelope.nation != cfg.nation:
            return None
        if not isinstance(payload, DetectionBatch | Heartbeat):
            return None
        return envelope.seq, payload.clock_s, bool(getattr(payload, "final", False))

    async def _publish_loop(self) -> None:
        """Every tick, send each recipient the newly arrived releasable detections and the clock."""
        cfg = self.config
        source = self._source
        last_status = -math.inf
        while not self._stopping:
            now = time.time()
            if source is None:
                for channel in self._channels.values():
                    if not channel.final:
                        await self._send(
                            "hb",
                            f"air.hb.{cfg.nation}.{channel.recipient}",
                            Heartbeat(recipient=channel.recipient, clock_s=math.inf, final=True),
                        )
                        channel.final = True
                return
            clock = source.clock(now)
            end = int(np.searchsorted(source.arrival_s, clock, side="right"))
            for channel in self._channels.values():
                if not channel.final:
                    await self._publish_channel(channel, clock, end)
            if time.monotonic() - last_status >= 10.0:
                last_status = time.monotonic()
                await self._publish_status(clock)
            if all(c.final for c in self._channels.values()):
                return
            await asyncio.sleep(cfg.tick_s)

    async def _publish_channel(self, channel: _Channel, clock: float, end: int) -> None:
        cfg = self.config
        source = self._source
        if source is None:
            return
        clock = max(clock, channel.clock_s)
        start, channel.cursor = channel.cursor, max(channel.cursor, end)
        idx = (
            start + np.flatnonzero(channel.mask[start:end])
            if end > start
            else np.empty(0, np.int64)
        )
        subject = f"air.det.{cfg.nation}.{channel.recipient}"
        for k in range(0, len(idx), cfg.max_batch_rows):
            part = idx[k : k + cfg.max_batch_rows]
            last = k + cfg.max_batch_rows >= len(idx)
            batch_clock = clock if last else float(source.arrival_s[part[-1]])
            batch = DetectionBatch.from_detections(
                source.detections.take(part),
                cfg.sensors,
                recipient=channel.recipient,
                clock_s=batch_clock,
                arrival_s=source.arrival_s[part],
                sensor_seq=source.sensor_seq[part],
                label=self._own_labels[part],
                label_nations=self.labels.nations,
            )
            await self._send("det", subject, batch)
            self.counters["published_detections"] += len(part)
        if len(idx) == 0:
            await self._send(
                "hb",
                f"air.hb.{cfg.nation}.{channel.recipient}",
                Heartbeat(recipient=channel.recipient, clock_s=clock),
            )
        channel.clock_s = clock
        if channel.cursor >= len(source):
            await self._send(
                "hb",
                f"air.hb.{cfg.nation}.{channel.recipient}",
                Heartbeat(recipient=channel.recipient, clock_s=math.inf, final=True),
            )
            channel.final = True

    async def _publish_status(self, clock: float) -> None:
        cfg = self.config
        source = self._source
        if source is None or not math.isfinite(clock):
            return
        for channel in self._channels.values():
            sites = [cfg.sensors[cfg.sensors.index_of(s)] for s in cfg.own_sensors]
            ids = [
                s.sensor_id
                for s in sites
                if releasable(
                    s.sensor_id,
                    channel.recipient,
                    cfg.release,
                    lat_rad=s.lat_rad,
                    lon_rad=s.lon_rad,
                )
            ]
            if not ids:
                continue
            index = np.array([cfg.sensors.index_of(s) for s in ids])
            # Count only what the recipient was sent: withheld detections stay unseen.
            sent_mask = channel.mask[: channel.cursor]
            sent = source.detections.sensor_index[: channel.cursor][sent_mask]
            counts = np.array([np.count_nonzero(sent == i) for i in index], dtype="<u8")
            await self._send(
                "status",
                f"air.status.{cfg.nation}.{channel.recipient}",
                SensorStatus(
                    recipient=channel.recipient,
                    t_s=clock,
                    sensor_ids=ids,
                    state=np.ones(len(ids), dtype="<u1").tobytes(),
                    detections=counts.tobytes(),
                ),
            )

    def _own_clock(self) -> float:
        if self._source is None:
            return math.inf
        return self._source.clock(time.time())

    # ------------------------------------------------------------------ receiving
    async def _on_message(self, message: Message) -> None:
        self.counters["received_messages"] += 1
        self.counters["received_bytes"] += len(message.data)
        self._last_delivered_seq = max(self._last_delivered_seq, message.seq)
        try:
            self._accept(message)
        except MessageError as exc:
            self._reject(exc.reason, str(exc), message)
            return
        await self._advance()

    def _accept(self, message: Message) -> None:
        """Validate one message and take in what it carries (raises MessageError to reject)."""
        cfg = self.config
        where = f"{message.subject} #{message.seq}"
        # Verify before decoding the payload: a payload is only parsed once its sender is known
        # and its signature, sent time and size are good.
        if self.security is not None:
            envelope = self.security.verifier.verify(message.data, message.subject)
        else:
            envelope = decode_envelope(message.data, source=where)
        payload = decode_payload(envelope, source=where)
        tokens = message.subject.split(".")
        if len(tokens) != 4 or tokens[1] != envelope.kind or tokens[2] != envelope.nation:
            raise MessageError(
                where,
                reason="subject",
                column="nation",
                expected=f"a {tokens[1] if len(tokens) > 1 else '?'} message from "
                f"{tokens[2] if len(tokens) > 2 else '?'}",
                got=f"{envelope.kind} from {envelope.nation}",
            )
        peer = self._peers.get(envelope.nation)
        if peer is None:
            raise MessageError(
                where,
                reason="sender",
                column="nation",
                expected="a nation of the network (" + ", ".join(cfg.network) + ")",
                got=repr(envelope.nation),
            )
        if getattr(payload, "recipient", None) != cfg.nation:
            raise MessageError(
                where,
                reason="recipient",
                column="recipient",
                expected=repr(cfg.nation),
                got=repr(getattr(payload, "recipient", None)),
            )
        last = peer.last_seq.get(envelope.sender, -1)
        if envelope.seq <= last:
            raise MessageError(
                where,
                reason="duplicate" if envelope.seq == last else "replay",
                column="seq",
                expected=f"a sequence number above {last}",
                got=str(envelope.seq),
            )
        if isinstance(payload, DetectionBatch | Heartbeat):
            if payload.clock_s < peer.clock_s:
                raise MessageError(
                    where,
                    reason="clock",
                    column="clock_s",
                    expected=f"a clock at or after {peer.clock_s!r}",
                    got=repr(payload.clock_s),
                )
            if peer.final:
                raise MessageError(
                    where,
                    reason="clock",
                    column="clock_s",
                    expected="nothing after a final heartbeat",
                    got=f"a {envelope.kind} message",
                )
        if isinstance(payload, DetectionBatch):
            detections = payload.to_detections(cfg.sensors, self.labels, source=where)
            owners = (
                set(self._sensor_nation[np.unique(detections.sensor_index)])
                if len(detections)
                else set()
            )
            if owners - {envelope.nation}:
                raise MessageError(
                    where,
                    reason="sensor",
                    column="sensor_ids",
                    expected=f"sensors of {envelope.nation}",
                    got="sensors of " + ", ".join(sorted(owners)),
                )
            # Defence in depth: a detection whose label leaves this nation out is not used.
            assert detections.release is not None  # a batch's detections carry their labels
            mine = self.labels.level(detections.release, cfg.nation) == FULL
            if not mine.all():
                self._drop_rows("label", int((~mine).sum()), "detections", message, envelope)
            if mine.any():
                self._pending.append(detections.take(mine))
                self._pending_arrival.append(payload.arrival()[mine])
                self.counters["received_detections"] += int(mine.sum())
            peer.clock_s = payload.clock_s
        elif isinstance(payload, Heartbeat):
            peer.clock_s = payload.clock_s
            peer.final = payload.final
        elif isinstance(payload, TrackShare):
            self._take_shared(payload, message, envelope, where)
        peer.last_seq[envelope.sender] = envelope.seq
        peer.heard_mono = time.monotonic()

    def _take_shared(
        self, share: TrackShare, message: Message, envelope: Envelope, where: str
    ) -> None:
        """Keep the rows of another nation's shared tracks that their labels release to us."""
        if share.picture.nation != envelope.nation or envelope.nation == self.config.nation:
            raise MessageError(
                where,
                reason="sender",
                column="picture.nation",
                expected=f"tracks of {envelope.nation}, another nation",
                got=repr(share.picture.nation),
            )
        reports, _, coarse = share.to_reports(self.labels)
        peer = self._peers[envelope.nation]
        # a partner that shares tracks with this node (even none yet: its threats may come at
        # any time) holds its picture back to its own
        peer.shares_tracks = True
        peer.track_through_s = max(peer.track_through_s, share.picture.through_s)
        peer.track_final = peer.track_final or share.picture.final
        rows = reports.rows
        assert rows.release is not None  # shared rows carry their labels
        level = self.labels.level(rows.release, self.config.nation)
        # in full: released to us, or a threat whose owners granted us their threat tracks (and
        # the end of such a track)
        threat = (level == THREAT) & (
            threat_mask(rows, (), self.config.tracker.aircraft_ceiling_m)
            | (rows.status == "deleted")
        )
        mine = np.where(coarse, level >= COARSE, (level == FULL) | threat)
        if not mine.all():
            self._drop_rows("label", int((~mine).sum()), "track rows", message, envelope)
        if mine.any():
            n = int(mine.sum())
            owner = envelope.nation
            self._shared.append(
                SharedTracks(rows.take(mine), np.full(n, owner), coarse[mine].copy())
            )
            received = self.counters["shared_received"]
            received[owner] = received.get(owner, 0) + n
            # full tracks join the picture (position-only ones stay a layer of their own)
            fuse = mine & ~coarse
            if fuse.any():
                self._tracks_in.append((owner, reports.take(fuse)))

    def _drop_rows(
        self, reason: str, count: int, what: str, message: Message, envelope: Envelope
    ) -> None:
        """Count, log and audit rows of an otherwise accepted message that are not used."""
        dropped = self.counters["dropped"]
        dropped[reason] = dropped.get(reason, 0) + count
        text = f"{count} {what} not released to {self.config.nation}"
        log.warning(
            "%s: dropped %s (%s) from %s", self.config.node_id, text, reason, message.subject
        )
        if self.security is not None and self.security.audit is not None:
            self.security.audit.record(
                subject=message.subject,
                reason=reason,
                sender=envelope.sender,
                nation=envelope.nation,
                bus_seq=message.seq,
                detail=text,
            )

    def _reject(self, reason: str, text: str, message: Message | None = None) -> None:
        rejected = self.counters["rejected"]
        rejected[reason] = rejected.get(reason, 0) + 1
        log.warning("%s: rejected a message (%s): %s", self.config.node_id, reason, text)
        audit = self.security.audit if self.security is not None else None
        if audit is not None and message is not None:
            sender, nation = "?", "?"
            try:
                envelope = decode_envelope(message.data, source=message.subject)
                sender, nation = envelope.sender, envelope.nation
            except MessageError:
                pass
            audit.record(
                subject=message.subject,
                reason=reason,
                sender=sender,
                nation=nation,
                bus_seq=message.seq,
                detail=text,
            )

    # ------------------------------------------------------------------ tracking
    def _holds_barrier(self, peer: _Peer, now: float) -> bool:
        if peer.final:
            return False
        if peer.heard_mono is None:
            return now - self._started_mono < self.config.peer_timeout_s
        return now - peer.heard_mono < self.config.peer_timeout_s

    def _holds_tracks(self, peer: _Peer, now: float) -> bool:
        """Whether a partner that shares tracks with this node holds its frames back."""
        if not peer.shares_tracks or peer.track_final or peer.heard_mono is None:
            return False
        if not math.isfinite(peer.track_through_s):
            return False  # no picture yet: nothing of it to wait for
        return now - peer.heard_mono < self.config.peer_timeout_s

    def _barrier(self) -> float:
        now = time.monotonic()
        clocks = [p.clock_s for p in self._peers.values() if self._holds_barrier(p, now)]
        return min(clocks, default=math.inf)

    def _steppable(self) -> bool:
        """Whether a frame waiting for partners' tracks may now be stepped."""
        return bool(self._frames) and self._frames[0].t_s <= (
            self._partners_through() + self.config.fusion.partner_lag_s
        )

    def _partners_through(self) -> float:
        """How far every partner sharing tracks with this node has sent its picture."""
        now = time.monotonic()
        through = [p.track_through_s for p in self._peers.values() if self._holds_tracks(p, now)]
        return min(through, default=math.inf)

    def _input_ended(self) -> bool:
        now = time.monotonic()
        own = self._peers.get(self.config.nation)
        if own is not None and not own.final:
            return False
        return all(p.final or not self._holds_barrier(p, now) for p in self._peers.values())

    async def _advance(self) -> None:
        """Feed the tracker what the barrier allows; flush once every input has ended."""
        async with self._lock:
            if self._flushed:
                return
            ended = self._input_ended()
            flush = ended and not self._tracker_flushed
            chunks = self._take_ready(math.inf if ended else self._barrier())
            if not (chunks or flush or self._tracks_in or self._steppable() or ended):
                return  # nothing new for the tracker or from partners: the picture stands
            # The tracker runs in a worker thread so that the bus connection stays served.
            rows, impacts, alerts, reports, waiting, final = await asyncio.to_thread(
                self._track, chunks, flush
            )
            self._queue_assessment(impacts, alerts)
            self._reports_outbox.extend(reports)
            for chunk in chunks:
                self._max_t_fed = max(self._max_t_fed, float(chunk.t_s.max()))
            if final:
                self._flushed = True
                through = math.inf
            else:
                # frames waiting for partners' tracks are not in the picture yet
                tracked = math.inf if self._tracker_flushed else self._through(self._max_t_fed)
                through = min(tracked, waiting - self.config.tracker.frame_s)
            rows = [r for r in rows if len(r)]
            if not rows and through <= self._through_s:
                return
            self._through_s = max(self._through_s, through)
            out = (
                TrackRows.concat(rows)
                if len(rows) > 1
                else (rows[0] if rows else TrackRows.empty())
            )
            self._queue_picture(out, final)
            if final:
                self._done.set()
                log.info(
                    "%s: input ended; picture final (%s)", self.config.node_id, self._summary()
                )

    def _track(
        self, chunks: list[Detections], flush: bool
    ) -> tuple[list[TrackRows], list[ImpactRows], list[AlertRows], list[TrackReports], float, bool]:
        """Run the tracker on each chunk in turn (and flush it), taking every frame it makes
        (:meth:`LocalFrame.take`: classified, with what the network picture needs); then step
        the network picture (:meth:`CommonPicture.step_local`: number, fuse with partners'
        tracks, warn) over the frames that the partners sharing tracks with this node allow:
        those at most ``fusion.partner_lag_s`` ahead of every such partner's picture.

        Returns the network frames' rows, impact predictions, alert changes, this node's tracks
        to share, the end of the first frame still waiting (inf for none) and whether the
        picture is final: the input has ended (the tracker is flushed), every frame is stepped
        (and, for a node with nothing to track, no partner's picture is still to come); then
        the alerts still in force are closed (:meth:`~airpicture.assess.Assessor.finish`). The
        tracker trusts its input (validated at this node's edge); should it or the assessment
        still fail, the node logs and counts it and goes on (the frame is lost to the picture,
        the tracks go on).
        """
        rows: list[TrackRows] = []
        impacts: list[ImpactRows] = []
        alerts: list[AlertRows] = []
        reports: list[TrackReports] = []
        self._take_partner_tracks()

        def on_frame(frame: TrackRows, t_s: float) -> None:
            self._last_frame_s = max(self._last_frame_s, t_s)
            try:
                self._frames.append(LocalFrame.take(self.assessor, self.tracker, frame, t_s))
            except Exception:
                self.counters["assess_errors"] += 1
                log.exception("%s: the assessment of a frame failed", self.config.node_id)

        for chunk in chunks:
            try:
                self.tracker.process(chunk, on_frame=on_frame)
            except Exception:
                self.counters["tracker_errors"] += 1
                log.exception(
                    "%s: the tracker failed on %d detections", self.config.node_id, len(chunk)
                )
        if flush:
            try:
                self.tracker.flush(on_frame=on_frame)
            except Exception:
                self.counters["tracker_errors"] += 1
                log.exception("%s: the tracker failed at the end of input", self.config.node_id)
            self._tracker_flushed = True
        through = self._partners_through()
        sensorless = self.tracker.stats.received == 0
        if sensorless:
            self._partner_frames(through)
        limit = through + self.config.fusion.partner_lag_s
        while self._frames and self._frames[0].t_s <= limit:
            local = self._frames.popleft()
            try:
                assessed, own = self.common.step_local(self.assessor, local)
            except Exception:
                self.counters["assess_errors"] += 1
                log.exception("%s: the network picture of a frame failed", self.config.node_id)
                continue
            rows.append(assessed.rows)
            impacts.append(assessed.impacts)
            alerts.append(assessed.alerts)
            reports.append(own)
            book = self.assessor.alert_book
            if book is not None and len(assessed.alerts):
                self._alerted = frozenset(track for _, _, track in book.active())
        final = (
            self._tracker_flushed
            and not self._frames
            and not (sensorless and math.isfinite(self._partners_through()))
        )
        if final:
            try:
                alerts.append(self.assessor.finish(self._last_frame_s))
            except Exception:
                self.counters["assess_errors"] += 1
                log.exception("%s: closing the alerts failed", self.config.node_id)
        waiting = self._frames[0].t_s if self._frames else math.inf
        return rows, impacts, alerts, reports, waiting, final

    def _partner_frames(self, through: float) -> None:
        """With no detections to track (yet), the partners' tracks alone make the frames, on the
        tracker's grid, as far as every sharing partner's picture (complete ``through``)
        allows."""
        step = self.config.tracker.frame_s
        oldest, newest = self.common.report_span()
        if not math.isfinite(newest):
            return
        end = min(through, newest + step) + self.config.fusion.partner_lag_s
        t = (
            self._last_frame_s + step
            if math.isfinite(self._last_frame_s)
            else math.floor(oldest / step) * step + step
        )
        while t <= end:
            self._frames.append(LocalFrame.empty(t))
            self._last_frame_s = t
            t += step

    def _take_partner_tracks(self) -> None:
        """Hand the partners' tracks received so far to the network picture (in the tracker's
        thread)."""
        while self._tracks_in:
            owner, reports = self._tracks_in.popleft()
            refused = self.common.receive(owner, reports)
            for number, why in refused.items():
                log.warning(
                    "%s: refused %s's track %s: covariance %s",
                    self.config.node_id,
                    owner,
                    number,
                    why,
                )

    def _take_ready(self, barrier: float) -> list[Detections]:
        """The pending detections the barrier releases, as the tracker's input chunks.

        Chunks are the cells ``[k, k + 1) * feed_step_s`` of arrival time, in order, and a cell
        goes to the tracker only once the barrier has passed its end. The tracker's input is
        therefore cut the same way on every node and in every replay, whatever the network's
        timing: even reports that come later than the latency window (the tracker's
        out-of-sequence path) give the same picture everywhere.
        """
        if not self._pending:
            return []
        dets = Detections.concat(self._pending) if len(self._pending) > 1 else self._pending[0]
        arrival = (
            np.concatenate(self._pending_arrival)
            if len(self._pending_arrival) > 1
            else self._pending_arrival[0]
        )
        cell = np.floor(arrival / self.config.feed_step_s).astype(np.int64)
        if barrier == math.inf:
            ready = np.ones(len(arrival), dtype=bool)
        elif barrier == -math.inf:
            ready = np.zeros(len(arrival), dtype=bool)
        else:
            ready = cell < math.floor(barrier / self.config.feed_step_s)
        if not ready.any():
            self._pending, self._pending_arrival = [dets], [arrival]
            return []
        rest = ~ready
        self._pending = [dets.take(rest)] if rest.any() else []
        self._pending_arrival = [arrival[rest]] if rest.any() else []
        idx = np.flatnonzero(ready)
        order = idx[np.lexsort((dets.row[idx], arrival[idx]))]
        cells = cell[order]
        bounds = np.flatnonzero(np.diff(cells)) + 1
        return [
            dets.take(order[a:b])
            for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(order)], strict=True)
        ]

    def _through(self, max_t_fed: float) -> float:
        """Detections before this time are in the picture (the tracker's processed frames)."""
        cfg = self.config.tracker
        watermark = max_t_fed - cfg.latency_window_s
        if not math.isfinite(watermark):
            return -math.inf
        return math.floor(watermark / cfg.frame_s) * cfg.frame_s

    def _queue_picture(self, rows: TrackRows, final: bool) -> None:
        """Keep new rows in the picture and queue them, with their change codes, for publishing."""
        self._rows.append(rows)
        change = np.ones(len(rows), dtype=np.uint8)
        for i, (track_id, status) in enumerate(zip(rows.track_id, rows.status, strict=True)):
            if status == "deleted":
                change[i] = 2
                self._live_ids.discard(str(track_id))
            elif track_id not in self._live_ids:
                change[i] = 0
                self._live_ids.add(str(track_id))
        self._outbox.append((rows, change))
        self._outbox_final = self._outbox_final or final
        self._outbox_ready.set()

    def _queue_assessment(self, impacts: list[ImpactRows], alerts: list[AlertRows]) -> None:
        """Keep new impact predictions and alert changes and queue them for publishing."""
        impacts = [r for r in impacts if len(r)]
        alerts = [r for r in alerts if len(r)]
        if not impacts and not alerts:
            return
        for part in alerts:
            events = self.counters["alerts"]
            for event in part.event:
                events[str(event)] = events.get(str(event), 0) + 1
        self.counters["impacts"] += sum(len(r) for r in impacts)
        self._impacts.extend(impacts)
        self._alerts.extend(alerts)
        self._impact_outbox.extend(impacts)
        self._alert_outbox.extend(alerts)
        self._outbox_ready.set()

    async def _publish_assessment(self, impacts: list[ImpactRows], alerts: list[AlertRows]) -> None:
        """Publish impact predictions on ``air.impact.<NATION>``, then alert changes on
        ``air.alert.<NATION>``, in messages of at most ``_MAX_DELTA_ROWS`` rows."""
        nation = self.config.nation
        # Loosely typed: mypy cannot pair each kind's rows with its table and message classes.
        outputs: tuple[tuple[str, list[Any], Any, Any], ...] = (
            ("impact", impacts, ImpactRows, Impact),
            ("alert", alerts, AlertRows, Alert),
        )
        for kind, parts, table, message in outputs:
            if not parts:
                continue
            rows = table.concat(parts)
            for k in range(0, len(rows), _MAX_DELTA_ROWS):
                part = rows.take(slice(k, k + _MAX_DELTA_ROWS))
                await self._send(
                    kind, f"air.{kind}.{nation}", message.from_rows(part, nation=nation)
                )
                self.counters[f"{kind}_messages"] += 1

    async def _picture_loop(self) -> None:
        """Publish queued picture changes on ``air.pic.<NATION>``, coalescing what piles up.

        Publishing runs apart from receiving, so a slow acknowledgement never holds up the
        tracker; whatever was queued meanwhile goes out as one delta with the newest ``through_s``,
        after the impact predictions and alert changes queued with it.
        """
        subject = f"air.pic.{self.config.nation}"
        while not self._stopping:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            parts, self._outbox = self._outbox, []
            reports = TrackReports.concat(self._reports_outbox)
            self._reports_outbox = []
            through = self._through_s  # every report taken above is before it
            impacts, self._impact_outbox = self._impact_outbox, []
            alerts, self._alert_outbox = self._alert_outbox, []
            final = self._outbox_final
            # Impacts and alerts first: a track dropped later in this delta takes its impact away.
            await self._publish_assessment(impacts, alerts)
            rows_parts = [r for r, _ in parts if len(r)]
            rows = TrackRows.concat(rows_parts) if rows_parts else TrackRows.empty()
            change = np.concatenate([c for _, c in parts]) if parts else np.empty(0, np.uint8)
            n = len(rows)
            for k in range(0, max(n, 1), _MAX_DELTA_ROWS):
                sl = slice(k, min(n, k + _MAX_DELTA_ROWS))
                last = k + _MAX_DELTA_ROWS >= n
                delta = PictureDelta.from_rows(
                    rows.take(sl),
                    change[sl],
                    nation=self.config.nation,
                    through_s=self._through_s,
                    final=final and last,
                )
                await self._send("pic", subject, delta)
                self.counters["picture_deltas"] += 1
            for share in self._shares.values():
                await self._share_tracks(share, reports, through, final)
            if self._shares:
                shared_with: dict[str, set[str]] = {}
                for share in self._shares.values():
                    for number, (_, _, coarse) in share.live.items():
                        if not coarse:  # a position-only track is not fused, nor numbered
                            shared_with.setdefault(number, set()).add(share.recipient)
                # one new mapping, swapped in whole: the tracker thread reads it
                self.common.shared_with = {k: frozenset(v) for k, v in shared_with.items()}
            if final:
                self._final_sent.set()
                return

    async def _share_tracks(
        self, share: _Share, reports: TrackReports, through: float, final: bool
    ) -> None:
        """Send one nation what its labels and this node's policy release of this node's own
        tracks updated since the last time, on ``air.trk.<NATION>.<RECIPIENT>``, with how far
        this node's picture is complete (``through``: the recipient's frames wait for it, so a
        message with no rows goes too once it has moved on by half of ``partner_lag_s``), and
        the end of the picture, marked ``final``."""
        cfg = self.config
        threat = threat_mask(reports.rows, self._alerted, cfg.tracker.aircraft_ceiling_m)
        level = track_levels(reports.rows, share.recipient, cfg.release, self.labels, threat)
        out, change, coarse = share.select(reports, level, cfg.release.tracks.coarse_m)
        n = len(out)
        news = math.isfinite(through) and (
            through >= share.sent_through_s + 0.5 * cfg.fusion.partner_lag_s
        )
        if n == 0 and not final and not news:
            return
        share.sent_through_s = through
        subject = f"air.trk.{cfg.nation}.{share.recipient}"
        for k in range(0, max(n, 1), _MAX_SHARE_ROWS):
            sl = slice(k, min(n, k + _MAX_SHARE_ROWS))
            payload = TrackShare.from_reports(
                out.take(np.arange(n)[sl]),
                change[sl],
                coarse[sl],
                owner=cfg.nation,
                recipient=share.recipient,
                through_s=through,
                label_nations=self.labels.nations,
                final=final and k + _MAX_SHARE_ROWS >= n,
            )
            await self._send("trk", subject, payload)

    async def _watch_loop(self) -> None:
        """Re-check the barrier as peers time out; refresh the lag; log the health line."""
        cfg = self.config
        last_log = last_lag = time.monotonic()
        while not self._stopping:
            await asyncio.sleep(min(cfg.tick_s * 4, 0.5))
            await self._advance()
            if self._bus is not None and time.monotonic() - last_lag >= _LAG_REFRESH_S:
                last_lag = time.monotonic()
                with contextlib.suppress(Exception):
                    self._bus_last_seq = await self._bus.last_seq()
            if time.monotonic() - last_log >= cfg.log_interval_s:
                last_log = time.monotonic()
                log.info("%s: %s", cfg.node_id, self._summary())

    def _summary(self) -> str:
        h = self.health()
        return (
            f"received {h['received']['detections']} detections in "
            f"{h['received']['messages']} messages, rejected {sum(h['rejected'].values())} "
            f"{h['rejected'] or ''}, processed {h['processed']}, "
            f"late {h['late']}, pending {h['pending']}, tracks {h['tracks']['live']} "
            f"({h['tracks']['confirmed']} confirmed), impacts {h['assessment']['impacts']}, "
            f"alerts {h['assessment']['active_alerts']} active, lag {h['lag_s']} s"
        )

    def _write_record(self) -> None:
        if self.config.record is None:
            return
        from airpicture.batch import assessment_paths
        from airpicture.io import open_table_writer, write_tracks

        path = self.config.record
        path.parent.mkdir(parents=True, exist_ok=True)
        write_tracks(path, self.picture)
        impacts_path, alerts_path = assessment_paths(path)
        for table, target, rows in (
            ("impacts", impacts_path, self.impacts),
            ("alerts", alerts_path, self.alerts),
        ):
            with open_table_writer(target, table) as writer:
                writer.write(rows)
        log.info(
            "%s: wrote the picture to %s, with %s and %s",
            self.config.node_id,
            path,
            impacts_path.name,
            alerts_path.name,
        )

    # ------------------------------------------------------------------ health over HTTP
    async def _serve_health(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=2.0)
            while True:
                line = await asyncio.wait_for(reader.readline(), timeout=2.0)
                if line in (b"\r\n", b"\n", b""):
                    break
            parts = request.decode("latin-1").split()
            if len(parts) >= 2 and parts[0] == "GET" and parts[1].split("?")[0] == "/health":
                body = json.dumps(self.health(), indent=1).encode()
                head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            else:
                body = b'{"error": "not found; try GET /health"}'
                head = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
            writer.write(
                f"{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError) as exc:
            log.debug("health request failed: %s", exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def _json_number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def run_node(config: NodeConfig) -> TrackRows:
    """Run a node until SIGINT or SIGTERM (or until done with ``exit_when_done``); the CLI's entry.

    Returns
    -------
    TrackRows
        The node's picture.
    """
    import signal

    async def main() -> TrackRows:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            return await Node(config).run(stop)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    return asyncio.run(main())
