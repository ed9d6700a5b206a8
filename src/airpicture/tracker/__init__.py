"""The tracker: predict, gate, associate, update, initiate, confirm, coast and drop.

``Tracker`` (in ``tracker.core``) keeps the track table (``tracker.table``) with the settings of
``TrackerConfig`` (``tracker.config``).
"""

from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.core import Tracker, TrackerStats

__all__ = ["Tracker", "TrackerConfig", "TrackerStats"]
