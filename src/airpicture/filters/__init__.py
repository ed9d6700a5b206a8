"""Batched state estimators: ``kalman`` (EKF predict, innovation, Joseph update)."""

from airpicture.filters._imm import (
    combine,
    mix,
    switch_matrix,
    update_probabilities,
)
from airpicture.filters._kalman import (
    Innovation,
    cho_solve,
    innovation,
    predict,
    solve_lower,
    symmetrize,
    update,
)

__all__ = [
    "Innovation",
    "cho_solve",
    "combine",
    "innovation",
    "mix",
    "predict",
    "solve_lower",
    "switch_matrix",
    "symmetrize",
    "update",
    "update_probabilities",
]
