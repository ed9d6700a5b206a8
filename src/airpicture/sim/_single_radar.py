"""A seeded single-radar scenario with constant-velocity targets and Poisson clutter.

The scenario of the peer benchmark (``benchmarks/vs_stonesoup.py``) and of the tracker's
quality tests: one radar, straight-line targets, every detection of a scan at the scan's time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from airpicture.geo import ecef2aer, enu2ecef, geodetic2ecef
from airpicture.tables import Detections, Sensor, SensorTable, Truth

__all__ = ["SingleRadarScenario", "single_radar_scenario"]

_CLUTTER_MAX_ELEVATION_RAD = math.radians(15.0)
"""False detections lie between the horizon and 15 degrees of elevation."""


@dataclass(frozen=True)
class SingleRadarScenario:
    """The tables of a generated scenario and the radar's site (geodetic, rad, rad, m)."""

    sensors: SensorTable
    detections: Detections
    truth: Truth
    site: tuple[float, float, float]


def single_radar_scenario(
    n_targets: int,
    *,
    seed: int = 0,
    n_scans: int = 100,
    scan_period_s: float = 1.0,
    t0_s: float = 1_790_000_000.0,
    site_deg: tuple[float, float, float] = (38.0, 135.0, 20.0),
    range_km: tuple[float, float] = (30.0, 250.0),
    altitude_km: tuple[float, float] = (1.0, 12.0),
    speed_mps: tuple[float, float] = (150.0, 300.0),
    sigma_range_m: float = 50.0,
    sigma_angle_deg: float = 0.2,
    p_detect: float = 0.9,
    clutter_per_scan: float = 10.0,
    max_range_m: float = 300_000.0,
) -> SingleRadarScenario:
    """Generate targets in straight-line ECEF flight seen by one radar.

    Targets start uniformly in ground range ``range_km`` and azimuth around the site, at heights
    in ``altitude_km``, flying level (in the local horizontal at their start) in a random
    direction at a speed in ``speed_mps``. Each scan, each target is detected with probability
    ``p_detect`` with Gaussian noise on range, azimuth and elevation; Poisson(``clutter_per_scan``)
    false detections are uniform in range (1 km to ``max_range_m``), azimuth and elevation 0-15 deg.

    Returns
    -------
    SingleRadarScenario
        Detections sorted by time (all of a scan share its time), truth at every scan time.
    """
    rng = np.random.default_rng(seed)
    lat0, lon0, alt0 = np.radians(site_deg[0]), np.radians(site_deg[1]), float(site_deg[2])
    sigma_angle = np.radians(sigma_angle_deg)
    sensor = Sensor(
        sensor_id="R1",
        nation="JPN",
        kind="radar",
        lat_rad=float(lat0),
        lon_rad=float(lon0),
        alt_m=alt0,
        sigma_range_m=sigma_range_m,
        sigma_azimuth_rad=float(sigma_angle),
        sigma_elevation_rad=float(sigma_angle),
        sigma_range_rate_mps=float("nan"),
        max_range_m=max_range_m,
        scan_period_s=scan_period_s,
        p_detect=p_detect,
        clutter_per_scan=clutter_per_scan,
        min_elevation_rad=0.0,
        max_elevation_rad=_CLUTTER_MAX_ELEVATION_RAD,
    )
    ground = rng.uniform(*range_km, n_targets) * 1e3
    bearing = rng.uniform(0.0, 2.0 * np.pi, n_targets)
    height = rng.uniform(*altitude_km, n_targets) * 1e3
    speed = rng.uniform(*speed_mps, n_targets)
    heading = rng.uniform(0.0, 2.0 * np.pi, n_targets)
    start = np.stack(
        enu2ecef(ground * np.sin(bearing), ground * np.cos(bearing), height, lat0, lon0, alt0),
        axis=-1,
    )
    # Velocity along the heading in the local horizontal plane at the radar.
    origin = np.stack(geodetic2ecef(lat0, lon0, alt0), axis=-1)
    v_east = speed * np.sin(heading)
    v_north = speed * np.cos(heading)
    v = np.stack(enu2ecef(v_east, v_north, 0.0 * speed, lat0, lon0, alt0), axis=-1) - origin
    times = t0_s + scan_period_s * np.arange(n_scans)
    truth_x = np.empty((n_scans, n_targets, 6))
    truth_x[:, :, :3] = start[None] + v[None] * (times - t0_s)[:, None, None]
    truth_x[:, :, 3:] = v[None]
    parts_t, parts_r, parts_a, parts_e = [], [], [], []
    for k, t in enumerate(times):
        p = truth_x[k, :, :3]
        az, el, r = ecef2aer(p[:, 0], p[:, 1], p[:, 2], lat0, lon0, alt0)
        seen = (rng.random(n_targets) < p_detect) & (r <= max_range_m)
        n_seen = int(seen.sum())
        r_m = r[seen] + rng.normal(0.0, sigma_range_m, n_seen)
        az_m = np.mod(az[seen] + rng.normal(0.0, sigma_angle, n_seen), 2.0 * np.pi)
        el_m = np.clip(el[seen] + rng.normal(0.0, sigma_angle, n_seen), -np.pi / 2, np.pi / 2)
        n_clutter = rng.poisson(clutter_per_scan)
        parts_r += [r_m, rng.uniform(1e3, max_range_m, n_clutter)]
        parts_a += [az_m, rng.uniform(0.0, 2.0 * np.pi, n_clutter)]
        parts_e += [el_m, rng.uniform(0.0, _CLUTTER_MAX_ELEVATION_RAD, n_clutter)]
        parts_t.append(np.full(n_seen + n_clutter, t))
    t_all = np.concatenate(parts_t)
    n = len(t_all)
    detections = Detections(
        t_s=t_all,
        sensor_index=np.zeros(n, np.int32),
        range_m=np.concatenate(parts_r),
        azimuth_rad=np.concatenate(parts_a),
        elevation_rad=np.concatenate(parts_e),
        range_rate_mps=np.full(n, np.nan),
        sensor_lat_rad=np.full(n, lat0),
        sensor_lon_rad=np.full(n, lon0),
        sensor_alt_m=np.full(n, alt0),
        row=np.arange(n, dtype=np.int64),
    )
    ids = np.array([f"O{i:05d}" for i in range(n_targets)])
    truth = Truth(
        t_s=np.repeat(times, n_targets),
        object_id=np.tile(ids, n_scans),
        kind=np.full(n_scans * n_targets, "aircraft"),
        x=truth_x.reshape(-1, 6),
    )
    return SingleRadarScenario(
        SensorTable((sensor,)), detections, truth, (float(lat0), float(lon0), alt0)
    )
