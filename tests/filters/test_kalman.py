"""Batched EKF against the per-track reference loop, and NEES/NIS consistency."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2
from tests.reference.kalman_loop import update_one

from airpicture.filters import cho_solve, innovation, solve_lower, symmetrize, update
from airpicture.geo import aer2ecef
from airpicture.models import (
    SensorGeometry,
    cv_predict,
    cv_process_noise,
    predict_measurements,
    wrap_angle,
)


def random_spd(rng, n, k):
    A = rng.normal(size=(n, k, k))
    return A @ np.swapaxes(A, 1, 2) + 0.5 * np.eye(k)


def test_batched_update_equals_reference_loop():
    rng = np.random.default_rng(0)
    n, k, d = 40, 6, 3
    x = rng.normal(size=(n, k))
    P = random_spd(rng, n, k)
    H = rng.normal(size=(n, d, k))
    R = random_spd(rng, 1, d)[0]
    z = rng.normal(size=(n, d))
    h = np.einsum("nij,nj->ni", H, x)
    inn = innovation(z - h, P, H, R)
    x1, P1 = update(x, P, H, R, inn)
    for i in range(n):
        xr, Pr, d2 = update_one(x[i], P[i], z[i], h[i], H[i], R)
        np.testing.assert_allclose(x1[i], xr, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(P1[i], Pr, rtol=1e-9, atol=1e-10)
        assert inn.d2[i] == pytest.approx(d2, rel=1e-10)
    np.testing.assert_allclose(inn.log_det_S, np.linalg.slogdet(inn.S)[1], rtol=1e-12)


def test_batched_update_is_permutation_equivariant():
    rng = np.random.default_rng(5)
    n = 12
    x = rng.normal(size=(n, 6))
    P = random_spd(rng, n, 6)
    H = rng.normal(size=(n, 2, 6))
    R = np.eye(2)
    nu = rng.normal(size=(n, 2))
    perm = rng.permutation(n)
    a = update(x, P, H, R, innovation(nu, P, H, R))
    b = update(x[perm], P[perm], H[perm], R, innovation(nu[perm], P[perm], H[perm], R))
    np.testing.assert_allclose(a[0][perm], b[0], rtol=1e-12)
    np.testing.assert_allclose(a[1][perm], b[1], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.floats(1e-4, 1e4))
def test_updated_covariance_stays_spd(seed, r_scale):
    rng = np.random.default_rng(seed)
    P = random_spd(rng, 1, 6)
    H = rng.normal(size=(1, 3, 6))
    R = r_scale * np.eye(3)
    inn = innovation(rng.normal(size=(1, 3)), P, H, R)
    _, P1 = update(np.zeros((1, 6)), P, H, R, inn)
    assert np.allclose(P1, np.swapaxes(P1, 1, 2))
    assert np.linalg.eigvalsh(P1).min() > 0
    assert np.trace(P1[0]) <= np.trace(P[0]) * (1 + 1e-9)


def test_measurement_jacobian_matches_finite_differences():
    rng = np.random.default_rng(2)
    geom = SensorGeometry.from_geodetic(
        np.radians([38.0] * 5), np.radians([135.0] * 5), np.full(5, 20.0)
    )
    aer = (rng.uniform(0, 6.28, 5), rng.uniform(0.01, 0.5, 5), rng.uniform(3e4, 2e5, 5))
    p = np.stack(aer2ecef(*aer, np.radians(38.0), np.radians(135.0), 20.0), axis=-1)
    x = np.concatenate([p, rng.normal(0, 200, (5, 3))], axis=1)
    z, H = predict_measurements(x, geom, with_range=True, with_range_rate=True)
    steps = np.array([1.0, 1.0, 1.0, 0.01, 0.01, 0.01])
    for k in range(6):
        d = np.zeros(6)
        d[k] = steps[k]
        zp, _ = predict_measurements(x + d, geom, with_range=True, with_range_rate=True)
        zm, _ = predict_measurements(x - d, geom, with_range=True, with_range_rate=True)
        diff = zp - zm
        diff[:, 1] = wrap_angle(diff[:, 1])
        np.testing.assert_allclose(H[:, :, k], diff / (2 * steps[k]), rtol=1e-5, atol=1e-12)


def run_nees(n_runs=200, n_steps=60, dt=1.0, q=0.5, seed=11):
    """Monte Carlo single-target EKF runs: average NEES and NIS per step."""
    rng = np.random.default_rng(seed)
    lat, lon, alt = np.radians(38.0), np.radians(135.0), 20.0
    sig = np.array([50.0, np.radians(0.2), np.radians(0.2)])
    R = np.diag(sig**2)
    p0 = np.stack(
        aer2ecef(np.full(n_runs, 1.0), np.full(n_runs, 0.05), np.full(n_runs, 80e3), lat, lon, alt),
        axis=-1,
    )
    truth = np.concatenate([p0, np.tile([200.0, -100.0, 50.0], (n_runs, 1))], axis=1)
    P = np.broadcast_to(np.diag([300.0**2] * 3 + [100.0**2] * 3), (n_runs, 6, 6)).copy()
    x = truth + rng.multivariate_normal(np.zeros(6), P[0], n_runs)
    geom = SensorGeometry.from_geodetic(
        np.full(n_runs, lat), np.full(n_runs, lon), np.full(n_runs, alt)
    )
    Qd = cv_process_noise(np.array([dt]), q)[0]
    nees, nis = [], []
    for _ in range(n_steps):
        truth = np.concatenate([truth[:, :3] + dt * truth[:, 3:], truth[:, 3:]], axis=1)
        truth += rng.multivariate_normal(np.zeros(6), Qd, n_runs)
        x, P = cv_predict(x, P, dt, q)
        z_true, _ = predict_measurements(truth, geom, with_range=True, with_range_rate=False)
        z = z_true + rng.normal(size=(n_runs, 3)) * sig
        zp, H = predict_measurements(x, geom, with_range=True, with_range_rate=False)
        nu = z - zp
        nu[:, 1] = wrap_angle(nu[:, 1])
        inn = innovation(nu, P, H, R)
        x, P = update(x, P, H, R, inn)
        e = truth - x
        nees.append(np.einsum("ni,ni->n", e, np.linalg.solve(P, e[..., None])[..., 0]).mean())
        nis.append(inn.d2.mean())
    return np.array(nees), np.array(nis), n_runs


def test_nees_and_nis_inside_95_percent_band():
    nees, nis, n_runs = run_nees()
    # Average of n_runs chi-square(6) (NEES) and chi-square(3) (NIS) variables, two-sided 95 %.
    lo6, hi6 = chi2.ppf([0.025, 0.975], 6 * n_runs) / n_runs
    lo3, hi3 = chi2.ppf([0.025, 0.975], 3 * n_runs) / n_runs
    settled = slice(10, None)  # after the initial transient
    inside_nees = np.mean((nees[settled] > lo6) & (nees[settled] < hi6))
    inside_nis = np.mean((nis[settled] > lo3) & (nis[settled] < hi3))
    # With 95 % bands about 95 % of the steps fall inside; allow sampling slack.
    assert inside_nees >= 0.85, nees
    assert inside_nis >= 0.85, nis
    assert lo6 < nees[settled].mean() < hi6


def test_cholesky_solves_match_a_general_solve() -> None:
    rng = np.random.default_rng(3)
    A = rng.normal(size=(50, 4, 4))
    S = A @ np.swapaxes(A, 1, 2) + np.eye(4)
    B = rng.normal(size=(50, 4, 7))
    L = np.linalg.cholesky(S)
    np.testing.assert_allclose(solve_lower(L, B), np.linalg.solve(L, B), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cho_solve(L, B), np.linalg.solve(S, B), rtol=1e-10, atol=1e-12)


def test_symmetrize_averages_in_place() -> None:
    P = np.random.default_rng(4).normal(size=(3, 2, 5, 5))
    expected = 0.5 * (P + np.swapaxes(P, -1, -2))
    out = symmetrize(P)
    assert out is P
    np.testing.assert_array_equal(P, expected)
    np.testing.assert_array_equal(P, np.swapaxes(P, -1, -2))
