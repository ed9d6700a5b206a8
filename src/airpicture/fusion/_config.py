"""Settings of the network picture (:class:`~airpicture.fusion.CommonPicture`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airpicture.config import Interval, check_fields

__all__ = ["FusionConfig"]


def _check(low: float, high: float, *, integer: bool = False) -> dict[str, Any]:
    return {"check": Interval(low, high, integer=integer)}


@dataclass(frozen=True, kw_only=True)
class FusionConfig:
    """Settings of the network picture (the ``[fusion]`` table of a node file).

    Attributes
    ----------
    gate_probability : float
        A firm track and a partner track of another number are one object when their
        distance passes the chi-square gate of this probability (6 degrees of freedom).
    keep_probability : float
        The wider gate that a track and the partner track carrying its own number must fail
        before the failure counts towards decorrelation.
    merge_after : int
        Frames in a row two numbers must be found on one object before one yields.
    decorrelate_after : int
        Frames in a row a track must fail the wide gate of its number's partner track
        before it is declared another object.
    max_report_age_s : float
        A partner's report older than this (its owner fell silent) no longer holds a track.
    partner_lag_s : float
        A frame at time t uses partners' reports up to ``t - partner_lag_s`` (a node runs its
        frames at most this far ahead of the pictures of the partners that share tracks with
        it, so every node uses the same reports: the picture does not depend on the network's
        timing), s.
    q_mps2 : float
        Acceleration noise density used to bring partners' states to a common time, m^2/s^3.
    """

    gate_probability: float = field(default=0.9999, metadata=_check(0.5, 1.0 - 1e-12))
    keep_probability: float = field(default=1.0 - 1e-9, metadata=_check(0.5, 1.0 - 1e-15))
    merge_after: int = field(default=2, metadata=_check(1, 1000, integer=True))
    decorrelate_after: int = field(default=3, metadata=_check(1, 1000, integer=True))
    max_report_age_s: float = field(default=15.0, metadata=_check(0.1, 3600.0))
    partner_lag_s: float = field(default=2.0, metadata=_check(0.0, 600.0))
    q_mps2: float = field(default=5.0, metadata=_check(0.0, 1e6))

    def __post_init__(self) -> None:
        check_fields(self, source="FusionConfig")
