"""Track-to-track numerics against closed forms and brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.fusion import (
    covariance_intersection,
    pair_distances,
    spd_problems,
    track_quality,
)


def _spd(rng: np.random.Generator, n: int, d: int, scale: float = 100.0) -> np.ndarray:
    A = rng.normal(size=(n, d, d)) * scale
    return A @ np.swapaxes(A, 1, 2) + np.eye(d) * scale


def test_track_quality_halves_with_each_doubling_of_the_position_sd():
    sd = np.array([1.0, 25.0, 25.1, 50.0, 100.0, 800.0, 25.0 * 2**15, 1e9])
    P = np.eye(3) * (sd**2)[:, None, None]
    assert track_quality(P).tolist() == [15, 15, 14, 14, 13, 10, 0, 0]


def test_track_quality_takes_the_worst_axis():
    P = np.diag([10.0**2, 10.0**2, 400.0**2])[None]
    assert track_quality(P).tolist() == [11]


@settings(max_examples=200, deadline=None)
@given(
    s1=st.floats(0.1, 1e4),
    s2=st.floats(0.1, 1e4),
    rho=st.floats(-1.0, 1.0),
)
def test_covariance_intersection_bounds_the_error_whatever_the_correlation(s1, s2, rho):
    """1-D closed form: x_f = k1 x1 + k2 x2 with k_i = P_f w_i / s_i^2; its true error variance
    for correlation rho is k1^2 s1^2 + k2^2 s2^2 + 2 k1 k2 rho s1 s2, never above P_f."""
    x = np.array([[[0.0], [0.0]]])
    P = np.array([[[[s1**2]], [[s2**2]]]])
    _, Pf = covariance_intersection(x, P, np.ones((1, 2), bool))
    pf = float(Pf[0, 0, 0])
    w1, w2 = (1 / s1**2) / (1 / s1**2 + 1 / s2**2), (1 / s2**2) / (1 / s1**2 + 1 / s2**2)
    k1, k2 = pf * w1 / s1**2, pf * w2 / s2**2
    assert math.isclose(k1 + k2, 1.0, rel_tol=1e-9)  # unbiased
    true_var = k1**2 * s1**2 + k2**2 * s2**2 + 2 * k1 * k2 * rho * s1 * s2
    assert true_var <= pf * (1 + 1e-9)
    assert pf <= max(s1, s2) ** 2 * (1 + 1e-9)  # never worse than the worse input


def test_covariance_intersection_of_one_estimate_and_of_two_copies():
    rng = np.random.default_rng(1)
    P = _spd(rng, 1, 6)[0]
    x = rng.normal(size=6)
    xf, Pf = covariance_intersection(x[None, None], P[None, None], np.ones((1, 1), bool))
    np.testing.assert_allclose(xf[0], x, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(Pf[0], P, rtol=1e-9)
    # the same track twice (fully correlated) is not counted twice: P, not P / 2
    xs = np.stack([x, x])[None]
    Ps = np.stack([P, P])[None]
    xf, Pf = covariance_intersection(xs, Ps, np.ones((1, 2), bool))
    np.testing.assert_allclose(Pf[0], P, rtol=1e-9)
    np.testing.assert_allclose(xf[0], x, rtol=1e-9, atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 4))
def test_covariance_intersection_gives_symmetric_positive_definite_covariances(seed, m):
    rng = np.random.default_rng(seed)
    k = 5
    P = _spd(rng, k * m, 6).reshape(k, m, 6, 6)
    x = rng.normal(size=(k, m, 6)) * 1e3
    valid = rng.random((k, m)) < 0.7
    valid[:, 0] = True
    xf, Pf = covariance_intersection(x, P, valid)
    np.testing.assert_array_equal(Pf, np.swapaxes(Pf, 1, 2))
    assert (np.linalg.eigvalsh(Pf) > 0).all()
    assert np.isfinite(xf).all()
    assert spd_problems(Pf).tolist() == [""] * k


def test_pair_distances_match_brute_force():
    rng = np.random.default_rng(7)
    na, nb = 30, 40
    xa = rng.normal(size=(na, 6)) * np.r_[20e3, 20e3, 5e3, 200, 200, 10]
    xb = xa[rng.integers(0, na, nb)] + rng.normal(size=(nb, 6)) * np.r_[300, 300, 300, 20, 20, 20]
    Pa, Pb = _spd(rng, na, 6, 30.0), _spd(rng, nb, 6, 30.0)
    gate = 30.0
    ia, ib, d2 = pair_distances(xa, Pa, xb, Pb, gate)
    brute = {}
    for i in range(na):
        for j in range(nb):
            e = xa[i] - xb[j]
            d = float(e @ np.linalg.solve(Pa[i] + Pb[j], e))
            if d <= gate:
                brute[(i, j)] = d
    got = {(int(i), int(j)): float(d) for i, j, d in zip(ia, ib, d2, strict=True)}
    assert got.keys() == brute.keys() and len(got) > 0
    for key, value in brute.items():
        assert got[key] == pytest.approx(value, rel=1e-9)


def test_spd_problems_say_what_is_wrong():
    good = np.eye(7) * 100.0
    nonsym = good.copy()
    nonsym[0, 1] = 5.0
    indefinite = good.copy()
    indefinite[0, 0] = -1.0
    nan = good.copy()
    nan[2, 2] = np.nan
    huge = good.copy()
    huge[1, 1] = 1e14
    out = spd_problems(np.stack([good, nonsym, indefinite, nan, huge]))
    assert out.tolist() == [
        "",
        "not symmetric",
        "not positive-definite",
        "not finite",
        "position sd above 1e+06 m",
    ]
