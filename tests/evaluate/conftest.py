"""A small picture over the sea south-west of Japan, for the plot and CLI tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from airpicture.geo import enu_rotation, geodetic2ecef
from airpicture.tables import Sensor, SensorTable, TrackRows, Truth

T0_S = 1_700_000_000.0


@dataclass(frozen=True)
class SmallPicture:
    truth: Truth
    tracks: TrackRows
    sensors: SensorTable


def _sensor(sensor_id: str, nation: str, lat_deg: float, lon_deg: float) -> Sensor:
    return Sensor(
        sensor_id=sensor_id,
        nation=nation,
        kind="radar",
        lat_rad=float(np.radians(lat_deg)),
        lon_rad=float(np.radians(lon_deg)),
        alt_m=50.0,
        sigma_range_m=50.0,
        sigma_azimuth_rad=float(np.radians(0.1)),
        sigma_elevation_rad=float(np.radians(0.1)),
        sigma_range_rate_mps=float("nan"),
        max_range_m=400e3,
        scan_period_s=10.0,
        p_detect=0.9,
        clutter_per_scan=1.0,
    )


@pytest.fixture(scope="session")
def small_picture() -> SmallPicture:
    """The picture of :func:`build_small_picture`."""
    return build_small_picture()


def build_small_picture() -> SmallPicture:
    """Five straight flights over 10 min; tracks every 5 s with 300 m noise, a late start,
    two tracks swapping objects at 400 s, one false track that is deleted."""
    rng = np.random.default_rng(42)
    times = T0_S + np.arange(0.0, 600.0, 10.0)
    t_rows, id_rows, x_rows = [], [], []
    k_t, k_id, k_x, k_status = [], [], [], []
    for i in range(5):
        lat, lon = np.radians(30.0 + 1.5 * i), np.radians(128.0 + 1.2 * i)
        start = np.array(geodetic2ecef(lat, lon, 9000.0))
        east, north, _ = enu_rotation(lat, lon)
        heading = 0.6 * i
        v = 220.0 * (np.sin(heading) * east + np.cos(heading) * north)
        for t in times:
            t_rows.append(t)
            id_rows.append(f"obj{i}")
            x_rows.append(np.r_[start + v * (t - T0_S), v])
        for t in np.arange(T0_S + 2.0, T0_S + 600.0, 5.0):
            name = f"T{i}"
            if t > T0_S + 400.0 and i in (0, 1):
                name = f"T{1 - i}"
            k_t.append(t)
            k_id.append(name)
            k_x.append(np.r_[start + v * (t - T0_S) + rng.normal(0, 300, 3), v])
            k_status.append("tentative" if t < T0_S + 30.0 else "confirmed")
    false_x = x_rows[0] + np.r_[60e3, 0.0, 0.0, 0.0, 0.0, 0.0]
    for k in range(20):
        k_t.append(T0_S + 100.0 + 5.0 * k)
        k_id.append("F1")
        k_x.append(false_x)
        k_status.append("deleted" if k == 19 else "coasting")
    n = len(k_t)
    truth = Truth(
        np.array(t_rows), np.array(id_rows), np.full(len(t_rows), "aircraft"), np.array(x_rows)
    )
    tracks = TrackRows(
        np.array(k_t),
        np.array(k_id),
        np.array(k_x),
        np.tile([1e4, 0.0, 0.0, 1e4, 0.0, 1e4], (n, 1)),
        np.full(n, "aircraft"),
        np.array(k_status),
        np.full(n, "JPN;USA"),
    )
    sensors = SensorTable(
        (_sensor("JPN-R1", "JPN", 31.6, 130.6), _sensor("USA-R1", "USA", 26.3, 127.8))
    )
    return SmallPicture(truth, tracks, sensors)
