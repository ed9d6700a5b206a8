"""Security of the network: keys, TLS and nkey authentication, subject permissions (on a real
nats-server and on the in-process bus), signed messages and their rejection, the audit log."""

from __future__ import annotations

import asyncio
import gc
import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import nats
import pytest

from airpicture.cli import main as cli_main
from airpicture.errors import ConfigError
from airpicture.net import (
    ADMIN,
    BusError,
    Heartbeat,
    MemoryBus,
    Message,
    MessageError,
    NatsBus,
    NatsServer,
    Trust,
    certificate_subject,
    encode_message,
    export_node_keys,
    init_keys,
    load_signing_key,
    nation_paths,
    revoke_keys,
    rotate_keys,
)
from airpicture.net._security import (
    AuditLog,
    NodeSecurity,
    PolicyBus,
    SecuritySettings,
    Signer,
    Verifier,
    client_tls_context,
    nats_options,
    nats_server_config,
    pattern_within,
    verify_audit_log,
)
from airpicture.node import Node, NodeConfig
from tests.net.conftest import wait_until
from tests.net.helpers import (
    NATIONS,
    assert_same_picture,
    batch_picture,
    node_keys,
    node_values,
    raw_nats_connection,
)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("keys") / "keys"
    init_keys(directory, NATIONS)
    return directory


@pytest.fixture(scope="module")
def secure_server(keys: Path):
    server = NatsServer(keys_dir=keys).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_secure_server(keys: Path):
    """A secure server with an empty stream for one test."""
    server = NatsServer(keys_dir=keys).start()
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------- keys
def test_keys_init_writes_private_files_0600_and_a_trust_file(tmp_path, capsys):
    directory = tmp_path / "k"
    assert cli_main(["keys", "init", "--nations", "JPN,USA", str(directory)]) == 0
    assert "trust.json" in capsys.readouterr().out
    private = [directory / "ca.key"]
    for who in ("JPN", "USA", ADMIN, "server"):
        private.append(nation_paths(directory, who).tls_key)
    private += [nation_paths(directory, n).signing_key for n in ("JPN", "USA")]
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    trust = Trust.load(directory / "trust.json")
    assert trust.nations == ("JPN", "USA")
    assert all(len(k) == 32 for k in trust.signing_keys.values())
    assert trust.node_ids["JPN"] == {"jpn-node"}
    # Each identity's certificate subject, which the server maps to its user.
    for who, subject in (*trust.tls_subjects.items(), (ADMIN, trust.admin_subject)):
        assert certificate_subject(nation_paths(directory, who).tls_cert) == subject
    assert trust.tls_subjects["JPN"] == "CN=JPN node,O=airpicture"
    # The public trust file holds no private material.
    text = (directory / "trust.json").read_text()
    assert "PRIVATE" not in text
    with pytest.raises(ConfigError, match="holds keys"):
        init_keys(directory, ["JPN"])


def test_a_trust_file_refuses_two_identities_with_one_certificate_subject(keys, tmp_path):
    document = json.loads((keys / "trust.json").read_text())
    document["nations"]["USA"]["tls_subject"] = document["nations"]["JPN"]["tls_subject"]
    (tmp_path / "trust.json").write_text(json.dumps(document))
    with pytest.raises(ConfigError, match="subject of JPN"):
        Trust.load(tmp_path / "trust.json")
    document["version"] = 1  # a folder made before certificates were the identity
    (tmp_path / "trust.json").write_text(json.dumps(document))
    with pytest.raises(ConfigError, match="older airpicture"):
        Trust.load(tmp_path / "trust.json")


def test_a_signing_key_readable_by_others_is_refused(keys, tmp_path):
    copy = tmp_path / "signing.key"
    copy.write_bytes(nation_paths(keys, "JPN").signing_key.read_bytes())
    copy.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_signing_key(copy)


