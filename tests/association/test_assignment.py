"""Clustered GNN against brute-force enumeration, and the pre-gate against a full scan."""

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.association import candidate_pairs, gnn_assign


def brute_force(n_t, n_d, pairs):
    """Best assignment by enumeration: most pairs first, then least total cost."""
    best = (0, 0.0, ())
    edges = list(pairs.items())
    for k in range(min(n_t, n_d), 0, -1):
        for combo in itertools.combinations(edges, k):
            ts = [t for (t, _), _ in combo]
            ds = [d for (_, d), _ in combo]
            if len(set(ts)) < k or len(set(ds)) < k:
                continue
            cost = sum(c for _, c in combo)
            if k > best[0] or (k == best[0] and cost < best[1] - 1e-12):
                best = (k, cost, combo)
        if best[0] == k:
            break
    return best[0], best[1]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**31), st.floats(0.2, 1.0))
def test_gnn_matches_brute_force(n_t, n_d, seed, density):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_t, n_d)) < density
    ti, dj = np.nonzero(mask)
    cost = rng.uniform(-5, 20, len(ti))
    at, ad = gnn_assign(ti, dj, cost, n_t, n_d)
    assert len(set(at)) == len(at) and len(set(ad)) == len(ad)
    lookup = {(int(t), int(d)): float(c) for t, d, c in zip(ti, dj, cost, strict=True)}
    assert all((int(t), int(d)) in lookup for t, d in zip(at, ad, strict=True))
    k, total = brute_force(n_t, n_d, lookup)
    assert len(at) == k
    found = sum(lookup[(int(t), int(d))] for t, d in zip(at, ad, strict=True))
    assert found == np.float64(total) or np.isclose(found, total)


def test_gnn_permutation_invariant():
    rng = np.random.default_rng(4)
    ti = rng.integers(0, 30, 80)
    dj = rng.integers(0, 30, 80)
    keep = np.unique(ti * 100 + dj, return_index=True)[1]
    ti, dj = ti[keep], dj[keep]
    cost = rng.uniform(0, 10, len(ti))
    a = set(zip(*gnn_assign(ti, dj, cost, 30, 30), strict=True))
    perm = rng.permutation(len(ti))
    b = set(zip(*gnn_assign(ti[perm], dj[perm], cost[perm], 30, 30), strict=True))
    assert a == b


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 400), st.integers(1, 400))
def test_candidate_pairs_equal_full_scan(seed, n, m):
    rng = np.random.default_rng(seed)
    tracks = rng.uniform(-1e5, 1e5, (n, 3))
    dets = rng.uniform(-1e5, 1e5, (m, 3))
    radius = rng.uniform(0, 3e4, n)
    ti, dj = candidate_pairs(tracks, radius, dets)
    d = np.linalg.norm(tracks[:, None] - dets[None], axis=2)
    rt, rd = np.nonzero(d <= radius[:, None])
    found = set(zip(ti.tolist(), dj.tolist(), strict=True))
    assert found == set(zip(rt.tolist(), rd.tolist(), strict=True))
