"""Recorded or live sensor data (ASTERIX, Mode S / ADS-B) to the data contract.

A monoradar plot (CAT048) becomes a detection of its radar: slant range and azimuth as
reported, and an elevation from the plot's height: the 3-D height (I048/110) when the radar
measures one, else the Mode C flight level taken to geometric height
(:func:`airpicture.models.pressure_altitude_to_height`, the day's QNH) and then to the
elevation at which a target at that height is seen at that slant range
(:func:`airpicture.models.elevation_of_height`: exact on WGS-84, no refraction, as the
contract). A plot without either (primary-only) has no height: it goes to a sensor of its own
(``<radar>-PSR``) at a nominal ``primary_height_m`` with a height noise of kilometres, so it
informs range and azimuth alone in effect (or, with ``primary_height_m=None``, is skipped and
counted).

An ADS-B position (CAT021, or Mode S decoded from Beast, AVR or SBS) becomes a detection of a
receiver "sensor" at the ground station's site: range, azimuth and elevation of the reported
position from there, so the tracker takes both kinds alike; at most one report per aircraft
every ``adsb_period_s`` (the tracker expects one report of an object per scan).

Identity (Mode S address, callsign, squawk, emergency, flight level) goes to an identity table
next to the detections, one row per detection that carries any, keyed by the detection's row.
A CAT062 system track becomes a row of a tracks table (the contract's), with its own identity
table.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from airpicture.errors import ConfigError, DataError
from airpicture.geo import ecef2aer, geodetic2ecef
from airpicture.interop._asterix import AsterixRecord, iter_records
from airpicture.interop._categories import (
    AdsbReport,
    RadarPlot,
    SystemTrack,
    read_cat021,
    read_cat034,
    read_cat048,
    read_cat062,
)
from airpicture.interop._live import open_source
from airpicture.interop._modes import (
    ModeSDecoder,
    ModeSReport,
    RawMessage,
    emergency_of_squawk,
    iter_avr,
    iter_beast,
    iter_sbs,
)
from airpicture.interop._report import DecodeReport
from airpicture.interop._tracks import system_tracks_to_rows
from airpicture.models import FEET_M, elevation_of_height, pressure_altitude_to_height
from airpicture.tables import Detections, Sensor, SensorTable

__all__ = [
    "FORMATS",
    "IDENTITY_COLUMNS",
    "IngestResult",
    "SiteConfig",
    "ingest",
    "read_identity",
    "write_identity",
]

FORMATS = ("asterix", "beast", "avr", "sbs")
"""Input formats of :func:`ingest`."""

IDENTITY_COLUMNS = (
    "row",
    "t_s",
    "sensor_id",
    "address",
    "callsign",
    "squawk",
    "emergency",
    "flight_level",
)
"""Columns of a detections identity table (``identity.csv``)."""

_DAY_S = 86_400.0


@dataclass(frozen=True)
class SiteConfig:
    """A sensor that a source's records come from, and its place.

    ``sac``/``sic`` pick the ASTERIX records of this sensor (None: all records without another
    site). A radar's noise as the contract's sensors table; ``sigma_height_m`` is the height
    noise of Mode C (25/100 ft steps and the pressure-to-geometric error) and
    ``sigma_position_m`` an ADS-B position's; both become the sensor's elevation (and, for
    ADS-B, angle) noise at the median range of its reports. ``scan_period_s`` None takes the
    radar's rotation period from its CAT034 messages (4 s without them).
    """

    sensor_id: str
    nation: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    sac: int | None = None
    sic: int | None = None
    sigma_range_m: float = 70.0
    sigma_azimuth_deg: float = 0.08
    sigma_height_m: float = 75.0
    sigma_primary_height_m: float = 3000.0
    sigma_position_m: float = 50.0
    max_range_m: float = 460_000.0
    scan_period_s: float | None = None

    def __post_init__(self) -> None:
        where = f"site {self.sensor_id!r}"
        checks = (
            ("lat_deg", -90 <= self.lat_deg <= 90, "a latitude in [-90, 90]"),
            ("lon_deg", -180 <= self.lon_deg <= 180, "a longitude in [-180, 180]"),
            ("alt_m", math.isfinite(self.alt_m) and abs(self.alt_m) < 1e5, "a height in m"),
            ("sigma_range_m", self.sigma_range_m > 0, "a positive number"),
            ("sigma_azimuth_deg", self.sigma_azimuth_deg > 0, "a positive number"),
            ("sigma_height_m", self.sigma_height_m > 0, "a positive number"),
            ("sigma_primary_height_m", self.sigma_primary_height_m > 0, "a positive number"),
            ("sigma_position_m", self.sigma_position_m > 0, "a positive number"),
            ("max_range_m", self.max_range_m > 0, "a positive number"),
        )
        for key, ok, expected in checks:
            if not ok:
                raise ConfigError(where, key=key, expected=expected, got=repr(getattr(self, key)))
        if self.scan_period_s is not None and not self.scan_period_s > 0:
            raise ConfigError(
                where,
                key="scan_period_s",
                expected="a positive number",
                got=repr(self.scan_period_s),
            )


@dataclass
class IngestResult:
    """What :func:`ingest` wrote and read: the files (None when nothing went there), the
    detection and track row counts, and the decode report."""

    output_dir: Path
    sensors: Path | None
    detections: Path | None
    identity: Path | None
    tracks: Path | None
    n_detections: int
    n_tracks: int
    report: DecodeReport
    scan_periods_s: dict[str, float] = field(default_factory=dict)


class _DayClock:
    """Times of day (ASTERIX) to seconds since the epoch: the day from a date, or from a
    nearby time (a capture time), with midnight rollover."""

    def __init__(self, date: str | None, source: str) -> None:
        self._midnight: float | None = None
        if date is not None:
            try:
                day = datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError:
                raise ConfigError(
                    source, key="date", expected="a date YYYY-MM-DD", got=repr(date)
                ) from None
            self._midnight = day.timestamp()
        self._last: float | None = None
        self.source = source

    def resolve(self, tod_s: float, hint_s: float | None) -> float:
        if hint_s is not None and self._midnight is None:
            midnight = math.floor(hint_s / _DAY_S) * _DAY_S
            t = midnight + tod_s
            t += _DAY_S * round((hint_s - t) / _DAY_S)
            return t
        if self._midnight is None:
            raise DataError(
                self.source,
                expected="a date for the ASTERIX times of day (--date YYYY-MM-DD, or a pcap file)",
                got="none",
            )
        t = self._midnight + tod_s
        if self._last is not None and t < self._last - _DAY_S / 2:
            self._midnight += _DAY_S
            t += _DAY_S
        self._last = t
        return t


@dataclass
class _SensorRows:
    site: SiteConfig
    kind: str  # "radar" or "adsb"
    t_s: list[float] = field(default_factory=list)
    range_m: list[float] = field(default_factory=list)
    azimuth_rad: list[float] = field(default_factory=list)
    elevation_rad: list[float] = field(default_factory=list)
    identity: list[tuple[str, str, str, str, float]] = field(default_factory=list)
    height_m: list[float] = field(default_factory=list)
    offsets: list[tuple[str, int]] = field(default_factory=list)

    def solve_elevations(self, report: DecodeReport) -> np.ndarray:
        """Radar plots: the elevation of each plot's height (exact, WGS-84); the plots whose
        height cannot be seen at their range are dropped (counted). Returns d elevation / d
        height of the plots kept, rad/m."""
        site = self.site
        el, del_dh = elevation_of_height(
            np.asarray(self.range_m), np.asarray(self.azimuth_rad), np.asarray(self.height_m),
            math.radians(site.lat_deg), math.radians(site.lon_deg), site.alt_m,
        )  # fmt: skip
        bad = np.flatnonzero(np.isnan(el))
        for k in bad:
            report.skip(*self.offsets[k], "height out of reach",
                        f"height {self.height_m[k]:.0f} m cannot be seen at range "
                        f"{self.range_m[k]:.0f} m")  # fmt: skip
            report.records -= 1
        keep = np.flatnonzero(~np.isnan(el))
        for name in ("t_s", "range_m", "azimuth_rad", "identity", "height_m", "offsets"):
            values = getattr(self, name)
            setattr(self, name, [values[k] for k in keep])
        self.elevation_rad = el[keep].tolist()
        return np.abs(del_dh[keep])

    @property
    def sensor_id(self) -> str:
        suffix = {"radar": "", "psr": "-PSR", "adsb": "-ADSB"}[self.kind]
        return f"{self.site.sensor_id}{suffix}"


class _Collector:
    def __init__(
        self,
        sites: list[SiteConfig],
        *,
        qnh_hpa: float,
        primary_height_m: float | None,
        adsb_period_s: float,
        report: DecodeReport,
        source: str,
    ) -> None:
        self.sites = sites
        self.by_code: dict[tuple[int | None, int | None], SiteConfig] = {
            (s.sac, s.sic): s for s in sites if s.sac is not None
        }
        self.default = next((s for s in sites if s.sac is None), None)
        self.qnh_hpa = qnh_hpa
        self.primary_height_m = primary_height_m
        self.adsb_period_s = adsb_period_s
        self.report = report
        self.source = source
        self.sensors: dict[tuple[str, str], _SensorRows] = {}
        self.last_adsb: dict[tuple[str, str], float] = {}
        self.north_markers: dict[str, list[float]] = defaultdict(list)
        self.rotation: dict[str, float] = {}
        self.tracks: list[tuple[float, SystemTrack]] = []

    def site_of(self, sac: int | None, sic: int | None, offset: int) -> SiteConfig | None:
        site = self.by_code.get((sac, sic), self.default)
        if site is None:
            self.report.skip(
                self.source,
                offset,
                "unknown SAC/SIC",
                f"no site configured for SAC {sac} SIC {sic}",
            )
        return site

    def rows(self, site: SiteConfig, kind: str) -> _SensorRows:
        key = (site.sensor_id, kind)
        if key not in self.sensors:
            self.sensors[key] = _SensorRows(site, kind)
        return self.sensors[key]

    def add_plot(self, plot: RadarPlot, t_s: float, offset: int) -> None:
        site = self.site_of(plot.sac, plot.sic, offset)
        if site is None:
            return
        kind = "radar"
        if plot.height_m is not None:
            height = plot.height_m
        elif plot.flight_level is not None:
            height = float(
                pressure_altitude_to_height(
                    plot.flight_level * 100.0 * FEET_M, qnh_hpa=self.qnh_hpa
                )
            )
        elif self.primary_height_m is not None:
            height = self.primary_height_m
            kind = "psr"
        else:
            self.report.skip(
                self.source, offset, "no height", f"{plot.kind} plot without Mode C or 3-D height"
            )
            return
        if not plot.range_m > 0:
            self.report.skip(self.source, offset, "bad value", "plot at range 0")
            return
        out = self.rows(site, kind)
        out.t_s.append(t_s)
        out.range_m.append(plot.range_m)
        out.azimuth_rad.append(math.radians(plot.azimuth_deg))
        out.elevation_rad.append(math.nan)  # from the height, all plots at once (tables)
        out.height_m.append(height)
        out.offsets.append((self.source, offset))
        out.identity.append(
            (
                plot.address or "",
                plot.callsign or "",
                plot.mode3a or "",
                emergency_of_squawk(plot.mode3a) or "",
                math.nan if plot.flight_level is None else plot.flight_level,
            )
        )
        self.report.records += 1

    def add_position(
        self,
        site: SiteConfig,
        t_s: float,
        address: str,
        lat: float,
        lon: float,
        height_m: float,
        ident: tuple[str, str, str, str, float],
    ) -> None:
        key = (site.sensor_id, address)
        last = self.last_adsb.get(key)
        if last is not None and 0 <= t_s - last < self.adsb_period_s:
            self.report.ignore("ADS-B report within the reporting period")
            return
        self.last_adsb[key] = t_s
        x, y, z = geodetic2ecef(math.radians(lat), math.radians(lon), height_m)
        az, el, r = ecef2aer(
            x, y, z, math.radians(site.lat_deg), math.radians(site.lon_deg), site.alt_m
        )
        out = self.rows(site, "adsb")
        out.t_s.append(t_s)
        out.range_m.append(float(r))
        out.azimuth_rad.append(float(az))
        out.elevation_rad.append(float(el))
        out.identity.append(ident)
        self.report.records += 1

    def add_adsb(self, rep: AdsbReport, t_s: float, offset: int) -> None:
        site = self.site_of(rep.sac, rep.sic, offset)
        if site is None:
            return
        if rep.height_m is not None:
            height = rep.height_m
        elif rep.flight_level is not None:
            height = float(
                pressure_altitude_to_height(rep.flight_level * 100.0 * FEET_M, qnh_hpa=self.qnh_hpa)
            )
        else:
            self.report.skip(self.source, offset, "no height", "ADS-B report without altitude")
            return
        emergency = rep.emergency or emergency_of_squawk(rep.mode3a) or ""
        self.add_position(
            site,
            t_s,
            rep.address or "",
            rep.lat_deg,
            rep.lon_deg,
            height,
            (
                rep.address or "",
                rep.callsign or "",
                rep.mode3a or "",
                emergency,
                math.nan if rep.flight_level is None else rep.flight_level,
            ),
        )

    def add_modes(self, rep: ModeSReport, site: SiteConfig) -> None:
        if rep.altitude_m is None:
            self.report.skip(self.source, 0, "no height", f"{rep.address}: no altitude")
            return
        if rep.altitude_kind == "baro":
            height = float(pressure_altitude_to_height(rep.altitude_m, qnh_hpa=self.qnh_hpa))
            fl = rep.altitude_m / FEET_M / 100.0
        else:
            height, fl = rep.altitude_m, math.nan
        self.add_position(
            site,
            rep.t_s,
            rep.address,
            rep.lat_deg,
            rep.lon_deg,
            height,
            (rep.address, rep.callsign or "", rep.squawk or "", rep.emergency or "", fl),
        )

    def add_record(self, record: AsterixRecord, clock: _DayClock) -> None:
        if record.category == 48:
            plot = read_cat048(record)
            if plot is None:
                self.report.ignore("CAT048 record without position or time")
                return
            if plot.test or plot.kind == "none":
                self.report.ignore("CAT048 test or no-detection record")
                return
            self.add_plot(
                plot, clock.resolve(plot.time_of_day_s, record.time_hint_s), record.offset
            )
        elif record.category == 21:
            rep = read_cat021(record)
            if rep is None:
                self.report.ignore("CAT021 record without position or time")
                return
            self.add_adsb(rep, clock.resolve(rep.time_of_day_s, record.time_hint_s), record.offset)
        elif record.category == 34:
            service = read_cat034(record)
            site = None
            if service is not None:
                site = self.by_code.get((service.sac, service.sic), self.default)
            if service is None or site is None:
                self.report.ignore("CAT034 message")
                return
            if service.rotation_period_s:
                self.rotation[site.sensor_id] = service.rotation_period_s
            if service.message == "north-marker" and service.time_of_day_s is not None:
                t = clock.resolve(service.time_of_day_s, record.time_hint_s)
                self.north_markers[site.sensor_id].append(t)
            self.report.ignore(f"CAT034 {service.message}")
        elif record.category == 62:
            track = read_cat062(record)
            if track is None:
                self.report.ignore("CAT062 record without position, time or number")
                return
            self.tracks.append((clock.resolve(track.time_of_day_s, record.time_hint_s), track))
            self.report.records += 1

    def scan_period(self, site: SiteConfig) -> float:
        if site.scan_period_s is not None:
            return site.scan_period_s
        if site.sensor_id in self.rotation:
            return self.rotation[site.sensor_id]
        marks = np.diff(np.sort(self.north_markers.get(site.sensor_id, [])))
        marks = marks[(marks > 0.5) & (marks < 60)]
        return float(np.median(marks)) if marks.size else 4.0

    def tables(self) -> tuple[SensorTable, Detections, list[tuple[str, ...]], dict[str, float]]:
        sensors: list[Sensor] = []
        periods: dict[str, float] = {}
        for rows in self.sensors.values():
            site = rows.site
            median_range = float(np.median(rows.range_m)) if rows.range_m else 100_000.0
            median_range = max(median_range, 1000.0)
            if rows.kind in ("radar", "psr"):
                period = self.scan_period(site)
                slope = rows.solve_elevations(self.report)
                median_range = max(float(np.median(rows.range_m)) if rows.range_m else 1e5, 1e3)
                # a height's noise as an elevation noise, at the plots' median d el / d h
                per_m = float(np.median(slope)) if slope.size else 1.0 / median_range
                sig = (
                    site.sigma_range_m,
                    math.radians(site.sigma_azimuth_deg),
                    (site.sigma_height_m if rows.kind == "radar" else site.sigma_primary_height_m)
                    * per_m,
                )
            else:
                period = self.adsb_period_s
                angle = site.sigma_position_m / median_range
                sig = (site.sigma_position_m, angle, angle)
            periods[rows.sensor_id] = period
            sensors.append(
                Sensor(
                    sensor_id=rows.sensor_id,
                    nation=site.nation,
                    kind="radar",
                    lat_rad=math.radians(site.lat_deg),
                    lon_rad=math.radians(site.lon_deg),
                    alt_m=site.alt_m,
                    sigma_range_m=sig[0],
                    sigma_azimuth_rad=sig[1],
                    sigma_elevation_rad=sig[2],
                    sigma_range_rate_mps=math.nan,
                    max_range_m=max(site.max_range_m, max(rows.range_m, default=0.0) * 1.01),
                    scan_period_s=period,
                    p_detect=math.nan,
                    clutter_per_scan=math.nan,
                )
            )
        table = SensorTable(tuple(sensors))
        parts = []
        identity: list[tuple[str, ...]] = []
        for rows in self.sensors.values():
            n = len(rows.t_s)
            index = table.index_of(rows.sensor_id)
            s = table[index]
            parts.append(
                (
                    np.asarray(rows.t_s),
                    np.full(n, index, np.int32),
                    np.asarray(rows.range_m),
                    np.asarray(rows.azimuth_rad) % (2 * math.pi),
                    np.asarray(rows.elevation_rad),
                    np.full(n, s.lat_rad),
                    np.full(n, s.lon_rad),
                    np.full(n, s.alt_m),
                    rows.identity,
                )
            )
        if not parts:
            return table, Detections.empty(), [], periods
        t = np.concatenate([p[0] for p in parts])
        ids = [i for p in parts for i in p[8]]
        order = np.argsort(t, kind="stable")
        cols = [np.concatenate([p[k] for p in parts])[order] for k in range(8)]
        n = len(t)
        det = Detections(
            t_s=cols[0],
            sensor_index=cols[1],
            range_m=cols[2],
            azimuth_rad=cols[3],
            elevation_rad=cols[4],
            range_rate_mps=np.full(n, np.nan),
            sensor_lat_rad=cols[5],
            sensor_lon_rad=cols[6],
            sensor_alt_m=cols[7],
            row=np.arange(n, dtype=np.int64),
        )
        for new_row, old in enumerate(order):
            address, callsign, squawk, emergency, fl = ids[old]
            if address or callsign or squawk:
                sid = table[int(cols[1][new_row])].sensor_id
                fl_text = "" if not math.isfinite(fl) else f"{fl:g}"
                identity.append(
                    (
                        str(new_row),
                        repr(float(cols[0][new_row])),
                        sid,
                        address,
                        callsign,
                        squawk,
                        emergency,
                        fl_text,
                    )
                )
        return table, det, identity, periods


def write_identity(
    path: str | Path, rows: Sequence[Sequence[str]], columns: tuple[str, ...]
) -> None:
    """Write an identity table (text cells) as CSV."""
    arrays = [pa.array([r[i] for r in rows], pa.string()) for i in range(len(columns))]
    pa_csv.write_csv(pa.table(arrays, names=list(columns)), str(path))


def read_identity(path: str | Path) -> dict[str, np.ndarray]:
    """An identity table (``identity.csv`` of detections, or of tracks) as text columns.

    Raises
    ------
    DataError
        If the file cannot be read as CSV.
    """
    try:
        table = pa_csv.read_csv(
            str(path),
            convert_options=pa_csv.ConvertOptions(
                column_types={c: pa.string() for c in (*IDENTITY_COLUMNS, "track_id")},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(str(path), expected="an identity table (CSV)", got=str(exc)) from None
    return {
        name: np.asarray(table.column(name).to_pylist(), dtype=object)
        for name in table.column_names
    }


def _modes_messages(
    fmt: str,
    chunks: Iterator[tuple[bytes, float | None, int]],
    *,
    source: str,
    report: DecodeReport,
    start_t_s: float | None,
) -> Iterator[tuple[object, float | None]]:
    """Raw messages (beast, avr) or resolved reports (sbs) from byte chunks."""
    if fmt == "beast":
        for data, arrival, offset in chunks:
            # a live feed's counter has no known zero: its messages take their arrival time
            live = arrival is not None and start_t_s is None
            base = None if live else (start_t_s or 0.0)
            for m in iter_beast(
                data, source=source, report=report, start_t_s=base, base_offset=offset
            ):
                yield (RawMessage(m.hex, arrival, m.offset) if live else m), arrival
        return
    pending = b""
    line_no = 0
    for data, arrival, _offset in chunks:
        text = pending + data
        lines = text.split(b"\n")
        pending = lines.pop()
        numbered = []
        for raw in lines:
            line_no += 1
            numbered.append((line_no, raw.decode("ascii", "replace")))
        if fmt == "avr":
            for m in iter_avr(numbered, source=source, report=report, start_t_s=start_t_s):
                if m.t_s is None and arrival is not None:
                    m = RawMessage(m.hex, arrival, m.offset)
                yield m, arrival
        else:
            yield from ((r, arrival) for r in iter_sbs(numbered, source=source, report=report))
    if pending.strip():
        line_no += 1
        tail = [(line_no, pending.decode("ascii", "replace"))]
        if fmt == "avr":
            yield from (
                (m, None) for m in iter_avr(tail, source=source, report=report, start_t_s=start_t_s)
            )
        else:
            yield from ((r, None) for r in iter_sbs(tail, source=source, report=report))


def ingest(
    source: str | Path | Sequence[tuple[str | Path, str]],
    output_dir: str | Path,
    *,
    fmt: str | None = None,
    sites: Sequence[SiteConfig],
    receiver: str | None = None,
    date: str | None = None,
    start_t_s: float | None = None,
    qnh_hpa: float = 1013.25,
    primary_height_m: float | None = 3000.0,
    adsb_period_s: float = 2.0,
    duration_s: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Decode recordings or live feeds into one set of the data contract's tables.

    Parameters
    ----------
    source : str or path, or sequence of (source, format) pairs
        A file (raw datablocks, Beast bytes, AVR or SBS lines, or a pcap capture of any of
        them), ``udp://HOST:PORT`` (listen for datagrams), ``tcp://HOST:PORT`` (connect to a
        feed server) or ``tcp-listen://HOST:PORT`` (accept one feed connection); several as
        ``(source, format)`` pairs, read one after the other into the same tables.
    output_dir : str or path
        Folder to write ``sensors.csv``, ``detections.csv``, ``identity.csv`` (detections'
        identity), ``tracks.csv`` and ``tracks.identity.csv`` (CAT062 system tracks) and
        ``ingest.json`` (the decode report) into; created if needed.
    fmt : str
        One of :data:`FORMATS`, for a single ``source``.
    sites : sequence of SiteConfig
        The sensors the records come from (by SAC/SIC for ASTERIX).
    receiver : str, optional
        Sensor id of the site that receives Mode S / ADS-B (default: the first site without
        SAC/SIC, else the first site).
    date : str, optional
        ``YYYY-MM-DD`` of an ASTERIX recording's first record (times of day only); a pcap's
        capture times give it otherwise.
    start_t_s : float, optional
        Time (s since the epoch) of a Beast or AVR recording's 12 MHz counter zero (0 when
        not given); live feeds take the arrival time.
    qnh_hpa : float
        Sea-level pressure for Mode C and barometric ADS-B altitudes.
    primary_height_m : float or None
        Nominal height of primary-only plots: they go to a sensor of their own,
        ``<radar>-PSR``, whose elevation noise is a site's ``sigma_primary_height_m`` (3 km)
        of height, so that they inform range and azimuth and hardly the height (None: they are
        skipped and counted).
    adsb_period_s : float
        At most one ADS-B report per aircraft in this period.
    duration_s : float, optional
        How long to listen to a live source (until interrupted when None).
    progress : callable, optional
        Called with the bytes read since its last call.

    Returns
    -------
    IngestResult

    Raises
    ------
    ConfigError
        An unknown format, no site, a bad date.
    DataError
        A source that cannot be opened or read at all (bad records are skipped and counted).
    """
    if isinstance(source, (str, Path)):
        pairs: list[tuple[str | Path, str]] = [(source, fmt or "")]
    else:
        pairs = list(source)
    for _src, kind in pairs:
        if kind not in FORMATS:
            raise ConfigError(
                "ingest", key="format", expected=f"one of {', '.join(FORMATS)}", got=repr(kind)
            )
    if not sites:
        raise ConfigError("ingest", key="sites", expected="at least one site", got="none")
    if len({s.sensor_id for s in sites}) != len(sites):
        raise ConfigError(
            "ingest",
            key="sites",
            expected="distinct sensor ids",
            got=", ".join(s.sensor_id for s in sites),
        )
    rx = _receiver(sites, receiver)
    report = DecodeReport()
    collector = _Collector(
        list(sites),
        qnh_hpa=qnh_hpa,
        primary_height_m=primary_height_m,
        adsb_period_s=adsb_period_s,
        report=report,
        source=str(pairs[0][0]) if pairs else "",
    )
    out = Path(output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(str(out), expected="a folder to write into", got=str(exc)) from None
    for src, kind in pairs:
        collector.source = str(src)
        if not _read_one(src, kind, collector, rx, date, start_t_s, duration_s, progress):
            break
    return _write(out, collector, report)


def _receiver(sites: Sequence[SiteConfig], receiver: str | None) -> SiteConfig:
    if receiver is not None:
        for site in sites:
            if site.sensor_id == receiver:
                return site
        raise ConfigError(
            "ingest",
            key="receiver",
            expected=f"one of the sites {', '.join(s.sensor_id for s in sites)}",
            got=repr(receiver),
        )
    return next((s for s in sites if s.sac is None), sites[0])


def _read_one(
    source: str | Path,
    fmt: str,
    collector: _Collector,
    receiver: SiteConfig,
    date: str | None,
    start_t_s: float | None,
    duration_s: float | None,
    progress: Callable[[int], None] | None,
) -> bool:
    """Read one source into ``collector``; False when interrupted (Ctrl-C)."""
    name = str(source)
    report = collector.report
    chunks = open_source(source, fmt=fmt, report=report, duration_s=duration_s, progress=progress)
    try:
        if fmt == "asterix":
            clock = _DayClock(date, name)
            for data, hint, offset in chunks:
                for record in iter_records(
                    data, source=name, report=report, base_offset=offset, time_hint_s=hint
                ):
                    collector.add_record(record, clock)
        else:
            decoder = ModeSDecoder(
                report=report,
                source=name,
                reference=(receiver.lat_deg, receiver.lon_deg),
                receiver_range_m=receiver.max_range_m,
            )
            for item, _arrival in _modes_messages(
                fmt, chunks, source=name, report=report, start_t_s=start_t_s
            ):
                if isinstance(item, ModeSReport):
                    report.records -= 1  # counted again as a detection, or skipped
                    collector.add_modes(item, receiver)
                    continue
                rep = decoder.feed(item)  # type: ignore[arg-type]
                if rep is not None:
                    report.records -= 1
                    collector.add_modes(rep, receiver)
    except KeyboardInterrupt:
        return False
    finally:
        chunks.close()
    return True


def _write(out: Path, collector: _Collector, report: DecodeReport) -> IngestResult:
    from airpicture.io import write_detections, write_sensors, write_tracks

    table, det, identity, periods = collector.tables()
    sensors_path = detections_path = identity_path = tracks_path = None
    if len(table):
        sensors_path, detections_path = out / "sensors.csv", out / "detections.csv"
        write_sensors(sensors_path, table)
        write_detections(detections_path, det, table)
        identity_path = out / "identity.csv"
        write_identity(identity_path, identity, IDENTITY_COLUMNS)
    n_tracks = 0
    if collector.tracks:
        rows, track_identity = system_tracks_to_rows(collector.tracks, nation=_nation(collector))
        tracks_path = out / "tracks.csv"
        write_tracks(tracks_path, rows)
        from airpicture.interop._identity import TRACK_IDENTITY_COLUMNS

        write_identity(out / "tracks.identity.csv", track_identity, TRACK_IDENTITY_COLUMNS)
        n_tracks = len(rows)
    (out / "ingest.json").write_text(
        json.dumps(
            {"written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **report.as_dict()},
            indent=1,
        )
    )
    return IngestResult(
        out,
        sensors_path,
        detections_path,
        identity_path,
        tracks_path,
        len(det),
        n_tracks,
        report,
        periods,
    )


def _nation(collector: _Collector) -> str:
    return collector.sites[0].nation
