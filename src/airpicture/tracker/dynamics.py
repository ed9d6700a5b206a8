"""The tracker's set of motion models for its IMM filter, chosen by configuration."""

from __future__ import annotations

import numpy as np

from airpicture.models.motion import ct_transition, cv_process_noise, cv_transition
from airpicture.tracker.config import TrackerConfig

__all__ = ["MotionModelSet"]


class MotionModelSet:
    """Nearly constant velocity plus, unless ``turn_rate_dps`` is 0, a left and a right
    coordinated turn at that rate about the local vertical.

    Parameters
    ----------
    config : TrackerConfig
        ``process_noise_q`` for the straight model, ``turn_rate_dps`` and
        ``turn_process_noise_q`` for the turn models.
    """

    def __init__(self, config: TrackerConfig) -> None:
        omega = np.radians(config.turn_rate_dps)
        if omega > 0:
            self.turn_rates_radps = np.array([0.0, omega, -omega])
            self.q = np.array([config.process_noise_q, config.turn_process_noise_q, config.turn_process_noise_q])
            self.initial_probabilities = np.array([0.8, 0.1, 0.1])
        else:
            self.turn_rates_radps = np.array([0.0])
            self.q = np.array([config.process_noise_q])
            self.initial_probabilities = np.array([1.0])

    @property
    def r(self) -> int:
        """Number of models."""
        return len(self.q)

    def transition(self, x: np.ndarray, dt_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Transition matrices and process noise of every model for m states and steps.

        Parameters
        ----------
        x : ndarray, shape (m, 6)
            ECEF states (their positions set the local vertical of the turn models).
        dt_s : ndarray, shape (m,)
            Steps, s.

        Returns
        -------
        F, Q : ndarray, shape (m, r, 6, 6)
        """
        m = len(dt_s)
        F = np.empty((m, self.r, 6, 6))
        Q = np.empty((m, self.r, 6, 6))
        up = x[:, :3] / np.linalg.norm(x[:, :3], axis=1, keepdims=True)
        for j, (w, q) in enumerate(zip(self.turn_rates_radps, self.q, strict=True)):
            F[:, j] = cv_transition(dt_s) if w == 0.0 else ct_transition(dt_s, w, up)
            Q[:, j] = cv_process_noise(dt_s, q)
        return F, Q