def test_private_keys_never_reach_the_log(keys, caplog, tmp_path):
    caplog.set_level("DEBUG")
    init_keys(tmp_path / "other", ["JPN"])
    security = NodeSecurity.load(
        SecuritySettings(keys_dir=node_keys(keys, "JPN")), nation="JPN", node_id="jpn-node"
    )
    assert "jpn-node" in repr(security.signer)
    for text in (caplog.text, repr(security.signer)):
        assert "PRIVATE KEY" not in text


def test_a_node_gets_only_its_own_keys_and_refuses_anyone_elses(keys, tmp_path, capsys):
    """Row 5 of the review: every node's configuration pointed at the whole keys folder, the CA
    key and the operator's credentials included."""
    # The whole folder (CA key, server, operator, other nations) is refused by a node.
    with pytest.raises(ConfigError, match="private file of someone else"):
        NodeSecurity.load(SecuritySettings(keys_dir=keys), nation="JPN", node_id="jpn-node")
    # An exported folder holds trust.json, ca.crt and JPN/ only, private files 0600.
    own = tmp_path / "jpn"
    assert cli_main(["keys", "export", "--nation", "JPN", str(keys), str(own)]) == 0
    assert str(own) in capsys.readouterr().out
    files = sorted(str(p.relative_to(own)) for p in own.rglob("*") if p.is_file())
    assert files == ["JPN/signing.key", "JPN/tls.crt", "JPN/tls.key", "ca.crt", "trust.json"]
    assert stat.S_IMODE(own.stat().st_mode) == 0o700
    assert stat.S_IMODE((own / "JPN").stat().st_mode) == 0o700
    for name in ("signing.key", "tls.key"):
        assert stat.S_IMODE((own / "JPN" / name).stat().st_mode) == 0o600
    NodeSecurity.load(SecuritySettings(keys_dir=own), nation="JPN", node_id="jpn-node")
    # Anyone else's private file in it is refused: the operator's, another nation's.
    for who in (ADMIN, "USA"):
        stray = own / who / "tls.key"
        stray.parent.mkdir()
        stray.write_bytes(nation_paths(keys, who).tls_key.read_bytes())
        with pytest.raises(ConfigError, match=f"{who}/tls.key"):
            NodeSecurity.load(SecuritySettings(keys_dir=own), nation="JPN", node_id="jpn-node")
        stray.unlink()
    with pytest.raises(ConfigError, match="holds keys"):
        export_node_keys(keys, "JPN", own)
    with pytest.raises(ConfigError, match="nations.GBR"):
        export_node_keys(keys, "GBR", tmp_path / "gbr")


# ---------------------------------------------------------------------------- NATS transport
async def _connect_fails(url: str, **options) -> bool:
    errors = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    try:
        nc = await nats.connect(
            url,
            connect_timeout=2,
            max_reconnect_attempts=0,
            allow_reconnect=False,
            error_cb=on_error,
            **options,
        )
    except Exception:  # any refusal: TLS handshake, authorization, closed connection
        return True
    await nc.close()
    return False


@pytest.fixture
def refused_streams_collected() -> Iterator[None]:
    """Collect, before the test ends, what refused NATS connections left behind.

    Without reconnection nats-py raises with a refused connection's streams open (closing the
    client then can hang on a failed TLS handshake), leaving them to the garbage collector,
    whose ResourceWarning would land in whichever later test it happens to run in. Collected
    in this teardown, after the test's event loop is closed, the warnings fall under the test's
    filter.
    """
    yield
    gc.collect()


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.usefixtures("refused_streams_collected")
async def test_clients_without_valid_credentials_cannot_connect(secure_server, keys, tmp_path):
    url = secure_server.url
    plain = url.replace("tls://", "nats://")
    jpn = nation_paths(keys, "JPN")
    # No TLS at all.
    assert await _connect_fails(plain)
    # TLS but no client certificate.
    import ssl

    no_cert = ssl.create_default_context(cafile=str(jpn.ca_cert))
    assert await _connect_fails(url, tls=no_cert, tls_hostname="127.0.0.1")
    # A certificate of another CA, even with a subject the server knows ("CN=JPN node").
    init_keys(tmp_path / "rogue", ["JPN"])
    rogue = nation_paths(tmp_path / "rogue", "JPN")
    rogue_tls = client_tls_context(jpn.ca_cert, rogue.tls_cert, rogue.tls_key)
    assert await _connect_fails(url, tls=rogue_tls, tls_hostname="127.0.0.1")
    # A certificate of the network's CA whose subject is no user (the server's own).
    server = nation_paths(keys, "server")
    server_tls = client_tls_context(jpn.ca_cert, server.tls_cert, server.tls_key)
    assert await _connect_fails(url, tls=server_tls, tls_hostname="127.0.0.1")
    # The real certificate works.
    tls = client_tls_context(jpn.ca_cert, jpn.tls_cert, jpn.tls_key)
    assert not await _connect_fails(
        url, tls=tls, tls_hostname="127.0.0.1", inbox_prefix="_INBOX_JPN"
    )


