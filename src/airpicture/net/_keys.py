"""Key material of a network: a local certificate authority, and per nation a signing key and a
TLS certificate that is the nation's identity on the NATS server.

``airpicture keys init --nations JPN,USA,AUS DIR`` writes (private files with mode 0600)::

    DIR/
      trust.json          public: every nation's Ed25519 signing key and certificate subject
      ca.crt              public: the certificate authority (trust anchor of TLS)
      ca.key              PRIVATE: the CA key (only needed to issue more certificates)
      server/tls.crt      public: the NATS server's certificate (SAN 127.0.0.1, localhost)
      server/tls.key      PRIVATE
      admin/tls.crt       public: the operator's certificate (creates the stream; never a node's)
      admin/tls.key       PRIVATE
      <NATION>/signing.key  PRIVATE: Ed25519 key that signs every message of the nation's node
      <NATION>/tls.crt      public: TLS client certificate (subject CN=<NATION> node)
      <NATION>/tls.key      PRIVATE

The server maps a client certificate's subject to its user (``verify_and_map``): the certificate
is the identity, its private key the only credential. ``trust.json`` names each subject::

    {"version": 2,
     "nations": {"JPN": {"signing_key": "<base64 of the raw 32-byte Ed25519 public key>",
                         "tls_subject": "CN=JPN node,O=airpicture", "node_ids": ["jpn-node"]}},
     "admin": {"tls_subject": "CN=airpicture operator,O=airpicture"}}

``tls_subject`` is the certificate's subject as RFC 4514 writes it; subjects are unique.
``node_ids`` is optional (when present, only these node ids may sign for the nation).

:func:`rotate_keys` (``airpicture keys rotate``) gives a nation a new signing key and a new
certificate under a new subject; :func:`revoke_keys` (``airpicture keys revoke``) takes it out of
``trust.json`` and deletes its private files.

A node gets a folder of its own (:func:`export_node_keys`, ``airpicture keys export``):
``trust.json``, ``ca.crt`` and its ``<NATION>/``, nothing else; a node refuses a keys folder that
holds any other private file (:func:`check_node_keys`). A real deployment brings its own files in
the same layout: its own CA (or an intermediate) issues ``server/``, ``admin/`` and ``<NATION>/``
certificates, each nation generates its own signing key and only the public halves travel, in
``trust.json``.

Nothing here logs key bytes; file names only.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import logging
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airpicture.codes import is_nation_code
from airpicture.errors import ConfigError

__all__ = [
    "ADMIN",
    "TRUST_FILE",
    "NationKeys",
    "Trust",
    "certificate_subject",
    "check_node_keys",
    "export_node_keys",
    "init_keys",
    "load_signing_key",
    "nation_paths",
    "revoke_keys",
    "rotate_keys",
    "write_private",
]

log = logging.getLogger(__name__)

TRUST_FILE = "trust.json"
"""Name of the trust file in a keys folder."""

TRUST_VERSION = 2
"""Version of the trust file's format (2: certificate subjects; 1 had NATS nkeys)."""

ADMIN = "admin"
"""Folder (and NATS user) of the operator that provisions the stream."""

_VALIDITY_DAYS = 825


@dataclass(frozen=True)
class NationKeys:
    """Paths of one identity's files in a keys folder (see the module docstring)."""

    folder: Path
    signing_key: Path
    tls_cert: Path
    tls_key: Path
    ca_cert: Path
    trust: Path


def nation_paths(directory: str | Path, nation: str) -> NationKeys:
    """The files of ``nation`` (or :data:`ADMIN`, or ``"server"``) in a keys folder."""
    root = Path(directory)
    folder = root / nation
    return NationKeys(
        folder=folder,
        signing_key=folder / "signing.key",
        tls_cert=folder / "tls.crt",
        tls_key=folder / "tls.key",
        ca_cert=root / "ca.crt",
        trust=root / TRUST_FILE,
    )


