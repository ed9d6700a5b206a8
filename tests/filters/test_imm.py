"""IMM steps against direct sums over models, and a turning target."""

import numpy as np

from airpicture.filters import combine, mix, switch_matrix, update_probabilities


def test_mix_and_combine_match_the_sums():
    rng = np.random.default_rng(0)
    n, r, k = 4, 3, 6
    x = rng.normal(size=(n, r, k))
    A = rng.normal(size=(n, r, k, k))
    P = A @ np.swapaxes(A, -1, -2) + np.eye(k)
    mu = rng.dirichlet(np.ones(r), n)
    Pi = switch_matrix(rng.uniform(0, 10, n), r, 5.0)
    np.testing.assert_allclose(Pi.sum(axis=2), 1.0)
    x0, P0, c = mix(x, P, mu, Pi)
    for t in range(n):
        for j in range(r):
            cj = sum(Pi[t, i, j] * mu[t, i] for i in range(r))
            w = [Pi[t, i, j] * mu[t, i] / cj for i in range(r)]
            xr = sum(w[i] * x[t, i] for i in range(r))
            Pr = sum(w[i] * (P[t, i] + np.outer(x[t, i] - xr, x[t, i] - xr)) for i in range(r))
            assert np.isclose(c[t, j], cj)
            np.testing.assert_allclose(x0[t, j], xr, atol=1e-12)
            np.testing.assert_allclose(P0[t, j], Pr, atol=1e-12)
    xc, Pc = combine(x, P, mu)
    for t in range(n):
        xr = sum(mu[t, j] * x[t, j] for j in range(r))
        Pr = sum(mu[t, j] * (P[t, j] + np.outer(x[t, j] - xr, x[t, j] - xr)) for j in range(r))
        np.testing.assert_allclose(xc[t], xr, atol=1e-12)
        np.testing.assert_allclose(Pc[t], Pr, atol=1e-12)
        assert np.linalg.eigvalsh(Pc[t]).min() > 0


def test_probabilities_follow_the_likelihoods():
    c = np.array([[0.8, 0.1, 0.1]])
    mu = update_probabilities(c, np.array([[-50.0, -2.0, -60.0]]))
    assert mu.argmax() == 1 and np.isclose(mu.sum(), 1.0) and mu.min() > 0
