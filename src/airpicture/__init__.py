"""airpicture: one shared, fused, real-time picture of everything in the air over a region.

Units and frames, everywhere in the library:

* time ``t_s``: float seconds since 1970-01-01T00:00:00Z (UTC, no leap seconds);
* object and track states: WGS-84 ECEF ``[x, y, z, vx, vy, vz]`` in metres and metres per second;
* angles: radians inside the library; degrees only in data-contract columns ending ``_deg``;
* sensor measurements: the sensor's local ENU frame (azimuth clockwise from true north,
  elevation above the local horizontal plane, slant range, range rate positive when receding).

The public API is what each package exports (``from airpicture.tracker import Tracker``,
``from airpicture.net import MemoryBus``), the top-level modules (``airpicture.tables``,
``airpicture.codes``, ``airpicture.errors``, ``airpicture.config``) and the plotting modules
(``airpicture.sim.plot``, ``airpicture.evaluate.plot``); the implementation lives in private
modules (``airpicture.tracker._core``) that may change without notice.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
