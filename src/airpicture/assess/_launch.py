r"""Launch points of ballistic tracks: the free flight flown back to burnout, then the boost.

Flying a track in free flight back to the ground gives the launch of the *equivalent unpowered
flight*, which is not where or when the missile left the ground: a rocket climbs under thrust
for a minute or more, steeply at first, and burns out tens of kilometres down-range, high and
fast. That point lies up-range of the true launch point and far later than the true launch (on
the Sea of Japan raid, 24-28 km and 46-49 s). :func:`estimate_launches` flies the track back
through the family of boosts a missile in scope may have flown instead:

1. **Free flight back.** The track's state is flown backwards with the package's ballistic
   model (:func:`airpicture.models.propagate_ballistic`) to the ground, its state kept every
   ``_NODE_STEP_S``: each node of the ascending branch (height :math:`h_b`, speed
   :math:`v_b`, flight-path angle :math:`\gamma_b` above the local horizontal, heading) is a
   candidate burnout.
2. **The boost, as a family of shapes.** Over the boost, in normalised time :math:`u` from
   burnout (0) back to lift-off (1), the speed falls linearly to rest, :math:`v = v_b (1 - u)`
   (a constant acceleration along the path), and the path turns from :math:`\gamma_b` up to
   the vertical as :math:`\gamma(u) = \gamma_b + (90^\circ - \gamma_b)\,u^p`. The exponent
   :math:`p` is the boost's shape: small, a path that curves over all along (a pitch
   programme); large, one that stays near its burnout angle and stands up only at the start
   (a gravity turn after a short vertical rise). Climbing :math:`h_b` from the ground fixes the
   burn time, the ground distance and the thrust acceleration the boost needed:

   .. math::

       T = \frac{h_b}{v_b \int_0^1 (1 - u)\sin\gamma\,du},\quad
       s = T v_b \int_0^1 (1 - u)\cos\gamma\,du,\quad
       a = \frac{v_b}{T} + g \int_0^1 \sin\gamma\,du

   (Gauss-Legendre quadrature). The launch is then :math:`s` back along the heading from the
   burnout's ground point, :math:`T` before the burnout.
3. **Uncertainty.** Earlier burnouts (lower, faster) need harder boosts: along the ascending
   branch :math:`a` grows monotonically, and a prior on the missile's thrust acceleration,
   log-uniform over ``thrust_accel_mps2`` (by default 20-80 m/s^2, 2 to 8 g: liquid and solid
   short- and medium-range missiles), becomes a weight on the nodes
   (:math:`\propto |\mathrm d a| / a`). The shapes ``_SHAPES`` weigh alike, and the track's
   own uncertainty enters through the 2k points of the cubature rule
   (:func:`~airpicture.assess.cubature_points`). The weighted mean and covariance of all
   samples (in the horizontal plane at their mean) give the launch point and its ellipse at
   any confidence, and the mean and standard deviation of the launch time. A track where
   fewer than half the (point, shape) pairs find a burnout has no estimate.

Neglected: drag and the earth's curvature and rotation over the boost (about 100 km, one to
two minutes), and the height of the launch site (taken as 0). How well the ellipses hold the
true launch points is measured by ``benchmarks/robustness.py`` (``launch_containment``).

Frames and units: ECEF (m, m/s), geodetic radians, times in seconds since the Unix epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from airpicture.assess._impact import _beta, cubature_points, ellipse_axes
from airpicture.geo import STANDARD_GRAVITY_MPS2, ecef2enu, ecef2geodetic, enu2ecef, enu_rotation
from airpicture.models._ballistic import propagate_ballistic

__all__ = ["THRUST_ACCEL_MPS2", "LaunchEstimate", "estimate_launches"]

THRUST_ACCEL_MPS2 = (20.0, 80.0)
"""Range of thrust accelerations of the boosts considered, m/s^2 (log-uniform)."""

_SHAPES = (0.5, 1.0, 2.0, 4.0)
_NODE_STEP_S = 4.0
_MIN_VALID_SHARE = 0.5
_MAX_SPEED_MPS = 8000.0
_U, _W = (0.5 * (q + 1.0) for q in np.polynomial.legendre.leggauss(24))
_W = _W / _W.sum()  # Gauss-Legendre on [0, 1]


@dataclass(frozen=True)
class LaunchEstimate:
    """Estimated launches of n ballistic tracks; arrays of shape (n,) unless noted.

    Attributes
    ----------
    valid : ndarray of bool
        At least half the samples found a launch.
    t_s, sd_t_s : ndarray
        Launch time and its standard deviation, s (NaN where not valid).
    lat_rad, lon_rad : ndarray
        Launch point, geodetic, rad.
    cov_en_m2 : ndarray, shape (n, 2, 2)
        Covariance of the launch point's east and north offsets at the launch point, m^2.
    """

    valid: np.ndarray
    t_s: np.ndarray
    sd_t_s: np.ndarray
    lat_rad: np.ndarray
    lon_rad: np.ndarray
    cov_en_m2: np.ndarray

    @classmethod
    def unknown(cls, n: int) -> LaunchEstimate:
        """No estimate for n tracks."""
        nan = np.full(n, np.nan)
        return cls(np.zeros(n, bool), nan, nan, nan, nan, np.full((n, 2, 2), np.nan))

    def ellipse(self, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Semi-major and semi-minor axes (m) and orientation (rad from north) at
        ``confidence``; NaN where not valid."""
        out = tuple(np.full(len(self.valid), np.nan) for _ in range(3))
        v = np.flatnonzero(self.valid)
        if len(v):
            axes = ellipse_axes(self.cov_en_m2[v], confidence)
            for column, values in zip(out, axes, strict=True):
                column[v] = values
        return out[0], out[1], out[2]

    def columns(self, confidence: float) -> dict[str, np.ndarray]:
        """The launch columns of :class:`~airpicture.tables.ImpactRows`, the ellipse at
        ``confidence``."""
        a, b, orientation = self.ellipse(confidence)
        return {
            "launch_t_s": self.t_s,
            "launch_lat_rad": self.lat_rad,
            "launch_lon_rad": self.lon_rad,
            "launch_sd_t_s": self.sd_t_s,
            "launch_semi_major_m": a,
            "launch_semi_minor_m": b,
            "launch_orientation_rad": orientation,
        }


