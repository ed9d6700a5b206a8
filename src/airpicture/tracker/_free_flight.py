"""Compiled free-flight propagation: the ballistic model's RK4 integration, one row at a time.

The tracker predicts the ballistic model of every track whose free flight is open, each over its
own step and with its own number of RK4 substeps (``tracker.dynamics``). Integrated with NumPy
(:func:`~airpicture.models.propagate_ballistic`), every substep is four evaluations of the
equation of motion, each a few dozen array operations on a handful of rows: in dense traffic
that interpreter overhead was three quarters of the tracker's time (247,000 evaluations for
24 s of ``dense-traffic``, about 150 microseconds each). Here each row is integrated in a
compiled loop (Numba), with the arithmetic of :func:`~airpicture.models.ballistic_derivative`
in the same order: gravity with J2, the rotating frame's Coriolis and centrifugal terms, and
drag in the exponential atmosphere at the geodetic height of Heikkinen's closed form
(:func:`~airpicture.geo.ecef2geodetic`). The two agree to rounding (tested).
"""

from __future__ import annotations

import numba
import numpy as np

from airpicture.geo import WGS84_A_M, WGS84_B_M, WGS84_E2, WGS84_GM_M3PS2, WGS84_OMEGA_RADPS
from airpicture.models._atmosphere import AIR_DENSITY_SEA_LEVEL_KGPM3, AIR_SCALE_HEIGHT_M
from airpicture.models._ballistic import _K_J2

__all__ = ["free_flight_acceleration", "propagate_free_flight"]

_EP2 = (WGS84_A_M * WGS84_A_M - WGS84_B_M * WGS84_B_M) / (WGS84_B_M * WGS84_B_M)


@numba.njit(cache=True)
def _height(x: float, y: float, z: float) -> float:
    """Height above the ellipsoid, m (``ecef2geodetic``'s, in its order of operations)."""
    a, b, e2 = WGS84_A_M, WGS84_B_M, WGS84_E2
    p = np.hypot(x, y)
    z2 = z * z
    f_ = 54.0 * b * b * z2
    g = p * p + (1.0 - e2) * z2 - e2 * (a * a - b * b)
    c = e2 * e2 * f_ * p * p / g**3.0
    s = np.cbrt(1.0 + c + np.sqrt(c * c + 2.0 * c))
    k = s + 1.0 + 1.0 / s
    pp = f_ / (3.0 * k * k * g * g)
    q = np.sqrt(1.0 + 2.0 * e2 * e2 * pp)
    r0 = -pp * e2 * p / (1.0 + q) + np.sqrt(
        max(
            0.5 * a * a * (1.0 + 1.0 / q)
            - pp * (1.0 - e2) * z2 / (q * (1.0 + q))
            - 0.5 * pp * p * p,
            0.0,
        )
    )
    t = p - e2 * r0
    u = np.sqrt(t * t + z2)
    v = np.sqrt(t * t + (1.0 - e2) * z2)
    return u * (1.0 - b * b / (a * v))


@numba.njit(cache=True)
def _derivative(s: np.ndarray, beta: float, out: np.ndarray) -> None:
    """``out = [v, a]`` of state ``s`` (6,): ``ballistic_derivative`` with J2, rotating."""
    x, y, z = s[0], s[1], s[2]
    r2 = x * x + y * y + z * z
    inv_r = 1.0 / np.sqrt(r2)
    inv_r3 = inv_r / r2
    inv_r5 = inv_r3 / r2
    inv_r7 = inv_r5 / r2
    z_term = 5.0 * (z * z) * inv_r7
    gm = -WGS84_GM_M3PS2 * inv_r3
    ax = gm * x + _K_J2 * x * (z_term - inv_r5)
    ay = gm * y + _K_J2 * y * (z_term - inv_r5)
    az = gm * z + _K_J2 * z * (z_term - 3.0 * inv_r5)
    w = WGS84_OMEGA_RADPS
    w2 = w * w
    ax += w2 * x + 2.0 * w * s[4]
    ay += w2 * y - 2.0 * w * s[3]
    rho = AIR_DENSITY_SEA_LEVEL_KGPM3 * np.exp(-_height(x, y, z) / AIR_SCALE_HEIGHT_M)
    coef = rho / (2.0 * beta)
    drag = coef * np.sqrt(s[3] * s[3] + s[4] * s[4] + s[5] * s[5])
    out[0], out[1], out[2] = s[3], s[4], s[5]
    out[3] = ax - drag * s[3]
    out[4] = ay - drag * s[4]
    out[5] = az - drag * s[5]


@numba.njit(cache=True)
def _rk4(
    x: np.ndarray, beta: np.ndarray, dt_s: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    out = x.copy()
    s = np.empty(6)
    k1, k2, k3, k4 = np.empty(6), np.empty(6), np.empty(6), np.empty(6)
    tmp = np.empty(6)
    for i in range(x.shape[0]):
        if dt_s[i] == 0.0:
            continue
        h = dt_s[i] / steps[i]
        s[:] = x[i]
        for _ in range(steps[i]):
            _derivative(s, beta[i], k1)
            for j in range(6):
                tmp[j] = s[j] + 0.5 * h * k1[j]
            _derivative(tmp, beta[i], k2)
            for j in range(6):
                tmp[j] = s[j] + 0.5 * h * k2[j]
            _derivative(tmp, beta[i], k3)
            for j in range(6):
                tmp[j] = s[j] + h * k3[j]
            _derivative(tmp, beta[i], k4)
            for j in range(6):
                s[j] = s[j] + (h / 6.0) * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j])
        out[i] = s
    return out


@numba.njit(cache=True)
def _accelerations(x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    out = np.empty((x.shape[0], 3))
    d = np.empty(6)
    for i in range(x.shape[0]):
        _derivative(x[i], beta[i], d)
        out[i] = d[3:]
    return out


def free_flight_acceleration(x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Accelerations (m, 3) of ballistic states ``x`` (m, 6) with coefficients ``beta`` (m,):
    :func:`~airpicture.models.ballistic_acceleration`, compiled."""
    return _accelerations(
        np.ascontiguousarray(x, dtype=float), np.ascontiguousarray(beta, dtype=float)
    )


def propagate_free_flight(
    x: np.ndarray, beta: np.ndarray, dt_s: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    """Ballistic states propagated by ``dt_s``, row ``i`` in ``steps[i]`` equal RK4 substeps.

    As :func:`~airpicture.models.propagate_ballistic` (J2 gravity, rotating frame, drag) with a
    number of substeps of each row's own; a row with a zero step is returned as it is.

    Parameters
    ----------
    x : ndarray, shape (m, 6)
        ECEF states, m and m/s.
    beta : ndarray, shape (m,)
        Ballistic coefficients, kg/m^2 (``np.inf`` for no drag).
    dt_s : ndarray, shape (m,)
        Steps, s (may be negative).
    steps : ndarray of int, shape (m,)
        Substeps of each row, at least 1.

    Returns
    -------
    ndarray, shape (m, 6)
    """
    return _rk4(
        np.ascontiguousarray(x, dtype=float),
        np.ascontiguousarray(beta, dtype=float),
        np.ascontiguousarray(dt_s, dtype=float),
        np.ascontiguousarray(steps, dtype=np.int64),
    )
