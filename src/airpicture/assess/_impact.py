r"""Impact prediction of ballistic tracks, with the impact point's uncertainty.

A track in free flight is flown forward with the one ballistic model of the package
(:func:`airpicture.models.propagate_ballistic`: WGS-84 gravity with :math:`J_2`, drag
in the exponential atmosphere with the track's estimated :math:`\kappa = 1/\beta`, Coriolis and
centrifugal terms) until its geodetic height is zero: the predicted impact. (Launch points:
:mod:`airpicture.assess._launch`.)

**Uncertainty.** The track's Gaussian state :math:`\mathcal N(\hat x, P)` in the seven-element
filter state ``[x, y, z, vx, vy, vz, kappa]`` is represented by the :math:`2n` points of the
spherical-radial cubature rule, :math:`\mathcal X_{\pm i} = \hat x \pm \sqrt{n}\,S e_i` with
:math:`P = S S^T` and equal weights :math:`1/2n` [I. Arasaratnam and S. Haykin, "Cubature Kalman
filters", IEEE Trans. AC 54(6), 2009, pp. 1254-1269, eqs. (25)-(27) for the third-degree
rule]. Every point is flown to the ground; its impact point, expressed as east and north
offsets :math:`d` (m) in the horizontal plane at the nominal impact point (that of
:math:`\hat x`), gives the impact distribution's mean and covariance

.. math::

    \bar d = \frac{1}{2n}\sum_i d_i,\qquad
    C = \frac{1}{2n}\sum_i (d_i - \bar d)(d_i - \bar d)^T .

The ellipse holding the impact point with probability :math:`p` has the semi-axes
:math:`\sqrt{\chi^2_2(p)\,\lambda_{1,2}}` of the eigenvalues :math:`\lambda` of :math:`C`, with
:math:`\chi^2_2(p) = -2\ln(1 - p)` [e.g. Bar-Shalom, Li, Kirubarajan 2001, section 1.4.17 (the
probability mass in an ellipse of a bivariate Gaussian)].

**Ground crossing.** Bodies are flown in steps that shrink as they near the ground (at most
``0.8 h / |v_down|``, and a fraction of the air density's scale height over the vertical speed
wherever drag could matter within a step), then the crossing inside the last step is found by
regula falsi (Illinois variant) on the height of states flown from the start of that step.

Frames and units: ECEF positions and velocities (m, m/s); geodetic latitude and longitude in
radians; heights above the WGS-84 ellipsoid (m); times in seconds since the Unix epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np

from airpicture.geo import ecef2enu, ecef2geodetic, enu2ecef
from airpicture.models._atmosphere import AIR_SCALE_HEIGHT_M, air_density
from airpicture.models._ballistic import ground_crossing, propagate_ballistic
from airpicture.tracker._dynamics import KAPPA_MIN

__all__ = [
    "ImpactPrediction",
    "cubature_points",
    "ellipse_axes",
    "ellipse_scale",
    "predict_impacts",
    "propagate_to_ground",
]

_MAX_STEP_S = 30.0
"""Longest step towards the ground, s (gravity alone: RK4 error far below a millimetre)."""

_MIN_STEP_S = 0.05
"""Shortest step towards the ground, s."""

_APPROACH = 0.8
"""A step covers at most this fraction of the height over the vertical speed."""

_DRAG_STEP = 0.3
"""Where drag matters, a step covers at most this fraction of the density scale height."""

_DRAG_MATTERS_MPS2 = 0.05
"""Drag deceleration above which the density change along a step limits the step, m/s^2."""

_ROOT_TOLERANCE_M = 0.5
"""Height tolerance of the ground crossing, m."""

_ROOT_ITERATIONS = 40

_FAR_M = 1e8
"""Bodies flown beyond this distance from the earth's centre are given up, m."""

_FAST_MPS = 1e5
"""Bodies faster than this (in any ECEF component) are given up, m/s."""


def _sane(x: np.ndarray) -> np.ndarray:
    """Rows that are states of some body: finite, within ``_FAR_M``, slower than ``_FAST_MPS``."""
    with np.errstate(invalid="ignore"):
        return (
            np.all(np.isfinite(x), axis=1)
            & np.all(np.abs(x[:, :3]) < _FAR_M, axis=1)
            & np.all(np.abs(x[:, 3:6]) < _FAST_MPS, axis=1)
        )


