"""The tracker: predict, gate, associate, update, initiate, confirm, coast and drop.

``Tracker`` (in ``tracker.core``) keeps the track table (``tracker.table``) with the settings of
``TrackerConfig`` (``tracker.config``) and registers its radars (``tracker.registration``); its
per-scan step is in ``tracker.scan``, its out-of-sequence update in ``tracker.out_of_sequence``.
"""

from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.core import Tracker, TrackerStats
from airpicture.tracker.registration import RegistrationEstimate

__all__ = ["RegistrationEstimate", "Tracker", "TrackerConfig", "TrackerStats"]
