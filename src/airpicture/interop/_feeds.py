"""A node's sensors fed from recordings: ``[[sources]]`` of a node file, decoded into the
node's own detections (its sensors table gives each sensor's place and noise)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.errors import ConfigError
from airpicture.interop._ingest import FORMATS, SiteConfig, _Collector, _read_one
from airpicture.interop._report import DecodeReport
from airpicture.tables import Detections, SensorTable

__all__ = ["FeedConfig", "feed_detections", "feeds_from_tables"]


@dataclass(frozen=True)
class FeedConfig:
    """One recording that feeds one of a node's sensors (a ``[[sources]]`` table).

    ``kind`` is one of ``asterix``, ``beast``, ``avr``, ``sbs``; ``path`` the file (raw or
    pcap); ``sensor_id`` the node's sensor it feeds (its position and noise come from the node's
    sensors table); ``sac``/``sic`` pick that sensor's ASTERIX records (all records when
    None); ``date`` the day of an ASTERIX recording (times of day only), ``start_time_s`` the
    epoch time of a Beast/AVR counter's zero; ``qnh_hpa``, ``primary_height_m`` and
    ``adsb_period_s`` as for :func:`airpicture.interop.ingest`. ``speed`` and
    ``start_at_unix_s`` set the wall clock the node replays its detections on, as for a
    scenario ``[source]`` (every table of one node must agree).
    """

    kind: str
    path: Path
    sensor_id: str
    sac: int | None = None
    sic: int | None = None
    date: str | None = None
    start_time_s: float | None = None
    qnh_hpa: float = 1013.25
    primary_height_m: float | None = None
    adsb_period_s: float = 2.0
    speed: float = 1.0
    start_at_unix_s: float | None = None


def feeds_from_tables(
    tables: Sequence[Mapping[str, Any]], *, source: str, base_dir: Path
) -> tuple[FeedConfig, ...]:
    """:class:`FeedConfig` of the ``[[sources]]`` tables of a node file (paths relative to
    the file's folder).

    Raises
    ------
    ConfigError
        An unknown key or kind, a missing key, a value of the wrong type, or tables that do not
        agree on ``speed`` and ``start_at_unix_s``.
    """
    known = {f.name: f for f in fields(FeedConfig)}
    out = []
    for i, table in enumerate(tables):
        where = f"sources[{i}]"
        if not isinstance(table, Mapping):
            raise ConfigError(source, key=where, expected="a table", got=repr(table))
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise ConfigError(
                source,
                key=f"{where}.{unknown[0]}",
                expected=f"one of {', '.join(known)}",
                got="an unknown key",
            )
        for key in ("kind", "path", "sensor_id"):
            if not isinstance(table.get(key), str) or not table[key]:
                raise ConfigError(
                    source, key=f"{where}.{key}", expected="a text", got=repr(table.get(key))
                )
        if table["kind"] not in FORMATS:
            raise ConfigError(
                source,
                key=f"{where}.kind",
                expected=f"one of {', '.join(FORMATS)}",
                got=repr(table["kind"]),
            )
        values = dict(table)
        for key in ("sac", "sic"):
            v = values.get(key)
            if v is not None and (
                not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 256
            ):
                raise ConfigError(
                    source, key=f"{where}.{key}", expected="an integer 0-255", got=repr(v)
                )
        for key in (
            "start_time_s",
            "qnh_hpa",
            "primary_height_m",
            "adsb_period_s",
            "speed",
            "start_at_unix_s",
        ):
            v = values.get(key)
            ok = v is None or (
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            )
            if not ok or (
                key in ("qnh_hpa", "adsb_period_s", "speed") and v is not None and v <= 0
            ):
                raise ConfigError(
                    source,
                    key=f"{where}.{key}",
                    expected="a finite number"
                    + (" > 0" if key in ("qnh_hpa", "adsb_period_s", "speed") else ""),
                    got=repr(v),
                )
        path = Path(values.pop("path"))
        out.append(FeedConfig(path=path if path.is_absolute() else base_dir / path, **values))
    clocks = {(f.speed, f.start_at_unix_s) for f in out}
    if len(clocks) > 1:
        raise ConfigError(
            source,
            key="sources",
            expected="one speed and start_at_unix_s for every [[sources]] table",
            got=str(sorted(clocks, key=str)),
        )
    return tuple(out)


def feed_detections(
    feeds: Sequence[FeedConfig], sensors: SensorTable
) -> tuple[Detections, DecodeReport]:
    """Decode every feed into detections of the node's sensors, in time order.

    Each feed's records become detections of its ``sensor_id`` (at that sensor's position in
    ``sensors``), by the rules of :func:`airpicture.interop.ingest`; what is skipped is counted
    in the report.

    Raises
    ------
    ConfigError
        A feed naming a sensor ``sensors`` does not have.
    DataError
        A recording that cannot be read at all.
    """
    report = DecodeReport()
    parts: list[Detections] = []
    for i, feed in enumerate(feeds):
        try:
            index = sensors.index_of(feed.sensor_id)
        except KeyError:
            raise ConfigError(
                "sources",
                key=f"sources[{i}].sensor_id",
                expected=f"one of {', '.join(sensors.ids)}",
                got=repr(feed.sensor_id),
            ) from None
        s = sensors[index]
        site = SiteConfig(
            feed.sensor_id,
            s.nation,
            math.degrees(s.lat_rad),
            math.degrees(s.lon_rad),
            s.alt_m,
            sac=feed.sac,
            sic=feed.sic,
            max_range_m=s.max_range_m,
        )
        collector = _Collector(
            [site],
            qnh_hpa=feed.qnh_hpa,
            primary_height_m=feed.primary_height_m,
            adsb_period_s=feed.adsb_period_s,
            report=report,
            source=str(feed.path),
        )
        _read_one(feed.path, feed.kind, collector, site, feed.date, feed.start_time_s, None, None)
        for rows in collector.sensors.values():
            if rows.kind in ("radar", "psr"):
                rows.solve_elevations(report)
            n = len(rows.t_s)
            parts.append(
                Detections(
                    t_s=np.asarray(rows.t_s, dtype=float),
                    sensor_index=np.full(n, index, np.int32),
                    range_m=np.asarray(rows.range_m),
                    azimuth_rad=np.asarray(rows.azimuth_rad) % (2 * math.pi),
                    elevation_rad=np.asarray(rows.elevation_rad),
                    range_rate_mps=np.full(n, np.nan),
                    sensor_lat_rad=np.full(n, s.lat_rad),
                    sensor_lon_rad=np.full(n, s.lon_rad),
                    sensor_alt_m=np.full(n, s.alt_m),
                    row=np.zeros(n, np.int64),
                )
            )
    det = Detections.concat(parts)
    det = det.take(np.argsort(det.t_s, kind="stable"))
    return replace(det, row=np.arange(len(det), dtype=np.int64)), report
