"""Codes and names every layer shares: sensor kinds, track statuses, alert states and events,
track affiliations and operators' coordination actions, nation codes, and how a number that may
not be finite goes into JSON.

One definition each; the tables (:mod:`airpicture.tables`), the tracker, the wire messages, the
map's store and the configuration checks all take them from here.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "AFFILIATIONS",
    "ALERT_EVENTS",
    "ALERT_STATES",
    "COASTING",
    "CONFIRMED",
    "COORDINATION_ACTIONS",
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

AFFILIATIONS = (
    "pending",
    "unknown",
    "assumed friend",
    "friend",
    "neutral",
    "suspect",
    "hostile",
)
"""Standard identities an operator may assign to a track (MIL-STD-2525 affiliations)."""

COORDINATION_ACTIONS = ("identity", "note", "acknowledge", "handover")
"""What an operator's coordination action does: assign an identity (one of
:data:`AFFILIATIONS`) to a track, attach a note to it, acknowledge an alert on it, or hand over
the responsibility for reporting it to another nation. Surveillance and warning only."""

NATION_CODE = re.compile(r"[A-Z]{3}", re.ASCII)
"""An ISO 3166-1 alpha-3 code: three ASCII capital letters (``JPN``)."""


def is_nation_code(value: object) -> bool:
    """Whether ``value`` is a nation code (:data:`NATION_CODE`)."""
    return isinstance(value, str) and NATION_CODE.fullmatch(value) is not None


def json_number(value: float) -> float | None:
    """``value`` as a float for JSON, None when it is not finite (JSON has no inf or NaN)."""
    return float(value) if math.isfinite(value) else None
