r"""The tracker's motion models, mixed per track by its IMM filter.

The filter state has seven elements, ``[x, y, z, vx, vy, vz, kappa]``: the ECEF position and
velocity (m, m/s) and the inverse ballistic coefficient :math:`\kappa = 1/\beta = C_D A / m`
(m^2/kg), which only the ballistic model uses; the others carry it unchanged as a slow random
walk. Models are chosen by name (``TrackerConfig.motion_models``):

=============  ============================================================================
``cv``         nearly constant velocity (``process_noise_q``)
``ct``         two coordinated turns, left and right, at ``turn_rate_dps`` about the local vertical
``ballistic``  free flight under WGS-84 gravity with J2, drag with the estimated kappa, Coriolis
               and centrifugal terms (``airpicture.models.ballistic``), ``ballistic_process_noise_q``
``boost``      nearly constant velocity with the large ``boost_process_noise_q`` of a powered
               ascent or a hard manoeuvre
=============  ============================================================================
"""

from __future__ import annotations

import numpy as np

from airpicture.models.ballistic import (
    ballistic_jacobian,
    propagate_ballistic,
    propagate_ballistic_stm,
)
from airpicture.geo import ecef2geodetic
from airpicture.models.atmosphere import AIR_DENSITY_SEA_LEVEL_KGPM3, AIR_SCALE_HEIGHT_M
from airpicture.models.motion import ct_transition, cv_process_noise, cv_transition
from airpicture.tracker.config import TrackerConfig

__all__ = ["KAPPA_MIN", "STATE_DIM", "MotionModelSet", "project_kappa"]

STATE_DIM = 7
"""Filter state size: ECEF position and velocity, and the inverse ballistic coefficient."""

KAPPA_MIN = 1e-7
"""Smallest magnitude of the inverse ballistic coefficient used in propagation, m^2/kg."""

_KAPPA_WALK = 1e-12
"""Random-walk spectral density of kappa, (m^2/kg)^2 / s."""

_MAX_STEP_S = 2.0

_MAX_DRAG_STEP = 0.5
"""Largest drag rate times substep (rho |v| kappa h) the ballistic prediction integrates."""

_G_BOUND = 10.0
"""Bound on the downward acceleration used to find the lowest point of a step, m/s^2."""

_EXACT_CLIMB_M = 0.05 * AIR_SCALE_HEIGHT_M
"""Height change over a step beyond which the transition matrix is integrated (m): there the
air density, and with it the drag and its sensitivity to kappa, changes by more than 5 %."""