async def test_a_certificate_is_its_identity_whatever_else_the_client_presents(secure_server, keys):
    """Row 5 of the review: Japan's certificate with the USA's nkey, or the operator's, was the
    USA, or the operator. The server now maps the certificate to its user and has no nkey,
    password or token user: whatever a client adds, Japan's certificate is Japan."""
    import nkeys

    config = nats_server_config(keys, port=4222, store_dir="store")
    assert "verify_and_map: true" in config and "nkey" not in config
    url = secure_server.url
    admin = await NatsBus.connect(url, name="admin", **nats_options(keys, ADMIN))
    jpn = nation_paths(keys, "JPN")
    trust = Trust.load(keys / "trust.json")
    seed = nkeys.encode_seed(bytes(32), nkeys.PREFIX_BYTE_USER).decode()
    claims = (
        {"nkeys_seed_str": seed},  # an nkey, as the USA's or the operator's were
        {"user": trust.tls_subjects["USA"]},  # naming the USA's user
        {"user": trust.admin_subject},  # naming the operator
    )
    try:
        for claim in claims:
            violations: list[str] = []

            async def on_error(exc: Exception, violations=violations) -> None:
                violations.append(str(exc).lower())

            nc = await nats.connect(
                url,
                tls=client_tls_context(jpn.ca_cert, jpn.tls_cert, jpn.tls_key),
                tls_hostname="127.0.0.1",
                inbox_prefix="_INBOX_JPN",
                error_cb=on_error,
                max_reconnect_attempts=0,
                **claim,
            )
            # Neither the USA's rights nor the operator's: publishing as the USA and reading the
            # stream's information (the operator's) are refused; publishing as Japan works.
            await nc.publish("air.det.USA.AUS", b"as the USA")
            with pytest.raises(nats.errors.TimeoutError):
                await nc.request("$JS.API.STREAM.INFO.AIR", b"", timeout=0.5)
            await nc.publish("air.det.JPN.USA", repr(claim).encode())
            await nc.flush()
            await wait_until(lambda violations=violations: len(violations) >= 2)
            await nc.close()
            assert any("publish" in v and "air.det.usa.aus" in v for v in violations)
            assert any("$js.api.stream.info.air" in v for v in violations)
            assert (await admin.last_message("air.det.JPN.USA")).data == repr(claim).encode()
            last = await admin.last_message("air.det.USA.AUS")
            assert last is None or last.data != b"as the USA"
    finally:
        await admin.close()


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.usefixtures("refused_streams_collected")
async def test_rotated_and_revoked_keys_are_refused(tmp_path, capsys):
    keys = tmp_path / "keys"
    init_keys(keys, NATIONS)
    old_jpn = export_node_keys(keys, "JPN", tmp_path / "jpn-old")
    old_usa = export_node_keys(keys, "USA", tmp_path / "usa-old")
    before = Trust.load(keys / "trust.json")
    assert cli_main(["keys", "rotate", "--nation", "JPN", str(keys)]) == 0
    assert cli_main(["keys", "revoke", "--nation", "USA", str(keys)]) == 0
    assert "revoked" in capsys.readouterr().out
    trust = Trust.load(keys / "trust.json")
    assert trust.nations == ("AUS", "JPN") and not (keys / "USA").exists()
    assert trust.tls_subjects["JPN"] != before.tls_subjects["JPN"]
    assert trust.signing_keys["JPN"] != before.signing_keys["JPN"]
    assert trust.node_ids["JPN"] == before.node_ids["JPN"]
    assert (trust.tls_subjects["AUS"], trust.signing_keys["AUS"]) == (
        before.tls_subjects["AUS"],
        before.signing_keys["AUS"],
    )
    new_jpn = export_node_keys(keys, "JPN", tmp_path / "jpn-new")
    # Messages: the old keys are refused by a node reading the new trust file, the new one not.
    verifier = Verifier(trust)
    hb = Heartbeat(recipient="AUS", clock_s=1.0)

    def reason(folder: Path, nation: str) -> str:
        subject = f"air.hb.{nation}.AUS"
        data = encode_message(
            "hb",
            hb,
            sender=f"{nation.lower()}-node",
            nation=nation,
            seq=1,
            subject=subject,
            signer=_signer(folder, nation).sign,
        )
        try:
            verifier.verify(data, subject)
        except MessageError as exc:
            return exc.reason
        return "accepted"

    assert reason(old_jpn, "JPN") == "signature"
    assert reason(old_usa, "USA") == "unknown-sender"
    assert reason(new_jpn, "JPN") == "accepted"
    # Connections to a server on the new trust file: the old certificates refused, the new one
    # accepted.
    with NatsServer(keys_dir=keys) as server:
        for folder, nation in ((old_jpn, "JPN"), (old_usa, "USA"), (new_jpn, "JPN")):
            paths = nation_paths(folder, nation)
            tls = client_tls_context(paths.ca_cert, paths.tls_cert, paths.tls_key)
            refused = await _connect_fails(server.url, tls=tls, tls_hostname="127.0.0.1")
            assert refused == (folder != new_jpn), folder
    revoke_keys(keys, "AUS")
    with pytest.raises(ConfigError, match="the only nation"):
        revoke_keys(keys, "JPN")
    with pytest.raises(ConfigError, match="nations.USA"):
        rotate_keys(keys, "USA")


