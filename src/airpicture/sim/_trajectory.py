r"""Trajectories stored at nodes and evaluated anywhere by cubic Hermite interpolation.

A trajectory is a sequence of ECEF states (position and velocity) at increasing node times. Between
nodes ``a`` and ``b`` (``tau = t_b - t_a``, ``s = (t - t_a) / tau``) the position is the cubic
that matches both end positions and velocities,

.. math::

    \mathbf p(s) = h_{00}(s)\,\mathbf p_a + h_{10}(s)\,\tau\mathbf v_a
        + h_{01}(s)\,\mathbf p_b + h_{11}(s)\,\tau\mathbf v_b

with :math:`h_{00} = 2s^3 - 3s^2 + 1`, :math:`h_{10} = s^3 - 2s^2 + s`, :math:`h_{01} = -2s^3 +
3s^2`, :math:`h_{11} = s^3 - s^2`, and the velocity is its time derivative [R. L. Burden and
J. D. Faires, *Numerical Analysis*, 9th ed., Brooks/Cole 2011, section 3.4 (Hermite
interpolation and its error)]. The
position error is at most :math:`\tau^4 \max\lVert\mathbf p^{(4)}\rVert / 384`: for a 2 s node
spacing and an aircraft turning at 25 degrees of bank (:math:`p^{(4)} = (g\tan\phi)^3 / v^2`)
that is below 0.1 mm. A jump of the acceleration inside an interval costs up to
:math:`\Delta a\,\tau^2 / 62`, which is why the simulators put a node on every jump they make
(control changes, burnout).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Trajectories", "hermite"]


def hermite(
    t_a: np.ndarray, x_a: np.ndarray, t_b: np.ndarray, x_b: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """Cubic Hermite interpolation of states between two nodes, row by row.

    Parameters
    ----------
    t_a, t_b : ndarray, shape (n,)
        Node times, s, with ``t_b > t_a``.
    x_a, x_b : ndarray, shape (n, 6)
        ECEF states ``[x, y, z, vx, vy, vz]`` at the nodes, m and m/s.
    t : ndarray, shape (n,)
        Evaluation times, s (normally within ``[t_a, t_b]``).

    Returns
    -------
    x : ndarray, shape (n, 6)
        Interpolated position and its time derivative.
    """
    tau = (t_b - t_a)[:, None]
    s = (t[:, None] - t_a[:, None]) / tau
    s2 = s * s
    s3 = s2 * s
    pa, va, pb, vb = x_a[:, :3], x_a[:, 3:] * tau, x_b[:, :3], x_b[:, 3:] * tau
    pos = (
        (2 * s3 - 3 * s2 + 1) * pa
        + (s3 - 2 * s2 + s) * va
        + (3 * s2 - 2 * s3) * pb
        + (s3 - s2) * vb
    )
    vel = ((6 * s2 - 6 * s) * (pa - pb) + (3 * s2 - 4 * s + 1) * va + (3 * s2 - 2 * s) * vb) / tau
    return np.concatenate([pos, vel], axis=1)


@dataclass(frozen=True)
class Trajectories:
    """k trajectories sampled at nodes; a row exists from its first node to its last.

    Either the nodes are uniform (``node_t_s`` is None: node ``j`` of row ``i`` is at
    ``t_first_s[i] + j * step_s``) or each row lists its node times in ``node_t_s``.

    Attributes
    ----------
    t_first_s : ndarray, shape (k,)
        Time of each row's first node, s.
    states : ndarray, shape (k, m, 6)
        ECEF states at the nodes, m and m/s; NaN past a row's last node.
    n_nodes : ndarray, shape (k,), int
        Number of nodes of each row, at least 2.
    step_s : float
        Uniform node spacing, s (unused when ``node_t_s`` is given).
    node_t_s : ndarray, shape (k, m), or None
        Node times of non-uniform rows, increasing, ``+inf`` past a row's last node.
    """

    t_first_s: np.ndarray
    states: np.ndarray
    n_nodes: np.ndarray
    step_s: float = 0.0
    node_t_s: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.n_nodes.shape[0])

    @property
    def t_last_s(self) -> np.ndarray:
        """Time of each row's last node, s, shape (k,)."""
        if self.node_t_s is None:
            return self.t_first_s + (self.n_nodes - 1) * self.step_s
        return self.node_t_s[np.arange(len(self)), self.n_nodes - 1]

    def states_at(self, t_s: np.ndarray) -> np.ndarray:
        """States at one time per row.

        Parameters
        ----------
        t_s : ndarray, shape (k,)
            Time for each row, s.

        Returns
        -------
        x : ndarray, shape (k, 6)
            ECEF states, m and m/s; NaN rows where ``t_s`` is outside the row's node span.
        """
        k = len(self)
        t = np.asarray(t_s, dtype=float)
        rows = np.arange(k)
        t_last = self.t_last_s
        with np.errstate(invalid="ignore"):
            if self.node_t_s is None:
                j = np.floor((t - self.t_first_s) / self.step_s)
                j = np.clip(np.nan_to_num(j), 0, self.n_nodes - 2).astype(np.int64)
                t_a = self.t_first_s + j * self.step_s
                t_b = t_a + self.step_s
            else:
                j = np.sum(self.node_t_s <= t[:, None], axis=1) - 1
                j = np.clip(j, 0, self.n_nodes - 2)
                t_a = self.node_t_s[rows, j]
                t_b = self.node_t_s[rows, j + 1]
            x = hermite(t_a, self.states[rows, j], t_b, self.states[rows, j + 1], t)
            alive = (t >= self.t_first_s) & (t <= t_last)
        x[~alive] = np.nan
        return x
