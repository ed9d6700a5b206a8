"""What a node counts (:class:`NodeCounters`), read by its health report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["NodeCounters"]


@dataclass
class NodeCounters:
    """A node's running counts; the ``Counter`` fields count by reason, kind or nation.

    Attributes
    ----------
    received_messages, received_bytes : int
        Messages delivered to the node (its own included) and their size.
    received_detections : int
        Detections accepted for the tracker.
    rejected : Counter
        Messages rejected, by reason (``malformed``, ``signature``, ``replay`` ...).
    dropped : Counter
        Rows of accepted messages not used (a label that leaves this nation out), by reason.
    shared_received : Counter
        Partners' track rows kept, by owner.
    published_messages : int
        Messages sent.
    published_bytes : Counter
        Bytes sent, by message kind.
    published_detections : int
        Detections sent (one per recipient).
    picture_deltas, impact_messages, alert_messages : int
        Picture, impact and alert messages sent.
    publish_retries : int
        Publishes that failed and were tried again.
    tracker_errors, assess_errors : int
        Chunks the tracker failed on; frames whose assessment or network picture failed.
    impacts : int
        Impact predictions made.
    alerts : Counter
        Alert changes made, by event.
    cot_events, cot_errors : int
        Cursor on Target events sent to the node's TAK address; sends that failed (the picture
        goes on without them).
    actions_sent, actions_received : Counter
        Operators' coordination actions sent, by recipient nation, and received, by the
        operator's nation.
    """

    received_messages: int = 0
    received_bytes: int = 0
    received_detections: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    shared_received: Counter[str] = field(default_factory=Counter)
    published_messages: int = 0
    published_bytes: Counter[str] = field(default_factory=Counter)
    published_detections: int = 0
    picture_deltas: int = 0
    impact_messages: int = 0
    alert_messages: int = 0
    publish_retries: int = 0
    tracker_errors: int = 0
    assess_errors: int = 0
    impacts: int = 0
    alerts: Counter[str] = field(default_factory=Counter)
    cot_events: int = 0
    cot_errors: int = 0
    actions_sent: Counter[str] = field(default_factory=Counter)
    actions_received: Counter[str] = field(default_factory=Counter)
