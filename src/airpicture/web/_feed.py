"""A map fed by the nodes: what a node publishes for its nation's view (``air.pic``,
``air.impact``, ``air.alert`` and ``air.coord`` ``.<NATION>``) applied to a
:class:`~airpicture.web.PictureStore` and a :class:`~airpicture.web.CoordinationBoard`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from airpicture.errors import DataError
from airpicture.web._auth import Operator
from airpicture.web._coordination import CoordinationBoard
from airpicture.web._store import PictureStore

__all__ = ["NODE_OUTPUT_SUBJECTS", "NodeActions", "apply_node_output"]

logger = logging.getLogger(__name__)

NODE_OUTPUT_SUBJECTS = ("air.pic.*", "air.impact.*", "air.alert.*", "air.coord.*")
"""The subjects a map subscribes to: every node's outputs for its own nation's view."""


def apply_node_output(
    store: PictureStore, board: CoordinationBoard, data: bytes, *, source: str = "node output"
) -> str | None:
    """Decode one node output and apply it to its nation's view.

    A message that cannot be decoded, or whose rows the store refuses, is logged and left out:
    nothing a node sends stops the map.

    Returns
    -------
    str or None
        The nation of a final picture delta (that node's input has ended), else None.
    """
    from airpicture.net import (
        AlertMessage,
        CoordinationAction,
        ImpactMessage,
        MessageError,
        PictureDelta,
        decode_message,
    )

    try:
        envelope, payload = decode_message(data, source=source)
    except MessageError as exc:
        logger.warning("node message rejected: %s", exc)
        return None
    try:
        if isinstance(payload, PictureDelta):
            rows = payload.to_rows()
            if len(rows):
                store.apply(payload.nation, rows)
            return payload.nation if payload.final else None
        if isinstance(payload, ImpactMessage):
            store.apply_impacts(payload.nation, payload.to_rows())
        elif isinstance(payload, AlertMessage):
            store.apply_alerts(payload.nation, payload.to_rows())
        elif isinstance(payload, CoordinationAction):
            board.apply(payload.recipient, payload.record())
    except DataError as exc:
        logger.warning("%s message not shown: %s", envelope.kind, exc)
    return None


class NodeActions:
    """What the map calls to apply an operator's action (``create_app(..., act=...)``): the
    action goes to the node of the operator's nation (:meth:`Coordination.act
    <airpicture.node._coordination.Coordination.act>`), in that node's event loop, which runs in
    another thread than the map's.

    :meth:`attach` the nodes and their loop once they run; before, an action is refused.
    """

    def __init__(self) -> None:
        self.nodes: dict[str, Any] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    def attach(self, nodes: Iterable[Any], loop: asyncio.AbstractEventLoop) -> None:
        """The running nodes (:class:`~airpicture.node.Node`) and the loop they run in."""
        self.nodes = {node.config.nation: node for node in nodes}
        self.loop = loop

    async def __call__(self, operator: Operator, fields: dict[str, str]) -> dict[str, Any]:
        node = self.nodes.get(operator.nation)
        if node is None or self.loop is None:
            raise LookupError(f"no node of {operator.nation} is running")
        fields = dict(fields)
        action, track_id = fields.pop("action", ""), fields.pop("track_id", "")
        future = asyncio.run_coroutine_threadsafe(
            node.coordination.act(operator.name, action, track_id, **fields), self.loop
        )
        applied = await asyncio.wrap_future(future)
        return dict(applied.record())