async def test_a_nation_cannot_read_what_is_not_released_to_it_nor_publish_as_another(
    secure_server, keys
):
    url = secure_server.url
    jpn = await NatsBus.connect(url, name="jpn", api_timeout_s=0.5, **nats_options(keys, "JPN"))
    usa = await NatsBus.connect(url, name="usa", **nats_options(keys, "USA"))
    admin = await NatsBus.connect(url, name="admin", **nats_options(keys, ADMIN))
    try:
        got: list[str] = []

        async def keep(message: Message) -> None:
            got.append(message.subject)

        # JetStream: a consumer on another nation's subjects is refused.
        for pattern in ("air.*.*.USA", "air.>", "air.pic.USA", "air.det.AUS.*"):
            with pytest.raises(BusError):
                await jpn.subscribe(pattern, keep, from_seq=1)
        with pytest.raises(BusError):
            await jpn.last_message("air.det.AUS.USA")
        # Core NATS: a plain subscription to another nation's subject is a violation.
        nc, violations = await raw_nats_connection(url, keys, "JPN")

        async def core(msg) -> None:
            got.append(msg.subject)

        await nc.subscribe("air.det.USA.AUS", cb=core)
        await nc.subscribe("_INBOX_USA.>", cb=core)
        # Publishing on another nation's subject, or on a picture not its own, is dropped.
        for subject in ("air.det.USA.JPN", "air.hb.AUS.USA", "air.pic.USA"):
            await nc.publish(subject, b"forged")
        await nc.flush()
        await usa.publish("air.det.USA.AUS", b"for AUS only")
        await wait_until(lambda: len(violations) >= 5)
        await nc.close()
        for subject in ("air.det.USA.JPN", "air.hb.AUS.USA", "air.pic.USA"):
            last = await admin.last_message(subject)
            assert last is None or last.data != b"forged"
        assert "air.det.USA.AUS" not in got
        assert any("subscription" in v and "air.det.usa.aus" in v for v in violations)
        assert any("publish" in v and "air.det.usa.jpn" in v for v in violations)
        # What is released to it works.
        sub = await jpn.subscribe("air.*.*.JPN", keep, from_seq=1)
        await usa.publish("air.det.USA.JPN", b"for JPN")
        await wait_until(lambda: "air.det.USA.JPN" in got)
        await sub.unsubscribe()
    finally:
        for bus in (jpn, usa, admin):
            await bus.close()


