"""Impact and launch prediction: ground crossing, cubature rule, ellipses and their calibration."""

from __future__ import annotations

import numpy as np
import pytest

from airpicture.assess._impact import (
    cubature_points,
    ellipse_axes,
    ellipse_scale,
    predict_impacts,
    propagate_to_ground,
)
from airpicture.geo import ecef2enu, ecef2geodetic, enu_rotation, geodetic2ecef
from airpicture.models import propagate_ballistic

LAT0, LON0 = np.radians(39.0), np.radians(133.0)


def flight_states(n: int, seed: int, alt_m: float = 150e3) -> np.ndarray:
    """Bodies at ``alt_m`` over the Sea of Japan, going down at 10-40 deg, 1.5-2.5 km/s."""
    rng = np.random.default_rng(seed)
    lat = LAT0 + rng.uniform(-0.05, 0.05, n)
    lon = LON0 + rng.uniform(-0.05, 0.05, n)
    p = np.stack(geodetic2ecef(lat, lon, np.full(n, alt_m)), axis=-1)
    az = rng.uniform(0, 2 * np.pi, n)
    gamma = -np.radians(rng.uniform(10, 40, n))
    speed = rng.uniform(1500, 2500, n)
    enu = np.stack([np.cos(gamma) * np.sin(az), np.cos(gamma) * np.cos(az), np.sin(gamma)], axis=-1)
    v = speed[:, None] * np.einsum("nji,nj->ni", enu_rotation(lat, lon), enu)
    return np.hstack([p, v])


