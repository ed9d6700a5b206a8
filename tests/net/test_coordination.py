"""Operators' coordination actions on the wire and between nodes: the message kind's schema and
validation, an action released by the release policy of the track it concerns, applied and
audited by every node it reaches, published for the nation's map and written to the record;
bad actions rejected and counted, never stopping a node."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pytest

from airpicture.net import (
    CoordinationAction,
    LabelSpace,
    MemoryBus,
    MessageError,
    Signer,
    decode_message,
    encode_message,
    init_keys,
    load_signing_key,
    nation_paths,
    verify_audit_log,
)
from airpicture.node import Node, NodeConfig
from airpicture.node._coordination import TrackNotHeld
from airpicture.tables import TrackRows
from tests.net.conftest import wait_until
from tests.net.helpers import NATIONS, node_keys, node_values
from tests.net.synthetic import T0_S, synthetic_scenario

SPACE = LabelSpace(NATIONS)


def _action(**changes) -> CoordinationAction:
    values = {
        "recipient": "USA",
        "origin": "JPN",
        "operator": "alice",
        "action_id": "JPN-1",
        "t_s": 1.79e9,
        "action": "identity",
        "track_id": "JPN1-7",
        "identity": "hostile",
    }
    return CoordinationAction(**{**values, **changes})


def _encode(payload) -> bytes:
    return encode_message("coord", payload, sender="jpn-node", nation="JPN", seq=1, sent_ns=0)


def test_actions_round_trip_and_their_records_leave_out_unused_fields():
    for action in (
        _action(),
        _action(action="note", identity="", note="two launchers\nseen at dawn"),
        _action(action="acknowledge", identity="", alert_id="JPN-A3"),
        _action(action="handover", identity="", handover_to="USA"),
    ):
        envelope, payload = decode_message(_encode(action))
        assert envelope.kind == "coord" and payload == action
    assert _action().record() == {
        "origin": "JPN",
        "operator": "alice",
        "action_id": "JPN-1",
        "t_s": 1.79e9,
        "action": "identity",
        "track_id": "JPN1-7",
        "identity": "hostile",
    }


@pytest.mark.parametrize(
    ("changes", "reason", "column"),
    [
        ({"action": "engage"}, "range", "action"),  # nothing that tasks a weapon
        ({"identity": "enemy"}, "range", "identity"),
        ({"identity": ""}, "range", "identity"),
        ({"note": "and a note"}, "range", "note"),  # a field the action does not use
        ({"action": "handover", "identity": "", "handover_to": "us"}, "range", "handover_to"),
        ({"action": "acknowledge", "identity": ""}, "range", "alert_id"),
        ({"t_s": float("nan")}, "non-finite", "t_s"),
        ({"track_id": ""}, "range", "track_id"),
        ({"action": "note", "identity": "", "note": "x" * 1001}, "range", "note"),
        ({"action": "note", "identity": "", "note": "bell\x07"}, "range", "note"),
        ({"operator": "a\x1bb"}, "range", "operator"),
        ({"origin": "jp"}, "range", "origin"),
    ],
)
def test_bad_actions_are_refused_with_a_reason(changes, reason, column):
    data = _encode(_action(**changes))
    with pytest.raises(MessageError) as info:
        decode_message(data)
    assert info.value.reason == reason and info.value.column == column


def _missile(track_id: str, label: int) -> TrackRows:
    """One ballistic track row over the Sea of Japan, its label over the nodes' nations."""
    return TrackRows(
        t_s=np.array([T0_S + 1.0]),
        track_id=np.array([track_id]),
        x=np.array([[-3.6e6, 3.6e6, 3.8e6, 1000.0, -500.0, 800.0]]),
        cov_pos=np.array([[100.0, 0, 0, 100.0, 0, 100.0]]),
        kind=np.array(["ballistic"]),
        status=np.array(["confirmed"]),
        nations=np.array(["JPN"]),
        release=np.array([label], dtype=np.uint64),
    )


