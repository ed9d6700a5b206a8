"""The tracker's motion-model set: covariance propagation and the models new tracks open."""

from __future__ import annotations

import numpy as np

from airpicture.geo import geodetic2ecef
from airpicture.tracker import TrackerConfig
from airpicture.tracker._dynamics import STATE_DIM, MotionModelSet


def test_predicted_covariances_equal_f_p_ft_plus_q() -> None:
    # Against the full 7 x 7 products, from finite differences of the predicted states.
    dyn = MotionModelSet(TrackerConfig())
    rng = np.random.default_rng(5)
    m, r = 4, dyn.r
    lat, lon = np.radians([38.0] * m), np.radians([135.0] * m)
    pos = np.stack(geodetic2ecef(lat, lon, np.array([9e3, 20e3, 40e3, 60e3])), -1)
    x = np.zeros((m, r, STATE_DIM))
    x[:, :, :3] = pos[:, None]
    x[:, :, 3:6] = rng.normal(0.0, 300.0, (m, 1, 3))
    x[:, :, 6] = 2e-4
    A = rng.normal(size=(m, r, STATE_DIM, STATE_DIM)) * np.r_[[30.0] * 3, [5.0] * 3, [1e-5]]
    P = A @ np.swapaxes(A, -1, -2)
    dt = np.array([1.0, 2.0, -1.5, 4.0])
    xp, Pp = dyn.predict(x, P.copy(), dt)
    xz, Pz = dyn.predict(x, np.zeros_like(P), dt)  # Q alone
    np.testing.assert_array_equal(xp, xz)
    F = np.zeros((m, r, STATE_DIM, STATE_DIM))
    for k, h in enumerate([1.0] * 3 + [0.1] * 3 + [1e-6]):
        dx = np.zeros(STATE_DIM)
        dx[k] = h
        plus, minus = (dyn.predict(x + s * dx, np.zeros_like(P), dt)[0] for s in (1.0, -1.0))
        F[..., k] = (plus - minus) / (2 * h)
    expected = F @ P @ np.swapaxes(F, -1, -2) + Pz
    scale = np.sqrt(np.einsum("...ii->...i", expected))
    err = np.abs(Pp - expected) / (scale[..., :, None] * scale[..., None, :])
    # the linear models, within what their F leaves out (the turn axis follows the position);
    # the free-flight models' substeps change with the state, which finite differences cannot
    # take
    linear = [j for j in range(dyn.r) if j not in dyn.free_flight_models]
    assert err[:, linear].max() < 1e-3
    np.testing.assert_array_equal(Pp, np.swapaxes(Pp, -1, -2))


def test_slow_new_tracks_low_down_start_without_free_flight() -> None:
    dyn = MotionModelSet(TrackerConfig())
    f = dyn.free_flight_models
    assert [dyn.labels[j] for j in f] == ["ballistic", "ballistic-agile"]
    lat, lon = np.radians([38.0] * 3), np.radians([135.0] * 3)
    pos = np.stack(geodetic2ecef(lat, lon, np.array([10e3, 10e3, 80e3])), -1)
    mu, _ = dyn.initial_conditions(pos, np.array([200.0, 2500.0, 200.0]))
    np.testing.assert_allclose(mu.sum(axis=1), 1.0)
    free = dyn.free_flight_probability(mu)
    assert np.all(mu[0, f] == 0.0)  # slow and low: only boost leads into free flight
    assert free[1] > 0.1  # a fast body low down (a re-entry vehicle) may already be in it
    assert free[2] > 0.1  # above the aircraft ceiling
    # free flight as a whole weighs as one model, whatever the number of its models
    np.testing.assert_allclose(free[2], mu[2, dyn.labels.index("boost")])
    mu, _ = dyn.initial_conditions(pos)  # speed unknown: low down starts closed
    assert np.all(mu[0, f] == 0.0) and dyn.free_flight_probability(mu)[2] > 0.1


