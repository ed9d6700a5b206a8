r"""The measurements of a two-dimensional surveillance radar: slant range, azimuth and the
transponder's barometric altitude (Mode C), instead of an elevation.

A 2-D radar measures :math:`z = [r, \alpha, h]`: slant range and azimuth as a 3-D radar does,
and the height :math:`h` above the WGS-84 ellipsoid that the aircraft's Mode C pressure
altitude gives after the pressure-to-geometric correction
(:func:`airpicture.models.pressure_altitude_to_height`); a primary-only plot has no :math:`h`.
With :math:`p` the target's ECEF position and :math:`\hat u(p)` the ellipsoid normal at it,

.. math::

    h = h_{\text{geodetic}}(p), \qquad \frac{\partial h}{\partial p} = \hat u(p)^T

(the gradient of geodetic height is the unit normal through the point, exactly). The
elevation at which a target of height :math:`h` is seen at slant range :math:`r` and azimuth
:math:`\alpha` from a site is the root of :math:`h_{\text{geodetic}}(\mathrm{aer2ecef}(\alpha,
\epsilon, r)) = h`, found by Newton's method (:func:`elevation_of_height`); a height's noise
becomes an elevation noise through :math:`\partial \epsilon / \partial h = 1 / (\hat u^T
\partial p / \partial \epsilon)`.
"""

from __future__ import annotations

import numpy as np

from airpicture.geo import aer2ecef, ecef2geodetic, enu_jacobian_aer, enu_rotation

__all__ = ["elevation_of_height", "predict_range_azimuth_height"]


def _up(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Unit ellipsoid normals (ECEF) at geodetic latitudes and longitudes, shape (..., 3)."""
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def elevation_of_height(
    range_m: np.ndarray,
    azimuth_rad: np.ndarray,
    height_m: np.ndarray,
    site_lat_rad: np.ndarray | float,
    site_lon_rad: np.ndarray | float,
    site_alt_m: np.ndarray | float,
    *,
    iterations: int = 6,
) -> tuple[np.ndarray, np.ndarray]:
    """Elevation at which a target of geodetic height ``height_m`` is seen at slant range and
    azimuth, and the derivative of that elevation with respect to the height.

    Parameters
    ----------
    range_m, azimuth_rad, height_m : array_like, shape (n,)
        Slant range (m), azimuth (rad, clockwise from north) and the target's height above the
        WGS-84 ellipsoid (m).
    site_lat_rad, site_lon_rad, site_alt_m : array_like, shape (n,) or scalars
        The radar's position.
    iterations : int
        Newton steps (6 reach well under a millimetre in height).

    Returns
    -------
    elevation_rad : ndarray, shape (n,)
        NaN where no elevation reaches the height at that range (a height above the range, or
        below the horizon's reach).
    del_dh : ndarray, shape (n,)
        d elevation / d height, rad/m (NaN where the elevation is).
    """
    r = np.asarray(range_m, dtype=float)
    az = np.asarray(azimuth_rad, dtype=float)
    h = np.asarray(height_m, dtype=float)
    lat, lon, alt = np.broadcast_arrays(
        np.asarray(site_lat_rad, float),
        np.asarray(site_lon_rad, float),
        np.asarray(site_alt_m, float),
    )
    lat, lon, alt = (np.broadcast_to(v, r.shape) for v in (lat, lon, alt))
    # start: flat Earth, then Newton on h(el) - h = 0
    el = np.arcsin(np.clip((h - alt) / np.maximum(r, 1.0), -1.0, 1.0))
    R_site = np.swapaxes(enu_rotation(lat, lon), -1, -2)  # ENU -> ECEF
    for _ in range(iterations):
        x, y, z = aer2ecef(az, el, r, lat, lon, alt)
        tlat, tlon, th = ecef2geodetic(x, y, z)
        J = R_site @ enu_jacobian_aer(az, el, r)  # d ECEF / d (az, el, r), columns
        dh_del = np.einsum("...i,...i->...", _up(tlat, tlon), J[..., :, 1])
        step = (th - h) / np.where(np.abs(dh_del) > 1e-9, dh_del, np.nan)
        el = np.clip(el - step, -np.pi / 2, np.pi / 2)
    x, y, z = aer2ecef(az, el, r, lat, lon, alt)
    _, _, th = ecef2geodetic(x, y, z)
    bad = ~(np.abs(th - h) < 0.01) | (r <= 0)
    el = np.where(bad, np.nan, el)
    return el, np.where(bad, np.nan, 1.0 / dh_del)


def predict_range_azimuth_height(
    x: np.ndarray, site_ecef: np.ndarray, site_rotation: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted 2-D radar measurements ``[r, az, h]`` of states, and their Jacobians.

    Parameters
    ----------
    x : ndarray, shape (m, 6)
        ECEF states, m and m/s.
    site_ecef : ndarray, shape (m, 3)
        The radar's ECEF position for each state.
    site_rotation : ndarray, shape (m, 3, 3)
        ECEF-to-ENU rotation at the radar (:func:`airpicture.geo.enu_rotation`).

    Returns
    -------
    z : ndarray, shape (m, 3)
        Slant range (m), azimuth (rad, [0, 2 pi)) and height above the WGS-84 ellipsoid (m).
    H : ndarray, shape (m, 3, 6)
        Jacobian of ``z`` with respect to the state.
    """
    from airpicture.geo import aer_jacobian_enu

    p = x[:, :3]
    d = p - site_ecef
    enu = np.einsum("mij,mj->mi", site_rotation, d)
    e, n, u = enu[:, 0], enu[:, 1], enu[:, 2]
    r = np.sqrt(e * e + n * n + u * u)
    az = np.mod(np.arctan2(e, n), 2 * np.pi)
    lat, lon, h = ecef2geodetic(p[:, 0], p[:, 1], p[:, 2])
    J = aer_jacobian_enu(e, n, u) @ site_rotation  # rows d az, d el, d r w.r.t. ECEF position
    H = np.zeros((len(x), 3, 6))
    H[:, 0, :3] = J[:, 2, :]
    H[:, 1, :3] = J[:, 0, :]
    H[:, 2, :3] = _up(lat, lon)
    return np.stack([r, az, np.asarray(h, dtype=float)], axis=-1), H
