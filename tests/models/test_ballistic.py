"""Ballistic physics against closed forms, published values, invariants and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.geo import WGS84_A_M, WGS84_GM_M3PS2, WGS84_OMEGA_RADPS, geodetic2ecef
from airpicture.models import (
    AIR_SCALE_HEIGHT_M,
    Atmosphere,
    air_density,
    ballistic_acceleration,
    ballistic_derivative,
    ballistic_jacobian,
    gravity_acceleration,
    gravity_gradient,
    gravity_potential,
    propagate_ballistic,
    propagate_ballistic_stm,
)

MU = WGS84_GM_M3PS2
R0 = WGS84_A_M  # radius of the launch sphere of the closed-form checks


def _launch_states(speed: np.ndarray, gamma: np.ndarray, seed: int = 0) -> np.ndarray:
    """States on the sphere |r| = R0, at random places and headings, speed at flight-path gamma."""
    rng = np.random.default_rng(seed)
    n = speed.shape[0]
    up = rng.normal(size=(n, 3))
    up /= np.linalg.norm(up, axis=1)[:, None]
    side = np.cross(up, rng.normal(size=(n, 3)))
    side /= np.linalg.norm(side, axis=1)[:, None]
    v = speed[:, None] * (np.sin(gamma)[:, None] * up + np.cos(gamma)[:, None] * side)
    return np.hstack([R0 * up, v])


def _closed_form(speed: np.ndarray, gamma: np.ndarray) -> dict[str, np.ndarray]:
    """Keplerian free flight from and back to radius R0 (point mass, inertial frame).

    Conic from energy and angular momentum: h = r v cos(gamma), a = -mu / (2 eps),
    eps = v^2/2 - mu/r, p = h^2/mu, e = sqrt(1 - p/a); apogee radius a (1 + e); the launch and
    impact points are at true anomalies +-nu_1 about apogee with cos(nu_1) = (p/r - 1)/e, so the
    range angle is 2 (pi - nu_1); times from Kepler's equation [Bate, Mueller & White,
    Fundamentals of Astrodynamics, Dover 1971, chapters 1, 4 and 6].
    """
    h = R0 * speed * np.cos(gamma)
    eps = 0.5 * speed**2 - MU / R0
    a = -MU / (2.0 * eps)
    p = h * h / MU
    e = np.sqrt(1.0 - p / a)
    nu1 = np.arccos((p / R0 - 1.0) / e)
    ecc_anom = 2.0 * np.arctan(np.sqrt((1.0 - e) / (1.0 + e)) * np.tan(0.5 * nu1))
    mean_anom = ecc_anom - e * np.sin(ecc_anom)
    t_apogee = (np.pi - mean_anom) / np.sqrt(MU / a**3)
    return {
        "apogee_radius": a * (1.0 + e),
        "range_angle": 2.0 * (np.pi - nu1),
        "t_apogee": t_apogee,
    }


def _bmw_range_angle(speed: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Free-flight range equation: cos(psi/2) = (1 - Q cos^2 g) / sqrt(1 + Q (Q - 2) cos^2 g)."""
    q = speed**2 * R0 / MU
    c2 = np.cos(gamma) ** 2
    return 2.0 * np.arccos((1.0 - q * c2) / np.sqrt(1.0 + q * (q - 2.0) * c2))


def test_drag_free_flight_matches_closed_form_range_and_apogee() -> None:
    # Tolerance 0.05 m: RK4 with 1 s steps has a local error of order h^5 |r^(5)| ~ 1e-9 m
    # here, so what remains is float64 rounding of 6.4e6 m positions over about 1000 steps.
    speed, gamma = np.meshgrid(np.linspace(1500.0, 6500.0, 6), np.radians([20, 35, 45, 60, 75]))
    speed, gamma = speed.ravel(), gamma.ravel()
    ref = _closed_form(speed, gamma)
    np.testing.assert_allclose(ref["range_angle"], _bmw_range_angle(speed, gamma), rtol=1e-12)
    x0 = _launch_states(speed, gamma)
    kw = {"beta": np.inf, "spherical": True, "rotating": False, "max_step_s": 1.0}

    top = propagate_ballistic(x0, dt_s=ref["t_apogee"], **kw)
    r_top = np.linalg.norm(top[:, :3], axis=1)
    np.testing.assert_allclose(r_top - R0, ref["apogee_radius"] - R0, rtol=0, atol=0.05)
    radial_speed = np.einsum("ij,ij->i", top[:, :3], top[:, 3:]) / r_top
    np.testing.assert_allclose(radial_speed, 0.0, atol=1e-6)

    end = propagate_ballistic(x0, dt_s=2.0 * ref["t_apogee"], **kw)
    np.testing.assert_allclose(np.linalg.norm(end[:, :3], axis=1), R0, rtol=0, atol=0.05)
    cos_angle = np.einsum("ij,ij->i", x0[:, :3], end[:, :3]) / R0**2
    sin_angle = np.linalg.norm(np.cross(x0[:, :3], end[:, :3]), axis=1) / R0**2
    ground_range = R0 * np.arctan2(sin_angle, cos_angle)
    ground_range = np.where(ground_range < 0, ground_range + 2 * np.pi * R0, ground_range)
    np.testing.assert_allclose(ground_range, R0 * ref["range_angle"], rtol=0, atol=0.05)


