"""The wire schema between nodes: a versioned envelope around compact, columnar payloads.

Every message is a MessagePack array (msgspec ``array_like`` structs, so field names are not
repeated on the wire):

``Envelope = [version, kind, sender, nation, seq, sent_ns, payload, signature]``

========  ===================  ==============================================================
kind      payload              content
========  ===================  ==============================================================
``det``   :class:`DetectionBatch`  detections released to one nation, as column arrays
``hb``    :class:`Heartbeat`       the sender's source clock (and its end), to one nation
``status`` :class:`SensorStatus`   state of the sender's sensors, to one nation
``alert`` :class:`Alert`           a node's alert changes (issued, updated, cancelled)
``impact`` :class:`Impact`         a node's impact (and launch) predictions of ballistic tracks
``pic``   :class:`PictureDelta`    a node's tracks created, updated and dropped
``trk``   :class:`TrackShare`      a node's tracks released to one other nation
========  ===================  ==============================================================

Column arrays travel as little-endian bytes (``float64``, ``uint64``, ``uint16``, ``uint8``),
one buffer per column, never one object per detection. Units: times float seconds since the
Unix epoch; angles radians; positions WGS-84 ECEF metres and metres per second; geodetic sensor
positions radians and metres, as in :mod:`airpicture.tables`.

``sender`` is the sending node's id, ``nation`` its nation, ``seq`` a per-sender number that
only increases (a node starts it at its boot time in nanoseconds, so a restarted node goes on
above its earlier numbers) and ``signature`` the Ed25519 signature of :func:`signing_input`
(empty from an insecure node; see :mod:`airpicture.net.security`).

Decoding validates everything once, at this edge: an oversized, truncated or malformed message,
an unknown version or kind, columns of the wrong length, a non-finite number where one is
required or a value out of its range raises :class:`MessageError` (a
:class:`~airpicture.errors.DataError` with a short ``reason`` code for counting); no other
exception escapes :func:`decode_message`.

Example
-------
>>> hb = Heartbeat(recipient="USA", clock_s=1.7e9, final=False)
>>> data = encode_message("hb", hb, sender="jpn-1", nation="JPN", seq=7, sent_ns=0)
>>> envelope, payload = decode_message(data)
>>> envelope.sender, payload.clock_s
('jpn-1', 1700000000.0)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Annotated, Any

import msgspec
import numpy as np

from airpicture.assess.warning import CANCEL_REASONS
from airpicture.errors import DataError
from airpicture.fusion import TrackReports
from airpicture.net.release import MAX_NATIONS, LabelSpace, invalid_labels
from airpicture.tables import (
    ALERT_EVENTS,
    ALERT_STATES,
    ROW_SEQ_BITS,
    STATUS_NAMES,
    AlertRows,
    Detections,
    ImpactRows,
    SensorTable,
    TrackRows,
)

__all__ = [
    "CHANGE_NAMES",
    "KINDS",
    "MAX_MESSAGE_BYTES",
    "SCHEMA_VERSION",
    "Alert",
    "DetectionBatch",
    "Envelope",
    "Heartbeat",
    "Impact",
    "MessageError",
    "PictureDelta",
    "SensorStatus",
    "TrackShare",
    "decode_envelope",
    "decode_message",
    "decode_payload",
    "encode_message",
    "signing_input",
]

SCHEMA_VERSION = 3
"""The schema version this module writes and reads (2: release labels on detections, shared
tracks; 3: labels of three fields, shared tracks with their states, covariances and numbers'
keys, picture deltas with local ids, sources and quality)."""

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""Largest message accepted, bytes."""


CHANGE_NAMES = ("created", "updated", "dropped")
"""Change codes of a :class:`PictureDelta` row (index = code)."""

_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
_NonNegative = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
_Label = Annotated[str, msgspec.Meta(max_length=32)]


class MessageError(DataError):
    """A message that cannot be used; ``reason`` is a short code for counting rejections.

    Reasons: ``size``, ``truncated``, ``malformed``, ``version``, ``kind``, ``length``,
    ``non-finite``, ``range``, ``sensor``, ``label``; from :mod:`airpicture.net.security` also
    ``unsigned``, ``unknown-sender``, ``signature``, ``stale``, ``future``.
    """

    def __init__(
        self, source: str, *, reason: str, column: str | None, expected: str, got: str
    ) -> None:
        self.reason = reason
        super().__init__(source, column=column, expected=expected, got=got)


class Envelope(msgspec.Struct, array_like=True, frozen=True):
    """What every message carries around its payload (see the module docstring)."""

    version: int
    kind: str
    sender: _Name
    nation: _Name
    seq: _NonNegative
    sent_ns: _NonNegative
    payload: bytes
    signature: bytes = b""


