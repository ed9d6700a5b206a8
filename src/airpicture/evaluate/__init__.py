"""Scoring a picture against truth: ``metrics`` (GOSPA, SIAP, track-number changes, RMSE) and
``plot`` (map of tracks against truth, GOSPA over time)."""

from airpicture.evaluate._commonality import (
    Commonality,
    picture_commonality,
    tracks_at,
)
from airpicture.evaluate._gospa import (
    GospaResult,
    gospa,
)
from airpicture.evaluate._metrics import (
    Evaluation,
    evaluate_picture,
    format_summary,
    to_json_dict,
)
from airpicture.evaluate._missiles import (
    MissileScore,
    TrueImpacts,
    impact_points_from_truth,
    score_missiles,
    tracks_on_ballistic_objects,
)
from airpicture.evaluate._pcrlb import (
    ballistic_radar_pcrlb,
    pcrlb_information,
)

__all__ = [
    "Commonality",
    "Evaluation",
    "GospaResult",
    "MissileScore",
    "TrueImpacts",
    "ballistic_radar_pcrlb",
    "evaluate_picture",
    "format_summary",
    "gospa",
    "impact_points_from_truth",
    "pcrlb_information",
    "picture_commonality",
    "score_missiles",
    "tracks_on_ballistic_objects",
    "to_json_dict",
    "tracks_at",
]
