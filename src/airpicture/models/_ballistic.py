r"""Ballistic flight in the rotating WGS-84 ECEF frame: the one definition of its physics.

The simulator makes ballistic truth with these functions and the filters predict ballistic
tracks with the same ones (architecture principle 4). Everything is batched over ``n`` rows and
pure: arrays in, new arrays out.

State ``x = [x, y, z, vx, vy, vz]`` (m, m/s) is position and velocity in WGS-84 ECEF; the
velocity is relative to the rotating earth and so also relative to the (co-rotating) air. The
equation of motion in the rotating frame is

.. math::

    \ddot{\mathbf r} = \mathbf g(\mathbf r)
        - 2\,\boldsymbol\omega \times \dot{\mathbf r}
        - \boldsymbol\omega \times (\boldsymbol\omega \times \mathbf r)
        - \frac{\rho(h)}{2\beta}\,\lVert\dot{\mathbf r}\rVert\,\dot{\mathbf r}

with :math:`\boldsymbol\omega = (0, 0, \Omega)` the earth's rotation (Coriolis and centrifugal
terms), :math:`\mathbf g` the gravitational acceleration of the earth with its :math:`J_2`
zonal harmonic, :math:`\rho(h)` the exponential atmosphere of
:mod:`airpicture.models._atmosphere` at the geodetic height :math:`h`, and
:math:`\beta = m / (C_D A)` the ballistic coefficient in kg/m^2 [X. R. Li and V. P. Jilkov,
"Survey of maneuvering target tracking. Part II: Motion models of ballistic and space targets",
IEEE Trans. AES 46(1), 2010, pp. 96-119: the ECEF equation of motion with gravity, drag,
Coriolis and centripetal terms]. An infinite :math:`\beta` switches drag off.

Gravity is the gradient of the potential

.. math::

    U(\mathbf r) = \frac{\mu}{r}
        - \frac{\mu J_2 a^2}{2 r^3}\left(\frac{3 z^2}{r^2} - 1\right)

so that, with :math:`k = \tfrac32 J_2 \mu a^2`,

.. math::

    g_x = -\frac{\mu x}{r^3} + k x \left(\frac{5 z^2}{r^7} - \frac{1}{r^5}\right),\quad
    g_y = -\frac{\mu y}{r^3} + k y \left(\frac{5 z^2}{r^7} - \frac{1}{r^5}\right),\quad
    g_z = -\frac{\mu z}{r^3} + k z \left(\frac{5 z^2}{r^7} - \frac{3}{r^5}\right)

[the degree-2 zonal term of the geopotential series, NIMA TR8350.2, 3rd ed., 2000, chapter 5,
with :math:`J_2 = -\sqrt5\,\bar C_{20}`; its Cartesian gradient as in D. A. Vallado,
*Fundamentals of Astrodynamics and Applications*, 4th ed., Microcosm 2013, chapter 8], with
:math:`\mu` = ``WGS84_GM_M3PS2``, :math:`a` = ``WGS84_A_M``, :math:`J_2` = ``WGS84_J2`` and
:math:`\Omega` = ``WGS84_OMEGA_RADPS``. :math:`J_2` is axially symmetric, so the same formula
holds in the rotating and in an inertial frame. At the ellipsoid's surface this field plus the
centrifugal term gives 9.78028 m/s^2 at the equator and 9.83207 m/s^2 at the poles, against
WGS-84 normal gravity of 9.7803253 and 9.8321849 m/s^2 (the difference is :math:`J_4` and
higher, left out).

Two switches serve closed-form checks and simple studies: ``spherical=True`` drops :math:`J_2`
(a point-mass earth) and ``rotating=False`` drops the Coriolis and centrifugal terms (the frame
is then taken as inertial).

For an extended Kalman filter the derivative :math:`f(\mathbf x) = [\dot{\mathbf r},
\ddot{\mathbf r}]` has the Jacobian :func:`ballistic_jacobian` (with respect to the state and to
:math:`\beta`), and :func:`propagate_ballistic_stm` integrates the state together with its
transition matrix and its sensitivity to :math:`\beta`. A filter that estimates :math:`\beta`
augments the state to ``[x, beta]`` and uses ``[[A, b], [0, 0]]``.
"""

from __future__ import annotations

import math

import numpy as np