class DetectionBatch(msgspec.Struct, array_like=True, frozen=True):
    """Detections of one sender released to one recipient nation, as column arrays.

    ``sensor_ids`` lists the sensors referenced; ``sensor_ref`` (uint16) indexes it per row.
    ``sensor_seq`` (uint64) numbers each sensor's detections in its arrival order; together with
    the sensor it gives the row's globally unique tracker ``row``. ``arrival_s`` is when each
    detection reached the sender (its source clock); ``clock_s`` promises that every detection of
    the sender for this recipient that arrived at or before it has been sent.
    The other columns are float64 in the units of :class:`~airpicture.tables.Detections`
    (NaN ``range_m`` for IR, NaN ``range_rate_mps`` when not measured).
    ``label`` (uint64) is each detection's release label over the nations ``label_nations``
    (at most 32; see :mod:`airpicture.net.release`): every nation that may see it, not just the
    recipient.
    """

    recipient: _Name
    clock_s: float
    sensor_ids: list[_Name]
    sensor_ref: bytes
    sensor_seq: bytes
    arrival_s: bytes
    t_s: bytes
    range_m: bytes
    azimuth_rad: bytes
    elevation_rad: bytes
    range_rate_mps: bytes
    sensor_lat_rad: bytes
    sensor_lon_rad: bytes
    sensor_alt_m: bytes
    label_nations: list[_Name]
    label: bytes

    def __len__(self) -> int:
        return len(self.sensor_ref) // 2

    @classmethod
    def from_detections(
        cls,
        detections: Detections,
        sensors: SensorTable,
        *,
        recipient: str,
        clock_s: float,
        arrival_s: np.ndarray,
        sensor_seq: np.ndarray,
        label: np.ndarray,
        label_nations: Sequence[str],
    ) -> DetectionBatch:
        """Pack detections for the wire.

        Parameters
        ----------
        detections : Detections
            n detections; ``sensor_index`` indexes ``sensors``.
        sensors : SensorTable
            The table ``sensor_index`` refers to.
        recipient : str
            The nation the batch is released to.
        clock_s : float
            The sender's source clock, s (at least every ``arrival_s``).
        arrival_s : ndarray, shape (n,)
            When each detection reached the sender, s.
        sensor_seq : ndarray of int, shape (n,)
            Each detection's per-sensor sequence number (below ``2**ROW_SEQ_BITS``).
        label : ndarray of uint64, shape (n,)
            Each detection's release label.
        label_nations : sequence of str
            The nations the label bits stand for, in bit order.
        """
        used, ref = np.unique(detections.sensor_index, return_inverse=True)
        return cls(
            recipient=recipient,
            clock_s=float(clock_s),
            sensor_ids=[sensors[int(i)].sensor_id for i in used],
            sensor_ref=ref.astype("<u2").tobytes(),
            sensor_seq=np.asarray(sensor_seq).astype("<u8").tobytes(),
            arrival_s=_f8(arrival_s),
            t_s=_f8(detections.t_s),
            range_m=_f8(detections.range_m),
            azimuth_rad=_f8(detections.azimuth_rad),
            elevation_rad=_f8(detections.elevation_rad),
            range_rate_mps=_f8(detections.range_rate_mps),
            sensor_lat_rad=_f8(detections.sensor_lat_rad),
            sensor_lon_rad=_f8(detections.sensor_lon_rad),
            sensor_alt_m=_f8(detections.sensor_alt_m),
            label_nations=list(label_nations),
            label=np.asarray(label, dtype="<u8").tobytes(),
        )

    def to_detections(
        self,
        sensors: SensorTable,
        space: LabelSpace,
        *,
        source: str = "detection batch",
    ) -> Detections:
        """Unpack into a :class:`~airpicture.tables.Detections` table indexed by ``sensors``.

        Each row's ``row`` is ``sensor_index << ROW_SEQ_BITS | sensor_seq``, the same on every
        node that shares the sensor table; ``release`` holds the labels expressed in ``space``
        (the receiving node's nations).

        Raises
        ------
        MessageError
            When a sensor id is not in ``sensors`` (reason ``sensor``).
        """
        index = np.empty(len(self.sensor_ids), dtype=np.int64)
        for k, sensor_id in enumerate(self.sensor_ids):
            try:
                index[k] = sensors.index_of(sensor_id)
            except KeyError:
                raise MessageError(
                    source,
                    reason="sensor",
                    column="sensor_ids",
                    expected="sensors of the shared sensor table",
                    got=repr(sensor_id),
                ) from None
        ref = np.frombuffer(self.sensor_ref, "<u2").astype(np.int64)
        sensor_index = index[ref]
        seq = np.frombuffer(self.sensor_seq, "<u8").astype(np.int64)
        return Detections(
            t_s=_col(self.t_s),
            sensor_index=sensor_index.astype(np.int32),
            range_m=_col(self.range_m),
            azimuth_rad=_col(self.azimuth_rad),
            elevation_rad=_col(self.elevation_rad),
            range_rate_mps=_col(self.range_rate_mps),
            sensor_lat_rad=_col(self.sensor_lat_rad),
            sensor_lon_rad=_col(self.sensor_lon_rad),
            sensor_alt_m=_col(self.sensor_alt_m),
            row=(sensor_index << ROW_SEQ_BITS) | seq,
            release=space.remap(np.frombuffer(self.label, "<u8"), self.label_nations),
        )

    def arrival(self) -> np.ndarray:
        """``arrival_s`` as a float64 array, shape (n,)."""
        return _col(self.arrival_s)


class Heartbeat(msgspec.Struct, array_like=True, frozen=True):
    """The sender's source clock for one recipient; ``final`` (with ``clock_s = inf``) ends it."""

    recipient: _Name
    clock_s: float
    final: bool = False


