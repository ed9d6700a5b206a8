"""Conversions between geodetic, ECEF, ENU and AER coordinates on the WGS-84 ellipsoid."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from airpicture.geo._wgs84 import WGS84_A_M, WGS84_B_M, WGS84_E2

__all__ = [
    "aer2ecef",
    "aer2enu",
    "aer_jacobian_enu",
    "ecef2aer",
    "ecef2enu",
    "ecef2geodetic",
    "enu2aer",
    "enu2ecef",
    "enu_jacobian_aer",
    "enu_rotation",
    "geodetic2ecef",
]

_TWO_PI = 2.0 * np.pi

Array = npt.NDArray[np.float64]
"""A float array (a 0-d one, or a NumPy scalar, for scalar inputs)."""
Triple = tuple[Array, Array, Array]


def geodetic2ecef(lat_rad: npt.ArrayLike, lon_rad: npt.ArrayLike, alt_m: npt.ArrayLike) -> Triple:
    """Geodetic latitude, longitude and ellipsoidal height to ECEF.

    x = (N + h) cos(lat) cos(lon), y = (N + h) cos(lat) sin(lon), z = (N (1 - e^2) + h) sin(lat),
    with N = a / sqrt(1 - e^2 sin^2 lat)   [NIMA TR8350.2, eqn. 4-14]

    Parameters
    ----------
    lat_rad, lon_rad : array_like
        Geodetic latitude and longitude, rad.
    alt_m : array_like
        Height above the ellipsoid, m.

    Returns
    -------
    x, y, z : ndarray
        ECEF coordinates, m, of the broadcast shape.
    """
    lat = np.asarray(lat_rad, dtype=float)
    lon = np.asarray(lon_rad, dtype=float)
    h = np.asarray(alt_m, dtype=float)
    sin_lat = np.sin(lat)
    cos_lat = np.cos(lat)
    n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    return (
        (n + h) * cos_lat * np.cos(lon),
        (n + h) * cos_lat * np.sin(lon),
        (n * (1.0 - WGS84_E2) + h) * sin_lat,
    )


def ecef2geodetic(x: npt.ArrayLike, y: npt.ArrayLike, z: npt.ArrayLike) -> Triple:
    """ECEF to geodetic latitude, longitude and ellipsoidal height, in closed form.

    Heikkinen's exact solution [Heikkinen, M. (1982), "Geschlossene Formeln zur Berechnung
    räumlicher geodätischer Koordinaten aus rechtwinkligen Koordinaten", Zeitschrift für
    Vermessungswesen 107, pp. 207-211; as given by Zhu, J. (1994), IEEE Trans. AES 30(3),
    pp. 957-961]. Exact to well below a micrometre anywhere outside the earth's inner 43 km.

    Parameters
    ----------
    x, y, z : array_like
        ECEF coordinates, m.

    Returns
    -------
    lat_rad, lon_rad, alt_m : ndarray
        Geodetic latitude in [-pi/2, pi/2], longitude in (-pi, pi], height above the ellipsoid, m.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    z = np.asarray(z, dtype=float)
    a, b, e2 = WGS84_A_M, WGS84_B_M, WGS84_E2
    ep2 = (a * a - b * b) / (b * b)
    p = np.hypot(x, y)
    z2 = z * z
    f_ = 54.0 * b * b * z2
    g = p * p + (1.0 - e2) * z2 - e2 * (a * a - b * b)
    c = e2 * e2 * f_ * p * p / g**3
    s = np.cbrt(1.0 + c + np.sqrt(c * c + 2.0 * c))
    k = s + 1.0 + 1.0 / s
    pp = f_ / (3.0 * k * k * g * g)
    q = np.sqrt(1.0 + 2.0 * e2 * e2 * pp)
    r0 = -pp * e2 * p / (1.0 + q) + np.sqrt(
        np.maximum(
            0.5 * a * a * (1.0 + 1.0 / q)
            - pp * (1.0 - e2) * z2 / (q * (1.0 + q))
            - 0.5 * pp * p * p,
            0.0,
        )
    )
    t = p - e2 * r0
    u = np.sqrt(t * t + z2)
    v = np.sqrt(t * t + (1.0 - e2) * z2)
    z0 = b * b * z / (a * v)
    alt = u * (1.0 - b * b / (a * v))
    lat = np.arctan2(z + ep2 * z0, p)
    lon = np.arctan2(y, x)
    return lat, lon, alt


