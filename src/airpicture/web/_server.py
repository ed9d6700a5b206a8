"""Run the map server with uvicorn in a background thread, with bounded request heads
(:mod:`airpicture.web._protocol`): on a loopback address, or, with TLS and operators' logins,
on any other."""

from __future__ import annotations

import errno
import ipaddress
import logging
import math
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airpicture.errors import ConfigError

__all__ = ["DEFAULT_PORT", "WebServer", "start_server"]

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8765
"""The port the map is served on when free (another free port is taken otherwise)."""

HEAD_TIMEOUT_S = 10.0
"""Time a client has to send a complete request head, s (:func:`start_server`)."""

MAX_HEAD_BYTES = 32 * 1024
"""Longest request head (request line and headers) accepted, bytes (:func:`start_server`)."""


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return address.is_loopback


def _served_host(host: str, app: Any, tls: tuple[Path, Path] | None) -> str:
    """The address to bind: a loopback one, or another when the map has TLS and a login."""
    if _is_loopback(host):
        return "127.0.0.1" if host == "localhost" else host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(
            "web server", key="host", expected="an IP address to listen on", got=repr(host)
        ) from None
    login = bool(getattr(getattr(app, "state", None), "login_required", False))
    if tls is None or not login:
        raise ConfigError(
            "web server",
            key="host",
            expected="a loopback address (127.0.0.1), or TLS (a certificate and its key) and "
            "operators' accounts to serve beyond this machine",
            got=f"{host!r} without " + ("TLS" if tls is None else "accounts"),
        )
    return host


def _bind(host: str, port: int, *, fallback: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        if not fallback or exc.errno != errno.EADDRINUSE:
            sock.close()
            raise ConfigError(
                "web server", key="port", expected="a free port", got=f"{port} ({exc.strerror})"
            ) from None
        logger.info("port %d is taken; serving on a free port instead", port)
        sock.bind((host, 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _ws_protocol() -> str:
    from uvicorn.config import WS_PROTOCOLS

    # The sans-I/O implementation avoids the deprecated legacy API of websockets >= 14.
    return "websockets-sansio" if "websockets-sansio" in WS_PROTOCOLS else "auto"


@dataclass
class WebServer:
    """A running map server: its ``url``; :meth:`stop` shuts it down and joins its thread."""

    host: str
    port: int
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _socket: socket.socket = field(repr=False)
    tls: bool = False

    @property
    def url(self) -> str:
        """The page's address, ``http://127.0.0.1:PORT/`` (``https://`` with TLS)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/"

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the server to exit, wait for it (at most ``timeout_s``), release the socket."""
        self._server.should_exit = True
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout_s)
        self._socket.close()


def start_server(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    fallback: bool = True,
    timeout_s: float = 10.0,
    what: str = "map",
    head_timeout_s: float = HEAD_TIMEOUT_S,
    max_head_bytes: int = MAX_HEAD_BYTES,
    tls_cert: str | Path | None = None,
    tls_key: str | Path | None = None,
) -> WebServer:
    """Serve an ASGI app with uvicorn in a daemon thread: on a loopback address, or on another
    only with TLS and an app that requires a login (``create_app(..., accounts=...)``).

    A request head longer than ``max_head_bytes`` is answered 431, one not complete within
    ``head_timeout_s`` of the connection being opened (or of the previous response) 408, and
    the connection is closed (:func:`airpicture.web._protocol.bounded_head_protocol`).

    Parameters
    ----------
    app : ASGI application
        Usually :func:`airpicture.web.create_app`.
    host : str
        A loopback address; another IP address only with ``tls_cert``, ``tls_key`` and an app
        with operators' accounts.
    port : int
        Port to listen on; 0 takes a free one.
    fallback : bool
        When ``port`` is taken, take a free one instead of failing.
    timeout_s : float
        How long to wait for the server to start, s.
    what : str
        What is served, for the log line.
    head_timeout_s : float
        Time a client has to send a complete request head, s.
    max_head_bytes : int
        Longest request head (request line and headers) accepted, bytes.
    tls_cert, tls_key : str or Path, optional
        The server's certificate (PEM, its chain after it) and private key: the map is served
        over HTTPS (and WSS), its session cookie marked ``Secure``.

    Returns
    -------
    WebServer
        With the ``url`` to open.

    Raises
    ------
    ConfigError
        A non-loopback host without TLS or accounts, a certificate or key that cannot be
        read, a taken port without ``fallback``, limits that are not positive, or a server
        that did not start.
    """
    import uvicorn

    from airpicture.web._protocol import bounded_head_protocol

    if (tls_cert is None) != (tls_key is None):
        raise ConfigError(
            "web server", key="tls_key", expected="a certificate and its key", got="only one"
        )
    tls = (Path(tls_cert), Path(tls_key)) if tls_cert is not None and tls_key is not None else None
    host = _served_host(host, app, tls)
    if tls is not None:
        _check_tls(*tls)
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(
            "web server", key="port", expected="an integer in [0, 65535]", got=repr(port)
        )
    if not (isinstance(head_timeout_s, int | float) and 0 < head_timeout_s < math.inf):
        raise ConfigError(
            "web server",
            key="head_timeout_s",
            expected="a positive number",
            got=repr(head_timeout_s),
        )
    if (
        isinstance(max_head_bytes, bool)
        or not isinstance(max_head_bytes, int)
        or max_head_bytes < 1
    ):
        raise ConfigError(
            "web server",
            key="max_head_bytes",
            expected="a positive integer",
            got=repr(max_head_bytes),
        )
    sock = _bind(host, port, fallback=fallback)
    bound_port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        host=host,
        port=bound_port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws=_ws_protocol(),
        http=bounded_head_protocol(head_timeout_s, max_head_bytes),
        h11_max_incomplete_event_size=max_head_bytes,
        timeout_graceful_shutdown=2,
        ssl_certfile=str(tls[0]) if tls is not None else None,
        ssl_keyfile=str(tls[1]) if tls is not None else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="airpicture-web", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise ConfigError(
                "web server",
                key="start",
                expected=f"a server listening within {timeout_s:g} s",
                got="none",
            )
        time.sleep(0.02)
    served = WebServer(host, bound_port, server, thread, sock, tls=tls is not None)
    logger.info("%s served on %s", what, served.url)
    return served


def _check_tls(cert: Path, key: Path) -> None:
    """Refuse a certificate and key the server could not load (before the server starts)."""
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            "web server",
            key="tls_cert",
            expected="a PEM certificate and its private key",
            got=f"{cert}, {key}: {exc}",
        ) from None
