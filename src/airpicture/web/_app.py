"""The map server: an ASGI app (Starlette) over a :class:`~airpicture.web.PictureStore`.

Routes
------
=====================================  =========================================================
``GET /``                              the map page (bundle in ``airpicture/web/static``)
``GET /static/...``                    the bundle, the coastlines and the licences
``WS  /ws?nation=JPN``                 a snapshot of the view on connect (with the view's
                                       coordination actions), then deltas only (and
                                       ``{"type": "coord"}`` with each new action);
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
``GET /api/session``                   whether a login is required, who is logged in, the
                                       identities and nations actions may name
``POST /api/login``                    ``{"name", "password"}``: a session cookie
``POST /api/logout``                   ends the session
``POST /api/actions``                  an operator's coordination action on a track
``GET /api/coordination?nation=JPN``   the actions applied to a view (``&track_id=``: one
                                       track's, the track's details; audited)
=====================================  =========================================================

A bad request gets a 4xx JSON body ``{"error": {"status", "where", "expected", "got",
"message"}}``; every one is counted by reason in ``/api/health``. A WebSocket client that falls
too far behind is sent a fresh snapshot instead of the deltas it missed.

Every request passes :class:`RequestGuard` first: its ``Host`` header must name this server and
the ``Origin`` of a WebSocket handshake must be the page's own, so that no other site can read
the picture through the visitor's browser (DNS rebinding, cross-site WebSocket hijacking).

With operators' accounts (``accounts``, an :class:`~airpicture.web._auth.Authenticator`) every
request but the page, its bundle and the login needs a session (:class:`LoginGate`), and an
operator sees and acts in the view of their own nation only; their login, the views they open,
the track details they ask for and their actions are written to the audit log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from http.cookies import SimpleCookie
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from airpicture.codes import AFFILIATIONS, COORDINATION_ACTIONS
from airpicture.errors import ConfigError, DataError
from airpicture.web._auth import ROLE_ACTIONS, Authenticator, Operator, Sessions
from airpicture.web._coordination import CoordinationBoard
from airpicture.web._store import PictureStore

if TYPE_CHECKING:
    from airpicture.net import AuditLog

__all__ = [
    "LoginGate",
    "RequestError",
    "RequestGuard",
    "create_app",
    "rejection_counts",
    "static_dir",
]

SESSION_COOKIE = "airpicture_session"
"""The cookie that carries an operator's session token."""

Act = Callable[[Operator, dict[str, str]], Awaitable[dict[str, Any]]]
"""What applies an operator's coordination action: given the operator and the action's fields
(``action``, ``track_id`` and the action's own), it returns the action's record as applied, or
raises :class:`~airpicture.net.MessageError` (a field the schema refuses) or
:class:`LookupError` (a track the picture does not hold)."""

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

    @property
    def reason(self) -> str:
        """What it is counted under: the status and where (``"400 /api/picture"``)."""
        return f"{self.status} {self.where}"


