"""Batched state estimators: ``kalman`` (EKF predict, innovation, Joseph update)."""
