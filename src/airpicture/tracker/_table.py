"""The track table: every live track as one row of a structure of arrays."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from airpicture.codes import COASTING, CONFIRMED, DELETED, TENTATIVE

__all__ = ["CONFIRMED", "COASTING", "DELETED", "TENTATIVE", "TrackTable"]


@dataclass
class TrackTable:
    """Live tracks, one row each (n rows; S = number of sensors).

    Attributes
    ----------
    x : ndarray, shape (n, 7)
        Filter state at ``t_s``: ECEF position and velocity (m, m/s) and the inverse ballistic
        coefficient kappa (m^2/kg); see ``airpicture.tracker._dynamics``.
    P : ndarray, shape (n, 7, 7)
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
    nations : ndarray of int64, shape (n,)
        Bit set of contributing nations (bit i = i-th nation of the sensor table).
    release : ndarray of uint64, shape (n,)
        Release label: the bitwise AND of the contributing detections' labels
        (:data:`~airpicture.tables.RELEASE_ALL` for unlabelled detections).
    last_seen_s : ndarray, shape (n, S)
        Time each sensor last updated the track; NaN for never.
    last_report : ndarray, shape (n, 3)
        ECEF position of the radar report of the track's latest update, as reported (before
        registration); used by :mod:`airpicture.tracker._registration`.
    last_report_G : ndarray, shape (n, 3, 3)
        Its Jacobian with respect to range, azimuth and elevation (in that column order).
    last_report_sensor : ndarray of int32, shape (n,)
        The sensor of that report; -1 when the latest update was not a radar report.
    first_reports : ndarray of int64, shape (n, 2)
        Ids of the track's first two radar reports (-1 for none yet). Only these can be shared
        with another track: a report above the aircraft ceiling may continue several
        one-report tracks and start its own (``tracker.core``, initiation).
    first_row : ndarray of int64, shape (n,)
        The detection ``row`` of the track's first report (of the one-report track whose number
        a track took at confirmation, the same report); names the track across the network
        (:mod:`airpicture.fusion`).
    first_wide_row, first_wide_t_s : ndarray of int64 and float, shape (n,)
        ``row`` and time of the track's first report released to every nation of the network
        (``Tracker.wide_release``; -1 for none yet).
    score : ndarray, shape (n,)
        The track's score at its last update: the log-likelihood ratio of its reports under
        "one object" against "false alarms" (:mod:`airpicture.tracker._score`); of tracks
        sharing a report, one is confirmed only once its score leads every other's by the
        confirmation threshold.
    score_peak : ndarray, shape (n,)
        The highest score the track has had.
    looks : ndarray, shape (n,)
        Expected revisits up to its last update (each report and each revisit missed before
        it), for the track's detection probability.
    pd_prior : ndarray, shape (n,)
        Nominal detection probability of the sensor that started the track.
    xm, Pm : ndarray, shapes (n, r, 7) and (n, r, 7, 7)
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
    nations: np.ndarray
    release: np.ndarray
    last_seen_s: np.ndarray
    last_report: np.ndarray
    last_report_G: np.ndarray
    last_report_sensor: np.ndarray
    first_reports: np.ndarray
    first_row: np.ndarray
    first_wide_row: np.ndarray
    first_wide_t_s: np.ndarray
    score: np.ndarray
    score_peak: np.ndarray
    looks: np.ndarray
    pd_prior: np.ndarray
    xm: np.ndarray
    Pm: np.ndarray
    mu: np.ndarray

    @classmethod
    def empty(cls, n_sensors: int, n_models: int) -> TrackTable:
        return cls(
            np.empty((0, 7)),
            np.empty((0, 7, 7)),
            np.empty(0),
            np.empty(0),
            np.empty(0, np.int64),
            np.empty(0, np.int8),
            np.empty(0, np.int32),
            np.empty(0, np.int64),
            np.empty(0, np.uint64),
            np.empty((0, n_sensors)),
            np.empty((0, 3)),
            np.empty((0, 3, 3)),
            np.empty(0, np.int32),
            np.empty((0, 2), np.int64),
            np.empty(0, np.int64),
            np.empty(0, np.int64),
            np.empty(0),
            np.empty(0),
            np.empty(0),
            np.empty(0),
            np.empty(0),
            np.empty((0, n_models, 7)),
            np.empty((0, n_models, 7, 7)),
            np.empty((0, n_models)),
        )

    def __len__(self) -> int:
        return len(self.t_s)

    def __post_init__(self) -> None:
        self._store: dict[str, np.ndarray] = {}

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` is true, or rows ``mask`` in that order (in place in
        the table's storage)."""
        if mask.dtype == bool and mask.all():
            return
        for f in fields(self):
            column = getattr(self, f.name)
            kept = column[mask]
            store = self._store.get(f.name)
            if store is None or column.base is not store:
                setattr(self, f.name, kept)
                continue
            store[: len(kept)] = kept
            setattr(self, f.name, store[: len(kept)])

    def take(self, idx: np.ndarray) -> TrackTable:
        """A new table of rows ``idx`` (copies)."""
        return TrackTable(*(getattr(self, f.name)[idx] for f in fields(self)))

    def extend(self, other: TrackTable) -> None:
        """Append the rows of another table.

        The columns are views of a storage with room to spare, grown by half again when full,
        so appending the few tracks a scan starts copies only them, not the whole table.
        """
        n, m = len(self), len(other)
        for f in fields(self):
            column = getattr(self, f.name)
            store = self._store.get(f.name)
            if store is None or column.base is not store or len(store) < n + m:
                grown = np.empty((max(n + m + (n + m) // 2, 64),) + column.shape[1:], column.dtype)
                grown[:n] = column
                store = self._store[f.name] = grown
            store[n : n + m] = getattr(other, f.name)
            setattr(self, f.name, store[: n + m])