def _height(x: np.ndarray) -> np.ndarray:
    return ecef2geodetic(x[:, 0], x[:, 1], x[:, 2])[2]


def _vertical_speed(x: np.ndarray) -> np.ndarray:
    """Speed along the geocentric radial direction, m/s (positive up)."""
    return np.einsum("ij,ij->i", x[:, :3], x[:, 3:6]) / np.linalg.norm(x[:, :3], axis=1)


def propagate_to_ground(
    x: np.ndarray,
    beta: np.ndarray,
    *,
    backward: bool = False,
    max_time_s: float = 3600.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fly ballistic bodies forward (or backward) in time until their height is zero.

    Parameters
    ----------
    x : ndarray, shape (n, 6)
        ECEF states, m and m/s.
    beta : ndarray, shape (n,)
        Ballistic coefficients, kg/m^2 (``np.inf``: no drag).
    backward : bool
        Fly backwards in time (to where the flight left the ground, were it unpowered).
    max_time_s : float
        Give up on a body still up after this long, s.

    Returns
    -------
    dt_s : ndarray, shape (n,)
        Time to the ground, s (negative when ``backward``); NaN where not found.
    x_ground : ndarray, shape (n, 6)
        States at height zero (to half a metre); NaN where not found.
    found : ndarray of bool, shape (n,)
        False for bodies that stay up for ``max_time_s`` (or whose flight leaves any sensible
        state: beyond ``_FAR_M`` or not finite).

    Examples
    --------
    A body dropped from 10 km without drag falls for about sqrt(2 h / g) = 45 s:

    >>> from airpicture.geo import geodetic2ecef
    >>> p = np.array(geodetic2ecef(0.6, 2.4, 10_000.0))
    >>> dt, _, ok = propagate_to_ground(np.r_[p, 0.0, 0.0, 0.0][None], np.array([np.inf]))
    >>> bool(ok[0]), round(float(dt[0]))
    (True, 45)
    """
    x = np.array(x, dtype=float)
    n = x.shape[0]
    beta = np.broadcast_to(np.asarray(beta, dtype=float), (n,)).copy()
    sign = -1.0 if backward else 1.0
    t = np.zeros(n)
    sane = _sane(x)
    x[~sane] = np.nan
    with np.errstate(invalid="ignore"):
        h = _height(x)
    found = sane & (h <= 0.0)
    active = sane & ~found
    x_ground = np.full((n, 6), np.nan)
    x_ground[found] = x[found]
    drag_coef = np.where(np.isfinite(beta), 0.5 / beta, 0.0)
    while active.any():
        idx = np.flatnonzero(active)
        xi = x[idx]
        hi = h[idx]
        descent = -sign * _vertical_speed(xi)  # speed towards the ground in the time direction
        speed = np.linalg.norm(xi[:, 3:6], axis=1)
        step = np.full(len(idx), _MAX_STEP_S)
        falling = descent > 0.0
        step[falling] = np.minimum(step[falling], _APPROACH * hi[falling] / descent[falling])
        # drag at the lowest point a full step could reach
        lowest = hi - np.maximum(descent, 0.0) * _MAX_STEP_S
        drag = air_density(np.maximum(lowest, 0.0)) * drag_coef[idx] * speed**2
        dense = drag > _DRAG_MATTERS_MPS2
        step[dense] = np.minimum(
            step[dense], _DRAG_STEP * AIR_SCALE_HEIGHT_M / np.maximum(np.abs(descent[dense]), 1.0)
        )
        step = np.clip(step, _MIN_STEP_S, _MAX_STEP_S)
        step = np.minimum(step, max_time_s - t[idx])
        with np.errstate(over="ignore", invalid="ignore"):
            # states of no real body (a track's far tail) may overflow: they end as not found
            x_new = propagate_ballistic(xi, beta[idx], sign * step, max_step_s=_MAX_STEP_S)
            h_new = _height(x_new)
        lost = ~_sane(x_new) | ~np.isfinite(h_new)
        if lost.any():
            active[idx[lost]] = False
            keep = ~lost
            idx, xi, hi, step = idx[keep], xi[keep], hi[keep], step[keep]
            x_new, h_new = x_new[keep], h_new[keep]
        down = h_new <= 0.0
        if down.any():
            with np.errstate(over="ignore", invalid="ignore"):
                tau, x_hit = ground_crossing(
                    xi[down],
                    beta[idx[down]],
                    hi[down],
                    h_new[down],
                    sign * step[down],
                    max_step_s=_MAX_STEP_S,
                    tolerance_m=_ROOT_TOLERANCE_M,
                    iterations=_ROOT_ITERATIONS,
                )
            rows = idx[down]
            good = np.all(np.isfinite(x_hit), axis=1)
            t[rows] += np.abs(tau)
            x_ground[rows[good]] = x_hit[good]
            found[rows[good]] = True
            active[rows] = False
        up = idx[~down]
        x[up], h[up], t[up] = x_new[~down], h_new[~down], t[up] + step[~down]
        timed_out = up[t[up] >= max_time_s - 1e-9]
        active[timed_out] = False
    dt_s = np.where(found, sign * t, np.nan)
    return dt_s, x_ground, found


def cubature_points(x: np.ndarray, P: np.ndarray) -> np.ndarray:
    r"""The :math:`2k` points of the third-degree spherical-radial cubature rule.

    :math:`\mathcal X_{\pm i} = \hat x \pm \sqrt{k}\,S e_i`, :math:`P = S S^T` (Cholesky; the
    symmetric square root from the eigen-decomposition with negative eigenvalues clipped where
    :math:`P` is not numerically positive definite), each with weight :math:`1/2k`
    [Arasaratnam and Haykin 2009, eq. (27)]: the points' mean and covariance are exactly
    :math:`\hat x` and :math:`P`.

    Parameters
    ----------
    x : ndarray, shape (n, k)
        Means.
    P : ndarray, shape (n, k, k)
        Covariances.

    Returns
    -------
    points : ndarray, shape (n, 2k, k)
        ``points[:, i]`` and ``points[:, k + i]`` are ``x`` plus and minus ``sqrt(k)`` times
        the i-th column of the square root.
    """
    n, k = x.shape
    P = 0.5 * (P + np.swapaxes(P, -1, -2))
    S = np.empty_like(P)
    for i in range(n):
        try:
            S[i] = np.linalg.cholesky(P[i])
        except np.linalg.LinAlgError:
            w, V = np.linalg.eigh(P[i])
            S[i] = V * np.sqrt(np.clip(w, 0.0, None))
    cols = math.sqrt(k) * np.swapaxes(S, -1, -2)  # (n, k, k): row i is sqrt(k) S e_i
    return np.concatenate([x[:, None, :] + cols, x[:, None, :] - cols], axis=1)


def ellipse_scale(confidence: float) -> float:
    r"""Mahalanobis radius of the ellipse holding a 2-D Gaussian with probability ``confidence``.

    :math:`\sqrt{\chi^2_2(p)} = \sqrt{-2\ln(1 - p)}` (the chi-square distribution with two
    degrees of freedom is exponential with mean 2).

    Examples
    --------
    >>> round(ellipse_scale(0.95), 4)
    2.4477
    """
    return math.sqrt(-2.0 * math.log1p(-confidence))


def ellipse_axes(
    cov_en_m2: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Semi-axes and orientation of the ``confidence`` ellipses of 2-D covariances.

    Parameters
    ----------
    cov_en_m2 : ndarray, shape (n, 2, 2)
        Covariances of east and north offsets, m^2.
    confidence : float
        Probability mass inside the ellipse, in (0, 1).

    Returns
    -------
    semi_major_m, semi_minor_m : ndarray, shape (n,)
        Semi-axes, m.
    orientation_rad : ndarray, shape (n,)
        Bearing of the major axis, clockwise from north, in [0, pi).
    """
    w, V = np.linalg.eigh(0.5 * (cov_en_m2 + np.swapaxes(cov_en_m2, -1, -2)))
    k = ellipse_scale(confidence)
    w = np.clip(w, 0.0, None)
    major = V[:, :, 1]  # eigenvector of the larger eigenvalue: (east, north)
    orientation = np.mod(np.arctan2(major[:, 0], major[:, 1]), np.pi)
    # mod can return pi itself for tiny negative angles; fold that onto 0 (the contract's [0, pi)).
    orientation = np.where(orientation >= np.pi, 0.0, orientation)
    return k * np.sqrt(w[:, 1]), k * np.sqrt(w[:, 0]), orientation


@dataclass(frozen=True)
class ImpactPrediction:
    """Predicted impacts of n ballistic tracks; arrays of shape (n,) unless noted.

    Attributes
    ----------
    valid : ndarray of bool
        The mean state and every cubature point came down within the time limit.
    impact_t_s : ndarray
        Predicted impact time (cubature mean), s.
    impact_lat_rad, impact_lon_rad : ndarray
        Predicted impact point (cubature mean), rad.
    cov_en_m2 : ndarray, shape (n, 2, 2)
        Covariance of the impact point's east and north offsets in the horizontal plane at the
        predicted impact point, m^2.
    sd_impact_t_s : ndarray
        Standard deviation of the impact time, s.
    """

    valid: np.ndarray
    impact_t_s: np.ndarray
    impact_lat_rad: np.ndarray
    impact_lon_rad: np.ndarray
    cov_en_m2: np.ndarray
    sd_impact_t_s: np.ndarray

    def __len__(self) -> int:
        return int(self.valid.shape[0])

    def ellipse(self, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Semi-major and semi-minor axes (m) and orientation (rad from north) at ``confidence``."""
        return ellipse_axes(self.cov_en_m2, confidence)


def _beta(kappa: np.ndarray) -> np.ndarray:
    return 1.0 / np.maximum(kappa, KAPPA_MIN)


def predict_impacts(
    x: np.ndarray,
    P: np.ndarray,
    t_s: np.ndarray,
    *,
    max_time_s: float = 3600.0,
) -> ImpactPrediction:
    """Predict where and when n ballistic tracks come down.

    Parameters
    ----------
    x : ndarray, shape (n, 7)
        Filter states ``[x, y, z, vx, vy, vz, kappa]``: ECEF m and m/s, kappa = 1/beta in
        m^2/kg (the ballistic model's state of the tracker).
    P : ndarray, shape (n, 7, 7)
        Their covariances.
    t_s : ndarray, shape (n,)
        Times of the states, s.
    max_time_s : float
        Longest flight considered, s.

    Returns
    -------
    ImpactPrediction
        Invalid rows (``valid`` False) hold NaN.
    """
    x = np.asarray(x, dtype=float)
    P = np.asarray(P, dtype=float)
    t_s = np.asarray(t_s, dtype=float)
    n, k = x.shape
    nan = np.full(n, np.nan)
    if n == 0:
        return ImpactPrediction(np.zeros(0, bool), nan, nan, nan, np.zeros((0, 2, 2)), nan)
    points = cubature_points(x, P)  # (n, 2k, k)
    m = points.shape[1]
    states = np.concatenate([x[:, None, :], points], axis=1).reshape(n * (m + 1), k)
    dt, ground, found = propagate_to_ground(
        states[:, :6], _beta(states[:, 6]), max_time_s=max_time_s
    )
    dt = dt.reshape(n, m + 1)
    ground = ground.reshape(n, m + 1, 6)
    valid = cast(np.ndarray, found.reshape(n, m + 1).all(axis=1))  # shape (n,)

    impact_t = nan.copy()
    lat = nan.copy()
    lon = nan.copy()
    cov = np.full((n, 2, 2), np.nan)
    sd_t = nan.copy()
    if valid.any():
        v = np.flatnonzero(valid)
        lat0, lon0, _ = ecef2geodetic(ground[v, 0, 0], ground[v, 0, 1], ground[v, 0, 2])
        pts = ground[v, 1:, :3]
        e, nn, u = ecef2enu(
            pts[..., 0], pts[..., 1], pts[..., 2], lat0[:, None], lon0[:, None], 0.0
        )
        d = np.stack([e, nn], axis=-1)  # (v, m, 2)
        d_mean = d.mean(axis=1)
        r = d - d_mean[:, None, :]
        cov[v] = np.einsum("vmi,vmj->vij", r, r) / m
        u_mean = u.mean(axis=1)
        cx, cy, cz = enu2ecef(d_mean[:, 0], d_mean[:, 1], u_mean, lat0, lon0, 0.0)
        lat[v], lon[v], _ = ecef2geodetic(cx, cy, cz)
        tp = dt[v, 1:]
        impact_t[v] = t_s[v] + tp.mean(axis=1)
        sd_t[v] = tp.std(axis=1)

    return ImpactPrediction(
        valid=valid,
        impact_t_s=impact_t,
        impact_lat_rad=lat,
        impact_lon_rad=lon,
        cov_en_m2=cov,
        sd_impact_t_s=sd_t,
    )
