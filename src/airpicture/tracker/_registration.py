"""Sensor registration: every radar's fixed measurement offsets, estimated from common objects.

A sensor's reports carry registration errors that its noise sigmas do not describe: a range
offset and azimuth and elevation offsets (alignment, north reference, timing), the same for every
report. Two radars seeing one object then disagree by more than their noise. The picture pays
twice: a track started on one radar and continued on another starts with a velocity error of the
two offsets' difference over the revisit time, and a track made precise by one radar rejects the
other radar's reports, whose leftovers start a second track of the same object.

Estimation is joint over all radars, from pairs of reports of one object: whenever radar ``s``
updates a track whose previous update was a report of another radar ``o`` (at most
:data:`PAIR_WITHIN_S` earlier), the two reports as reported, ``p_s`` and ``p_o`` (ECEF), with
``p_o`` carried to ``t_s`` by the track's own predicted motion ``m``, satisfy to first order::

    p_s - (p_o + m) = G_s b_s - G_o b_o + e,   e ~ N(0, G_s R_s G_s^T + G_o R_o G_o^T + M)

with ``b`` a radar's offsets (range, azimuth, elevation), ``G`` the Jacobian of a report's
position with respect to them, ``R`` the radar's noise and ``M`` the uncertainty of the motion
(velocity covariance times the time step squared plus the process noise). Pairs outside the 99 %
chi-square gate of the current estimate (a manoeuvre, a wrong pair) are left out. Once a frame
the normal equations of all pairs are summed with fading memory (weight ``exp(-age /
memory_s)``) and solved with a prior ``N(0, R)`` on each offset (an offset of the order of the
noise). Combinations of offsets the geometry cannot separate (one that moves every radar's
picture alike) stay at the prior's zero instead of wandering, and the standard deviations are
those of the joint solution. Every radar report is corrected by the estimate of the frames before
it. Angle-only sensors (no position per report) are not registered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from airpicture.association._gating import chi2_gate
from airpicture.tables import Detections, SensorTable

__all__ = ["PAIR_GATE_PROBABILITY", "PAIR_WITHIN_S", "Registration", "RegistrationEstimate"]

PAIR_WITHIN_S = 10.0
"""Two consecutive reports of a track form a registration pair when at most this far apart (s)."""

PAIR_GATE_PROBABILITY = 0.99
"""Chi-square gate of a pair's residual against the current estimate."""

_TWO_PI = 2.0 * np.pi
_XYZ = np.arange(3)
_FLOOR_M2 = 1.0
"""A metre of error the models leave out, which keeps a pair's covariance invertible anywhere."""


@dataclass(frozen=True)
class RegistrationEstimate:
    """Estimated registration offsets of every sensor (subtracted from its reports).

    Attributes
    ----------
    sensor_id : tuple of str
        The sensors, in the order of the :class:`~airpicture.tables.SensorTable`.
    bias : ndarray, shape (n, 3)
        Range (m), azimuth (rad) and elevation (rad) offsets; 0 for angle-only sensors.
    sd : ndarray, shape (n, 3)
        Their standard deviations (NaN for angle-only sensors).
    pairs : ndarray, shape (n,)
        How many report pairs have involved each sensor.
    """

    sensor_id: tuple[str, ...]
    bias: np.ndarray
    sd: np.ndarray
    pairs: np.ndarray

    def informed(self) -> dict[str, dict[str, float | int]]:
        """The sensors that report pairs have informed: offsets and sd in m and degrees."""
        out: dict[str, dict[str, float | int]] = {}
        for sensor_id, b, sd, pairs in zip(
            self.sensor_id, self.bias, self.sd, self.pairs, strict=True
        ):
            if pairs:
                out[sensor_id] = {
                    "range_m": float(b[0]),
                    "azimuth_deg": math.degrees(b[1]),
                    "elevation_deg": math.degrees(b[2]),
                    "sd_range_m": float(sd[0]),
                    "sd_azimuth_deg": math.degrees(sd[1]),
                    "sd_elevation_deg": math.degrees(sd[2]),
                    "pairs": int(pairs),
                }
        return out


