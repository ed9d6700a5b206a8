"""The wire schema between nodes: a versioned envelope around compact, columnar payloads.

Every message is a MessagePack array (msgspec ``array_like`` structs, so field names are not
repeated on the wire):

``Envelope = [version, kind, sender, nation, seq, sent_ns, payload, signature]``

==========  ===============================  ================================================
kind        payload                          content
==========  ===============================  ================================================
``det``     :class:`DetectionBatch`          detections released to one nation, as column
                                             arrays
``hb``      :class:`Heartbeat`               the sender's source clock (and its end), to one
                                             nation
``alert``   :class:`AlertMessage`            a node's alert changes (issued, updated,
                                             cancelled)
``impact``  :class:`ImpactMessage`           a node's impact (and launch) predictions
``pic``     :class:`PictureDelta`            a node's tracks created, updated and dropped
``trk``     :class:`TrackShare`              a node's tracks released to one other nation
``coord``   :class:`CoordinationAction`      an operator's action on a track (identity, note,
                                             alert acknowledged, reporting handed over)
==========  ===============================  ================================================

Column arrays travel as little-endian bytes (``float64``, ``uint64``, ``uint16``, ``uint8``),
one buffer per column, never one object per detection. Units: times float seconds since the
Unix epoch; angles radians; positions WGS-84 ECEF metres and metres per second; geodetic sensor
positions radians and metres, as in :mod:`airpicture.tables`.

``sender`` is the sending node's id, ``nation`` its nation, ``seq`` a per-sender number that
only increases (a node starts it at its boot time in nanoseconds, so a restarted node goes on
above its earlier numbers) and ``signature`` the Ed25519 signature of :func:`signing_input`
(empty from an insecure node; see :mod:`airpicture.net._security`).

Decoding validates everything once, at this edge: an oversized, truncated or malformed message,
an unknown version or kind, columns of the wrong length, a non-finite number where one is
required or a value out of its range raises :class:`MessageError` (a
:class:`~airpicture.errors.DataError` with a short ``reason`` code for counting); no other
exception escapes :func:`decode_message`.

This module holds the envelope, encoding and decoding; the payload structs and
:class:`MessageError` are defined in :mod:`airpicture.net._payloads` (and exported here too), the
validators in a private module next to it.

Example
-------
>>> hb = Heartbeat(recipient="USA", clock_s=1.7e9, final=False)
>>> data = encode_message("hb", hb, sender="jpn-1", nation="JPN", seq=7, sent_ns=0)
>>> envelope, payload = decode_message(data)
>>> envelope.sender, payload.clock_s
('jpn-1', 1700000000.0)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Annotated

import msgspec

from airpicture.net._payload_validation import _VALIDATORS, _show
from airpicture.net._payloads import (
    AlertMessage,
    CoordinationAction,
    DetectionBatch,
    Heartbeat,
    ImpactMessage,
    MessageError,
    PictureDelta,
    TrackShare,
    _Name,
    _Nation,
)

__all__ = [
    "MESSAGE_KINDS",
    "MAX_MESSAGE_BYTES",
    "SCHEMA_VERSION",
    "AlertMessage",
    "CoordinationAction",
    "DetectionBatch",
    "Envelope",
    "Heartbeat",
    "ImpactMessage",
    "MessageError",
    "PictureDelta",
    "TrackShare",
    "decode_envelope",
    "decode_message",
    "decode_payload",
    "encode_message",
    "signing_input",
]

SCHEMA_VERSION = 6
"""The schema version this module writes and reads (2: release labels on detections, shared
tracks; 3: labels of three fields, shared tracks with their states, covariances and numbers'
keys, picture deltas with local ids, sources and quality; 4: no sensor status messages; 5:
impact predictions with the launch's uncertainty; 6: operators' coordination actions)."""

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""Largest message accepted, bytes."""


_NonNegative = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class Envelope(msgspec.Struct, array_like=True, frozen=True):
    """What every message carries around its payload (see the module docstring)."""

    version: int
    kind: str
    sender: _Name
    nation: _Nation
    seq: _NonNegative
    sent_ns: _NonNegative
    payload: bytes
    signature: bytes = b""