# ---------------------------------------------------------------------------- in-process bus
def test_pattern_containment():
    assert pattern_within("air.det.USA.JPN", "air.*.*.JPN")
    assert pattern_within("air.*.*.JPN", "air.*.*.JPN")
    assert not pattern_within("air.*.*.*", "air.*.*.JPN")
    assert not pattern_within("air.>", "air.*.*.JPN")
    assert pattern_within("air.det.>", "air.>")
    assert not pattern_within("air", "air.>")


async def test_the_policy_bus_applies_the_same_permissions_in_process():
    shared = MemoryBus()
    jpn, usa = PolicyBus(shared, "JPN"), PolicyBus(shared, "USA")
    got: list[str] = []

    async def keep(message: Message) -> None:
        got.append(message.subject)

    for pattern in ("air.*.*.USA", "air.>", "air.pic.USA", "air.*.*.*"):
        with pytest.raises(BusError, match="permission denied"):
            await jpn.subscribe(pattern, keep)
    for subject in ("air.det.USA.JPN", "air.pic.USA", "air.hb.AUS.AUS"):
        with pytest.raises(BusError, match="permission denied"):
            await jpn.publish(subject, b"x")
    with pytest.raises(BusError):
        await jpn.last_message("air.det.USA.AUS")
    await jpn.subscribe("air.*.*.JPN", keep)
    await usa.publish("air.det.USA.JPN", b"ok")
    await usa.publish("air.det.USA.AUS", b"not for JPN")
    await jpn.publish("air.det.JPN.USA", b"mine")
    assert (await jpn.last_message("air.det.JPN.USA")).data == b"mine"
    await wait_until(lambda: got == ["air.det.USA.JPN"])
    assert jpn.denied == 8
    await shared.close()


def _japan_withholds_from_australia():
    from airpicture.net import ReleasePolicy

    return ReleasePolicy.from_mapping(
        {"default": ["USA"], "tracks": {"to": ["USA"]}},
        owner="JPN",
        own_sensors=("JPN-R1",),
        source="test",
    )


async def test_the_policy_bus_lets_a_nation_publish_only_towards_whom_its_policy_reaches():
    shared = MemoryBus()
    jpn = PolicyBus(shared, "JPN", policy=_japan_withholds_from_australia())
    for subject in ("air.det.JPN.AUS", "air.trk.JPN.AUS"):
        with pytest.raises(BusError, match="permission denied"):
            await jpn.publish(subject, b"x")
    for subject in ("air.det.JPN.USA", "air.det.JPN.JPN", "air.trk.JPN.USA", "air.hb.JPN.AUS"):
        await jpn.publish(subject, b"ok")
    assert jpn.denied == 2
    await shared.close()


