"""Operators' coordination actions on a node (:class:`Coordination`): an action of one of the
node's own operators is checked, released like the track it concerns, signed and sent to every
nation the release policy lets that track go to (``air.coord.<NATION>.<RECIPIENT>``); an action
of a partner's operator comes in through :class:`~airpicture.node._inbound.Inbound`. Either is
applied to the node's view: kept (the node's record writes them), written to the audit log and
published on ``air.coord.<NATION>`` for the nation's map.

Surveillance and warning only: an action changes what the picture says about a track (its
identity, a note, an alert acknowledged, who reports it), never anything outside the picture.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from pathlib import Path

import msgspec
import numpy as np

from airpicture.net._messages import CoordinationAction, MessageError
from airpicture.net._payload_validation import _VALIDATORS
from airpicture.net._release import FULL, LabelSpace, threat_mask, track_levels
from airpicture.net._security import AuditLog
from airpicture.node._config import NodeConfig
from airpicture.node._counters import NodeCounters
from airpicture.node._outbound import Sender
from airpicture.node._publish import Publisher
from airpicture.node._tracking import Pipeline
from airpicture.tables import TrackRows

__all__ = ["Coordination", "TrackNotHeld"]

log = logging.getLogger("airpicture.node")


class TrackNotHeld(LookupError):
    """An action on a track the node's picture does not hold (or no longer holds)."""


class Coordination:
    """Coordination actions of a node's view: its own operators' sent, partners' received.

    Parameters
    ----------
    config, sender, labels, counters, pipeline, publisher
        The node's settings, signed sender, label space, counters, tracking and picture.
    audit : AuditLog, optional
        Where every applied action is written (none when None).

    Attributes
    ----------
    applied : list of CoordinationAction
        Every action applied to the node's view, in the order applied (``recipient`` this
        node's nation).
    """

    def __init__(
        self,
        config: NodeConfig,
        sender: Sender,
        labels: LabelSpace,
        counters: NodeCounters,
        pipeline: Pipeline,
        publisher: Publisher,
        audit: AuditLog | None,
    ) -> None:
        self.config = config
        self.sender = sender
        self.labels = labels
        self.counters = counters
        self.pipeline = pipeline
        self.publisher = publisher
        self.audit = audit
        self.applied: list[CoordinationAction] = []
        self._outbox: asyncio.Queue[CoordinationAction] = asyncio.Queue()

    async def act(
        self,
        operator: str,
        action: str,
        track_id: str,
        *,
        alert_id: str = "",
        identity: str = "",
        note: str = "",
        handover_to: str = "",
    ) -> CoordinationAction:
        """Apply an action of one of this nation's operators and send it where the track goes.

        Parameters
        ----------
        operator : str
            Who acts (the operator's account name).
        action : str
            One of :data:`~airpicture.codes.COORDINATION_ACTIONS`.
        track_id : str
            The track's network number in this node's picture.
        alert_id, identity, note, handover_to : str
            What the action needs (see :class:`~airpicture.net.CoordinationAction`).

        Returns
        -------
        CoordinationAction
            The action as applied (``recipient`` this nation).

        Raises
        ------
        MessageError
            An action the message schema refuses (an unknown identity, a note with control
            characters, a field the action does not use ...), or a handover to a nation
            outside the network.
        TrackNotHeld
            A track this node's picture does not hold.
        """
        nation = self.config.nation
        own = CoordinationAction(
            recipient=nation,
            origin=nation,
            operator=operator,
            action_id=f"{nation}-{secrets.token_hex(8)}",
            t_s=time.time(),
            action=action,
            track_id=track_id,
            alert_id=alert_id,
            identity=identity,
            note=note,
            handover_to=handover_to,
        )
        _VALIDATORS["coord"](own, f"{action} action of {operator}")
        if handover_to and handover_to not in self.config.network:
            raise MessageError(
                f"handover action of {operator}",
                reason="range",
                column="handover_to",
                expected="a nation of the network (" + ", ".join(self.config.network) + ")",
                got=repr(handover_to),
            )
        row = self._latest_row(track_id)
        threat = threat_mask(row, self.pipeline.alerted, self.config.tracker.aircraft_ceiling_m)
        for recipient in self.config.network:
            if recipient == nation:
                continue
            level = track_levels(row, recipient, self.config.release, self.labels, threat)
            if level[0] == FULL:
                message = msgspec.structs.replace(own, recipient=recipient)
                await self.sender.send("coord", f"air.coord.{nation}.{recipient}", message)
                self.counters.actions_sent[recipient] += 1
        self.apply(own)
        return own

    def take(self, action: CoordinationAction) -> None:
        """Apply a partner operator's action received from the bus (already checked)."""
        self.counters.actions_received[action.origin] += 1
        self.apply(action)

    def apply(self, action: CoordinationAction) -> None:
        """Keep an action, audit it and queue it for the nation's map."""
        self.applied.append(action)
        log.info("%s: applied %s", self.config.node_id, describe(action))
        if self.audit is not None:
            self.audit.note(
                "coordination",
                nation=action.origin,
                detail=describe(action),
                operator=action.operator,
                view=self.config.nation,
                action=action.action,
                action_id=action.action_id,
                track_id=action.track_id,
                acted_s=action.t_s,
                **{k: v for k, v in action.record().items() if k in _WHAT},
            )
        self._outbox.put_nowait(action)

    async def run(self) -> None:
        """Publish the applied actions on ``air.coord.<NATION>`` as they come."""
        subject = f"air.coord.{self.config.nation}"
        while not self.sender.stopping:
            action = await self._outbox.get()
            await self.sender.send("coord", subject, action)

    def _latest_row(self, track_id: str) -> TrackRows:
        """The newest row of a track in the node's picture (raises :class:`TrackNotHeld`)."""
        for rows in reversed(self.publisher.rows):
            hits = np.flatnonzero(np.asarray(rows.track_id) == track_id)
            if len(hits):
                row = rows.take(hits[-1:])
                if str(row.status[0]) == "deleted":
                    break
                return row
        raise TrackNotHeld(f"{track_id} is not held in {self.config.nation}'s picture")

    def write(self, path: Path) -> None:
        """Write the applied actions as JSON lines (one object per action, in order)."""
        with path.open("w", encoding="utf-8") as out:
            for action in self.applied:
                out.write(json.dumps({**action.record(), "view": self.config.nation}) + "\n")


_WHAT = ("alert_id", "identity", "note", "handover_to")


def describe(action: CoordinationAction) -> str:
    """What an action changed, in words (``JPN/alice: T0042 identity hostile``)."""
    what = {
        "identity": f"identity {action.identity}",
        "note": f"note {action.note!r}",
        "acknowledge": f"alert {action.alert_id} acknowledged",
        "handover": f"reporting handed over to {action.handover_to}",
    }[action.action]
    return f"{action.origin}/{action.operator}: {action.track_id} {what}"