from airpicture.geo._frames import ecef2geodetic
from airpicture.geo._wgs84 import WGS84_A_M, WGS84_GM_M3PS2, WGS84_J2, WGS84_OMEGA_RADPS
from airpicture.models._atmosphere import STANDARD_ATMOSPHERE, Atmosphere

__all__ = [
    "ballistic_acceleration",
    "ballistic_derivative",
    "ballistic_jacobian",
    "gravity_acceleration",
    "gravity_gradient",
    "gravity_potential",
    "ground_crossing",
    "propagate_ballistic",
    "propagate_ballistic_stm",
]

_K_J2 = 1.5 * WGS84_J2 * WGS84_GM_M3PS2 * WGS84_A_M**2
_C_J2 = np.array([1.0, 1.0, 3.0])


def _as_rows(x: np.ndarray, width: int) -> np.ndarray:
    out = np.asarray(x, dtype=float)
    if out.ndim != 2 or out.shape[1] != width:
        raise ValueError(f"expected an array of shape (n, {width}), got shape {out.shape}")
    return out


def _per_row(value: np.ndarray | float, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=float), (n,))


def gravity_potential(r_m: np.ndarray, *, spherical: bool = False) -> np.ndarray:
    r"""Gravitational potential :math:`U` of the earth (:math:`\mathbf g = \nabla U`).

    Parameters
    ----------
    r_m : ndarray, shape (n, 3)
        ECEF (or inertial, the field is axially symmetric) positions, m.
    spherical : bool
        Point mass only (no :math:`J_2`).

    Returns
    -------
    U : ndarray, shape (n,)
        Potential, J/kg (m^2/s^2), positive: :math:`\mu / r` for a point mass.
    """
    r_vec = _as_rows(r_m, 3)
    r2 = np.einsum("ij,ij->i", r_vec, r_vec)
    r = np.sqrt(r2)
    u = WGS84_GM_M3PS2 / r
    if not spherical:
        z2 = r_vec[:, 2] ** 2
        u = u - WGS84_GM_M3PS2 * WGS84_J2 * WGS84_A_M**2 / (2.0 * r * r2) * (3.0 * z2 / r2 - 1.0)
    return u


def gravity_acceleration(r_m: np.ndarray, *, spherical: bool = False) -> np.ndarray:
    """Gravitational acceleration with the J2 zonal harmonic (module equations).

    Parameters
    ----------
    r_m : ndarray, shape (n, 3)
        ECEF positions, m.
    spherical : bool
        Point mass only (no J2).

    Returns
    -------
    g : ndarray, shape (n, 3)
        Acceleration, m/s^2, in the frame of ``r_m``. No centrifugal term (see
        :func:`ballistic_acceleration`).

    Examples
    --------
    >>> g = gravity_acceleration(np.array([[6378137.0, 0.0, 0.0]]))
    >>> round(float(-g[0, 0]), 4)
    9.8142
    """
    r_vec = _as_rows(r_m, 3)
    r2 = np.einsum("ij,ij->i", r_vec, r_vec)
    inv_r = 1.0 / np.sqrt(r2)
    inv_r3 = inv_r / r2
    g = -WGS84_GM_M3PS2 * inv_r3[:, None] * r_vec
    if not spherical:
        inv_r5 = inv_r3 / r2
        inv_r7 = inv_r5 / r2
        z2 = r_vec[:, 2] ** 2
        g = g + _K_J2 * r_vec * ((5.0 * z2 * inv_r7)[:, None] - _C_J2 * inv_r5[:, None])
    return g