async def test_nats_permissions_follow_the_release_policy(keys, tmp_path):
    server = NatsServer(keys_dir=keys, policies={"JPN": _japan_withholds_from_australia()}).start()
    try:
        admin = await NatsBus.connect(server.url, name="admin", **nats_options(keys, ADMIN))
        nc, violations = await raw_nats_connection(server.url, keys, "JPN")
        for subject in ("air.det.JPN.AUS", "air.trk.JPN.AUS", "air.det.JPN.USA"):
            await nc.publish(subject, b"sent")
        await nc.flush()
        await wait_until(lambda: len(violations) >= 2)
        await nc.close()
        assert any("publish" in v and "air.det.jpn.aus" in v for v in violations)
        assert any("publish" in v and "air.trk.jpn.aus" in v for v in violations)
        assert await admin.last_message("air.det.JPN.AUS") is None
        assert (await admin.last_message("air.det.JPN.USA")).data == b"sent"
        await admin.close()
    finally:
        server.stop()


# ---------------------------------------------------------------------------- signatures
def _signer(keys: Path, nation: str) -> Signer:
    return Signer(
        nation, f"{nation.lower()}-node", load_signing_key(nation_paths(keys, nation).signing_key)
    )


def test_signed_messages_verify_and_every_alteration_is_rejected(keys):
    verifier = Verifier(Trust.load(keys / "trust.json"))
    usa = _signer(keys, "USA")
    hb = Heartbeat(recipient="JPN", clock_s=1.0)
    subject = "air.hb.USA.JPN"
    data = encode_message(
        "hb", hb, sender="usa-node", nation="USA", seq=5, subject=subject, signer=usa.sign
    )
    assert verifier.verify(data, subject).seq == 5

    def reason(data: bytes, subject: str = subject, **kw) -> str:
        with pytest.raises(MessageError) as info:
            verifier.verify(data, subject, **kw)
        return info.value.reason

    envelope = msgspec.msgpack.decode(data)

    def altered(index: int, value) -> bytes:
        copy = list(envelope)
        copy[index] = value
        return msgspec.msgpack.encode(copy)

    assert reason(data, "air.hb.USA.AUS") == "signature"  # moved to another subject
    assert reason(altered(4, 6)) == "signature"  # sequence changed
    assert reason(altered(6, envelope[6][:-1] + b"\x01")) in ("signature",)  # payload tampered
    assert reason(altered(7, b"")) == "unsigned"
    assert reason(altered(2, "spy-node")) == "unknown-sender"
    assert reason(altered(3, "GBR")) == "unknown-sender"
    forged = encode_message(  # signed with Japan's key, claiming to be the USA
        "hb",
        hb,
        sender="usa-node",
        nation="USA",
        seq=5,
        subject=subject,
        signer=_signer(keys, "JPN").sign,
    )
    assert reason(forged) == "signature"
    assert reason(data[:-7]) == "truncated"
    assert reason(data + b"\x00" * (2 * 1024 * 1024)) == "size"
    old = encode_message(
        "hb",
        hb,
        sender="usa-node",
        nation="USA",
        seq=5,
        subject=subject,
        signer=usa.sign,
        sent_ns=time.time_ns() - 2 * 3600 * 10**9,
    )
    assert reason(old) == "stale"
    ahead = encode_message(
        "hb",
        hb,
        sender="usa-node",
        nation="USA",
        seq=5,
        subject=subject,
        signer=usa.sign,
        sent_ns=time.time_ns() + 3600 * 10**9,
    )
    assert reason(ahead) == "future"


# ---------------------------------------------------------------------------- nodes
def _secure_values(nation: str, scenario_dir: Path, keys: Path, audit_dir: Path, **extra) -> dict:
    return node_values(
        nation,
        scenario_dir,
        security={
            "keys_dir": str(node_keys(keys, nation)),
            "audit_log": str(audit_dir / f"{nation}.jsonl"),
            "max_message_bytes": 256 * 1024,
        },
        **extra,
    )


