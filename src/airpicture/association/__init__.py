"""Data association: ``gating`` (pre-gate and chi-square gate), ``assignment`` (clustered GNN)."""

from airpicture.association._assignment import (
    gnn_assign,
)
from airpicture.association._gating import (
    candidate_pairs,
    chi2_gate,
)

__all__ = [
    "candidate_pairs",
    "chi2_gate",
    "gnn_assign",
]