async def test_an_action_reaches_the_nations_its_track_is_released_to_and_is_audited_there(
    tmp_path: Path,
):
    """JPN shares its tracks with the USA only: an operator of JPN marks a missile hostile and
    acknowledges its alert; the USA's node applies and audits both, Australia's gets neither;
    a forged and a malformed action are rejected and counted; the record keeps the actions."""
    keys = tmp_path / "keys"
    init_keys(keys, NATIONS)
    scenario_dir = synthetic_scenario(n_targets=1, duration_s=4.0, seed=1).write(tmp_path / "s")
    bus = MemoryBus()
    nodes = {}
    for nation in NATIONS:
        values = node_values(
            nation,
            scenario_dir,
            exit_when_done=False,
            release={"default": ["*"], "tracks": {"to": ["USA"] if nation == "JPN" else []}},
            security={
                "keys_dir": str(node_keys(keys, nation)),
                "audit_log": str(tmp_path / f"{nation}.jsonl"),
            },
            record=str(tmp_path / nation / "tracks.csv"),
        )
        nodes[nation] = Node(NodeConfig.from_mapping(values), bus=bus)
    outputs: list[tuple[str, CoordinationAction]] = []

    async def on_output(message) -> None:
        outputs.append((message.subject, decode_message(message.data)[1]))

    await bus.subscribe("air.coord.*", on_output)
    stop = asyncio.Event()
    runs = [asyncio.create_task(node.run(stop)) for node in nodes.values()]
    jpn = nodes["JPN"]
    await wait_until(lambda: jpn._sub is not None and nodes["USA"]._sub is not None)
    jpn.publisher.queue_picture(_missile("JPN1-7", SPACE.label(set(NATIONS))), final=False)
    with pytest.raises(TrackNotHeld):
        await jpn.coordination.act("alice", "identity", "JPN1-99", identity="hostile")
    with pytest.raises(MessageError):
        await jpn.coordination.act("alice", "identity", "JPN1-7", identity="enemy")
    with pytest.raises(MessageError, match="handover_to"):
        await jpn.coordination.act("alice", "handover", "JPN1-7", handover_to="GBR")
    hostile = await jpn.coordination.act("alice", "identity", "JPN1-7", identity="hostile")
    ack = await jpn.coordination.act("alice", "acknowledge", "JPN1-7", alert_id="JPN-A1")
    usa, aus = nodes["USA"], nodes["AUS"]
    await wait_until(lambda: len(usa.coordination.applied) == 2, deadline_s=5.0)
    # a node of the USA forging an action of a JPN operator, and one with a bad identity
    signer = Signer("USA", "usa-node", load_signing_key(nation_paths(keys, "USA").signing_key))
    for payload in (
        _action(recipient="AUS", origin="JPN"),
        _action(recipient="AUS", origin="USA", identity="enemy"),
    ):
        data = encode_message(
            "coord",
            payload,
            sender="usa-node",
            nation="USA",
            seq=time.time_ns(),
            subject="air.coord.USA.AUS",
            signer=signer.sign,
        )
        await bus.publish("air.coord.USA.AUS", data)
    await wait_until(lambda: sum(aus.health()["rejected"].values()) == 2, deadline_s=5.0)
    await wait_until(lambda: len(outputs) == 4, deadline_s=5.0)
    stop.set()
    await asyncio.gather(*runs)

    assert [a.action_id for a in usa.coordination.applied] == [hostile.action_id, ack.action_id]
    assert aus.coordination.applied == []
    assert aus.health()["rejected"] == {"sender": 1, "range": 1}
    assert usa.health()["coordination"] == {"applied": 2, "sent": {}, "received": {"JPN": 2}}
    assert jpn.health()["coordination"] == {"applied": 2, "sent": {"USA": 2}, "received": {}}
    assert (
        sorted(subject for subject, _ in outputs) == ["air.coord.JPN"] * 2 + ["air.coord.USA"] * 2
    )
    for nation in ("JPN", "USA"):
        audit = tmp_path / f"{nation}.jsonl"
        assert verify_audit_log(audit).intact
        lines = [json.loads(line) for line in audit.read_text().splitlines()]
        applied = [line for line in lines if line.get("event") == "coordination"]
        assert [(a["operator"], a["nation"], a["view"], a["action"]) for a in applied] == [
            ("alice", "JPN", nation, "identity"),
            ("alice", "JPN", nation, "acknowledge"),
        ]
        assert applied[0]["identity"] == "hostile" and applied[1]["alert_id"] == "JPN-A1"
        assert applied[0]["detail"] == "JPN/alice: JPN1-7 identity hostile"
        assert all(a["time"].startswith("20") for a in applied)
        record = tmp_path / nation / "coordination.jsonl"
        kept = [json.loads(line) for line in record.read_text().splitlines()]
        assert [k["action"] for k in kept] == ["identity", "acknowledge"]
        assert {k["view"] for k in kept} == {nation}
    assert not (tmp_path / "AUS" / "coordination.jsonl").read_text()
