"""Sensor physics against closed forms and independent references, with statistical bounds.

Objects come from a constant-velocity stand-in (``_standin.py``), so the truth is exact and known.
Independent geometry: pymap3d's ``ecef2aer``. Statistical tests use fixed seeds and bounds at a
false-alarm level of about 1e-6 (two-sided), so a failure means a real discrepancy.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pymap3d
import pytest
from scipy import stats

from airpicture.geo import aer2ecef, ecef2geodetic, geodetic2ecef
from airpicture.sim import (
    FixedPlatform,
    RacetrackPath,
    Reports,
    Scenario,
    WaypointPath,
    detection_probability,
    effective_earth_radius_m,
    line_of_sight,
    observe,
    parse_scenario,
    report_delays,
    scan_times,
    stream_detections,
)
from tests.sim._standin import ConstantVelocityObjects, objects_around, objects_at_geodetic

T0 = 1736910000.0  # 2025-01-15T03:00:00Z
SITE = (38.0, 138.4, 100.0)
ALPHA = 1e-6  # two-sided false-alarm level of every statistical bound

BASE_RADAR = {
    "id": "R1",
    "nation": "JPN",
    "kind": "radar",
    "platform": "ground",
    "position": list(SITE),
    "max_range_m": 400e3,
    "min_elevation_deg": -5.0,
    "max_elevation_deg": 85.0,
    "scan_period_s": 10.0,
    "sigma_range_m": 1.0,
    "sigma_azimuth_deg": 1.0,
    "sigma_elevation_deg": 1.0,
    "p_detect": 1.0,
}
NOISE_KEYS = {
    "sigma_range_m": "sigma_range_m",
    "sigma_azimuth_deg": "sigma_azimuth_rad",
    "sigma_elevation_deg": "sigma_elevation_rad",
    "sigma_range_rate_mps": "sigma_range_rate_mps",
}


def make_scenario(*sensors: dict, duration_s: float = 100.0, seed: int = 1) -> Scenario:
    doc = {
        "name": "test",
        "description": "unit test",
        "start_utc": "2025-01-15T03:00:00Z",
        "duration_s": duration_s,
        "seed": seed,
        "nations": [{"code": "JPN", "name": "Japan"}],
        "sensors": list(sensors),
    }
    return parse_scenario(doc, source="test.toml")


def make_sensor(**changes):
    """A sensor through the scenario validator.

    The data contract wants sigmas > 0, so noise-free sensors are made by setting exactly zero
    afterwards: every sigma not given in ``changes``, or given as 0.
    """
    spec = {**BASE_RADAR, **changes}
    for key in [k for k, v in spec.items() if v is None]:
        del spec[key]
    zero = [k for k in NOISE_KEYS if k in spec and (k not in changes or changes[k] == 0.0)]
    spec.update({k: 1.0 for k in zero})
    sensor = make_scenario(spec).sensors[0]
    return dataclasses.replace(sensor, **{NOISE_KEYS[k]: 0.0 for k in zero})


def true_aer(states: np.ndarray, lat_deg, lon_deg, alt_m):
    """Independent reference: pymap3d azimuth (deg -> rad), elevation (rad), range (m)."""
    az, el, r = pymap3d.ecef2aer(states[:, 0], states[:, 1], states[:, 2], lat_deg, lon_deg, alt_m)
    return np.radians(az), np.radians(el), np.asarray(r)


def wrap(angle):
    return (np.asarray(angle) + np.pi) % (2.0 * np.pi) - np.pi


def chi2_variance_bounds(n: int) -> tuple[float, float]:
    """Bounds on s^2 / sigma^2 for n zero-mean samples (s^2 = sum x^2 / n)."""
    lo, hi = stats.chi2.interval(1.0 - ALPHA, n)
    return lo / n, hi / n


def ring_of_objects(count: int, ranges_m, up_m, rng, **kwargs) -> ConstantVelocityObjects:
    az = rng.uniform(0, 2 * np.pi, count)
    r = np.broadcast_to(ranges_m, (count,))
    return objects_around(
        SITE[0],
        SITE[1],
        east_m=r * np.sin(az),
        north_m=r * np.cos(az),
        up_m=np.broadcast_to(up_m, (count,)),
        t_ref_s=T0,
        **kwargs,
    )


# --------------------------------------------------------------------------- horizon


@pytest.mark.parametrize("h1, h2", [(30.0, 30.0), (30.0, 10000.0), (1000.0, 200.0), (9000.0, 50.0)])
def test_horizon_distance_matches_4_3_earth_formula(h1, h2):
    """Largest visible ground distance vs d = sqrt(2 k R h1) + sqrt(2 k R h2).

    The closed form drops terms of relative order h / (k R) (below 1.2e-3 here, for h <= 10 km),
    so the bisected distance must agree to 0.1 %.
    """
    lat0, lon0 = math.radians(38.0), math.radians(138.0)
    k = 4.0 / 3.0
    r_eff = effective_earth_radius_m(lat0, k)
    radius = r_eff / k

    def visible(theta: float) -> bool:
        return bool(
            line_of_sight(
                lat0, lon0, h1, np.array([lat0 + theta]), np.array([lon0]), np.array([h2]), k=k
            )[0]
        )

    lo, hi = 0.0, 0.2
    assert visible(lo) and not visible(hi)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if visible(mid) else (lo, mid)
    measured_m = radius * lo
    expected_m = math.sqrt(2 * r_eff * h1) + math.sqrt(2 * r_eff * h2)
    assert measured_m == pytest.approx(expected_m, rel=1e-3)


def test_horizon_without_refraction_is_shorter_by_sqrt_k():
    lat0, lon0 = math.radians(38.0), math.radians(138.0)
    thetas = np.linspace(0.0, 0.05, 2001)

    def last_visible(k):
        ok = line_of_sight(
            lat0,
            lon0,
            500.0,
            lat0 + thetas,
            np.full_like(thetas, lon0),
            np.full_like(thetas, 500.0),
            k=k,
        )
        return thetas[ok].max()

    assert last_visible(4 / 3) / last_visible(1.0) == pytest.approx(math.sqrt(4 / 3), rel=2e-3)


def test_sea_skimmer_seen_inside_and_not_beyond_radio_horizon():
    """A 25 m mast and a 30 m target: horizon about 43 km; targets at 38 km and 48 km."""
    sensor = make_sensor(position=[38.0, 138.4, 25.0], min_elevation_deg=-10.0)
    lat0 = math.radians(38.0)
    r_eff = effective_earth_radius_m(lat0, 4 / 3)
    horizon_m = math.sqrt(2 * r_eff * 25.0) + math.sqrt(2 * r_eff * 30.0)
    dist = np.array([0.9 * horizon_m, 1.1 * horizon_m])
    dlat = np.degrees(dist / (r_eff / (4 / 3)))
    objs = objects_at_geodetic(38.0 + dlat, np.full(2, 138.4), np.full(2, 30.0), t_ref_s=T0)
    reports = observe(sensor, objs, T0, np.random.default_rng(0))
    assert sorted(reports.object_index.tolist()) == [0]


# --------------------------------------------------------------------------- limits and timing


def test_sector_and_elevation_limits_are_exact():
    sensor = make_sensor(sector=[300.0, 60.0], min_elevation_deg=2.0, max_elevation_deg=40.0)
    az = np.radians(np.arange(2.5, 360.0, 5.0))
    az, el = np.meshgrid(az, np.radians([-1.0, 1.0, 3.0, 20.0, 39.0, 41.0, 60.0]))
    az, el = az.ravel(), el.ravel()
    r = 50e3
    objs = objects_around(
        SITE[0],
        SITE[1],
        east_m=r * np.cos(el) * np.sin(az),
        north_m=r * np.cos(el) * np.cos(az),
        up_m=r * np.sin(el) + SITE[2],
        t_ref_s=T0,
    )
    reports = observe(sensor, objs, T0, np.random.default_rng(0))
    t_az, t_el, _ = true_aer(objs.x0, *SITE)
    in_sector = (np.degrees(t_az) >= 300.0) | (np.degrees(t_az) <= 60.0)
    expected = np.flatnonzero(in_sector & (t_el >= np.radians(2)) & (t_el <= np.radians(40)))
    assert np.array_equal(np.sort(reports.object_index), expected)
    assert expected.size > 50


def test_max_range_is_respected():
    sensor = make_sensor(max_range_m=100e3)
    ranges = np.array([50e3, 99e3, 101e3, 150e3])
    objs = objects_around(
        SITE[0], SITE[1], east_m=np.zeros(4), north_m=ranges, up_m=np.full(4, 3000.0), t_ref_s=T0
    )
    reports = observe(sensor, objs, T0, np.random.default_rng(0))
    assert sorted(reports.object_index.tolist()) == [0, 1]


@pytest.mark.parametrize("sector", [None, [300.0, 60.0]])
def test_rotating_beam_reaches_each_azimuth_at_its_time(sector):
    period = 12.0
    sensor = make_sensor(scan_period_s=period, sector=sector)
    az = np.radians(np.arange(1.0, 360.0, 7.0))
    objs = objects_around(
        SITE[0],
        SITE[1],
        east_m=80e3 * np.sin(az),
        north_m=80e3 * np.cos(az),
        up_m=np.full(az.shape, 5000.0),
        t_ref_s=T0,
    )
    reports = observe(sensor, objs, T0, np.random.default_rng(0))
    t_az, _, _ = true_aer(objs.x0[reports.object_index], *SITE)
    if sector is None:
        expected = period * t_az / (2 * np.pi)
    else:
        expected = period * np.mod(t_az - np.radians(300.0), 2 * np.pi) / np.radians(120.0)
    np.testing.assert_allclose(reports.t_s - T0, expected, atol=1e-6)


def test_scan_times_cover_the_interval_once_per_period():
    sensor = make_sensor(scan_period_s=7.0)
    times = scan_times(sensor, T0, T0 + 100.0, np.random.default_rng(3))
    assert T0 <= times[0] < T0 + 7.0 and times[-1] < T0 + 100.0
    np.testing.assert_allclose(np.diff(times), 7.0)
    assert times.size in (14, 15)


def test_dead_objects_are_not_reported():
    sensor = make_sensor(scan="staring")
    objs = objects_around(
        SITE[0],
        SITE[1],
        east_m=np.zeros(3),
        north_m=np.array([1e4, 2e4, 3e4]),
        up_m=np.full(3, 1000.0),
        t_ref_s=T0,
        t_start_s=np.array([0, T0 + 5, 0]),
        t_end_s=np.array([np.inf, np.inf, T0 - 1]),
    )
    reports = observe(sensor, objs, T0, np.random.default_rng(0))
    assert reports.object_index.tolist() == [0]


# --------------------------------------------------------------------------- noise and biases


def test_measurement_noise_and_biases_match_settings():
    sigma = {"sigma_range_m": 50.0, "sigma_azimuth_deg": 0.2, "sigma_elevation_deg": 0.3}
    bias = {"bias_range_m": 120.0, "bias_azimuth_deg": 0.15, "bias_elevation_deg": -0.05}
    sensor = make_sensor(scan="staring", **sigma, **bias)
    rng = np.random.default_rng(11)
    objs = ring_of_objects(400, rng.uniform(20e3, 300e3, 400), rng.uniform(3e3, 10e3, 400), rng)
    parts = [observe(sensor, objs, T0 + 10.0 * i, rng) for i in range(40)]
    idx = np.concatenate([p.object_index for p in parts])
    t_az, t_el, t_r = true_aer(objs.x0[idx], *SITE)
    residuals = {
        "range": (np.concatenate([p.range_m for p in parts]) - t_r, 120.0, 50.0),
        "azimuth": (
            wrap(np.concatenate([p.azimuth_rad for p in parts]) - t_az),
            np.radians(0.15),
            np.radians(0.2),
        ),
        "elevation": (
            np.concatenate([p.elevation_rad for p in parts]) - t_el,
            np.radians(-0.05),
            np.radians(0.3),
        ),
    }
    n = idx.size
    assert n == 400 * 40
    z = stats.norm.isf(ALPHA / 2)
    lo, hi = chi2_variance_bounds(n)
    for name, (res, b, s) in residuals.items():
        assert abs(res.mean() - b) < z * s / math.sqrt(n), name
        assert lo < np.mean((res - b) ** 2) / s**2 < hi, name


def test_range_rate_noise_and_sign():
    """Objects receding radially at known speeds: range rate = speed (positive when receding)."""
    sensor = make_sensor(scan="staring", sigma_range_rate_mps=2.0)
    rng = np.random.default_rng(5)
    count = 300
    az = rng.uniform(0, 2 * np.pi, count)
    speed = rng.uniform(-300, 300, count)
    r0 = 100e3
    east, north = r0 * np.sin(az), r0 * np.cos(az)
    objs = objects_around(
        SITE[0],
        SITE[1],
        east_m=east,
        north_m=north,
        up_m=np.full(count, SITE[2]),
        t_ref_s=T0,
        velocity_enu_mps=np.column_stack([speed * np.sin(az), speed * np.cos(az), np.zeros(count)]),
    )
    parts = [observe(sensor, objs, T0 + 0.5 * i, rng) for i in range(40)]
    idx = np.concatenate([p.object_index for p in parts])
    t = np.concatenate([p.t_s for p in parts])
    x = objs.x0[idx, :3] + (t - T0)[:, None] * objs.x0[idx, 3:]
    site = np.array(geodetic2ecef(math.radians(SITE[0]), math.radians(SITE[1]), SITE[2]))
    los = (x - site) / np.linalg.norm(x - site, axis=1)[:, None]
    expected = np.sum(los * objs.x0[idx, 3:], axis=1)
    res = np.concatenate([p.range_rate_mps for p in parts]) - expected
    n = res.size
    lo, hi = chi2_variance_bounds(n)
    assert abs(res.mean()) < stats.norm.isf(ALPHA / 2) * 2.0 / math.sqrt(n)
    assert lo < np.mean(res**2) / 4.0 < hi
    # Receding objects (positive speed along the outward line of sight) have positive range rate.
    np.testing.assert_allclose(expected, speed[idx], rtol=1e-3, atol=0.5)


def test_ir_reports_angles_only_and_only_boosting_objects():
    ir = {
        "kind": "ir",
        "sigma_range_m": None,
        "sigma_azimuth_deg": 0.01,
        "sigma_elevation_deg": 0.01,
        "p_detect": 1.0,
    }
    objs = objects_around(
        SITE[0],
        SITE[1],
        east_m=np.array([0.0, 1e4, 2e4]),
        north_m=np.array([3e4, 3e4, 3e4]),
        up_m=np.full(3, 2e4),
        t_ref_s=T0,
        boost_start_s=np.array([T0 - 1, T0 + 50, T0 - 1]),
        boost_end_s=np.array([T0 + 10, T0 + 60, T0 + 1]),
    )
    hot = observe(make_sensor(**ir), objs, T0, np.random.default_rng(0))
    assert sorted(hot.object_index.tolist()) == [0, 2]
    assert np.all(np.isnan(hot.range_m)) and np.all(np.isnan(hot.range_rate_mps))
    later = observe(make_sensor(**ir), objs, T0 + 20.0, np.random.default_rng(0))
    assert len(later) == 0
    everything = observe(
        make_sensor(**ir, detects="all"), objs, T0 + 20.0, np.random.default_rng(0)
    )
    assert sorted(everything.object_index.tolist()) == [0, 1, 2]


# --------------------------------------------------------------------------- detection


def test_fixed_pd_matches_setting():
    sensor = make_sensor(p_detect=0.7, scan="staring")
    rng = np.random.default_rng(2)
    objs = ring_of_objects(500, 100e3, 5000.0, rng)
    scans = 40
    hits = sum(len(observe(sensor, objs, T0 + i, rng)) for i in range(scans))
    lo, hi = stats.binom.interval(1.0 - ALPHA, 500 * scans, 0.7)
    assert lo <= hits <= hi


def test_radar_equation_swerling1_pd_matches_closed_form():
    """Pd = Pfa^(1/(1+SNR)), SNR = SNR_ref * rcs * (R_ref/R)^4, per range bin."""
    sensor = make_sensor(
        p_detect=None,
        reference_snr_db=13.0,
        reference_range_m=200e3,
        p_false_alarm=1e-4,
        scan="staring",
    )
    rng = np.random.default_rng(4)
    ranges = np.repeat([150e3, 200e3, 250e3, 300e3], 150)
    objs = ring_of_objects(ranges.size, ranges, SITE[2], rng, rcs_m2=1.0)
    scans = 60
    idx = np.concatenate([observe(sensor, objs, T0 + i, rng).object_index for i in range(scans)])
    counts = np.bincount(idx, minlength=ranges.size).reshape(4, 150).sum(axis=1)
    _, _, r_true = true_aer(objs.x0, *SITE)
    for b, r_bin in enumerate([150e3, 200e3, 250e3, 300e3]):
        snr = 10**1.3 * (200e3 / r_bin) ** 4
        pd = 1e-4 ** (1 / (1 + snr))
        lo, hi = stats.binom.interval(1.0 - ALPHA, 150 * scans, pd)
        assert lo <= counts[b] <= hi, (r_bin, counts[b] / (150 * scans), pd)
    # The function itself, at the slant ranges actually used:
    pd = detection_probability(sensor, r_true[:150], np.ones(150))
    np.testing.assert_allclose(pd, 1e-4 ** (1 / (1 + 10**1.3 * (200e3 / r_true[:150]) ** 4)))


def test_radar_equation_pd_grows_with_rcs():
    sensor = make_sensor(
        p_detect=None, reference_snr_db=10.0, reference_range_m=100e3, p_false_alarm=1e-6
    )
    pd = detection_probability(sensor, np.full(3, 150e3), np.array([0.1, 1.0, 10.0]))
    assert np.all(np.diff(pd) > 0)


# --------------------------------------------------------------------------- clutter


def test_clutter_rate_and_uniformity():
    mean = 4.0
    sensor = make_sensor(
        clutter_per_scan=mean,
        sector=[45.0, 135.0],
        min_elevation_deg=0.0,
        max_elevation_deg=30.0,
        sigma_range_rate_mps=1.0,
    )
    empty = ConstantVelocityObjects(np.empty((0, 6)), t_ref_s=T0)
    rng = np.random.default_rng(9)
    scans = 3000
    parts = [observe(sensor, empty, T0 + 10.0 * i, rng) for i in range(scans)]
    per_scan = np.array([len(p) for p in parts])
    lo, hi = stats.poisson.interval(1.0 - ALPHA, mean * scans)
    assert lo <= per_scan.sum() <= hi
    # Poisson dispersion: sum (n - mean)^2 / mean ~ chi2(scans).
    d_lo, d_hi = stats.chi2.interval(1.0 - ALPHA, scans)
    assert d_lo < np.sum((per_scan - mean) ** 2) / mean < d_hi
    allc = [
        np.concatenate([getattr(p, name) for p in parts])
        for name in (
            "range_m",
            "azimuth_rad",
            "elevation_rad",
            "range_rate_mps",
            "object_index",
            "t_s",
        )
    ]
    r, az, el, rr, idx, t = allc
    assert np.all(idx == -1)
    for u in (
        r / 400e3,
        (az - np.radians(45.0)) / np.radians(90.0),
        el / np.radians(30.0),
        (rr + 600.0) / 1200.0,
    ):
        assert np.all((u >= 0) & (u <= 1))
        assert stats.kstest(u, "uniform").pvalue > ALPHA
    # On a rotating radar a false detection is timed where the beam points.
    scan_start = T0 + 10.0 * np.repeat(np.arange(scans), per_scan)
    np.testing.assert_allclose(
        t - scan_start, 10.0 * (az - np.radians(45)) / np.radians(90), atol=1e-6
    )


def test_radar_clutter_stays_above_the_ground_and_keeps_its_rate():
    """An airborne radar looking down: false detections only above the ellipsoid, still Poisson."""
    path = {
        "type": "racetrack", "centre": [38.0, 136.0], "length_m": 100e3, "turn_radius_m": 20e3,
        "heading_deg": 30.0, "speed_mps": 180.0,
    }  # fmt: skip
    mean = 6.0
    sensor = make_sensor(platform="airborne", position=None, path=path, clutter_per_scan=mean,
                         min_elevation_deg=-10.0, max_elevation_deg=30.0)  # fmt: skip
    empty = ConstantVelocityObjects(np.empty((0, 6)), t_ref_s=T0)
    rng = np.random.default_rng(12)
    scans = 1500
    parts = [observe(sensor, empty, T0 + 10.0 * i, rng) for i in range(scans)]
    c = Reports.concat(parts)
    lo, hi = stats.poisson.interval(1.0 - ALPHA, mean * scans)
    assert lo <= len(c) <= hi
    x, y, z = aer2ecef(c.azimuth_rad, c.elevation_rad, c.range_m, c.sensor_lat_rad,
                       c.sensor_lon_rad, c.sensor_alt_m)  # fmt: skip
    assert np.all(ecef2geodetic(x, y, z)[2] >= 0.0)
    assert np.count_nonzero(c.elevation_rad < 0) > 0.05 * len(c)


# --------------------------------------------------------------------------- moving platforms


def ship_sensor(**changes):
    path = {
        "type": "waypoints",
        "waypoints": [[38.0, 135.0], [38.3, 135.6], [37.9, 135.9]],
        "speed_mps": 10.0,
        "loop": True,
    }
    return make_sensor(
        platform="ship", position=None, path=path, scan="staring", scan_period_s=2.0, **changes
    )


def test_moving_platform_position_is_in_every_row():
    sensor = ship_sensor(sigma_range_rate_mps=0.0)
    assert sensor.sigma_range_rate_mps == 0.0 and sensor.sigma_range_m == 0.0
    objs = objects_at_geodetic(
        np.array([38.5, 37.5, 38.1]),
        np.array([135.5, 135.2, 136.3]),
        np.array([8000.0, 3000.0, 10000.0]),
        t_ref_s=T0,
    )
    rng = np.random.default_rng(0)
    reports = [observe(sensor, objs, T0 + 2.0 * i, rng) for i in range(300)]
    rows = [r for r in reports if len(r)]
    lat = np.concatenate([r.sensor_lat_rad for r in rows])
    lon = np.concatenate([r.sensor_lon_rad for r in rows])
    alt = np.concatenate([r.sensor_alt_m for r in rows])
    t = np.concatenate([r.t_s for r in rows])
    e_lat, e_lon, e_alt = sensor.path.geodetic_at(t)
    np.testing.assert_array_equal(lat, e_lat)
    np.testing.assert_array_equal(lon, e_lon)
    np.testing.assert_array_equal(alt, e_alt)
    # The ship moved 10 m/s * 598 s along its first leg.
    p = np.column_stack(geodetic2ecef(lat, lon, alt))
    moved = np.linalg.norm(p[-1] - p[0])
    assert moved == pytest.approx(10.0 * (t[-1] - t[0]), rel=5e-3)
    # Noise-free measurements are the geometry from the ship's position at that time.
    idx = np.concatenate([r.object_index for r in rows])
    az, el, r_m = pymap3d.ecef2aer(
        objs.x0[idx, 0], objs.x0[idx, 1], objs.x0[idx, 2], np.degrees(lat), np.degrees(lon), alt
    )
    np.testing.assert_allclose(np.concatenate([r.range_m for r in rows]), r_m, atol=1e-3)
    np.testing.assert_allclose(
        wrap(np.concatenate([r.azimuth_rad for r in rows]) - np.radians(az)), 0.0, atol=1e-9
    )
    np.testing.assert_allclose(
        np.concatenate([r.elevation_rad for r in rows]), np.radians(el), atol=1e-9
    )
    # Range rate is relative to the ship: a fixed object closes at the ship's speed along the
    # line of sight.
    v_ship = sensor.path.states_at(t)[:, 3:]
    los = objs.x0[idx, :3] - p
    los /= np.linalg.norm(los, axis=1)[:, None]
    np.testing.assert_allclose(
        np.concatenate([r.range_rate_mps for r in rows]), -np.sum(v_ship * los, axis=1), atol=1e-3
    )


def test_waypoint_path_speed_height_and_loop():
    path = WaypointPath(
        waypoints=((0.66, 2.36, 20.0), (0.67, 2.37, 20.0), (0.66, 2.38, 20.0)),
        speed_mps=12.0,
        t0_s=T0,
        loop=True,
    )
    t = T0 + np.linspace(0.0, 3 * path._period_s, 5001)
    v = np.linalg.norm(path.states_at(t)[:, 3:], axis=1)
    corners = np.min(
        np.abs(np.mod(t[:, None] - T0, path._period_s) - path._t_start[None, :]), axis=1
    )
    steady = corners > 0.1
    np.testing.assert_allclose(v[steady], 12.0, rtol=5e-3)
    np.testing.assert_allclose(path.geodetic_at(t)[2], 20.0)
    start = path.states_at(np.array([T0, T0 + path._period_s]))
    np.testing.assert_allclose(start[0, :3], start[1, :3], atol=1e-6)


def test_waypoint_path_holds_at_last_point_without_loop():
    path = WaypointPath(waypoints=((0.66, 2.36, 0.0), (0.661, 2.361, 0.0)), speed_mps=5.0, t0_s=T0)
    late = path.states_at(np.array([T0 + 1e6]))
    np.testing.assert_allclose(late[0, 3:], 0.0, atol=1e-9)
    lat, lon, _ = path.geodetic_at(np.array([T0 + 1e6]))
    assert lat[0] == pytest.approx(0.661) and lon[0] == pytest.approx(2.361)


def test_racetrack_orbit_speed_height_and_shape():
    path = RacetrackPath(
        centre_lat_rad=math.radians(38.5),
        centre_lon_rad=math.radians(137.0),
        alt_m=9000.0,
        length_m=150e3,
        turn_radius_m=25e3,
        heading_rad=math.radians(45.0),
        speed_mps=180.0,
        t0_s=T0,
    )
    t = T0 + np.linspace(0.0, path.circuit_m / 180.0, 4001)
    states = path.states_at(t)
    np.testing.assert_allclose(np.linalg.norm(states[:, 3:], axis=1), 180.0, rtol=1e-3)
    lat, lon, alt = ecef2geodetic(states[:, 0], states[:, 1], states[:, 2])
    np.testing.assert_allclose(alt, 9000.0, atol=1e-3)
    centre = np.array(geodetic2ecef(math.radians(38.5), math.radians(137.0), 9000.0))
    dist = np.linalg.norm(states[:, :3] - centre, axis=1)
    assert dist.max() == pytest.approx(75e3 + 25e3, rel=2e-3)  # ends of the turns
    assert dist.min() == pytest.approx(25e3, rel=2e-3)  # middle of the legs
    np.testing.assert_allclose(states[0, :3], states[-1, :3], atol=1e-3)  # closes


def test_fixed_platform_has_zero_velocity():
    p = FixedPlatform(0.6, 2.4, 50.0)
    s = p.states_at(np.array([0.0, 1e6]))
    assert np.all(s[:, 3:] == 0.0) and np.array_equal(s[0], s[1])


# --------------------------------------------------------------------------- latency and order


def test_report_delays_follow_lognormal_with_given_mean_and_std():
    sensor = make_sensor(latency_mean_s=2.0, latency_jitter_s=1.5)
    delays = report_delays(sensor, 40000, np.random.default_rng(8))
    sigma2 = math.log1p((1.5 / 2.0) ** 2)
    dist = stats.lognorm(s=math.sqrt(sigma2), scale=math.exp(math.log(2.0) - sigma2 / 2))
    assert dist.mean() == pytest.approx(2.0) and dist.std() == pytest.approx(1.5)
    assert stats.kstest(delays, dist.cdf).pvalue > ALPHA
    assert np.all(delays > 0)
    constant = report_delays(make_sensor(latency_mean_s=0.7), 5, np.random.default_rng(0))
    np.testing.assert_array_equal(constant, 0.7)


def _two_radar_stream(window_s: float):
    a = {
        **BASE_RADAR,
        "sigma_range_m": 30.0,
        "sigma_azimuth_deg": 0.1,
        "sigma_elevation_deg": 0.1,
        "latency_mean_s": 3.0,
        "latency_jitter_s": 2.0,
        "clutter_per_scan": 2.0,
        "scan_period_s": 4.0,
    }
    b = {
        **a,
        "id": "R2",
        "position": [37.0, 137.0, 50.0],
        "latency_mean_s": 0.5,
        "latency_jitter_s": 0.2,
        "scan_period_s": 6.0,
    }
    scenario = make_scenario(a, b, duration_s=120.0)
    rng = np.random.default_rng(1)
    objs = ring_of_objects(
        60,
        rng.uniform(20e3, 200e3, 60),
        6000.0,
        rng,
        velocity_enu_mps=np.column_stack([rng.normal(0, 150, (60, 2)), np.zeros(60)]),
    )
    sensors = tuple(sorted(scenario.sensors, key=lambda s: s.sensor_id))
    chunks = list(stream_detections(scenario, sensors, objs, window_s=window_s))
    index = np.concatenate([c[0] for c in chunks])
    t = np.concatenate([c[1].t_s for c in chunks])
    arrival = np.concatenate([c[1].arrival_s for c in chunks])
    az = np.concatenate([c[1].azimuth_rad for c in chunks])
    return index, t, arrival, az


def test_stream_is_in_arrival_order_and_measurements_arrive_out_of_order():
    index, t, arrival, _ = _two_radar_stream(20.0)
    assert np.all(np.diff(arrival) >= 0)
    assert np.all(arrival >= t)
    inversions = np.count_nonzero(np.diff(t) < 0)
    assert inversions > 0.1 * t.size
    assert set(np.unique(index)) == {0, 1}
    assert t.min() >= T0 and t.max() < T0 + 120.0


def test_stream_does_not_depend_on_the_window():
    first = _two_radar_stream(5.0)
    second = _two_radar_stream(47.0)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
