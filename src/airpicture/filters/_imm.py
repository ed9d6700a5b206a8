r"""Interacting multiple model (IMM) steps, batched over n tracks with r models each.

Per track: model-conditioned states :math:`x^j, P^j` and model probabilities :math:`\mu^j`; a
Markov chain :math:`\pi_{ij}` of model switches. One cycle [Blom and Bar-Shalom, "The interacting
multiple model algorithm for systems with Markovian switching coefficients", IEEE Trans. AC 33(8),
1988; as in Bar-Shalom, Li, Kirubarajan 2001, section 11.6.6, eqs. 11.6.6-6 to 11.6.6-29]:

1. mixing:  :math:`\bar c_j = \sum_i \pi_{ij}\mu^i`, :math:`\mu^{i|j} = \pi_{ij}\mu^i / \bar c_j`,
   :math:`x^{0j} = \sum_i \mu^{i|j} x^i`,
   :math:`P^{0j} = \sum_i \mu^{i|j}\,[P^i + (x^i - x^{0j})(x^i - x^{0j})^T]`;
2. model-matched prediction and update (any EKF);
3. probabilities: :math:`\mu^j \propto \Lambda_j \bar c_j` with the measurement likelihoods
   :math:`\Lambda_j = \mathcal N(\nu_j; 0, S_j)`;
4. output combination: moment matching of the mixture.
"""

from __future__ import annotations

import numpy as np

from airpicture.filters._kalman import symmetrize

__all__ = ["combine", "mix", "switch_matrix", "update_probabilities"]


def switch_matrix(dt_s: np.ndarray, r: int, sojourn_s: float) -> np.ndarray:
    """Model-switch probabilities over steps ``dt_s`` (n,): (n, r, r), rows sum to one.

    A model is kept with probability exp(-|dt| / sojourn_s); a switch goes to the others equally.
    """
    dt = np.abs(np.atleast_1d(np.asarray(dt_s, dtype=float)))
    if r == 1:
        return np.ones(dt.shape + (1, 1))
    stay = np.exp(-dt / sojourn_s)
    Pi = np.broadcast_to(((1.0 - stay) / (r - 1))[:, None, None], dt.shape + (r, r)).copy()
    idx = np.arange(r)
    Pi[:, idx, idx] = stay[:, None]
    return Pi


def mix(
    x: np.ndarray, P: np.ndarray, mu: np.ndarray, Pi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IMM mixing step.

    Parameters
    ----------
    x : ndarray, shape (n, r, k)
        Model-conditioned states.
    P : ndarray, shape (n, r, k, k)
        Model-conditioned covariances.
    mu : ndarray, shape (n, r)
        Model probabilities.
    Pi : ndarray, shape (n, r, r)
        Switch probabilities ``Pi[:, i, j] = P(model j next | model i now)``.

    Returns
    -------
    x0, P0 : ndarray, shapes (n, r, k) and (n, r, k, k)
        Mixed initial conditions of each model.
    c : ndarray, shape (n, r)
        Predicted model probabilities.
    """
    joint = Pi * mu[:, :, None]  # (n, i, j)
    c = joint.sum(axis=1)
    w = joint / np.maximum(c[:, None, :], 1e-300)  # mu_{i|j}
    n, r, k = x.shape
    wt = np.ascontiguousarray(np.swapaxes(w, 1, 2))  # (n, j, i)
    # Spread of the means, sum_i w_ij (x_i - x0_j)(x_i - x0_j)^T, as the weighted second
    # moments about the first model's mean e_i = x_i - x_1 less f_j f_j^T, f_j = x0_j - x_1:
    # one product over the models instead of one per (i, j) pair.
    e = x - x[:, :1]
    f = wt @ e
    M = e[..., :, None] * e[..., None, :]
    M += P
    P0 = (wt @ M.reshape(n, r, k * k)).reshape(n, r, k, k)
    P0 -= f[..., :, None] * f[..., None, :]
    return f + x[:, :1], symmetrize(P0), c


def combine(x: np.ndarray, P: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moment-matched Gaussian of the model mixture: (n, k) and (n, k, k)."""
    n, r, k = x.shape
    xc = (mu[:, None, :] @ x)[:, 0]
    d = x - xc[:, None, :]
    Pc = (mu[:, None, :] @ P.reshape(n, r, k * k)).reshape(n, k, k)
    Pc += np.swapaxes(d * mu[..., None], 1, 2) @ d
    return xc, symmetrize(Pc)


def update_probabilities(
    c: np.ndarray, log_likelihood: np.ndarray, floor: float = 1e-6
) -> np.ndarray:
    """Posterior model probabilities from predicted ones and log-likelihoods, (n, r).

    ``floor`` keeps every model alive so the filter can switch back (then renormalised).
    """
    ll = log_likelihood - log_likelihood.max(axis=1, keepdims=True)
    mu = c * np.exp(ll)
    mu /= mu.sum(axis=1, keepdims=True)
    mu = np.maximum(mu, floor)
    return mu / mu.sum(axis=1, keepdims=True)
