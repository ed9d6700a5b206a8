r"""The posterior Cramér-Rao lower bound (PCRLB) of single-target tracking, recursively.

For :math:`x_{k+1} = f_k(x_k) + w_k`, :math:`w_k \sim \mathcal N(0, Q_k)`, and
:math:`z_k = h_k(x_k) + v_k`, :math:`v_k \sim \mathcal N(0, R_k)`, the mean-square error of any
estimator is bounded below by the inverse of the Fisher information :math:`J_k`,
:math:`\mathrm E[(\hat x_k - x_k)(\hat x_k - x_k)^T] \ge J_k^{-1}`, and :math:`J_k` follows the
recursion of P. Tichavsky, C. H. Muravchik and A. Nehorai, "Posterior Cramér-Rao bounds for
discrete-time nonlinear filtering", IEEE Trans. Signal Processing 46(5), 1998, pp. 1386-1396
(their Proposition 1 and its additive-Gaussian-noise case):

.. math::

    J_{k+1} = D_k^{22} - D_k^{21} \left(J_k + D_k^{11}\right)^{-1} D_k^{12},\qquad
    D^{11} = \mathrm E[F^T Q^{-1} F],\ D^{12} = -\mathrm E[F^T] Q^{-1},\
    D^{22} = Q^{-1} + \mathrm E[H^T R^{-1} H]

with :math:`F = \partial f/\partial x`, :math:`H = \partial h / \partial x`. By the matrix
inversion lemma the first three terms equal :math:`(Q + F J_k^{-1} F^T)^{-1}` when :math:`F` is
taken at one trajectory, which is the form used here, since it also holds for
:math:`Q = 0` (deterministic dynamics, where :math:`Q^{-1}` does not exist):

.. math::

    J_{k+1} = \left(Q_k + F_k J_k^{-1} F_k^T\right)^{-1} + H_{k+1}^T R_{k+1}^{-1} H_{k+1}

[B. Ristic, S. Arulampalam and N. Gordon, *Beyond the Kalman Filter*, Artech House 2004,
section 4.2 (the PCRLB), and chapter 5, where it is evaluated along the true trajectory for the
re-entry of a ballistic object, exactly as here]. The expectations are taken at the true states
(exact for deterministic dynamics: the truth is one trajectory). :math:`J_0` is the inverse of
the filter's initial covariance.

:func:`ballistic_radar_pcrlb` builds :math:`F` from the ballistic model's variational equations
(:func:`airpicture.models.propagate_ballistic_stm`) in the seven-element state
``[x, y, z, vx, vy, vz, kappa]`` of the tracker, and :math:`H` from the radar measurement model.
"""

from __future__ import annotations

import numpy as np

from airpicture.models._atmosphere import STANDARD_ATMOSPHERE, Atmosphere
from airpicture.models._ballistic import propagate_ballistic_stm
from airpicture.models._measurement import SensorGeometry, predict_measurements

__all__ = ["ballistic_radar_pcrlb", "pcrlb_information"]


def _sym(A: np.ndarray) -> np.ndarray:
    return 0.5 * (A + np.swapaxes(A, -1, -2))