def enu_rotation(lat_rad: npt.ArrayLike, lon_rad: npt.ArrayLike) -> Array:
    """Rotation matrices whose rows are the local east, north and up unit vectors in ECEF.

    ``R @ (p_ecef - origin_ecef)`` gives ENU; ``R.T @ enu`` gives the ECEF offset.

    Parameters
    ----------
    lat_rad, lon_rad : array_like
        Geodetic latitude and longitude of the local origin, rad.

    Returns
    -------
    R : ndarray, shape (..., 3, 3)
    """
    lat = np.asarray(lat_rad, dtype=float)
    lon = np.asarray(lon_rad, dtype=float)
    lat, lon = np.broadcast_arrays(lat, lon)
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    zero = np.zeros_like(lat)
    return np.stack(
        [
            np.stack([-so, co, zero], axis=-1),
            np.stack([-sl * co, -sl * so, cl], axis=-1),
            np.stack([cl * co, cl * so, sl], axis=-1),
        ],
        axis=-2,
    )


def ecef2enu(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    z: npt.ArrayLike,
    lat0_rad: npt.ArrayLike,
    lon0_rad: npt.ArrayLike,
    alt0_m: npt.ArrayLike,
) -> Triple:
    """ECEF points to east, north, up offsets (m) from a geodetic origin.

    Parameters
    ----------
    x, y, z : array_like
        ECEF coordinates of the points, m.
    lat0_rad, lon0_rad, alt0_m : array_like
        The local origin (geodetic, rad and m); broadcasts against the points.

    Returns
    -------
    e, n, u : ndarray
        Offsets along the local east, north and up axes, m.
    """
    x0, y0, z0 = geodetic2ecef(lat0_rad, lon0_rad, alt0_m)
    dx = np.asarray(x, dtype=float) - x0
    dy = np.asarray(y, dtype=float) - y0
    dz = np.asarray(z, dtype=float) - z0
    lat = np.asarray(lat0_rad, dtype=float)
    lon = np.asarray(lon0_rad, dtype=float)
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    t = co * dx + so * dy
    return -so * dx + co * dy, -sl * t + cl * dz, cl * t + sl * dz


def enu2ecef(
    e: npt.ArrayLike,
    n: npt.ArrayLike,
    u: npt.ArrayLike,
    lat0_rad: npt.ArrayLike,
    lon0_rad: npt.ArrayLike,
    alt0_m: npt.ArrayLike,
) -> Triple:
    """East, north, up offsets (m) from a geodetic origin to ECEF points (m)."""
    x0, y0, z0 = geodetic2ecef(lat0_rad, lon0_rad, alt0_m)
    e = np.asarray(e, dtype=float)
    n = np.asarray(n, dtype=float)
    u = np.asarray(u, dtype=float)
    lat = np.asarray(lat0_rad, dtype=float)
    lon = np.asarray(lon0_rad, dtype=float)
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    t = -sl * n + cl * u
    return x0 + co * t - so * e, y0 + so * t + co * e, z0 + cl * n + sl * u


def enu2aer(e: npt.ArrayLike, n: npt.ArrayLike, u: npt.ArrayLike) -> Triple:
    """ENU offsets (m) to azimuth in [0, 2*pi), elevation (rad) and slant range (m)."""
    e = np.asarray(e, dtype=float)
    n = np.asarray(n, dtype=float)
    u = np.asarray(u, dtype=float)
    horizontal = np.hypot(e, n)
    az = np.mod(np.arctan2(e, n), _TWO_PI)
    # mod can return 2*pi itself for tiny negative angles; fold that onto 0.
    az = np.where(az >= _TWO_PI, 0.0, az)
    return az, np.arctan2(u, horizontal), np.hypot(horizontal, u)


