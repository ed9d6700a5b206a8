"""Track-to-track association and fusion: chi-square distances, covariance intersection, quality.

Pure batched numerics over tracks given as ECEF states ``x`` (n, 6) and covariances ``P``
(n, 6, 6). Two nations' tracks of one object share information (common detections, common
process noise), and that correlation is unknown at the receiver, so states are fused by
covariance intersection, which is consistent whatever the correlation: the fused covariance
never claims more than the information actually there.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from airpicture.models._motion import cv_predict
from airpicture.tracker._dynamics import ballistic_transition

__all__ = [
    "covariance_intersection",
    "pair_distances",
    "predict_tracks",
    "spd_problems",
    "track_quality",
]

_TQ_SIGMA_M = 25.0
"""Position standard deviation of quality 15; each step down doubles it."""


def track_quality(P_pos: np.ndarray) -> np.ndarray:
    """Track quality 0-15 of position covariances, as coalition data links grade tracks.

    15 when the largest position standard deviation is at most 25 m, one less for each
    doubling beyond (14 up to 50 m, 13 up to 100 m, ... 0 beyond about 400 km).

    Parameters
    ----------
    P_pos : ndarray, shape (n, 3, 3)
        ECEF position covariances, m^2.

    Returns
    -------
    ndarray of int8, shape (n,)

    Examples
    --------
    >>> track_quality(np.array([np.eye(3) * 25.0**2, np.eye(3) * 60.0**2])).tolist()
    [15, 13]
    """
    P_pos = np.asarray(P_pos, dtype=float)
    if len(P_pos) == 0:
        return np.empty(0, np.int8)
    largest = np.linalg.eigvalsh(P_pos)[:, -1]
    sigma = np.sqrt(np.maximum(largest, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.ceil(np.log2(np.maximum(sigma, 1e-9) / _TQ_SIGMA_M))
    steps = np.where(np.isfinite(steps), steps, 15.0)
    return np.clip(15 - steps, 0, 15).astype(np.int8)


def spd_problems(P: np.ndarray, max_sigma_m: float = 1e6) -> np.ndarray:
    """What is wrong with each covariance, or an empty string where nothing is.

    A track's covariance must be finite, symmetric (to 1e-6 relative), positive-definite
    (a Cholesky factor exists) and of a sane size (position standard deviations at most
    ``max_sigma_m``): anything else cannot be fused and says the sender's filter is broken.

    Parameters
    ----------
    P : ndarray, shape (n, d, d)
        Covariances, d >= 3 (the first three axes are position, m).

    Returns
    -------
    ndarray of str, shape (n,)
    """
    P = np.asarray(P, dtype=float)
    out = np.full(len(P), "", dtype=object)
    finite = np.isfinite(P).all(axis=(1, 2))
    out[~finite] = "not finite"
    scale = np.maximum(np.abs(P).max(axis=(1, 2), initial=0.0), 1e-300)
    asym = np.abs(P - np.swapaxes(P, 1, 2)).max(axis=(1, 2), initial=0.0) > 1e-6 * scale
    out[finite & asym & (out == "")] = "not symmetric"
    check = np.flatnonzero(out == "")
    for i in check:  # a per-row test: one bad row must not fail the batch
        try:
            np.linalg.cholesky(P[i])
        except np.linalg.LinAlgError:
            out[i] = "not positive-definite"
    big = np.diagonal(P[:, :3, :3], axis1=1, axis2=2).max(axis=1, initial=0.0)
    out[(out == "") & (big > max_sigma_m**2)] = f"position sd above {max_sigma_m:g} m"
    return out.astype(str)


def covariance_intersection(
    x: np.ndarray, P: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse groups of estimates of one state each by covariance intersection.

    ``P_f^-1 = sum_i w_i P_i^-1`` and ``x_f = P_f sum_i w_i P_i^-1 x_i`` with weights on the
    simplex, ``w_i`` proportional to ``1 / trace(P_i)`` (the fast approximation of the
    trace-minimising weights): consistent for any correlation between the estimates, and a
    group of one is returned unchanged.

    Parameters
    ----------
    x : ndarray, shape (k, m, d)
        Up to m estimates for each of k groups.
    P : ndarray, shape (k, m, d, d)
        Their covariances (symmetric positive-definite where valid).
    valid : ndarray of bool, shape (k, m)
        Which slots hold an estimate (every group at least one).

    Returns
    -------
    x, P : ndarray, shapes (k, d) and (k, d, d)
    """
    x, P, valid = np.asarray(x, float), np.asarray(P, float), np.asarray(valid, bool)
    k, m, d = x.shape
    eye = np.broadcast_to(np.eye(d), P.shape)
    Pv = np.where(valid[:, :, None, None], P, eye)
    trace = np.trace(Pv, axis1=2, axis2=3)
    w = np.where(valid, 1.0 / trace, 0.0)
    w /= w.sum(axis=1, keepdims=True)
    info = np.linalg.inv(Pv)
    I_f = np.einsum("km,kmij->kij", w, info)
    y_f = np.einsum("km,kmij,kmj->ki", w, info, np.where(valid[:, :, None], x, 0.0))
    P_f = np.linalg.inv(I_f)
    P_f = 0.5 * (P_f + np.swapaxes(P_f, 1, 2))
    return np.einsum("kij,kj->ki", P_f, y_f), P_f


