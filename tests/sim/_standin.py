"""A tiny stand-in for :class:`airpicture.sim.ObjectSet`, for the sensor tests only.

Objects move at constant ECEF velocity between ``t_start_s`` and ``t_end_s`` (NaN outside) and
"boost" inside ``[boost_start_s, boost_end_s)``. Straight ECEF lines are fine here: the sensor
tests need known geometry, not flight physics.
"""

from __future__ import annotations

import numpy as np

from airpicture.geo import enu2ecef, enu_rotation, geodetic2ecef
from airpicture.tables import Truth


class ConstantVelocityObjects:
    """k objects with state ``x0 (k, 6)`` at time ``t_ref_s``."""

    def __init__(
        self,
        x0: np.ndarray,
        *,
        t_ref_s: float,
        rcs_m2: np.ndarray | float = 1.0,
        t_start_s: np.ndarray | float = -np.inf,
        t_end_s: np.ndarray | float = np.inf,
        boost_start_s: np.ndarray | float = np.inf,
        boost_end_s: np.ndarray | float = np.inf,
        kind: str = "aircraft",
    ) -> None:
        self.x0 = np.asarray(x0, dtype=float)
        k = self.x0.shape[0]
        self.t_ref_s = t_ref_s
        self.object_id = np.array([f"obj{i:05d}" for i in range(k)])
        self.kind = np.full(k, kind)
        self.rcs_m2 = np.broadcast_to(np.asarray(rcs_m2, dtype=float), (k,)).copy()
        self.t_start_s = np.broadcast_to(np.asarray(t_start_s, dtype=float), (k,)).copy()
        self.t_end_s = np.broadcast_to(np.asarray(t_end_s, dtype=float), (k,)).copy()
        self.boost_start_s = np.broadcast_to(np.asarray(boost_start_s, dtype=float), (k,))
        self.boost_end_s = np.broadcast_to(np.asarray(boost_end_s, dtype=float), (k,))

    def states_at(self, t_s):
        t = np.broadcast_to(np.asarray(t_s, dtype=float), (self.x0.shape[0],))
        dt = (t - self.t_ref_s)[:, None]
        out = self.x0.copy()
        out[:, :3] += dt * self.x0[:, 3:]
        dead = (t < self.t_start_s) | (t > self.t_end_s)
        out[dead] = np.nan
        return out

    def boosting(self, t_s):
        t = np.broadcast_to(np.asarray(t_s, dtype=float), (self.x0.shape[0],))
        return (t >= self.boost_start_s) & (t < self.boost_end_s)

    def truth(self, times_s):
        times = np.asarray(times_s, dtype=float)
        parts = []
        for t in times:
            x = self.states_at(t)
            ok = np.all(np.isfinite(x), axis=1)
            parts.append((np.full(ok.sum(), t), self.object_id[ok], self.kind[ok], x[ok]))
        return Truth(
            t_s=np.concatenate([p[0] for p in parts]),
            object_id=np.concatenate([p[1] for p in parts]),
            kind=np.concatenate([p[2] for p in parts]),
            x=np.concatenate([p[3] for p in parts]),
        )


def objects_around(
    lat_deg: float,
    lon_deg: float,
    *,
    east_m: np.ndarray,
    north_m: np.ndarray,
    up_m: np.ndarray,
    velocity_enu_mps: np.ndarray | None = None,
    t_ref_s: float,
    **kwargs,
) -> ConstantVelocityObjects:
    """Objects at ENU offsets from a geodetic origin, with ENU velocities (default at rest)."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    x, y, z = enu2ecef(east_m, north_m, up_m, lat, lon, 0.0)
    k = np.shape(x)[0]
    v_enu = np.zeros((k, 3)) if velocity_enu_mps is None else np.asarray(velocity_enu_mps, float)
    v = v_enu @ enu_rotation(lat, lon)
    return ConstantVelocityObjects(np.column_stack([x, y, z, v]), t_ref_s=t_ref_s, **kwargs)


def objects_at_geodetic(lat_deg, lon_deg, alt_m, *, t_ref_s: float, **kwargs):
    """Objects at rest at geodetic positions (degrees, m)."""
    x, y, z = geodetic2ecef(np.radians(lat_deg), np.radians(lon_deg), alt_m)
    k = np.shape(x)[0]
    return ConstantVelocityObjects(
        np.column_stack([x, y, z, np.zeros((k, 3))]), t_ref_s=t_ref_s, **kwargs
    )
