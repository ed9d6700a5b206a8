"""uvicorn's HTTP/1.1 protocol (h11) with a bounded request head: its size and the time to read it.

uvicorn bounds only a head still incomplete (h11's ``max_incomplete_event_size``): one that
arrives whole may be as long as a read. And a client that trickles its head, a byte now and then,
holds its connection for as long as it likes: uvicorn's keep-alive timeout runs only between
requests, and stops at the first byte.
"""

from __future__ import annotations

import asyncio
import http
import json
import logging
import re

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from airpicture.web._app import RequestError

__all__ = ["bounded_head_protocol"]

logger = logging.getLogger(__name__)

_HEAD_END = re.compile(rb"\n\r?\n")
"""The blank line that ends a head, as h11 finds it."""


def bounded_head_protocol(head_timeout_s: float, max_head_bytes: int) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, refusing request heads that are too long or too slow.

    A request head (request line and headers) must be at most ``max_head_bytes`` long, and be
    complete within ``head_timeout_s`` of the connection being opened or of the previous
    response being sent. A longer head gets a 431, a slower one a 408, both with the JSON body of
    :class:`~airpicture.web.RequestError` (``where``: ``request head``), and the connection is
    closed; each refusal is logged as one warning. A connection on which nothing at all came is
    closed without an answer, as an idle keep-alive connection is. A WebSocket handshake is a
    request head like any other; the timeout stops once the connection is upgraded.

    Parameters
    ----------
    head_timeout_s : float
        Time to receive a complete request head, s.
    max_head_bytes : int
        Longest request head accepted, bytes.

    Returns
    -------
    type
        The protocol class, for ``uvicorn.Config(http=...)``; give the same ``max_head_bytes``
        as ``h11_max_incomplete_event_size``, which bounds heads h11 reads from what it
        buffered (pipelined requests).
    """

    class BoundedHeadProtocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._watch_head()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._head_timer is not None:  # a head is awaited: what h11 holds is its start
                pending = self.conn.trailing_data[0] + data
                end = _HEAD_END.search(pending, 0, max_head_bytes + 2)
                if (end.end() if end else len(pending)) > max_head_bytes:
                    self._refuse(
                        431,
                        expected=f"a request head of at most {max_head_bytes} bytes",
                        got=f"more than {max_head_bytes} bytes"
                        if end is None
                        else f"{end.end()} bytes",
                    )
                    return
            super().data_received(data)
            self._watch_head()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._watch_head()

        def _watch_head(self) -> None:
            """Start the clock when a head is awaited; stop it once the head is in."""
            awaited = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
            if not awaited:
                self._stop_head_timer()
            elif self._head_timer is None:
                self._head_timer = self.loop.call_later(head_timeout_s, self._head_timed_out)

        def _stop_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            received = len(self.conn.trailing_data[0])
            if not received:
                self.transport.close()
                return
            self._refuse(
                408,
                expected=f"a complete request head within {head_timeout_s:g} s",
                got=f"{received} bytes of it",
            )

        def _refuse(self, status: int, *, expected: str, got: str) -> None:
            """Answer ``status`` with a JSON error, written as it is (no request reached h11's
            state machine), and close the connection."""
            self._stop_head_timer()
            error = RequestError(status, "request head", expected=expected, got=got)
            body = json.dumps(error.body(), separators=(",", ":")).encode()
            head = (
                f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n"
                f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
                "connection: close\r\n\r\n"
            )
            self.transport.write(head.encode() + body)
            self.transport.close()
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "an unknown client"
            logger.warning("refused a request from %s: %s", client, error)

    return BoundedHeadProtocol
