"""The network picture: network track numbers, track-to-track association and fusion.

``t2t`` holds the batched numerics (chi-square distances between tracks, covariance
intersection, track quality, covariance checks); ``numbers`` issues network track numbers from
the detections that start tracks; ``picture`` composes them into :class:`CommonPicture`, which
turns a node's own tracker frames and its partners' shared tracks into one picture under
numbers that are the same at every node holding an object. ``frames`` holds what it takes and
gives (tracker frames, network frames, shared tracks), ``config`` its settings.
"""

from airpicture.fusion._config import (
    FusionConfig,
)
from airpicture.fusion._frames import (
    FusionStats,
    LocalFrame,
    NetworkFrame,
    TrackReports,
)
from airpicture.fusion._numbers import (
    NumberBlocks,
)
from airpicture.fusion._picture import (
    CommonPicture,
)
from airpicture.fusion._t2t import (
    covariance_intersection,
    pair_distances,
    predict_tracks,
    spd_problems,
    track_quality,
)

__all__ = [
    "CommonPicture",
    "FusionConfig",
    "FusionStats",
    "LocalFrame",
    "NetworkFrame",
    "NumberBlocks",
    "TrackReports",
    "covariance_intersection",
    "pair_distances",
    "predict_tracks",
    "spd_problems",
    "track_quality",
]
