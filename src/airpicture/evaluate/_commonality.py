"""How common the nations' pictures are: one object, one number, one place, in every picture.

:func:`picture_commonality` takes the truth and each nation's recorded picture and, at each
truth time, assigns every nation's firm tracks to the truth objects (optimal one-to-one
assignment on position within the association distance, tracks taken at their latest row and
predicted linearly, as :func:`~airpicture.evaluate.evaluate_picture` takes them). For
every object held by two nations or more it then records whether all of them hold it under the
same track number (number commonality, the share of such object-times) and the largest
distance between their positions of it (kinematic commonality). It also records when each
nation first held each object, so that the delay of a threat reaching every nation can be read
off (:meth:`Commonality.reach_delays`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from airpicture.tables import TrackRows, Truth

__all__ = ["Commonality", "picture_commonality", "tracks_at"]

_IN_PICTURE = ("confirmed", "coasting")


@dataclass(frozen=True)
class Commonality:
    """Commonality of several nations' pictures.

    Attributes
    ----------
    nations : tuple of str
    t_s : ndarray, shape (n_times,)
        The truth times used.
    shared : ndarray of int, shape (n_times,)
        Objects held by two nations or more at each time.
    same_number : ndarray of int, shape (n_times,)
        Of them, those held under one number by every nation holding them.
    spread_m : ndarray
        For every object-time held by two nations or more, the largest distance between the
        nations' positions of the object, m.
    first_held_s : dict of str to dict of str to float
        Per object, per nation: the first truth time the nation held it (absent: never).
    """

    nations: tuple[str, ...]
    t_s: np.ndarray
    shared: np.ndarray
    same_number: np.ndarray
    spread_m: np.ndarray
    first_held_s: dict[str, dict[str, float]]

    @property
    def number_commonality(self) -> float:
        """Share of object-times held by two nations or more under one number everywhere."""
        total = int(self.shared.sum())
        return float(self.same_number.sum()) / total if total else float("nan")

    def reach_delays(self, object_ids: list[str]) -> dict[str, float]:
        """Per object: how long after the first nation held it the last nation did, s (inf
        when some nation never held it)."""
        out = {}
        for obj in object_ids:
            held = self.first_held_s.get(obj, {})
            if len(held) < len(self.nations):
                out[obj] = float("inf")
            else:
                out[obj] = max(held.values()) - min(held.values())
        return out


def tracks_at(tracks: TrackRows, t_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The picture at ``t_s``: ids and positions (k, 3) of the tracks whose latest row at or
    before ``t_s`` is confirmed or coasting, predicted linearly to ``t_s``."""
    upto = np.flatnonzero(tracks.t_s <= t_s)
    if len(upto) == 0:
        return np.empty(0, dtype=str), np.empty((0, 3))
    ids = np.asarray(tracks.track_id, dtype=str)[upto]
    # the latest row of each id (a deleted row wins a tie: it sorts after the others by index)
    order = np.lexsort((upto, tracks.t_s[upto], ids))
    last = np.r_[ids[order][1:] != ids[order][:-1], True]
    rows = upto[order[last]]
    live = np.isin(tracks.status[rows], _IN_PICTURE)
    rows = rows[live]
    dt = t_s - tracks.t_s[rows]
    pos = tracks.x[rows, :3] + tracks.x[rows, 3:6] * dt[:, None]
    return np.asarray(tracks.track_id, dtype=str)[rows], pos


def picture_commonality(
    truth: Truth,
    pictures: Mapping[str, TrackRows],
    *,
    association_distance_m: float = 10_000.0,
    step_s: float = 1.0,
    detectable_only: bool = True,
) -> Commonality:
    """Score the commonality of several nations' pictures against the truth.

    Parameters
    ----------
    truth : Truth
        Truth rows of every object.
    pictures : mapping of str to TrackRows
        Each nation's picture (network numbers in ``track_id``).
    association_distance_m : float
        A track is on an object only within this distance, m.
    step_s : float
        Truth times closer than this to the previous one used are skipped, s.
    detectable_only : bool
        Only the truth rows marked ``detectable`` (when the table has the column), as
        :func:`~airpicture.evaluate.evaluate_picture` scores: an object no radar could
        see (a missile on its pad) is held by nobody, and a track near it is not on it.

    Returns
    -------
    Commonality
    """
    nations = tuple(pictures)
    if detectable_only and truth.detectable is not None:
        truth = truth.take(np.asarray(truth.detectable, dtype=bool))
    times = np.unique(truth.t_s)
    keep = [0]
    for i in range(1, len(times)):
        if times[i] - times[keep[-1]] >= step_s - 1e-9:
            keep.append(i)
    times = times[keep] if len(times) else times
    shared = np.zeros(len(times), dtype=np.int64)
    same = np.zeros(len(times), dtype=np.int64)
    spread: list[float] = []
    first: dict[str, dict[str, float]] = {}
    objects = np.asarray(truth.object_id, dtype=str)
    for k, t in enumerate(times):
        at = np.flatnonzero(truth.t_s == t)
        obj, opos = objects[at], truth.x[at, :3]
        held: dict[str, list[tuple[str, str, np.ndarray]]] = {}
        for nation in nations:
            ids, pos = tracks_at(pictures[nation], float(t))
            if len(ids) == 0 or len(obj) == 0:
                continue
            d = np.linalg.norm(pos[:, None, :] - opos[None, :, :], axis=2)
            cost = np.where(d <= association_distance_m, d, 1e12)
            ti, oi = linear_sum_assignment(cost)
            ok = d[ti, oi] <= association_distance_m
            for a, b in zip(ti[ok], oi[ok], strict=True):
                o = str(obj[b])
                held.setdefault(o, []).append((nation, str(ids[a]), pos[a]))
                first.setdefault(o, {}).setdefault(nation, float(t))
        for entries in held.values():
            if len(entries) < 2:
                continue
            shared[k] += 1
            same[k] += len({number for _, number, _ in entries}) == 1
            p = np.array([e[2] for e in entries])
            spread.append(float(np.linalg.norm(p[:, None] - p[None], axis=2).max()))
    return Commonality(nations, times, shared, same, np.array(spread), first)
