"""Nearly-constant-velocity model: closed forms, generic-vs-structured, composition."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.filters import predict
from airpicture.models import cv_predict, cv_process_noise, cv_transition


def random_spd(rng, n, k=6):
    A = rng.normal(size=(n, k, k))
    return A @ np.swapaxes(A, 1, 2) + 0.1 * np.eye(k)


def test_q_closed_form_one_axis():
    Q = cv_process_noise(np.array([2.0]), 3.0)[0]
    # q * [[dt^3/3, dt^2/2], [dt^2/2, dt]] on each axis
    np.testing.assert_allclose(Q[[0, 3]][:, [0, 3]], 3.0 * np.array([[8 / 3, 2.0], [2.0, 2.0]]))
    assert np.count_nonzero(Q) == 12


def test_structured_predict_equals_generic():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6)) * 1e4
    P = random_spd(rng, 50)
    dt = rng.uniform(-5, 30, 50)
    q = rng.uniform(0.1, 10, 50)
    x1, P1 = cv_predict(x, P, dt, q)
    x2, P2 = predict(x, P, cv_transition(dt), cv_process_noise(dt, q))
    np.testing.assert_allclose(x1, x2, rtol=1e-12)
    np.testing.assert_allclose(P1, P2, rtol=1e-11, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.0, 50.0), st.floats(0.0, 50.0))
def test_transition_composes(dt1, dt2):
    F = cv_transition(np.array([dt1, dt2, dt1 + dt2]))
    np.testing.assert_allclose(F[1] @ F[0], F[2], atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.floats(-60.0, 60.0), st.floats(1e-3, 100.0), st.integers(0, 2**31))
def test_predicted_covariance_stays_spd(dt, q, seed):
    rng = np.random.default_rng(seed)
    P = random_spd(rng, 1)
    _, P1 = cv_predict(np.zeros((1, 6)), P, dt, q)
    np.testing.assert_allclose(P1, np.swapaxes(P1, 1, 2), atol=1e-9)
    assert np.linalg.eigvalsh(P1).min() > 0


def test_inputs_not_modified():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 6))
    P = random_spd(rng, 3)
    x0, P0 = x.copy(), P.copy()
    cv_predict(x, P, 1.0, 1.0)
    assert np.array_equal(x, x0) and np.array_equal(P, P0)


def test_coordinated_turn_closed_form():
    from airpicture.models import ct_transition

    # Turn at 3 deg/s about z for 30 s: a quarter... of 90 deg; speed constant, radius v/omega.
    w = np.radians(3.0)
    axis = np.array([[0.0, 0.0, 1.0]])
    F = ct_transition(np.array([30.0]), w, axis)[0]
    x0 = np.array([0.0, 0.0, 0.0, 200.0, 0.0, 5.0])
    x1 = F @ x0
    radius = 200.0 / w
    np.testing.assert_allclose(x1[:3], [radius, radius, 150.0], atol=1e-9)
    np.testing.assert_allclose(x1[3:], [0.0, 200.0, 5.0], atol=1e-9)
    # Tends to the straight-line model as the rate goes to zero.
    F0 = ct_transition(np.array([30.0]), 1e-12, axis)[0]
    np.testing.assert_allclose(F0, cv_transition(np.array([30.0]))[0], atol=1e-9)
