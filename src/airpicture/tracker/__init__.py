"""The tracker: predict, gate, associate, update, initiate, confirm, coast and drop.

``Tracker`` (in ``tracker.core``) keeps the track table (``tracker.table``) with the settings of
``TrackerConfig`` (``tracker.config``) and registers its radars (``tracker.registration``); its
per-scan step is in ``tracker.scan``, its out-of-sequence update in ``tracker.out_of_sequence``.
"""

from airpicture.tracker._config import (
    MOTION_MODEL_NAMES,
    TrackerConfig,
)
from airpicture.tracker._core import (
    FrameCallback,
    Tracker,
    TrackerStats,
)
from airpicture.tracker._dynamics import (
    MotionModelSet,
    ballistic_transition,
)
from airpicture.tracker._registration import (
    Registration,
    RegistrationEstimate,
)
from airpicture.tracker._table import (
    TrackTable,
)

__all__ = [
    "MOTION_MODEL_NAMES",
    "FrameCallback",
    "MotionModelSet",
    "Registration",
    "RegistrationEstimate",
    "TrackTable",
    "Tracker",
    "TrackerConfig",
    "TrackerStats",
    "ballistic_transition",
]