def _inverse_spd(A: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive-definite matrix through its Cholesky factor."""
    L = np.linalg.cholesky(_sym(A))
    Linv = np.linalg.solve(L, np.eye(A.shape[-1]))
    return Linv.T @ Linv


def pcrlb_information(
    J0: np.ndarray,
    F: np.ndarray,
    H: np.ndarray,
    R: np.ndarray,
    Q: np.ndarray | None = None,
) -> np.ndarray:
    """Fisher information matrices along a trajectory (module recursion).

    Parameters
    ----------
    J0 : ndarray, shape (k, k)
        Information at the first time (the inverse of the initial covariance).
    F : ndarray, shape (m - 1, k, k)
        Transition Jacobians from each time to the next, at the true states.
    H : ndarray, shape (m, d, k)
        Measurement Jacobians at every time, at the true states (the first is not used: its
        measurement is already in ``J0``).
    R : ndarray, shape (d, d) or (m, d, d)
        Measurement noise covariances.
    Q : ndarray, shape (k, k) or (m - 1, k, k), optional
        Process noise over each step; zero (deterministic dynamics) when omitted.

    Returns
    -------
    J : ndarray, shape (m, k, k)
        Information at every time; the bound on the error covariance is its inverse.

    Examples
    --------
    A constant seen directly twice with unit noise, no prior: information 2.

    >>> J = pcrlb_information(np.eye(1), np.ones((1, 1, 1)), np.ones((2, 1, 1)), np.eye(1))
    >>> float(J[-1, 0, 0])
    2.0
    """
    m = H.shape[0]
    k = J0.shape[0]
    R = np.broadcast_to(R, (m,) + R.shape[-2:])
    Qs = np.zeros((m - 1, k, k)) if Q is None else np.broadcast_to(Q, (m - 1, k, k))
    J = np.empty((m, k, k))
    J[0] = _sym(J0)
    for i in range(m - 1):
        C = Qs[i] + F[i] @ _inverse_spd(J[i]) @ F[i].T
        Hn = H[i + 1]
        J[i + 1] = _sym(_inverse_spd(C) + Hn.T @ np.linalg.solve(R[i + 1], Hn))
    return J


def ballistic_radar_pcrlb(
    x_true: np.ndarray,
    t_s: np.ndarray,
    beta_kgpm2: float,
    geometry: SensorGeometry,
    R: np.ndarray,
    P0: np.ndarray,
    *,
    with_range: bool = True,
    with_range_rate: bool = False,
    Q: np.ndarray | None = None,
    max_step_s: float = 0.5,
    atmosphere: Atmosphere = STANDARD_ATMOSPHERE,
) -> np.ndarray:
    """PCRLB of a ballistic body tracked in the 7-element state of the tracker.

    Parameters
    ----------
    x_true : ndarray, shape (m, 6)
        True ECEF states at the measurement times, m and m/s (one trajectory of the ballistic
        model).
    t_s : ndarray, shape (m,)
        Measurement times, s, increasing.
    beta_kgpm2 : float
        The body's true ballistic coefficient, kg/m^2.
    geometry : SensorGeometry
        The sensor of each measurement (m rows).
    R : ndarray, shape (d, d)
        Measurement noise, in the order ``[range, azimuth, elevation, range rate]`` without the
        parts the sensor does not measure.
    P0 : ndarray, shape (7, 7)
        The filter's covariance after the first measurement (its initial track covariance).
    with_range, with_range_rate : bool
        What the sensor measures (azimuth and elevation always).
    Q : ndarray, shape (7, 7) or (m - 1, 7, 7), optional
        Process noise of each step (zero: the truth is deterministic); the truth's random
        accelerations, whatever the filter assumes.
    max_step_s : float
        Longest integration step of the variational equations, s.
    atmosphere : Atmosphere
        The air the body flies through (the truth's, whatever the filter assumes).

    Returns
    -------
    bound : ndarray, shape (m, 7, 7)
        Lower bounds of the error covariance of ``[x, v, kappa]`` at every measurement time.
    """
    x_true = np.asarray(x_true, dtype=float)
    t_s = np.asarray(t_s, dtype=float)
    m = len(t_s)
    beta = float(beta_kgpm2)
    F = np.tile(np.eye(7), (max(m - 1, 0), 1, 1))
    if m > 1:
        _, Phi, sens = propagate_ballistic_stm(
            x_true[:-1], np.full(m - 1, beta), np.diff(t_s), max_step_s=max_step_s,
            atmosphere=atmosphere,
        )  # fmt: skip
        F[:, :6, :6] = Phi
        F[:, :6, 6] = -sens * beta**2  # d/dkappa = -beta^2 d/dbeta
    _, H6 = predict_measurements(
        x_true, geometry, with_range=with_range, with_range_rate=with_range_rate
    )
    H = np.concatenate([H6, np.zeros(H6.shape[:2] + (1,))], axis=2)
    J = pcrlb_information(
        _inverse_spd(np.asarray(P0, dtype=float)), F, H, np.asarray(R, dtype=float), Q
    )
    return np.stack([_inverse_spd(Jk) for Jk in J])
