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

from airpicture.models.ballistic import ballistic_jacobian, propagate_ballistic
from airpicture.models.motion import ct_transition, cv_process_noise, cv_transition
from airpicture.tracker.config import TrackerConfig

__all__ = ["KAPPA_MIN", "STATE_DIM", "MotionModelSet"]

STATE_DIM = 7
"""Filter state size: ECEF position and velocity, and the inverse ballistic coefficient."""

KAPPA_MIN = 1e-7
"""Smallest inverse ballistic coefficient used in propagation, m^2/kg (beta below 1e7 kg/m^2)."""

_KAPPA_WALK = 1e-12
"""Random-walk spectral density of kappa, (m^2/kg)^2 / s."""

_MAX_STEP_S = 2.0


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

    @property
    def r(self) -> int:
        """Number of models."""
        return len(self._kinds)

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
                kappa = np.maximum(xj[:, 6], KAPPA_MIN)
                beta = 1.0 / kappa
                x_pred[:, j, :6] = propagate_ballistic(xj[:, :6], beta, dt_s, max_step_s=_MAX_STEP_S)
                # Covariance transition from the Jacobian at the start, to second order:
                # Phi = I + A dt + A^2 dt^2 / 2, d x/d beta = (b dt + A b dt^2 / 2) (A, b of
                # models.ballistic.ballistic_jacobian); over one revisit the neglected terms are
                # far below the process noise.
                A, b = ballistic_jacobian(xj[:, :6], beta)
                Adt = A * dt_s[:, None, None]
                F[:, j, :6, :6] = np.eye(6) + Adt + 0.5 * (Adt @ Adt)
                sens = b * dt_s[:, None] + 0.5 * (Adt @ b[..., None])[..., 0] * dt_s[:, None]
                F[:, j, :6, 6] = -sens * (beta * beta)[:, None]  # d/d kappa = -beta^2 d/d beta
                continue
            if kind == "ct":
                up = xj[:, :3] / np.linalg.norm(xj[:, :3], axis=1, keepdims=True)
                F[:, j, :6, :6] = ct_transition(dt_s, w, up)
            else:
                F[:, j, :6, :6] = cv_transition(dt_s)
            x_pred[:, j, :6] = (F[:, j, :6, :6] @ xj[:, :6, None])[..., 0]
        return x_pred, F, Q