def estimate_launches(
    x: np.ndarray,
    P: np.ndarray,
    t_s: np.ndarray,
    *,
    thrust_accel_mps2: tuple[float, float] = THRUST_ACCEL_MPS2,
    max_time_s: float = 1200.0,
) -> LaunchEstimate:
    """Launch point and time of n tracks in free flight, with their uncertainty (module
    docstring).

    Parameters
    ----------
    x : ndarray, shape (n, 7)
        Filter states ``[x, y, z, vx, vy, vz, kappa]`` (ECEF m and m/s, kappa = 1/beta).
    P : ndarray, shape (n, 7, 7)
    t_s : ndarray, shape (n,)
        Times of the states, s.
    thrust_accel_mps2 : (float, float)
        Range of the boost's thrust acceleration, m/s^2.
    max_time_s : float
        Longest free flight flown back, s.

    Returns
    -------
    LaunchEstimate
    """
    x = np.asarray(x, dtype=float)
    n, k = x.shape
    nan = np.full(n, np.nan)
    out_t, out_sd, out_lat, out_lon = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    cov = np.full((n, 2, 2), np.nan)
    if n == 0:
        return LaunchEstimate(np.zeros(0, bool), nan, nan, nan, nan, cov)
    points = cubature_points(x, np.asarray(P, dtype=float))  # (n, m, k)
    m = points.shape[1]
    lanes = points.reshape(n * m, k)
    nodes = _free_flight_back(lanes[:, :6], _beta(lanes[:, 6]), max_time_s)  # (L, N, 6)
    back_s, lat, lon, weight = _launch_samples(nodes, thrust_accel_mps2)  # (L, S, N) each
    n_shapes, n_nodes = back_s.shape[1:]
    back_s = back_s.reshape(n, m * n_shapes, n_nodes)
    lat = lat.reshape(n, m * n_shapes, n_nodes)
    lon = lon.reshape(n, m * n_shapes, n_nodes)
    weight = weight.reshape(n, m * n_shapes, n_nodes)
    found = weight.sum(axis=-1) > 0.0  # (n, m * S): a burnout of that point and shape
    valid = found.mean(axis=1) >= _MIN_VALID_SHARE
    for i in np.flatnonzero(valid):
        w = weight[i][found[i]].ravel()
        keep = w > 0.0
        w = w[keep] / w[keep].sum()
        la, lo = lat[i][found[i]].ravel()[keep], lon[i][found[i]].ravel()[keep]
        back = back_s[i][found[i]].ravel()[keep]
        # the samples in the horizontal plane at the heaviest one, then at their mean
        ref = int(np.argmax(w))
        sx, sy, sz = enu2ecef(0.0, 0.0, 0.0, la, lo, 0.0)
        e, nn, _ = ecef2enu(sx, sy, sz, la[ref], lo[ref], 0.0)
        cx, cy, cz = enu2ecef(w @ e, w @ nn, 0.0, la[ref], lo[ref], 0.0)
        out_lat[i], out_lon[i], _ = ecef2geodetic(cx, cy, cz)
        e, nn, _ = ecef2enu(sx, sy, sz, out_lat[i], out_lon[i], 0.0)
        d = np.stack([e - w @ e, nn - w @ nn], axis=-1)
        cov[i] = (d * w[:, None]).T @ d
        launch_t = t_s[i] - back
        out_t[i] = w @ launch_t
        out_sd[i] = np.sqrt(w @ (launch_t - out_t[i]) ** 2)
    return LaunchEstimate(valid, out_t, out_sd, out_lat, out_lon, cov)