def pair_distances(
    xa: np.ndarray,
    Pa: np.ndarray,
    xb: np.ndarray,
    Pb: np.ndarray,
    gate: float,
    reach_m: float = 50_000.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Squared Mahalanobis distances of the gated pairs of two track sets at one time.

    Pairs are first found with a k-d tree over positions (within ``reach_m`` plus four
    position standard deviations of the larger track), then tested exactly: ``d2 = e^T (Pa +
    Pb)^-1 e`` over the full state (position and velocity), kept where ``d2 <= gate``. The
    tracks' cross-covariance is unknown and left out, which makes the test lenient for tracks
    built on common detections (their difference is smaller than the sum says).

    Parameters
    ----------
    xa, Pa : ndarray, shapes (na, d) and (na, d, d)
    xb, Pb : ndarray, shapes (nb, d) and (nb, d, d)
    gate : float
        Chi-square threshold on d2 (d degrees of freedom).
    reach_m : float
        Pre-gate distance added to the spread.

    Returns
    -------
    ia, ib : ndarray of int64, shape (k,)
        The gated pairs.
    d2 : ndarray, shape (k,)
    """
    empty = np.empty(0, np.int64)
    if len(xa) == 0 or len(xb) == 0:
        return empty, empty, np.empty(0)
    spread_a = np.sqrt(np.trace(Pa[:, :3, :3], axis1=1, axis2=2))
    spread_b = np.sqrt(np.trace(Pb[:, :3, :3], axis1=1, axis2=2))
    radius = reach_m + 4.0 * max(float(spread_a.max()), float(spread_b.max()))
    near = cKDTree(xb[:, :3]).query_ball_point(xa[:, :3], r=radius)
    counts = np.fromiter((len(n) for n in near), dtype=np.int64, count=len(near))
    if counts.sum() == 0:
        return empty, empty, np.empty(0)
    ia = np.repeat(np.arange(len(xa)), counts)
    ib = np.fromiter((j for n in near for j in n), dtype=np.int64, count=int(counts.sum()))
    e = xa[ia] - xb[ib]
    S = Pa[ia] + Pb[ib]
    d2 = np.einsum("ki,ki->k", e, np.linalg.solve(S, e[:, :, None])[:, :, 0])
    ok = d2 <= gate
    return ia[ok], ib[ok], d2[ok]


def predict_tracks(
    x: np.ndarray,
    P: np.ndarray,
    dt_s: np.ndarray,
    free_flight: np.ndarray,
    q_mps2: float,
    q_free_mps2: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """Bring tracks' states forward (or back) by ``dt_s``, each with the motion it is in.

    A body in free flight (a ballistic track: ``free_flight``) follows gravity, drag (with its
    inverse ballistic coefficient, the state's seventh element) and the Earth's rotation
    (:func:`~airpicture.tracker.ballistic_transition`, the tracker's own free-flight
    model): over two seconds a constant velocity would miss it by some 20 m and 20 m/s, far
    outside a missile track's covariance. Anything else moves at nearly constant velocity with
    acceleration noise ``q_mps2``.

    Parameters
    ----------
    x : ndarray, shape (n, 7)
        ECEF position and velocity (m, m/s) and the inverse ballistic coefficient (m^2/kg).
    P : ndarray, shape (n, 7, 7)
    dt_s : ndarray, shape (n,)
    free_flight : ndarray of bool, shape (n,)
    q_mps2, q_free_mps2 : float
        Acceleration noise densities (constant velocity, free flight), m^2/s^3.

    Returns
    -------
    x, P : ndarray, shapes (n, 6) and (n, 6, 6)
    """
    n = len(x)
    dt = np.broadcast_to(np.asarray(dt_s, dtype=float), (n,))
    out_x, out_P = np.empty((n, 6)), np.empty((n, 6, 6))
    cv = ~np.asarray(free_flight, dtype=bool)
    if cv.any():
        out_x[cv], out_P[cv] = cv_predict(x[cv, :6], P[cv, :6, :6], dt[cv], q_mps2)
    ff = ~cv
    if ff.any():
        xb, F = ballistic_transition(x[ff], dt[ff])
        Pb = F @ P[ff] @ np.swapaxes(F, 1, 2)
        d = np.abs(dt[ff])[:, None, None]
        eye = np.eye(3)
        Pb[:, :3, :3] += q_free_mps2 * d**3 / 3.0 * eye
        Pb[:, :3, 3:] += q_free_mps2 * d**2 / 2.0 * eye
        Pb[:, 3:, :3] += q_free_mps2 * d**2 / 2.0 * eye
        Pb[:, 3:, 3:] += q_free_mps2 * d * eye
        out_x[ff], out_P[ff] = xb, 0.5 * (Pb + np.swapaxes(Pb, 1, 2))
    return out_x, out_P
