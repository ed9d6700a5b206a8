"""The map server: an ASGI app (Starlette) over a :class:`~airpicture.web.PictureStore`.

Routes
------
=====================================  =========================================================
``GET /``                              the map page (bundle in ``airpicture/web/static``)
``GET /static/...``                    the bundle, the coastlines and the licences
``WS  /ws?nation=JPN``                 a snapshot of the view on connect, then deltas only;
                                       the client may send ``{"type": "view", "nation": "USA"}``
                                       (a new snapshot follows) or ``{"type": "ping"}``
``GET /api/info``                      nations, their names and colours, the scenario, the
                                       release preset in force, time span
``GET /api/picture?nation=JPN``        the picture (``&t_s=`` for a past time, ``&trails=0``)
``GET /api/tracks/{id}/history``       every retained row of one track (``?nation=``)
``GET /api/sensors``                   sensor sites and the views each one feeds
``GET /api/alerts?nation=JPN``         alerts in their latest state (``&state=active``)
``GET /api/impacts?nation=JPN``        current impact predictions
``GET /api/areas``                     warning areas (GeoJSON FeatureCollection)
``GET /api/health``                    counters: views, clients, messages, rejected requests
=====================================  =========================================================

A bad request gets a 4xx JSON body ``{"error": {"status", "where", "expected", "got",
"message"}}``; every one is counted by reason in ``/api/health``. A WebSocket client that falls
too far behind is sent a fresh snapshot instead of the deltas it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections import Counter
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from airpicture.web._store import PictureStore

__all__ = ["RequestError", "create_app", "static_dir"]

logger = logging.getLogger(__name__)

_QUEUE_LIMIT = 64


def static_dir() -> Path:
    """The folder of the shipped page bundle."""
    return Path(str(resources.files("airpicture.web").joinpath("static")))


class RequestError(Exception):
    """A request that cannot be served: becomes a 4xx JSON error (where, expected, got)."""

    def __init__(self, status: int, where: str, *, expected: str, got: str) -> None:
        self.status = status
        self.where = where
        self.expected = expected
        self.got = got
        super().__init__(f"{where}: expected {expected}, got {got}")

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "status": self.status,
                "where": self.where,
                "expected": self.expected,
                "got": self.got,
                "message": str(self),
            }
        }


class _Client:
    def __init__(self, websocket: WebSocket, nation: str) -> None:
        self.websocket = websocket
        self.nation = nation
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=_QUEUE_LIMIT)
        self.resync = asyncio.Event()


class _Hub:
    """Fans store messages out to WebSocket clients on the server's event loop."""

    def __init__(self, store: PictureStore) -> None:
        self.store = store
        self.clients: set[_Client] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.messages_sent = 0
        self.resyncs = 0
        self._unsubscribe: Any = None

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._unsubscribe = self.store.subscribe(self._from_store)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for client in list(self.clients):
            with contextlib.suppress(asyncio.QueueFull):
                client.queue.put_nowait(None)
        self.loop = None

    def _from_store(self, message: dict[str, Any]) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(self._dispatch, message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        nation = message.get("nation")
        targets = [c for c in self.clients if nation is None or c.nation == nation]
        if not targets:
            return
        text = json.dumps(message, separators=(",", ":"), allow_nan=False)
        for client in targets:
            if client.resync.is_set():
                continue
            try:
                client.queue.put_nowait(text)
            except asyncio.QueueFull:
                # Too far behind: drop what is queued and send a fresh snapshot instead.
                while not client.queue.empty():
                    client.queue.get_nowait()
                client.resync.set()
                client.queue.put_nowait("")
                self.resyncs += 1


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(data, separators=(",", ":"), allow_nan=False),
        status_code=status,
        media_type="application/json",
    )