@pytest.mark.parametrize("kind", ["memory", "nats"])
async def test_attacks_are_rejected_counted_audited_and_change_nothing(
    scenario_dir, keys, tmp_path, kind, fresh_secure_server
):
    """Forged, tampered, replayed, reordered, stale, truncated, oversized and unsigned messages,
    injected on Japan's subjects by an insider who holds the bus (the operator's credentials)
    and the USA's signing key for some of them."""
    memory = MemoryBus() if kind == "memory" else None
    secure_server = fresh_secure_server if memory is None else None
    if memory is not None:
        attacker = memory
    else:
        attacker = await NatsBus.connect(
            secure_server.url, name="attacker", **nats_options(keys, ADMIN)
        )
    stream_start = await attacker.last_seq()

    def node(nation: str) -> Node:
        values = _secure_values(nation, scenario_dir, keys, tmp_path)
        if memory is not None:
            return Node(NodeConfig.from_mapping(values), bus=memory)
        return Node(NodeConfig.from_mapping({**values, "bus": secure_server.url}))

    usa_key = _signer(keys, "USA")
    jpn_key = _signer(keys, "JPN")
    subject = "air.hb.USA.JPN"
    hb = Heartbeat(recipient="JPN", clock_s=0.0)
    now = time.time_ns()

    def signed(signer: Signer, seq: int, **kw) -> bytes:
        return encode_message(
            "hb",
            kw.pop("payload", hb),
            sender="usa-node",
            nation="USA",
            seq=seq,
            subject=kw.pop("subject", subject),
            signer=signer.sign,
            **kw,
        )

    genuine = signed(usa_key, 10)
    tampered = list(msgspec.msgpack.decode(genuine))
    tampered[6] = msgspec.msgpack.encode(Heartbeat(recipient="JPN", clock_s=1e12))
    before = [
        ("air.hb.USA.JPN", signed(jpn_key, 1)),  # forged: Japan's key for the USA
        ("air.hb.USA.JPN", msgspec.msgpack.encode(tampered)),  # tampered payload
        ("air.hb.USA.JPN", encode_message("hb", hb, sender="usa-node", nation="USA", seq=2)),
        ("air.hb.USA.JPN", signed(usa_key, 3, sent_ns=now - 7200 * 10**9)),  # stale capture
        ("air.hb.USA.JPN", genuine[:-9]),  # truncated
        ("air.hb.USA.JPN", genuine + b"\x00" * (300 * 1024)),  # oversized
        ("air.hb.USA.JPN", b"\x93garbage"),  # malformed
    ]
    for subj, data in before:
        await attacker.publish(subj, data)
    nodes = {n: node(n) for n in NATIONS}
    runs = [asyncio.create_task(nd.run()) for nd in nodes.values()]

    # Mid-run: replay a real USA message to Japan, and send a correctly signed one whose
    # sequence number is below what Japan has seen (reordered beyond the window).
    real: list[Message] = []

    async def keep(message: Message) -> None:
        if message.seq > stream_start and b"usa-node" in message.data:
            real.append(message)

    while len(real) < 2:
        real.clear()
        await asyncio.sleep(0.02)
        await attacker.replay("air.det.USA.JPN", keep, from_seq=stream_start + 1)
    await attacker.publish("air.det.USA.JPN", real[0].data)
    await attacker.publish(subject, signed(usa_key, 11))  # far below the node's time-based seq
    await asyncio.wait_for(asyncio.gather(*runs), timeout=60)

    rejected = nodes["JPN"].health()["rejected"]
    assert rejected == {
        "signature": 2,
        "unsigned": 1,
        "stale": 1,
        "truncated": 1,
        "size": 1,
        "malformed": 1,
        "replay": 2,
    }
    expected = batch_picture(scenario_dir)
    for nd in nodes.values():
        assert_same_picture(nd.picture, expected)
    # The USA's node, resuming, read back its own channel to Japan and found the forgeries
    # there (all but the two mid-run messages): none of them could move its clock.
    assert nodes["USA"].health()["rejected"] == {
        "signature": 2,
        "unsigned": 1,
        "stale": 1,
        "truncated": 1,
        "size": 1,
        "malformed": 1,
    }
    assert nodes["AUS"].health()["rejected"] == {}
    lines = [json.loads(x) for x in (tmp_path / "JPN.jsonl").read_text().splitlines()]
    assert len(lines) == sum(rejected.values())
    assert {x["reason"] for x in lines} == set(rejected)
    for line in lines:
        assert {"time", "sender", "subject", "reason", "node", "prev"} <= set(line)
        assert line["node"] == "jpn-node" and line["subject"].endswith(".JPN")
    # Only the stale capture and the replays carried a signature that verified.
    assert {x["reason"] for x in lines if x["sender_verified"]} == {"stale", "replay"}
    assert verify_audit_log(tmp_path / "JPN.jsonl").intact
    assert stat.S_IMODE((tmp_path / "JPN.jsonl").stat().st_mode) == 0o600
    if secure_server is not None:
        await attacker.close()