def test_held_free_flight_is_mixed_with_nothing_else() -> None:
    dyn = MotionModelSet(TrackerConfig())
    f = dyn.free_flight_models
    r = dyn.r
    others = np.setdiff1d(np.arange(r), f)
    mu = np.full((3, r), 0.01)
    mu[:, f[0]] = [0.01, 0.3, 0.9]
    mu[:, f[1]] = [0.01, 0.3, 0.09]
    mu /= mu.sum(axis=1, keepdims=True)
    dt = np.array([2.0, 2.0, 2.0])
    before = dyn.switch_matrix(dt)
    Pi = before.copy()
    dyn.hold_free_flight(Pi, mu)
    np.testing.assert_allclose(Pi.sum(axis=2), 1.0)
    np.testing.assert_array_equal(Pi[0], before[0])  # free flight not yet the likelier
    for k in (1, 2):
        # free flight is kept, its two models switching into each other as before
        assert np.all(Pi[k][np.ix_(f, others)] == 0.0)
        block = before[k][np.ix_(f, f)]
        np.testing.assert_allclose(Pi[k][np.ix_(f, f)], block / block.sum(axis=1, keepdims=True))
        assert np.all(Pi[k][np.ix_(others, f)] == 0.0)  # and nothing enters it
        # the other models keep their relative switching
        rows = before[k][np.ix_(others, others)]
        np.testing.assert_allclose(
            Pi[k][np.ix_(others, others)], rows / rows.sum(axis=1, keepdims=True)
        )


def test_free_flight_and_aircraft_meet_only_through_boost() -> None:
    dyn = MotionModelSet(TrackerConfig())
    f = dyn.free_flight_models
    b = dyn.labels.index("boost")
    aircraft = np.setdiff1d(np.arange(dyn.r), np.r_[f, b])
    W = dyn.destinations
    np.testing.assert_allclose(W.sum(axis=1), 1.0)
    assert np.all(W[np.ix_(f, aircraft)] == 0.0) and np.all(W[np.ix_(aircraft, f)] == 0.0)
    assert np.all(W[f, b] > 0.0) and W[f[0], f[1]] > 0.0 and W[f[1], f[0]] > 0.0
    # boost ends in free flight as a whole as often as in any one aircraft model
    np.testing.assert_allclose(W[b, f].sum(), W[b, aircraft[0]])


def test_above_the_ceiling_powered_flight_ends_in_free_flight() -> None:
    dyn = MotionModelSet(TrackerConfig())
    b, f = dyn.labels.index("boost"), dyn.free_flight_models
    lat, lon = np.radians([38.0] * 2), np.radians([135.0] * 2)
    pos = np.stack(geodetic2ecef(lat, lon, np.array([10e3, 60e3])), -1)
    dt = np.array([5.0, 5.0])
    Pi = dyn.switch_matrix(dt, pos)
    np.testing.assert_allclose(Pi.sum(axis=2), 1.0)
    np.testing.assert_array_equal(Pi[0], dyn.switch_matrix(dt)[0])  # low down: any model
    leave = 1.0 - Pi[1, b, b]
    assert leave > 0.0
    np.testing.assert_allclose(Pi[1, b, f].sum(), leave)  # high up: only into free flight
    np.testing.assert_array_equal(
        Pi[1, [i for i in range(dyn.r) if i != b]],
        dyn.switch_matrix(dt)[1, [i for i in range(dyn.r) if i != b]],
    )


def test_the_agile_model_is_closed_below_a_ballistic_speed() -> None:
    # At an aircraft's speed the agile model's 1 g of random acceleration would explain lift:
    # it is closed there (its probability goes to the quiet model), and open above 1 km/s.
    dyn = MotionModelSet(TrackerConfig())
    q, a = dyn.free_flight_models
    c = np.full((2, dyn.r), 1.0 / dyn.r)
    closed = dyn.close_free_flight(c, np.array([250.0, 2300.0]))
    np.testing.assert_allclose(c.sum(axis=1), 1.0)
    assert not closed.any()
    assert c[0, a] == 0.0 and c[0, q] == 2.0 / dyn.r  # free flight keeps its share
    np.testing.assert_allclose(c[1], 1.0 / dyn.r)
