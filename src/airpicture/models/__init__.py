"""Physics: motion models (``motion``), measurement models (``measurement``), the atmosphere,
pressure altitude (``pressure_altitude``) and 2-D radar measurements (``radar2d``)."""

from airpicture.models._atmosphere import (
    AIR_DENSITY_SEA_LEVEL_KGPM3,
    AIR_SCALE_HEIGHT_M,
    STANDARD_ATMOSPHERE,
    Atmosphere,
    air_density,
)
from airpicture.models._ballistic import (
    ballistic_acceleration,
    ballistic_derivative,
    ballistic_jacobian,
    gravity_acceleration,
    gravity_gradient,
    gravity_potential,
    ground_crossing,
    propagate_ballistic,
    propagate_ballistic_stm,
)
from airpicture.models._measurement import (
    SensorGeometry,
    detection_jacobians,
    measurement_noise,
    measurement_vectors,
    predict_measurements,
    wrap_angle,
)
from airpicture.models._motion import (
    ct_transition,
    cv_predict,
    cv_process_noise,
    cv_transition,
)
from airpicture.models._pressure_altitude import (
    FEET_M,
    height_to_pressure_altitude,
    pressure_altitude_to_height,
)
from airpicture.models._radar2d import elevation_of_height, predict_range_azimuth_height

__all__ = [
    "AIR_DENSITY_SEA_LEVEL_KGPM3",
    "AIR_SCALE_HEIGHT_M",
    "FEET_M",
    "STANDARD_ATMOSPHERE",
    "Atmosphere",
    "SensorGeometry",
    "air_density",
    "ballistic_acceleration",
    "ballistic_derivative",
    "ballistic_jacobian",
    "ct_transition",
    "cv_predict",
    "cv_process_noise",
    "cv_transition",
    "detection_jacobians",
    "elevation_of_height",
    "gravity_acceleration",
    "gravity_gradient",
    "gravity_potential",
    "ground_crossing",
    "height_to_pressure_altitude",
    "measurement_noise",
    "measurement_vectors",
    "predict_measurements",
    "predict_range_azimuth_height",
    "pressure_altitude_to_height",
    "propagate_ballistic",
    "propagate_ballistic_stm",
    "wrap_angle",
]