MESSAGE_KINDS: dict[str, type[msgspec.Struct]] = {
    "det": DetectionBatch,
    "hb": Heartbeat,
    "alert": AlertMessage,
    "impact": ImpactMessage,
    "pic": PictureDelta,
    "trk": TrackShare,
    "coord": CoordinationAction,
}
"""Message kinds and their payload types."""

Payload = (
    DetectionBatch
    | Heartbeat
    | AlertMessage
    | ImpactMessage
    | PictureDelta
    | TrackShare
    | CoordinationAction
)

# What msgspec may raise on hostile bytes: its own errors, invalid UTF-8 (a ValueError), too-deep
# nesting and integers out of range.
_DECODE_ERRORS = (msgspec.DecodeError, ValueError, OverflowError, RecursionError)

_ENCODER = msgspec.msgpack.Encoder()
_ENVELOPE_DECODER = msgspec.msgpack.Decoder(Envelope)
_PAYLOAD_DECODERS: dict[str, msgspec.msgpack.Decoder[Payload]] = {
    kind: msgspec.msgpack.Decoder(cls) for kind, cls in MESSAGE_KINDS.items()
}


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
        A key of :data:`MESSAGE_KINDS`, matching the payload's type.
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
    if MESSAGE_KINDS.get(kind) is not type(payload):
        raise ValueError(
            f"kind {kind!r}: expected one of {sorted(MESSAGE_KINDS)} "
            f"matching {type(payload).__name__}"
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
    payload : DetectionBatch, Heartbeat, AlertMessage, ImpactMessage or PictureDelta

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
    except msgspec.ValidationError as exc:
        version = _peek_version(data)
        if version is not None and version != SCHEMA_VERSION:
            raise _version_error(source, version) from None
        raise _refused(source, Envelope, bytes(data), exc, "envelope") from None
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
    if envelope.kind not in MESSAGE_KINDS:
        raise MessageError(
            source,
            reason="kind",
            column="kind",
            expected="one of " + ", ".join(sorted(MESSAGE_KINDS)),
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
    except msgspec.ValidationError as exc:
        raise _refused(
            where, MESSAGE_KINDS[envelope.kind], envelope.payload, exc, "payload"
        ) from None
    except _DECODE_ERRORS as exc:
        reason = "truncated" if "truncated" in str(exc).lower() else "malformed"
        raise MessageError(
            where,
            reason=reason,
            column="payload",
            expected=f"a {MESSAGE_KINDS[envelope.kind].__name__}",
            got=str(exc),
        ) from None
    _VALIDATORS[envelope.kind](payload, where)
    return payload


def _refused(
    where: str, cls: type[msgspec.Struct], data: bytes, exc: msgspec.ValidationError, whole: str
) -> MessageError:
    """A value the type ``cls`` refuses in ``data`` (a wrong type or shape: ``malformed``;
    outside a constraint of the type, such as a nation code's pattern or a list's length:
    ``range``), with the field it is in (``$[2][1]`` of an array-like struct: its third
    field's second item; ``whole`` when it is the whole) and the value."""
    text = str(exc)
    expected, _, at = text.partition(" - at `$")
    index = [int(k) for k in re.findall(r"\[(\d+)\]", at)]
    names: list[str] = []
    kind: object = cls
    try:
        value: object = msgspec.msgpack.decode(data)
    except _DECODE_ERRORS:  # refused before the rest was read, and the rest is not MessagePack
        value = _UNREADABLE
    for k in index:
        if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
            field = msgspec.structs.fields(kind)[k]
            names.append(field.name if not names else f".{field.name}")
            kind = field.type
        else:
            names.append(f"[{k}]")
            kind = None
        value = value[k] if isinstance(value, list) and k < len(value) else _UNREADABLE
    reason = "malformed" if ", got " in expected else "range"
    return MessageError(
        where,
        reason=reason,
        column="".join(names) or whole,
        expected=expected.removeprefix("Expected "),
        got="bytes that are not one MessagePack value" if value is _UNREADABLE else _show(value),
    )


_UNREADABLE = object()


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
