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

:class:`Atmosphere` is the same law with other constants: the simulator can fly bodies through
an atmosphere that is not the one the tracker assumes (the tracker always assumes this one), as
a real atmosphere differs from any model of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "AIR_DENSITY_SEA_LEVEL_KGPM3",
    "AIR_SCALE_HEIGHT_M",
    "STANDARD_ATMOSPHERE",
    "Atmosphere",
    "air_density",
]

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
    return STANDARD_ATMOSPHERE.density(alt_m)


@dataclass(frozen=True)
class Atmosphere:
    r"""An exponential atmosphere :math:`\rho(h) = \rho_0 e^{-h/H}` with its own constants.

    Attributes
    ----------
    density_kgpm3 : float
        :math:`\rho_0`, the density at zero height, kg/m^3 (positive).
    scale_height_m : float
        :math:`H`, m (positive).

    Raises
    ------
    ValueError
        A constant that is not a positive finite number.

    Examples
    --------
    The upper layer of the atmosphere of the re-entry problem of Farina, Ristic and Benvenuti
    (2002), :math:`1.754\,e^{-1.49\times10^{-4} h}`:

    >>> upper = Atmosphere(1.754, 1.0 / 1.49e-4)
    >>> round(float(upper.density(60e3) / STANDARD_ATMOSPHERE.density(60e3)), 3)
    0.738
    """

    density_kgpm3: float = AIR_DENSITY_SEA_LEVEL_KGPM3
    scale_height_m: float = AIR_SCALE_HEIGHT_M

    def __post_init__(self) -> None:
        for name in ("density_kgpm3", "scale_height_m"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0.0):
                raise ValueError(
                    f"Atmosphere.{name} must be a positive finite number, got {value!r}"
                )

    def density(self, alt_m: np.ndarray | float) -> np.ndarray:
        """Density at geodetic heights ``alt_m`` (any shape), kg/m^3."""
        return self.density_kgpm3 * np.exp(-np.asarray(alt_m, dtype=float) / self.scale_height_m)


STANDARD_ATMOSPHERE = Atmosphere()
"""The package's atmosphere (:data:`AIR_DENSITY_SEA_LEVEL_KGPM3`, :data:`AIR_SCALE_HEIGHT_M`)."""