@settings(max_examples=15, deadline=None)
@given(st.floats(800.0, 7000.0), st.floats(10.0, 80.0))
def test_closed_form_apogee_property(speed: float, gamma_deg: float) -> None:
    s, g = np.array([speed]), np.radians(np.array([gamma_deg]))
    ref = _closed_form(s, g)
    top = propagate_ballistic(
        _launch_states(s, g), np.inf, ref["t_apogee"], spherical=True, rotating=False,
        max_step_s=2.0,
    )  # fmt: skip
    assert abs(np.linalg.norm(top[0, :3]) - ref["apogee_radius"][0]) < 0.05


def test_surface_gravity_matches_wgs84_normal_gravity() -> None:
    # WGS-84 normal gravity on the ellipsoid [NIMA TR8350.2, 3rd ed., chapter 3, derived
    # physical constants: 9.7803253359 and 9.8321849378 m/s^2]. The J2 field
    # leaves out J4 and higher terms, worth about 1e-4 m/s^2; tolerance 2e-4 m/s^2.
    equator, pole = 9.7803253359, 9.8321849378
    r = np.stack(geodetic2ecef(np.radians([0.0, 90.0, -90.0]), 0.0, 0.0), axis=-1)
    a = ballistic_acceleration(np.hstack([r, np.zeros((3, 3))]), np.inf)
    g = np.linalg.norm(a, axis=1)
    np.testing.assert_allclose(g, [equator, pole, pole], rtol=0, atol=2e-4)
    # gravity (with the centrifugal term) points along the ellipsoid normal at these points
    np.testing.assert_allclose(a / g[:, None], -r / np.linalg.norm(r, axis=1)[:, None], atol=1e-12)


def test_point_mass_and_rotation_switches() -> None:
    r = np.array([[7.0e6, 0.0, 0.0]])
    np.testing.assert_allclose(gravity_acceleration(r, spherical=True), [[-MU / 7.0e6**2, 0, 0]])
    x = np.array([[7.0e6, 0.0, 0.0, 0.0, 100.0, 0.0]])
    rot = ballistic_acceleration(x, np.inf, spherical=True)
    still = ballistic_acceleration(x, np.inf, spherical=True, rotating=False)
    w = WGS84_OMEGA_RADPS
    # centrifugal w^2 x outwards, Coriolis -2 w x v = (2 w vy, 0, 0)
    np.testing.assert_allclose(rot - still, [[w * w * 7.0e6 + 2 * w * 100.0, 0, 0]], rtol=1e-12)


def test_drag_at_sea_level() -> None:
    # a = rho |v| v / (2 beta): 1.225 * 100 * 100 / 2000 = 6.125 m/s^2, against the velocity
    r = np.stack(geodetic2ecef(0.0, 0.0, 0.0), axis=-1)[None]
    x = np.hstack([r, [[0.0, 100.0, 0.0]]])
    drag = ballistic_acceleration(x, 1000.0, rotating=False) - ballistic_acceleration(
        x, np.inf, rotating=False
    )
    np.testing.assert_allclose(drag, [[0.0, -6.125, 0.0]], atol=1e-9)
    assert air_density(AIR_SCALE_HEIGHT_M) == pytest.approx(1.225 / np.e)
    # another atmosphere: rho0 = 2.45 doubles the drag at zero height
    thick = Atmosphere(2.45, 6000.0)
    drag2 = ballistic_acceleration(x, 1000.0, rotating=False, atmosphere=thick) - (
        ballistic_acceleration(x, np.inf, rotating=False)
    )
    np.testing.assert_allclose(drag2, 2.0 * drag, rtol=1e-12)
    assert thick.density(6000.0) == pytest.approx(2.45 / np.e)
    with pytest.raises(ValueError, match="scale_height_m"):
        Atmosphere(1.0, 0.0)
    with pytest.raises(ValueError, match="density_kgpm3"):
        Atmosphere(float("nan"), 7000.0)


