"""The tracker's out-of-sequence update: reports later than the latency window, at most
``oosm_horizon_s`` old, update the firm tracks by Bar-Shalom's one-step "B1" algorithm.
:class:`_OutOfSequence` is a base of :class:`~airpicture.tracker.Tracker`.
"""

from __future__ import annotations

import math

import numpy as np

from airpicture.association._assignment import gnn_assign
from airpicture.filters._imm import combine, update_probabilities
from airpicture.models._measurement import SensorGeometry, measurement_vectors
from airpicture.models._motion import cv_process_noise, cv_transition
from airpicture.tables import Detections
from airpicture.tracker._dynamics import STATE_DIM, project_kappa
from airpicture.tracker._scan import _labels, _ScanStep, _SensorModel
from airpicture.tracker._table import TENTATIVE

__all__: list[str] = []


class _OutOfSequence(_ScanStep):
    """Out-of-sequence updates (a base of the tracker)."""

    def _retrodicted_update(
        self,
        tb: np.ndarray,
        dt_s: np.ndarray,
        z: np.ndarray,
        geometry: SensorGeometry,
        model: _SensorModel,
    ) -> None:
        """Bar-Shalom's B1 update of tracks ``tb`` with reports ``dt_s`` (< 0) before their time.

        [Y. Bar-Shalom, "Update with out-of-sequence measurements in tracking: exact solution",
        IEEE Trans. AES 38(3), 2002, algorithm B1.]

        Applied to every model-conditioned state: with F = F(d, k) the straight-line retrodiction,
        x_d = F x_k, P_d = F P_k F^T + Q(|d - k|), S = H P_d H^T + R, P_xz = P_k F^T H^T,
        x_k+ = x_k + P_xz S^-1 nu and P_k+ = P_k - P_xz S^-1 P_xz^T; the model probabilities
        take the reports' likelihoods.
        """
        table = self._table
        n, r = len(tb), self._dynamics.r
        rep = np.repeat(np.arange(n), r)
        x = table.xm[tb].reshape(n * r, STATE_DIM)
        P = table.Pm[tb].reshape(n * r, STATE_DIM, STATE_DIM)
        F, Q = _retro_transition(dt_s[rep], np.tile(self._dynamics.q, n))
        xd = (F @ x[..., None])[..., 0]
        Pd = F @ P @ np.swapaxes(F, 1, 2) + Q
        inn, H = self._innovation(xd, Pd, z[rep], geometry.take(rep), model)
        Pxz = P @ np.swapaxes(F, 1, 2) @ np.swapaxes(H, 1, 2)
        G = np.swapaxes(np.linalg.solve(inn.S, np.swapaxes(Pxz, 1, 2)), 1, 2)
        x_new = x + (G @ inn.nu[..., None])[..., 0]
        P_new = P - G @ np.swapaxes(Pxz, 1, 2)
        P_new = 0.5 * (P_new + np.swapaxes(P_new, 1, 2))
        x_new = project_kappa(x_new, P_new)
        d = z.shape[1]
        log_lik = -0.5 * (inn.d2 + inn.log_det_S + d * math.log(2.0 * math.pi))
        mu = update_probabilities(table.mu[tb], log_lik.reshape(n, r))
        table.xm[tb] = x_new.reshape(n, r, STATE_DIM)
        table.Pm[tb] = P_new.reshape(n, r, STATE_DIM, STATE_DIM)
        table.mu[tb] = mu
        table.x[tb], table.P[tb] = combine(table.xm[tb], table.Pm[tb], mu)

    def _assimilate_late(self, group: Detections, updated: np.ndarray) -> np.ndarray:
        """Out-of-sequence update of firm tracks; returns which detections were used.

        Reports are gated and assigned against the tracks retrodicted to their times, then used
        by :meth:`_retrodicted_update`; a track older than its report is simply predicted forward
        and updated.
        """
        sensor = int(group.sensor_index[0])
        group = self._registration.correct(group)
        model = self._models[sensor]
        table = self._table
        used = np.zeros(len(group), dtype=bool)
        firm = np.flatnonzero(table.status != TENTATIVE)
        if len(firm) == 0:
            return used
        z = measurement_vectors(
            group, with_range=model.with_range, with_range_rate=model.with_range_rate
        )
        det_pos, det_cov, _ = self._detection_positions(group, sensor)
        ti, dj = self._candidates(firm, group, np.arange(len(group)), det_pos, det_cov, model.gate)
        if len(ti) == 0:
            return used
        dt = group.t_s[dj] - table.t_s[ti]
        F, Q = _retro_transition(dt, self._q_eff(ti))
        xd = (F @ table.x[ti][..., None])[..., 0]
        Pd = F @ table.P[ti] @ np.swapaxes(F, 1, 2) + Q
        geometry = self._geometry(group, sensor)
        inn, H = self._innovation(xd, Pd, z[dj], geometry.take(dj), model)
        ok = np.flatnonzero(inn.d2 <= model.gate)
        if len(ok) == 0:
            return used
        cost = inn.d2 + inn.log_det_S
        at, ad = gnn_assign(ti[ok], dj[ok], cost[ok], len(table), len(group))
        keys = ti[ok] * len(group) + dj[ok]
        sel = ok[np.searchsorted(keys, at * len(group) + ad)]
        # A late report is evidence of its object like any other (its likelihood under the
        # retrodicted state); the revisits it falls between were already counted.
        log_lik = -0.5 * (cost[sel] + z.shape[1] * math.log(2.0 * math.pi))
        self._score_reports(at, np.zeros(len(at)), log_lik, model)
        forward = dt[sel] >= 0
        if forward.any():
            tf, df = at[forward], ad[forward]
            _, _, xm, Pm, c = self._predict(tf, group.t_s[df] - table.t_s[tf])
            self._update(tf, xm, Pm, c, z[df], geometry.take(df), model)
            table.t_s[tf] = group.t_s[df]
        if (~forward).any():
            self._retrodicted_update(
                at[~forward], dt[sel[~forward]], z[ad[~forward]], geometry.take(ad[~forward]), model
            )
        table.hits[at] += 1
        table.nations[at] |= 1 << model.nation_bit
        table.release[at] &= _labels(group)[ad]
        table.last_seen_s[at, sensor] = np.fmax(table.last_seen_s[at, sensor], group.t_s[ad])
        table.last_report_sensor[at] = -1
        updated[at] = True
        used[ad] = True
        return used


def _retro_transition(dt_s: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line transition and process noise over steps ``dt_s`` in the 7-element state."""
    n = len(dt_s)
    F = np.broadcast_to(np.eye(STATE_DIM), (n, STATE_DIM, STATE_DIM)).copy()
    F[:, :6, :6] = cv_transition(dt_s)
    Q = np.zeros((n, STATE_DIM, STATE_DIM))
    Q[:, :6, :6] = cv_process_noise(dt_s, q)
    return F, Q
