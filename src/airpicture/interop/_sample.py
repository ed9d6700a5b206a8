"""Sample recordings of a small air situation, as a radar and an ADS-B receiver record it:
an ASTERIX file (CAT034 north markers and CAT048 plots of a Mode S radar) and a Beast file
(DF17 identification and airborne positions, DF5 identity replies) of the same aircraft.

For demonstrations, benchmarks and tests of the whole chain (ingest, track, identify, export)
when no real recording of one place and time is at hand. Aircraft fly straight and level
(constant geometric height); the radar reports Mode C in 25 ft steps of their pressure
altitude under ISA, plus range and azimuth noise; one aircraft has no transponder (primary
plots only), one flies beyond the radar's reach (ADS-B only), one squawks 7700 halfway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from airpicture.geo import WGS84_A_M, WGS84_E2, ecef2aer, geodetic2ecef
from airpicture.interop._asterix import encode_datablock, encode_record
from airpicture.interop._categories import RadarPlot, encode_cat048
from airpicture.interop._ingest import SiteConfig
from airpicture.interop._modes_encode import (
    adsb_identification,
    adsb_position,
    beast_frame,
    identity_reply,
)
from airpicture.models import FEET_M, height_to_pressure_altitude

__all__ = ["SampleAircraft", "SampleRecordings", "sample_aircraft", "write_sample_recordings"]

START_T_S = 1_796_670_000.0
"""2026-12-07T18:20:00Z: the samples' first second."""


