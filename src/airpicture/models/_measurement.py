r"""Radar and infrared measurement models in the sensor's local ENU frame, batched over pairs.

A radar measures :math:`z = [r, \alpha, \epsilon]` (slant range, azimuth clockwise from north,
elevation) and optionally the range rate :math:`\dot r`; an IR sensor measures
:math:`[\alpha, \epsilon]`. With :math:`s` the sensor's ECEF position and :math:`R_s` the
ECEF-to-ENU rotation at the sensor,

.. math::

    (e, n, u) = R_s (p - s), \quad r = \lVert p - s \rVert, \quad
    \alpha = \operatorname{atan2}(e, n), \quad \epsilon = \operatorname{atan2}(u, \sqrt{e^2+n^2}),
    \quad \dot r = \frac{(p - s) \cdot v}{r}

The range rate is relative to the sensor's platform, :math:`\dot r = (p - s) \cdot (v - v_s) / r`,
with the platform velocity :math:`v_s` (zero for a fixed site). The data contract's detection rows
carry the platform's position at each detection but not its velocity; the tracker derives it
from successive positions.

Every function takes per-row sensor geometry (``SensorGeometry``), so moving platforms are natural.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from airpicture.geo import aer2ecef, aer_jacobian_enu, enu_jacobian_aer, enu_rotation, geodetic2ecef
from airpicture.tables import Detections, SensorTable

__all__ = [
    "SensorGeometry",
    "detection_jacobians",
    "measurement_noise",
    "measurement_vectors",
    "predict_measurements",
    "wrap_angle",
]

_TWO_PI = 2.0 * np.pi


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Angles folded into [-pi, pi)."""
    return (np.asarray(a) + np.pi) % _TWO_PI - np.pi


@dataclass(frozen=True)
class SensorGeometry:
    """Per-row sensor position ``ecef`` (m, 3) in m, ECEF-to-ENU rotation ``rotation`` (m, 3, 3),
    and platform velocity ``velocity`` (m, 3) in m/s (ECEF; None for fixed sites)."""

    ecef: np.ndarray
    rotation: np.ndarray
    velocity: np.ndarray | None = None

    @classmethod
    def from_geodetic(
        cls, lat_rad: np.ndarray, lon_rad: np.ndarray, alt_m: np.ndarray
    ) -> SensorGeometry:
        """Geometry of sensors at geodetic positions (rad, rad, m), each of shape (m,)."""
        return cls(
            np.stack(geodetic2ecef(lat_rad, lon_rad, alt_m), axis=-1),
            enu_rotation(lat_rad, lon_rad),
        )

    @classmethod
    def of_detections(cls, detections: Detections) -> SensorGeometry:
        """Geometry of the sensor of every detection row, at the detection's time."""
        return cls.from_geodetic(
            detections.sensor_lat_rad, detections.sensor_lon_rad, detections.sensor_alt_m
        )

    def take(self, index: np.ndarray) -> SensorGeometry:
        """Rows selected by an index array."""
        velocity = None if self.velocity is None else self.velocity[index]
        return SensorGeometry(self.ecef[index], self.rotation[index], velocity)

    def with_velocity(self, velocity: np.ndarray) -> SensorGeometry:
        """The same rows with platform velocities (m, 3), m/s ECEF."""
        return SensorGeometry(self.ecef, self.rotation, velocity)


def measurement_vectors(
    detections: Detections, *, with_range: bool, with_range_rate: bool
) -> np.ndarray:
    """Measurement vectors of detections, shape (m, d): ``[r, az, el, rr]`` minus absent parts."""
    cols = []
    if with_range:
        cols.append(detections.range_m)
    cols += [detections.azimuth_rad, detections.elevation_rad]
    if with_range_rate:
        cols.append(detections.range_rate_mps)
    return np.stack(cols, axis=-1)


def measurement_noise(
    sensors: SensorTable, sensor_index: int, *, with_range_rate: bool
) -> np.ndarray:
    """Diagonal measurement noise covariance ``R`` (d, d) of one sensor, in the order of z."""
    s = sensors[sensor_index]
    sig = []
    if s.has_range:
        sig.append(s.sigma_range_m)
    sig += [s.sigma_azimuth_rad, s.sigma_elevation_rad]
    if with_range_rate:
        sig.append(s.sigma_range_rate_mps)
    return np.diag(np.square(sig))


def predict_measurements(
    x: np.ndarray, geometry: SensorGeometry, *, with_range: bool, with_range_rate: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted measurements and their Jacobians for m (state, sensor) pairs.

    Parameters
    ----------
    x : ndarray, shape (m, 6)
        ECEF states, m and m/s.
    geometry : SensorGeometry
        The sensor of each pair (m rows).
    with_range, with_range_rate : bool
        Which parts the sensor measures (azimuth and elevation always).

    Returns
    -------
    z : ndarray, shape (m, d)
        ``[r, az, el, rr]`` without the absent parts; m, rad, rad, m/s.
    H : ndarray, shape (m, d, 6)
        Jacobian of z with respect to the state.
    """
    d_ecef = x[:, :3] - geometry.ecef
    R = geometry.rotation
    enu = np.einsum("mij,mj->mi", R, d_ecef)
    e, n, u = enu[:, 0], enu[:, 1], enu[:, 2]
    rho = np.hypot(e, n)
    r = np.hypot(rho, u)
    az = np.mod(np.arctan2(e, n), _TWO_PI)
    el = np.arctan2(u, rho)
    J = aer_jacobian_enu(e, n, u) @ R  # rows d az, d el, d r with respect to ECEF position
    rows_z = []
    rows_H = []
    m = x.shape[0]
    if with_range:
        rows_z.append(r)
        rows_H.append(np.concatenate([J[:, 2, :], np.zeros((m, 3))], axis=1))
    rows_z += [az, el]
    rows_H += [
        np.concatenate([J[:, 0, :], np.zeros((m, 3))], axis=1),
        np.concatenate([J[:, 1, :], np.zeros((m, 3))], axis=1),
    ]
    if with_range_rate:
        unit = d_ecef / r[:, None]
        v = x[:, 3:] if geometry.velocity is None else x[:, 3:] - geometry.velocity
        rr = np.einsum("mi,mi->m", unit, v)
        rows_z.append(rr)
        rows_H.append(np.concatenate([(v - rr[:, None] * unit) / r[:, None], unit], axis=1))
    return np.stack(rows_z, axis=-1), np.stack(rows_H, axis=1)


def detection_jacobians(detections: Detections) -> tuple[np.ndarray, np.ndarray]:
    """ECEF positions of radar detections and their Jacobians.

    Returns
    -------
    p : ndarray, shape (m, 3)
        ECEF positions, m.
    G : ndarray, shape (m, 3, 3)
        Derivatives of the ECEF position with respect to azimuth (m/rad), elevation (m/rad) and
        range (m/m), in that column order.
    """
    lat, lon, alt = detections.sensor_lat_rad, detections.sensor_lon_rad, detections.sensor_alt_m
    az, el, r = detections.azimuth_rad, detections.elevation_rad, detections.range_m
    p = np.stack(aer2ecef(az, el, r, lat, lon, alt), axis=-1)
    G = np.swapaxes(enu_rotation(lat, lon), -1, -2) @ enu_jacobian_aer(az, el, r)
    return p, G
