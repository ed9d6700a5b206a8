"""What a node knows of the nations that send to it, and the barrier their clocks make."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

__all__ = ["Peer", "Peers"]


@dataclass
class Peer:
    """What a node knows of one sending nation.

    Attributes
    ----------
    clock_s : float
        The sender's clock: every detection of it for this node that arrived up to then is sent.
    final : bool
        The sender's input has ended (a final heartbeat).
    heard_mono : float or None
        When it was last heard from (``time.monotonic``).
    last_seq : dict
        The last sequence number accepted from each of its node identities.
    shares_tracks, track_through_s, track_final
        Whether it shares tracks with this node, how far its picture is complete, and whether
        that picture is finished.
    """

    clock_s: float = -math.inf
    final: bool = False
    heard_mono: float | None = None
    last_seq: dict[str, int] = field(default_factory=dict)
    shares_tracks: bool = False
    track_through_s: float = -math.inf
    track_final: bool = False


class Peers:
    """The sending nations of a network, as one node sees them.

    A nation holds the *barrier* (the node feeds its tracker only detections that arrived before
    every holding nation's clock) until its input ends or it is silent for ``timeout_s``; a
    partner that shares tracks with the node holds its frames back to that partner's picture in
    the same way.
    """

    def __init__(self, nations: tuple[str, ...], own: str, timeout_s: float) -> None:
        self.by_nation = {nation: Peer() for nation in nations}
        self.own = own
        self.timeout_s = timeout_s
        self.started_mono = time.monotonic()

    def get(self, nation: str) -> Peer | None:
        return self.by_nation.get(nation)

    def holds_barrier(self, peer: Peer, now: float) -> bool:
        if peer.final:
            return False
        if peer.heard_mono is None:
            return now - self.started_mono < self.timeout_s
        return now - peer.heard_mono < self.timeout_s

    def holds_tracks(self, peer: Peer, now: float) -> bool:
        """Whether a partner that shares tracks with this node holds its frames back."""
        if not peer.shares_tracks or peer.track_final or peer.heard_mono is None:
            return False
        if not math.isfinite(peer.track_through_s):
            return False  # no picture yet: nothing of it to wait for
        return now - peer.heard_mono < self.timeout_s

    def barrier(self) -> float:
        """The smallest clock of the nations holding the barrier (inf for none)."""
        now = time.monotonic()
        clocks = [p.clock_s for p in self.by_nation.values() if self.holds_barrier(p, now)]
        return min(clocks, default=math.inf)

    def partners_through(self) -> float:
        """How far every partner sharing tracks with this node has sent its picture."""
        now = time.monotonic()
        through = [
            p.track_through_s for p in self.by_nation.values() if self.holds_tracks(p, now)
        ]
        return min(through, default=math.inf)

    def input_ended(self) -> bool:
        """The node's own input has ended and no other nation holds the barrier."""
        now = time.monotonic()
        own = self.by_nation.get(self.own)
        if own is not None and not own.final:
            return False
        return all(p.final or not self.holds_barrier(p, now) for p in self.by_nation.values())
