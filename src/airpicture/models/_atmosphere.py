r"""Exponential model atmosphere: air density as a function of height, batched.

.. math::

    \rho(h) = \rho_0 \, e^{-h / H}

with :math:`\rho_0 = 1.225` kg/m^3 and :math:`H = 7249` m, the 0-25 km band of the exponential
atmosphere of [Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed., Microcosm
2013, table 8-4] (base values of the U.S. Standard Atmosphere 1976), used here as one band for
every height. Against all the tabulated bands the single exponential stays within -11 % and
+24 % up to 80 km and within a factor of 2.4 at 100 km, where the density (below 1.3e-6 kg/m^3)
no longer matters for a re-entry vehicle. ``h`` is the geodetic height above the WGS-84
ellipsoid.
"""

from __future__ import annotations

import numpy as np

__all__ = ["AIR_DENSITY_SEA_LEVEL_KGPM3", "AIR_SCALE_HEIGHT_M", "air_density"]

AIR_DENSITY_SEA_LEVEL_KGPM3 = 1.225
"""Density at zero height, kg/m^3 (Vallado 2013, table 8-4)."""

AIR_SCALE_HEIGHT_M = 7249.0
"""Density scale height, m (Vallado 2013, table 8-4, band 0-25 km)."""


def air_density(alt_m: np.ndarray | float) -> np.ndarray:
    r"""Air density :math:`\rho_0 e^{-h/H}` at geodetic heights ``alt_m``.

    Parameters
    ----------
    alt_m : array_like, any shape
        Height above the WGS-84 ellipsoid, m. Negative heights extrapolate the exponential.

    Returns
    -------
    rho : ndarray, same shape
        Density, kg/m^3. Its derivative is ``-rho / AIR_SCALE_HEIGHT_M``.

    Examples
    --------
    >>> float(air_density(0.0))
    1.225
    >>> round(float(air_density(7249.0) / air_density(0.0)), 6)
    0.367879
    """
    return AIR_DENSITY_SEA_LEVEL_KGPM3 * np.exp(
        -np.asarray(alt_m, dtype=float) / AIR_SCALE_HEIGHT_M
    )
