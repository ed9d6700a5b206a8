"""Assessment of the picture: what each track is, where ballistic ones come down, whom to warn.

``classify`` labels tracks from their kinematics and the IMM's model probabilities; ``impact``
predicts the impact point and time of ballistic tracks with an uncertainty ellipse; ``launch``
flies them back through their free flight and a family of boosts to their launch point and time,
with theirs; ``warning`` holds warning areas (GeoJSON) and the alerts raised when an impact
ellipse meets one; ``assessor`` composes them into one step after each tracker frame.

Units and frames, as everywhere in airpicture: states in WGS-84 ECEF (m, m/s); geodetic
latitude and longitude in radians (degrees only in files: GeoJSON positions, ``*_deg``
columns); heights above the WGS-84 ellipsoid in metres; times in seconds since the Unix epoch.
"""

from airpicture.assess._assessor import (
    AssessConfig,
    Assessment,
    Assessor,
    TrackStates,
)
from airpicture.assess._classify import (
    ENVELOPES,
    ClassifierConfig,
    FlightEnvelope,
    TrackFeatures,
    classify,
    specific_energy,
    track_features,
)
from airpicture.assess._impact import (
    ImpactPrediction,
    predict_impacts,
)
from airpicture.assess._launch import (
    THRUST_ACCEL_MPS2,
    LaunchEstimate,
    estimate_launches,
)
from airpicture.assess._warning import (
    CANCEL_REASONS,
    AlertBook,
    WarningAreas,
    default_areas_path,
    ellipses_meet_areas,
    read_warning_areas,
)

__all__ = [
    "CANCEL_REASONS",
    "ENVELOPES",
    "THRUST_ACCEL_MPS2",
    "AlertBook",
    "AssessConfig",
    "Assessment",
    "Assessor",
    "ClassifierConfig",
    "FlightEnvelope",
    "ImpactPrediction",
    "LaunchEstimate",
    "TrackFeatures",
    "TrackStates",
    "WarningAreas",
    "classify",
    "default_areas_path",
    "ellipses_meet_areas",
    "estimate_launches",
    "predict_impacts",
    "read_warning_areas",
    "specific_energy",
    "track_features",
]
