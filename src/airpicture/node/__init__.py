"""One nation's node: own sources in, releasable detections out, everything released to it tracked.

A node ingests its nation's sensors, publishes each detection to every nation the release
policy allows, receives everything addressed to its nation (its own detections included, through
the bus), runs one :class:`~airpicture.tracker.Tracker` over it, assesses every frame with an
:class:`~airpicture.assess.Assessor` (kinds, impact predictions, alerts) and publishes its
picture, impact predictions and alerts.

Subjects (see :mod:`airpicture.net`): ``air.det.<SENDER>.<RECIPIENT>`` detection batches,
``air.hb.<SENDER>.<RECIPIENT>`` heartbeats, ``air.trk.<SENDER>.<RECIPIENT>`` tracks shared with
another nation (fused into the receiver's network picture; :attr:`Node.shared` keeps them as
received),
``air.coord.<SENDER>.<RECIPIENT>`` operators' coordination actions (released as the tracks they
concern), ``air.pic.<NATION>`` picture deltas, ``air.impact.<NATION>`` impact predictions,
``air.alert.<NATION>`` alert changes and ``air.coord.<NATION>`` the coordination actions applied
to the node's view (the last four for the node's own nation only). A node
subscribes to ``air.*.*.<NATION>`` from the start of the bus history, so one that starts late or
restarts catches up before it goes live.

Same detections, same picture
-----------------------------
Every detection carries its *arrival time* at the sending node (its source clock) and every
message of a sender to a recipient carries the sender's clock: the promise that all its
detections for that recipient that arrived up to then have been sent. A receiving node feeds its
tracker only detections that arrived at or before the smallest clock of all senders (the
barrier), cut into fixed steps of arrival time (``feed_step_s``). The tracker therefore gets,
on every node and in a recording replayed later, the same input in the same chunks, whatever the
network did to the messages, so nodes that receive the same detections hold identical pictures:
the same tracks, ids and states, even for reports later than the tracker's latency window (its
out-of-sequence path). When the reports' delays stay within the window, the picture also equals
a batch run (``airpicture track``) on the same detections. A sender silent for longer than
``peer_timeout_s`` stops holding the barrier (what it sends after that is late for the others,
and only then may pictures differ; it is counted as late).

A node that restarts resumes each of its outgoing channels after the last clock it had sent
there (read back from the bus), so nothing of its sources is lost or sent twice.

Configuration: :class:`NodeConfig` (TOML, see :meth:`NodeConfig.from_toml`); what a node takes
from one message, before its tracker sees it: :class:`InputLimits` (the ``[limits]`` table).

The parts, one module each: :mod:`~airpicture.node._config` (the node file),
:mod:`~airpicture.node._sources` (own detections replayed), :mod:`~airpicture.node._outbound`
(signed publishing; own detections and clock to each recipient), :mod:`~airpicture.node._inbound`
(every incoming message checked and taken in), :mod:`~airpicture.node._peers` (the senders and
the barrier), :mod:`~airpicture.node._tracking` (tracker, assessment, network picture),
:mod:`~airpicture.node._publish` (picture, impacts, alerts and shared tracks out),
:mod:`~airpicture.node._coordination` (operators' coordination actions),
:mod:`~airpicture.node._health` (counters and ``GET /health``); :class:`Node` composes them.
"""

from airpicture.node._config import (
    InputLimits,
    NodeConfig,
    SourceConfig,
)
from airpicture.node._counters import (
    NodeCounters,
)
from airpicture.node._inbound import (
    SharedTracks,
)
from airpicture.node._node import (
    Node,
    run_node,
)
from airpicture.node._sources import (
    ReplaySource,
)

__all__ = [
    "InputLimits",
    "Node",
    "NodeConfig",
    "NodeCounters",
    "ReplaySource",
    "SharedTracks",
    "SourceConfig",
    "run_node",
]