def _energy(x: np.ndarray) -> np.ndarray:
    """Specific mechanical energy in the inertial frame: |v + w x r|^2 / 2 - U(r)."""
    w = np.array([0.0, 0.0, WGS84_OMEGA_RADPS])
    v_inertial = x[:, 3:] + np.cross(w, x[:, :3])
    return 0.5 * np.einsum("ij,ij->i", v_inertial, v_inertial) - gravity_potential(x[:, :3])


def test_drag_free_energy_is_conserved_in_the_inertial_frame() -> None:
    # J2 is axially symmetric, so inertial energy is a constant of motion. Tolerance 1e-3 J/kg
    # (1e-11 relative, 0.1 mm of height): RK4 with 1 s steps over 20 minutes.
    # Launch speeds and angles that stay aloft for 20 minutes (closed-form flight times 1770 s
    # to 3000 s on a point-mass earth), so the check never reaches the ground.
    speed = np.array([6000.0, 6500.0, 7000.0, 7200.0])
    gamma = np.radians([60.0, 45.0, 30.0, 80.0])
    assert np.all(2.0 * _closed_form(speed, gamma)["t_apogee"] > 1300.0)
    x = _launch_states(speed, gamma, seed=8)
    e0 = _energy(x)
    for _ in range(4):
        x = propagate_ballistic(x, np.inf, 300.0)
        np.testing.assert_allclose(_energy(x), e0, rtol=0, atol=1e-3)


def _random_states(
    seed: int, n: int, alt_range_m: tuple[float, float] = (0.0, 120e3), climbing: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Random ECEF states (n, 6) at heights in ``alt_range_m`` and ballistic coefficients (n,)."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(-1.5, 1.5, n)
    lon = rng.uniform(-np.pi, np.pi, n)
    alt = rng.uniform(*alt_range_m, n)
    r = np.stack(geodetic2ecef(lat, lon, alt), axis=-1)
    v = rng.normal(0.0, 2000.0, (n, 3))
    if climbing:
        up = r / np.linalg.norm(r, axis=1)[:, None]
        v += np.maximum(-2.0 * np.einsum("ij,ij->i", v, up), 0.0)[:, None] * up
    return np.hstack([r, v]), rng.uniform(300.0, 20000.0, n)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.booleans(),
    st.booleans(),
    st.floats(0.5, 2.0),
    st.floats(4000.0, 12000.0),
)
def test_jacobian_matches_finite_differences(
    seed: int, spherical: bool, rotating: bool, rho0: float, scale_height: float
) -> None:
    x, beta = _random_states(seed, 6)
    kw = {
        "spherical": spherical,
        "rotating": rotating,
        "atmosphere": Atmosphere(rho0, scale_height),
    }
    A, b = ballistic_jacobian(x, beta, **kw)
    num = np.empty((6, 6, 6))
    for j in range(6):
        d = np.zeros(6)
        d[j] = 1.0 if j < 3 else 1e-2  # 1 m, 1 cm/s
        num[:, :, j] = (
            ballistic_derivative(x + d, beta, **kw) - ballistic_derivative(x - d, beta, **kw)
        ) / (2.0 * d[j])
    # central differences: truncation ~ d^2 f''' / 6, relative 1e-9 at these steps; 1e-7 scale
    scale = np.abs(A).max(axis=2, keepdims=True) + 1e-12
    assert np.all(np.abs(num - A) <= 1e-6 * scale + 1e-12)
    db = 1e-4 * beta
    num_b = (
        ballistic_derivative(x, beta + db, **kw) - ballistic_derivative(x, beta - db, **kw)
    ) / (2.0 * db[:, None])
    # the difference of two accelerations near 10 m/s^2 carries their rounding, about
    # 1e-15 m/s^2 each, divided by 2 db
    assert np.all(np.abs(num_b - b) <= 1e-6 * np.abs(b) + (1e-14 / db)[:, None])


def test_gravity_gradient_is_symmetric_and_matches_differences() -> None:
    x, _ = _random_states(11, 20)
    G = gravity_gradient(x[:, :3])
    np.testing.assert_allclose(G, np.swapaxes(G, 1, 2), rtol=0, atol=1e-18)
    num = np.stack(
        [
            (gravity_acceleration(x[:, :3] + d) - gravity_acceleration(x[:, :3] - d)) / 2.0
            for d in np.eye(3)
        ],
        axis=2,
    )
    np.testing.assert_allclose(num, G, rtol=0, atol=1e-13)


