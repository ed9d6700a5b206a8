"""The compiled free-flight propagation against the model's NumPy integrator."""

from __future__ import annotations

import numpy as np

from airpicture.models import ballistic_acceleration, propagate_ballistic
from airpicture.tracker._free_flight import free_flight_acceleration, propagate_free_flight


def _states(m: int, rng: np.random.Generator) -> np.ndarray:
    up = rng.normal(size=(m, 3))
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    r = up * (6_378_137.0 + rng.uniform(5e3, 300e3, size=(m, 1)))
    v = rng.normal(size=(m, 3)) * rng.uniform(100.0, 3000.0, size=(m, 1)) / np.sqrt(3.0)
    return np.c_[r, v]


def test_rows_agree_with_propagate_ballistic_to_rounding() -> None:
    rng = np.random.default_rng(3)
    m = 400
    x = _states(m, rng)
    beta = rng.uniform(20_000.0, 200_000.0, m)
    beta[:20] = np.inf  # no drag
    dt = rng.uniform(-15.0, 15.0, m)
    steps = 2 ** rng.integers(2, 5, m)
    got = propagate_free_flight(x, beta, dt, steps)
    want = np.empty_like(x)
    for s in np.unique(steps):
        rows = steps == s
        want[rows] = propagate_ballistic(
            x[rows], beta[rows], dt[rows], max_step_s=float(np.abs(dt[rows]).max()) / s
        )
    assert np.allclose(got[:, :3], want[:, :3], rtol=0.0, atol=1e-6)
    assert np.allclose(got[:, 3:], want[:, 3:], rtol=0.0, atol=1e-9)


def test_a_zero_step_leaves_the_row_as_it_is() -> None:
    x = _states(3, np.random.default_rng(4))
    out = propagate_free_flight(x, np.full(3, 5_000.0), np.array([0.0, 1.0, 0.0]), np.ones(3))
    assert np.array_equal(out[[0, 2]], x[[0, 2]])
    assert not np.array_equal(out[1], x[1])


def test_accelerations_agree_with_ballistic_acceleration() -> None:
    rng = np.random.default_rng(5)
    x = _states(300, rng)
    beta = rng.uniform(500.0, 50_000.0, 300)
    got = free_flight_acceleration(x, beta)
    assert np.allclose(got, ballistic_acceleration(x, beta), rtol=1e-12, atol=1e-12)