def _free_flight_back(x: np.ndarray, beta: np.ndarray, max_time_s: float) -> np.ndarray:
    """States flown back every ``_NODE_STEP_S`` until every lane is below ground or has left
    any flight in scope (NaN after that), shape (L, N, 6); node 0 is the state itself.

    Flown back, drag adds speed: a lane with a small ballistic coefficient deep in the air
    runs away, so a lane ends at the ground or beyond ``_MAX_SPEED_MPS``."""
    out = [x]
    current = x
    for _ in range(int(max_time_s / _NODE_STEP_S)):
        with np.errstate(over="ignore", invalid="ignore"):
            current = propagate_ballistic(current, beta, -_NODE_STEP_S, max_step_s=_NODE_STEP_S)
            _, _, h = ecef2geodetic(current[:, 0], current[:, 1], current[:, 2])
            speed = np.linalg.norm(current[:, 3:6], axis=1)
        gone = ~((h > 0.0) & (speed < _MAX_SPEED_MPS))
        current = np.where(gone[:, None], np.nan, current)
        out.append(current)
        if gone.all():
            break
    return np.stack(out, axis=1)


def _launch_samples(
    nodes: np.ndarray, accel: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Launch samples of every lane: for each (lane, boost shape), the boosts that end at one
    of the lane's ascending nodes with a thrust acceleration inside ``accel``.

    Returns ``back_s`` (time from the launch to node 0, s), the launch latitude and longitude
    (rad) and each sample's weight (summing to one per lane and shape), all of shape
    (L, S, N); NaN (weight 0) where a node is no burnout of that shape.
    """
    L, N, _ = nodes.shape
    with np.errstate(invalid="ignore", over="ignore"):
        lat, lon, h = ecef2geodetic(nodes[..., 0], nodes[..., 1], nodes[..., 2])
    lat, lon = np.nan_to_num(lat), np.nan_to_num(lon)
    v_enu = np.einsum("lnij,lnj->lni", enu_rotation(lat, lon), nodes[..., 3:6])
    speed = np.linalg.norm(v_enu, axis=-1)
    gamma_b = np.arctan2(v_enu[..., 2], np.hypot(v_enu[..., 0], v_enu[..., 1]))
    heading = np.arctan2(v_enu[..., 0], v_enu[..., 1])
    ascending = np.isfinite(h) & (h > 0.0) & (v_enu[..., 2] > 0.0)

    # the boost integrals of every node and shape over the normalised time u: (L, S, N)
    p = np.asarray(_SHAPES)[None, :, None, None]
    u = _U[None, None, None, :]
    gb = np.where(ascending, gamma_b, 0.5)[:, None, :, None]
    gam = gb + (0.5 * np.pi - gb) * u**p
    w = _W[None, None, None, :]
    i_sin = np.sum(w * (1.0 - u) * np.sin(gam), axis=-1)
    i_cos = np.sum(w * (1.0 - u) * np.cos(gam), axis=-1)
    j_sin = np.sum(w * np.sin(gam), axis=-1)
    v_b = speed[:, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        burn = h[:, None, :] / (v_b * i_sin)
        a = v_b / burn + STANDARD_GRAVITY_MPS2 * j_sin
    dist = burn * v_b * i_cos

    # weights: the log-uniform prior of the thrust acceleration carried onto the nodes
    lo, hi = accel
    fits = ascending[:, None, :] & np.isfinite(a) & (a >= lo) & (a <= hi)
    da = np.abs(np.gradient(np.where(np.isfinite(a), a, 0.0), axis=-1))
    weight = np.where(fits, da / np.where(fits, a, 1.0), 0.0)
    total = weight.sum(axis=-1, keepdims=True)
    weight = np.where(total > 0.0, weight / np.where(total > 0.0, total, 1.0), 0.0)

    back_s = np.arange(N) * _NODE_STEP_S + burn
    shape3 = (L, len(_SHAPES), N)
    b_lat = np.broadcast_to(lat[:, None, :], shape3)
    b_lon = np.broadcast_to(lon[:, None, :], shape3)
    head = np.broadcast_to(heading[:, None, :], shape3)
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.where(fits, dist, 0.0)
        ex, ey, ez = enu2ecef(-d * np.sin(head), -d * np.cos(head), 0.0, b_lat, b_lon, 0.0)
        out_lat, out_lon, _ = ecef2geodetic(ex, ey, ez)
    out_lat = np.where(fits, out_lat, np.nan)
    out_lon = np.where(fits, out_lon, np.nan)
    return np.where(fits, back_s, np.nan), out_lat, out_lon, weight
