"""What signing and verifying cost a node: per message, and as a share of a node's work.

1. Per message: Ed25519 signing (sender) and verification (receiver, envelope decode included)
   of a heartbeat and of detection batches of several sizes, against decoding and validating
   the same payload (work a node does anyway).
2. Share of a node's throughput: three nodes (JPN, USA, AUS, full release) in this process on
   the in-process bus replay the seeded scenario of ``tests/net/synthetic.py`` as fast as they
   can, once signed and verified (keys, permissions, audit) and once without. The share is the
   time spent in ``sign`` and ``verify`` (counted around the calls) over the process CPU time of
   the secure run, and the CPU time difference of the two runs.
3. Release labels: the cost per detection of computing labels (sensor rules and two areas) and
   of the receiver's label check, and the CPU time of the secure network again with those
   policies and every node sharing its tracks with the others (downgrading position-only).

Usage::

    python benchmarks/security_overhead.py --targets 60 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.net.synthetic import synthetic_scenario  # noqa: E402

from airpicture.net._bus import MemoryBus  # noqa: E402
from airpicture.net._keys import (  # noqa: E402
    Trust,
    export_node_keys,
    init_keys,
    load_signing_key,
    nation_paths,
)
from airpicture.net._messages import (  # noqa: E402
    DetectionBatch,
    Heartbeat,
    decode_message,
    encode_message,
)
from airpicture.net._release import FULL, LabelSpace, ReleasePolicy, detection_labels  # noqa: E402
from airpicture.net._security import Signer, Verifier  # noqa: E402
from airpicture.node import Node, NodeConfig  # noqa: E402

NATIONS = ("AUS", "JPN", "USA")


def _per_call_us(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e6


def micro(keys: Path, scenario) -> list[dict]:
    signer = Signer("USA", "usa-node", load_signing_key(nation_paths(keys, "USA").signing_key))
    verifier = Verifier(Trust.load(keys / "trust.json"))
    rows = []
    dets = scenario.detections
    payloads = [("hb", Heartbeat(recipient="JPN", clock_s=1.0))]
    for n in (16, 256, 4096):
        part = np.arange(min(n, len(dets)))
        payloads.append(
            (
                "det",
                DetectionBatch.from_detections(
                    dets.take(part),
                    scenario.sensors,
                    recipient="JPN",
                    clock_s=float(scenario.arrival_s[part].max()),
                    arrival_s=scenario.arrival_s[part],
                    sensor_seq=part,
                    label=np.full(len(part), LabelSpace(NATIONS).label({"*"}), np.uint64),
                    label_nations=NATIONS,
                ),
            )
        )
    subject = "air.det.USA.JPN"
    for kind, payload in payloads:
        plain = encode_message(kind, payload, sender="usa-node", nation="USA", seq=1)
        signed = encode_message(
            kind,
            payload,
            sender="usa-node",
            nation="USA",
            seq=1,
            subject=subject,
            signer=signer.sign,
        )
        repeat = 2000 if len(signed) < 100_000 else 200
        rows.append(
            {
                "message": kind if kind == "hb" else f"det x{len(payload)}",
                "bytes": len(signed),
                "encode_us": _per_call_us(
                    lambda k=kind, p=payload: encode_message(
                        k, p, sender="usa-node", nation="USA", seq=1
                    ),
                    repeat,
                ),
                "encode_sign_us": _per_call_us(
                    lambda k=kind, p=payload: encode_message(
                        k,
                        p,
                        sender="usa-node",
                        nation="USA",
                        seq=1,
                        subject=subject,
                        signer=signer.sign,
                    ),
                    repeat,
                ),
                "verify_us": _per_call_us(lambda d=signed: verifier.verify(d, subject), repeat),
                "decode_us": _per_call_us(lambda d=plain: decode_message(d), repeat),
            }
        )
    return rows


class _Timed:
    """Wraps a callable and adds its run time to ``total`` (s)."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self.total = 0.0
        self.calls = 0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.total += time.perf_counter() - start
            self.calls += 1


_RELEASE = {
    "default": ["*"],
    "coarse": ["*"],
    "areas": [
        {
            "name": "north",
            "to": ["JPN", "USA"],
            "box": {"lat": [37.0, 40.0], "lon": [133.0, 140.0]},
        },
        {"name": "east", "to": ["USA", "AUS"], "box": {"lat": [34.0, 38.0], "lon": [136.5, 140.0]}},
    ],
    "tracks": {"to": ["*"], "downgrade": "position-only"},
}