def brute_force_ground(
    x: np.ndarray, beta: np.ndarray, step_s: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Impact time and point by small fixed RK4 steps and linear interpolation of the height."""
    t = np.zeros(len(x))
    out = np.full((len(x), 3), np.nan)
    done = np.zeros(len(x), dtype=bool)
    cur = x.copy()
    h = ecef2geodetic(cur[:, 0], cur[:, 1], cur[:, 2])[2]
    while not done.all():
        nxt = propagate_ballistic(cur, beta, step_s, max_step_s=step_s)
        h1 = ecef2geodetic(nxt[:, 0], nxt[:, 1], nxt[:, 2])[2]
        cross = ~done & (h1 <= 0)
        f = (h / (h - h1))[cross]
        out[cross] = cur[cross, :3] + f[:, None] * (nxt[cross, :3] - cur[cross, :3])
        t[cross] += f * step_s
        t[~done & ~cross] += step_s
        done |= cross
        cur, h = nxt, h1
    return t, out


@pytest.mark.parametrize("beta", [np.inf, 5000.0])
def test_ground_crossing_matches_small_steps(beta: float) -> None:
    x = flight_states(5, seed=1, alt_m=40e3)  # low: drag matters over the whole flight
    b = np.full(5, beta)
    dt, ground, found = propagate_to_ground(x, b)
    t_ref, p_ref = brute_force_ground(x, b)
    assert found.all()
    # 0.05 s steps leave millimetres of interpolation error; the crossing is found to 0.5 m
    np.testing.assert_allclose(dt, t_ref, atol=2e-3)  # s: 0.5 m at the final descent rate
    np.testing.assert_allclose(ground[:, :3], p_ref, atol=5.0)  # m
    assert np.abs(ecef2geodetic(ground[:, 0], ground[:, 1], ground[:, 2])[2]).max() < 0.5


def test_backward_flight_finds_the_launch_of_a_free_flight() -> None:
    # A body launched from the ground flies 120 s; flying its state back finds the launch.
    lat, lon = np.radians([38.0]), np.radians([130.0])
    p = np.stack(geodetic2ecef(lat, lon, np.zeros(1)), axis=-1)
    v = 2000.0 * np.einsum("nji,nj->ni", enu_rotation(lat, lon), np.array([[0.5, 0.3, 0.81]]))
    x0 = np.hstack([p, v])
    x1 = propagate_ballistic(x0, np.array([np.inf]), 120.0, max_step_s=0.5)
    dt, back, found = propagate_to_ground(x1, np.array([np.inf]), backward=True)
    assert found[0]
    assert dt[0] == pytest.approx(-120.0, abs=1e-3)
    assert np.linalg.norm(back[0, :3] - p[0]) < 1.0  # m


def test_bodies_that_stay_up_are_not_found() -> None:
    # Straight up at escape speed from 500 km: no impact within the hour.
    p = np.array(geodetic2ecef(LAT0, LON0, 500e3))
    x = np.r_[p, 12_000.0 * p / np.linalg.norm(p)][None]
    dt, ground, found = propagate_to_ground(x, np.array([np.inf]), max_time_s=600.0)
    assert not found[0] and np.isnan(dt[0]) and np.isnan(ground).all()


def test_cubature_points_have_the_mean_and_covariance() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 7))
    A = rng.normal(size=(3, 7, 7))
    P = A @ np.swapaxes(A, 1, 2) + 0.1 * np.eye(7)
    pts = cubature_points(x, P)
    assert pts.shape == (3, 14, 7)
    np.testing.assert_allclose(pts.mean(axis=1), x, atol=1e-12)
    d = pts - x[:, None, :]
    np.testing.assert_allclose(np.einsum("nmi,nmj->nij", d, d) / 14, P, rtol=1e-10, atol=1e-12)


def test_ellipse_axes_closed_form_and_sampled_mass() -> None:
    # Axes 3 km (major, bearing 30 deg) and 1 km.
    theta = np.radians(30.0)
    u = np.array([np.sin(theta), np.cos(theta)])  # (east, north) of the bearing
    w = np.array([np.cos(theta), -np.sin(theta)])
    C = 3000.0**2 * np.outer(u, u) + 1000.0**2 * np.outer(w, w)
    a, b, o = ellipse_axes(C[None], 0.95)
    k = ellipse_scale(0.95)
    assert a[0] == pytest.approx(3000.0 * k) and b[0] == pytest.approx(1000.0 * k)
    assert np.degrees(o[0]) == pytest.approx(30.0)
    # Gaussian samples: 95 % inside, to 4 binomial sigmas (0.3 % at 40000 samples)
    s = np.random.default_rng(3).multivariate_normal([0, 0], C, 40_000)
    along, across = s @ u, s @ w
    inside = (along / a[0]) ** 2 + (across / b[0]) ** 2 <= 1.0
    assert inside.mean() == pytest.approx(0.95, abs=0.0044)
    assert ellipse_scale(0.5) == pytest.approx(np.sqrt(2 * np.log(2)))


def test_impact_prediction_of_an_exact_state_is_the_true_impact() -> None:
    x = flight_states(3, seed=4)
    kappa = 1.0 / 5000.0
    t_true, p_true = brute_force_ground(x, np.full(3, 5000.0))
    P = np.zeros((3, 7, 7))
    P[:, :3, :3] = np.eye(3) * 1e-4
    P[:, 3:6, 3:6] = np.eye(3) * 1e-6
    P[:, 6, 6] = 1e-18
    pred = predict_impacts(np.hstack([x, np.full((3, 1), kappa)]), P, np.full(3, 100.0))
    assert pred.valid.all()
    np.testing.assert_allclose(pred.impact_t_s, 100.0 + t_true, atol=5e-3)
    e, n, _ = ecef2enu(
        p_true[:, 0], p_true[:, 1], p_true[:, 2], pred.impact_lat_rad, pred.impact_lon_rad, 0.0
    )
    assert np.hypot(e, n).max() < 5.0  # m
    assert (pred.ellipse(0.95)[0] < 50.0).all()  # a near-certain state gives a small ellipse


def test_impact_ellipse_is_calibrated_on_sampled_states() -> None:
    # Truth drawn from the track's own Gaussian: its impact falls in the 95 % ellipse about 95 %
    # of the time (the map from state to impact point is close to linear at these spreads).
    x = flight_states(1, seed=5)[0]
    kappa = 1.0 / 5000.0
    sd = np.array([300.0, 300.0, 300.0, 15.0, 15.0, 15.0, 2e-5])
    P = np.diag(sd**2)
    pred = predict_impacts(np.r_[x, kappa][None], P[None], np.zeros(1))
    a, b, o = pred.ellipse(0.95)
    rng = np.random.default_rng(6)
    samples = rng.multivariate_normal(np.r_[x, kappa], P, 600)
    _, ground, found = propagate_to_ground(samples[:, :6], 1.0 / np.maximum(samples[:, 6], 1e-7))
    assert found.all()
    e, n, _ = ecef2enu(
        ground[:, 0],
        ground[:, 1],
        ground[:, 2],
        pred.impact_lat_rad[0],
        pred.impact_lon_rad[0],
        0.0,
    )
    along = e * np.sin(o[0]) + n * np.cos(o[0])
    across = e * np.cos(o[0]) - n * np.sin(o[0])
    rate = np.mean((along / a[0]) ** 2 + (across / b[0]) ** 2 <= 1.0)
    assert 0.93 <= rate <= 0.97  # 600 samples: binomial sd 0.9 %, and the rule's own error
