import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.geo import ecef2aer, geodetic2ecef
from airpicture.models import detection_jacobians
from airpicture.tables import Detections, Sensor, SensorTable
from airpicture.tracker import Registration

SITES = {"A": (37.5, 134.5, 50.0), "B": (36.8, 137.2, 80.0), "C": (39.5, 136.0, 20.0)}
OFFSETS = {  # range m, azimuth deg, elevation deg
    "A": (30.0, 0.05, -0.03),
    "B": (-40.0, -0.08, 0.06),
    "C": (0.0, 0.0, 0.0),
}


def _radar(name):
    lat, lon, alt = SITES[name]
    r = math.radians
    return Sensor(
        name,
        "JPN",
        "radar",
        r(lat),
        r(lon),
        alt,
        50.0,
        r(0.1),
        r(0.1),
        math.nan,
        5e5,
        5.0,
        0.9,
        0.0,
    )


def _reports(sensors, name, points, offsets):
    """Noise-free reports of ``points`` by radar ``name`` with registration ``offsets``."""
    s = sensors[sensors.index_of(name)]
    az, el, rng = ecef2aer(points[:, 0], points[:, 1], points[:, 2], s.lat_rad, s.lon_rad, s.alt_m)
    n = len(points)
    b = offsets[name]
    dets = Detections(
        t_s=np.zeros(n),
        sensor_index=np.full(n, sensors.index_of(name), np.int32),
        range_m=rng + b[0],
        azimuth_rad=np.mod(az + math.radians(b[1]), 2 * np.pi),
        elevation_rad=el + math.radians(b[2]),
        range_rate_mps=np.full(n, np.nan),
        sensor_lat_rad=np.full(n, s.lat_rad),
        sensor_lon_rad=np.full(n, s.lon_rad),
        sensor_alt_m=np.full(n, s.alt_m),
        row=np.arange(n),
    )
    p, G = detection_jacobians(dets)
    return dets, p, G[:, :, [2, 0, 1]]


def _points(n, seed=0):
    rng = np.random.default_rng(seed)
    lat = np.radians(rng.uniform(36.0, 40.0, n))
    lon = np.radians(rng.uniform(133.5, 138.5, n))
    return np.stack(geodetic2ecef(lat, lon, rng.uniform(3e3, 12e3, n)), axis=-1)


def _observe_all(reg, sensors, points, offsets, pairs):
    for s, o in pairs:
        _, p, G = _reports(sensors, s, points, offsets)
        _, po, Go = _reports(sensors, o, points, offsets)
        n = len(points)
        reg.observe(
            0.0,
            sensors.index_of(s),
            p,
            G,
            np.full(n, sensors.index_of(o)),
            po,
            Go,
            np.zeros((n, 3, 3)),
        )
    reg.solve()


def test_noise_free_pairs_give_back_every_radars_offsets():
    """Three radars around the points: the offsets of all three are observable from pairs."""
    sensors = SensorTable(tuple(_radar(k) for k in SITES))
    reg = Registration(sensors, memory_s=600.0)
    _observe_all(reg, sensors, _points(400), OFFSETS, [("A", "B"), ("B", "C"), ("C", "A")])
    e = reg.estimate()
    for name, b in OFFSETS.items():
        i = sensors.index_of(name)
        found = e.bias[i] * [1.0, 180.0 / np.pi, 180.0 / np.pi]
        # The prior (an offset of the order of the noise) shrinks the solution by under 2 %.
        assert np.all(np.abs(found - b) <= [2.0, 0.002, 0.002]), (name, found)
        assert np.all(e.sd[i] < [50.0, math.radians(0.1), math.radians(0.1)])
    assert np.array_equal(e.pairs, [800, 800, 800])


def test_radars_that_agree_get_no_offsets():
    """Noise-free reports without offsets: the pairs hold no spurious (geometric) disagreement."""
    sensors = SensorTable((_radar("A"), _radar("B")))
    same = {"A": (0.0, 0.0, 0.0), "B": (0.0, 0.0, 0.0)}
    reg = Registration(sensors, memory_s=600.0)
    _observe_all(reg, sensors, _points(400, seed=1), same, [("A", "B"), ("B", "A")])
    assert np.abs(reg.estimate().bias).max() < 1e-6


def test_registration_off_corrects_nothing():
    sensors = SensorTable((_radar("A"), _radar("B")))
    reg = Registration(sensors, memory_s=0.0)
    _observe_all(reg, sensors, _points(50), OFFSETS, [("A", "B")])
    dets, _, _ = _reports(sensors, "A", _points(50), OFFSETS)
    assert reg.correct(dets) is dets
    assert not reg.estimate().bias.any()


@settings(max_examples=50, deadline=None)
@given(
    az=st.floats(0.0, 2 * np.pi, exclude_max=True),
    b_az=st.floats(-0.01, 0.01),
    b_r=st.floats(-200.0, 200.0),
)
def test_a_correction_removes_the_offset_and_keeps_azimuth_in_range(az, b_az, b_r):
    sensors = SensorTable((_radar("A"),))
    reg = Registration(sensors, memory_s=600.0)
    reg.bias[0] = [b_r, b_az, 0.0]
    one = np.ones(1)
    dets = Detections(
        t_s=0 * one,
        sensor_index=np.zeros(1, np.int32),
        range_m=1e5 * one,
        azimuth_rad=az * one,
        elevation_rad=0.01 * one,
        range_rate_mps=np.nan * one,
        sensor_lat_rad=one,
        sensor_lon_rad=one,
        sensor_alt_m=one,
        row=np.zeros(1, np.int64),
    )
    out = reg.correct(dets)
    assert 0.0 <= out.azimuth_rad[0] < 2 * np.pi
    assert math.isclose(
        math.remainder(az - out.azimuth_rad[0] - b_az, 2 * np.pi), 0.0, abs_tol=1e-12
    )
    assert math.isclose(1e5 - out.range_m[0], b_r, rel_tol=1e-12, abs_tol=1e-9)


def test_reading_the_estimate_changes_nothing():
    """Offsets change only when solved (once a frame), never when read (a node's health)."""
    sensors = SensorTable(tuple(_radar(k) for k in SITES))
    reg = Registration(sensors, memory_s=600.0)
    _, p, G = _reports(sensors, "A", _points(50), OFFSETS)
    _, po, Go = _reports(sensors, "B", _points(50), OFFSETS)
    reg.observe(0.0, 0, p, G, np.full(50, 1), po, Go, np.zeros((50, 3, 3)))
    assert not reg.estimate().bias.any() and not reg.bias.any()
    reg.solve()
    assert reg.estimate().bias.any()
