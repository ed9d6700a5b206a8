"""The HTTP and WebSocket API, served by uvicorn on 127.0.0.1 and called with httpx/websockets."""

from __future__ import annotations

import json

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
ws_client = pytest.importorskip("websockets.sync.client")

from airpicture.errors import ConfigError  # noqa: E402
from airpicture.web._app import create_app  # noqa: E402
from airpicture.web._server import start_server  # noqa: E402
from airpicture.web._store import Alert, PictureStore, SensorSite  # noqa: E402

from ._synthetic import flights  # noqa: E402
from .test_store import AREAS  # noqa: E402


@pytest.fixture(scope="module")
def served():  # type: ignore[no-untyped-def]
    store = PictureStore(nations=["JPN", "USA", "AUS"])
    store.info = {"scenario": "test"}
    store.set_areas(AREAS)
    store.set_sensors(
        [SensorSite("JPN-R1", "JPN", "radar", 37.4, 136.9, 560.0, 450e3, views=("JPN", "USA"))]
    )
    for t in range(20):
        store.apply("JPN", flights(float(t), [37.0, 38.0, 39.0], [134.0, 135.0, 136.0]))
    store.apply("USA", flights(19.0, [40.0], [140.0], ids=["U1"]))
    server = start_server(create_app(store), port=0)
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        yield store, server, client
    server.stop()


def test_page_and_bundle_are_served(served) -> None:  # type: ignore[no-untyped-def]
    _, _, client = served
    page = client.get("/")
    assert page.status_code == 200 and "static/app.js" in page.text
    for path in ("/static/app.js", "/static/app.css", "/static/countries-50m.json"):
        r = client.get(path)
        assert r.status_code == 200 and len(r.content) > 1000, path


def test_picture_now_and_in_the_past(served) -> None:  # type: ignore[no-untyped-def]
    _, _, client = served
    now = client.get("/api/picture", params={"nation": "JPN"}).json()
    assert now["type"] == "snapshot" and now["live"] and now["t_s"] == 19.0
    assert sorted(r["id"] for r in now["tracks"]) == ["T000000", "T000001", "T000002"]
    past = client.get("/api/picture", params={"nation": "JPN", "t_s": "5", "trails": "0"}).json()
    assert not past["live"] and {r["t"] for r in past["tracks"]} == {5.0} and past["trails"] == {}
    usa = client.get("/api/picture", params={"nation": "USA"}).json()
    assert [r["id"] for r in usa["tracks"]] == ["U1"]


def test_track_history_sensors_alerts_areas_info(served) -> None:  # type: ignore[no-untyped-def]
    store, _, client = served
    hist = client.get("/api/tracks/T000001/history", params={"nation": "JPN"}).json()
    assert [r["t"] for r in hist["rows"]] == [float(t) for t in range(20)]
    sensors = client.get("/api/sensors").json()["sensors"]
    assert sensors[0]["sensor_id"] == "JPN-R1" and sensors[0]["views"] == ["JPN", "USA"]
    store.set_alert("AUS", Alert("A7", "niigata", "T9", "active", 19.0))
    alerts = client.get("/api/alerts", params={"nation": "AUS", "state": "active"}).json()
    assert [a["alert_id"] for a in alerts["alerts"]] == ["A7"]
    assert client.get("/api/alerts", params={"nation": "JPN"}).json()["alerts"] == []
    assert client.get("/api/areas").json()["features"][0]["properties"]["id"] == "niigata"
    info = client.get("/api/info").json()
    assert info["nations"] == ["JPN", "USA", "AUS"] and info["scenario"] == "test"
    assert info["time_range"]["JPN"] == {"t_min": 0.0, "t_max": 19.0}


