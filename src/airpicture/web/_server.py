"""Run the map server with uvicorn on a loopback address, in a background thread, with bounded
request heads (:mod:`airpicture.web._protocol`)."""

from __future__ import annotations

import errno
import ipaddress
import logging
import math
import socket
import threading
import time
from dataclasses import dataclass, field
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


def _loopback(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host != "localhost" and (address is None or not address.is_loopback):
        raise ConfigError(
            "web server",
            key="host",
            expected="a loopback address (127.0.0.1): the map is served to this machine only",
            got=repr(host),
        )
    return "127.0.0.1" if host == "localhost" else host


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

    @property
    def url(self) -> str:
        """The page's address, ``http://127.0.0.1:PORT/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

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
) -> WebServer:
    """Serve an ASGI app with uvicorn on a loopback address, in a daemon thread.

    A request head longer than ``max_head_bytes`` is answered 431, one not complete within
    ``head_timeout_s`` of the connection being opened (or of the previous response) 408, and
    the connection is closed (:func:`airpicture.web._protocol.bounded_head_protocol`).

    Parameters
    ----------
    app : ASGI application
        Usually :func:`airpicture.web.create_app`.
    host : str
        A loopback address; anything else is refused.
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

    Returns
    -------
    WebServer
        With the ``url`` to open.

    Raises
    ------
    ConfigError
        A non-loopback host, a taken port without ``fallback``, limits that are not positive,
        or a server that did not start.
    """
    import uvicorn

    from airpicture.web._protocol import bounded_head_protocol

    host = _loopback(host)
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
    logger.info("%s served on http://%s:%d/", what, host, bound_port)
    return WebServer(host, bound_port, server, thread, sock)
