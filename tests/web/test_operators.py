"""Operators of the map: local accounts (scrypt, per-account salt, the accounts file and its
command), sessions that expire, a login required once accounts are configured, every request
and action checked against the operator's nation and role on the server, TLS beyond
127.0.0.1, and logins, views, track details and actions in the audit log."""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
ws_client = pytest.importorskip("websockets.sync.client")
ws_exceptions = pytest.importorskip("websockets.exceptions")

from airpicture.errors import ConfigError  # noqa: E402
from airpicture.net import AuditLog, init_keys, verify_audit_log  # noqa: E402
from airpicture.web import (  # noqa: E402
    Accounts,
    CoordinationBoard,
    Operator,
    PictureStore,
    Sessions,
    add_account,
    create_app,
    start_server,
)
from airpicture.web._auth import check_password, hash_password  # noqa: E402

from ._synthetic import flights  # noqa: E402

PASSWORDS = {"alice": "a-long-pass", "bob": "b-long-pass", "vic": "v-long-pass"}


@pytest.fixture(scope="module")
def accounts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("accounts") / "operators.toml"
    add_account(path, "alice", nation="JPN", role="operator", password=PASSWORDS["alice"])
    add_account(path, "bob", nation="USA", role="supervisor", password=PASSWORDS["bob"])
    add_account(path, "vic", nation="JPN", role="viewer", password=PASSWORDS["vic"])
    return path


def test_passwords_are_salted_scrypt_hashes_checked_in_constant_time(accounts_file):
    one, two = hash_password("same"), hash_password("same")
    assert one != two and one.startswith("scrypt$16384$8$1$")
    assert check_password("same", one) and check_password("same", two)
    assert not check_password("other", one) and not check_password("same", "plain")
    text = accounts_file.read_text()
    assert all(p not in text for p in PASSWORDS.values())
    assert os.stat(accounts_file).st_mode & 0o777 == 0o600
    accounts = Accounts.load(accounts_file)
    assert accounts.authenticate("alice", PASSWORDS["alice"]) == Operator(
        "alice", "JPN", "operator"
    )
    assert accounts.authenticate("alice", PASSWORDS["bob"]) is None
    assert accounts.authenticate("nobody", PASSWORDS["alice"]) is None
    assert [o.name for o in accounts.operators()] == ["alice", "bob", "vic"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[operators.x]\nnation = "JP"\nrole = "operator"\npassword = "scrypt$1"\n', "nation"),
        ('[operators.x]\nnation = "JPN"\nrole = "admin"\npassword = "scrypt$1"\n', "role"),
        ('[operators.x]\nnation = "JPN"\nrole = "viewer"\npassword = "plain"\n', "password"),
        ('[operators.x]\nnation = "JPN"\nrole = "viewer"\n', "operators.x"),
        ('[users.x]\nnation = "JPN"\n', "(top)"),
    ],
)
def test_a_bad_accounts_file_is_refused_naming_the_key(tmp_path, text, key):
    path = tmp_path / "a.toml"
    path.write_text(text)
    with pytest.raises(
        ConfigError, match=r"key [^:]*" + key.replace("(", r"\(").replace(")", r"\)")
    ):
        Accounts.load(path)


