r"""Pressure altitude (Mode C, ADS-B barometric altitude) to geometric height.

A transponder reports *pressure altitude*: the height at which the ICAO Standard Atmosphere
(ISA, [ICAO Doc 7488/3, 1993]) has the pressure the aircraft measures, referred to 1013.25 hPa.
The real height differs by the day's sea-level pressure (QNH: about 8.3 m per hPa near the
ground) and temperature (about 4 % of the height per 10 K off ISA). With ISA's troposphere
(:math:`T_0 = 288.15` K, lapse :math:`L = 0.0065` K/m, :math:`g_0 = 9.80665` m/s^2,
:math:`R = 287.05287` J/(kg K)) the static pressure at pressure altitude :math:`h_p` is

.. math::

    p = p_0 \left(1 - \frac{L h_p}{T_0}\right)^{g_0 / (R L)} \quad (h_p \le 11\,000 \text{ m}),
    \qquad p = p_{11} \, e^{-g_0 (h_p - 11\,000) / (R T_{11})} \quad \text{above},

the height above mean sea level in an atmosphere of sea-level pressure QNH is that formula
inverted with QNH for :math:`p_0`, scaled by :math:`(T_0 + \Delta T) / T_0` for a temperature
deviation :math:`\Delta T` (the hypsometric thickness grows with the mean temperature), and the
geopotential height :math:`h` becomes geometric as :math:`z = r h / (r - h)`
(:math:`r = 6\,356\,766` m). Height above mean sea level is taken as height above the WGS-84
ellipsoid (the geoid's undulation, within about 100 m, is not modelled).
"""

from __future__ import annotations

import numpy as np

__all__ = ["FEET_M", "height_to_pressure_altitude", "pressure_altitude_to_height"]

FEET_M = 0.3048
"""One international foot in metres."""

_T0_K = 288.15
_P0_HPA = 1013.25
_L_KPM = 0.0065
_G0 = 9.80665
_R = 287.05287
_EXP = _G0 / (_R * _L_KPM)
_H11 = 11_000.0
_T11 = _T0_K - _L_KPM * _H11
_P11 = _P0_HPA * (1 - _L_KPM * _H11 / _T0_K) ** _EXP
_R_EARTH = 6_356_766.0


def _pressure_hpa(h_p: np.ndarray) -> np.ndarray:
    low = _P0_HPA * np.power(np.clip(1 - _L_KPM * np.minimum(h_p, _H11) / _T0_K, 1e-9, None), _EXP)
    high = _P11 * np.exp(-_G0 * (h_p - _H11) / (_R * _T11))
    return np.where(h_p <= _H11, low, high)


def _geopotential(p_hpa: np.ndarray, p0_hpa: np.ndarray | float) -> np.ndarray:
    p11 = p0_hpa * (1 - _L_KPM * _H11 / _T0_K) ** _EXP
    low = _T0_K / _L_KPM * (1 - np.power(p_hpa / p0_hpa, 1 / _EXP))
    high = _H11 + _R * _T11 / _G0 * np.log(p11 / p_hpa)
    return np.where(p_hpa >= p11, low, high)


def pressure_altitude_to_height(
    pressure_altitude_m: np.ndarray | float,
    *,
    qnh_hpa: np.ndarray | float = _P0_HPA,
    isa_deviation_k: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Geometric height (m above mean sea level) of pressure altitudes.

    Parameters
    ----------
    pressure_altitude_m : array_like
        Pressure altitude, m (a flight level times 30.48 m; Mode C and ADS-B report it in
        25 or 100 ft steps).
    qnh_hpa : array_like
        Sea-level pressure of the day, hPa (1013.25: ISA).
    isa_deviation_k : array_like
        Mean temperature of the column minus ISA's, K.

    Returns
    -------
    ndarray
        Height, m, the broadcast shape of the inputs.

    Examples
    --------
    >>> round(float(pressure_altitude_to_height(10_000.0)), 1)   # ISA: only z = r h / (r - h)
    10015.8
    >>> round(float(pressure_altitude_to_height(0.0, qnh_hpa=1023.25)), 1)
    82.8
    """
    h_p = np.asarray(pressure_altitude_m, dtype=float)
    h = _geopotential(_pressure_hpa(h_p), np.asarray(qnh_hpa, dtype=float))
    h = h * (_T0_K + np.asarray(isa_deviation_k, dtype=float)) / _T0_K
    return _R_EARTH * h / (_R_EARTH - h)


def height_to_pressure_altitude(
    height_m: np.ndarray | float,
    *,
    qnh_hpa: np.ndarray | float = _P0_HPA,
    isa_deviation_k: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Pressure altitude (m) at geometric heights: the inverse of
    :func:`pressure_altitude_to_height` (what a transponder at ``height_m`` reports)."""
    z = np.asarray(height_m, dtype=float)
    h = _R_EARTH * z / (_R_EARTH + z)
    h = h * _T0_K / (_T0_K + np.asarray(isa_deviation_k, dtype=float))
    qnh = np.asarray(qnh_hpa, dtype=float)
    p11 = qnh * (1 - _L_KPM * _H11 / _T0_K) ** _EXP
    low = qnh * np.power(np.clip(1 - _L_KPM * np.minimum(h, _H11) / _T0_K, 1e-9, None), _EXP)
    p = np.where(h <= _H11, low, p11 * np.exp(-_G0 * (h - _H11) / (_R * _T11)))
    return _geopotential(p, _P0_HPA)