def labels_micro(scenario) -> dict[str, float]:
    """Per detection, us: labels under ``_RELEASE`` (sender), remap and check (receiver)."""
    space = LabelSpace(NATIONS)
    policy = ReleasePolicy.from_mapping(_RELEASE, owner="USA", own_sensors=(), source="bench")
    dets = scenario.detections
    n = len(dets)
    labels = detection_labels(dets, scenario.sensors, policy, space)
    other = LabelSpace(tuple(reversed(NATIONS)))
    return {
        "label_us": _per_call_us(
            lambda: detection_labels(dets, scenario.sensors, policy, space), 20
        )
        / n,
        "check_us": _per_call_us(
            lambda: other.level(other.remap(labels, space.nations), "JPN") == FULL, 20
        )
        / n,
    }


async def _network(
    folder: Path, keys: Path | None, speed: float, release: dict | None = None
) -> tuple[float, float, int, int]:
    """Run three nodes; return (process CPU s, sign+verify s, messages, detections)."""
    bus = MemoryBus()
    start_at = time.time() + 0.3
    nodes = []
    for nation in NATIONS:
        values = {
            "nation": nation,
            "sensors_file": str(folder / "sensors.csv"),
            "network": list(NATIONS),
            "tick_s": 0.02,
            "peer_timeout_s": 120.0,
            "exit_when_done": True,
            "source": {"scenario_dir": str(folder), "speed": speed, "start_at_unix_s": start_at},
            "tracker": {"latency_window_s": 4.0},
        }
        if keys is not None:
            own = keys.parent / f"{keys.name}-{nation}"  # the node's own keys folder
            if not own.exists():
                export_node_keys(keys, nation, own)
            values["security"] = {"keys_dir": str(own)}
        if release is not None:
            values["release"] = release
        nodes.append(Node(NodeConfig.from_mapping(values), bus=bus))
    timers = []
    for node in nodes:
        if node.security is not None:
            sign = _Timed(node.security.signer.sign)
            verify = _Timed(node.security.verifier.verify)
            node.security.signer.sign = sign  # type: ignore[method-assign]
            node.security.verifier.verify = verify  # type: ignore[method-assign]
            timers += [sign, verify]
    cpu = time.process_time()
    await asyncio.gather(*(node.run() for node in nodes))
    cpu = time.process_time() - cpu
    await bus.close()
    messages = sum(n.counters.received_messages for n in nodes)
    detections = sum(n.counters.received_detections for n in nodes)
    return cpu, sum(t.total for t in timers), messages, detections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=60)
    parser.add_argument("--duration", type=float, default=60.0, help="scenario seconds")
    parser.add_argument("--speed", type=float, default=20.0, help="scenario seconds per second")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="airpicture-secbench-"))
    keys = work / "keys"
    init_keys(keys, NATIONS)
    scenario = synthetic_scenario(n_targets=args.targets, duration_s=args.duration, seed=args.seed)
    folder = scenario.write(work / "scenario")

    print("per message (us):")
    print(f"{'message':>12} {'bytes':>8} {'encode':>8} {'enc+sign':>9} {'verify':>8} {'decode':>8}")
    for row in micro(keys, scenario):
        print(
            f"{row['message']:>12} {row['bytes']:>8} {row['encode_us']:>8.1f} "
            f"{row['encode_sign_us']:>9.1f} {row['verify_us']:>8.1f} {row['decode_us']:>8.1f}"
        )

    cpu_plain, _, msgs_plain, dets_plain = asyncio.run(_network(folder, None, args.speed))
    cpu_secure, crypto, msgs, dets = asyncio.run(_network(folder, keys, args.speed))
    print(f"\nthree nodes, {len(scenario.detections)} detections, {dets} received, {msgs} messages")
    print(
        f"insecure: process CPU {cpu_plain:.2f} s ({msgs_plain} messages, {dets_plain} detections)"
    )
    print(f"secure:   process CPU {cpu_secure:.2f} s, of which sign + verify {crypto:.3f} s")
    print(f"sign + verify share of the secure nodes' CPU time: {crypto / cpu_secure:.1%}")
    print(f"CPU time difference secure - insecure: {(cpu_secure - cpu_plain) / cpu_plain:+.1%}")

    micro_labels = labels_micro(scenario)
    print(
        f"\nlabels per detection: {micro_labels['label_us']:.2f} us to compute (sensor rules, "
        f"two areas), {micro_labels['check_us']:.3f} us to remap and check on receipt"
    )
    cpu_shared, _, msgs_shared, dets_shared = asyncio.run(
        _network(folder, keys, args.speed, _RELEASE)
    )
    print(
        f"secure, areas and track sharing: process CPU {cpu_shared:.2f} s ({msgs_shared} "
        f"messages, {dets_shared} detections), {(cpu_shared - cpu_secure) / cpu_secure:+.1%} "
        "against secure without"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
