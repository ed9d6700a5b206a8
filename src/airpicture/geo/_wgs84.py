"""WGS-84 defining and derived constants (NIMA TR8350.2, 3rd ed., tables 3.1 and 3.3)."""

WGS84_A_M = 6378137.0
"""Semi-major axis, m."""
WGS84_F = 1.0 / 298.257223563
"""Flattening."""
WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)
"""Semi-minor axis, m (6356752.3142)."""
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
"""First eccentricity squared (0.00669437999014)."""
WGS84_GM_M3PS2 = 3.986004418e14
"""Earth's gravitational constant including the atmosphere, m^3/s^2."""
WGS84_OMEGA_RADPS = 7.292115e-5
"""Earth's angular velocity, rad/s."""
WGS84_J2 = 1.08262982131e-3
"""Second zonal harmonic (-C20 * sqrt(5), EGM96 C20 = -0.484166774985e-3)."""
STANDARD_GRAVITY_MPS2 = 9.80665
"""Standard gravity g0 (CGPM 1901; not a WGS-84 constant, kept with them), m/s^2."""

__all__ = [
    "STANDARD_GRAVITY_MPS2",
    "WGS84_A_M",
    "WGS84_B_M",
    "WGS84_E2",
    "WGS84_F",
    "WGS84_GM_M3PS2",
    "WGS84_J2",
    "WGS84_OMEGA_RADPS",
]