@pytest.mark.parametrize(
    ("path", "params", "status", "where", "got"),
    [
        ("/api/picture", {"nation": "FRA"}, 400, "/api/picture query parameter 'nation'", "'FRA'"),
        ("/api/picture", {"t_s": "soon"}, 400, "/api/picture query parameter 't_s'", "'soon'"),
        ("/api/picture", {"t_s": "nan"}, 400, "/api/picture query parameter 't_s'", "'nan'"),
        (
            "/api/picture",
            {"trails": "maybe"},
            400,
            "/api/picture query parameter 'trails'",
            "'maybe'",
        ),
        (
            "/api/picture",
            {"natoin": "JPN"},
            400,
            "/api/picture query parameter 'natoin'",
            "an unknown parameter",
        ),
        ("/api/alerts", {"state": "open"}, 400, "/api/alerts query parameter 'state'", "'open'"),
        ("/api/tracks/NOPE/history", {}, 404, "/api/tracks/{id}/history", "'NOPE'"),
        ("/api/nothing", {}, 404, "request path", "'/api/nothing'"),
    ],
)
def test_bad_requests_get_clear_json_errors(served, path, params, status, where, got) -> None:  # type: ignore[no-untyped-def]
    _, _, client = served
    r = client.get(path, params=params)
    assert r.status_code == status
    error = r.json()["error"]
    assert error["where"] == where and error["got"] == got and error["expected"]
    assert error["message"] == f"{where}: expected {error['expected']}, got {got}"


def test_rejected_requests_are_counted(served) -> None:  # type: ignore[no-untyped-def]
    _, _, client = served
    before = client.get("/api/health").json()["rejected_requests"]["total"]
    client.get("/api/picture", params={"nation": "XX"})
    client.post("/api/picture")
    health = client.get("/api/health").json()
    assert health["rejected_requests"]["total"] == before + 2
    assert health["rejected_requests"]["by_reason"]["405 /api/picture"] >= 1
    # paths a client makes up are counted under one reason: the counts cannot grow without bound
    for k in range(50):
        client.get(f"/made-up/{k}")
        client.get(f"/api/tracks/T{k}/history", params={"nation": "JPN"})
    reasons = client.get("/api/health").json()["rejected_requests"]["by_reason"]
    assert reasons["404 request path"] >= 50 and reasons["404 /api/tracks/{id}/history"] >= 50
    assert not any("made-up" in reason or "T7" in reason for reason in reasons)
    assert health["views"]["JPN"]["tracks"] == 3 and health["status"] == "ok"


def test_websocket_snapshot_then_deltas_then_view_change(served) -> None:  # type: ignore[no-untyped-def]
    store, server, _ = served
    url = server.url.replace("http://", "ws://") + "ws?nation=JPN"
    with ws_client.connect(url, open_timeout=10) as ws:
        snap = json.loads(ws.recv(timeout=10))
        assert snap["type"] == "snapshot" and snap["nation"] == "JPN" and len(snap["tracks"]) == 3
        store.apply("USA", flights(30.0, [40.0], [140.0], ids=["U1"]))  # another view: not sent
        store.apply("JPN", flights(30.0, [37.0], [134.0], ids=["T000000"]))
        delta = json.loads(ws.recv(timeout=10))
        assert delta["type"] == "delta" and delta["nation"] == "JPN"
        assert [r["id"] for r in delta["tracks"]] == ["T000000"] and delta["tracks"][0]["t"] == 30.0
        ws.send("not json")
        error = json.loads(ws.recv(timeout=10))
        assert error["type"] == "error" and error["error"]["where"] == "/ws message"
        ws.send(json.dumps({"type": "view", "nation": "USA"}))
        usa = json.loads(ws.recv(timeout=10))
        assert (
            usa["type"] == "snapshot"
            and usa["nation"] == "USA"
            and [r["id"] for r in usa["tracks"]] == ["U1"]
        )


def test_websocket_refuses_an_unknown_nation(served) -> None:  # type: ignore[no-untyped-def]
    _, server, _ = served
    url = server.url.replace("http://", "ws://") + "ws?nation=XYZ"
    with pytest.raises(Exception):  # noqa: B017 - the handshake or the first read fails
        with ws_client.connect(url, open_timeout=10) as ws:
            ws.recv(timeout=10)


def test_server_only_on_loopback() -> None:
    with pytest.raises(ConfigError, match="key host: expected a loopback address"):
        start_server(create_app(PictureStore(nations=["JPN"])), host="0.0.0.0", port=0)


def test_taken_port_falls_back_to_a_free_one(served) -> None:  # type: ignore[no-untyped-def]
    _, server, _ = served
    other = start_server(create_app(PictureStore(nations=["JPN"])), port=server.port)
    try:
        assert other.port != server.port
        assert httpx.get(other.url + "api/health", timeout=10).json()["status"] == "ok"
    finally:
        other.stop()
    with pytest.raises(ConfigError, match="key port: expected a free port"):
        start_server(create_app(PictureStore(nations=["JPN"])), port=server.port, fallback=False)
