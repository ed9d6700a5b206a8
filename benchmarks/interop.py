"""Decoding speed of the interop edges, against the third-party decoders on the same bytes.

Writes, in memory, a CAT048 recording (plots of a Mode S radar), a CAT062 stream (system
tracks), and the same ADS-B traffic as Beast binary, AVR lines and SBS rows; then times, in
this one run and on the same data:

- ASTERIX CAT048 and CAT062: airpicture's codec (framing, FSPEC, every item's fields:
  ``iter_records`` + ``read_cat048``/``read_cat062``) against ``asterix-decoder`` (C++
  ``asterix.parse``, which also decodes every field, to nested dicts);
- Beast and AVR: airpicture's ``ModeSDecoder`` (pyModeS per message, CPR pairing, identity)
  against ``pyModeS.decode`` alone on the same messages, and against pyModeS's own stateful
  ``PipeDecoder``;
- SBS: ``iter_sbs`` (no third-party SBS parser to compare with);
- ``ingest`` end to end (decode, convert, write the contract's tables) of the CAT048 file.

Prints records per second (the best of ``--repeat`` runs) and writes a JSON file with
``--json``. Asserts nothing.

    python benchmarks/interop.py [--plots 100000] [--messages 60000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from airpicture.interop import (
    DecodeReport,
    ModeSDecoder,
    RadarPlot,
    SiteConfig,
    SystemTrack,
    adsb_identification,
    adsb_position,
    beast_frame,
    encode_cat048,
    encode_cat062,
    encode_datablock,
    ingest,
    iter_avr,
    iter_beast,
    iter_records,
    iter_sbs,
    read_cat048,
    read_cat062,
)


def cat048_bytes(n: int, rng: np.random.Generator) -> bytes:
    out = bytearray()
    block: list[bytes] = []
    for i in range(n):
        plot = RadarPlot(
            sac=25,
            sic=1,
            time_of_day_s=3600.0 + i * 0.01,
            range_m=float(rng.uniform(5e3, 400e3)),
            azimuth_deg=float(rng.uniform(0, 360)),
            kind="modes",
            mode3a=f"{rng.integers(0, 8**4):04o}",
            flight_level=float(rng.integers(10, 450)),
            height_m=None,
            address=f"{rng.integers(0, 2**24):06X}",
            callsign=f"TST{i % 9999:04d}",
            track_number=i % 4096,
            simulated=False,
            test=False,
        )
        block.append(encode_cat048(plot))
        if len(block) == 40:
            out += encode_datablock(48, block)
            block = []
    if block:
        out += encode_datablock(48, block)
    return bytes(out)


def cat062_bytes(n: int, rng: np.random.Generator) -> bytes:
    out = bytearray()
    block: list[bytes] = []
    for i in range(n):
        track = SystemTrack(
            sac=25,
            sic=100,
            track_number=i % 65535 + 1,
            time_of_day_s=3600.0 + i * 0.01,
            lat_deg=float(rng.uniform(30, 40)),
            lon_deg=float(rng.uniform(130, 145)),
            height_m=float(rng.uniform(0, 12e3)),
            flight_level=float(rng.integers(0, 400)),
            v_east_mps=float(rng.normal(0, 150)),
            v_north_mps=float(rng.normal(0, 150)),
            v_up_mps=0.0,
            address=f"{rng.integers(0, 2**24):06X}",
            callsign=f"TST{i % 9999:04d}",
            mode3a="1234",
            sigma_east_m=50.0,
            sigma_north_m=60.0,
            sigma_height_m=40.0,
            tentative=False,
            ended=False,
        )
        block.append(encode_cat062(track))
        if len(block) == 40:
            out += encode_datablock(62, block)
            block = []
    if block:
        out += encode_datablock(62, block)
    return bytes(out)


def adsb_messages(n: int, rng: np.random.Generator) -> list[tuple[float, str]]:
    """ADS-B of 200 aircraft near 35 N 139 E: positions at 2 Hz (even/odd), identification."""
    aircraft = [
        (
            f"{0x800000 + k:06X}",
            34 + rng.uniform(0, 2),
            138 + rng.uniform(0, 2),
            rng.uniform(-0.002, 0.002, 2),
        )
        for k in range(200)
    ]
    out: list[tuple[float, str]] = []
    k = 0
    while len(out) < n:
        t = k * 0.5
        for addr, lat, lon, (dlat, dlon) in aircraft:
            msg = adsb_position(addr, lat + dlat * t, lon + dlon * t, 30_000, odd=k % 2)
            out.append((t + rng.uniform(0, 0.5), msg))
            if k % 10 == 0:
                out.append((t + 0.25, adsb_identification(addr, f"F{addr[-5:]}")))
        k += 1
    out = out[:n]
    out.sort()
    return out


def best_rate(n: int, run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return n / min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--plots", type=int, default=100_000, help="CAT048 and CAT062 records")
    p.add_argument("--messages", type=int, default=60_000, help="Mode S messages")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", help="write the figures to this file")
    args = p.parse_args()
    rng = np.random.default_rng(1)
    results: dict[str, dict[str, float]] = {}

    def row(name: str, records: int, ours: float, theirs: float | None, who: str) -> None:
        results[name] = {"records": records, "airpicture_per_s": ours}
        ratio = ""
        if theirs is not None:
            results[name][f"{who}_per_s"] = theirs
            ratio = f"{theirs:>12,.0f}/s {who}  (airpicture x{ours / theirs:.2f})"
        print(f"{name:<22}{records:>9,} records  {ours:>12,.0f}/s airpicture  {ratio}")

    asterix = None
    try:
        import asterix as asterix_module

        if hasattr(asterix_module, "get_sample_file"):
            asterix = asterix_module
    except ImportError:
        pass

    for cat, data, reader in (
        (48, cat048_bytes(args.plots, rng), read_cat048),
        (62, cat062_bytes(args.plots, rng), read_cat062),
    ):

        def ours(data: bytes = data, reader: Callable = reader) -> int:  # type: ignore[type-arg]
            report = DecodeReport()
            return sum(
                reader(r) is not None for r in iter_records(data, source="bench", report=report)
            )

        assert ours() == args.plots
        theirs = None
        if asterix is not None:
            assert len(asterix.parse(data)) == args.plots
            theirs = best_rate(args.plots, lambda data=data: asterix.parse(data), args.repeat)
        row(
            f"ASTERIX CAT{cat:03d}",
            args.plots,
            best_rate(args.plots, ours, args.repeat),
            theirs,
            "asterix-decoder",
        )

    import pyModeS

    messages = adsb_messages(args.messages, rng)
    beast = b"".join(beast_frame(m, t) for t, m in messages)
    avr = [(i, f"{1.8e9 + t:.6f},{m}") for i, (t, m) in enumerate(messages)]

    def decode_beast() -> int:
        report = DecodeReport()
        dec = ModeSDecoder(report=report, source="bench")
        return sum(
            1 for _ in dec.decode(iter_beast(beast, source="bench", report=report, start_t_s=1.8e9))
        )

    def decode_avr() -> int:
        report = DecodeReport()
        dec = ModeSDecoder(report=report, source="bench")
        return sum(1 for _ in dec.decode(iter_avr(avr, source="bench", report=report)))

    def pymodes_alone() -> None:
        for _t, m in messages:
            pyModeS.decode(m)

    def pymodes_pipe() -> None:
        pipe = pyModeS.PipeDecoder()
        for t, m in messages:
            pipe.decode(m, timestamp=t)

    positions = decode_beast()
    plain = best_rate(len(messages), pymodes_alone, args.repeat)
    pipe = best_rate(len(messages), pymodes_pipe, args.repeat)
    row(
        "Mode S Beast",
        len(messages),
        best_rate(len(messages), decode_beast, args.repeat),
        plain,
        "pyModeS.decode",
    )
    results["Mode S Beast"]["pyModeS_PipeDecoder_per_s"] = pipe
    results["Mode S Beast"]["positions"] = positions
    print(
        f"{'':<22}{'':>9}          {'':>12}  {pipe:>12,.0f}/s pyModeS.PipeDecoder; "
        f"{positions:,} positions resolved"
    )
    row(
        "Mode S AVR",
        len(messages),
        best_rate(len(messages), decode_avr, args.repeat),
        plain,
        "pyModeS.decode",
    )

    sbs = [
        (
            i,
            f"MSG,3,1,1,{m[2:8]},1,2026/12/07,19:{int(t // 60) % 60:02d}:{t % 60:06.3f},"
            f"2026/12/07,19:00:00.000,,30000,,,35.{i % 1000:03d},139.{i % 997:03d},,,0,0,0,0",
        )
        for i, (t, m) in enumerate(messages)
    ]
    row(
        "SBS",
        len(sbs),
        best_rate(
            len(sbs),
            lambda: sum(1 for _ in iter_sbs(sbs, source="bench", report=DecodeReport())),
            args.repeat,
        ),
        None,
        "",
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cat048.ast"
        path.write_bytes(cat048_bytes(args.plots, rng))
        site = SiteConfig("R1", "JPN", 35.0, 139.0, 50.0, sac=25, sic=1)
        t0 = time.perf_counter()
        result = ingest(path, Path(tmp) / "out", fmt="asterix", sites=[site], date="2026-12-07")
        dt = time.perf_counter() - t0
        row("ingest CAT048 -> CSV", args.plots, args.plots / dt, None, "")
        results["ingest CAT048 -> CSV"]["detections"] = result.n_detections
        assert math.isfinite(dt)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