class SensorStatus(msgspec.Struct, array_like=True, frozen=True):
    """State of the sender's sensors at ``t_s``: ``state`` uint8 per sensor (0 down, 1 up)
    and ``detections`` uint64, the number of detections each has reported so far."""

    recipient: _Name
    t_s: float
    sensor_ids: list[_Name]
    state: bytes
    detections: bytes


class Alert(msgspec.Struct, array_like=True, frozen=True):
    """A node's alert changes, one row per change, as in :class:`~airpicture.tables.AlertRows`.

    ``t_s`` (time of the change) and ``impact_t_s`` (predicted impact time, NaN when unknown) are
    float64 columns; ``state``, ``event`` and ``reason`` hold names of
    :data:`~airpicture.tables.ALERT_STATES`, :data:`~airpicture.tables.ALERT_EVENTS` and
    :data:`~airpicture.assess.warning.CANCEL_REASONS` (``reason`` empty unless cancelled).
    ``nation`` is the node's nation: its alerts go to that nation only (``air.alert.<NATION>``).
    """

    nation: _Name
    t_s: bytes
    alert_id: list[_Id]
    area_id: list[_Id]
    track_id: list[_Id]
    state: list[_Label]
    event: list[_Label]
    reason: list[_Label]
    impact_t_s: bytes

    def __len__(self) -> int:
        return len(self.alert_id)

    @classmethod
    def from_rows(cls, rows: AlertRows, *, nation: str) -> Alert:
        """Pack alert changes of a node's assessment."""
        return cls(
            nation=nation,
            t_s=_f8(rows.t_s),
            alert_id=[str(v) for v in rows.alert_id],
            area_id=[str(v) for v in rows.area_id],
            track_id=[str(v) for v in rows.track_id],
            state=[str(v) for v in rows.state],
            event=[str(v) for v in rows.event],
            reason=[str(v) for v in rows.reason],
            impact_t_s=_f8(rows.impact_t_s),
        )

    def to_rows(self) -> AlertRows:
        """The changes as :class:`~airpicture.tables.AlertRows`."""
        return AlertRows(
            t_s=_col(self.t_s),
            alert_id=_strings(self.alert_id),
            area_id=_strings(self.area_id),
            track_id=_strings(self.track_id),
            state=_strings(self.state),
            event=_strings(self.event),
            reason=_strings(self.reason),
            impact_t_s=_col(self.impact_t_s),
        )


class Impact(msgspec.Struct, array_like=True, frozen=True):
    """A node's impact predictions, one row per track update, as in
    :class:`~airpicture.tables.ImpactRows` (every column float64 but ``track_id``).

    Impact point and launch point in geodetic radians, the ellipse's semi-axes in metres
    (``semi_major_m >= semi_minor_m >= 0``), its orientation in radians in [0, pi], its
    confidence in (0, 1); the launch columns are NaN when not estimated. ``nation`` is the
    node's nation (``air.impact.<NATION>``).
    """

    nation: _Name
    t_s: bytes
    track_id: list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]]
    impact_t_s: bytes
    impact_lat_rad: bytes
    impact_lon_rad: bytes
    semi_major_m: bytes
    semi_minor_m: bytes
    orientation_rad: bytes
    confidence: bytes
    launch_t_s: bytes
    launch_lat_rad: bytes
    launch_lon_rad: bytes

    def __len__(self) -> int:
        return len(self.track_id)

    @classmethod
    def from_rows(cls, rows: ImpactRows, *, nation: str) -> Impact:
        """Pack impact predictions of a node's assessment."""
        return cls(
            nation=nation,
            track_id=[str(v) for v in rows.track_id],
            **{name: _f8(getattr(rows, name)) for name in _IMPACT_FLOAT_COLUMNS},
        )

    def to_rows(self) -> ImpactRows:
        """The predictions as :class:`~airpicture.tables.ImpactRows`."""
        return ImpactRows(
            track_id=_strings(self.track_id),
            **{name: _col(getattr(self, name)) for name in _IMPACT_FLOAT_COLUMNS},
        )


