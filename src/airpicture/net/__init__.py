"""The network between nodes: message bus, wire schema, release policy and a local NATS server.

======================  ===================================================================
module                  concept
======================  ===================================================================
``net.bus``             the :class:`~airpicture.net.Bus` protocol, ``MemoryBus``, ``NatsBus``
``net.messages``        the versioned MessagePack wire schema, validated on decode
``net.payloads``        the payload of each message kind, packed from and into the tables
``net.release``         release policy and labels: which nations may see a detection or track
``net.release_labels``  the label space and the release levels of a label
``net.release_policy``  release policies, areas and track sharing read from ``[release]``
``net.server``          a local ``nats-server`` with JetStream (tests, ``network up``)
``net.keys``            key material: local CA, signing keys, TLS certificates, nkeys
``net.security``        signatures, verification, subject permissions, audit log
======================  ===================================================================

Subjects: ``air.<kind>.<SENDER>.<RECIPIENT>`` for everything a node sends to one nation
(``det`` detection batches, ``hb`` heartbeats, ``trk`` shared tracks), so
``air.*.*.<NATION>`` is everything addressed to a nation; ``air.pic.<NATION>`` carries a node's
picture deltas. Times on the wire are float seconds since the Unix epoch (measurement time),
angles radians, positions WGS-84 ECEF metres, as in :mod:`airpicture.tables`.
"""

from airpicture.net._bus import (
    Bus,
    BusError,
    Handler,
    MemoryBus,
    Message,
    NatsBus,
    Subscription,
    check_pattern,
    check_subject,
    connect_bus,
    subject_matches,
)
from airpicture.net._keys import (
    ADMIN,
    TRUST_FILE,
    NationKeys,
    Trust,
    init_keys,
    load_signing_key,
    nation_paths,
    write_private,
)
from airpicture.net._messages import (
    MAX_MESSAGE_BYTES,
    MESSAGE_KINDS,
    SCHEMA_VERSION,
    AlertMessage,
    DetectionBatch,
    Envelope,
    Heartbeat,
    ImpactMessage,
    MessageError,
    PictureDelta,
    TrackShare,
    decode_envelope,
    decode_message,
    decode_payload,
    encode_message,
    signing_input,
)
from airpicture.net._release import (
    ALL_NATIONS,
    COARSE,
    DOWNGRADES,
    FULL,
    MAX_NATIONS,
    NONE,
    RELEASE_PRESETS,
    THREAT,
    THREAT_KINDS,
    LabelSpace,
    ReleaseArea,
    ReleasePolicy,
    TrackSharing,
    coarsen,
    detection_labels,
    detection_positions,
    invalid_labels,
    preset_tables,
    releasable,
    threat_mask,
    track_levels,
)
from airpicture.net._security import (
    NODE_OUTPUTS,
    AuditLog,
    NodeSecurity,
    PolicyBus,
    SecuritySettings,
    Signer,
    Verifier,
    client_tls_context,
    nats_server_config,
    pattern_within,
    permissions,
)
from airpicture.net._server import (
    NatsServer,
    find_nats_server,
    free_port,
)

__all__ = [
    "ADMIN",
    "ALL_NATIONS",
    "COARSE",
    "DOWNGRADES",
    "FULL",
    "MAX_MESSAGE_BYTES",
    "MAX_NATIONS",
    "MESSAGE_KINDS",
    "NODE_OUTPUTS",
    "NONE",
    "RELEASE_PRESETS",
    "SCHEMA_VERSION",
    "THREAT",
    "THREAT_KINDS",
    "TRUST_FILE",
    "AlertMessage",
    "AuditLog",
    "Bus",
    "BusError",
    "DetectionBatch",
    "Envelope",
    "Handler",
    "Heartbeat",
    "ImpactMessage",
    "LabelSpace",
    "MemoryBus",
    "Message",
    "MessageError",
    "NationKeys",
    "NatsBus",
    "NatsServer",
    "NodeSecurity",
    "PictureDelta",
    "PolicyBus",
    "ReleaseArea",
    "ReleasePolicy",
    "SecuritySettings",
    "Signer",
    "Subscription",
    "TrackShare",
    "TrackSharing",
    "Trust",
    "Verifier",
    "check_pattern",
    "check_subject",
    "client_tls_context",
    "coarsen",
    "connect_bus",
    "decode_envelope",
    "decode_message",
    "decode_payload",
    "detection_labels",
    "detection_positions",
    "encode_message",
    "find_nats_server",
    "free_port",
    "init_keys",
    "invalid_labels",
    "load_signing_key",
    "nation_paths",
    "nats_server_config",
    "pattern_within",
    "permissions",
    "preset_tables",
    "releasable",
    "signing_input",
    "subject_matches",
    "threat_mask",
    "track_levels",
    "write_private",
]