def gravity_gradient(r_m: np.ndarray, *, spherical: bool = False) -> np.ndarray:
    r"""Gradient :math:`\partial g_i / \partial r_j` of :func:`gravity_acceleration`.

    Point mass: :math:`-\mu (\delta_{ij} r^{-3} - 3 r_i r_j r^{-5})`; the :math:`J_2` part,
    differentiating :math:`k\, r_i (5 z^2 r^{-7} - c_i r^{-5})` with :math:`c = (1, 1, 3)`:

    .. math::

        k\left[\delta_{ij}\left(\frac{5z^2}{r^7} - \frac{c_i}{r^5}\right)
        + r_i\left(\frac{10 z \delta_{jz}}{r^7} - \frac{35 z^2 r_j}{r^9}
        + \frac{5 c_i r_j}{r^7}\right)\right]

    Parameters
    ----------
    r_m : ndarray, shape (n, 3)
        ECEF positions, m.
    spherical : bool
        Point mass only.

    Returns
    -------
    G : ndarray, shape (n, 3, 3)
        Symmetric gravity gradients, 1/s^2.
    """
    r_vec = _as_rows(r_m, 3)
    n = r_vec.shape[0]
    r2 = np.einsum("ij,ij->i", r_vec, r_vec)
    inv_r = 1.0 / np.sqrt(r2)
    inv_r3 = inv_r / r2
    inv_r5 = inv_r3 / r2
    outer = r_vec[:, :, None] * r_vec[:, None, :]
    eye = np.broadcast_to(np.eye(3), (n, 3, 3))
    G = -WGS84_GM_M3PS2 * (eye * inv_r3[:, None, None] - 3.0 * outer * inv_r5[:, None, None])
    if not spherical:
        inv_r7 = inv_r5 / r2
        inv_r9 = inv_r7 / r2
        z = r_vec[:, 2]
        diag = (5.0 * z * z * inv_r7)[:, None] - _C_J2 * inv_r5[:, None]
        J = eye * diag[:, :, None]
        J = J - outer * (35.0 * z * z * inv_r9)[:, None, None]
        J = J + (r_vec * _C_J2)[:, :, None] * r_vec[:, None, :] * (5.0 * inv_r7)[:, None, None]
        J[:, :, 2] += r_vec * (10.0 * z * inv_r7)[:, None]
        G = G + _K_J2 * J
    return G