class Registration:
    """Joint online estimator of every radar's range, azimuth and elevation offsets.

    Parameters
    ----------
    sensors : SensorTable
        The sensors; each radar's noise sigmas set its prior and weigh its reports.
    memory_s : float
        Time constant of the fading memory (s); 0 turns registration off (no correction).
    """

    def __init__(self, sensors: SensorTable, memory_s: float) -> None:
        self.sensor_ids = sensors.ids
        n = len(sensors)
        sigma = np.stack(
            [
                sensors.column("sigma_range_m"),
                sensors.column("sigma_azimuth_rad"),
                sensors.column("sigma_elevation_rad"),
            ],
            axis=1,
        ).astype(float)
        self.enabled = memory_s > 0.0
        self.memory_s = memory_s
        self._radar = np.flatnonzero([s.has_range for s in sensors])
        self._cols = (3 * self._radar[:, None] + _XYZ).ravel()
        self._R = sigma**2
        self._prior_info = np.diag(1.0 / self._R[self._radar].ravel())
        self._A = np.zeros((3 * n, 3 * n))
        self._y = np.zeros(3 * n)
        self._t_s = math.nan
        self._gate = chi2_gate(PAIR_GATE_PROBABILITY, 3)
        self.bias = np.zeros((n, 3))
        self._sd = np.full((n, 3), np.nan)
        self._sd[self._radar] = sigma[self._radar]
        self.pairs = np.zeros(n, np.int64)
        self._pending: list[tuple[np.ndarray, ...]] = []

    def correct(self, group: Detections) -> Detections:
        """One sensor's reports with its estimated offsets removed."""
        b = self.bias[int(group.sensor_index[0])]
        if not b.any():
            return group
        azimuth = np.mod(group.azimuth_rad - b[1], _TWO_PI)
        azimuth[azimuth >= _TWO_PI] = 0.0  # -1e-300 mod 2 pi rounds to 2 pi
        return replace(
            group,
            range_m=group.range_m - b[0],
            azimuth_rad=azimuth,
            elevation_rad=group.elevation_rad - b[2],
        )

    def observe(
        self,
        t_s: float,
        sensor: int,
        p: np.ndarray,
        G: np.ndarray,
        other: np.ndarray,
        p_other: np.ndarray,
        G_other: np.ndarray,
        M: np.ndarray,
    ) -> None:
        """Take m report pairs of one scan of radar ``sensor`` (used from the next :meth:`solve`).

        Parameters
        ----------
        t_s : float
            The scan's time.
        sensor : int
            The radar of the scan.
        p, G : ndarray, shapes (m, 3) and (m, 3, 3)
            Its reports' positions as reported and their Jacobians with respect to range,
            azimuth and elevation (in that column order).
        other : ndarray of int, shape (m,)
            The radar of each pair's earlier report.
        p_other, G_other : ndarray, shapes (m, 3) and (m, 3, 3)
            The earlier reports as reported, carried to the scan's time by the tracks' motion,
            and their Jacobians.
        M : ndarray, shape (m, 3, 3)
            Covariance of that motion.
        """
        if not self.enabled or len(p) == 0:
            return
        # d = p - p_other = J [b_sensor; b_other] + e: one 3 x 6 Jacobian per pair.
        J = np.concatenate([G, -G_other], axis=2)
        noise = np.concatenate([np.broadcast_to(self._R[sensor], (len(p), 3)), self._R[other]], 1)
        C = (J * noise[:, None, :]) @ np.swapaxes(J, 1, 2) + M + _FLOOR_M2 * np.eye(3)
        d = p - p_other
        W = np.linalg.inv(C)
        idx = np.concatenate(
            [np.broadcast_to(3 * sensor + _XYZ, (len(p), 3)), 3 * other[:, None] + _XYZ], 1
        )
        r = d - np.einsum("mij,mj->mi", J, self.bias.reshape(-1)[idx])
        keep = np.einsum("mi,mij,mj->m", r, W, r) <= self._gate
        if not keep.any():
            return
        # A report is in two pairs (with the track's report before it and after it): the pairs
        # of one track are correlated, and counting each fully would claim up to twice the
        # information there is.
        k = int(keep.sum())
        self._pending.append((np.full(k, t_s), idx[keep], J[keep], 0.5 * W[keep], d[keep]))
        self.pairs[sensor] += k
        self.pairs += np.bincount(other[keep], minlength=len(self.pairs))

    def solve(self) -> None:
        """Add the pairs observed since the last call to the normal equations and re-solve.

        The tracker calls it once a frame; the older pairs' weight fades with their age.
        """
        if not self._pending:
            return
        t, idx, J, W, d = (np.concatenate(part) for part in zip(*self._pending, strict=True))
        self._pending.clear()
        t_new = float(t.max())
        if math.isfinite(self._t_s):
            t_new = max(t_new, self._t_s)
            fade = math.exp(-(t_new - self._t_s) / self.memory_s)
            self._A *= fade
            self._y *= fade
        self._t_s = t_new
        JW = np.swapaxes(J, 1, 2) @ (W * np.exp(-(t_new - t) / self.memory_s)[:, None, None])
        n3 = len(self._y)
        flat = idx[:, :, None] * n3 + idx[:, None, :]
        self._A += np.bincount(flat.ravel(), weights=(JW @ J).ravel(), minlength=n3 * n3).reshape(
            n3, n3
        )
        self._y += np.bincount(
            idx.ravel(), weights=np.einsum("mij,mj->mi", JW, d).ravel(), minlength=n3
        )
        cols = self._cols
        cov = np.linalg.inv(self._A[np.ix_(cols, cols)] + self._prior_info)
        self.bias.reshape(-1)[cols] = cov @ self._y[cols]
        self._sd.reshape(-1)[cols] = np.sqrt(np.diag(cov))

    def estimate(self) -> RegistrationEstimate:
        """The offsets in use (as of the last :meth:`solve`), with their standard deviations.

        Reading it changes nothing (a node's health report reads it at any time).
        """
        return RegistrationEstimate(
            self.sensor_ids, self.bias.copy(), self._sd.copy(), self.pairs.copy()
        )
