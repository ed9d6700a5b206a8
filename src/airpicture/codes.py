"""Codes and names every layer shares: sensor kinds, track statuses, alert states and events,
nation codes, and how a number that may not be finite goes into JSON.

One definition each; the tables (:mod:`airpicture.tables`), the tracker, the wire messages, the
map's store and the configuration checks all take them from here.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "ALERT_EVENTS",
    "ALERT_STATES",
    "COASTING",
    "CONFIRMED",
    "DELETED",
    "NATION_CODE",
    "SENSOR_KINDS",
    "STATUS_CODES",
    "STATUS_NAMES",
    "TENTATIVE",
    "TRACK_KINDS",
    "is_nation_code",
    "json_number",
]

SENSOR_KINDS = ("radar", "ir")
"""Sensor kinds of the data contract: ``radar`` measures range and angles, ``ir`` angles only."""

STATUS_NAMES = ("tentative", "confirmed", "coasting", "deleted")
"""Track status names; a status code is the index into this tuple."""

TENTATIVE, CONFIRMED, COASTING, DELETED = range(len(STATUS_NAMES))
"""Track status codes (indices into :data:`STATUS_NAMES`)."""

STATUS_CODES = {name: code for code, name in enumerate(STATUS_NAMES)}
"""Track status code of each status name."""

TRACK_KINDS = ("ballistic", "aircraft", "cruise", "helicopter/uav", "unknown")
"""What a track is classified as (:mod:`airpicture.assess._classify`); the last is also given when
no kind is probable enough."""

ALERT_STATES = ("active", "cancelled")
"""States of a warning: in force, or withdrawn."""

ALERT_EVENTS = ("issued", "updated", "cancelled")
"""What an alert row records: the alert raised, its prediction changed, or the alert withdrawn."""

NATION_CODE = re.compile(r"[A-Z]{3}", re.ASCII)
"""An ISO 3166-1 alpha-3 code: three ASCII capital letters (``JPN``)."""


def is_nation_code(value: object) -> bool:
    """Whether ``value`` is a nation code (:data:`NATION_CODE`)."""
    return isinstance(value, str) and NATION_CODE.fullmatch(value) is not None


def json_number(value: float) -> float | None:
    """``value`` as a float for JSON, None when it is not finite (JSON has no inf or NaN)."""
    return float(value) if math.isfinite(value) else None
