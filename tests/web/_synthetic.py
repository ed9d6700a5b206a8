"""Synthetic track rows for the web tests: straight, level flights at known places."""

from __future__ import annotations

import numpy as np

from airpicture.geo import enu_rotation, geodetic2ecef
from airpicture.tables import TrackRows


def flights(
    t_s: float,
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    *,
    course_deg: float | np.ndarray = 90.0,
    speed_mps: float | np.ndarray = 200.0,
    alt_m: float | np.ndarray = 10_000.0,
    t0_s: float = 0.0,
    sigma_m: float = 300.0,
    ids: list[str] | None = None,
    kind: str = "aircraft",
    status: str = "confirmed",
    nations: str = "JPN;USA",
    sources: str | list[str] | None = None,
    quality: int | list[int] | None = None,
    local_id: str | list[str] | None = None,
) -> TrackRows:
    """Rows of n tracks at time ``t_s``, each flown from (lat, lon) at ``t0_s`` on a great circle
    approximation (flat steps, fine for tests over minutes); ``sources``, ``quality`` and
    ``local_id`` (one for all rows or one per row) as a network picture carries them."""
    lat0 = np.radians(np.asarray(lat_deg, dtype=float))
    lon0 = np.radians(np.asarray(lon_deg, dtype=float))
    n = lat0.shape[0]
    crs = np.radians(np.broadcast_to(np.asarray(course_deg, dtype=float), (n,)))
    spd = np.broadcast_to(np.asarray(speed_mps, dtype=float), (n,))
    alt = np.broadcast_to(np.asarray(alt_m, dtype=float), (n,))
    ve, vn = spd * np.sin(crs), spd * np.cos(crs)
    dt = t_s - t0_s
    lat = lat0 + vn * dt / 6.371e6
    lon = lon0 + ve * dt / (6.371e6 * np.cos(lat0))
    x, y, z = geodetic2ecef(lat, lon, alt)
    R = enu_rotation(lat, lon)
    v = np.einsum("nji,nj->ni", R, np.column_stack([ve, vn, np.zeros(n)]))
    cov = np.tile([sigma_m**2, 0.0, 0.0, sigma_m**2, 0.0, sigma_m**2], (n, 1))
    names = np.array(ids if ids is not None else [f"T{i:06d}" for i in range(n)])

    def column(value: object, dtype: type | None = None) -> np.ndarray | None:
        return None if value is None else np.broadcast_to(np.asarray(value, dtype=dtype), (n,))

    return TrackRows(
        np.full(n, float(t_s)),
        names,
        np.column_stack([x, y, z, v]),
        cov,
        np.full(n, kind),
        np.full(n, status),
        np.full(n, nations),
        local_id=column(local_id),
        sources=column(sources),
        quality=column(quality, np.int8),
    )
