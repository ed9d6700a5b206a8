"""Batched state estimators: ``kalman`` (EKF predict, innovation, Joseph update)."""

__all__: list[str] = []