@dataclass(frozen=True)
class SampleAircraft:
    """One aircraft of the samples: identity, start point, flight level, speed and course;
    ``transponder`` False for a primary-only target, ``adsb`` False for one without ADS-B,
    ``emergency_after_s`` when it starts squawking 7700."""

    address: str
    callsign: str
    squawk: str
    lat_deg: float
    lon_deg: float
    flight_level: float
    speed_mps: float
    course_deg: float
    transponder: bool = True
    adsb: bool = True
    emergency_after_s: float | None = None

    def position(self, dt_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Latitude and longitude (deg) after ``dt_s`` seconds, and the height (m)."""
        lat0 = math.radians(self.lat_deg)
        s2 = math.sin(lat0) ** 2
        r_n = WGS84_A_M / math.sqrt(1 - WGS84_E2 * s2)
        r_m = r_n * (1 - WGS84_E2) / (1 - WGS84_E2 * s2)
        height = float(_height_of_flight_level(self.flight_level))
        c = math.radians(self.course_deg)
        dn = self.speed_mps * math.cos(c) * dt_s
        de = self.speed_mps * math.sin(c) * dt_s
        lat = self.lat_deg + np.degrees(dn / (r_m + height))
        lon = self.lon_deg + np.degrees(de / ((r_n + height) * math.cos(lat0)))
        return lat, lon, height

    def squawk_at(self, dt_s: float) -> str:
        """The squawk at ``dt_s`` seconds from the start."""
        if self.emergency_after_s is not None and dt_s >= self.emergency_after_s:
            return "7700"
        return self.squawk


def _height_of_flight_level(fl: float) -> float:
    from airpicture.models import pressure_altitude_to_height

    return float(pressure_altitude_to_height(fl * 100.0 * FEET_M))


def sample_aircraft() -> list[SampleAircraft]:
    """The aircraft of the samples (near Tokyo: radar at 35.0 N 139.0 E)."""
    return [
        SampleAircraft("86D2A1", "JAL123", "2301", 34.6, 138.4, 350, 235.0, 45.0),
        SampleAircraft("86E4B2", "ANA456", "2302", 35.6, 138.6, 310, 220.0, 120.0),
        SampleAircraft(
            "A1B2C3", "UAL837", "2303", 34.4, 139.8, 370, 245.0, 320.0, emergency_after_s=120.0
        ),
        SampleAircraft("4CA2D4", "EIN9", "2304", 35.5, 139.9, 280, 210.0, 230.0, adsb=False),
        SampleAircraft(
            "000000", "", "", 35.2, 138.7, 80, 120.0, 90.0, transponder=False, adsb=False
        ),
        SampleAircraft("86F0C5", "SKY77", "2306", 37.4, 140.4, 330, 230.0, 180.0),
    ]


@dataclass(frozen=True)
class SampleRecordings:
    """The files written, the sites to ingest them with, and the start time."""

    asterix: Path
    beast: Path
    sites: tuple[SiteConfig, ...]
    start_t_s: float
    date: str
    aircraft: tuple[SampleAircraft, ...]


RADAR = SiteConfig(
    sensor_id="JPN-R1",
    nation="JPN",
    lat_deg=35.0,
    lon_deg=139.0,
    alt_m=50.0,
    sac=25,
    sic=1,
    sigma_range_m=50.0,
    sigma_azimuth_deg=0.05,
    sigma_height_m=60.0,
    max_range_m=250_000.0,
)
RECEIVER = SiteConfig(
    sensor_id="JPN-RX1",
    nation="JPN",
    lat_deg=35.6,
    lon_deg=139.8,
    alt_m=30.0,
    max_range_m=320_000.0,
)


def write_sample_recordings(
    folder: str | Path, *, duration_s: float = 240.0, seed: int = 0, scan_period_s: float = 4.0
) -> SampleRecordings:
    """Write ``radar.ast`` (CAT034 + CAT048) and ``adsb.beast`` into ``folder``.

    The radar's clock starts at :data:`START_T_S`; the Beast counter counts from it too.
    """
    rng = np.random.default_rng(seed)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    aircraft = sample_aircraft()
    lat_r, lon_r = math.radians(RADAR.lat_deg), math.radians(RADAR.lon_deg)
    ast = bytearray()
    n_scans = int(duration_s // scan_period_s)
    for k in range(n_scans):
        t_scan = k * scan_period_s
        tod = (START_T_S + t_scan) % 86_400.0
        north = encode_record(
            34,
            {
                "010": bytes([RADAR.sac or 0, RADAR.sic or 0]),
                "000": b"\x01",
                "030": _tod(tod),
                "041": round(scan_period_s * 128).to_bytes(2, "big"),
            },
        )
        records = [north]
        plots = []
        for a in aircraft:
            # the beam meets the aircraft at its azimuth's share of the scan
            lat, lon, h = a.position(np.array([t_scan]))
            x, y, z = geodetic2ecef(np.radians(lat), np.radians(lon), h)
            az, _el, rng_m = ecef2aer(x, y, z, lat_r, lon_r, RADAR.alt_m)
            dt = t_scan + float(az[0]) / (2 * math.pi) * scan_period_s
            lat, lon, h = a.position(np.array([dt]))
            x, y, z = geodetic2ecef(np.radians(lat), np.radians(lon), h)
            az, _el, rng_m = ecef2aer(x, y, z, lat_r, lon_r, RADAR.alt_m)
            if float(rng_m[0]) > RADAR.max_range_m:
                continue
            pressure_ft = float(height_to_pressure_altitude(h)) / FEET_M
            plots.append(
                (
                    dt,
                    RadarPlot(
                        sac=RADAR.sac or 0,
                        sic=RADAR.sic or 0,
                        time_of_day_s=(START_T_S + dt) % 86_400.0,
                        range_m=float(rng_m[0]) + rng.normal(0, RADAR.sigma_range_m),
                        azimuth_deg=(
                            math.degrees(float(az[0])) + rng.normal(0, RADAR.sigma_azimuth_deg)
                        )
                        % 360.0,
                        kind="modes" if a.transponder else "psr",
                        mode3a=a.squawk_at(dt) if a.transponder else None,
                        flight_level=round(pressure_ft / 25.0) / 4.0 if a.transponder else None,
                        height_m=None,
                        address=a.address if a.transponder else None,
                        callsign=a.callsign if a.transponder else None,
                        track_number=None,
                        simulated=False,
                        test=False,
                    ),
                )
            )
        plots.sort(key=lambda p: p[0])
        records += [encode_cat048(p) for _, p in plots]
        ast += encode_datablock(34, records[:1]) + encode_datablock(48, records[1:])
    asterix = out / "radar.ast"
    asterix.write_bytes(bytes(ast))

    frames: list[tuple[float, bytes]] = []
    for a in aircraft:
        if not a.adsb:
            continue
        times = np.arange(0.0, duration_s, 0.5) + rng.uniform(0, 0.5)
        lat, lon, h = a.position(times)
        pressure_ft = float(height_to_pressure_altitude(h)) / FEET_M
        for i, t in enumerate(times):
            msg = adsb_position(a.address, float(lat[i]), float(lon[i]), pressure_ft, odd=i % 2)
            frames.append((float(t), beast_frame(msg, float(t))))
            if i % 10 == 3:
                ident = adsb_identification(a.address, a.callsign)
                frames.append((float(t) + 0.1, beast_frame(ident, float(t) + 0.1)))
            if i % 8 == 5:
                reply = identity_reply(a.address, a.squawk_at(float(t)))
                frames.append((float(t) + 0.2, beast_frame(reply, float(t) + 0.2)))
    frames.sort(key=lambda f: f[0])
    beast = out / "adsb.beast"
    beast.write_bytes(b"".join(f for _, f in frames))
    return SampleRecordings(
        asterix, beast, (RADAR, RECEIVER), START_T_S, "2026-12-07", tuple(aircraft)
    )


def _tod(tod_s: float) -> bytes:
    return round(tod_s * 128).to_bytes(3, "big")
