"""What the map server refuses before serving anything: a ``Host`` that does not name it, an
``Origin`` of another site on a WebSocket handshake or a state-changing request (DNS rebinding,
cross-site WebSocket hijacking), a request head too long or too slow (slowloris). Servers run on
127.0.0.1 and are called with httpx, websockets and raw sockets."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
ws_client = pytest.importorskip("websockets.sync.client")
ws_exceptions = pytest.importorskip("websockets.exceptions")

from airpicture.errors import ConfigError  # noqa: E402
from airpicture.web import PictureStore, WebServer, create_app, start_server  # noqa: E402

from ._synthetic import flights  # noqa: E402

EVIL = "evil.example"


@pytest.fixture(scope="module")
def served():  # type: ignore[no-untyped-def]
    store = PictureStore(nations=["JPN", "USA"])
    store.apply("USA", flights(1.0, [40.0], [140.0], ids=["U1"]))
    app = create_app(
        store, allowed_hosts=["map.example.org"], allowed_origins=["https://ops.example.org"]
    )
    server = start_server(app, port=0)
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        yield server, client
    server.stop()


@contextlib.contextmanager
def _serving(caplog: pytest.LogCaptureFixture, **options: Any) -> Iterator[WebServer]:
    """A map server on 127.0.0.1 for one test; ``caplog`` sees uvicorn's loggers too (starting a
    server configures them not to propagate to the root)."""
    caplog.set_level(logging.INFO)
    server = start_server(create_app(PictureStore(nations=["JPN"])), port=0, **options)
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.addHandler(caplog.handler)
    try:
        yield server
    finally:
        uvicorn.removeHandler(caplog.handler)
        server.stop()


def _ws_url(server) -> str:  # type: ignore[no-untyped-def]
    return server.url.replace("http://", "ws://") + "ws?nation=USA"


def _rejected(client) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return client.get("/api/health").json()["rejected_requests"]["by_reason"]


def _no_traceback(caplog) -> None:  # type: ignore[no-untyped-def]
    for record in caplog.records:
        assert record.exc_info is None and "Traceback" not in record.getMessage(), record


def test_a_websocket_opened_by_another_site_is_refused(served) -> None:  # type: ignore[no-untyped-def]
    server, client = served
    before = _rejected(client).get("403 Origin header", 0)
    with pytest.raises(ws_exceptions.InvalidStatus) as refused:
        with ws_client.connect(_ws_url(server), origin=f"http://{EVIL}", open_timeout=10):
            pass
    response = refused.value.response
    assert response.status_code == 403
    error = json.loads(bytes(response.body))["error"]
    assert error["where"] == "Origin header" and error["got"] == f"'http://{EVIL}'"
    assert f"http://127.0.0.1:{server.port}" in error["expected"]
    assert _rejected(client)["403 Origin header"] == before + 1


def test_a_request_naming_another_host_is_refused(served) -> None:  # type: ignore[no-untyped-def]
    server, client = served
    before = _rejected(client).get("403 Host header", 0)
    r = client.get("/api/picture", params={"nation": "USA"}, headers={"Host": EVIL})
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["where"] == "Host header" and error["got"] == f"'{EVIL}'"
    assert (
        f"localhost:{server.port}" in error["expected"] and "map.example.org" in error["expected"]
    )
    assert error["message"] == f"Host header: expected {error['expected']}, got '{EVIL}'"
    # A page of evil.example whose name now resolves to 127.0.0.1 (DNS rebinding).
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as rebound:
        with pytest.raises(ws_exceptions.InvalidStatus) as refused:
            with ws_client.connect(f"ws://{EVIL}:{server.port}/ws", sock=rebound, open_timeout=10):
                pass
    assert refused.value.response.status_code == 403
    assert _rejected(client)["403 Host header"] == before + 2


def test_a_state_changing_request_from_another_site_is_refused(served) -> None:  # type: ignore[no-untyped-def]
    server, client = served
    r = client.post("/api/picture", headers={"Origin": f"http://{EVIL}"})
    assert r.status_code == 403 and r.json()["error"]["where"] == "Origin header"
    own = client.post("/api/picture", headers={"Origin": f"http://127.0.0.1:{server.port}"})
    assert own.status_code == 405  # past the guard: the route only answers GET


def test_own_and_configured_hosts_and_origins_are_accepted(served) -> None:  # type: ignore[no-untyped-def]
    server, client = served
    before = sum(_rejected(client).values())
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", "MAP.example.org"):
        r = client.get("/api/picture", params={"nation": "USA"}, headers={"Host": host})
        assert r.status_code == 200 and [t["id"] for t in r.json()["tracks"]] == ["U1"], host
    # A GET from another site is not refused for its Origin: the browser keeps the answer from
    # that site's page (no CORS headers), and the Host check already ran.
    r = client.get("/api/info", headers={"Origin": f"http://{EVIL}"})
    assert r.status_code == 200
    origins = (
        None,  # not a browser
        f"http://127.0.0.1:{server.port}",  # the page's own
        f"http://localhost:{server.port}",
        "https://map.example.org",  # behind a TLS proxy
        "https://ops.example.org",  # configured
    )
    for origin in origins:
        with ws_client.connect(_ws_url(server), origin=origin, open_timeout=10) as ws:
            snapshot = json.loads(ws.recv(timeout=10))
            assert snapshot["type"] == "snapshot" and snapshot["nation"] == "USA", origin
    assert sum(_rejected(client).values()) == before


def test_refusals_are_counted_and_the_first_of_each_is_a_warning(caplog) -> None:  # type: ignore[no-untyped-def]
    with _serving(caplog) as server, httpx.Client(base_url=server.url, timeout=10.0) as client:
        for _ in range(3):
            assert client.get("/api/health", headers={"Host": EVIL}).status_code == 403
        health = client.get("/api/health").json()
    assert health["rejected_requests"] == {"total": 3, "by_reason": {"403 Host header": 3}}
    refusals = [r for r in caplog.records if r.getMessage().startswith("refused GET /api/health")]
    assert [r.levelno for r in refusals] == [logging.WARNING, logging.INFO, logging.INFO]
    assert f"got '{EVIL}'" in refusals[0].getMessage()
    _no_traceback(caplog)


def test_allowed_hosts_and_origins_are_checked_at_once() -> None:
    store = PictureStore(nations=["JPN"])
    for bad in ("http://map.example.org", "*", "map.example.org/", ""):
        with pytest.raises(ConfigError, match="key allowed_hosts: expected host names"):
            create_app(store, allowed_hosts=[bad])
    for bad in ("map.example.org", "https://map.example.org/", "null"):
        with pytest.raises(ConfigError, match="key allowed_origins: expected origins"):
            create_app(store, allowed_origins=[bad])
    with pytest.raises(ConfigError, match="key head_timeout_s: expected a positive number"):
        start_server(create_app(store), port=0, head_timeout_s=0)
    with pytest.raises(ConfigError, match="key max_head_bytes: expected a positive integer"):
        start_server(create_app(store), port=0, max_head_bytes=0)


def _exchange(server, data: bytes) -> bytes:  # type: ignore[no-untyped-def]
    """Send ``data`` and read the answer until the server closes the connection."""
    answer = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        # A server that closes with data of ours unread resets the connection after its answer.
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
    return answer


def test_an_oversized_request_head_is_refused_without_a_traceback(caplog) -> None:  # type: ignore[no-untyped-def]
    with _serving(caplog) as server:
        host = f"Host: 127.0.0.1:{server.port}\r\n".encode()
        line = b"GET /api/picture?nation=" + b"J" * 70_000 + b" HTTP/1.1\r\n"
        header = b"GET /api/info HTTP/1.1\r\n" + host + b"X-Big: " + b"b" * 70_000 + b"\r\n"
        for head in (line + host + b"\r\n", header + b"\r\n", line):  # the last one unfinished
            answer = _exchange(server, head)
            status, _, body = answer.partition(b"\r\n\r\n")
            assert status.startswith(b"HTTP/1.1 431 "), answer[:200]
            error = json.loads(body)["error"]
            assert error["where"] == "request head" and "at most 32768 bytes" in error["expected"]
        assert httpx.get(server.url + "api/info", timeout=10).status_code == 200  # still serving
    _no_traceback(caplog)
    refusals = [r for r in caplog.records if r.getMessage().startswith("refused a request from")]
    assert len(refusals) == 3 and all(r.levelno == logging.WARNING for r in refusals)


def test_a_client_trickling_its_head_is_cut_off(caplog) -> None:  # type: ignore[no-untyped-def]
    with _serving(caplog, head_timeout_s=0.5) as server:
        deadline = time.monotonic() + 60  # a bound for the test, not the timeout under test
        answer = b""
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /api/info HTTP/1.1\r\n")
            sock.settimeout(0.05)
            while time.monotonic() < deadline:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:  # reset: the server closed the connection
                    break
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                answer += chunk
        assert answer, "the server kept a trickling client"
        status, _, body = answer.partition(b"\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 408 "), answer[:200]
        error = json.loads(body)["error"]
        assert error["where"] == "request head" and "within 0.5 s" in error["expected"]
        # A head sent at once, on a connection that then idles, is served as always.
        with httpx.Client(base_url=server.url, timeout=10.0) as client:
            assert client.get("/api/info").status_code == 200
            assert client.get("/api/health").status_code == 200
    _no_traceback(caplog)
