"""The track table: every live track as one row of a structure of arrays."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

__all__ = ["CONFIRMED", "COASTING", "DELETED", "TENTATIVE", "TrackTable"]

TENTATIVE, CONFIRMED, COASTING, DELETED = 0, 1, 2, 3


@dataclass
class TrackTable:
    """Live tracks, one row each (n rows; S = number of sensors).

    Attributes
    ----------
    x : ndarray, shape (n, 6)
        ECEF state at ``t_s``, m and m/s.
    P : ndarray, shape (n, 6, 6)
        State covariance.
    t_s : ndarray, shape (n,)
        Time of the state (time of the last update), s.
    t_first_s : ndarray, shape (n,)
        Time of the first detection.
    number : ndarray of int64, shape (n,)
        Track number, unique for the tracker's life.
    status : ndarray of int8, shape (n,)
        TENTATIVE, CONFIRMED or COASTING.
    hits : ndarray of int32, shape (n,)
        Detections assimilated.
    q : ndarray, shape (n,)
        Process noise spectral density, m^2/s^3.
    nations : ndarray of int64, shape (n,)
        Bit set of contributing nations (bit i = i-th nation of the sensor table).
    last_seen_s : ndarray, shape (n, S)
        Time each sensor last updated the track; NaN for never.
    xm, Pm : ndarray, shapes (n, r, 6) and (n, r, 6, 6)
        Model-conditioned states and covariances of the IMM's r motion models.
    mu : ndarray, shape (n, r)
        Model probabilities; ``x, P`` are the moment-matched combination.
    """

    x: np.ndarray
    P: np.ndarray
    t_s: np.ndarray
    t_first_s: np.ndarray
    number: np.ndarray
    status: np.ndarray
    hits: np.ndarray
    q: np.ndarray
    nations: np.ndarray
    last_seen_s: np.ndarray
    xm: np.ndarray
    Pm: np.ndarray
    mu: np.ndarray

    @classmethod
    def empty(cls, n_sensors: int, n_models: int) -> TrackTable:
        return cls(
            np.empty((0, 6)),
            np.empty((0, 6, 6)),
            np.empty(0),
            np.empty(0),
            np.empty(0, np.int64),
            np.empty(0, np.int8),
            np.empty(0, np.int32),
            np.empty(0),
            np.empty(0, np.int64),
            np.empty((0, n_sensors)),
            np.empty((0, n_models, 6)),
            np.empty((0, n_models, 6, 6)),
            np.empty((0, n_models)),
        )

    def __len__(self) -> int:
        return len(self.t_s)

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` is true."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name)[mask])

    def extend(self, other: TrackTable) -> None:
        """Append the rows of another table."""
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)]))