class PictureDelta(msgspec.Struct, array_like=True, frozen=True):
    """A node's picture change: one row per track created, updated or dropped.

    ``through_s``: every detection the node holds with ``t_s`` before it is in the picture
    (``inf`` once the input has ended, then ``final``). ``change`` (uint8) codes index
    :data:`CHANGE_NAMES`; ``x`` and ``cov_pos`` are float64 (n, 6) as in
    :class:`~airpicture.tables.TrackRows`; ``kind``, ``status`` and ``nations`` are
    dictionary-encoded: labels plus uint16 codes per row.
    """

    nation: _Name
    through_s: float
    final: bool
    change: bytes
    t_s: bytes
    track_id: list[Annotated[str, msgspec.Meta(max_length=64)]]
    x: bytes
    cov_pos: bytes
    kind_labels: list[str]
    kind: bytes
    status_labels: list[str]
    status: bytes
    nations_labels: list[str]
    nations: bytes
    local_id: list[Annotated[str, msgspec.Meta(max_length=64)]] = []
    sources_labels: list[Annotated[str, msgspec.Meta(max_length=1024)]] = []
    sources: bytes = b""
    quality: bytes = b""

    def __len__(self) -> int:
        return len(self.change)

    @classmethod
    def from_rows(
        cls,
        rows: TrackRows,
        change: np.ndarray,
        *,
        nation: str,
        through_s: float,
        final: bool = False,
    ) -> PictureDelta:
        """Pack track rows and their change codes (``CHANGE_NAMES`` indices), shape (n,)."""
        kind_labels, kind = _dictionary(rows.kind)
        status_labels, status = _dictionary(rows.status)
        nations_labels, nations = _dictionary(rows.nations)
        network: dict[str, Any] = {}
        if rows.local_id is not None and rows.sources is not None and rows.quality is not None:
            sources_labels, sources = _dictionary(rows.sources)
            network = {
                "local_id": [str(t) for t in rows.local_id],
                "sources_labels": sources_labels,
                "sources": sources,
                "quality": np.asarray(rows.quality).astype("<u1").tobytes(),
            }
        return cls(
            nation=nation,
            through_s=float(through_s),
            final=final,
            change=np.asarray(change).astype("<u1").tobytes(),
            t_s=_f8(rows.t_s),
            track_id=[str(t) for t in rows.track_id],
            x=_f8(rows.x),
            cov_pos=_f8(rows.cov_pos),
            kind_labels=kind_labels,
            kind=kind,
            status_labels=status_labels,
            status=status,
            nations_labels=nations_labels,
            nations=nations,
            **network,
        )

    def to_rows(self) -> tuple[TrackRows, np.ndarray]:
        """The rows as :class:`~airpicture.tables.TrackRows` and the change codes (uint8, (n,))."""
        n = len(self)
        rows = TrackRows(
            t_s=_col(self.t_s),
            track_id=np.asarray(self.track_id, dtype=str) if n else np.empty(0, dtype=str),
            x=_col(self.x).reshape(n, 6),
            cov_pos=_col(self.cov_pos).reshape(n, 6),
            kind=_undictionary(self.kind_labels, self.kind),
            status=_undictionary(self.status_labels, self.status),
            nations=_undictionary(self.nations_labels, self.nations),
        )
        if self.quality or (n and self.local_id):
            rows = replace(
                rows,
                local_id=_strings(self.local_id),
                sources=_undictionary(self.sources_labels, self.sources),
                quality=np.frombuffer(self.quality, "<u1").astype(np.int8),
            )
        return rows, np.frombuffer(self.change, "<u1").copy()


class TrackShare(msgspec.Struct, array_like=True, frozen=True):
    """A node's tracks released to one other nation (``air.trk.<OWNER>.<RECIPIENT>``).

    ``picture`` holds the rows as a :class:`PictureDelta` of the owner's nation; change codes are
    as the recipient sees them (a track first released to it is ``created``; a track no longer
    releasable to it is ``dropped``, carrying the last state it was given). ``coarse`` (uint8,
    0 or 1) marks position-only rows (:func:`airpicture.net.release.coarsen`: velocity zero);
    ``label`` (uint64) is each row's track label over ``label_nations``
    (:mod:`airpicture.net.release`).
    """

    recipient: _Name
    picture: PictureDelta
    coarse: bytes
    label_nations: list[_Name]
    label: bytes
    state: bytes
    cov: bytes
    hits: bytes
    first_t_s: bytes

    def __len__(self) -> int:
        return len(self.picture)

    @classmethod
    def from_reports(
        cls,
        reports: TrackReports,
        change: np.ndarray,
        coarse: np.ndarray,
        *,
        owner: str,
        recipient: str,
        through_s: float,
        label_nations: Sequence[str],
        final: bool = False,
    ) -> TrackShare:
        """Pack released tracks (``reports.rows.release`` their labels), change codes and
        coarse flags."""
        rows = reports.rows
        labels = rows.release if rows.release is not None else np.zeros(len(rows), np.uint64)
        return cls(
            recipient=recipient,
            picture=PictureDelta.from_rows(
                replace(rows, local_id=None, sources=None, quality=None),
                change,
                nation=owner,
                through_s=through_s,
                final=final,
            ),
            coarse=np.asarray(coarse).astype("<u1").tobytes(),
            label_nations=list(label_nations),
            label=np.asarray(labels, dtype="<u8").tobytes(),
            state=_f8(reports.state),
            cov=_f8(reports.cov),
            hits=np.asarray(reports.hits).astype("<u4").tobytes(),
            first_t_s=_f8(reports.first_t_s),
        )

    def to_reports(self, space: LabelSpace) -> tuple[TrackReports, np.ndarray, np.ndarray]:
        """The tracks (``rows.release`` expressed in ``space``), change codes (uint8) and
        coarse flags (bool), each of length n."""
        rows, change = self.picture.to_rows()
        n = len(rows)
        labels = space.remap(np.frombuffer(self.label, "<u8"), self.label_nations)
        reports = TrackReports(
            replace(rows, release=labels),
            _col(self.state).reshape(n, 7),
            _col(self.cov).reshape(n, 7, 7),
            np.frombuffer(self.hits, "<u4").astype(np.int64),
            _col(self.first_t_s),
        )
        return reports, change, np.frombuffer(self.coarse, "<u1").astype(bool)


