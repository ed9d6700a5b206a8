"""Global-nearest-neighbour assignment on independent clusters of a sparse cost matrix."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["gnn_assign"]

_INFEASIBLE = 1e12


def gnn_assign(
    track_idx: np.ndarray, det_idx: np.ndarray, cost: np.ndarray, n_tracks: int, n_dets: int
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one assignment of tracks to detections over the gated pairs only.

    The gated pairs form a bipartite graph; each connected component is an independent problem.
    Components with a single pair are assigned directly (vectorised); the others are solved with
    the Jonker-Volgenant-type solver of ``scipy.optimize.linear_sum_assignment``, with pairs
    outside the gate infeasible, so the most pairs are assigned, then at the least total cost.

    Parameters
    ----------
    track_idx, det_idx : ndarray of int, shape (k,)
        Gated pairs (each pair at most once).
    cost : ndarray, shape (k,)
        Cost of each pair (e.g. negative log-likelihood).
    n_tracks, n_dets : int
        Sizes of the index spaces.

    Returns
    -------
    track_idx, det_idx : ndarray of int64
        The assigned pairs, sorted by track index.
    """
    k = len(track_idx)
    if k == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    track_idx = np.asarray(track_idx, dtype=np.int64)
    det_idx = np.asarray(det_idx, dtype=np.int64)
    # A pair is a component of its own exactly when its track and its detection are in no other
    # pair; only the rest need the components of their graph.
    single = (np.bincount(track_idx, minlength=n_tracks)[track_idx] == 1) & (
        np.bincount(det_idx, minlength=n_dets)[det_idx] == 1
    )
    out_t = [track_idx[single]]
    out_d = [det_idx[single]]
    multi = np.flatnonzero(~single)
    if len(multi):
        graph = coo_matrix(
            (np.ones(len(multi)), (track_idx[multi], n_tracks + det_idx[multi])),
            shape=(n_tracks + n_dets,) * 2,
        )
        _, label = connected_components(graph, directed=False)
        pair_label = label[track_idx[multi]]
        order = multi[np.argsort(pair_label, kind="stable")]
        labels_sorted = np.sort(pair_label, kind="stable")
        bounds = np.flatnonzero(np.diff(labels_sorted)) + 1
        for group in np.split(order, bounds):
            t_u, t_inv = np.unique(track_idx[group], return_inverse=True)
            d_u, d_inv = np.unique(det_idx[group], return_inverse=True)
            matrix = np.full((len(t_u), len(d_u)), _INFEASIBLE)
            matrix[t_inv, d_inv] = cost[group]
            rows, cols = linear_sum_assignment(matrix)
            ok = matrix[rows, cols] < _INFEASIBLE
            out_t.append(t_u[rows[ok]])
            out_d.append(d_u[cols[ok]])
    t = np.concatenate(out_t)
    d = np.concatenate(out_d)
    order = np.argsort(t, kind="stable")
    return t[order], d[order]
