"""Gating: a coarse spatial pre-gate in ECEF, then the exact Mahalanobis gate on the survivors."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import chi2

__all__ = ["candidate_pairs", "chi2_gate"]

_BRUTE_FORCE_PAIRS = 20_000


def chi2_gate(probability: float, dim: int) -> float:
    """Squared-Mahalanobis gate holding a true measurement with ``probability`` in ``dim`` dims."""
    return float(chi2.ppf(probability, dim))


def candidate_pairs(
    track_pos: np.ndarray,
    radius_m: np.ndarray,
    det_pos: np.ndarray,
    max_per_track: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(Track, detection) pairs closer than the track's pre-gate radius.

    Parameters
    ----------
    track_pos : ndarray, shape (n, 3)
        Predicted track positions, ECEF m.
    radius_m : ndarray, shape (n,)
        Pre-gate radius of each track, m; a superset bound of its Mahalanobis gate.
    det_pos : ndarray, shape (m, 3)
        Detection positions, ECEF m.
    max_per_track : int, optional
        Keep at most this many detections per track, the nearest (all when None). This bounds
        the pairs, and the work and memory spent on them, by ``n * max_per_track`` whatever
        the input: reports piled onto one spot would otherwise make ``n * m`` pairs.

    Returns
    -------
    track_idx, det_idx : ndarray of int64, shape (k,)
        Candidate pairs, sorted by track then detection.
    """
    n, m = len(track_pos), len(det_pos)
    if n == 0 or m == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    k = m if max_per_track is None else min(int(max_per_track), m)
    if n * m <= _BRUTE_FORCE_PAIRS:
        d2 = ((track_pos[:, None, :] - det_pos[None, :, :]) ** 2).sum(axis=-1)
        inside = d2 <= (radius_m**2)[:, None]
        if k < m:  # the k nearest of each track's
            rank = np.argsort(np.argsort(np.where(inside, d2, np.inf), axis=1), axis=1)
            inside &= rank < k
        ti, dj = np.nonzero(inside)
        return ti.astype(np.int64), dj.astype(np.int64)
    tree = cKDTree(det_pos)
    if k == m:
        hits = tree.query_ball_point(track_pos, r=radius_m, return_sorted=True)
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=n)
        ti = np.repeat(np.arange(n, dtype=np.int64), counts)
        dj = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=int(counts.sum()))
        return ti, dj
    # the k nearest within the largest radius, then each track's own radius
    dist, near = tree.query(track_pos, k=k, distance_upper_bound=float(radius_m.max()))
    dist, near = dist.reshape(n, k), near.reshape(n, k)
    inside = dist <= radius_m[:, None]
    ti = np.nonzero(inside)[0].astype(np.int64)
    dj = near[inside].astype(np.int64)
    order = np.lexsort((dj, ti))
    return ti[order], dj[order]