def write_private(path: Path, data: bytes) -> None:
    """Write a private file created with mode 0600 (never readable by others, even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def _write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, 0o644)


def _name(common_name: str) -> object:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "airpicture"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject_cn: str,
    public_key: object,
    issuer_cn: str,
    issuer_key: object,
    *,
    ca: bool,
) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject_cn))  # type: ignore[arg-type]
        .issuer_name(_name(issuer_cn))  # type: ignore[arg-type]
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    cert = builder.sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.PEM)


def _ec_key() -> tuple[object, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key, pem


def init_keys(
    directory: str | Path, nations: Iterable[str], *, node_ids: Mapping[str, str] | None = None
) -> Path:
    """Create a keys folder for a local network (layout in the module docstring).

    Parameters
    ----------
    directory : path
        The folder to create; must not hold a ``trust.json`` already (keys are never overwritten).
    nations : iterable of str
        The nations (alpha-3 codes) that get a node identity.
    node_ids : mapping of str to str, optional
        Node id per nation written to the trust file (``<nation lowercase>-node`` by default).

    Returns
    -------
    Path
        The trust file.

    Raises
    ------
    ConfigError
        On a bad nation code or an existing keys folder.
    """
    root = Path(directory)
    nations = tuple(dict.fromkeys(n.strip().upper() for n in nations if n.strip()))
    for nation in nations:
        if not is_nation_code(nation):
            raise ConfigError(
                "keys init", key="--nations", expected="alpha-3 codes such as JPN", got=nation
            )
    if not nations:
        raise ConfigError("keys init", key="--nations", expected="at least one nation", got="none")
    _refuse_existing(root, "keys init", "DIR")
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)

    ca_key, ca_pem = _ec_key()
    write_private(root / "ca.key", ca_pem)
    _write_public(
        root / "ca.crt",
        _certificate(
            _CA_NAME,
            ca_key.public_key(),  # type: ignore[attr-defined]
            _CA_NAME,
            ca_key,
            ca=True,
        ),
    )
    _issue(root, "server", "nats-server", ca_key)
    document: dict[str, object] = {
        "version": TRUST_VERSION,
        "nations": {
            nation: _new_nation(
                root, nation, [(node_ids or {}).get(nation, f"{nation.lower()}-node")], ca_key
            )
            for nation in nations
        },
        "admin": {"tls_subject": _issue(root, ADMIN, "airpicture operator", ca_key)},
    }
    _write_trust(root, document)
    log.info("wrote keys of %s to %s", ", ".join(nations), root)
    return root / TRUST_FILE


_CA_NAME = "airpicture local CA"


def _refuse_existing(root: Path, where: str, key: str) -> None:
    if (root / TRUST_FILE).exists():
        raise ConfigError(
            where, key=key, expected="a folder without keys", got=f"{root} holds keys"
        )


def _issue(root: Path, who: str, common_name: str, ca_key: object) -> str:
    """Write ``who``'s TLS key and CA-signed certificate; return the certificate's subject."""
    paths = nation_paths(root, who)
    key, pem = _ec_key()
    write_private(paths.tls_key, pem)
    _write_public(
        paths.tls_cert,
        _certificate(common_name, key.public_key(), _CA_NAME, ca_key, ca=False),  # type: ignore[attr-defined]
    )
    return certificate_subject(paths.tls_cert)


def _new_nation(
    root: Path, nation: str, node_ids: list[str], ca_key: object, common_name: str = ""
) -> dict[str, object]:
    """Write a nation's signing key and certificate (common name ``<NATION> node`` unless
    given); return its entry of the trust file."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    signing = ed25519.Ed25519PrivateKey.generate()
    write_private(
        nation_paths(root, nation).signing_key,
        signing.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    raw = signing.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {
        "signing_key": base64.b64encode(raw).decode(),
        "tls_subject": _issue(root, nation, common_name or f"{nation} node", ca_key),
        "node_ids": node_ids,
    }


def _write_trust(root: Path, document: Mapping[str, object]) -> None:
    _write_public(root / TRUST_FILE, (json.dumps(document, indent=1) + "\n").encode())


def _trust_of(root: Path, nation: str) -> Trust:
    """The trust file of a keys folder, refused unless it names ``nation``."""
    trust = Trust.load(root / TRUST_FILE)
    if nation not in trust.nations:
        raise ConfigError(
            str(root / TRUST_FILE),
            key=f"nations.{nation}",
            expected="a nation of the trust file",
            got="nothing",
        )
    return trust


def _issuer_document(root: Path, nation: str) -> tuple[dict[str, Any], object]:
    """The trust document of a full keys folder holding ``nation``, and the folder's CA key."""
    from cryptography.hazmat.primitives import serialization

    _trust_of(root, nation)
    _check_private(root / "ca.key")
    ca_key = serialization.load_pem_private_key((root / "ca.key").read_bytes(), password=None)
    return json.loads((root / TRUST_FILE).read_text(encoding="utf-8")), ca_key


def rotate_keys(directory: str | Path, nation: str) -> str:
    """Give a nation a new signing key and a new TLS key and certificate, under a new subject.

    The trust file then names the new signing key and subject only: messages signed with the
    old key fail verification (``signature``) and the old certificate maps to no user, once the
    server and the nodes read the new trust file. The nation's node needs its new folder
    (:func:`export_node_keys`); the server's configuration is made again from the trust file
    when it starts.

    Parameters
    ----------
    directory : path
        The full keys folder (:func:`init_keys`; its CA key signs the new certificate).
    nation : str
        The nation whose keys are replaced.

    Returns
    -------
    str
        The new certificate's subject.

    Raises
    ------
    ConfigError
        When the nation is not in the trust file or the folder has no usable CA key.
    """
    import secrets

    root = Path(directory)
    document, ca_key = _issuer_document(root, nation)
    entry = document["nations"][nation]
    document["nations"][nation] = _new_nation(
        root,
        nation,
        list(entry.get("node_ids", [])),
        ca_key,
        common_name=f"{nation} node {secrets.token_hex(4)}",
    )
    _write_trust(root, document)
    log.info("rotated the keys of %s in %s", nation, root)
    return str(document["nations"][nation]["tls_subject"])


def revoke_keys(directory: str | Path, nation: str) -> None:
    """Take a nation out of the network: out of the trust file, its private files deleted.

    Once the server and the nodes read the new trust file, its certificate maps to no user
    (the server refuses the connection) and its messages are refused (``unknown-sender``).

    Parameters
    ----------
    directory : path
        The full keys folder.
    nation : str
        The nation to revoke; not the last one.

    Raises
    ------
    ConfigError
        When the nation is not in the trust file, or is its only nation.
    """
    root = Path(directory)
    document, _ = _issuer_document(root, nation)
    if len(document["nations"]) == 1:
        raise ConfigError(
            str(root / TRUST_FILE),
            key=f"nations.{nation}",
            expected="a nation besides others (a trust file needs one)",
            got="the only nation",
        )
    del document["nations"][nation]
    _write_trust(root, document)
    shutil.rmtree(root / nation, ignore_errors=True)
    log.info("revoked %s in %s", nation, root)


def certificate_subject(path: str | Path) -> str:
    """The subject of a PEM certificate as RFC 4514 writes it (what the server maps to a user).

    Raises
    ------
    ConfigError
        When the file is missing or not a PEM certificate.
    """
    from cryptography import x509

    path = Path(path)
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(
            str(path), key="(file)", expected="a certificate", got="nothing"
        ) from None
    except ValueError as exc:
        raise ConfigError(
            str(path), key="(file)", expected="a PEM certificate", got=str(exc)
        ) from None
    return cert.subject.rfc4514_string()


_PRIVATE_SUFFIXES = (".key", ".nk")
"""Names of private files in a keys folder (keys; ``.nk`` for NATS seeds of older folders)."""


def check_node_keys(directory: str | Path, nation: str) -> None:
    """Refuse a node's keys folder that holds private files other than the nation's own.

    A node needs ``trust.json``, ``ca.crt`` and its ``<NATION>/`` only; the CA key, the
    operator's or the server's keys and other nations' keys must never be on its machine.

    Raises
    ------
    ConfigError
        Naming the first foreign private file found.
    """
    root = Path(directory)
    own = root / nation
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name.endswith(_PRIVATE_SUFFIXES) and own not in path.parents:
            raise ConfigError(
                str(root),
                key=str(path.relative_to(root)),
                expected=f"a node's keys folder (trust.json, ca.crt and {nation}/ only; "
                f"airpicture keys export)",
                got="a private file of someone else",
            )


def export_node_keys(directory: str | Path, nation: str, destination: str | Path) -> Path:
    """Copy what ``nation``'s node needs from a keys folder into a folder of its own.

    The new folder holds ``trust.json``, ``ca.crt`` and ``<NATION>/`` (private files 0600, the
    folders 0700): the folder to install on that nation's node machine.

    Parameters
    ----------
    directory : path
        The full keys folder (:func:`init_keys`).
    nation : str
        The nation whose node the folder is for.
    destination : path
        The folder to create; must not hold keys already.

    Returns
    -------
    Path
        ``destination``.

    Raises
    ------
    ConfigError
        When the nation is not in the trust file, its files are missing or ``destination`` holds
        keys.
    """
    source, target = Path(directory), Path(destination)
    _trust_of(source, nation)
    _refuse_existing(target, "keys export", "DESTINATION")
    mine = nation_paths(source, nation)
    theirs = nation_paths(target, nation)
    for path in (mine.signing_key, mine.tls_key):
        _check_private(path)
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    _write_public(theirs.ca_cert, mine.ca_cert.read_bytes())
    _write_public(theirs.tls_cert, mine.tls_cert.read_bytes())
    write_private(theirs.signing_key, mine.signing_key.read_bytes())
    write_private(theirs.tls_key, mine.tls_key.read_bytes())
    os.chmod(theirs.folder, 0o700)
    _write_public(theirs.trust, mine.trust.read_bytes())
    return target


def load_signing_key(path: str | Path) -> object:
    """Read an Ed25519 private key (PEM, PKCS#8); refuse a file others may read.

    Raises
    ------
    ConfigError
        When the file is missing, readable by group or others, or not an Ed25519 key.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    path = Path(path)
    _check_private(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            str(path), key="signing key", expected="an Ed25519 PEM key", got=type(exc).__name__
        ) from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ConfigError(
            str(path), key="signing key", expected="an Ed25519 key", got=type(key).__name__
        )
    return key


def _check_private(path: Path) -> None:
    if not path.is_file():
        raise ConfigError(str(path), key="(file)", expected="a private key file", got="nothing")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            str(path),
            key="(permissions)",
            expected="a private file (chmod 600)",
            got=f"mode {mode:o}",
        )


@dataclass(frozen=True)
class Trust:
    """The public keys and identities of a network, read from ``trust.json``.

    Attributes
    ----------
    signing_keys : dict of str to bytes
        Raw 32-byte Ed25519 public key per nation.
    tls_subjects : dict of str to str
        Subject (RFC 4514) of each nation's TLS certificate: its user on the NATS server.
    node_ids : dict of str to frozenset of str
        Node ids allowed to sign for each nation (empty: any).
    admin_subject : str
        Subject of the operator's certificate ("" when none).
    """

    signing_keys: dict[str, bytes]
    tls_subjects: dict[str, str]
    node_ids: dict[str, frozenset[str]]
    admin_subject: str = ""

    @property
    def nations(self) -> tuple[str, ...]:
        """The nations of the network, sorted."""
        return tuple(sorted(self.signing_keys))

    @classmethod
    def load(cls, path: str | Path) -> Trust:
        """Read and check a trust file.

        Raises
        ------
        ConfigError
            On a missing or malformed file, or two identities with one certificate subject.
        """
        path = Path(path)
        where = str(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(where, key="(file)", expected="a trust file", got="nothing") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(where, key="(file)", expected="JSON", got=str(exc)) from None
        if not isinstance(document, dict) or document.get("version") != TRUST_VERSION:
            got = document.get("version") if isinstance(document, dict) else None
            raise ConfigError(
                where,
                key="version",
                expected=f"{TRUST_VERSION} (keys of an older airpicture: make new ones)",
                got=repr(got),
            )
        nations = document.get("nations")
        if not isinstance(nations, dict) or not nations:
            raise ConfigError(where, key="nations", expected="a table of nations", got="none")
        keys, subjects, ids = {}, {}, {}
        for nation, entry in nations.items():
            if not isinstance(entry, dict):
                raise ConfigError(where, key=f"nations.{nation}", expected="a table", got="other")
            try:
                raw = base64.b64decode(str(entry.get("signing_key", "")), validate=True)
            except ValueError:
                raw = b""
            if len(raw) != 32:
                raise ConfigError(
                    where,
                    key=f"nations.{nation}.signing_key",
                    expected="base64 of a raw 32-byte Ed25519 public key",
                    got=f"{len(raw)} bytes",
                )
            keys[nation] = raw
            subjects[nation] = _subject(entry, where, f"nations.{nation}")
            node_list = entry.get("node_ids", [])
            if not isinstance(node_list, list) or not all(isinstance(x, str) for x in node_list):
                raise ConfigError(
                    where, key=f"nations.{nation}.node_ids", expected="a list of ids", got="other"
                )
            ids[nation] = frozenset(node_list)
        admin = document.get("admin")
        admin_subject = _subject(admin, where, "admin") if admin is not None else ""
        seen: dict[str, str] = {}
        for who, subject in (*subjects.items(), (ADMIN, admin_subject)):
            if subject in seen:
                raise ConfigError(
                    where,
                    key=f"{who}.tls_subject",
                    expected="a certificate subject of its own",
                    got=f"the subject of {seen[subject]}: {subject}",
                )
            if subject:
                seen[subject] = who
        return cls(keys, subjects, ids, admin_subject)


def _subject(entry: object, where: str, key: str) -> str:
    subject = entry.get("tls_subject") if isinstance(entry, dict) else None
    if not isinstance(subject, str) or "=" not in subject:
        raise ConfigError(
            where,
            key=f"{key}.tls_subject",
            expected="a certificate subject such as CN=JPN node,O=airpicture",
            got=repr(subject),
        )
    return subject