def _drag_terms(
    x: np.ndarray, beta: np.ndarray, atmosphere: Atmosphere
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drag coefficient rho/(2 beta) (n,), speed |v| (n,) and geodetic up vector (n, 3)."""
    lat, lon, alt = ecef2geodetic(x[:, 0], x[:, 1], x[:, 2])
    coef = atmosphere.density(alt) / (2.0 * beta)
    speed = np.sqrt(np.einsum("ij,ij->i", x[:, 3:], x[:, 3:]))
    cl = np.cos(lat)
    up = np.stack([cl * np.cos(lon), cl * np.sin(lon), np.sin(lat)], axis=-1)
    return coef, speed, up


def ballistic_acceleration(
    x: np.ndarray,
    beta: np.ndarray | float,
    *,
    spherical: bool = False,
    rotating: bool = True,
    atmosphere: Atmosphere = STANDARD_ATMOSPHERE,
) -> np.ndarray:
    """Acceleration of unpowered bodies in the ECEF frame (module equation of motion).

    Parameters
    ----------
    x : ndarray, shape (n, 6)
        ECEF states ``[x, y, z, vx, vy, vz]``, m and m/s (velocity relative to the earth).
    beta : ndarray, shape (n,), or float
        Ballistic coefficient m / (C_D A), kg/m^2, positive; ``np.inf`` for no drag.
    spherical : bool
        Point-mass gravity (no J2).
    rotating : bool
        Include the Coriolis and centrifugal terms of the rotating frame.
    atmosphere : Atmosphere
        The air the bodies fly through (the package's standard atmosphere by default).

    Returns
    -------
    a : ndarray, shape (n, 3)
        Acceleration relative to the frame, m/s^2.

    Examples
    --------
    A body at rest on the equator feels gravity less the centrifugal term:

    >>> x = np.array([[6378137.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    >>> round(float(-ballistic_acceleration(x, np.inf)[0, 0]), 4)
    9.7803
    """
    x = _as_rows(x, 6)
    n = x.shape[0]
    beta = _per_row(beta, n)
    a = gravity_acceleration(x[:, :3], spherical=spherical)
    if rotating:
        w = WGS84_OMEGA_RADPS
        w2 = w * w
        a[:, 0] += w2 * x[:, 0] + 2.0 * w * x[:, 4]
        a[:, 1] += w2 * x[:, 1] - 2.0 * w * x[:, 3]
    drag = np.isfinite(beta)
    if drag.any():
        coef, speed, _ = _drag_terms(x, beta, atmosphere)
        a -= (coef * speed)[:, None] * x[:, 3:]
    return a


def ballistic_derivative(
    x: np.ndarray,
    beta: np.ndarray | float,
    *,
    spherical: bool = False,
    rotating: bool = True,
    atmosphere: Atmosphere = STANDARD_ATMOSPHERE,
) -> np.ndarray:
    """Time derivative ``f(x) = [v, a]`` of ballistic states (shapes and units as above).

    Returns
    -------
    dx_dt : ndarray, shape (n, 6)
        ``[vx, vy, vz, ax, ay, az]``, m/s and m/s^2.
    """
    x = _as_rows(x, 6)
    return np.concatenate(
        [
            x[:, 3:],
            ballistic_acceleration(
                x, beta, spherical=spherical, rotating=rotating, atmosphere=atmosphere
            ),
        ],
        axis=1,
    )


def ballistic_jacobian(
    x: np.ndarray,
    beta: np.ndarray | float,
    *,
    spherical: bool = False,
    rotating: bool = True,
    atmosphere: Atmosphere = STANDARD_ATMOSPHERE,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Jacobians of the derivative ``f(x, beta)`` with respect to the state and to beta.

    .. math::

        A = \frac{\partial f}{\partial \mathbf x} =
        \begin{bmatrix} 0 & I \\ G + C_r + D_r & C_v + D_v \end{bmatrix},\qquad
        \mathbf b = \frac{\partial f}{\partial \beta} =
        \begin{bmatrix} 0 \\ \frac{\rho}{2\beta^2}\lVert\mathbf v\rVert\mathbf v \end{bmatrix}

    with :math:`G` from :func:`gravity_gradient`, centrifugal :math:`C_r =
    \mathrm{diag}(\Omega^2, \Omega^2, 0)`, Coriolis :math:`C_v = [[0, 2\Omega, 0], [-2\Omega, 0,
    0], [0, 0, 0]]`, drag :math:`D_v = -\frac{\rho}{2\beta}(\lVert\mathbf v\rVert I +
    \mathbf v \mathbf v^T / \lVert\mathbf v\rVert)` and :math:`D_r = \frac{\rho
    \lVert\mathbf v\rVert}{2\beta H} \mathbf v \mathbf n^T`, where :math:`\mathbf n` is the
    ellipsoid normal (the gradient of the geodetic height) and :math:`H` the scale height.

    Parameters
    ----------
    x : ndarray, shape (n, 6)
        ECEF states, m and m/s.
    beta : ndarray, shape (n,), or float
        Ballistic coefficients, kg/m^2 (``np.inf``: no drag, and ``b`` is zero).
    spherical, rotating, atmosphere
        As in :func:`ballistic_acceleration`.

    Returns
    -------
    A : ndarray, shape (n, 6, 6)
        ``df/dx``: rows ``[dv/dx; da/dx]``, units 1/s and 1/s^2.
    b : ndarray, shape (n, 6)
        ``df/dbeta``: zeros, then ``da/dbeta`` in (m/s^2) / (kg/m^2).
    """
    x = _as_rows(x, 6)
    n = x.shape[0]
    beta = _per_row(beta, n)
    A = np.zeros((n, 6, 6))
    A[:, 0, 3] = A[:, 1, 4] = A[:, 2, 5] = 1.0
    A[:, 3:, :3] = gravity_gradient(x[:, :3], spherical=spherical)
    if rotating:
        w = WGS84_OMEGA_RADPS
        A[:, 3, 0] += w * w
        A[:, 4, 1] += w * w
        A[:, 3, 4] += 2.0 * w
        A[:, 4, 3] -= 2.0 * w
    b = np.zeros((n, 6))
    if np.isfinite(beta).any():
        coef, speed, up = _drag_terms(x, beta, atmosphere)
        v = x[:, 3:]
        moving = speed > 0.0
        unit = np.divide(v, speed[:, None], out=np.zeros_like(v), where=moving[:, None])
        eye = np.eye(3)
        A[:, 3:, 3:] -= coef[:, None, None] * (
            speed[:, None, None] * eye + v[:, :, None] * unit[:, None, :]
        )
        A[:, 3:, :3] += (coef * speed / atmosphere.scale_height_m)[:, None, None] * (
            v[:, :, None] * up[:, None, :]
        )
        b[:, 3:] = (coef * speed / beta)[:, None] * v
    return A, b


def _substeps(dt: np.ndarray, max_step_s: float) -> int:
    if not (math.isfinite(max_step_s) and max_step_s > 0.0):
        raise ValueError(f"max_step_s must be a positive finite number, got {max_step_s!r}")
    finite = np.abs(dt[np.isfinite(dt)])
    if finite.size == 0:
        return 0
    return int(np.ceil(finite.max() / max_step_s))


def propagate_ballistic(
    x: np.ndarray,
    beta: np.ndarray | float,
    dt_s: np.ndarray | float,
    *,
    max_step_s: float = 1.0,
    spherical: bool = False,
    rotating: bool = True,
    atmosphere: Atmosphere = STANDARD_ATMOSPHERE,
) -> np.ndarray:
    r"""Propagate ballistic states by ``dt_s`` with the classical fourth-order Runge-Kutta method.

    Each row takes the same number of equal substeps, ``N = ceil(max|dt| / max_step_s)``, of
    length ``dt_i / N`` [E. Hairer, S. P. Norsett, G. Wanner, *Solving Ordinary Differential
    Equations I*, 2nd ed., Springer 1993, section II.1 (the classical Runge-Kutta method)]. The
    local error is O(h^5); with 1 s steps on a drag-free arc it is far below a millimetre per
    step.

    Parameters
    ----------
    x : ndarray, shape (n, 6)
        ECEF states, m and m/s.
    beta : ndarray, shape (n,), or float
        Ballistic coefficients, kg/m^2 (``np.inf`` for no drag).
    dt_s : ndarray, shape (n,), or float
        Time step of each row, s; negative steps integrate backwards, zero leaves a row as it is.
    max_step_s : float
        Longest substep, s.
    spherical, rotating, atmosphere
        As in :func:`ballistic_acceleration`.

    Returns
    -------
    x_new : ndarray, shape (n, 6)
        States at ``t + dt_s``; rows with a NaN state or step stay NaN.

    Examples
    --------
    >>> x = np.array([[6378137.0 + 100e3, 0.0, 0.0, 0.0, 0.0, 0.0]])
    >>> x1 = propagate_ballistic(x, np.inf, 10.0)
    >>> bool(x1[0, 0] < x[0, 0])
    True
    """
    x = _as_rows(x, 6).copy()
    n = x.shape[0]
    beta = _per_row(beta, n)
    dt = _per_row(dt_s, n)
    steps = _substeps(dt, max_step_s)
    if steps == 0:
        return x
    h = (dt / steps)[:, None]

    def f(s: np.ndarray) -> np.ndarray:
        return ballistic_derivative(
            s, beta, spherical=spherical, rotating=rotating, atmosphere=atmosphere
        )

    for _ in range(steps):
        k1 = f(x)
        k2 = f(x + 0.5 * h * k1)
        k3 = f(x + 0.5 * h * k2)
        k4 = f(x + h * k3)
        x = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return x


def propagate_ballistic_stm(
    x: np.ndarray,
    beta: np.ndarray | float,
    dt_s: np.ndarray | float,
    *,
    max_step_s: float = 1.0,
    spherical: bool = False,
    rotating: bool = True,
    atmosphere: Atmosphere = STANDARD_ATMOSPHERE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Propagate states with their transition matrices and sensitivities to beta.

    Integrates, with the same RK4 substeps as :func:`propagate_ballistic`, the variational
    equations

    .. math::

        \dot\Phi = A(\mathbf x)\,\Phi,\quad \Phi(0) = I, \qquad
        \dot{\mathbf s} = A(\mathbf x)\,\mathbf s + \mathbf b(\mathbf x), \quad \mathbf s(0) = 0

    so that :math:`\Phi = \partial\mathbf x(t + \Delta t) / \partial \mathbf x(t)` and
    :math:`\mathbf s = \partial\mathbf x(t + \Delta t) / \partial\beta` [O. Montenbruck and
    E. Gill, *Satellite Orbits*, Springer 2000, chapter 7 (variational equations)]. An EKF
    predicts with ``P' = Phi P Phi^T + Q``, or with ``[[Phi, s], [0, 1]]`` when beta is in the
    state.

    Parameters
    ----------
    x, beta, dt_s, max_step_s, spherical, rotating, atmosphere
        As in :func:`propagate_ballistic`.

    Returns
    -------
    x_new : ndarray, shape (n, 6)
        Propagated states (identical to :func:`propagate_ballistic`).
    Phi : ndarray, shape (n, 6, 6)
        State transition matrices.
    s : ndarray, shape (n, 6)
        Sensitivities of the propagated state to beta, (m, m/s) per kg/m^2.
    """
    x = _as_rows(x, 6).copy()
    n = x.shape[0]
    beta = _per_row(beta, n)
    dt = _per_row(dt_s, n)
    Phi = np.broadcast_to(np.eye(6), (n, 6, 6)).copy()
    s = np.zeros((n, 6))
    steps = _substeps(dt, max_step_s)
    if steps == 0:
        return x, Phi, s
    h = (dt / steps)[:, None]
    h3 = h[:, :, None]

    def f(
        xs: np.ndarray, P: np.ndarray, ss: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        A, b = ballistic_jacobian(
            xs, beta, spherical=spherical, rotating=rotating, atmosphere=atmosphere
        )
        dx = ballistic_derivative(
            xs, beta, spherical=spherical, rotating=rotating, atmosphere=atmosphere
        )
        return dx, A @ P, np.einsum("nij,nj->ni", A, ss) + b

    for _ in range(steps):
        k1 = f(x, Phi, s)
        k2 = f(x + 0.5 * h * k1[0], Phi + 0.5 * h3 * k1[1], s + 0.5 * h * k1[2])
        k3 = f(x + 0.5 * h * k2[0], Phi + 0.5 * h3 * k2[1], s + 0.5 * h * k2[2])
        k4 = f(x + h * k3[0], Phi + h3 * k3[1], s + h * k3[2])
        x = x + (h / 6.0) * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0])
        Phi = Phi + (h3 / 6.0) * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1])
        s = s + (h / 6.0) * (k1[2] + 2.0 * k2[2] + 2.0 * k3[2] + k4[2])
    return x, Phi, s


def ground_crossing(
    x0: np.ndarray,
    beta: np.ndarray,
    h0: np.ndarray,
    h1: np.ndarray,
    step_s: np.ndarray | float,
    *,
    max_step_s: float,
    tolerance_m: float,
    iterations: int,
    atmosphere: Atmosphere = STANDARD_ATMOSPHERE,
) -> tuple[np.ndarray, np.ndarray]:
    """Time into a ballistic step and the state there, where the height crosses zero.

    Regula falsi, Illinois variant [M. Dowell and P. Jarratt, "A modified regula falsi method
    for computing the root of an equation", BIT 11, 1971, pp. 168-174], on ``tau`` in
    ``[0, step_s]`` with ``h(0) = h0 > 0`` and ``h(step_s) = h1 <= 0``; each evaluation
    propagates ``x0`` by ``tau`` (:func:`propagate_ballistic`).

    Parameters
    ----------
    x0 : ndarray, shape (m, 6)
        ECEF states at the start of the step.
    beta : ndarray, shape (m,)
        Ballistic coefficients, kg/m^2.
    h0, h1 : ndarray, shape (m,)
        Geodetic heights at the start and the end of the step, m.
    step_s : ndarray or float
        The step, s (negative to search backwards in time).
    max_step_s : float
        Largest integration substep, s.
    tolerance_m : float
        Stop once every height is within this of zero, m.
    iterations : int
        At most this many evaluations.
    atmosphere : Atmosphere
        As in :func:`ballistic_acceleration`.

    Returns
    -------
    tau : ndarray, shape (m,)
        Time from ``x0`` to the crossing, s (signed like ``step_s``).
    x : ndarray, shape (m, 6)
        States at the crossing.
    """
    a, fa = np.zeros(h0.shape), h0.copy()
    b, fb = np.broadcast_to(np.asarray(step_s, dtype=float), h0.shape).copy(), h1.copy()
    side = np.zeros(h0.shape)
    tau, xt = b, x0
    for _ in range(iterations):
        tau = (a * fb - b * fa) / (fb - fa)
        xt = propagate_ballistic(x0, beta, tau, max_step_s=max_step_s, atmosphere=atmosphere)
        ft = ecef2geodetic(xt[:, 0], xt[:, 1], xt[:, 2])[2]
        if np.all(np.abs(ft) < tolerance_m):
            break
        beyond = ft > 0.0  # the crossing lies beyond tau
        # Illinois: halve the stale end's value when the same end is kept twice in a row
        fb = np.where(beyond & (side > 0), 0.5 * fb, fb)
        fa = np.where(~beyond & (side < 0), 0.5 * fa, fa)
        a, fa = np.where(beyond, tau, a), np.where(beyond, ft, fa)
        b, fb = np.where(beyond, b, tau), np.where(beyond, fb, ft)
        side = np.where(beyond, 1.0, -1.0)
    return tau, xt