def rejection_counts(rejected: Counter[str]) -> dict[str, Any]:
    """Rejected requests as the health endpoints report them: ``{"total", "by_reason"}``."""
    return {"total": sum(rejected.values()), "by_reason": dict(rejected)}


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
"""The names a loopback server answers to, whatever else it is configured with."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_HOST = r"(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:[0-9]{1,5})?"
_HOST_RE = re.compile(_HOST)
_ORIGIN_RE = re.compile(r"https?://" + _HOST)


def _names(
    values: Iterable[str], pattern: re.Pattern[str], key: str, expected: str
) -> frozenset[str]:
    names = set()
    for value in (values,) if isinstance(values, str) else values:
        if not isinstance(value, str) or not pattern.fullmatch(value.lower()):
            raise ConfigError("web server", key=key, expected=expected, got=repr(value))
        names.add(value.lower())
    return frozenset(names)


def _host_names(values: Iterable[str]) -> frozenset[str]:
    return _names(values, _HOST_RE, "allowed_hosts", "host names, name or name:port")


def _origin_names(values: Iterable[str]) -> frozenset[str]:
    return _names(
        values, _ORIGIN_RE, "allowed_origins", "origins, http://name[:port] or https://name[:port]"
    )


class RequestGuard:
    """ASGI middleware that refuses requests naming another server or coming from another site.

    Every HTTP request and WebSocket handshake must carry a ``Host`` header that names this
    server: ``127.0.0.1:PORT``, ``localhost:PORT`` or ``[::1]:PORT`` (PORT the one the connection
    came in on; the address it came in on is accepted too), or one of ``allowed_hosts``. A page
    of another site that rebinds its own name to this machine sends its own name, and is
    refused. A WebSocket handshake, and a request whose method may change state (anything but
    GET, HEAD and OPTIONS), that carries an ``Origin`` header must come from this server's own
    origin (``http://`` or ``https://`` followed by an accepted host) or one of
    ``allowed_origins``: browsers let any page open a WebSocket anywhere, and say who opened it
    only there.

    A refusal is a 403 with the JSON body of :class:`RequestError` (a WebSocket handshake gets it
    as its HTTP answer, or a bare 403 from a server without the denial-response extension). It is
    counted in ``rejected`` under ``"403 Host header"`` or ``"403 Origin header"``; the first of
    each is logged as a warning, the others at info level.

    Parameters
    ----------
    app : ASGI application
        The application guarded.
    rejected : Counter
        Where refusals are counted (the app's rejected requests).
    allowed_hosts : iterable of str
        Further ``Host`` values accepted, as a browser sends them: ``name`` or ``name:port``
        (the name a reverse proxy in front of the server forwards, say).
    allowed_origins : iterable of str
        Further origins accepted, ``http://name[:port]`` or ``https://name[:port]``.

    Raises
    ------
    ConfigError
        An allowed host or origin that is not of that form (a path, a wildcard, a scheme on a
        host).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        rejected: Counter[str],
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.rejected = rejected
        self.allowed_hosts = _host_names(allowed_hosts)
        self.allowed_origins = _origin_names(allowed_origins)

    def hosts(self, server: tuple[str, int | None] | None) -> frozenset[str]:
        """The ``Host`` values accepted on a connection that came in on ``server`` (address,
        port)."""
        if server is None or server[1] is None:
            return self.allowed_hosts
        address, port = server
        names = {*LOOPBACK_NAMES, f"[{address}]" if ":" in address else address}
        hosts = {f"{name}:{port}" for name in names}
        if port == 80:  # browsers leave the default port out
            hosts |= names
        return frozenset(hosts) | self.allowed_hosts

    def refusal(self, scope: Scope) -> RequestError | None:
        """Why the request of ``scope`` is refused, or None when it is not."""
        headers = dict(reversed(scope["headers"]))  # the first of repeated headers
        host = headers.get(b"host", b"").decode("latin-1").lower()
        hosts = self.hosts(scope.get("server"))
        if host not in hosts:
            return RequestError(
                403,
                "Host header",
                expected="a name of this server, one of " + ", ".join(sorted(hosts)),
                got=repr(host) if host else "none",
            )
        origin = headers.get(b"origin")
        if origin is None or (scope["type"] == "http" and scope["method"] in _SAFE_METHODS):
            return None
        origin_text = origin.decode("latin-1").lower()
        own = {f"{scheme}://{name}" for scheme in ("http", "https") for name in hosts}
        if origin_text in own or origin_text in self.allowed_origins:
            return None
        others = ", ".join(sorted(self.allowed_origins))
        return RequestError(
            403,
            "Origin header",
            expected=f"this server's own origin, http://{host} (or https://, or another of its "
            "names)" + (f", or one of {others}" if others else ""),
            got=repr(origin_text),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = self.refusal(scope) if scope["type"] in ("http", "websocket") else None
        if error is None:
            await self.app(scope, receive, send)
            return
        first = not self.rejected[error.reason]
        self.rejected[error.reason] += 1
        client = scope.get("client")
        logger.log(
            logging.WARNING if first else logging.INFO,
            "refused %s %s from %s: %s%s",
            scope.get("method", "WebSocket"),
            scope["path"],
            f"{client[0]}:{client[1]}" if client else "an unknown client",
            error,
            " (the next such refusals are logged at info level; all are counted in "
            "rejected_requests)"
            if first
            else "",
        )
        response = _json(error.body(), error.status)
        if scope["type"] == "http":
            await response(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        if "websocket.http.response" in scope.get("extensions", {}):
            await websocket.send_denial_response(response)
        else:
            await websocket.close(code=1008)


def session_token(scope: Scope) -> str | None:
    """The session token a request's cookie carries, if any."""
    for key, value in scope["headers"]:
        if key == b"cookie":
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is no session (http.cookies.CookieError)
                return None
            morsel = cookie.get(SESSION_COOKIE)
            if morsel is not None:
                return morsel.value
    return None


_OPEN_PATHS = frozenset({"/", "/api/session", "/api/login", "/api/logout"})


class LoginGate:
    """ASGI middleware: the operator of a request's session (``scope["operator"]``, None
    without one), and, when a login is ``required``, a 401 for any request but the page, its
    bundle (``/static/``) and the login endpoints without a live session (a WebSocket
    handshake is refused with 1008). Refusals are counted in ``rejected`` under
    ``"401 login"``.
    """

    def __init__(
        self, app: ASGIApp, *, sessions: Sessions, required: bool, rejected: Counter[str]
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.required = required
        self.rejected = rejected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        operator = self.sessions.get(session_token(scope))
        scope["operator"] = operator
        path = scope["path"]
        if (
            operator is not None
            or not self.required
            or path in _OPEN_PATHS
            or path.startswith("/static/")
        ):
            await self.app(scope, receive, send)
            return
        self.rejected["401 login"] += 1
        if scope["type"] == "websocket":
            await WebSocket(scope, receive, send).close(code=1008, reason="login required")
            return
        error = RequestError(
            401, path, expected="a logged-in operator (POST /api/login)", got="no session"
        )
        await _json(error.body(), 401)(scope, receive, send)


class _Client:
    def __init__(self, websocket: WebSocket, nation: str) -> None:
        self.websocket = websocket
        self.nation = nation
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=_QUEUE_LIMIT)
        self.resync = asyncio.Event()


class _Hub:
    """Fans store messages out to WebSocket clients on the server's event loop."""

    def __init__(self, store: PictureStore, board: CoordinationBoard) -> None:
        self.store = store
        self.board = board
        self.clients: set[_Client] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.messages_sent = 0
        self.resyncs = 0
        self._unsubscribe: list[Callable[[], None]] = []

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._unsubscribe = [
            self.store.subscribe(self._from_store),
            self.board.subscribe(self._from_store),
        ]

    def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
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


def create_app(
    store: PictureStore,
    *,
    page_dir: str | Path | None = None,
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    accounts: Authenticator | None = None,
    sessions: Sessions | None = None,
    coordination: CoordinationBoard | None = None,
    act: Act | None = None,
    audit: AuditLog | None = None,
) -> Starlette:
    """The ASGI app serving a picture store.

    Parameters
    ----------
    store : PictureStore
        The pictures to serve; the app subscribes to it while it runs.
    page_dir : str or Path, optional
        Folder with ``index.html`` and the bundle; the one shipped in the package by default.
    allowed_hosts : iterable of str
        ``Host`` values accepted besides ``127.0.0.1:PORT``, ``localhost:PORT`` and
        ``[::1]:PORT``: ``name`` or ``name:port`` (see :class:`RequestGuard`).
    allowed_origins : iterable of str
        Origins accepted on WebSocket handshakes besides the page's own:
        ``http(s)://name[:port]``.
    accounts : Authenticator, optional
        Who may log in (:class:`~airpicture.web.Accounts`, or an organisation's single
        sign-on). With it every request but the page and the login needs a session, and an
        operator sees and acts in their own nation's view only; without it the map is open
        and takes no actions.
    sessions : Sessions, optional
        How long a login lasts (:class:`~airpicture.web.Sessions`: 8 h, 30 min idle, by
        default).
    coordination : CoordinationBoard, optional
        The coordination actions applied to each view (fed with what the nodes publish on
        ``air.coord.<NATION>``); an empty board by default.
    act : callable, optional
        Applies an operator's action (:data:`Act`: the node of the operator's nation signs and
        sends it); without it, actions are refused (503).
    audit : AuditLog, optional
        Where logins, logouts, the views and track details operators open and their actions
        are written (:meth:`airpicture.net.AuditLog.note`).

    Returns
    -------
    Starlette
        Serve it with uvicorn (:func:`airpicture.web.start_server` does, on 127.0.0.1).

    Raises
    ------
    ConfigError
        An allowed host or origin that is not of that form.
    """
    page = Path(page_dir) if page_dir is not None else static_dir()
    board = coordination if coordination is not None else CoordinationBoard(store.nations)
    hub = _Hub(store, board)
    rejected: Counter[str] = Counter()
    started = time.monotonic()
    sessions = sessions if sessions is not None else Sessions()
    gate = Middleware(
        LoginGate, sessions=sessions, required=accounts is not None, rejected=rejected
    )

    def note(event: str, operator: Operator | None, detail: str, **what: Any) -> None:
        if audit is not None and operator is not None:
            audit.note(event, nation=operator.nation, detail=detail, operator=operator.name, **what)

    guard = Middleware(  # the names are checked now, not when the first request comes
        RequestGuard,
        rejected=rejected,
        allowed_hosts=_host_names(allowed_hosts),
        allowed_origins=_origin_names(allowed_origins),
    )

    def reject(error: RequestError) -> Response:
        rejected[error.reason] += 1
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
        operator: Operator | None = request.scope.get("operator")
        if value is None:
            return operator.nation if operator is not None else store.nations[0]
        if value not in store.nations:
            raise RequestError(
                400,
                f"{request.url.path} query parameter 'nation'",
                expected="one of " + ", ".join(store.nations),
                got=repr(value),
            )
        if operator is not None and value != operator.nation:
            raise RequestError(
                403,
                f"{request.url.path} query parameter 'nation'",
                expected=f"the view of the operator's nation, {operator.nation}",
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
        operator: Operator | None = request.scope.get("operator")
        nations = store.nations if operator is None else (operator.nation,)
        spans = {n: store.time_range(n) for n in nations}
        return _json(
            {
                **store.info,
                **({"default_nation": operator.nation} if operator is not None else {}),
                "nations": list(nations),
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
        note(
            "track",
            request.scope.get("operator"),
            f"history of {track_id} in {nation}'s view",
            view=nation,
            track_id=track_id,
        )
        try:
            data = await run_in_threadpool(store.track_history, nation, track_id)
        except KeyError:
            raise RequestError(
                404,
                "/api/tracks/{id}/history",
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
                "rejected_requests": rejection_counts(rejected),
            }
        )

    async def json_body(request: Request, fields: dict[str, int]) -> dict[str, str]:
        """A JSON object of string fields (name: longest length) from the request body."""
        where = f"{request.url.path} body"
        raw = await request.body()
        try:
            body = json.loads(raw) if len(raw) <= 8192 else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise RequestError(400, where, expected="a JSON object (8 KiB at most)", got="other")
        for key, value in body.items():
            if key not in fields or not isinstance(value, str) or len(value) > fields[key]:
                raise RequestError(
                    400,
                    f"{where} field {key!r}",
                    expected="text fields " + ", ".join(fields),
                    got=repr(value)[:40],
                )
        return body

    async def session(request: Request) -> Response:
        check_params(request, ())
        operator: Operator | None = request.scope.get("operator")
        return _json(
            {
                "login_required": accounts is not None,
                "operator": operator.as_dict() if operator is not None else None,
                "affiliations": list(AFFILIATIONS),
                "handover_to": [n for n in store.nations if operator and n != operator.nation],
            }
        )

    async def login(request: Request) -> Response:
        check_params(request, ())
        if accounts is None:
            raise RequestError(
                404, "/api/login", expected="a map with operators' accounts", got="an open map"
            )
        body = await json_body(request, {"name": 64, "password": 1024})
        name, password = body.get("name", ""), body.get("password", "")
        operator = await run_in_threadpool(accounts.authenticate, name, password)
        client = request.client.host if request.client is not None else "?"
        if operator is None:
            if audit is not None:
                audit.note(
                    "login-failed", nation="?", detail=f"from {client}", operator=name[:64]
                )
            raise RequestError(
                401, "/api/login", expected="a known name and its password", got="no match"
            )
        token = sessions.open(operator)
        note("login", operator, f"from {client}")
        response = _json({"operator": operator.as_dict()})
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(sessions.ttl_s),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def logout(request: Request) -> Response:
        check_params(request, ())
        token = session_token(request.scope)
        note("logout", request.scope.get("operator"), "")
        sessions.close(token)
        response = _json({"operator": None})
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
        return response

    async def actions(request: Request) -> Response:
        check_params(request, ())
        operator: Operator | None = request.scope.get("operator")
        if operator is None:
            raise RequestError(
                403, "/api/actions", expected="a logged-in operator", got="an open map"
            )
        body = await json_body(
            request,
            {
                "nation": 3,
                "action": 16,
                "track_id": 256,
                "alert_id": 256,
                "identity": 16,
                "note": 1000,
                "handover_to": 3,
            },
        )
        nation = body.pop("nation", operator.nation)
        action = body.get("action", "")
        if nation != operator.nation:
            note("refused", operator, f"{action} in {nation}'s view", view=nation)
            raise RequestError(
                403,
                "/api/actions field 'nation'",
                expected=f"the view of the operator's nation, {operator.nation}",
                got=repr(nation),
            )
        if action not in COORDINATION_ACTIONS:
            raise RequestError(
                400,
                "/api/actions field 'action'",
                expected="one of " + ", ".join(COORDINATION_ACTIONS),
                got=repr(action),
            )
        if not operator.may(action):
            note("refused", operator, f"{action}: not allowed to a {operator.role}", view=nation)
            raise RequestError(
                403,
                "/api/actions field 'action'",
                expected=f"an action a {operator.role} may take: "
                + (", ".join(sorted(ROLE_ACTIONS[operator.role])) or "none"),
                got=repr(action),
            )
        if act is None:
            raise RequestError(
                503, "/api/actions", expected="a map connected to its node", got="none"
            )
        try:
            record = await act(operator, body)
        except LookupError as exc:
            raise RequestError(
                404, "/api/actions field 'track_id'", expected="a track of the view", got=str(exc)
            ) from None
        except DataError as exc:  # a MessageError: a field the message schema refuses
            raise RequestError(
                400, "/api/actions", expected="a valid action", got=str(exc)[:200]
            ) from None
        note(
            "action",
            operator,
            f"{action} on {record['track_id']}",
            view=nation,
            action_id=record["action_id"],
        )
        return _json({"action": record})

    async def coordination_actions(request: Request) -> Response:
        check_params(request, ("nation", "track_id"))
        nation = nation_param(request, request.query_params.get("nation"))
        track_id = request.query_params.get("track_id")
        if track_id is not None:
            note(
                "track",
                request.scope.get("operator"),
                f"details of {track_id} in {nation}'s view",
                view=nation,
                track_id=track_id,
            )
        return _json({"nation": nation, "actions": board.actions(nation, track_id)})

    async def websocket_endpoint(websocket: WebSocket) -> None:
        operator: Operator | None = websocket.scope.get("operator")
        requested = websocket.query_params.get("nation")
        if requested is not None and requested not in store.nations:
            rejected["403 /ws query parameter 'nation'"] += 1
            await websocket.close(code=1008, reason=f"unknown nation {requested!r}"[:120])
            return
        if operator is not None and requested not in (None, operator.nation):
            rejected["403 /ws query parameter 'nation'"] += 1
            await websocket.close(code=1008, reason=f"not a view of {operator.nation}")
            return
        await websocket.accept()
        default = operator.nation if operator is not None else store.nations[0]
        client = _Client(websocket, requested or default)
        hub.clients.add(client)
        note("view", operator, f"{client.nation}'s view opened", view=client.nation)

        async def send_snapshot() -> None:
            client.resync.clear()
            snap = await run_in_threadpool(store.snapshot, client.nation)
            snap["coordination"] = board.actions(client.nation)
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
                    if operator is not None and nation != operator.nation:
                        error = (f"'nation' {operator.nation}, the operator's", repr(nation))
                    elif nation in store.nations:
                        client.nation = nation
                        while not client.queue.empty():
                            client.queue.get_nowait()
                        client.resync.set()
                        client.queue.put_nowait("")
                        note("view", operator, f"{nation}'s view opened", view=nation)
                        continue
                    else:
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

        async def expiry() -> None:
            # the session's end ends the connection (each use of the session renews its idle
            # time, and the connection is one)
            token = session_token(websocket.scope)
            while sessions.get(token) is not None:
                await asyncio.sleep(min(sessions.remaining_s(token or ""), sessions.idle_s, 60.0))
            await websocket.close(code=1008, reason="session ended")

        tasks = [asyncio.create_task(sender()), asyncio.create_task(receiver())]
        if operator is not None:
            tasks.append(asyncio.create_task(expiry()))
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
            # counted under one reason, not per path: a client choosing paths must not grow
            # the counts without bound
            path = request.url.path
            error = RequestError(
                404,
                "request path",
                expected="a page, /static/ file or /api/ endpoint",
                got=repr(path if len(path) <= 80 else path[:80] + "..."),
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
        Route("/api/session", session),
        Route("/api/login", login, methods=["POST"]),
        Route("/api/logout", logout, methods=["POST"]),
        Route("/api/actions", actions, methods=["POST"]),
        Route("/api/coordination", coordination_actions),
        WebSocketRoute("/ws", websocket_endpoint),
        Mount("/static", app=StaticFiles(directory=page, check_dir=False), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[guard, gate, Middleware(GZipMiddleware, minimum_size=2048)],
        exception_handlers={RequestError: request_error, HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.hub = hub
    app.state.rejected = rejected
    app.state.coordination = board
    app.state.login_required = accounts is not None
    return app
