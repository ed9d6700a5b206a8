"""Scoring a picture against truth: ``metrics`` (GOSPA, SIAP, track-number changes, RMSE) and
``plot`` (map of tracks against truth, GOSPA over time)."""

__all__: list[str] = []
