r"""Nearly-constant-velocity motion in ECEF, batched over tracks.

Each axis of the state ``[x, y, z, vx, vy, vz]`` follows the continuous white-noise acceleration
model with power spectral density ``q`` (m^2/s^3):

.. math::

    F(\Delta t) = \begin{bmatrix} I & \Delta t I \\ 0 & I \end{bmatrix}, \qquad
    Q(\Delta t) = q \begin{bmatrix} \tfrac{|\Delta t|^3}{3} I & \tfrac{\Delta t |\Delta t|}{2} I \\
                                    \tfrac{\Delta t |\Delta t|}{2} I & |\Delta t| I \end{bmatrix}

[Bar-Shalom, Li, Kirubarajan, *Estimation with Applications to Tracking and Navigation*, Wiley
2001, section 6.2.2, eqs. 6.2.2-12 and 6.2.2-14]. For a negative step (retrodiction) the same
formulas hold with the absolute value where written, which keeps Q positive semi-definite.

The ECEF frame rotates; the Coriolis and centripetal terms of level flight (below 0.05 m/s^2 for
an airliner) are absorbed by ``q``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ct_transition", "cv_predict", "cv_process_noise", "cv_transition"]


def cv_transition(dt_s: np.ndarray) -> np.ndarray:
    """Transition matrices ``F(dt)`` for time steps ``dt_s`` of shape (n,): returns (n, 6, 6)."""
    dt = np.atleast_1d(np.asarray(dt_s, dtype=float))
    F = np.broadcast_to(np.eye(6), dt.shape + (6, 6)).copy()
    for k in range(3):
        F[..., k, k + 3] = dt
    return F


def cv_process_noise(dt_s: np.ndarray, q: np.ndarray | float) -> np.ndarray:
    """Process noise ``Q(dt)`` for steps ``dt_s`` (n,) and spectral densities ``q`` (n,) or scalar.

    Returns
    -------
    Q : ndarray, shape (n, 6, 6)
        In m^2, m^2/s and m^2/s^2 blocks.
    """
    dt = np.atleast_1d(np.asarray(dt_s, dtype=float))
    q = np.broadcast_to(np.asarray(q, dtype=float), dt.shape)
    a = np.abs(dt)
    Q = np.zeros(dt.shape + (6, 6))
    for k in range(3):
        Q[..., k, k] = q * a**3 / 3.0
        Q[..., k, k + 3] = Q[..., k + 3, k] = q * dt * a / 2.0
        Q[..., k + 3, k + 3] = q * a
    return Q


def cv_predict(
    x: np.ndarray, P: np.ndarray, dt_s: np.ndarray, q: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Propagate n states through the nearly-constant-velocity model.

    x_k|k-1 = F x,  P_k|k-1 = F P F^T + Q, computed blockwise with 3x3 blocks (no 6x6 products):
    P_pp' = P_pp + dt (P_pv + P_vp) + dt^2 P_vv + Q_pp, P_pv' = P_pv + dt P_vv + Q_pv,
    P_vv' = P_vv + Q_vv.

    Parameters
    ----------
    x : ndarray, shape (n, 6)
        ECEF states, m and m/s.
    P : ndarray, shape (n, 6, 6)
        Covariances.
    dt_s : ndarray, shape (n,) or scalar
        Time step of each row, s; may be negative (retrodiction).
    q : ndarray, shape (n,) or scalar
        Acceleration noise spectral density, m^2/s^3.

    Returns
    -------
    x, P : ndarray, shapes (n, 6) and (n, 6, 6)
        New arrays; the inputs are not modified.
    """
    n = x.shape[0]
    dt = np.broadcast_to(np.asarray(dt_s, dtype=float), (n,))
    qq = np.broadcast_to(np.asarray(q, dtype=float), (n,))
    a = np.abs(dt)
    x_new = x.copy()
    x_new[:, :3] += x[:, 3:] * dt[:, None]
    d = dt[:, None, None]
    Ppp = P[:, :3, :3]
    Ppv = P[:, :3, 3:]
    Pvp = P[:, 3:, :3]
    Pvv = P[:, 3:, 3:]
    eye = np.eye(3)
    P_new = np.empty_like(P)
    P_new[:, :3, :3] = Ppp + d * (Ppv + Pvp) + d * d * Pvv + (qq * a**3 / 3.0)[:, None, None] * eye
    cross = Ppv + d * Pvv + (qq * dt * a / 2.0)[:, None, None] * eye
    P_new[:, :3, 3:] = cross
    P_new[:, 3:, :3] = np.swapaxes(cross, 1, 2)
    P_new[:, 3:, 3:] = Pvv + (qq * a)[:, None, None] * eye
    return x_new, P_new


def ct_transition(dt_s: np.ndarray, omega_radps: np.ndarray, axis: np.ndarray) -> np.ndarray:
    r"""Transition matrices of a coordinated turn at a known rate about a given axis.

    The velocity turns at rate :math:`\omega` about the unit axis :math:`u` (the local vertical),
    so horizontal speed and climb rate are constant:

    .. math::

        v(t) = R_u(\omega t)\, v_0, \qquad
        R_u(\theta) = u u^T + \cos\theta\,(I - u u^T) + \sin\theta\,[u]_\times

        p(t) = p_0 + \Big(t\, u u^T + \frac{\sin \omega t}{\omega}(I - u u^T)
               + \frac{1 - \cos \omega t}{\omega}[u]_\times\Big) v_0

    [the 3-D form of Bar-Shalom, Li, Kirubarajan 2001, eq. 11.7.1-4 (coordinated turn with known
    rate), rotating about an arbitrary axis]. At :math:`\omega \to 0` it tends to ``cv_transition``.

    Parameters
    ----------
    dt_s : ndarray, shape (n,)
        Time steps, s (may be negative).
    omega_radps : ndarray, shape (n,) or scalar
        Turn rates, rad/s; positive turns counter-clockwise seen from above (to the left).
    axis : ndarray, shape (n, 3)
        Unit turn axes in ECEF (the local up direction).

    Returns
    -------
    F : ndarray, shape (n, 6, 6)
    """
    dt = np.atleast_1d(np.asarray(dt_s, dtype=float))
    w = np.broadcast_to(np.asarray(omega_radps, dtype=float), dt.shape)
    wt = w * dt
    small = np.abs(wt) < 1e-9
    w_safe = np.where(small, 1.0, w)
    sin_term = np.where(small, dt, np.sin(wt) / w_safe)
    cos_term = np.where(small, 0.5 * w * dt * dt, (1.0 - np.cos(wt)) / w_safe)
    uu = axis[:, :, None] * axis[:, None, :]
    ux = np.zeros(dt.shape + (3, 3))
    ux[:, 0, 1], ux[:, 0, 2] = -axis[:, 2], axis[:, 1]
    ux[:, 1, 0], ux[:, 1, 2] = axis[:, 2], -axis[:, 0]
    ux[:, 2, 0], ux[:, 2, 1] = -axis[:, 1], axis[:, 0]
    horiz = np.eye(3) - uu
    F = np.zeros(dt.shape + (6, 6))
    F[:, :3, :3] = np.eye(3)
    F[:, :3, 3:] = (
        dt[:, None, None] * uu + sin_term[:, None, None] * horiz + cos_term[:, None, None] * ux
    )
    F[:, 3:, 3:] = uu + np.cos(wt)[:, None, None] * horiz + np.sin(wt)[:, None, None] * ux
    return F
