"""Release labels: the :class:`LabelSpace` of a network's nations, the three nested fields of a
label (full, threat, coarse) and the release levels they give one recipient.

What the labels mean and how a policy makes them is described in :mod:`airpicture.net._release`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from airpicture.errors import ConfigError

__all__ = [
    "ALL_NATIONS",
    "COARSE",
    "FULL",
    "MAX_NATIONS",
    "NONE",
    "THREAT",
    "LabelSpace",
    "invalid_labels",
]

ALL_NATIONS = "*"
"""In a policy, the recipient that stands for every nation."""

NONE, COARSE, THREAT, FULL = 0, 1, 2, 3
"""Release levels for one recipient, each holding the ones before it: nothing, position-only,
in full if a threat, in full (:meth:`LabelSpace.level`;
:func:`~airpicture.net.track_levels` gives ``NONE``, ``COARSE`` or ``FULL``)."""

MAX_NATIONS = 21
"""Most nations a label space holds: bits per field of a label."""

_FIELDS = (0, MAX_NATIONS, 2 * MAX_NATIONS)  # first bit of the full, threat and coarse fields


# ---------------------------------------------------------------------------- labels
@dataclass(frozen=True)
class LabelSpace:
    """The nations a label's bits stand for, in bit order (at most :data:`MAX_NATIONS`).

    Parameters
    ----------
    nations : tuple of str
        Distinct nation codes; bits ``i`` (full), ``21 + i`` (threat) and ``42 + i`` (coarse)
        are ``nations[i]``.

    Raises
    ------
    ConfigError
        On repeated nations or more than :data:`MAX_NATIONS`.
    """

    nations: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(set(self.nations)) != len(self.nations) or len(self.nations) > MAX_NATIONS:
            raise ConfigError(
                "label space",
                key="network",
                expected=f"at most {MAX_NATIONS} distinct nations",
                got=", ".join(self.nations),
            )
        object.__setattr__(self, "_bit", {n: i for i, n in enumerate(self.nations)})

    def bits(self, allowed: Iterable[str]) -> int:
        """The bits of a set of nations in one field (``"*"``: every nation of the space)."""
        allowed = set(allowed)
        if ALL_NATIONS in allowed:
            return (1 << len(self.nations)) - 1
        bit: dict[str, int] = self._bit  # type: ignore[attr-defined]
        return sum(1 << bit[n] for n in allowed if n in bit)

    def label(
        self, full: Iterable[str], coarse: Iterable[str] = (), threat: Iterable[str] = ()
    ) -> int:
        """The label releasing to ``full`` in full, tracks of threats to ``threat`` (and
        ``full``) in full and tracks to ``coarse`` (and both others) coarsened."""
        f = self.bits(full)
        t = f | self.bits(threat)
        c = t | self.bits(coarse)
        return f << _FIELDS[0] | t << _FIELDS[1] | c << _FIELDS[2]

    def _field(self, label: int, first: int) -> frozenset[str]:
        return frozenset(n for i, n in enumerate(self.nations) if int(label) >> (first + i) & 1)

    def full(self, label: int) -> frozenset[str]:
        """Nations a label releases to in full."""
        return self._field(label, _FIELDS[0])

    def threat(self, label: int) -> frozenset[str]:
        """Nations a label releases tracks of threats to in full."""
        return self._field(label, _FIELDS[1])

    def coarse(self, label: int) -> frozenset[str]:
        """Nations a label releases to at least coarsened."""
        return self._field(label, _FIELDS[2])

    def level(self, labels: np.ndarray, nation: str) -> np.ndarray:
        """Per label, :data:`FULL`, :data:`THREAT`, :data:`COARSE` or :data:`NONE` for
        ``nation``: the first field that holds it (uint8)."""
        labels = np.asarray(labels, dtype=np.uint64)
        bit: dict[str, int] = self._bit  # type: ignore[attr-defined]
        if nation not in bit:
            return np.zeros(len(labels), dtype=np.uint8)
        i = np.uint64(bit[nation])
        full, threat, coarse = ((labels >> (np.uint64(f) + i)) & np.uint64(1) for f in _FIELDS)
        held = [full == 1, threat == 1, coarse == 1]
        return np.select(held, [FULL, THREAT, COARSE], NONE).astype(np.uint8)

    def remap(self, labels: np.ndarray, nations: Sequence[str]) -> np.ndarray:
        """Labels over ``nations`` (another space's order) expressed in this space.

        Bits of nations this space does not hold are dropped (they only narrow onward release).
        """
        labels = np.asarray(labels, dtype=np.uint64)
        if tuple(nations) == self.nations:
            return labels.copy()
        bit: dict[str, int] = self._bit  # type: ignore[attr-defined]
        pairs = [(i, bit[n]) for i, n in enumerate(nations) if n in bit]
        src = np.array([f + i for f in _FIELDS for i, _ in pairs], dtype=np.uint64)
        dst = np.array([f + j for f in _FIELDS for _, j in pairs], dtype=np.uint64)
        moved = ((labels[:, None] >> src) & np.uint64(1)) << dst
        return np.bitwise_or.reduce(moved, axis=1, initial=np.uint64(0))


def invalid_labels(labels: np.ndarray, count: int) -> np.ndarray:
    """Which labels over ``count`` nations are malformed: a bit past the nations in some field,
    or a field outside the next one (full outside threat, threat outside coarse).

    Parameters
    ----------
    labels : ndarray of uint64, shape (n,)
    count : int
        Nations of the labels' space (at most :data:`MAX_NATIONS`).

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    labels = np.asarray(labels, dtype=np.uint64)
    mask = np.uint64((1 << MAX_NATIONS) - 1)
    full, threat, coarse = ((labels >> np.uint64(f)) & mask for f in _FIELDS)
    used = np.uint64((1 << count) - 1)
    spread = used | used << np.uint64(_FIELDS[1]) | used << np.uint64(_FIELDS[2])
    return ((labels & ~spread) != 0) | ((full & ~threat) != 0) | ((threat & ~coarse) != 0)


def _allows(allowed: frozenset[str], nation: str) -> bool:
    return ALL_NATIONS in allowed or nation in allowed
