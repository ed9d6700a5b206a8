"""A node's settings: the node file (TOML) and its checks.

:class:`NodeConfig` is everything a node needs; :meth:`NodeConfig.from_toml` reads a node file,
:meth:`NodeConfig.from_mapping` the same shape from a mapping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airpicture.assess import AssessConfig, WarningAreas, read_warning_areas
from airpicture.codes import is_nation_code
from airpicture.config import Interval, load_config, load_toml
from airpicture.errors import ConfigError
from airpicture.fusion import FusionConfig
from airpicture.interop._feeds import FeedConfig, feeds_from_tables
from airpicture.net._release import LabelSpace, ReleasePolicy
from airpicture.net._security import SecuritySettings
from airpicture.tables import SensorTable
from airpicture.tracker import TrackerConfig

__all__ = ["InputLimits", "NodeConfig", "SourceConfig"]


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
class InputLimits:
    """What a node takes from one message before its tracker sees it (the ``[limits]`` table).

    Times are scenario seconds. An honest sender stays far inside every limit; a message beyond
    one is rejected whole, a row beyond one is dropped, each counted by reason (``future``,
    ``stale``, ``size``, ``density``) and audited once per burst.

    Attributes
    ----------
    max_lead_s : float
        A message's clock (detection batches and heartbeats) may be at most this far ahead of
        the receiver's clock (its own source's clock; for a node without sensors, the most
        advanced clock heard so far), and a detection's time at most this far ahead of its
        batch's clock; further ahead, the message is rejected (``future``). Nodes of a network
        share their start time, so an honest sender's clock is never ahead of its receiver's
        by more than the clock skew between their machines times the replay speed.
    max_report_age_s : float
        A detection more than this older than its batch's clock is dropped (``stale``): the
        tracker uses nothing older than its latency window plus ``oosm_horizon_s``.
    max_batch_rows : int
        A detection batch with more rows is rejected (``size``).
    max_reports_per_scan : int
        At most this many detections of one sensor per scan period (the scan's number being
        ``floor(t_s / scan_period_s)``) are taken; the rest are dropped (``density``). It
        bounds a sender's detection rate in its own time, which ``max_lead_s`` ties to the
        receiver's.
    max_messages_per_s : float
        Live messages taken from one sending nation per wall-clock second (a token bucket
        holding ``rate_burst_s`` seconds' worth); beyond it, a message is rejected (``rate``)
        before its signature is checked, which bounds what a flood costs. The history a node
        reads back when it starts or restarts is exempt. An honest node sends a few messages
        per recipient per publishing tick.
    rate_burst_s : float
        The token bucket's depth, in seconds of ``max_messages_per_s``.
    audit_burst_s : float
        Rejections of one sender for one reason within this wall-clock time after the first
        are one burst: the first is logged and audited, the rest are counted and summed up in
        one audit entry when the burst ends.
    """

    max_lead_s: float = field(default=30.0, metadata={"check": Interval(0.0, 86400.0)})
    max_report_age_s: float = field(default=600.0, metadata={"check": Interval(0.0, 1e7)})
    max_batch_rows: int = field(
        default=65_536, metadata={"check": Interval(1, 10_000_000, integer=True)}
    )
    max_reports_per_scan: int = field(
        default=2_000, metadata={"check": Interval(1, 10_000_000, integer=True)}
    )
    max_messages_per_s: float = field(default=1000.0, metadata={"check": Interval(1.0, 1e7)})
    rate_burst_s: float = field(default=5.0, metadata={"check": Interval(0.0, 3600.0)})
    audit_burst_s: float = field(default=10.0, metadata={"check": Interval(0.0, 86400.0)})


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
    tak: str = ""


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
        ``memory://`` or ``nats://127.0.0.1:PORT`` (``tls://`` when secure), or a
        comma-separated list of the servers of one cluster (the node fails over between them).
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
    feeds : tuple of FeedConfig
        Recordings (ASTERIX, Beast, AVR, SBS; the ``[[sources]]`` tables) decoded into the
        node's own detections (:class:`airpicture.interop.FeedConfig`); instead of ``source``.
    tak : str or None
        ``udp://HOST:PORT`` or ``tcp://HOST:PORT`` of a TAK client or server the node streams
        its picture to as Cursor on Target (``tak`` key; :mod:`airpicture.interop`).
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
        be the same on every node (see :meth:`airpicture.node._inbound.Inbound.take_ready`).
    security : SecuritySettings or None
        Keys, audit log and freshness window (the ``[security]`` table): the node signs what it
        sends, verifies what it receives and sees the bus through its nation's permissions.
    insecure : bool
        Explicitly allow a NATS bus without ``security`` (tests, local experiments). On the
        in-process bus, a node without ``security`` sends unsigned messages.
    limits : InputLimits
        What the node takes from one message (the ``[limits]`` table).
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
    # the defaults of the node file's scalar settings, and their checks, are _NodeSettings'
    tick_s: float = _NodeSettings.tick_s
    peer_timeout_s: float = _NodeSettings.peer_timeout_s
    log_interval_s: float = _NodeSettings.log_interval_s
    exit_when_done: bool = _NodeSettings.exit_when_done
    max_batch_rows: int = _NodeSettings.max_batch_rows
    feed_step_s: float = _NodeSettings.feed_step_s
    security: SecuritySettings | None = None
    insecure: bool = _NodeSettings.insecure
    assess: AssessConfig = field(default_factory=AssessConfig)
    areas: WarningAreas = field(default_factory=read_warning_areas)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    limits: InputLimits = field(default_factory=InputLimits)
    feeds: tuple[FeedConfig, ...] = ()
    tak: str | None = None

    @classmethod
    def from_toml(cls, path: str | Path) -> NodeConfig:
        """Read a node file; relative paths in it are relative to the file's folder.

        Top-level keys: ``nation`` (required), ``node_id``, ``bus``, ``sensors_file`` or
        ``[[sensors]]`` tables (data-contract columns), ``own_sensors``, ``network``,
        ``health_port``, ``record``, ``tick_s``, ``peer_timeout_s``, ``log_interval_s``,
        ``exit_when_done``, ``max_batch_rows``, ``feed_step_s``, ``tak``; tables ``[source]``
        (:class:`SourceConfig`) or ``[[sources]]`` (:class:`airpicture.interop.FeedConfig`),
        ``[release]`` (:class:`~airpicture.net.ReleasePolicy`),
        ``[tracker]`` (:class:`~airpicture.tracker.TrackerConfig`) and ``[assess]``
        (:meth:`~airpicture.assess.AssessConfig.from_mapping`, plus ``areas``: a GeoJSON file of
        warning areas).

        Raises
        ------
        ConfigError
            On a missing file, bad TOML, an unknown key or a value out of its range.
        DataError
            When the sensors file, or the ``[[sensors]]`` tables, break the data contract.
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
        sensors: SensorTable | None = None,
    ) -> NodeConfig:
        """Build and check the configuration from a mapping shaped like the TOML file;
        ``sensors`` gives the sensors table in memory instead of ``sensors_file`` or
        ``[[sensors]]``."""
        base = base_dir if base_dir is not None else Path.cwd()
        values = dict(values)
        inline = values.pop("sensors", None)
        source_table = values.pop("source", None)
        feed_tables = values.pop("sources", None)
        release_table = values.pop("release", {})
        tracker_table = values.pop("tracker", {})
        assess_table = values.pop("assess", {})
        fusion_table = values.pop("fusion", {})
        security_table = values.pop("security", None)
        limits_table = values.pop("limits", {})
        settings = load_config(_NodeSettings, values, source=source)
        nation = _nation(settings.nation, source, "nation")

        given = [inline is not None, bool(settings.sensors_file), sensors is not None]
        if sum(given) > 1:
            raise ConfigError(
                source,
                key="sensors",
                expected="one of sensors_file, [[sensors]] or a sensors table",
                got="more than one",
            )
        if inline is not None:
            sensors = _inline_sensors(inline, source)
        elif settings.sensors_file:
            from airpicture.io import read_sensors

            sensors = read_sensors(_resolve(base, settings.sensors_file))
        elif sensors is None:
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
        feeds: tuple[FeedConfig, ...] = ()
        if feed_tables is not None:
            if src is not None:
                raise ConfigError(
                    source, key="sources", expected="[source] or [[sources]]", got="both"
                )
            if not isinstance(feed_tables, list):
                raise ConfigError(
                    source, key="sources", expected="[[sources]] tables", got=repr(feed_tables)
                )
            feeds = feeds_from_tables(feed_tables, source=source, base_dir=base)
            for i, feed in enumerate(feeds):
                if feed.sensor_id not in own:
                    raise ConfigError(
                        source,
                        key=f"sources[{i}].sensor_id",
                        expected=f"an own sensor ({', '.join(own) or 'none'})",
                        got=repr(feed.sensor_id),
                    )
        if settings.tak:
            from airpicture.interop import CotSender

            CotSender(settings.tak)  # checks the address
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
        if not isinstance(limits_table, Mapping):
            raise ConfigError(source, key="limits", expected="a table", got=repr(limits_table))
        limits = load_config(InputLimits, dict(limits_table), source=source, prefix="limits.")
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
            feeds=feeds,
            tak=settings.tak or None,
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
            limits=limits,
        )


def _resolve(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _nation(value: Any, source: str, key: str) -> str:
    if not is_nation_code(value):
        raise ConfigError(
            source, key=key, expected="an ISO 3166-1 alpha-3 code such as 'JPN'", got=repr(value)
        )
    return value


def _inline_sensors(items: Any, source: str) -> SensorTable:
    """Sensors given as ``[[sensors]]`` tables with the data contract's column names, checked
    as a sensors file is (:func:`airpicture.io.contract.sensors_from_rows`)."""
    from airpicture.io import sensors_from_rows

    if not isinstance(items, list) or not items:
        raise ConfigError(
            source, key="sensors", expected="a non-empty array of tables", got=repr(items)
        )
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ConfigError(source, key=f"sensors[{i}]", expected="a table", got=repr(item))
    return sensors_from_rows(items, f"{source} [[sensors]]")
