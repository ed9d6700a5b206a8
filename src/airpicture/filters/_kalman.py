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

__all__ = [
    "Innovation",
    "cho_solve",
    "innovation",
    "predict",
    "solve_lower",
    "symmetrize",
    "update",
]


def symmetrize(P: np.ndarray) -> np.ndarray:
    """Replace each matrix of a stack by the average of itself and its transpose, in place.

    Parameters
    ----------
    P : ndarray, shape (..., k, k)
        Square matrices; modified in place.

    Returns
    -------
    ndarray
        ``P`` itself, now exactly symmetric.
    """
    P += np.swapaxes(P, -1, -2)  # numpy buffers the overlapping operand
    P *= 0.5
    return P


def solve_lower(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``L Y = B`` by forward substitution, batched over small lower-triangular factors.

    Parameters
    ----------
    L : ndarray, shape (m, d, d)
        Lower-triangular matrices with a non-zero diagonal (Cholesky factors).
    B : ndarray, shape (m, d, c)
        Right-hand sides.

    Returns
    -------
    Y : ndarray, shape (m, d, c)
    """
    Y = np.empty(np.broadcast_shapes(L.shape[:-1], B.shape[:-1]) + B.shape[-1:])
    for i in range(L.shape[-1]):
        Y[:, i] = (B[:, i] - (L[:, i, None, :i] @ Y[:, :i])[:, 0]) / L[:, i, i, None]
    return Y


def cho_solve(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``S X = B`` with ``S = L L^T``: forward, then backward substitution, batched.

    For the small innovation covariances of a filter (d of 2 to 4) the substitutions, a few
    vectorised operations per row of ``L``, cost far less than a general batched solve.

    Parameters
    ----------
    L : ndarray, shape (m, d, d)
        Lower Cholesky factors of ``S``.
    B : ndarray, shape (m, d, c)
        Right-hand sides.

    Returns
    -------
    X : ndarray, shape (m, d, c)
    """
    Y = solve_lower(L, B)
    d = L.shape[-1]
    X = np.empty_like(Y)
    for i in range(d - 1, -1, -1):
        X[:, i] = (Y[:, i] - (L[:, None, i + 1 :, i] @ X[:, i + 1 :])[:, 0]) / L[:, i, i, None]
    return X


def predict(
    x: np.ndarray, P: np.ndarray, F: np.ndarray, Q: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
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
    P_new = F @ P @ np.swapaxes(F, -1, -2)
    P_new += Q
    symmetrize(P_new)
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
    S = H @ P @ np.swapaxes(H, -1, -2)
    S += R
    symmetrize(S)
    L = np.linalg.cholesky(S)
    w = solve_lower(L, nu[..., None])[..., 0]
    d2 = np.einsum("...i,...i->...", w, w)
    log_det = 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=-1)
    return Innovation(nu, S, L, d2, log_det)


def update(
    x: np.ndarray, P: np.ndarray, H: np.ndarray, R: np.ndarray, inn: Innovation
) -> tuple[np.ndarray, np.ndarray]:
    """Kalman update of n predicted states with their innovations, Joseph form.

    K = P H^T S^-1,  x+ = x + K nu,  P+ = (I - K H) P (I - K H)^T + K R K^T
    [Bar-Shalom et al. 2001, eqs. 5.2.3-11, 5.2.3-12, 5.2.3-19]. The gain comes from the
    Cholesky factor of S (:func:`cho_solve`), and the Joseph form is evaluated through products
    of rank d: with ``A P = P - K (H P)``, ``P+ = A P - (A P H^T - K R) K^T``.

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
    HP = H @ P  # = (P H^T)^T, P being symmetric
    # K^T = S^-1 H P: Cholesky solves, never an explicit inverse.
    Kt = cho_solve(inn.L, HP)
    K = np.swapaxes(Kt, -1, -2)
    x_new = x + (K @ inn.nu[..., None])[..., 0]
    P_new = K @ HP
    np.subtract(P, P_new, out=P_new)  # A P
    P_new -= (P_new @ np.swapaxes(H, -1, -2) - K @ R) @ Kt
    return x_new, symmetrize(P_new)
