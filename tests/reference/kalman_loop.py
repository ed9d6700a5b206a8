"""Slow, obviously correct per-track Kalman steps: the reference for the batched code."""

import numpy as np


def update_one(x, P, z, h, H, R):
    """Textbook update of one state (explicit inverse, simple form plus Joseph)."""
    S = H @ P @ H.T + R
    K = P @ H.T @ np.linalg.inv(S)
    nu = z - h
    x_new = x + K @ nu
    A = np.eye(len(x)) - K @ H
    P_new = A @ P @ A.T + K @ R @ K.T
    return x_new, P_new, float(nu @ np.linalg.inv(S) @ nu)
