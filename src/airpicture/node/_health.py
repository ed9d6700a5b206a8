"""A node's health: its counters as one JSON-ready report (:func:`health_report`), served at
``GET /health`` on 127.0.0.1 by the map's ASGI stack (:func:`serve_health`): the same ``Host``
and ``Origin`` checks and the same bounds on request heads."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from airpicture.codes import CONFIRMED, json_number

if TYPE_CHECKING:
    from airpicture.node._node import Node
    from airpicture.web._server import WebServer

__all__ = ["health_report", "serve_health"]


def health_report(node: Node) -> dict[str, Any]:
    """The node's counters as a JSON-ready dict (what ``GET /health`` returns)."""
    now = time.monotonic()
    counters = node.counters
    tracker = node.pipeline.tracker
    stats = tracker.stats
    clock = node.outbound.clock()
    through_s = node.publisher.through_s
    status = tracker.tracks.status if len(tracker.tracks) else np.empty(0, dtype=np.int8)
    peers = node.peers
    return {
        "node": node.config.node_id,
        "nation": node.config.nation,
        "uptime_s": round(now - peers.started_mono, 3),
        "received": {
            "messages": counters.received_messages,
            "bytes": counters.received_bytes,
            "detections": counters.received_detections,
        },
        "rejected": dict(counters.rejected),
        "late": stats.late,
        "late_used": stats.late_used,
        "processed": stats.processed,
        "tracker_errors": counters.tracker_errors,
        "pending": node.inbound.pending,
        "through_s": json_number(through_s),
        "lag_s": json_number(clock - through_s) if math.isfinite(through_s) else None,
        "lag_messages": max(0, node.bus_last_seq - node.inbound.last_delivered_seq),
        "tracks": {
            "live": int(len(status)),
            "confirmed": int(np.count_nonzero(status == CONFIRMED)),
        },
        "registration": tracker.registration.informed(),
        "assessment": {
            "impacts": counters.impacts,
            "alerts": dict(counters.alerts),
            "active_alerts": len(node.pipeline.assessor.alert_book or ()),
            "errors": counters.assess_errors,
        },
        "published": {
            "messages": counters.published_messages,
            "bytes": dict(counters.published_bytes),
            "detections": counters.published_detections,
            "picture_deltas": counters.picture_deltas,
            "impact_messages": counters.impact_messages,
            "alert_messages": counters.alert_messages,
            "retries": counters.publish_retries,
            "cot_events": counters.cot_events,
            "cot_errors": counters.cot_errors,
        },
        "dropped": dict(counters.dropped),
        "coordination": {
            "applied": len(node.coordination.applied),
            "sent": dict(counters.actions_sent),
            "received": dict(counters.actions_received),
        },
        "fusion": node.pipeline.common.stats.as_dict(),
        "shared": {
            "sent": {
                n: {"rows": s.rows, "position_only": s.position_only, "withdrawn": s.withdrawn}
                for n, s in node.publisher.shares.items()
            },
            "received": dict(counters.shared_received),
        },
        "peers": {
            nation: {
                "clock_s": json_number(peer.clock_s),
                "final": peer.final,
                "heard_s_ago": None if peer.heard_mono is None else round(now - peer.heard_mono, 3),
                "holding_barrier": peers.holds_barrier(peer, now),
            }
            for nation, peer in peers.by_nation.items()
        },
        "done": node.done,
    }


async def serve_health(node: Node, port: int) -> WebServer:
    """Serve ``GET /health`` for ``node`` on 127.0.0.1:``port`` (0: any free port).

    The server runs in a thread of its own (:func:`airpicture.web.start_server`); each
    report is made in the node's event loop, so it reads the counters between two steps of the
    node. Anything but ``GET /health`` gets a JSON 404. A request whose ``Host`` header does not
    name 127.0.0.1:``port`` (or localhost, [::1]) is refused
    (:class:`airpicture.web._app.RequestGuard`), and counted in the report's ``rejected_requests``.
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from airpicture.web._app import RequestGuard, rejection_counts
    from airpicture.web._server import start_server

    loop = asyncio.get_running_loop()
    rejected: Counter[str] = Counter()

    async def report() -> dict[str, Any]:
        return health_report(node)

    async def health(request: Request) -> JSONResponse:
        made = asyncio.run_coroutine_threadsafe(report(), loop)
        counters = await asyncio.wrap_future(made)
        counters["rejected_requests"] = rejection_counts(rejected)  # counted in this thread
        return JSONResponse(counters)

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "not found; try GET /health"}, status_code=404)

    app = Starlette(
        routes=[Route("/health", health, methods=["GET"])],
        middleware=[Middleware(RequestGuard, rejected=rejected)],
        exception_handlers={404: not_found, 405: not_found},
    )
    return await asyncio.to_thread(
        start_server, app, port=port, fallback=False, what=f"{node.config.node_id} health"
    )
