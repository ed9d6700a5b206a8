"""The tracker's per-scan step: one sensor's scan of reports against the track table.

Pre-gate, exact gate, assignment in three stages, the IMM update (iterated where the prediction
is far less certain than the report) and the report pairs of the registration, then initiation
on the radar reports left over. :class:`_ScanStep` is a base of
:class:`~airpicture.tracker.Tracker`, which sets up the state used here; the module notes
of ``tracker.core`` describe the processing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import logsumexp

from airpicture.association._assignment import gnn_assign
from airpicture.association._gating import candidate_pairs
from airpicture.filters._imm import combine, mix, update_probabilities
from airpicture.filters._kalman import Innovation, innovation, update
from airpicture.geo import aer2ecef, geodetic2ecef
from airpicture.models._measurement import (
    SensorGeometry,
    detection_jacobians,
    measurement_vectors,
    predict_measurements,
    wrap_angle,
)
from airpicture.tables import RELEASE_ALL, Detections, SensorTable
from airpicture.tracker._config import TrackerConfig
from airpicture.tracker._dynamics import (
    STATE_DIM,
    MotionModelSet,
    approximate_height,
    project_kappa,
)
from airpicture.tracker._registration import PAIR_WITHIN_S, Registration
from airpicture.tracker._score import (
    detection_probability,
    miss_log_probability,
    report_increment,
)
from airpicture.tracker._table import COASTING, CONFIRMED, TENTATIVE, TrackTable

if TYPE_CHECKING:
    from airpicture.tracker._core import TrackerStats

__all__ = ["KAPPA_PRIOR"]

_WIDE_PRIOR = 0.5
"""Iterate an update whose linearisation bias would exceed this fraction of the report's noise."""

_IEKF_ITERATIONS = 3
"""Relinearisations of the iterated update."""

KAPPA_PRIOR = 2e-4
"""Prior mean and standard deviation of a new track's inverse ballistic coefficient, m^2/kg."""

_BEARING_GATE_MIN_RANGE_M = 1000.0
"""A track that may be nearer than this to a bearing sensor takes all its bearings to the gate."""


@dataclass(frozen=True)
class _SensorModel:
    with_range: bool
    with_range_rate: bool
    R: np.ndarray
    angle_cols: tuple[int, ...]
    gate: float
    exclusion_gate: float
    nation_bit: int
    p_detect: float
    log_false_density: float


