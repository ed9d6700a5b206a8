"""Data association: ``gating`` (pre-gate and chi-square gate), ``assignment`` (clustered GNN)."""

__all__: list[str] = []
