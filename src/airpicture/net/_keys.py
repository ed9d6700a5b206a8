"""Key material of a network: a local certificate authority, and per nation a signing key, a TLS
certificate and NATS credentials.

``airpicture keys init --nations JPN,USA,AUS DIR`` writes (private files with mode 0600)::

    DIR/
      trust.json          public: every nation's Ed25519 signing key and NATS user nkey
      ca.crt              public: the certificate authority (trust anchor of TLS)
      ca.key              PRIVATE: the CA key (only needed to issue more certificates)
      server/tls.crt      public: the NATS server's certificate (SAN 127.0.0.1, localhost)
      server/tls.key      PRIVATE
      admin/nats.nk       PRIVATE: operator credentials (creates the stream; never given to a node)
      admin/tls.crt, admin/tls.key
      <NATION>/signing.key  PRIVATE: Ed25519 key that signs every message of the nation's node
      <NATION>/tls.crt      public: TLS client/server certificate (SAN 127.0.0.1, localhost)
      <NATION>/tls.key      PRIVATE
      <NATION>/nats.nk      PRIVATE: NATS nkey seed of the nation's user

A real deployment brings its own files in the same layout: its own CA (or an intermediate)
issues ``server/`` and ``<NATION>/`` certificates, each nation generates its own signing key and
nkey and only the public halves travel, in ``trust.json``::

    {"version": 1,
     "nations": {"JPN": {"signing_key": "<base64 of the raw 32-byte Ed25519 public key>",
                         "nkey": "U...", "node_ids": ["jpn-node"]}}}

``node_ids`` is optional (when present, only these node ids may sign for the nation). A node
needs its own ``<NATION>/`` folder, ``ca.crt`` and ``trust.json``; nothing else.

Nothing here logs key bytes; file names only.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from airpicture.codes import is_nation_code
from airpicture.errors import ConfigError

__all__ = [
    "ADMIN",
    "TRUST_FILE",
    "NationKeys",
    "Trust",
    "init_keys",
    "load_signing_key",
    "nation_paths",
    "write_private",
]

log = logging.getLogger(__name__)

TRUST_FILE = "trust.json"
"""Name of the trust file in a keys folder."""

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
    nkey_seed: Path
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
        nkey_seed=folder / "nats.nk",
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
    import nkeys
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    root = Path(directory)
    nations = tuple(dict.fromkeys(n.strip().upper() for n in nations if n.strip()))
    for nation in nations:
        if not is_nation_code(nation):
            raise ConfigError(
                "keys init", key="--nations", expected="alpha-3 codes such as JPN", got=nation
            )
    if not nations:
        raise ConfigError("keys init", key="--nations", expected="at least one nation", got="none")
    if (root / TRUST_FILE).exists():
        raise ConfigError(
            "keys init", key="DIR", expected="a folder without keys", got=f"{root} holds keys"
        )
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)

    ca_key, ca_pem = _ec_key()
    write_private(root / "ca.key", ca_pem)
    _write_public(
        root / "ca.crt",
        _certificate(
            "airpicture local CA",
            ca_key.public_key(),  # type: ignore[attr-defined]
            "airpicture local CA",
            ca_key,
            ca=True,
        ),
    )

    def issue(who: str, cn: str) -> None:
        paths = nation_paths(root, who)
        key, pem = _ec_key()
        write_private(paths.tls_key, pem)
        _write_public(
            paths.tls_cert,
            _certificate(cn, key.public_key(), "airpicture local CA", ca_key, ca=False),  # type: ignore[attr-defined]
        )

    issue("server", "nats-server")
    issue(ADMIN, "airpicture operator")
    write_private(
        nation_paths(root, ADMIN).nkey_seed,
        nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER),
    )
    trust: dict[str, dict[str, object]] = {}
    for nation in nations:
        paths = nation_paths(root, nation)
        issue(nation, f"{nation} node")
        signing = ed25519.Ed25519PrivateKey.generate()
        write_private(
            paths.signing_key,
            signing.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
        write_private(paths.nkey_seed, seed)
        raw = signing.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        node_id = (node_ids or {}).get(nation, f"{nation.lower()}-node")
        trust[nation] = {
            "signing_key": base64.b64encode(raw).decode(),
            "nkey": nkeys.from_seed(seed).public_key.decode(),
            "node_ids": [node_id],
        }
    admin_seed = nation_paths(root, ADMIN).nkey_seed.read_bytes()
    document = {
        "version": 1,
        "nations": trust,
        "admin": {"nkey": nkeys.from_seed(admin_seed).public_key.decode()},
    }
    _write_public(root / TRUST_FILE, (json.dumps(document, indent=1) + "\n").encode())
    log.info("wrote keys of %s to %s", ", ".join(nations), root)
    return root / TRUST_FILE


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
    """The public keys of a network, read from ``trust.json``.

    Attributes
    ----------
    signing_keys : dict of str to bytes
        Raw 32-byte Ed25519 public key per nation.
    nkeys : dict of str to str
        NATS user public nkey per nation.
    node_ids : dict of str to frozenset of str
        Node ids allowed to sign for each nation (empty: any).
    admin_nkey : str
        The operator's NATS user public nkey ("" when none).
    """

    signing_keys: dict[str, bytes]
    nkeys: dict[str, str]
    node_ids: dict[str, frozenset[str]]
    admin_nkey: str = ""

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
            On a missing or malformed file.
        """
        path = Path(path)
        where = str(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(where, key="(file)", expected="a trust file", got="nothing") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(where, key="(file)", expected="JSON", got=str(exc)) from None
        if not isinstance(document, dict) or document.get("version") != 1:
            raise ConfigError(where, key="version", expected="1", got=repr(document)[:40])
        nations = document.get("nations")
        if not isinstance(nations, dict) or not nations:
            raise ConfigError(where, key="nations", expected="a table of nations", got="none")
        keys, nk, ids = {}, {}, {}
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
            nk[nation] = str(entry.get("nkey", ""))
            node_list = entry.get("node_ids", [])
            if not isinstance(node_list, list) or not all(isinstance(x, str) for x in node_list):
                raise ConfigError(
                    where, key=f"nations.{nation}.node_ids", expected="a list of ids", got="other"
                )
            ids[nation] = frozenset(node_list)
        admin = document.get("admin", {})
        admin_nkey = str(admin.get("nkey", "")) if isinstance(admin, dict) else ""
        return cls(keys, nk, ids, admin_nkey)
