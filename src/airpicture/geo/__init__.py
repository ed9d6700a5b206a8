"""WGS-84 frames: geodetic, ECEF, local ENU and AER, batched over arrays.

Angles are radians, distances metres. Every function takes scalars or arrays that broadcast
together and returns arrays of the broadcast shape. Names follow ``src2dst``.

Azimuth is clockwise from true north in [0, 2*pi); elevation is above the local horizontal plane
(normal to the ellipsoid at the origin), in [-pi/2, pi/2]; range is slant range.
"""

from airpicture.geo._frames import (
    aer2ecef,
    aer2enu,
    aer_jacobian_enu,
    ecef2aer,
    ecef2enu,
    ecef2geodetic,
    enu2aer,
    enu2ecef,
    enu_jacobian_aer,
    enu_rotation,
    geodetic2ecef,
)
from airpicture.geo._wgs84 import (
    STANDARD_GRAVITY_MPS2,
    WGS84_A_M,
    WGS84_B_M,
    WGS84_E2,
    WGS84_F,
    WGS84_GM_M3PS2,
    WGS84_J2,
    WGS84_OMEGA_RADPS,
)

__all__ = [
    "STANDARD_GRAVITY_MPS2",
    "WGS84_A_M",
    "WGS84_B_M",
    "WGS84_E2",
    "WGS84_F",
    "WGS84_GM_M3PS2",
    "WGS84_J2",
    "WGS84_OMEGA_RADPS",
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