def test_transition_matrix_matches_finite_differences() -> None:
    x, beta = _random_states(5, 4)
    x[:, :3] *= 1.0 + 40e3 / np.linalg.norm(x[:, :3], axis=1)[:, None]  # start high up
    dt = np.array([20.0, -15.0, 7.5, 30.0])
    x1, Phi, s = propagate_ballistic_stm(x, beta, dt, max_step_s=0.5)
    np.testing.assert_array_equal(x1, propagate_ballistic(x, beta, dt, max_step_s=0.5))
    for j in range(6):
        d = np.zeros(6)
        d[j] = 1.0 if j < 3 else 1e-2
        col = (
            propagate_ballistic(x + d, beta, dt, max_step_s=0.5)
            - propagate_ballistic(x - d, beta, dt, max_step_s=0.5)
        ) / (2.0 * d[j])
        np.testing.assert_allclose(col, Phi[:, :, j], rtol=1e-5, atol=1e-6)
    db = 1e-3 * beta
    col = (
        propagate_ballistic(x, beta + db, dt, max_step_s=0.5)
        - propagate_ballistic(x, beta - db, dt, max_step_s=0.5)
    ) / (2.0 * db[:, None])
    np.testing.assert_allclose(col, s, rtol=1e-4, atol=1e-9)


def test_batched_per_row_steps_equal_a_loop_over_rows() -> None:
    x, beta = _random_states(2, 5)
    dt = np.array([0.0, 3.0, -7.0, 12.5, 1.0])
    batched = propagate_ballistic(x, beta, dt, max_step_s=0.25)
    # the batch takes ceil(12.5 / 0.25) = 50 substeps in every row; a row alone takes the same
    # substep length when given the same count
    for i in range(5):
        steps = int(np.ceil(12.5 / 0.25))
        alone = propagate_ballistic(
            x[i : i + 1], beta[i], dt[i], max_step_s=abs(dt[i]) / steps if dt[i] else 1.0
        )
        np.testing.assert_allclose(batched[i], alone[0], rtol=1e-14, atol=1e-9)
    np.testing.assert_array_equal(batched[0], x[0])


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(1.0, 60.0))
def test_forward_then_backward_returns_to_start(seed: int, dt: float) -> None:
    # Climbing from 40 km or higher, drag stays below about 100 m/s^2 and RK4 at 0.5 s steps
    # retraces its path to well under a millimetre (not exactly: RK4 is not time-symmetric).
    x, beta = _random_states(seed, 3, alt_range_m=(40e3, 120e3), climbing=True)
    back = propagate_ballistic(
        propagate_ballistic(x, beta, dt, max_step_s=0.5), beta, -dt, max_step_s=0.5
    )
    np.testing.assert_allclose(back[:, :3], x[:, :3], rtol=0, atol=1e-3)


def test_nan_rows_stay_nan_and_do_not_spread() -> None:
    x, beta = _random_states(4, 3)
    x[1] = np.nan
    out = propagate_ballistic(x, beta, 5.0)
    assert np.isnan(out[1]).all() and np.isfinite(out[[0, 2]]).all()


def test_inputs_are_not_modified() -> None:
    x, beta = _random_states(6, 3)
    before = x.copy()
    propagate_ballistic(x, beta, 5.0)
    propagate_ballistic_stm(x, beta, 5.0)
    np.testing.assert_array_equal(x, before)


def test_bad_shapes_and_steps_are_refused() -> None:
    with pytest.raises(ValueError, match=r"shape \(n, 6\)"):
        ballistic_acceleration(np.zeros(6), 1.0)
    with pytest.raises(ValueError, match="max_step_s"):
        propagate_ballistic(np.ones((1, 6)) * 7e6, 1.0, 1.0, max_step_s=0.0)


def test_public_names_are_pinned() -> None:
    import airpicture.models._atmosphere as atmosphere
    import airpicture.models._ballistic as ballistic

    assert set(ballistic.__all__) == {
        "ballistic_acceleration", "ballistic_derivative", "ballistic_jacobian",
        "gravity_acceleration", "gravity_gradient", "gravity_potential", "ground_crossing",
        "propagate_ballistic", "propagate_ballistic_stm",
    }  # fmt: skip
    assert set(atmosphere.__all__) == {
        "AIR_DENSITY_SEA_LEVEL_KGPM3", "AIR_SCALE_HEIGHT_M", "STANDARD_ATMOSPHERE", "Atmosphere",
        "air_density",
    }  # fmt: skip
