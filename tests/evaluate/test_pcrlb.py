"""PCRLB: the Kalman covariance on linear-Gaussian problems; the bound of a ballistic body."""

from __future__ import annotations

import numpy as np
import pytest

from airpicture.evaluate import ballistic_radar_pcrlb, pcrlb_information
from airpicture.geo import enu_rotation, geodetic2ecef
from airpicture.models import SensorGeometry, propagate_ballistic


def kalman_covariances(P0, F, H, R, Q):  # type: ignore[no-untyped-def]
    """Textbook KF covariance recursion (explicit inverses): the reference."""
    P = [P0]
    for k in range(len(F)):
        Pp = F[k] @ P[-1] @ F[k].T + Q[k]
        S = H[k + 1] @ Pp @ H[k + 1].T + R
        K = Pp @ H[k + 1].T @ np.linalg.inv(S)
        P.append((np.eye(len(P0)) - K @ H[k + 1]) @ Pp)
    return np.array(P)


@pytest.mark.parametrize("with_q", [False, True])
def test_linear_gaussian_bound_is_the_kalman_covariance(with_q: bool) -> None:
    # For linear-Gaussian models the PCRLB equals the Kalman filter's covariance exactly.
    rng = np.random.default_rng(0)
    m, k = 12, 4
    dt = 2.0
    F1 = np.eye(4)
    F1[0, 2] = F1[1, 3] = dt
    F = np.repeat(F1[None], m - 1, axis=0)
    H = np.repeat(np.hstack([np.eye(2), np.zeros((2, 2))])[None], m, axis=0)
    H[5:, 0, 2] = 0.3  # time-varying measurement
    R = np.diag([4.0, 9.0])
    Q = np.repeat((np.eye(k) * 0.1 if with_q else np.zeros((k, k)))[None], m - 1, axis=0)
    A = rng.normal(size=(k, k))
    P0 = A @ A.T + np.eye(k)
    J = pcrlb_information(np.linalg.inv(P0), F, H, R, Q if with_q else None)
    ref = kalman_covariances(P0, F, H, R, Q)
    for j, p in zip(J, ref, strict=True):
        np.testing.assert_allclose(np.linalg.inv(j), p, rtol=1e-9, atol=1e-10)


def test_ballistic_bound_shrinks_with_measurements_and_matches_its_linear_map() -> None:
    site_lat, site_lon = np.radians(35.7), np.radians(140.85)
    p = np.array(geodetic2ecef(np.radians(35.7), np.radians(143.0), 80e3))
    v = enu_rotation(np.radians(35.7), np.radians(143.0)).T @ np.array([-1500.0, 0.0, -1200.0])
    x0 = np.r_[p, v]
    t = np.arange(0.0, 30.0, 2.0)
    x = np.stack([propagate_ballistic(x0[None], 40_000.0, tt, max_step_s=0.5)[0] for tt in t])
    geo = SensorGeometry.from_geodetic(
        np.full(len(t), site_lat), np.full(len(t), site_lon), np.full(len(t), 50.0)
    )
    R = np.diag([100.0**2, np.radians(0.017) ** 2, np.radians(0.017) ** 2])
    P0 = np.diag([200.0**2] * 3 + [2000.0**2] * 3 + [(2e-4) ** 2])
    bound = ballistic_radar_pcrlb(x, t, 40_000.0, geo, R, P0)
    assert bound.shape == (len(t), 7, 7)
    pos = np.sqrt(np.trace(bound[:, :3, :3], axis1=1, axis2=2))
    vel = np.sqrt(np.trace(bound[:, 3:6, 3:6], axis1=1, axis2=2))
    assert pos[0] == pytest.approx(np.sqrt(3) * 200.0) and vel[0] == pytest.approx(
        np.sqrt(3) * 2000.0
    )
    assert vel[1] < 300.0 and vel[-1] < vel[3] < vel[1]  # two positions give the velocity
    assert (np.linalg.eigvalsh(bound) > 0).all()
    # kappa stays near its prior high up (no drag there to measure it)
    assert np.sqrt(bound[-1, 6, 6]) > 0.9 * 2e-4