def create_app(store: PictureStore, *, page_dir: str | Path | None = None) -> Starlette:
    """The ASGI app serving a picture store.

    Parameters
    ----------
    store : PictureStore
        The pictures to serve; the app subscribes to it while it runs.
    page_dir : str or Path, optional
        Folder with ``index.html`` and the bundle; the one shipped in the package by default.

    Returns
    -------
    Starlette
        Serve it with uvicorn (:func:`airpicture.web.start_server` does, on 127.0.0.1).
    """
    page = Path(page_dir) if page_dir is not None else static_dir()
    hub = _Hub(store)
    rejected: Counter[str] = Counter()
    started = time.monotonic()

    def reject(error: RequestError) -> Response:
        rejected[f"{error.status} {error.where}"] += 1
        logger.info("rejected request: %s", error)
        return _json(error.body(), error.status)

    def check_params(request: Request, allowed: tuple[str, ...]) -> None:
        for key in request.query_params:
            if key not in allowed:
                raise RequestError(
                    400,
                    f"{request.url.path} query parameter {key!r}",
                    expected="one of " + (", ".join(allowed) if allowed else "(none)"),
                    got="an unknown parameter",
                )

    def nation_param(request: Request, value: str | None) -> str:
        if value is None:
            return store.nations[0]
        if value not in store.nations:
            raise RequestError(
                400,
                f"{request.url.path} query parameter 'nation'",
                expected="one of " + ", ".join(store.nations),
                got=repr(value),
            )
        return value

    def float_param(request: Request, name: str) -> float | None:
        value = request.query_params.get(name)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise RequestError(
                400,
                f"{request.url.path} query parameter {name!r}",
                expected="a finite number of seconds since the Unix epoch",
                got=repr(value),
            )
        return number

    def bool_param(request: Request, name: str, default: bool) -> bool:
        value = request.query_params.get(name)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes"):
            return True
        if value.lower() in ("0", "false", "no"):
            return False
        raise RequestError(
            400,
            f"{request.url.path} query parameter {name!r}",
            expected="1, 0, true or false",
            got=repr(value),
        )

    async def index(request: Request) -> Response:
        index_file = page / "index.html"
        if not index_file.is_file():
            raise RequestError(
                404,
                "/",
                expected="the page bundle (index.html) in " + str(page),
                got="no such file",
            )
        return FileResponse(index_file, headers={"Cache-Control": "no-cache"})

    async def info(request: Request) -> Response:
        check_params(request, ())
        spans = {n: store.time_range(n) for n in store.nations}
        return _json(
            {
                **store.info,
                "nations": list(store.nations),
                "time_range": {n: {"t_min": a, "t_max": b} for n, (a, b) in spans.items()},
            }
        )

    async def picture(request: Request) -> Response:
        check_params(request, ("nation", "t_s", "trails"))
        nation = nation_param(request, request.query_params.get("nation"))
        t_s = float_param(request, "t_s")
        trails = bool_param(request, "trails", True)
        snap = await run_in_threadpool(store.snapshot, nation, t_s=t_s, trails=trails)
        return _json(snap)

    async def track_history(request: Request) -> Response:
        check_params(request, ("nation",))
        nation = nation_param(request, request.query_params.get("nation"))
        track_id = request.path_params["track_id"]
        try:
            data = await run_in_threadpool(store.track_history, nation, track_id)
        except KeyError:
            raise RequestError(
                404,
                f"/api/tracks/{track_id}/history",
                expected=f"a track id held in the {nation} picture's history",
                got=repr(track_id),
            ) from None
        return _json(data)

    async def sensors(request: Request) -> Response:
        check_params(request, ())
        return _json({"sensors": store.sensors()})

    async def alerts(request: Request) -> Response:
        check_params(request, ("nation", "state"))
        nation = nation_param(request, request.query_params.get("nation"))
        state = request.query_params.get("state")
        if state is not None and state not in ("active", "cancelled"):
            raise RequestError(
                400,
                "/api/alerts query parameter 'state'",
                expected="active or cancelled",
                got=repr(state),
            )
        return _json({"nation": nation, "alerts": store.alerts(nation, state=state)})

    async def impacts(request: Request) -> Response:
        check_params(request, ("nation",))
        nation = nation_param(request, request.query_params.get("nation"))
        return _json({"nation": nation, "impacts": store.impacts(nation)})

    async def areas(request: Request) -> Response:
        check_params(request, ())
        return _json(store.areas())

    async def health(request: Request) -> Response:
        check_params(request, ())
        return _json(
            {
                "status": "ok",
                "uptime_s": round(time.monotonic() - started, 3),
                "clients": len(hub.clients),
                "messages_sent": hub.messages_sent,
                "resyncs": hub.resyncs,
                "views": store.health(),
                "rejected_requests": {"total": sum(rejected.values()), "by_reason": dict(rejected)},
            }
        )

    async def websocket_endpoint(websocket: WebSocket) -> None:
        requested = websocket.query_params.get("nation")
        if requested is not None and requested not in store.nations:
            rejected["403 /ws query parameter 'nation'"] += 1
            await websocket.close(code=1008, reason=f"unknown nation {requested!r}"[:120])
            return
        await websocket.accept()
        client = _Client(websocket, requested or store.nations[0])
        hub.clients.add(client)

        async def send_snapshot() -> None:
            client.resync.clear()
            snap = await run_in_threadpool(store.snapshot, client.nation)
            await websocket.send_text(json.dumps(snap, separators=(",", ":"), allow_nan=False))
            hub.messages_sent += 1

        async def sender() -> None:
            await send_snapshot()
            while True:
                text = await client.queue.get()
                if text is None:
                    return
                if client.resync.is_set() or text == "":
                    await send_snapshot()
                    continue
                await websocket.send_text(text)
                hub.messages_sent += 1

        async def receiver() -> None:
            while True:
                try:
                    raw = await websocket.receive_text()
                except WebSocketDisconnect:
                    return
                error = None
                try:
                    message = json.loads(raw)
                except ValueError:
                    message, error = None, ("a JSON object", repr(raw[:40]))
                kind = message.get("type") if isinstance(message, dict) else None
                if error is None and kind == "view":
                    nation = message.get("nation")  # type: ignore[union-attr]
                    if nation in store.nations:
                        client.nation = nation
                        while not client.queue.empty():
                            client.queue.get_nowait()
                        client.resync.set()
                        client.queue.put_nowait("")
                        continue
                    error = ("'nation' one of " + ", ".join(store.nations), repr(nation))
                elif error is None and kind == "ping":
                    with contextlib.suppress(asyncio.QueueFull):
                        client.queue.put_nowait(json.dumps({"type": "pong"}))
                    continue
                elif error is None:
                    error = ("'type' one of view, ping", repr(kind))
                rejected["400 /ws message"] += 1
                err = RequestError(400, "/ws message", expected=error[0], got=error[1])
                with contextlib.suppress(asyncio.QueueFull):
                    client.queue.put_nowait(json.dumps({"type": "error", **err.body()}))

        tasks = [asyncio.create_task(sender()), asyncio.create_task(receiver())]
        try:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for task in done:
                exc = task.exception()
                if exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError):
                    logger.warning("websocket client failed: %r", exc)
        finally:
            hub.clients.discard(client)
            with contextlib.suppress(Exception):
                await websocket.close()

    async def request_error(request: Request, exc: Exception) -> Response:
        return reject(exc)  # type: ignore[arg-type]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        if status == 404:
            error = RequestError(
                404,
                request.url.path,
                expected="a page, /static/ file or /api/ endpoint",
                got="no such path",
            )
        elif status == 405:
            error = RequestError(
                405, request.url.path, expected="a GET request", got=f"{request.method}"
            )
        else:
            error = RequestError(
                status,
                request.url.path,
                expected="a valid request",
                got=str(getattr(exc, "detail", "")),
            )
        return reject(error)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub.start()
        try:
            yield
        finally:
            hub.stop()

    routes = [
        Route("/", index),
        Route("/api/info", info),
        Route("/api/picture", picture),
        Route("/api/tracks/{track_id:str}/history", track_history),
        Route("/api/sensors", sensors),
        Route("/api/alerts", alerts),
        Route("/api/impacts", impacts),
        Route("/api/areas", areas),
        Route("/api/health", health),
        WebSocketRoute("/ws", websocket_endpoint),
        Mount("/static", app=StaticFiles(directory=page, check_dir=False), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(GZipMiddleware, minimum_size=2048)],
        exception_handlers={RequestError: request_error, HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.hub = hub
    app.state.rejected = rejected
    return app