class MotionModelSet:
    """The r motion models of every track, with their prior probabilities.

    Parameters
    ----------
    config : TrackerConfig
        ``motion_models`` names the models; the noise and turn-rate settings tune them.
    """

    def __init__(self, config: TrackerConfig) -> None:
        names = [n.strip() for n in config.motion_models.split(",")]
        # (label, kind, turn rate rad/s, q) of each expanded model
        models: list[tuple[str, str, float, float]] = []
        for name in names:
            if name == "cv":
                models.append(("cv", "cv", 0.0, config.process_noise_q))
            elif name == "ct":
                w = float(np.radians(config.turn_rate_dps))
                models.append(("ct-left", "ct", w, config.turn_process_noise_q))
                models.append(("ct-right", "ct", -w, config.turn_process_noise_q))
            elif name == "ballistic":
                models.append(("ballistic", "ballistic", 0.0, config.ballistic_process_noise_q))
            else:
                models.append(("boost", "cv", 0.0, config.boost_process_noise_q))
        self.labels = tuple(label for label, _, _, _ in models)
        self._kinds = [(kind, w, q) for _, kind, w, q in models]
        self.q = np.array([q for _, _, q in self._kinds])
        prior = np.array([4.0 if label == "cv" else 1.0 for label in self.labels])
        self.initial_probabilities = prior / prior.sum()
        rocket = np.array([label in ("ballistic", "boost") for label in self.labels])
        self._rocket = rocket
        self._ceiling_m = config.aircraft_ceiling_m
        self.prior_speed_mps = np.where(rocket, config.ballistic_max_speed_mps, config.max_speed_mps)
        self.sojourn_s = np.where(
            np.array(self.labels) == "ballistic", config.ballistic_sojourn_s, config.model_sojourn_s
        )
        self.destinations = _destinations(self.labels)

    def initial_probabilities_at(self, alt_m: np.ndarray) -> np.ndarray:
        """Model probabilities of new tracks first seen at geodetic heights ``alt_m`` (m,), m.

        Above ``aircraft_ceiling_m`` nothing but a rocket or a body in free flight can be, so the
        probability goes to the ballistic and boost models alone (when both are configured).

        Returns
        -------
        mu : ndarray, shape (m, r)
        """
        mu = np.tile(self.initial_probabilities, (len(alt_m), 1))
        if self._rocket.any() and not self._rocket.all():
            high = np.asarray(alt_m) > self._ceiling_m
            mu[high] = self._rocket / self._rocket.sum()
        return mu

    @property
    def r(self) -> int:
        """Number of models."""
        return len(self._kinds)

    def switch_matrix(self, dt_s: np.ndarray) -> np.ndarray:
        r"""Model-switch probabilities over steps ``dt_s``, one sojourn time per model.

        Model :math:`i` is kept over a step :math:`\Delta t` with probability
        :math:`\pi_{ii} = e^{-|\Delta t| / \tau_i}` (a continuous-time Markov chain with mean
        sojourn :math:`\tau_i`), and a switch goes to each other model equally [Bar-Shalom, Li,
        Kirubarajan 2001, section 11.6.6 (the IMM's Markov chain); section 11.7.3 (setting
        :math:`\pi_{ii}` from the expected sojourn)]. The ballistic model's sojourn is
        ``ballistic_sojourn_s``, every other model's ``model_sojourn_s``.

        Parameters
        ----------
        dt_s : ndarray, shape (m,)
            Steps, s (the sign is ignored).

        Returns
        -------
        Pi : ndarray, shape (m, r, r)
            ``Pi[k, i, j]`` = P(model j after the step | model i before); rows sum to one.
        """
        dt = np.abs(np.atleast_1d(np.asarray(dt_s, dtype=float)))
        r = self.r
        if r == 1:
            return np.ones(dt.shape + (1, 1))
        stay = np.exp(-dt[:, None] / self.sojourn_s[None, :])  # (m, r)
        Pi = (1.0 - stay)[:, :, None] * self.destinations[None, :, :]
        idx = np.arange(r)
        Pi[:, idx, idx] = stay
        return Pi

    def transition(self, x: np.ndarray, dt_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predicted states, transition matrices and process noise of every model.

        Parameters
        ----------
        x : ndarray, shape (m, r, 7)
            Model-conditioned (mixed) states.
        dt_s : ndarray, shape (m,)
            Steps, s (may be negative).

        Returns
        -------
        x_pred : ndarray, shape (m, r, 7)
        F, Q : ndarray, shape (m, r, 7, 7)
            Transition matrices (Jacobians for the ballistic model) and process noise.
        """
        m = len(dt_s)
        F = np.zeros((m, self.r, STATE_DIM, STATE_DIM))
        Q = np.zeros((m, self.r, STATE_DIM, STATE_DIM))
        F[:, :, 6, 6] = 1.0
        Q[:, :, 6, 6] = _KAPPA_WALK * np.abs(dt_s)[:, None]
        x_pred = np.empty_like(x)
        x_pred[:, :, 6] = x[:, :, 6]
        for j, (kind, w, q) in enumerate(self._kinds):
            Q[:, j, :6, :6] = cv_process_noise(dt_s, q)
            xj = x[:, j]
            if kind == "ballistic":
                x_pred[:, j, :6], F[:, j, :6, :] = _ballistic_transition(xj, dt_s)
                continue
            if kind == "ct":
                up = xj[:, :3] / np.linalg.norm(xj[:, :3], axis=1, keepdims=True)
                F[:, j, :6, :6] = ct_transition(dt_s, w, up)
            else:
                F[:, j, :6, :6] = cv_transition(dt_s)
            x_pred[:, j, :6] = (F[:, j, :6, :6] @ xj[:, :6, None])[..., 0]
        return x_pred, F, Q


def _destinations(labels: tuple[str, ...]) -> np.ndarray:
    """Where each model goes when it is left: (r, r), zero diagonal, rows summing to one.

    With a boost model present, free flight and the aircraft models only meet through it: a
    body in free flight leaves it only for powered flight (a new stage or a manoeuvre), and an
    aircraft never starts to fly ballistically, while boost (a powered or hard manoeuvre) may
    end in any other model. Without a boost model every switch is equally likely.
    """
    r = len(labels)
    if r == 1:
        return np.zeros((1, 1))
    W = 1.0 - np.eye(r)
    if "boost" in labels and "ballistic" in labels and r > 2:
        b, f = labels.index("boost"), labels.index("ballistic")
        aircraft = [i for i in range(r) if i not in (b, f)]
        W[f, :] = 0.0
        W[f, b] = 1.0
        W[aircraft, f] = 0.0
    return W / W.sum(axis=1, keepdims=True)


def _ballistic_transition(x: np.ndarray, dt_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Ballistic prediction of m states ``[x, v, kappa]`` and its 6 x 7 transition matrix.

    The state is propagated with :func:`~airpicture.models.ballistic.propagate_ballistic`
    (RK4), with kappa floored at :data:`KAPPA_MIN` (the filter keeps its estimates of kappa
    non-negative, :func:`project_kappa`). Where the drag rate :math:`\rho\lVert v\rVert\kappa`
    at the lowest point of the step times the RK4 substep exceeds ``_MAX_DRAG_STEP`` (far below
    ground, or an absurd kappa) the drag is scaled down to that limit, which keeps the
    integration stable.

    The transition matrix :math:`[\Phi, \partial x / \partial\kappa]` is, for a body moving
    up or down by more than ``_EXACT_CLIMB_M`` over the step, integrated with the state through
    the variational equations (:func:`~airpicture.models.ballistic.propagate_ballistic_stm`),
    since the drag and its sensitivity follow the air density, which changes along the step.
    Otherwise the Jacobian at the start is expanded to second order, :math:`\Phi = I + A\Delta t
    + A^2\Delta t^2/2` and :math:`\partial x/\partial\beta = b\Delta t + A b\Delta t^2/2`,
    with :math:`\partial/\partial\kappa = -\beta^2\,\partial/\partial\beta`
    [Montenbruck and Gill, *Satellite Orbits*, Springer 2000, section 7.1 (state transition and
    sensitivity matrices)].

    Parameters
    ----------
    x : ndarray, shape (m, 7)
        ECEF position and velocity (m, m/s) and kappa (m^2/kg).
    dt_s : ndarray, shape (m,)
        Steps, s (may be negative).

    Returns
    -------
    x_pred : ndarray, shape (m, 6)
        Predicted position and velocity.
    F : ndarray, shape (m, 6, 7)
        Rows of the transition matrix for position and velocity (kappa's row is ``[0 ... 1]``).
    """
    kappa = np.maximum(x[:, 6], KAPPA_MIN)
    r = x[:, :3]
    speed = np.linalg.norm(x[:, 3:6], axis=1)
    v_up = np.einsum("ij,ij->i", r, x[:, 3:6]) / np.linalg.norm(r, axis=1)
    # Drag rate |d a / d v| = rho |v| kappa at the lowest point of the step: held to
    # _MAX_DRAG_STEP per substep, so that states far below ground or with absurd kappa (a
    # ballistic hypothesis of clutter) cannot make the integration blow up; real bodies are far
    # from the limit (rho |v| kappa is below 0.6 /s at sea level for beta = 5000 kg/m^2).
    h_low = (
        ecef2geodetic(r[:, 0], r[:, 1], r[:, 2])[2]
        + np.minimum(v_up * dt_s, 0.0)
        - 0.5 * _G_BOUND * dt_s**2
    )
    substep = np.minimum(np.abs(dt_s), _MAX_STEP_S)
    # log of rho(h_low) |v| kappa h, in logs so that a state deep underground cannot overflow
    log_rate = (
        np.log(AIR_DENSITY_SEA_LEVEL_KGPM3)
        - h_low / AIR_SCALE_HEIGHT_M
        + np.log(np.maximum(speed * kappa * substep, 1e-300))
    )
    damp = np.exp(np.minimum(np.log(_MAX_DRAG_STEP) - log_rate, 0.0))
    beta = 1.0 / (kappa * damp)
    exact = np.abs(v_up * dt_s) > _EXACT_CLIMB_M
    x_pred = np.empty((len(dt_s), 6))
    F = np.empty((len(dt_s), 6, 7))
    if exact.any():
        xp, Phi, sens = propagate_ballistic_stm(
            x[exact, :6], beta[exact], dt_s[exact], max_step_s=_MAX_STEP_S
        )
        x_pred[exact] = xp
        F[exact, :, :6] = Phi
        F[exact, :, 6] = -sens * (beta[exact] ** 2 * damp[exact])[:, None]
    rest = ~exact
    if rest.any():
        xr, br, dr = x[rest, :6], beta[rest], dt_s[rest]
        x_pred[rest] = propagate_ballistic(xr, br, dr, max_step_s=_MAX_STEP_S)
        A, b = ballistic_jacobian(xr, br)
        Adt = A * dr[:, None, None]
        F[rest, :, :6] = np.eye(6) + Adt + 0.5 * (Adt @ Adt)
        sens = b * dr[:, None] + 0.5 * (Adt @ b[..., None])[..., 0] * dr[:, None]
        F[rest, :, 6] = -sens * (br * br * damp[rest])[:, None]
    return x_pred, F


def project_kappa(x: np.ndarray, P: np.ndarray) -> np.ndarray:
    r"""Estimates with a negative kappa moved onto the constraint :math:`\kappa = 0`.

    Drag cannot accelerate a body, so :math:`\kappa \ge 0`. An update that leaves a negative
    estimate is projected onto the boundary along the covariance, :math:`\hat x \leftarrow
    \hat x - P e_\kappa (e_\kappa^T P e_\kappa)^{-1} e_\kappa^T \hat x`, which also moves the
    states correlated with kappa [D. Simon and T. L. Chia, "Kalman filtering with state equality
    constraints", IEEE Trans. AES 38(1), 2002, pp. 128-136: the estimate projection with the
    covariance as weight]; the covariance is kept, so kappa stays free to grow again. Without
    it, propagating a negative estimate as zero drag would ignore half of kappa's error and bias
    the estimate low.

    Parameters
    ----------
    x : ndarray, shape (n, 7)
        Filter states ``[x, v, kappa]`` (m, m/s, m^2/kg).
    P : ndarray, shape (n, 7, 7)
        Their covariances.

    Returns
    -------
    x : ndarray, shape (n, 7)
        A new array; rows with kappa >= 0 are unchanged.
    """
    out = x.copy()
    low = out[:, 6] < 0.0
    if low.any():
        Pk = P[low, :, 6]
        out[low] -= Pk * (out[low, 6] / np.maximum(Pk[:, 6], 1e-300))[:, None]
        out[low, 6] = 0.0
    return out