KINDS: dict[str, type[msgspec.Struct]] = {
    "det": DetectionBatch,
    "hb": Heartbeat,
    "status": SensorStatus,
    "alert": Alert,
    "impact": Impact,
    "pic": PictureDelta,
    "trk": TrackShare,
}
"""Message kinds and their payload types."""

Payload = DetectionBatch | Heartbeat | SensorStatus | Alert | Impact | PictureDelta | TrackShare

# What msgspec may raise on hostile bytes: its own errors, invalid UTF-8 (a ValueError), too-deep
# nesting and integers out of range.
_DECODE_ERRORS = (msgspec.DecodeError, ValueError, OverflowError, RecursionError)

_ENCODER = msgspec.msgpack.Encoder()
_ENVELOPE_DECODER = msgspec.msgpack.Decoder(Envelope)
_PAYLOAD_DECODERS: dict[str, msgspec.msgpack.Decoder[Payload]] = {
    kind: msgspec.msgpack.Decoder(cls) for kind, cls in KINDS.items()
}
_KIND_OF = {cls: kind for kind, cls in KINDS.items()}


# ---------------------------------------------------------------------------- encode
def encode_message(
    kind: str,
    payload: Payload,
    *,
    sender: str,
    nation: str,
    seq: int,
    sent_ns: int | None = None,
    subject: str | None = None,
    signer: Callable[[bytes], bytes] | None = None,
) -> bytes:
    """Wrap a payload in an envelope and encode both to MessagePack.

    Parameters
    ----------
    kind : str
        A key of :data:`KINDS`, matching the payload's type.
    payload : msgspec.Struct
        The payload.
    sender, nation : str
        The sending node's id and nation.
    seq : int
        The sender's sequence number for this message.
    sent_ns : int, optional
        Wall-clock send time, ns since the Unix epoch (now when omitted).
    subject : str, optional
        The subject the message will be published on (required with ``signer``; it is signed).
    signer : callable, optional
        Returns the signature of :func:`signing_input`; the message is unsigned when omitted.

    Raises
    ------
    ValueError
        When ``kind`` is unknown or does not match the payload type (a programming error).
    """
    if KINDS.get(kind) is not type(payload):
        raise ValueError(
            f"kind {kind!r}: expected one of {sorted(KINDS)} matching {type(payload).__name__}"
        )
    envelope = Envelope(
        version=SCHEMA_VERSION,
        kind=kind,
        sender=sender,
        nation=nation,
        seq=seq,
        sent_ns=time.time_ns() if sent_ns is None else sent_ns,
        payload=_ENCODER.encode(payload),
    )
    if signer is not None:
        if subject is None:
            raise ValueError("a signed message needs the subject it is published on")
        envelope = msgspec.structs.replace(
            envelope, signature=signer(signing_input(subject, envelope))
        )
    return _ENCODER.encode(envelope)


_SIGNATURE_DOMAIN = b"airpicture/envelope/v1\x00"


def signing_input(subject: str, envelope: Envelope) -> bytes:
    """The bytes a message's signature covers: a domain tag, the subject, the envelope header
    (version, kind, sender, nation, seq, sent_ns) as MessagePack, then the payload bytes.

    Binding the subject stops a signed message from being moved to another subject.
    """
    header = _ENCODER.encode(
        (
            subject,
            envelope.version,
            envelope.kind,
            envelope.sender,
            envelope.nation,
            envelope.seq,
            envelope.sent_ns,
        )
    )
    return b"".join((_SIGNATURE_DOMAIN, len(header).to_bytes(4, "big"), header, envelope.payload))


# ---------------------------------------------------------------------------- decode
def decode_message(data: bytes, *, source: str = "message") -> tuple[Envelope, Payload]:
    """Decode and validate a whole message.

    Parameters
    ----------
    data : bytes
        The bytes received.
    source : str
        Where they came from (subject and sequence), for error messages.

    Returns
    -------
    envelope : Envelope
    payload : DetectionBatch, Heartbeat, SensorStatus, Alert, Impact or PictureDelta

    Raises
    ------
    MessageError
        For anything that makes the message unusable; never another exception.
    """
    envelope = decode_envelope(data, source=source)
    return envelope, decode_payload(envelope, source=source)