def test_the_command_adds_an_operator_with_the_password_from_stdin(tmp_path):
    path = tmp_path / "ops.toml"
    command = [sys.executable, "-m", "airpicture.cli", "operators", "add", str(path), "carol"]
    done = subprocess.run(
        [*command, "--nation", "AUS", "--role", "viewer", "--password-stdin"],
        input="c-long-pass\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert Accounts.load(path).authenticate("carol", "c-long-pass") == Operator(
        "carol", "AUS", "viewer"
    )
    bad = subprocess.run(
        [*command, "--nation", "Australia", "--role", "viewer"],
        input="x\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "expected a nation code" in bad.stderr


def test_sessions_end_after_their_lifetime_or_when_idle():
    alice = Operator("alice", "JPN", "operator")
    sessions = Sessions(ttl_s=0.3, idle_s=0.2)
    token = sessions.open(alice)
    assert sessions.get(token) == alice
    time.sleep(0.12)
    assert sessions.get(token) == alice  # in use: idle time starts again
    time.sleep(0.12)
    assert sessions.get(token) == alice
    time.sleep(0.1)
    assert sessions.get(token) is None  # 0.34 s after the login
    idle = sessions.open(alice)
    time.sleep(0.25)
    assert sessions.get(idle) is None
    closed = sessions.open(alice)
    sessions.close(closed)
    assert sessions.get(closed) is None and sessions.get("made-up") is None


class _Node:
    """What the map hands actions to: records them, as a node's coordination would."""

    def __init__(self, board: CoordinationBoard) -> None:
        self.board = board
        self.calls: list[tuple[Operator, dict[str, str]]] = []

    async def act(self, operator: Operator, fields: dict[str, str]) -> dict[str, object]:
        if fields.get("track_id") != "T000000":
            raise LookupError(f"{fields.get('track_id')} is not held")
        self.calls.append((operator, fields))
        record = {
            "action_id": f"JPN-{len(self.calls)}",
            "origin": operator.nation,
            "operator": operator.name,
            "t_s": time.time(),
            **fields,
        }
        self.board.apply(operator.nation, record)
        return record


@pytest.fixture(scope="module")
def secured(accounts_file, tmp_path_factory):  # type: ignore[no-untyped-def]
    store = PictureStore(nations=["JPN", "USA", "AUS"])
    store.apply("JPN", flights(1.0, [37.0], [134.0]))
    store.apply("USA", flights(1.0, [40.0], [140.0], ids=["U1"]))
    board = CoordinationBoard(store.nations)
    node = _Node(board)
    audit_path = tmp_path_factory.mktemp("audit") / "map.jsonl"
    audit = AuditLog(audit_path, node="map")
    app = create_app(
        store,
        accounts=Accounts.load(accounts_file),
        sessions=Sessions(ttl_s=30.0, idle_s=30.0),
        coordination=board,
        act=node.act,
        audit=audit,
    )
    server = start_server(app, port=0)
    yield server, node, audit_path
    server.stop()
    audit.close()


@contextlib.contextmanager
def _login(server, name: str) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        answer = client.post("/api/login", json={"name": name, "password": PASSWORDS[name]})
        assert answer.status_code == 200, answer.text
        yield client


def test_with_accounts_everything_but_the_page_needs_a_login(secured):  # type: ignore[no-untyped-def]
    server, _, audit_path = secured
    with httpx.Client(base_url=server.url, timeout=10.0) as anyone:
        assert anyone.get("/").status_code == 200
        assert anyone.get("/static/app.js").status_code == 200
        session = anyone.get("/api/session").json()
        assert session["login_required"] is True and session["operator"] is None
        for path in ("/api/info", "/api/picture", "/api/alerts", "/api/coordination"):
            answer = anyone.get(path)
            assert answer.status_code == 401 and answer.json()["error"]["got"] == "no session"
        wrong = anyone.post("/api/login", json={"name": "alice", "password": "guess"})
        assert wrong.status_code == 401
        with pytest.raises(ws_exceptions.InvalidStatus):
            ws_client.connect(server.url.replace("http", "ws") + "ws", open_timeout=10)
    with _login(server, "alice") as alice:
        cookie = alice.cookies.jar
        assert [c.name for c in cookie] == ["airpicture_session"]
        assert alice.get("/api/session").json()["operator"] == {
            "name": "alice",
            "nation": "JPN",
            "role": "operator",
            "actions": ["acknowledge", "identity", "note"],
        }
        info = alice.get("/api/info").json()
        assert info["nations"] == ["JPN"] and info["default_nation"] == "JPN"
        assert len(alice.get("/api/picture", params={"nation": "JPN"}).json()["tracks"]) == 1
        refused = alice.get("/api/picture", params={"nation": "USA"})
        assert refused.status_code == 403 and "operator's nation, JPN" in refused.text
        alice.post("/api/logout")
        assert alice.get("/api/info").status_code == 401
    lines = [json.loads(line) for line in audit_path.read_text().splitlines()]
    assert [(x["event"], x["operator"]) for x in lines[:3]] == [
        ("login-failed", "alice"),
        ("login", "alice"),
        ("logout", "alice"),
    ]


def test_every_action_is_checked_against_the_operators_role_and_nation(secured):  # type: ignore[no-untyped-def]
    server, node, audit_path = secured
    hostile = {"nation": "JPN", "action": "identity", "track_id": "T000000", "identity": "hostile"}
    with _login(server, "vic") as viewer:
        refused = viewer.post("/api/actions", json=hostile)
        assert refused.status_code == 403 and "a viewer may take: none" in refused.text
    with _login(server, "bob") as usa:  # a supervisor of the USA, in Japan's view
        refused = usa.post("/api/actions", json=hostile)
        assert refused.status_code == 403 and "operator's nation, USA" in refused.text
    with _login(server, "alice") as alice:
        handover = {"action": "handover", "track_id": "T000000", "handover_to": "USA"}
        assert alice.post("/api/actions", json=handover).status_code == 403
        assert alice.post("/api/actions", json={**hostile, "track_id": "X9"}).status_code == 404
        bad = alice.post("/api/actions", json={**hostile, "priority": "1"})
        assert bad.status_code == 400 and "field 'priority'" in bad.text
        done = alice.post("/api/actions", json=hostile)
        assert done.status_code == 200 and done.json()["action"]["identity"] == "hostile"
        url = server.url.replace("http", "ws") + "ws?nation=JPN"
        headers = {"Cookie": f"airpicture_session={alice.cookies['airpicture_session']}"}
        with ws_client.connect(url, open_timeout=10, additional_headers=headers) as ws:
            snapshot = json.loads(ws.recv(timeout=10))
            assert [a["identity"] for a in snapshot["coordination"]] == ["hostile"]
            note = {"action": "note", "track_id": "T000000", "note": "climbing"}
            assert alice.post("/api/actions", json=note).status_code == 200
            pushed = json.loads(ws.recv(timeout=10))
            assert pushed["type"] == "coord" and pushed["actions"][0]["note"] == "climbing"
            ws.send(json.dumps({"type": "view", "nation": "USA"}))
            assert "operator's" in json.loads(ws.recv(timeout=10))["error"]["expected"]
        with pytest.raises(ws_exceptions.InvalidStatus):
            other = server.url.replace("http", "ws") + "ws?nation=USA"
            ws_client.connect(other, open_timeout=10, additional_headers=headers)
        details = alice.get("/api/coordination", params={"track_id": "T000000"}).json()
        assert [a["action"] for a in details["actions"]] == ["identity", "note"]
    assert [(op.name, f["action"]) for op, f in node.calls] == [
        ("alice", "identity"),
        ("alice", "note"),
    ]
    assert verify_audit_log(audit_path).intact
    lines = [json.loads(line) for line in audit_path.read_text().splitlines()]
    seen = [(x["event"], x["operator"], x.get("view")) for x in lines if x["event"] != "login"]
    assert ("refused", "vic", "JPN") in seen and ("refused", "bob", "JPN") in seen
    assert ("action", "alice", "JPN") in seen and ("view", "alice", "JPN") in seen
    assert ("track", "alice", "JPN") in seen


def test_without_accounts_the_map_is_open_and_takes_no_actions():
    store = PictureStore(nations=["JPN", "USA"])
    server = start_server(create_app(store), port=0)
    try:
        with httpx.Client(base_url=server.url, timeout=10.0) as client:
            assert client.get("/api/info").json()["nations"] == ["JPN", "USA"]
            assert client.get("/api/session").json()["login_required"] is False
            refused = client.post("/api/actions", json={"action": "note"})
            assert refused.status_code == 403
            assert client.post("/api/login", json={"name": "a"}).status_code == 404
    finally:
        server.stop()


def test_serving_beyond_this_machine_needs_tls_and_accounts(accounts_file, tmp_path):
    keys = tmp_path / "keys"
    init_keys(keys, ["JPN"])
    cert, key = keys / "server" / "tls.crt", keys / "server" / "tls.key"
    store = PictureStore(nations=["JPN"])
    with pytest.raises(ConfigError, match="without TLS"):
        start_server(create_app(store, accounts=Accounts.load(accounts_file)), host="0.0.0.0")
    with pytest.raises(ConfigError, match="without accounts"):
        start_server(create_app(store), host="0.0.0.0", tls_cert=cert, tls_key=key)
    with pytest.raises(ConfigError, match="a PEM certificate"):
        start_server(
            create_app(store, accounts=Accounts.load(accounts_file)),
            host="0.0.0.0",
            tls_cert=key,
            tls_key=key,
        )
    app = create_app(store, accounts=Accounts.load(accounts_file))
    server = start_server(app, host="0.0.0.0", port=0, tls_cert=cert, tls_key=key)
    try:
        assert server.url.startswith("https://0.0.0.0:")
        verify = ssl.create_default_context(cafile=str(keys / "ca.crt"))
        url = f"https://127.0.0.1:{server.port}"
        with httpx.Client(base_url=url, verify=verify, timeout=10.0) as client:
            assert client.get("/api/info").status_code == 401
            answer = client.post("/api/login", json={"name": "alice", "password": "a-long-pass"})
            assert answer.status_code == 200
            assert "secure" in answer.headers["set-cookie"].lower()
            assert "httponly" in answer.headers["set-cookie"].lower()
        with pytest.raises(httpx.TransportError):  # plain HTTP: no answer
            httpx.get(f"http://127.0.0.1:{server.port}/api/info", timeout=5.0)
    finally:
        server.stop()


def test_the_demo_with_accounts_takes_actions_through_its_nodes(accounts_file, tmp_path):
    """``airpicture demo --accounts``: an operator's action goes to the node of their nation,
    which applies it to its view and audits it; the map audits the login and the action."""
    from airpicture.demo import run_demo

    urls: list[str] = []
    stop = threading.Event()
    runner = threading.Thread(
        target=run_demo,
        args=("drill",),
        kwargs={
            "speed": 20.0,
            "port": 0,
            "duration_s": 60.0,
            "accounts": accounts_file,
            "audit_log": tmp_path / "map.jsonl",
            "on_ready": urls.append,
            "stop": stop,
        },
    )
    runner.start()
    try:
        deadline = time.monotonic() + 60.0
        while not urls and time.monotonic() < deadline:
            time.sleep(0.05)
        with httpx.Client(base_url=urls[0], timeout=10.0) as alice:
            assert alice.get("/api/info").status_code == 401
            login = {"name": "alice", "password": PASSWORDS["alice"]}
            assert alice.post("/api/login", json=login).status_code == 200
            # a confirmed track of the map's picture; the node may have dropped it a moment
            # before (the map lags the node): then another is taken
            done = None
            while time.monotonic() < deadline:
                tracks = alice.get("/api/picture").json()["tracks"]
                firm = [str(t["id"]) for t in tracks if t["st"] == "confirmed"]
                if firm:
                    track = firm[0]
                    action = {"action": "identity", "track_id": track, "identity": "friend"}
                    done = alice.post("/api/actions", json=action)
                    if done.status_code != 404:
                        break
                time.sleep(0.2)
            assert done is not None and done.status_code == 200, done and done.text
            while time.monotonic() < deadline:
                shown = alice.get("/api/coordination", params={"track_id": track}).json()
                if shown["actions"]:
                    break
                time.sleep(0.05)
            assert [a["identity"] for a in shown["actions"]] == ["friend"]
    finally:
        stop.set()
        runner.join(60)
    node_log = [json.loads(x) for x in (tmp_path / "map-JPN.jsonl").read_text().splitlines()]
    assert [(x["event"], x["operator"], x["identity"]) for x in node_log] == [
        ("coordination", "alice", "friend")
    ]
    map_log = [json.loads(x)["event"] for x in (tmp_path / "map.jsonl").read_text().splitlines()]
    assert map_log[:2] == ["login", "action"]
