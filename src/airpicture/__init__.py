"""airpicture: one shared, fused, real-time picture of everything in the air over a region.

Units and frames, everywhere in the library:

* time ``t_s``: float seconds since 1970-01-01T00:00:00Z (UTC, no leap seconds);
* object and track states: WGS-84 ECEF ``[x, y, z, vx, vy, vz]`` in metres and metres per second;
* angles: radians inside the library; degrees only in data-contract columns ending ``_deg``;
* sensor measurements: the sensor's local ENU frame (azimuth clockwise from true north,
  elevation above the local horizontal plane, slant range, range rate positive when receding).

The public API lives in the subpackages named after their concepts (``airpicture.geo``,
``airpicture.filters.kalman``, ``airpicture.tracker`` ...).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