def aer2enu(az_rad: npt.ArrayLike, el_rad: npt.ArrayLike, range_m: npt.ArrayLike) -> Triple:
    """Azimuth, elevation (rad) and slant range (m) to ENU offsets (m)."""
    az = np.asarray(az_rad, dtype=float)
    el = np.asarray(el_rad, dtype=float)
    r = np.asarray(range_m, dtype=float)
    horizontal = r * np.cos(el)
    return horizontal * np.sin(az), horizontal * np.cos(az), r * np.sin(el)


def ecef2aer(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    z: npt.ArrayLike,
    lat0_rad: npt.ArrayLike,
    lon0_rad: npt.ArrayLike,
    alt0_m: npt.ArrayLike,
) -> Triple:
    """ECEF points (m) to azimuth, elevation (rad) and range (m) seen from a geodetic origin."""
    return enu2aer(*ecef2enu(x, y, z, lat0_rad, lon0_rad, alt0_m))


def aer2ecef(
    az_rad: npt.ArrayLike,
    el_rad: npt.ArrayLike,
    range_m: npt.ArrayLike,
    lat0_rad: npt.ArrayLike,
    lon0_rad: npt.ArrayLike,
    alt0_m: npt.ArrayLike,
) -> Triple:
    """Azimuth, elevation (rad) and range (m) from a geodetic origin to ECEF points (m)."""
    return enu2ecef(*aer2enu(az_rad, el_rad, range_m), lat0_rad, lon0_rad, alt0_m)


def aer_jacobian_enu(e: npt.ArrayLike, n: npt.ArrayLike, u: npt.ArrayLike) -> Array:
    """Jacobian of (azimuth, elevation, range) with respect to (east, north, up).

    d az/d(e, n, u) = (n, -e, 0) / rho^2,
    d el/d(e, n, u) = (-e u, -n u, rho^2) / (rho r^2),
    d r/d(e, n, u)  = (e, n, u) / r,        rho = sqrt(e^2 + n^2), r = sqrt(rho^2 + u^2)

    Parameters
    ----------
    e, n, u : ndarray, shape (m,)
        ENU offsets, m. Undefined at rho = 0 (straight overhead).

    Returns
    -------
    J : ndarray, shape (m, 3, 3)
        Rows az (rad/m), el (rad/m), range (m/m).
    """
    e = np.asarray(e, dtype=float)
    n = np.asarray(n, dtype=float)
    u = np.asarray(u, dtype=float)
    rho2 = e * e + n * n
    rho = np.sqrt(rho2)
    r2 = rho2 + u * u
    r = np.sqrt(r2)
    J = np.empty(e.shape + (3, 3))
    J[..., 0, 0] = n / rho2
    J[..., 0, 1] = -e / rho2
    J[..., 0, 2] = 0.0
    J[..., 1, 0] = -e * u / (rho * r2)
    J[..., 1, 1] = -n * u / (rho * r2)
    J[..., 1, 2] = rho / r2
    J[..., 2, 0] = e / r
    J[..., 2, 1] = n / r
    J[..., 2, 2] = u / r
    return J


def enu_jacobian_aer(az_rad: npt.ArrayLike, el_rad: npt.ArrayLike, range_m: npt.ArrayLike) -> Array:
    """Jacobian of (east, north, up) with respect to (azimuth, elevation, range).

    Parameters
    ----------
    az_rad, el_rad, range_m : ndarray, shape (m,)

    Returns
    -------
    J : ndarray, shape (m, 3, 3)
        Columns d/d az (m/rad), d/d el (m/rad), d/d range (m/m).
    """
    az = np.asarray(az_rad, dtype=float)
    el = np.asarray(el_rad, dtype=float)
    r = np.asarray(range_m, dtype=float)
    sa, ca = np.sin(az), np.cos(az)
    se, ce = np.sin(el), np.cos(el)
    J = np.empty(az.shape + (3, 3))
    J[..., 0, 0] = r * ce * ca
    J[..., 0, 1] = -r * se * sa
    J[..., 0, 2] = ce * sa
    J[..., 1, 0] = -r * ce * sa
    J[..., 1, 1] = -r * se * ca
    J[..., 1, 2] = ce * ca
    J[..., 2, 0] = 0.0
    J[..., 2, 1] = r * ce
    J[..., 2, 2] = se
    return J
