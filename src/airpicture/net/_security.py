"""Message signatures, their verification, subject permissions and the audit log.

Signatures
----------
Every message a secure node sends is signed with its nation's Ed25519 key
(:mod:`airpicture.net._keys`) over :func:`~airpicture.net.signing_input`: a domain tag,
the subject it is published on and the envelope header (version, kind, sender, nation, sequence,
send time), then the payload bytes. A receiver (:class:`Verifier`) checks, in this order and
*before the payload is decoded*: size, envelope syntax, that the nation is in the trust file and
the sender id is one of its nodes, the signature, and that the send time lies in the freshness
window. The node then checks the per-sender sequence (replays and reordering) and the payload.
Rejection reasons: ``size``, ``truncated``, ``malformed``, ``version``, ``kind``, ``unsigned``,
``unknown-sender``, ``signature``, ``stale``, ``future``.

Permissions
-----------
:func:`permissions` gives, for one nation, the subjects it may publish and subscribe to. They are
the same rules on NATS (:func:`nats_server_config`, enforced by the server) and on the in-process
bus (:class:`PolicyBus`): a nation publishes only ``air.*.<NATION>.*`` and its node's outputs
``air.pic.<NATION>``, ``air.alert.<NATION>`` and ``air.impact.<NATION>``, and receives only
``air.*.*.<NATION>`` and those outputs of its own; reading back its own outgoing channels is
allowed (a restarting node resumes from them).

On NATS (:func:`nats_permissions`) a nation also gets the JetStream API subjects its node uses,
narrowed to its own consumer names (:func:`consumer_names`: ``<NATION>_0`` ...; as many as
:data:`CONSUMERS_PER_NATION`) and to filters it may read; it gets no stream information (which
lists every subject and its count).

Audit
-----
:class:`AuditLog` appends one JSON line per rejected message (time, node, subject, sender,
whether the sender's signature was verified, reason, detail), and per operator's event (a login,
what they looked at, a coordination action and where it was applied: :meth:`AuditLog.note`) to
a file opened in append mode with 0600 permissions. Each line carries the SHA-256 of the line
before it (``prev``), so an edited, removed, inserted or moved line breaks the chain;
:func:`verify_audit_log` finds the first broken line.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airpicture.errors import ConfigError
from airpicture.net._bus import Bus, BusError, Handler, Message, Subscription, check_pattern
from airpicture.net._bus import subject_matches as _matches
from airpicture.net._keys import (
    ADMIN,
    Trust,
    certificate_subject,
    check_node_keys,
    load_signing_key,
    nation_paths,
)
from airpicture.net._messages import (
    Envelope,
    MessageError,
    decode_envelope,
    signing_input,
)
from airpicture.net._release import ALL_NATIONS, ReleasePolicy

__all__ = [
    "AUDIT_GENESIS",
    "CONSUMERS_PER_NATION",
    "NODE_OUTPUTS",
    "AuditCheck",
    "AuditLog",
    "NodeSecurity",
    "PolicyBus",
    "SecuritySettings",
    "Signer",
    "Verifier",
    "client_tls_context",
    "consumer_names",
    "nats_route_config",
    "nats_server_config",
    "pattern_within",
    "permissions",
    "verify_audit_log",
]

log = logging.getLogger(__name__)

DEFAULT_STREAM = "AIR"
DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
"""Largest message a secure node accepts (NATS's default ``max_payload``)."""


# ---------------------------------------------------------------------------- signing
class Signer:
    """Signs this node's messages.

    Parameters
    ----------
    nation, node_id : str
        The identity the messages carry.
    private_key : Ed25519PrivateKey
        The nation's signing key.
    """

    def __init__(self, nation: str, node_id: str, private_key: Any) -> None:
        self.nation = nation
        self.node_id = node_id
        self._key = private_key

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return bytes(self._key.sign(data))

    def __repr__(self) -> str:  # never show the key
        return f"Signer({self.nation!r}, {self.node_id!r})"


class Verifier:
    """Checks envelopes against the trust file before their payload is touched.

    Parameters
    ----------
    trust : Trust
        The nations' public signing keys.
    max_age_s : float
        Oldest accepted send time, s before now (a node catching up on history needs the
        history's age; live-only deployments can shrink it).
    max_skew_s : float
        Latest accepted send time, s after now (clock differences between hosts).
    max_message_bytes : int
        Largest accepted message.
    """

    def __init__(
        self,
        trust: Trust,
        *,
        max_age_s: float = 3600.0,
        max_skew_s: float = 30.0,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        from cryptography.hazmat.primitives.asymmetric import ed25519

        self.trust = trust
        self.max_age_ns = int(max_age_s * 1e9)
        self.max_skew_ns = int(max_skew_s * 1e9)
        self.max_message_bytes = int(max_message_bytes)
        self._keys = {
            nation: ed25519.Ed25519PublicKey.from_public_bytes(raw)
            for nation, raw in trust.signing_keys.items()
        }

    def verify(self, data: bytes, subject: str, *, now_ns: int | None = None) -> Envelope:
        """The checked envelope of a signed message (its payload still undecoded).

        Raises
        ------
        MessageError
            With the reason of the first check that fails (see the module docstring).
        """
        from cryptography.exceptions import InvalidSignature

        where = subject
        if len(data) > self.max_message_bytes:
            raise MessageError(
                where,
                reason="size",
                column=None,
                expected=f"at most {self.max_message_bytes} bytes",
                got=f"{len(data)} bytes",
            )
        envelope = decode_envelope(data, source=where)
        key = self._keys.get(envelope.nation)
        allowed = self.trust.node_ids.get(envelope.nation, frozenset())
        if key is None or (allowed and envelope.sender not in allowed):
            raise MessageError(
                where,
                reason="unknown-sender",
                column="sender",
                expected="a node of the trust file",
                got=f"{envelope.sender!r} of {envelope.nation!r}",
            )
        if len(envelope.signature) != 64:
            raise MessageError(
                where,
                reason="unsigned",
                column="signature",
                expected="a 64-byte Ed25519 signature",
                got=f"{len(envelope.signature)} bytes",
            )
        try:
            key.verify(envelope.signature, signing_input(subject, envelope))
        except InvalidSignature:
            raise MessageError(
                where,
                reason="signature",
                column="signature",
                expected=f"a valid signature of {envelope.nation}",
                got="a signature that does not verify",
            ) from None
        now = time.time_ns() if now_ns is None else now_ns
        if envelope.sent_ns < now - self.max_age_ns:
            raise MessageError(
                where,
                reason="stale",
                column="sent_ns",
                expected=f"sent within {self.max_age_ns / 1e9:g} s",
                got=f"{(now - envelope.sent_ns) / 1e9:.3f} s old",
            )
        if envelope.sent_ns > now + self.max_skew_ns:
            raise MessageError(
                where,
                reason="future",
                column="sent_ns",
                expected=f"at most {self.max_skew_ns / 1e9:g} s ahead",
                got=f"{(envelope.sent_ns - now) / 1e9:.3f} s ahead",
            )
        return envelope


# ---------------------------------------------------------------------------- audit
AUDIT_GENESIS = "0" * 64
"""The ``prev`` of the first line of an audit log."""

_BEFORE_SIGNATURE = frozenset(
    {"size", "truncated", "malformed", "version", "kind", "unknown-sender", "unsigned", "signature"}
)
"""Reasons :class:`Verifier` gives before the signature has verified: the sender is only claimed."""


def _line_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


class AuditLog:
    """Append-only, hash-chained JSON-lines record of rejected messages (and of operators'
    events, :meth:`note`).

    Each line: ``{"time": ISO-8601 UTC, "time_ns", "node", "subject", "bus_seq", "sender",
    "nation", "sender_verified", "reason", "detail", "prev"}``. ``sender_verified`` tells whether
    the message's signature verified (the reason came after :class:`Verifier`'s signature
    check), so ``sender`` and ``nation`` are who signed it; otherwise they are only what the
    message claimed. ``prev`` is the SHA-256 (hex) of the previous line's text, or
    :data:`AUDIT_GENESIS` on the first line; a log appended to again continues its chain from its
    last line. The file is opened for appending only (``O_APPEND``) and created with mode 0600;
    a line is flushed as it is written. A failing write is logged and counted in ``errors``,
    never raised: auditing must not stop the node. One writer per file (two nodes sharing a
    file would break each other's chain).

    Parameters
    ----------
    path : path
        The log file (its folder is created).
    node : str
        The node id written on every line.
    """

    def __init__(self, path: str | Path, *, node: str) -> None:
        self.path = Path(path)
        self.node = node
        self.errors = 0
        self.lines = 0
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        last = _last_line(fd)
        self._prev = AUDIT_GENESIS if last is None else _line_hash(last)
        self._handle = os.fdopen(fd, "a", encoding="utf-8", buffering=1)

    @property
    def head(self) -> str:
        """The hash the next line will carry as ``prev`` (the chain's head)."""
        return self._prev

    def record(
        self,
        *,
        subject: str,
        reason: str,
        sender: str = "?",
        nation: str = "?",
        bus_seq: int | None = None,
        detail: str = "",
    ) -> None:
        """Append one rejection, chained to the line before it."""
        now = time.time_ns()
        entry = {
            "time": datetime.datetime.fromtimestamp(now / 1e9, datetime.UTC).isoformat(),
            "time_ns": now,
            "node": self.node,
            "subject": subject,
            "bus_seq": bus_seq,
            "sender": sender,
            "nation": nation,
            "sender_verified": reason not in _BEFORE_SIGNATURE,
            "reason": reason,
            "detail": detail[:500],
        }
        self._append(entry)

    def note(self, event: str, *, nation: str, detail: str, **what: Any) -> None:
        """Append one event (not a rejection), chained like the rejections: an operator's login
        or what they looked at or did (``event``: ``login``, ``view``, ``action`` ...), or a
        coordination action a node applied. The line holds ``time``, ``time_ns``, ``node``,
        ``event``, ``nation``, ``detail`` and the JSON-ready fields ``what`` (``operator``,
        ``track_id`` ...)."""
        now = time.time_ns()
        entry = {
            "time": datetime.datetime.fromtimestamp(now / 1e9, datetime.UTC).isoformat(),
            "time_ns": now,
            "node": self.node,
            "event": event,
            "nation": nation,
            **what,
            "detail": detail[:500],
        }
        self._append(entry)

    def _append(self, entry: dict[str, Any]) -> None:
        try:
            with self._lock:
                line = json.dumps({**entry, "prev": self._prev})
                self._handle.write(line + "\n")
                self._prev = _line_hash(line)
            self.lines += 1
        except (OSError, ValueError, TypeError) as exc:
            self.errors += 1
            log.error("audit log %s: %s", self.path, exc)

    def close(self) -> None:
        """Close the file."""
        try:
            self._handle.close()
        except OSError as exc:
            log.debug("closing audit log: %s", exc)


def _last_line(fd: int, block: int = 4096) -> str | None:
    """The last line of an open file (without its newline), or None when the file is empty."""
    end = os.lseek(fd, 0, os.SEEK_END)
    if end == 0:
        return None
    tail = b""
    position = end
    while position > 0:
        step = min(block, position)
        position -= step
        tail = os.pread(fd, step, position) + tail
        if tail.rstrip(b"\n").rfind(b"\n") >= 0:
            break
    text = tail.decode("utf-8", errors="replace")
    return text[:-1].rsplit("\n", 1)[-1] if text.endswith("\n") else text.rsplit("\n", 1)[-1]


@dataclass(frozen=True)
class AuditCheck:
    """What :func:`verify_audit_log` found.

    Attributes
    ----------
    path : Path
    entries : int
        Lines whose chain verified, from the first on (all of them when intact).
    head : str
        SHA-256 of the last verified line: the ``prev`` the next line must carry.
    broken_line : int or None
        1-based number of the first line that breaks the chain (``entries + 1``); None when the
        log is intact.
    problem : str
        Why that line breaks it ("" when intact).
    """

    path: Path
    entries: int
    head: str
    broken_line: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        """True when every line verified."""
        return self.broken_line is None


def verify_audit_log(path: str | Path, *, expected_head: str | None = None) -> AuditCheck:
    """Check an audit log's hash chain and report its first broken line.

    An edited line breaks the link of the line after it (or its own, if the edit reached its
    ``prev``); a removed, inserted or moved line breaks the link where it was. Lines removed
    from the end, or every line rewritten from some point on with new hashes, leave a chain
    that holds: only a head recorded elsewhere (``expected_head``, e.g. :attr:`AuditLog.head`
    noted by the operator) shows them.

    Parameters
    ----------
    path : path
        The log (:class:`AuditLog`).
    expected_head : str, optional
        The head the log must end with.

    Returns
    -------
    AuditCheck

    Raises
    ------
    ConfigError
        When the file cannot be read.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), key="(file)", expected="an audit log", got=str(exc)) from None
    prev = AUDIT_GENESIS
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            entry, problem = None, f"not a JSON line ({exc.msg})"
        if isinstance(entry, dict):
            if entry.get("prev") == prev:
                prev = _line_hash(line)
                continue
            problem = (
                f"its prev is not the hash of line {number - 1} (that line was altered, or lines "
                "were removed, inserted or moved here)"
                if number > 1
                else "its prev is not the chain's start (lines were removed or inserted before it)"
            )
        elif entry is not None:
            problem = "not a JSON object"
        return AuditCheck(path, number - 1, prev, number, problem)
    if expected_head is not None and prev != expected_head:
        return AuditCheck(
            path,
            len(lines),
            prev,
            len(lines) + 1,
            "the log ends before the expected head (lines removed from its end, or rewritten)",
        )
    return AuditCheck(path, len(lines), prev)


# ---------------------------------------------------------------------------- permissions
def pattern_within(pattern: str, allowed: str) -> bool:
    """True when every subject matching ``pattern`` also matches ``allowed``.

    Examples
    --------
    >>> pattern_within("air.*.*.JPN", "air.*.*.JPN"), pattern_within("air.>", "air.*.*.JPN")
    (True, False)
    """
    p, a = pattern.split("."), allowed.split(".")
    for i, token in enumerate(a):
        if token == ">":
            return len(p) > i
        if i >= len(p) or p[i] == ">":
            return False
        if token != "*" and (p[i] == "*" or p[i] != token):
            return False
    return len(p) == len(a)


NODE_OUTPUTS = ("pic", "alert", "impact", "coord")
"""Kinds a node publishes for its own nation only, on ``air.<kind>.<NATION>``: its picture,
alerts, impact predictions and the coordination actions applied to its view."""


def permissions(
    nation: str, policy: ReleasePolicy | None = None
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The bus subjects of one nation.

    Parameters
    ----------
    nation : str
    policy : ReleasePolicy, optional
        The nation's release policy. With it, the nation may publish detections and tracks only
        on the channels of nations the policy could release something to
        (:meth:`ReleasePolicy.reach`), so the bus refuses what the sender should never have
        sent; without it, on every channel of its own.

    Returns
    -------
    publish : tuple of str
        Subjects it may publish on: its own channels, and its node's picture, alerts and
        impact predictions (:data:`NODE_OUTPUTS`).
    receive : tuple of str
        Subjects whose messages it may receive: what is addressed to it and its node's outputs.
    read_own : tuple of str
        Its own channels, which it may read back (resuming after a restart).
    """
    outputs = tuple(f"air.{kind}.{nation}" for kind in NODE_OUTPUTS)
    if policy is None:
        channels: tuple[str, ...] = (f"air.*.{nation}.*",)
    else:
        channels = (f"air.hb.{nation}.*",)
        reach = policy.reach()
        reach["det"] |= {nation}  # a node's own detections reach it through the bus too
        for kind, nations in sorted(reach.items()):
            if ALL_NATIONS in nations:
                channels += (f"air.{kind}.{nation}.*",)
            else:
                channels += tuple(f"air.{kind}.{nation}.{n}" for n in sorted(nations))
    publish = (*channels, *outputs)
    receive = (f"air.*.*.{nation}", *outputs)
    return publish, receive, (f"air.*.{nation}.*",)


CONSUMERS_PER_NATION = 8
"""JetStream consumers a nation may hold at a time (its names, :func:`consumer_names`). A node
uses at most three at once: its live subscription, a replay and a look at the stream's head."""


def consumer_names(nation: str, count: int = CONSUMERS_PER_NATION) -> tuple[str, ...]:
    """The JetStream consumer names a nation may use: ``<NATION>_0`` to ``<NATION>_<count-1>``.

    NATS permissions match whole subject tokens only, so a nation's consumers are a fixed list
    of names rather than a prefix; the list's length is the nation's consumer limit.
    """
    return tuple(f"{nation}_{i}" for i in range(count))


def nats_permissions(
    nation: str,
    *,
    stream: str = DEFAULT_STREAM,
    policy: ReleasePolicy | None = None,
    consumers: int = CONSUMERS_PER_NATION,
) -> dict[str, list[str]]:
    """NATS ``publish`` and ``subscribe`` allow lists of a nation (see :func:`permissions`).

    Besides its subjects, a nation gets the JetStream API calls its node makes, each narrowed
    to the stream and to the nation's own consumer names (:func:`consumer_names`): creating a
    consumer only with a filter subject it may read (the server puts the filter into the API
    subject), fetching from, looking up and deleting only its own consumers, answering their
    flow control, and direct gets of its own channels (resuming). No stream information, no
    consumer listing, no unfiltered message get. It receives only its subjects and its own
    inbox ``_INBOX_<NATION>.>`` (replies and consumer deliveries).

    Parameters
    ----------
    nation : str
    stream : str
        The stream.
    policy : ReleasePolicy, optional
        The nation's release policy (narrows where it may publish, :func:`permissions`).
    consumers : int
        How many consumers the nation may hold at a time.
    """
    publish, receive, read_own = permissions(nation, policy)
    js = "$JS.API"
    names = consumer_names(nation, consumers)
    pub = [
        *publish,
        *[f"{js}.CONSUMER.CREATE.{stream}.{n}.{s}" for n in names for s in (*receive, *read_own)],
        *[
            f"{js}.CONSUMER.{op}.{stream}.{n}"
            for op in ("MSG.NEXT", "INFO", "DELETE")
            for n in names
        ],
        *[f"$JS.FC.{stream}.{n}.*" for n in names],
        *[f"{js}.DIRECT.GET.{stream}.{s}" for s in read_own],
    ]
    sub = [*receive, f"{inbox_prefix(nation)}.>"]
    return {"publish": pub, "subscribe": sub}


def inbox_prefix(nation: str) -> str:
    """The NATS inbox prefix of a nation's connections."""
    return f"_INBOX_{nation}"


def nats_server_config(
    keys_dir: str | Path,
    *,
    port: int,
    store_dir: str | Path,
    host: str = "127.0.0.1",
    stream: str = DEFAULT_STREAM,
    nations: tuple[str, ...] | None = None,
    policies: Mapping[str, ReleasePolicy] | None = None,
    consumers: int = CONSUMERS_PER_NATION,
) -> str:
    """A ``nats-server`` configuration: mutual TLS where the client certificate *is* the user
    (``verify_and_map``: its subject, from ``trust.json``, names the user), one user per nation
    with :func:`nats_permissions`, and the operator (full rights, for provisioning).

    A connection can only be the identity of its certificate: no password, token or nkey is
    accepted instead of or besides it (nats-server would let an nkey override the certificate,
    so the configuration has none).

    Parameters
    ----------
    keys_dir : path
        A keys folder (:func:`airpicture.net.init_keys` layout).
    port, store_dir, host : int, path, str
        Listen address and JetStream store.
    stream : str
        The JetStream stream the nations use.
    nations : tuple of str, optional
        The nations given a user (every nation of the trust file by default).
    policies : mapping of str to ReleasePolicy, optional
        Release policies by nation; a nation's publish permissions then follow its policy
        (:func:`permissions`).
    consumers : int
        Consumers each nation may hold at a time.
    """
    root = Path(keys_dir).resolve()
    trust = Trust.load(root / "trust.json")
    users = []
    for nation in nations if nations is not None else trust.nations:
        perms = nats_permissions(
            nation, stream=stream, policy=(policies or {}).get(nation), consumers=consumers
        )
        users.append(
            "    {\n"
            f"      user: {json.dumps(trust.tls_subjects[nation])}\n"
            "      permissions: {\n"
            f"        publish: {{ allow: {json.dumps(perms['publish'])} }}\n"
            f"        subscribe: {{ allow: {json.dumps(perms['subscribe'])} }}\n"
            "      }\n"
            "    }"
        )
    if trust.admin_subject:
        users.append(f"    {{ user: {json.dumps(trust.admin_subject)} }}")
    return (
        f"listen: {json.dumps(f'{host}:{port}')}\n"
        f"jetstream {{\n  store_dir: {json.dumps(str(Path(store_dir)))}\n}}\n"
        + _server_tls_block(root, "")
        + "authorization {\n  users: [\n" + ",\n".join(users) + "\n  ]\n}\n"
    )


def _server_tls_block(root: Path, indent: str) -> str:
    """The ``tls`` block of the server's certificate: peers must present a certificate of the
    folder's CA, whose subject names their user (``verify_and_map``)."""
    server = nation_paths(root, "server")
    lines = [
        "tls {",
        f"  cert_file: {json.dumps(str(server.tls_cert))}",
        f"  key_file: {json.dumps(str(server.tls_key))}",
        f"  ca_file: {json.dumps(str(server.ca_cert))}",
        "  verify_and_map: true",
        "  timeout: 2",
        "}",
    ]
    return "".join(f"{indent}{line}\n" for line in lines)


def nats_route_config(keys_dir: str | Path) -> str:
    """What a ``cluster`` block of a secure ``nats-server`` adds: routes over TLS with the
    server's certificate, accepted only from a peer presenting that same certificate (its subject
    is the routes' only user), so a nation's client certificate cannot open a route past its
    permissions.

    Parameters
    ----------
    keys_dir : path
        A keys folder (:func:`airpicture.net.init_keys` layout).
    """
    root = Path(keys_dir).resolve()
    subject = certificate_subject(nation_paths(root, "server").tls_cert)
    return (
        _server_tls_block(root, "  ")
        + f"  authorization {{\n    user: {json.dumps(subject)}\n  }}\n"
    )


def client_tls_context(ca_cert: str | Path, cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """A TLS client context that trusts only ``ca_cert`` and presents ``cert``/``key``."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_cert))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


def nats_options(
    keys_dir: str | Path, who: str, *, consumers: int = CONSUMERS_PER_NATION
) -> dict[str, Any]:
    """Keyword arguments of :meth:`airpicture.net.NatsBus.connect` for a nation (or the
    operator, :data:`~airpicture.net.ADMIN`): the TLS context presenting its certificate; for a
    nation also its inbox prefix, its consumer names and the filter it reads the stream's head
    through (a nation may not read the stream's information), and no stream creation."""
    paths = nation_paths(keys_dir, who)
    options: dict[str, Any] = {
        "tls": client_tls_context(paths.ca_cert, paths.tls_cert, paths.tls_key)
    }
    if who != ADMIN:
        options["inbox_prefix"] = inbox_prefix(who)
        options["create_stream"] = False
        options["consumer_names"] = consumer_names(who, consumers)
        options["head_filter"] = permissions(who)[1][0]
    return options


# ---------------------------------------------------------------------------- policy bus
class PolicyBus:
    """A bus seen through one nation's permissions (the in-process twin of NATS permissions).

    Publishing outside :func:`permissions`' publish subjects, or subscribing to a pattern not
    contained in what the nation may receive, raises :class:`~airpicture.net.BusError`;
    delivered messages are filtered once more by subject. ``denied`` counts refusals.

    Parameters
    ----------
    bus : Bus
        The bus underneath (shared by other nations in the same process).
    nation : str
        Whose permissions apply.
    close_inner : bool
        Whether :meth:`close` closes ``bus`` too.
    policy : ReleasePolicy, optional
        The nation's release policy, narrowing where it may publish (:func:`permissions`).
    """

    def __init__(
        self,
        bus: Bus,
        nation: str,
        *,
        close_inner: bool = False,
        policy: ReleasePolicy | None = None,
    ) -> None:
        self.inner = bus
        self.nation = nation
        self.denied = 0
        self._publish, receive, read_own = permissions(nation, policy)
        self._receive = receive
        self._read = (*receive, *read_own)
        self._close_inner = close_inner

    def _deny(self, what: str) -> BusError:
        self.denied += 1
        log.warning("permission denied to %s: %s", self.nation, what)
        return BusError(f"permission denied to {self.nation}: {what}")

    def _readable(self, pattern: str, allowed: tuple[str, ...]) -> bool:
        return any(pattern_within(pattern, a) for a in allowed)

    def _filtered(self, handler: Handler, allowed: tuple[str, ...]) -> Handler:
        async def deliver(message: Message) -> None:
            if any(_matches(a, message.subject) for a in allowed):
                await handler(message)
            else:
                self.denied += 1

        return deliver

    async def publish(self, subject: str, data: bytes) -> int:
        """Publish if the nation may publish on ``subject``."""
        if not any(_matches(a, subject) for a in self._publish):
            raise self._deny(f"publish on {subject}")
        return await self.inner.publish(subject, data)

    async def subscribe(
        self, pattern: str, handler: Handler, *, from_seq: int | None = None
    ) -> Subscription:
        """Subscribe if every subject of ``pattern`` may reach the nation."""
        check_pattern(pattern)
        if not self._readable(pattern, self._receive):
            raise self._deny(f"subscribe to {pattern}")
        return await self.inner.subscribe(
            pattern, self._filtered(handler, self._receive), from_seq=from_seq
        )

    async def replay(self, pattern: str, handler: Handler, *, from_seq: int = 1) -> int:
        """Replay if the nation may read every subject of ``pattern``."""
        check_pattern(pattern)
        if not self._readable(pattern, self._read):
            raise self._deny(f"replay of {pattern}")
        return await self.inner.replay(
            pattern, self._filtered(handler, self._read), from_seq=from_seq
        )

    async def last_seq(self) -> int:
        """The bus's last sequence number."""
        return await self.inner.last_seq()

    async def last_message(self, subject: str) -> Message | None:
        """The last message on ``subject`` if the nation may read it."""
        if not self._readable(subject, self._read):
            raise self._deny(f"read of {subject}")
        return await self.inner.last_message(subject)

    async def close(self) -> None:
        """Close the bus underneath when this wrapper owns it."""
        if self._close_inner:
            await self.inner.close()


# ---------------------------------------------------------------------------- node settings
@dataclass(frozen=True, kw_only=True)
class SecuritySettings:
    """The ``[security]`` table of a node file.

    Attributes
    ----------
    keys_dir : Path
        The node's keys folder: ``trust.json``, ``ca.crt`` and ``<NATION>/``, and no other
        private file (:func:`~airpicture.net.export_node_keys`).
    audit_log : Path or None
        Append-only JSON-lines log of rejected messages (none when None).
    max_age_s, max_skew_s : float
        Freshness window of a message's send time, s (see :class:`Verifier`).
    max_message_bytes : int
        Largest accepted message.
    """

    keys_dir: Path
    audit_log: Path | None = None
    max_age_s: float = 3600.0
    max_skew_s: float = 30.0
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, source: str, base_dir: Path
    ) -> SecuritySettings:
        """Read and check a ``[security]`` table; relative paths are relative to ``base_dir``.

        Raises
        ------
        ConfigError
            On an unknown key or a value of the wrong type or range.
        """
        known = {"keys_dir", "audit_log", "max_age_s", "max_skew_s", "max_message_bytes"}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(
                source, key="security." + sorted(unknown)[0], expected="a known key", got="unknown"
            )
        if not isinstance(values.get("keys_dir"), str) or not values["keys_dir"]:
            raise ConfigError(
                source,
                key="security.keys_dir",
                expected="a keys folder",
                got=repr(values.get("keys_dir")),
            )

        def path(text: str) -> Path:
            p = Path(text).expanduser()
            return p if p.is_absolute() else base_dir / p

        numbers = {}
        for key, low, high in (
            ("max_age_s", 1.0, 1e9),
            ("max_skew_s", 0.0, 86400.0),
            ("max_message_bytes", 1024, 64 * 1024 * 1024),
        ):
            if key in values:
                value = values[key]
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not (low <= value <= high)
                ):
                    raise ConfigError(
                        source,
                        key=f"security.{key}",
                        expected=f"a number in [{low:g}, {high:g}]",
                        got=repr(value),
                    )
                numbers[key] = value
        audit = values.get("audit_log")
        if audit is not None and not isinstance(audit, str):
            raise ConfigError(source, key="security.audit_log", expected="a path", got=repr(audit))
        return cls(
            keys_dir=path(values["keys_dir"]),
            audit_log=path(audit) if audit else None,
            max_age_s=float(numbers.get("max_age_s", 3600.0)),
            max_skew_s=float(numbers.get("max_skew_s", 30.0)),
            max_message_bytes=int(numbers.get("max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES)),
        )


class NodeSecurity:
    """What a secure node holds: its signer, the verifier, its audit log, its bus options.

    Parameters
    ----------
    signer : Signer
    verifier : Verifier
    audit : AuditLog, optional
    keys_dir : Path, optional
        Where the NATS credentials are (needed on a NATS bus).
    """

    def __init__(
        self,
        signer: Signer,
        verifier: Verifier,
        *,
        audit: AuditLog | None = None,
        keys_dir: Path | None = None,
    ) -> None:
        self.signer = signer
        self.verifier = verifier
        self.audit = audit
        self.keys_dir = keys_dir

    @classmethod
    def load(cls, settings: SecuritySettings, *, nation: str, node_id: str) -> NodeSecurity:
        """Load a nation's keys as ``settings`` say.

        Raises
        ------
        ConfigError
            On missing or unprotected key files, a keys folder holding private files that are
            not the nation's own (:func:`~airpicture.net.check_node_keys`), or a nation missing
            from the trust file.
        """
        check_node_keys(settings.keys_dir, nation)
        paths = nation_paths(settings.keys_dir, nation)
        trust = Trust.load(paths.trust)
        if nation not in trust.signing_keys:
            raise ConfigError(
                str(paths.trust),
                key=f"nations.{nation}",
                expected="this node's nation",
                got="nothing",
            )
        ids = trust.node_ids.get(nation, frozenset())
        if ids and node_id not in ids:
            raise ConfigError(
                str(paths.trust),
                key=f"nations.{nation}.node_ids",
                expected=f"this node's id {node_id!r}",
                got=", ".join(sorted(ids)),
            )
        signer = Signer(nation, node_id, load_signing_key(paths.signing_key))
        verifier = Verifier(
            trust,
            max_age_s=settings.max_age_s,
            max_skew_s=settings.max_skew_s,
            max_message_bytes=settings.max_message_bytes,
        )
        audit = AuditLog(settings.audit_log, node=node_id) if settings.audit_log else None
        return cls(signer, verifier, audit=audit, keys_dir=settings.keys_dir)

    def nats_options(self) -> dict[str, Any]:
        """Connection options of this nation on a secure NATS server."""
        if self.keys_dir is None:
            return {}
        return nats_options(self.keys_dir, self.signer.nation)