def test_a_nats_node_needs_security_or_an_explicit_insecure_flag(scenario_dir, keys):
    values = node_values("JPN", scenario_dir, bus="tls://127.0.0.1:4222")
    with pytest.raises(ConfigError, match="security"):
        NodeConfig.from_mapping(values)
    assert NodeConfig.from_mapping({**values, "insecure": True}).security is None
    config = NodeConfig.from_mapping({**values, "security": {"keys_dir": str(keys)}})
    assert config.security is not None and config.security.keys_dir == keys
    with pytest.raises(ConfigError, match="security.max_age_s"):
        NodeConfig.from_mapping({**values, "security": {"keys_dir": str(keys), "max_age_s": -1}})


# ---------------------------------------------------------------------------- audit chain
def test_the_audit_log_is_chained_and_its_first_broken_line_is_found(tmp_path, capsys):
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path, node="jpn-node")
    for seq, reason in enumerate(("signature", "replay", "stale", "size"), start=1):
        audit.record(subject="air.hb.USA.JPN", reason=reason, sender="usa-node", bus_seq=seq)
    audit.close()
    check = verify_audit_log(path)
    assert check.intact and check.entries == 4 and check.head == audit.head
    # Appending again (a restarted node) continues the chain.
    again = AuditLog(path, node="jpn-node")
    assert again.head == audit.head
    again.record(subject="air.hb.AUS.JPN", reason="malformed", bus_seq=5)
    again.close()
    head = again.head
    assert verify_audit_log(path, expected_head=head).entries == 5
    assert cli_main(["audit", "verify", str(path)]) == 0
    assert f"5 entries, chain intact, head {head}" in capsys.readouterr().out
    lines = path.read_text().splitlines(keepends=True)
    assert [json.loads(x)["sender_verified"] for x in lines] == [False, True, True, False, False]

    def tampered(name: str, changed: list[str]) -> Path:
        copy = tmp_path / name
        copy.write_text("".join(changed))
        return copy

    edited = lines.copy()
    edited[2] = edited[2].replace('"stale"', '"other"')  # line 3's content
    removed = lines[:1] + lines[2:]  # line 2 gone
    moved = [lines[0], lines[2], lines[1], *lines[3:]]  # lines 2 and 3 swapped
    inserted = [*lines[:2], lines[1], *lines[2:]]  # line 2 again after itself
    garbled = [*lines[:3], "not json\n", *lines[4:]]
    for name, changed, broken in (
        ("edited", edited, 4),
        ("removed", removed, 2),
        ("moved", moved, 2),
        ("inserted", inserted, 3),
        ("garbled", garbled, 4),
    ):
        check = verify_audit_log(tampered(name, changed))
        assert (check.broken_line, check.entries) == (broken, broken - 1), name
        assert not check.intact and check.problem
        assert cli_main(["audit", "verify", str(tmp_path / name)]) == 1
        assert f"line {broken} breaks the chain" in capsys.readouterr().out
    # Lines cut from the end leave a chain that holds, short of the head noted before.
    cut = tampered("cut", lines[:3])
    assert verify_audit_log(cut).intact
    check = verify_audit_log(cut, expected_head=head)
    assert (check.broken_line, check.entries) == (4, 3)
    assert cli_main(["audit", "verify", "--head", head, str(cut)]) == 1
