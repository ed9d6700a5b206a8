"""The network between nodes: message bus, wire schema, release policy and a local NATS server.

======================  ===================================================================
module                  concept
======================  ===================================================================
``net.bus``             the :class:`~airpicture.net.bus.Bus` protocol, ``MemoryBus``, ``NatsBus``
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

__all__: list[str] = []