class _ScanStep:
    """Association, update and initiation of one scan (a base of the tracker)."""

    sensors: SensorTable
    config: TrackerConfig
    stats: TrackerStats
    wide_release: int
    _models: list[_SensorModel]
    _scan_period_s: np.ndarray
    _dynamics: MotionModelSet
    _table: TrackTable
    _next_number: int
    _next_report: int
    _platform_last: dict[int, tuple[float, np.ndarray]]
    _registration: Registration

    def _wide(self, labels: np.ndarray) -> np.ndarray:
        """Reports released to every nation of :attr:`wide_release` (all, without it)."""
        mask = np.uint64(self.wide_release)
        return (np.asarray(labels, dtype=np.uint64) & mask) == mask

    # ------------------------------------------------------------------ association
    def _assimilate(self, group: Detections, updated: np.ndarray) -> np.ndarray:
        sensor = int(group.sensor_index[0])
        group = self._registration.correct(group)
        model = self._models[sensor]
        z = measurement_vectors(
            group, with_range=model.with_range, with_range_rate=model.with_range_rate
        )
        geometry = self._geometry(group, sensor)
        det_pos, det_cov, det_G = self._detection_positions(group, sensor)
        report_ids = self._next_report + np.arange(len(group))
        self._next_report += len(group)
        if model.with_range:  # the reports' positions as reported, for the registration
            det_reported = det_pos + det_G @ self._registration.bias[sensor]
        remaining = np.ones(len(group), dtype=bool)
        labels = _labels(group)
        table = self._table
        took = np.zeros(len(table), dtype=bool)
        near_ti = near_dj = np.empty(0, dtype=np.int64)
        stages = (
            (table.status == CONFIRMED) | (table.status == COASTING),
            (table.status == TENTATIVE) & (table.hits >= 2),
            (table.status == TENTATIVE) & (table.hits < 2),
        )
        # Bearings update firm tracks only: a tentative track's velocity is not yet known, and
        # around closely spaced objects (a salvo) a bearing would confirm a track started on
        # one object's report and continued on its neighbour's.
        for k, stage in enumerate(stages if model.with_range else stages[:1]):
            track_idx = np.flatnonzero(stage)
            det_idx = np.flatnonzero(remaining)
            if len(track_idx) == 0 or len(det_idx) == 0:
                continue
            # Firm tracks are pre-gated to the exclusion gate of the reports that may initiate.
            exclude = k == 0 and model.with_range
            pre_gate = model.exclusion_gate if exclude else model.gate
            ti, dj = self._candidates(track_idx, group, det_idx, det_pos, det_cov, pre_gate)
            if len(ti) == 0:
                continue
            # One prediction per track and report time, shared by the track's pairs at that
            # time: a staring radar's scan has one time, and in dense traffic a track gates
            # many reports, so predicting each pair would grow with the square of the density.
            first, at_time = _track_times(ti, group.t_s[dj])
            tf = ti[first]
            xp, Pp, xm, Pm, c = self._predict(tf, group.t_s[dj[first]] - table.t_s[tf])
            inn, _ = self._innovation(xp[at_time], Pp[at_time], z[dj], geometry.take(dj), model)
            if exclude:
                near = inn.d2 <= model.exclusion_gate
                near_ti, near_dj = ti[near], dj[near]
            ok = inn.d2 <= model.gate
            if not model.with_range and ok.any():
                ok &= _unambiguous(ti, dj, ok, len(table), len(group))
            if not ok.any():
                continue
            cost = inn.d2 + inn.log_det_S
            ok_idx = np.flatnonzero(ok)
            # A one-report track continues on every report above the aircraft ceiling it gates
            # within one revisit of its sensor (and on none later), each pair a new track; the
            # report also starts its own (see the notes of ``tracker.core``).
            branch = np.zeros(len(ok_idx), dtype=bool)
            if k == 2:
                assert det_pos is not None  # the third stage is a radar's (with_range)
                t_p, d_p = ti[ok_idx], dj[ok_idx]
                own_period = self._scan_period_s[table.last_report_sensor[t_p]]
                branch = approximate_height(det_pos[d_p]) > self.config.aircraft_ceiling_m
                late = branch & (group.t_s[d_p] - table.t_s[t_p] > own_period)
                ok_idx, branch = ok_idx[~late], branch[~late]
            b = ok_idx[branch]
            copies = np.empty(0, dtype=np.int64)
            if len(b):
                copies = self._branch(ti[b])
                updated = np.r_[updated, np.zeros(len(b), dtype=bool)]
                took = np.r_[took, np.zeros(len(b), dtype=bool)]
            g = ok_idx[~branch]
            at, ad = gnn_assign(ti[g], dj[g], cost[g], len(table), len(group))
            remaining[ad] = False
            # Map each assigned (track, detection) back to its gated pair.
            keys = ti[g] * len(group) + dj[g]
            sel = np.r_[g[np.searchsorted(keys, at * len(group) + ad)], b]
            at, ad = np.r_[at, copies], np.r_[ad, dj[b]]
            if model.with_range:
                assert det_G is not None  # a radar's reports have positions
                if k == 0:
                    self._register(
                        sensor, group, at, ad, xp[at_time[sel]], det_reported[ad], det_G[ad]
                    )
                table.last_report[at] = det_reported[ad]
                table.last_report_G[at] = det_G[ad]
                table.last_report_sensor[at] = sensor
                second = table.hits[at] == 1
                table.first_reports[at[second], 1] = report_ids[ad[second]]
            else:
                table.last_report_sensor[at] = -1
            missed = self._missed_revisits(at, group.t_s[ad])
            p = at_time[sel]
            log_lik = self._update(at, xm[p], Pm[p], c[p], z[ad], geometry.take(ad), model)
            self._score_reports(at, missed, log_lik, model)
            table.t_s[at] = group.t_s[ad]
            table.hits[at] += 1
            table.nations[at] |= 1 << model.nation_bit
            table.release[at] &= labels[ad]
            wide = (table.first_wide_row[at] < 0) & self._wide(labels[ad])
            table.first_wide_row[at[wide]] = group.row[ad[wide]]
            table.first_wide_t_s[at[wide]] = group.t_s[ad[wide]]
            table.last_seen_s[at, sensor] = group.t_s[ad]
            updated[at] = True
            took[at] = True
        excluded = np.zeros(len(group), dtype=bool)
        excluded[near_dj[~took[near_ti]]] = True
        excluded &= remaining
        self.stats.initiation_excluded += int(excluded.sum())
        remaining &= ~excluded
        left = np.flatnonzero(remaining)
        if len(left) and model.with_range:
            assert det_pos is not None and det_cov is not None and det_G is not None
            self._initiate(
                group.take(left),
                sensor,
                det_pos[left],
                det_cov[left],
                z[left],
                geometry.take(left),
                (det_reported[left], det_G[left]),
                report_ids[left],
            )
            updated = np.r_[updated, np.ones(len(left), dtype=bool)]
        elif len(left):
            self.stats.unassociated_angle_only += len(left)
        return updated

    def _score_reports(
        self, at: np.ndarray, missed: np.ndarray, log_lik: np.ndarray, model: _SensorModel
    ) -> None:
        """Add the reports assigned to tracks ``at``, of log-likelihoods ``log_lik`` under the
        tracks' predictions, and the ``missed`` revisits before each, to the tracks' scores
        (:mod:`airpicture.tracker._score`)."""
        table = self._table
        history = table.hits[at], table.looks[at], table.pd_prior[at], missed
        table.score[at] += miss_log_probability(*history) + report_increment(
            detection_probability(*history), log_lik, model.log_false_density
        )
        table.score_peak[at] = np.maximum(table.score_peak[at], table.score[at])
        table.looks[at] += missed + 1.0

    def _missed_revisits(self, idx: np.ndarray | slice, t_s: np.ndarray | float) -> np.ndarray:
        """Revisits tracks ``idx`` (rows, or a slice: a view, no copy) have missed by ``t_s``: of
        the sensors that have seen each, the fewest whole scan periods since its last report,
        less the one under way."""
        seen_s = self._table.last_seen_s[idx]
        since = np.asarray(t_s, dtype=float).reshape(-1, 1) - seen_s
        ratio = np.where(np.isfinite(seen_s), since / self._scan_period_s, np.inf).min(axis=1)
        return np.floor(ratio - 0.5).clip(min=0)

    def _register(
        self,
        sensor: int,
        group: Detections,
        at: np.ndarray,
        ad: np.ndarray,
        xp: np.ndarray,
        reported: np.ndarray,
        G: np.ndarray,
    ) -> None:
        """Pair radar reports with the previous report of their tracks for the registration.

        ``xp`` are the tracks' predictions to the reports and ``reported`` the reports'
        positions as reported. A pair is the track's previous update, a report of another radar
        at most ``PAIR_WITHIN_S`` earlier, carried forward by the track's predicted motion.
        """
        table = self._table
        other = table.last_report_sensor[at]
        dt = group.t_s[ad] - table.t_s[at]
        ok = np.flatnonzero((other >= 0) & (other != sensor) & (dt <= PAIR_WITHIN_S))
        if len(ok) == 0:
            return
        tk = at[ok]
        dt = dt[ok]
        motion = xp[ok, :3] - table.x[tk, :3]
        M = dt[:, None, None] ** 2 * table.P[tk, 3:6, 3:6] + (self._q_eff(tk) * dt**3 / 3.0)[
            :, None, None
        ] * np.eye(3)
        self._registration.observe(
            float(group.t_s[ad[ok]].mean()),
            sensor,
            reported[ok],
            G[ok],
            other[ok],
            table.last_report[tk] + motion,
            table.last_report_G[tk],
            M,
        )

    def _predict(
        self, ti: np.ndarray, dt_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """IMM prediction of tracks ``ti`` over steps ``dt_s``: combined and per model."""
        table = self._table
        dyn = self._dynamics
        mu = table.mu[ti]
        Pi = dyn.switch_matrix(dt_s, table.x[ti, :3])
        dyn.hold_free_flight(Pi, mu)
        x0, P0, c = mix(table.xm[ti], table.Pm[ti], mu, Pi)
        # the speed a track may have: its estimate plus twice its spread
        speed = np.linalg.norm(table.x[ti, 3:6], axis=1) + 2.0 * np.sqrt(
            np.trace(table.P[ti, 3:6, 3:6], axis1=1, axis2=2)
        )
        xm, Pm = dyn.predict(x0, P0, dt_s, dyn.close_free_flight(c, speed))
        xp, Pp = combine(xm, Pm, c)
        return xp, Pp, xm, Pm, c

    @staticmethod
    def _innovation(
        x: np.ndarray, P: np.ndarray, z: np.ndarray, geometry: SensorGeometry, model: _SensorModel
    ) -> tuple[Innovation, np.ndarray]:
        """Innovation statistics of states (m, 7) against measurements (m, d); also H (m, d, 7)."""
        zp, H6 = predict_measurements(
            x[:, :6], geometry, with_range=model.with_range, with_range_rate=model.with_range_rate
        )
        H = np.concatenate([H6, np.zeros(H6.shape[:2] + (STATE_DIM - 6,))], axis=2)
        nu = z - zp
        nu[:, model.angle_cols[0]] = wrap_angle(nu[:, model.angle_cols[0]])
        return innovation(nu, P, H, model.R), H

    def _update(
        self,
        at: np.ndarray,
        xm: np.ndarray,
        Pm: np.ndarray,
        c: np.ndarray,
        z: np.ndarray,
        geometry: SensorGeometry,
        model: _SensorModel,
    ) -> np.ndarray:
        """Model-matched EKF updates, model probabilities and combination for tracks ``at``;
        returns each report's log-likelihood under its track's prediction (the models'
        likelihoods weighted by their predicted probabilities ``c``)."""
        n, r = c.shape
        rep = np.repeat(np.arange(n), r)
        flat_x = xm.reshape(n * r, STATE_DIM)
        flat_P = Pm.reshape(n * r, STATE_DIM, STATE_DIM)
        geo = geometry.take(rep)
        inn, H = self._innovation(flat_x, flat_P, z[rep], geo, model)
        x_new, P_new = update(flat_x, flat_P, H, model.R, inn)
        wide = self._wide_prior(flat_x, flat_P, geo, model)
        if wide.any():
            w = np.flatnonzero(wide)
            x_new[w], P_new[w] = self._iterated_update(
                flat_x[w], flat_P[w], x_new[w], z[rep][w], geo.take(w), model
            )
        x_new = project_kappa(x_new, P_new)
        d = z.shape[1]
        held = np.argmax(c, axis=1)  # each track's most probable model before the update
        self.stats.nis_sum += float(inn.d2.reshape(n, r)[np.arange(n), held].sum())
        self.stats.nis_updates += n
        self.stats.nis_dof += n * d
        log_lik = -0.5 * (inn.d2 + inn.log_det_S + d * math.log(2.0 * math.pi))
        log_lik = log_lik.reshape(n, r)
        mu = update_probabilities(c, log_lik)
        table = self._table
        table.xm[at] = x_new.reshape(n, r, STATE_DIM)
        table.Pm[at] = P_new.reshape(n, r, STATE_DIM, STATE_DIM)
        table.mu[at] = mu
        table.x[at], table.P[at] = combine(table.xm[at], table.Pm[at], mu)
        with np.errstate(divide="ignore"):
            return np.asarray(logsumexp(np.log(c) + log_lik, axis=1))

    @staticmethod
    def _wide_prior(
        x: np.ndarray, P: np.ndarray, geometry: SensorGeometry, model: _SensorModel
    ) -> np.ndarray:
        """Predictions whose spread makes the linearised measurement biased beyond its noise.

        Over a position spread s at range r the angles bend by about s^2 / (2 r): the update is
        iterated where that exceeds ``_WIDE_PRIOR`` times the report's own cross-range spread
        r sigma_angle.
        """
        spread2 = np.trace(P[:, :3, :3], axis1=1, axis2=2)
        range2 = np.einsum("ij,ij->i", x[:, :3] - geometry.ecef, x[:, :3] - geometry.ecef)
        sigma_angle = float(np.sqrt(np.diag(model.R)[list(model.angle_cols)].min()))
        return spread2 > 2.0 * _WIDE_PRIOR * sigma_angle * range2

    def _iterated_update(
        self,
        x: np.ndarray,
        P: np.ndarray,
        x_first: np.ndarray,
        z: np.ndarray,
        geometry: SensorGeometry,
        model: _SensorModel,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Iterated EKF update of predictions far less certain than the measurement.

        Relinearises the measurement at the latest estimate :math:`x_i`:
        x_i+1 = x + K_i [z - h(x_i) - H_i (x - x_i)], K_i from H_i and the prediction's P
        [B. M. Bell and F. W. Cathey, "The iterated Kalman filter update as a Gauss-Newton
        method", IEEE Trans. AC 38(2), 1993, pp. 294-297, eq. (8)]. A new track's second report
        is kilometres from where its zero-velocity prior puts it, and the radar's angles bend
        over such a distance: one linearisation at the prior leaves a bias of a hundred metres
        or more that the filter's own covariance does not admit.
        """
        xi = x_first
        P_new = P
        for _ in range(_IEKF_ITERATIONS):
            zp, H6 = predict_measurements(
                xi[:, :6],
                geometry,
                with_range=model.with_range,
                with_range_rate=model.with_range_rate,
            )
            H = np.concatenate([H6, np.zeros(H6.shape[:2] + (STATE_DIM - 6,))], axis=2)
            nu = z - zp
            nu[:, model.angle_cols[0]] = wrap_angle(nu[:, model.angle_cols[0]])
            nu = nu - (H @ (x - xi)[..., None])[..., 0]
            xi, P_new = update(x, P, H, model.R, innovation(nu, P, H, model.R))
        return xi, P_new

    def _geometry(self, group: Detections, sensor: int) -> SensorGeometry:
        """Sensor geometry of a scan's rows, with the platform velocity where range rate is used.

        The velocity of a moving platform is the difference quotient of its reported positions:
        each row against the sensor's last earlier distinct time (this scan or the one before).
        """
        geometry = SensorGeometry.of_detections(group)
        if not self._models[sensor].with_range_rate:
            return geometry
        last = self._platform_last.get(sensor)
        t = group.t_s
        p = geometry.ecef
        if last is not None and last[0] < t[0]:
            t = np.r_[last[0], t]
            p = np.vstack([last[1][None], p])
        prev = np.searchsorted(t, group.t_s, side="left") - 1
        have = prev >= 0
        velocity = np.zeros((len(group), 3))
        j = prev[have]
        i = np.flatnonzero(have) + (len(t) - len(group))
        velocity[have] = (p[i] - p[j]) / (t[i] - t[j])[:, None]
        if last is None or group.t_s[-1] > last[0]:
            self._platform_last[sensor] = (float(group.t_s[-1]), geometry.ecef[-1].copy())
        return geometry.with_velocity(velocity)

    def _detection_positions(
        self, group: Detections, sensor: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | tuple[None, None, None]:
        """ECEF positions, covariances and Jacobians of a radar's detections (None for bearings).

        The Jacobians are with respect to (range, azimuth, elevation), the registration's order.
        """
        s = self.sensors[sensor]
        if not s.has_range:
            return None, None, None
        p, G = detection_jacobians(group)
        var = np.array([s.sigma_azimuth_rad**2, s.sigma_elevation_rad**2, s.sigma_range_m**2])
        C = (G * var) @ np.swapaxes(G, -1, -2)
        return p, C, G[:, :, [2, 0, 1]]

    def _q_eff(self, idx: np.ndarray) -> np.ndarray:
        """Process noise density of tracks ``idx`` under their model probabilities, m^2/s^3."""
        return self._table.mu[idx] @ self._dynamics.q

    def _candidates(
        self,
        track_idx: np.ndarray,
        group: Detections,
        det_idx: np.ndarray,
        det_pos: np.ndarray | None,
        det_cov: np.ndarray | None,
        gate: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pairs within the pre-gate of chi-square ``gate``, as indices into the table and group.

        Each track is extrapolated at constant velocity to the scan's mean time, with a bound
        ``var_pos`` of the trace of its position covariance there. A radar report is a point
        (``det_pos``): the pair is kept within ``sqrt(gate (var_pos + tr C_det))`` metres. A
        bearing is a line of sight: with the angular innovation scaled to arc lengths
        (azimuth times cos(elevation)), the innovation covariance is at most
        ``var_pos / range^2 + max(sigma_az, sigma_el)^2`` in every direction, so a pair inside
        the exact gate is within ``sqrt(gate (var_pos / range^2 + sigma^2))`` radians of the
        track's line of sight; the pair is kept when the chord between the unit lines of sight
        is within that angle (a chord is never longer than its arc). Both radii grow by the
        track's motion over the scan's time spread and by the way free flight leaves constant
        velocity (:meth:`~airpicture.tracker.MotionModelSet.free_flight_drift`, which
        also moves the extrapolation), and the angle also by the sensor's own motion (a moving
        platform) seen from the track's nearest possible range.
        """
        table = self._table
        t_ref = float(group.t_s[det_idx].mean())
        spread = float(np.abs(group.t_s[det_idx] - t_ref).max())
        dt = t_ref - table.t_s[track_idx]
        x = table.x[track_idx]
        P = table.P[track_idx]
        a = np.abs(dt) + spread
        shift, drift = self._dynamics.free_flight_drift(x, table.mu[track_idx], dt, a)
        pos = x[:, :3] + x[:, 3:6] * dt[:, None] + shift
        tr_pp = np.trace(P[:, :3, :3], axis1=1, axis2=2)
        tr_pv = np.trace(P[:, :3, 3:6], axis1=1, axis2=2)
        tr_vv = np.trace(P[:, 3:6, 3:6], axis1=1, axis2=2)
        var_pos = tr_pp + 2.0 * np.abs(dt * tr_pv) + a * a * tr_vv + self._q_eff(track_idx) * a**3
        moving = np.linalg.norm(x[:, 3:6], axis=1) * spread + drift
        if det_pos is not None:
            assert det_cov is not None  # set together with det_pos (a radar's reports)
            det_var = np.trace(det_cov[det_idx], axis1=1, axis2=2)
            radius = math.sqrt(gate) * np.sqrt(var_pos + det_var.max()) + moving
            # Only tracks whose sphere reaches the box around the scan's reports are searched:
            # a scan of a rotating radar covers a sector, the table the whole region.
            points = det_pos[det_idx]
            reach = radius[:, None]
            near = np.flatnonzero(
                np.all((pos >= points.min(axis=0) - reach) & (pos <= points.max(axis=0) + reach), 1)
            )
            ti, dj = candidate_pairs(
                pos[near], radius[near], points, self.config.gate_max_candidates
            )
            ti = near[ti]
            # Each pair within its own bound: a near report's spread is far smaller than the
            # farthest one's, which sets the radius of the search.
            gap = pos[ti] - det_pos[det_idx[dj]]
            own = math.sqrt(gate) * np.sqrt(var_pos[ti] + det_var[dj]) + moving[ti]
            keep = np.einsum("ij,ij->i", gap, gap) <= own * own
            return track_idx[ti[keep]], det_idx[dj[keep]]
        dets = group.take(det_idx)
        site = np.stack(
            geodetic2ecef(dets.sensor_lat_rad, dets.sensor_lon_rad, dets.sensor_alt_m), axis=-1
        )
        sight = np.stack(
            aer2ecef(
                dets.azimuth_rad,
                dets.elevation_rad,
                1.0,
                dets.sensor_lat_rad,
                dets.sensor_lon_rad,
                dets.sensor_alt_m,
            ),
            axis=-1,
        )
        sight -= site
        origin = site.mean(axis=0)
        site_shift = float(np.linalg.norm(site - origin, axis=1).max())
        los = pos - origin
        rng = np.linalg.norm(los, axis=1)
        near = rng - site_shift - np.sqrt(var_pos)
        s = self.sensors[int(group.sensor_index[det_idx[0]])]
        sigma2 = max(s.sigma_azimuth_rad, s.sigma_elevation_rad) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            angle = np.sqrt(gate * (var_pos / near**2 + sigma2)) + (moving + site_shift) / near
            unit = los / rng[:, None]
        # Within a kilometre of the sensor (or an unbounded angle) every report is a candidate.
        angle = np.where((near > _BEARING_GATE_MIN_RANGE_M) & np.isfinite(angle), angle, 2.0)
        ti, dj = candidate_pairs(
            np.nan_to_num(unit), np.minimum(angle, 2.0), sight, self.config.gate_max_candidates
        )
        return track_idx[ti], det_idx[dj]

    # ------------------------------------------------------------------ initiation
    def _branch(self, rows: np.ndarray) -> np.ndarray:
        """Append copies of tracks ``rows`` under new numbers; return their rows."""
        table = self._table
        copies = table.take(rows)
        m = len(rows)
        copies.number = np.arange(self._next_number, self._next_number + m, dtype=np.int64)
        self._next_number += m
        self.stats.branched += m
        start = len(table)
        table.extend(copies)
        return np.arange(start, start + m)

    def _initiate(
        self,
        dets: Detections,
        sensor: int,
        pos: np.ndarray,
        pos_cov: np.ndarray,
        z: np.ndarray,
        geometry: SensorGeometry,
        report: tuple[np.ndarray, np.ndarray],
        report_ids: np.ndarray,
    ) -> None:
        """Start tentative tracks on radar reports; ``report``: positions as reported and
        Jacobians, for the registration; ``report_ids``: the reports' ids."""
        m = len(dets)
        model = self._models[sensor]
        dyn = self._dynamics
        r = dyn.r
        # Per model: the velocity prior of the objects that can be where the track starts.
        speed = np.abs(z[:, -1]) if model.with_range_rate else None
        mu, prior = dyn.initial_conditions(pos, speed)
        x = np.zeros((m, STATE_DIM))
        x[:, :3] = pos
        x[:, 6] = KAPPA_PRIOR
        Pm = np.zeros((m, r, STATE_DIM, STATE_DIM))
        Pm[:, :, :3, :3] = pos_cov[:, None]
        Pm[:, :, 6, 6] = KAPPA_PRIOR**2
        if model.with_range_rate:
            # Radial velocity is measured: a narrow prior along the line of sight.
            los = pos - geometry.ecef
            u = los / np.linalg.norm(los, axis=1, keepdims=True)
            rr = z[:, -1]
            x[:, 3:6] = rr[:, None] * u
            if geometry.velocity is not None:
                x[:, 3:6] += geometry.velocity
            cross = (np.eye(3) - u[:, :, None] * u[:, None, :])[:, None]
            var_rr = self.sensors[sensor].sigma_range_rate_mps ** 2
            Pm[:, :, 3:6, 3:6] = cross @ prior @ cross + var_rr * (np.eye(3) - cross)
        else:
            Pm[:, :, 3:6, 3:6] = prior
        xm = np.repeat(x[:, None], r, axis=1)
        _, P = combine(xm, Pm, mu)
        last_seen = np.full((m, len(self.sensors)), np.nan)
        last_seen[:, sensor] = dets.t_s
        numbers = np.arange(self._next_number, self._next_number + m, dtype=np.int64)
        self._next_number += m
        self.stats.initiated += m
        self._table.extend(
            TrackTable(
                x=x,
                P=P,
                t_s=dets.t_s.copy(),
                t_first_s=dets.t_s.copy(),
                number=numbers,
                status=np.full(m, TENTATIVE, np.int8),
                hits=np.ones(m, np.int32),
                nations=np.full(m, 1 << model.nation_bit, np.int64),
                release=_labels(dets),
                last_seen_s=last_seen,
                last_report=report[0],
                last_report_G=report[1],
                last_report_sensor=np.full(m, sensor, np.int32),
                first_reports=np.stack([report_ids, np.full(m, -1)], axis=1),
                first_row=dets.row.astype(np.int64),
                first_wide_row=np.where(self._wide(_labels(dets)), dets.row, -1).astype(np.int64),
                first_wide_t_s=dets.t_s.copy(),
                score=np.zeros(m),
                score_peak=np.zeros(m),
                looks=np.ones(m),
                pd_prior=np.full(m, model.p_detect),
                xm=xm,
                Pm=Pm,
                mu=mu,
            )
        )


def _track_times(ti: np.ndarray, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (track, time) combinations of pairs: the first pair of each, and for every
    pair the index of its combination among them.

    Parameters
    ----------
    ti : ndarray of int, shape (k,)
        Tracks of the pairs.
    t_s : ndarray, shape (k,)
        Times the pairs are predicted to, s.

    Returns
    -------
    first : ndarray of int64, shape (u,)
        One pair of each combination.
    which : ndarray of int64, shape (k,)
        Each pair's combination (``ti[first[which]] == ti``).
    """
    order = np.lexsort((t_s, ti))
    new = np.ones(len(ti), dtype=bool)
    new[1:] = (np.diff(ti[order]) != 0) | (np.diff(t_s[order]) != 0)
    which = np.empty(len(ti), dtype=np.int64)
    which[order] = np.cumsum(new) - 1
    return order[new], which


def _unambiguous(
    ti: np.ndarray, dj: np.ndarray, ok: np.ndarray, n_tracks: int, n_dets: int
) -> np.ndarray:
    """Gated pairs whose track gates no other detection and whose detection no other track.

    For angle-only (infrared) reports: a bearing fits every object along its line of sight, so
    when a track's gate holds several reports, or a report falls in several tracks' gates
    (closely spaced objects such as a salvo of missiles), the report is left out rather than
    risk pulling a track onto its neighbour; radar reports resolve such ambiguities.
    """
    per_track = np.bincount(ti[ok], minlength=n_tracks)
    per_det = np.bincount(dj[ok], minlength=n_dets)
    return (per_track[ti] == 1) & (per_det[dj] == 1)


def _labels(dets: Detections) -> np.ndarray:
    """The detections' release labels (uint64); every bit set for detections without labels."""
    if dets.release is None:
        return np.full(len(dets), RELEASE_ALL, dtype=np.uint64)
    return dets.release
