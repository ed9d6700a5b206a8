"""WGS-84 frames against pymap3d (an independent implementation) and closed forms."""

import numpy as np
import pymap3d as pm
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from airpicture.geo import (
    WGS84_A_M,
    WGS84_B_M,
    aer2ecef,
    aer2enu,
    aer_jacobian_enu,
    ecef2aer,
    ecef2enu,
    ecef2geodetic,
    enu2aer,
    enu2ecef,
    enu_jacobian_aer,
    enu_rotation,
    geodetic2ecef,
)

ATOL_M = 1e-6  # one micrometre: both sides are exact formulas in double precision
ATOL_RAD = 1e-12  # about 6 micrometres on the earth's surface

def wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


lat_deg = st.floats(-89.999, 89.999)
lon_deg = st.floats(-180.0, 180.0)
alt_m = st.floats(-10_000.0, 2_000_000.0)


@pytest.mark.parametrize(
    ("lla", "xyz"),
    [
        ((0.0, 0.0, 0.0), (WGS84_A_M, 0.0, 0.0)),
        ((0.0, 90.0, 0.0), (0.0, WGS84_A_M, 0.0)),
        ((0.0, 180.0, 0.0), (-WGS84_A_M, 0.0, 0.0)),
        ((90.0, 0.0, 0.0), (0.0, 0.0, WGS84_B_M)),
        ((-90.0, 0.0, 0.0), (0.0, 0.0, -WGS84_B_M)),
        ((90.0, 0.0, 1000.0), (0.0, 0.0, WGS84_B_M + 1000.0)),
        ((0.0, 0.0, 1e6), (WGS84_A_M + 1e6, 0.0, 0.0)),
    ],
)
def test_geodetic2ecef_closed_form(lla, xyz):
    got = geodetic2ecef(np.radians(lla[0]), np.radians(lla[1]), lla[2])
    np.testing.assert_allclose(got, xyz, atol=ATOL_M)
    back = ecef2geodetic(*xyz)
    assert back[0] == pytest.approx(np.radians(lla[0]), abs=ATOL_RAD)
    assert back[2] == pytest.approx(lla[2], abs=1e-6)


def test_antimeridian_continuity():
    # Points either side of 180 deg E are 2 m apart on the equator, not a world apart.
    a = np.array(geodetic2ecef(0.0, np.radians(179.99999), 0.0))
    b = np.array(geodetic2ecef(0.0, np.radians(-179.99999), 0.0))
    assert np.linalg.norm(a - b) == pytest.approx(2 * WGS84_A_M * np.radians(0.00001), rel=1e-6)
    lon = ecef2geodetic(*b)[1]
    assert lon == pytest.approx(np.radians(-179.99999), abs=ATOL_RAD)


@settings(max_examples=200, deadline=None)
@given(lat_deg, lon_deg, alt_m)
def test_geodetic_matches_pymap3d_and_round_trips(lat, lon, alt):
    x, y, z = geodetic2ecef(np.radians(lat), np.radians(lon), alt)
    np.testing.assert_allclose((x, y, z), pm.geodetic2ecef(lat, lon, alt), atol=ATOL_M)
    la, lo, h = ecef2geodetic(x, y, z)
    assert la == pytest.approx(np.radians(lat), abs=ATOL_RAD)
    assert np.cos(lo - np.radians(lon)) == pytest.approx(1.0, abs=1e-20)
    assert h == pytest.approx(alt, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(
    lat_deg,
    lon_deg,
    st.floats(-500.0, 9000.0),
    st.floats(-3e5, 3e5),
    st.floats(-3e5, 3e5),
    st.floats(-1e4, 3e5),
)
def test_enu_aer_match_pymap3d_and_round_trip(lat0, lon0, h0, e, n, u):
    assume(np.hypot(np.hypot(e, n), u) > 1.0)  # AER is degenerate at the origin itself
    lat, lon = np.radians(lat0), np.radians(lon0)
    x, y, z = enu2ecef(e, n, u, lat, lon, h0)
    np.testing.assert_allclose((x, y, z), pm.enu2ecef(e, n, u, lat0, lon0, h0), atol=1e-5)
    np.testing.assert_allclose(ecef2enu(x, y, z, lat, lon, h0), (e, n, u), atol=1e-5)
    az, el, r = ecef2aer(x, y, z, lat, lon, h0)
    ref = pm.ecef2aer(x, y, z, lat0, lon0, h0)
    # pymap3d zeroes ENU components below 1 mm before taking angles: allow that much.
    tol_rad = 2e-3 / np.hypot(np.hypot(e, n), u) + 1e-9
    if np.hypot(e, n) > 1.0:  # azimuth is undefined straight overhead
        # a zeroed horizontal component turns the azimuth by up to 1 mm over the horizontal range
        tol_az = 2e-3 / np.hypot(e, n) + 1e-9
        assert abs(wrap(az - np.radians(ref[0]))) < tol_az
    assert el == pytest.approx(np.radians(ref[1]), abs=tol_rad)
    assert r == pytest.approx(ref[2], abs=1e-5)
    assert 0.0 <= az < 2 * np.pi
    np.testing.assert_allclose(aer2ecef(az, el, r, lat, lon, h0), (x, y, z), atol=1e-5)


def test_aer_conventions():
    # Due north, due east, straight up.
    assert np.allclose(enu2aer(0.0, 1000.0, 0.0), (0.0, 0.0, 1000.0))
    assert np.allclose(enu2aer(1000.0, 0.0, 0.0), (np.pi / 2, 0.0, 1000.0))
    assert np.allclose(enu2aer(0.0, 0.0, 10.0)[1:], (np.pi / 2, 10.0))
    # West of north is near 2*pi, never negative.
    assert enu2aer(-1e-9, 1.0, 0.0)[0] == pytest.approx(2 * np.pi, abs=1e-8)


def test_rotation_is_orthonormal_and_up_is_ellipsoid_normal():
    R = enu_rotation(np.radians([38.0, -60.0]), np.radians([135.0, -170.0]))
    np.testing.assert_allclose(
        R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-15
    )
    # Up is the direction in which geodetic height grows.
    p0 = np.array(geodetic2ecef(np.radians(38.0), np.radians(135.0), 0.0))
    p1 = np.array(geodetic2ecef(np.radians(38.0), np.radians(135.0), 1.0))
    np.testing.assert_allclose(R[0, 2], p1 - p0, atol=1e-9)


def test_jacobians_match_finite_differences():
    rng = np.random.default_rng(3)
    enu = rng.uniform(-2e5, 2e5, (20, 3))
    J = aer_jacobian_enu(*enu.T)
    h = 1e-3
    for k in range(3):
        d = np.zeros(3)
        d[k] = h
        plus = np.stack(enu2aer(*(enu + d).T), axis=-1)
        minus = np.stack(enu2aer(*(enu - d).T), axis=-1)
        diff = plus - minus
        diff[:, 0] = (diff[:, 0] + np.pi) % (2 * np.pi) - np.pi
        np.testing.assert_allclose(J[:, :, k], diff / (2 * h), rtol=1e-6, atol=1e-12)
    aer = np.stack(enu2aer(*enu.T), axis=-1)
    G = enu_jacobian_aer(*aer.T)
    np.testing.assert_allclose(G @ J, np.broadcast_to(np.eye(3), G.shape), atol=1e-9)
    assert np.allclose(np.stack(aer2enu(*aer.T), axis=-1), enu, atol=1e-6)