def decode_envelope(data: bytes, *, source: str = "message") -> Envelope:
    """Decode and check the envelope only (the payload stays bytes).

    Raises
    ------
    MessageError
        On size, truncation, malformed bytes, an unknown version or an unknown kind.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MessageError(
            source, reason="malformed", column=None, expected="bytes", got=type(data).__name__
        )
    if len(data) > MAX_MESSAGE_BYTES:
        raise MessageError(
            source,
            reason="size",
            column=None,
            expected=f"at most {MAX_MESSAGE_BYTES} bytes",
            got=f"{len(data)} bytes",
        )
    try:
        envelope = _ENVELOPE_DECODER.decode(data)
    except _DECODE_ERRORS as exc:
        version = _peek_version(data)
        if version is not None and version != SCHEMA_VERSION:
            raise _version_error(source, version) from None
        reason = "truncated" if "truncated" in str(exc).lower() else "malformed"
        raise MessageError(
            source,
            reason=reason,
            column="envelope",
            expected="a MessagePack envelope",
            got=str(exc),
        ) from None
    if envelope.version != SCHEMA_VERSION:
        raise _version_error(source, envelope.version)
    if envelope.kind not in KINDS:
        raise MessageError(
            source,
            reason="kind",
            column="kind",
            expected="one of " + ", ".join(sorted(KINDS)),
            got=_show(envelope.kind),
        )
    return envelope


def decode_payload(envelope: Envelope, *, source: str = "message") -> Payload:
    """Decode and validate the payload of a checked envelope.

    Raises
    ------
    MessageError
        On malformed bytes, wrong column lengths, non-finite or out-of-range values.
    """
    where = f"{source} ({envelope.kind} from {envelope.sender})"
    try:
        payload = _PAYLOAD_DECODERS[envelope.kind].decode(envelope.payload)
    except _DECODE_ERRORS as exc:
        reason = "truncated" if "truncated" in str(exc).lower() else "malformed"
        raise MessageError(
            where,
            reason=reason,
            column="payload",
            expected=f"a {KINDS[envelope.kind].__name__}",
            got=str(exc),
        ) from None
    _VALIDATORS[envelope.kind](payload, where)
    return payload


# ---------------------------------------------------------------------------- validation
def _validate_detections(batch: DetectionBatch, where: str) -> None:
    n = _length(batch.sensor_ref, 2, "sensor_ref", where)
    _length(batch.sensor_seq, 8, "sensor_seq", where, n)
    for name in _DET_FLOAT_COLUMNS:
        _length(getattr(batch, name), 8, name, where, n)
    if math.isnan(batch.clock_s) or math.isinf(batch.clock_s):
        raise _error(where, "non-finite", "clock_s", "a finite time, s", batch.clock_s)
    if not 1 <= len(batch.sensor_ids) <= 65535 and n:
        raise _error(where, "length", "sensor_ids", "1 to 65535 sensor ids", len(batch.sensor_ids))
    _validate_labels(batch.label, batch.label_nations, n, where)
    if n == 0:
        return
    ref = np.frombuffer(batch.sensor_ref, "<u2")
    if int(ref.max()) >= len(batch.sensor_ids):
        raise _error(
            where, "range", "sensor_ref", f"indices below {len(batch.sensor_ids)}", int(ref.max())
        )
    seq = np.frombuffer(batch.sensor_seq, "<u8")
    if int(seq.max()) >= 1 << ROW_SEQ_BITS:
        raise _error(
            where, "range", "sensor_seq", f"numbers below 2**{ROW_SEQ_BITS}", int(seq.max())
        )
    for name in (
        "arrival_s",
        "t_s",
        "azimuth_rad",
        "elevation_rad",
        "sensor_lat_rad",
        "sensor_lon_rad",
        "sensor_alt_m",
    ):
        _finite(getattr(batch, name), name, where)
    for name in ("range_m", "range_rate_mps"):
        values = np.frombuffer(getattr(batch, name), "<f8")
        if np.isinf(values).any():
            raise _error(where, "non-finite", name, "a finite number or NaN (not measured)", "inf")
    _within(batch.range_m, 0.0, math.inf, "range_m", where, nan_ok=True)
    _within(batch.azimuth_rad, 0.0, 2 * math.pi, "azimuth_rad", where)
    _within(batch.elevation_rad, -math.pi / 2, math.pi / 2, "elevation_rad", where)
    _within(batch.sensor_lat_rad, -math.pi / 2, math.pi / 2, "sensor_lat_rad", where)
    _within(batch.sensor_lon_rad, -math.pi, math.pi, "sensor_lon_rad", where)
    arrival = np.frombuffer(batch.arrival_s, "<f8")
    if float(arrival.max()) > batch.clock_s:
        raise _error(
            where,
            "range",
            "arrival_s",
            f"times at or before clock_s ({batch.clock_s!r})",
            float(arrival.max()),
        )


def _validate_labels(label: bytes, nations: list[str], n: int, where: str) -> None:
    """A label column: n uint64 over at most MAX_NATIONS distinct nations, every field within
    range and nested (:func:`~airpicture.net.release.invalid_labels`)."""
    _length(label, 8, "label", where, n)
    if len(nations) > MAX_NATIONS or len(set(nations)) != len(nations):
        raise _error(
            where, "label", "label_nations", f"at most {MAX_NATIONS} distinct nations", nations
        )
    if n == 0:
        return
    values = np.frombuffer(label, "<u8")
    bad = invalid_labels(values, len(nations))
    if bad.any():
        raise _error(
            where,
            "label",
            "label",
            f"bits of the {len(nations)} label nations, the full field within the threat field "
            "and the threat field within the coarse field",
            f"{int(values[np.flatnonzero(bad)[0]]):#x}",
        )


def _validate_heartbeat(hb: Heartbeat, where: str) -> None:
    if math.isnan(hb.clock_s) or (math.isinf(hb.clock_s) and not (hb.final and hb.clock_s > 0)):
        raise _error(where, "non-finite", "clock_s", "a finite time, or inf with final", hb.clock_s)


def _validate_status(status: SensorStatus, where: str) -> None:
    n = len(status.sensor_ids)
    _length(status.state, 1, "state", where, n)
    _length(status.detections, 8, "detections", where, n)
    if not math.isfinite(status.t_s):
        raise _error(where, "non-finite", "t_s", "a finite time, s", status.t_s)
    if n and int(np.frombuffer(status.state, "<u1").max()) > 1:
        raise _error(
            where,
            "range",
            "state",
            "0 (down) or 1 (up)",
            int(np.frombuffer(status.state, "<u1").max()),
        )


def _validate_alert(alert: Alert, where: str) -> None:
    n = len(alert.alert_id)
    _length(alert.t_s, 8, "t_s", where, n)
    _length(alert.impact_t_s, 8, "impact_t_s", where, n)
    for name in ("area_id", "track_id", "state", "event", "reason"):
        if len(getattr(alert, name)) != n:
            raise _error(where, "length", name, f"{n} values", len(getattr(alert, name)))
    _finite(alert.t_s, "t_s", where)
    _not_infinite(alert.impact_t_s, "impact_t_s", where)
    for name, allowed in (
        ("state", ALERT_STATES),
        ("event", ALERT_EVENTS),
        ("reason", ("", *CANCEL_REASONS)),
    ):
        bad = set(getattr(alert, name)) - set(allowed)
        if bad:
            raise _error(where, "range", name, "names of " + ", ".join(allowed), sorted(bad))
    cancelled = np.asarray(alert.state) == "cancelled"
    if n and ((np.asarray(alert.reason) == "") == cancelled).any():
        raise _error(where, "range", "reason", "a reason for a cancelled alert only", "a mismatch")


def _validate_impact(impact: Impact, where: str) -> None:
    n = len(impact.track_id)
    for name in _IMPACT_FLOAT_COLUMNS:
        _length(getattr(impact, name), 8, name, where, n)
    for name in _IMPACT_FLOAT_COLUMNS[:8]:
        _finite(getattr(impact, name), name, where)
    for name in _IMPACT_FLOAT_COLUMNS[8:]:
        _not_infinite(getattr(impact, name), name, where)
    for name, nan_ok in (("impact_lat_rad", False), ("launch_lat_rad", True)):
        _within(getattr(impact, name), -math.pi / 2, math.pi / 2, name, where, nan_ok=nan_ok)
    for name, nan_ok in (("impact_lon_rad", False), ("launch_lon_rad", True)):
        _within(getattr(impact, name), -math.pi, math.pi, name, where, nan_ok=nan_ok)
    _within(impact.semi_minor_m, 0.0, math.inf, "semi_minor_m", where)
    _within(impact.orientation_rad, 0.0, math.pi, "orientation_rad", where)
    _within(impact.confidence, 0.0, 1.0, "confidence", where)
    major, minor = (np.frombuffer(b, "<f8") for b in (impact.semi_major_m, impact.semi_minor_m))
    if (major < minor).any():
        first = int(np.flatnonzero(major < minor)[0])
        raise _error(
            where,
            "range",
            "semi_major_m",
            "at least semi_minor_m",
            f"{major[first]!r} at index {first}",
        )


def _validate_picture(delta: PictureDelta, where: str) -> None:
    n = len(delta.change)
    _length(delta.t_s, 8, "t_s", where, n)
    _length(delta.x, 8 * 6, "x", where, n)
    _length(delta.cov_pos, 8 * 6, "cov_pos", where, n)
    if len(delta.track_id) != n:
        raise _error(where, "length", "track_id", f"{n} track ids", len(delta.track_id))
    if delta.quality or delta.local_id or delta.sources:  # a network picture's columns
        if len(delta.local_id) != n:
            raise _error(where, "length", "local_id", f"{n} local ids", len(delta.local_id))
        _length(delta.quality, 1, "quality", where, n)
        if n and int(np.frombuffer(delta.quality, "<u1").max()) > 15:
            raise _error(
                where,
                "range",
                "quality",
                "track qualities 0 to 15",
                int(np.frombuffer(delta.quality, "<u1").max()),
            )
        _length(delta.sources, 2, "sources", where, n)
        if n and int(np.frombuffer(delta.sources, "<u2").max()) >= len(delta.sources_labels):
            raise _error(
                where,
                "range",
                "sources",
                f"codes below {len(delta.sources_labels)}",
                int(np.frombuffer(delta.sources, "<u2").max()),
            )
    if math.isnan(delta.through_s):
        raise _error(where, "non-finite", "through_s", "a time or inf", delta.through_s)
    for name in ("kind", "status", "nations"):
        labels = getattr(delta, name + "_labels")
        _length(getattr(delta, name), 2, name, where, n)
        if n and int(np.frombuffer(getattr(delta, name), "<u2").max()) >= len(labels):
            raise _error(
                where,
                "range",
                name,
                f"codes below {len(labels)}",
                int(np.frombuffer(getattr(delta, name), "<u2").max()),
            )
    if n == 0:
        return
    if int(np.frombuffer(delta.change, "<u1").max()) >= len(CHANGE_NAMES):
        raise _error(
            where,
            "range",
            "change",
            f"codes below {len(CHANGE_NAMES)}",
            int(np.frombuffer(delta.change, "<u1").max()),
        )
    bad = set(delta.status_labels) - set(STATUS_NAMES)
    if bad:
        raise _error(
            where, "range", "status_labels", "names of " + ", ".join(STATUS_NAMES), sorted(bad)
        )
    for name in ("t_s", "x", "cov_pos"):
        _finite(getattr(delta, name), name, where)


def _validate_track_share(share: TrackShare, where: str) -> None:
    _validate_picture(share.picture, where)
    n = len(share.picture)
    _length(share.coarse, 1, "coarse", where, n)
    if n and int(np.frombuffer(share.coarse, "<u1").max()) > 1:
        raise _error(
            where,
            "range",
            "coarse",
            "0 (full) or 1 (position-only)",
            int(np.frombuffer(share.coarse, "<u1").max()),
        )
    _validate_labels(share.label, share.label_nations, n, where)
    _length(share.state, 8 * 7, "state", where, n)
    _length(share.cov, 8 * 49, "cov", where, n)
    _length(share.hits, 4, "hits", where, n)
    _length(share.first_t_s, 8, "first_t_s", where, n)
    for name in ("state", "cov", "first_t_s"):
        _finite(getattr(share, name), name, where)


_VALIDATORS: dict[str, Any] = {
    "det": _validate_detections,
    "hb": _validate_heartbeat,
    "status": _validate_status,
    "alert": _validate_alert,
    "impact": _validate_impact,
    "pic": _validate_picture,
    "trk": _validate_track_share,
}

_IMPACT_FLOAT_COLUMNS = (
    "t_s",
    "impact_t_s",
    "impact_lat_rad",
    "impact_lon_rad",
    "semi_major_m",
    "semi_minor_m",
    "orientation_rad",
    "confidence",
    "launch_t_s",
    "launch_lat_rad",
    "launch_lon_rad",
)
"""Float columns of an :class:`Impact`: the first eight required finite, the launch ones NaN
when not estimated."""

_DET_FLOAT_COLUMNS = (
    "arrival_s",
    "t_s",
    "range_m",
    "azimuth_rad",
    "elevation_rad",
    "range_rate_mps",
    "sensor_lat_rad",
    "sensor_lon_rad",
    "sensor_alt_m",
)


# ---------------------------------------------------------------------------- helpers
def _f8(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


def _col(buffer: bytes) -> np.ndarray:
    """A float64 column decoded from the wire (a writable, native-order copy)."""
    return np.frombuffer(buffer, "<f8").astype(np.float64)


def _dictionary(values: np.ndarray) -> tuple[list[str], bytes]:
    labels, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    return [str(s) for s in labels], codes.astype("<u2").tobytes()


def _strings(values: list[str]) -> np.ndarray:
    return np.asarray(values, dtype=str) if values else np.empty(0, dtype=str)


def _undictionary(labels: list[str], codes: bytes) -> np.ndarray:
    index = np.frombuffer(codes, "<u2").astype(np.int64)
    if len(index) == 0:
        return np.empty(0, dtype=str)
    return np.asarray(labels, dtype=str)[index]


def _length(buffer: bytes, itemsize: int, name: str, where: str, n: int | None = None) -> int:
    size = len(buffer)
    if size % itemsize or (n is not None and size != n * itemsize):
        expected = (
            f"{n} values of {itemsize} bytes"
            if n is not None
            else f"a multiple of {itemsize} bytes"
        )
        raise _error(where, "length", name, expected, f"{size} bytes")
    return size // itemsize


def _finite(buffer: bytes, name: str, where: str) -> None:
    values = np.frombuffer(buffer, "<f8")
    if not np.isfinite(values).all():
        first = int(np.flatnonzero(~np.isfinite(values))[0])
        raise _error(
            where, "non-finite", name, "finite numbers", f"{values[first]!r} at index {first}"
        )


def _not_infinite(buffer: bytes, name: str, where: str) -> None:
    if np.isinf(np.frombuffer(buffer, "<f8")).any():
        raise _error(where, "non-finite", name, "finite numbers or NaN (unknown)", "inf")


def _within(
    buffer: bytes, low: float, high: float, name: str, where: str, *, nan_ok: bool = False
) -> None:
    values = np.frombuffer(buffer, "<f8")
    if nan_ok:
        values = values[~np.isnan(values)]
    bad = (values < low) | (values > high)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise _error(
            where,
            "range",
            name,
            f"values in [{low:g}, {high:g}]",
            f"{values[first]!r} at index {first}",
        )


def _error(where: str, reason: str, column: str, expected: str, got: object) -> MessageError:
    text = got if isinstance(got, str) else _show(got)
    return MessageError(where, reason=reason, column=column, expected=expected, got=text)


def _version_error(source: str, version: object) -> MessageError:
    return MessageError(
        source,
        reason="version",
        column="version",
        expected=f"schema version {SCHEMA_VERSION}",
        got=_show(version),
    )


def _peek_version(data: bytes | bytearray | memoryview) -> int | None:
    """The first element of an array message, if it is an integer (for the version error)."""
    try:
        value = msgspec.msgpack.decode(data)
    except _DECODE_ERRORS:
        return None
    if (
        isinstance(value, list)
        and value
        and isinstance(value[0], int)
        and not isinstance(value[0], bool)
    ):
        return int(value[0])
    return None


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
