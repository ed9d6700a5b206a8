"""The 2-D radar measurement model: range, azimuth and barometric (geodetic) height."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.geo import aer2ecef, ecef2geodetic, enu_rotation, geodetic2ecef
from airpicture.models import elevation_of_height, predict_range_azimuth_height

SITE = (np.radians(35.0), np.radians(139.0), 50.0)


@settings(max_examples=60, deadline=None)
@given(st.floats(2_000.0, 450_000.0), st.floats(0.0, 6.28), st.floats(0.0, 15_000.0))
def test_elevation_reaches_the_height_exactly(r, az, h):
    el, del_dh = elevation_of_height(np.array([r]), np.array([az]), np.array([h]), *SITE)
    x, y, z = aer2ecef(np.array([az]), el, np.array([r]), *SITE)
    if np.isnan(el[0]):  # beyond reach: the height is more than the range above the site,
        # or the target at that range is below the horizon
        assert abs(h - SITE[2]) > r * 0.99 or r > 200_000
        return
    assert float(ecef2geodetic(x, y, z)[2][0]) == pytest.approx(h, abs=1e-3)
    # d el / d h against a central difference
    e1, _ = elevation_of_height(np.array([r]), np.array([az]), np.array([h + 1.0]), *SITE)
    e0, _ = elevation_of_height(np.array([r]), np.array([az]), np.array([h - 1.0]), *SITE)
    assert del_dh[0] == pytest.approx((e1[0] - e0[0]) / 2.0, rel=1e-4)


def test_unreachable_heights_are_nan():
    el, d = elevation_of_height(np.array([5_000.0]), np.array([0.0]), np.array([9_000.0]), *SITE)
    assert np.isnan(el[0]) and np.isnan(d[0])


def test_range_azimuth_height_and_their_jacobian():
    rng = np.random.default_rng(3)
    lat = np.radians(rng.uniform(33, 37, 20))
    lon = np.radians(rng.uniform(137, 141, 20))
    pos = np.stack(geodetic2ecef(lat, lon, rng.uniform(100, 12_000, 20)), axis=-1)
    x = np.concatenate([pos, rng.normal(0, 200, (20, 3))], axis=1)
    site = np.tile(np.stack(geodetic2ecef(*SITE)), (20, 1))
    rot = np.tile(enu_rotation(SITE[0], SITE[1]), (20, 1, 1))
    z, H = predict_range_azimuth_height(x, site, rot)
    assert np.allclose(z[:, 0], np.linalg.norm(pos - site, axis=1))
    assert np.allclose(z[:, 2], ecef2geodetic(*pos.T)[2])
    step = 0.5
    for k in range(3):
        dx = np.zeros(6)
        dx[k] = step
        zp, _ = predict_range_azimuth_height(x + dx, site, rot)
        zm, _ = predict_range_azimuth_height(x - dx, site, rot)
        num = (zp - zm) / (2 * step)
        num[:, 1] = (num[:, 1] + np.pi / step) % (2 * np.pi / step) - np.pi / step
        assert np.allclose(H[:, :, k], num, rtol=1e-5, atol=1e-9)
    assert np.all(H[:, :, 3:] == 0)
