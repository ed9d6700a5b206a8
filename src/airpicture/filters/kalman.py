"""Batched extended Kalman filter steps: n independent Gaussian states at once.

Linear(ised) model: x_k|k-1 = F x, P_k|k-1 = F P F^T + Q; measurement z = h(x) + w, w ~ N(0, R),
with Jacobian H. Updates use the Joseph form and Cholesky solves, never an explicit inverse, and
return symmetric covariances. [Bar-Shalom, Li, Kirubarajan, *Estimation with Applications to
Tracking and Navigation*, Wiley 2001, eqs. 5.2.3-5 to 5.2.3-18 (predict/update) and 5.2.3-19
(Joseph form).]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Innovation", "innovation", "predict", "update"]


def _sym(P: np.ndarray) -> np.ndarray:
    return 0.5 * (P + np.swapaxes(P, -1, -2))


def predict(x: np.ndarray, P: np.ndarray, F: np.ndarray, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Propagate n Gaussian states through a linear model.

    x_k|k-1 = F x_k-1,  P_k|k-1 = F P F^T + Q   [Bar-Shalom et al. 2001, eqs. 5.2.3-5, 5.2.3-7]

    Parameters
    ----------
    x : ndarray, shape (n, k)
    P : ndarray, shape (n, k, k)
    F, Q : ndarray, shape (k, k) or (n, k, k)

    Returns
    -------
    x, P : ndarray, shapes (n, k) and (n, k, k)
        New arrays; the inputs are not modified.
    """
    x_new = np.einsum("...ij,...j->...i", F, x)
    P_new = _sym(F @ P @ np.swapaxes(F, -1, -2) + Q)
    return x_new, P_new


@dataclass(frozen=True)
class Innovation:
    """Innovation statistics of m (state, measurement) pairs.

    Attributes
    ----------
    nu : ndarray, shape (m, d)
        Innovation ``z - h(x)``, angles already wrapped by the caller.
    S : ndarray, shape (m, d, d)
        Innovation covariance ``H P H^T + R``.
    L : ndarray, shape (m, d, d)
        Lower Cholesky factor of S.
    d2 : ndarray, shape (m,)
        Squared Mahalanobis distance ``nu^T S^-1 nu``.
    log_det_S : ndarray, shape (m,)
        ``ln det S``.
    """

    nu: np.ndarray
    S: np.ndarray
    L: np.ndarray
    d2: np.ndarray
    log_det_S: np.ndarray


def innovation(nu: np.ndarray, P: np.ndarray, H: np.ndarray, R: np.ndarray) -> Innovation:
    """Innovation covariance, its Cholesky factor and the Mahalanobis distance, batched.

    S = H P H^T + R,  d^2 = nu^T S^-1 nu = |L^-1 nu|^2 with S = L L^T   [eq. 5.2.3-10]

    Parameters
    ----------
    nu : ndarray, shape (m, d)
    P : ndarray, shape (m, k, k)
    H : ndarray, shape (m, d, k)
    R : ndarray, shape (d, d) or (m, d, d)
    """
    S = _sym(H @ P @ np.swapaxes(H, -1, -2) + R)
    L = np.linalg.cholesky(S)
    w = np.linalg.solve(L, nu[..., None])[..., 0]
    d2 = np.einsum("...i,...i->...", w, w)
    log_det = 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=-1)
    return Innovation(nu, S, L, d2, log_det)


def update(
    x: np.ndarray, P: np.ndarray, H: np.ndarray, R: np.ndarray, inn: Innovation
) -> tuple[np.ndarray, np.ndarray]:
    """Kalman update of n predicted states with their innovations, Joseph form.

    K = P H^T S^-1,  x+ = x + K nu,  P+ = (I - K H) P (I - K H)^T + K R K^T
    [Bar-Shalom et al. 2001, eqs. 5.2.3-11, 5.2.3-12, 5.2.3-19]

    Parameters
    ----------
    x : ndarray, shape (n, k)
        Predicted states.
    P : ndarray, shape (n, k, k)
        Predicted covariances.
    H : ndarray, shape (n, d, k)
        Measurement Jacobians at the predicted states.
    R : ndarray, shape (d, d) or (n, d, d)
        Measurement noise.
    inn : Innovation
        From :func:`innovation` for the same rows.

    Returns
    -------
    x, P : ndarray, shapes (n, k) and (n, k, k)
        Updated states and symmetric covariances; new arrays.
    """
    PHt = P @ np.swapaxes(H, -1, -2)
    # K^T = S^-1 (P H^T)^T: a solve, never an explicit inverse.
    Kt = np.linalg.solve(inn.S, np.swapaxes(PHt, -1, -2))
    K = np.swapaxes(Kt, -1, -2)
    x_new = x + np.einsum("nij,nj->ni", K, inn.nu)
    A = np.eye(x.shape[-1]) - K @ H
    P_new = A @ P @ np.swapaxes(A, -1, -2) + K @ R @ Kt
    return x_new, _sym(P_new)
