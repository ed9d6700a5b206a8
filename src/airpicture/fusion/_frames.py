"""What goes in and out of a network picture (:class:`~airpicture.fusion.CommonPicture`):
the tracker frames it takes (:class:`LocalFrame`), the frames it makes (:class:`NetworkFrame`),
the tracks nodes share (:class:`TrackReports`) and its counters (:class:`FusionStats`)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from airpicture.assess import Assessor, TrackStates
from airpicture.tables import TrackRows
from airpicture.tracker import Tracker

__all__ = ["FusionStats", "LocalFrame", "NetworkFrame", "TrackReports"]


@dataclass(frozen=True)
class TrackReports:
    """Tracks one node shares (its own tracks, under network numbers): one row per update.

    Attributes
    ----------
    rows : TrackRows
        ``track_id`` the network number; ``x``, ``cov_pos``, ``kind``, ``status``, ``nations``
        (whose detections built it) and ``release`` as the sender holds the track.
    state : ndarray, shape (n, 7)
        The full filter state (the free-flight model's for a track in free flight, the one
        impacts are predicted from), ECEF m, m/s, and the inverse ballistic coefficient.
    cov : ndarray, shape (n, 7, 7)
        Its covariance.
    hits : ndarray of int64, shape (n,)
        Detections the track has assimilated.
    first_t_s : ndarray, shape (n,)
        Time of the first report of the track the number was issued for (the number's key).
    """

    rows: TrackRows
    state: np.ndarray
    cov: np.ndarray
    hits: np.ndarray
    first_t_s: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, index: np.ndarray) -> TrackReports:
        """Rows ``index`` (an index array or boolean mask)."""
        return TrackReports(
            self.rows.take(index),
            self.state[index],
            self.cov[index],
            self.hits[index],
            self.first_t_s[index],
        )

    @classmethod
    def concat(cls, parts: list[TrackReports]) -> TrackReports:
        """Rows of several parts, in order (an empty list gives no rows)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(
            TrackRows.concat([p.rows for p in parts]),
            *(np.concatenate([getattr(p, n) for p in parts]) for n in _REPORT_ARRAYS),
        )

    @classmethod
    def empty(cls) -> TrackReports:
        """No rows."""
        return cls(
            TrackRows.empty(),
            np.empty((0, 7)),
            np.empty((0, 7, 7)),
            np.empty(0, np.int64),
            np.empty(0),
        )


_REPORT_ARRAYS = ("state", "cov", "hits", "first_t_s")


@dataclass
class FusionStats:
    """What a :class:`CommonPicture` did (counts since it started)."""

    received: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    issued: int = 0
    adopted: int = 0
    merged: int = 0
    decorrelated: int = 0
    fused_rows: int = 0
    partner_only_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class NetworkFrame:
    """What one frame changed in the network picture.

    Attributes
    ----------
    rows : TrackRows
        Network-numbered rows (``local_id``, ``sources`` and ``quality`` carried), at most one
        per number; a number that left the picture has a ``deleted`` row.
    states : TrackStates
        The live tracks of ``rows`` as :meth:`~airpicture.assess.Assessor.warn` takes them.
    reports : TrackReports
        This node's own firm tracks updated in the frame (and those that ended), to share.
    renumbered : tuple of (str, str)
        Numbers retired in the frame and the numbers that replace them.
    """

    rows: TrackRows
    states: TrackStates
    reports: TrackReports
    renumbered: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LocalFrame:
    """One tracker frame as the network picture needs it, taken when the tracker made it.

    Attributes
    ----------
    rows : TrackRows
        The frame's rows under the tracker's ids, ``kind`` filled in (n rows).
    states : TrackStates
        The live rows' tracks as the assessment sees them.
    t_s : float
        Time up to which the frame is complete, s.
    live : ndarray of bool, shape (n,)
        Rows of tracks the tracker still holds (the others ended in the frame).
    first_row : ndarray of int64, shape (n,)
        Network-wide key of the report each live track's number comes from (-1 elsewhere): its
        first report released to every nation, or its first report if it has none.
    t_first_s : ndarray, shape (n,)
        Its time.
    x, P : ndarray, shapes (n, 7) and (n, 7, 7)
        Each live track's state and covariance at ``t_state_s``, as the assessment sees it
        (:class:`~airpicture.assess.TrackStates`).
    t_state_s : ndarray, shape (n,)
    """

    rows: TrackRows
    states: TrackStates
    t_s: float
    live: np.ndarray
    first_row: np.ndarray
    t_first_s: np.ndarray
    x: np.ndarray
    P: np.ndarray
    t_state_s: np.ndarray

    @classmethod
    def take(
        cls, assessor: Assessor | None, tracker: Tracker, rows: TrackRows, t_s: float
    ) -> LocalFrame:
        """Classify a frame's rows (not without an assessor: kinds stay as they are) and take
        what the network picture needs of the tracker."""
        classified = assessor.classify(tracker, rows) if assessor is not None else rows
        states = Assessor.states(tracker, classified)
        idx = tracker.rows_index(rows)
        live = (rows.status != "deleted") & (idx >= 0)  # the rows of ``states``, in order
        T = tracker.tracks
        n = len(rows)
        k = idx[live]
        first_row = np.full(n, -1, np.int64)
        t_first = np.zeros(n)
        x, P, t_state = np.zeros((n, 7)), np.broadcast_to(np.eye(7), (n, 7, 7)).copy(), np.zeros(n)
        # the report the number comes from: the first one every nation holds, else the first
        wide = T.first_wide_row[k] >= 0
        first_row[live] = np.where(wide, T.first_wide_row[k], T.first_row[k])
        t_first[live] = np.where(wide, T.first_wide_t_s[k], T.t_first_s[k])
        x[live], P[live], t_state[live] = states.x, states.P, states.t_s
        return cls(
            classified,
            states,
            float(t_s),
            live,
            first_row,
            t_first,
            x,
            P,
            t_state,
        )

    @classmethod
    def empty(cls, t_s: float) -> LocalFrame:
        """A frame with no own tracks (a node that has no detections to track)."""
        z = np.empty(0)
        return cls(
            _empty_network_rows(),
            TrackStates.concat([]),
            float(t_s),
            np.empty(0, bool),
            np.empty(0, np.int64),
            z,
            np.empty((0, 7)),
            np.empty((0, 7, 7)),
            z,
        )


@dataclass
class _Report:
    """A partner's latest report of one network track."""

    owner: str
    t_s: float
    state: np.ndarray
    cov: np.ndarray
    kind: str
    status: str
    nations: str
    hits: int
    quality: int
    release: int
    fresh: bool = True


def _empty_network_rows() -> TrackRows:
    s = np.empty(0, dtype=str)
    return replace(
        TrackRows.empty(),
        local_id=s,
        sources=s,
        quality=np.empty(0, np.int8),
        release=np.empty(0, np.uint64),
    )
