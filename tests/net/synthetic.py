"""A small seeded three-nation scenario for the network tests and the latency benchmark.

Straight-line ECEF targets over the Sea of Japan, rotating radars of JPN, USA and AUS (and one JPN
IR sensor), detection time within the scan by azimuth, Pd 0.9, a few clutter points, and a
report delay per scan; the detections table is in arrival order, as the data contract's files
are. Kept free of the simulator so the network tests do not depend on its scenario library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from airpicture.geo import ecef2aer, enu2ecef
from airpicture.tables import Detections, Sensor, SensorTable

T0_S = 1_790_000_000.0

_SITES = (
    # sensor_id, nation, kind, lat_deg, lon_deg, alt_m
    ("AUS-R1", "AUS", "radar", 37.6, 134.2, 30.0),
    ("JPN-IR1", "JPN", "ir", 36.0, 136.2, 200.0),
    ("JPN-R1", "JPN", "radar", 35.6, 135.4, 60.0),
    ("USA-R1", "USA", "radar", 37.0, 137.6, 40.0),
)


@dataclass(frozen=True)
class SyntheticScenario:
    """Sensors, detections in arrival order and each detection's arrival time (s)."""

    sensors: SensorTable
    detections: Detections
    arrival_s: np.ndarray

    def write(self, directory: Path) -> Path:
        """Write ``sensors.csv`` and ``detections.csv`` into ``directory``; return it."""
        from airpicture.io import write_detections, write_sensors

        directory.mkdir(parents=True, exist_ok=True)
        write_sensors(directory / "sensors.csv", self.sensors)
        write_detections(directory / "detections.csv", self.detections, self.sensors)
        return directory


def sensor_table(scan_period_s: float = 2.0) -> SensorTable:
    """The four sensors (three nations)."""
    out = []
    for sensor_id, nation, kind, lat, lon, alt in _SITES:
        radar = kind == "radar"
        out.append(
            Sensor(
                sensor_id=sensor_id,
                nation=nation,
                kind=kind,
                lat_rad=math.radians(lat),
                lon_rad=math.radians(lon),
                alt_m=alt,
                sigma_range_m=40.0 if radar else math.nan,
                sigma_azimuth_rad=math.radians(0.15 if radar else 0.05),
                sigma_elevation_rad=math.radians(0.15 if radar else 0.05),
                sigma_range_rate_mps=math.nan,
                max_range_m=450e3,
                scan_period_s=scan_period_s,
                p_detect=0.9,
                clutter_per_scan=2.0 if radar else 0.0,
            )
        )
    return SensorTable(tuple(out))


def synthetic_scenario(
    *,
    n_targets: int = 12,
    duration_s: float = 60.0,
    scan_period_s: float = 2.0,
    max_delay_s: float = 0.5,
    seed: int = 0,
    t0_s: float = T0_S,
    report: str = "scan",
) -> SyntheticScenario:
    """Generate the scenario.

    Parameters
    ----------
    n_targets : int
        Straight-line targets, 200-300 m/s, 3-10 km high, within about 150 km of 36.6 N 136.0 E.
    duration_s : float
        Scenario length, s.
    scan_period_s : float
        Every sensor's revisit period, s.
    max_delay_s : float
        Reports reach the node up to this long after the scan ends (``report="scan"``) or after
        each detection (``report="plot"``), s.
    seed : int
        Seed of the one generator.
    t0_s : float
        Start time, s since the Unix epoch.
    report : {"scan", "plot"}
        A sensor reports a whole scan at its end, or each detection as it is made.
    """
    rng = np.random.default_rng(seed)
    sensors = sensor_table(scan_period_s)
    lat0, lon0 = math.radians(36.6), math.radians(136.0)
    e = rng.uniform(-150e3, 150e3, n_targets)
    n = rng.uniform(-150e3, 150e3, n_targets)
    u = rng.uniform(3e3, 10e3, n_targets)
    heading = rng.uniform(0, 2 * math.pi, n_targets)
    speed = rng.uniform(200.0, 300.0, n_targets)
    p0 = np.stack(enu2ecef(e, n, u, lat0, lon0, 0.0), axis=1)
    p1 = np.stack(
        enu2ecef(e + speed * np.sin(heading), n + speed * np.cos(heading), u, lat0, lon0, 0.0),
        axis=1,
    )
    velocity = p1 - p0

    parts: list[dict[str, np.ndarray]] = []
    for index, sensor in enumerate(sensors):
        phase = rng.uniform(0, scan_period_s)
        scans = t0_s + phase + scan_period_s * np.arange(int((duration_s - phase) // scan_period_s))
        site = (sensor.lat_rad, sensor.lon_rad, sensor.alt_m)
        for t_scan in scans:
            pos = p0 + velocity * (t_scan - t0_s)
            az, el, rng_m = ecef2aer(pos[:, 0], pos[:, 1], pos[:, 2], *site)
            t = t_scan + az / (2 * math.pi) * scan_period_s
            pos = p0 + velocity * (t - t0_s)[:, None]
            az, el, rng_m = ecef2aer(pos[:, 0], pos[:, 1], pos[:, 2], *site)
            seen = (
                (rng_m < sensor.max_range_m)
                & (el > 0.0)
                & (rng.random(n_targets) < sensor.p_detect)
            )
            k = int(seen.sum())
            az_m = np.mod(az[seen] + rng.normal(0, sensor.sigma_azimuth_rad, k), 2 * math.pi)
            el_m = np.clip(
                el[seen] + rng.normal(0, sensor.sigma_elevation_rad, k), -math.pi / 2, math.pi / 2
            )
            r_m = rng_m[seen] + rng.normal(0, 40.0, k) if sensor.has_range else np.full(k, np.nan)
            t_m = t[seen]
            n_clutter = int(rng.poisson(sensor.clutter_per_scan))
            if n_clutter:
                c_az = rng.uniform(0, 2 * math.pi, n_clutter)
                az_m = np.r_[az_m, c_az]
                el_m = np.r_[el_m, rng.uniform(0.0, 0.2, n_clutter)]
                r_m = np.r_[r_m, rng.uniform(20e3, sensor.max_range_m, n_clutter)]
                t_m = np.r_[t_m, t_scan + c_az / (2 * math.pi) * scan_period_s]
            m = len(t_m)
            if m == 0:
                continue
            if report == "scan":
                arrival = np.full(m, t_scan + scan_period_s + rng.uniform(0, max_delay_s))
            else:
                arrival = t_m + rng.uniform(0, max_delay_s, m)
            parts.append(
                {
                    "t_s": t_m,
                    "sensor_index": np.full(m, index, np.int32),
                    "range_m": r_m,
                    "azimuth_rad": az_m,
                    "elevation_rad": el_m,
                    "range_rate_mps": np.full(m, np.nan),
                    "sensor_lat_rad": np.full(m, site[0]),
                    "sensor_lon_rad": np.full(m, site[1]),
                    "sensor_alt_m": np.full(m, site[2]),
                    "arrival_s": arrival,
                }
            )
    cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    # Arrival order; a scan's reports keep their time order.
    order = np.lexsort((cols["t_s"], cols["sensor_index"], cols["arrival_s"]))
    cols = {key: value[order] for key, value in cols.items()}
    arrival = cols.pop("arrival_s")
    detections = Detections(**cols, row=np.arange(len(arrival), dtype=np.int64))
    return SyntheticScenario(sensors, detections, arrival)


__all__ = ["T0_S", "SyntheticScenario", "sensor_table", "synthetic_scenario"]
