"""Throughput and peak memory of streaming a large detections file with ``iter_detections``.

Writes a detections CSV (2 million rows by default) and its sensors table to a temporary
directory with the streaming writer, then reads it back in a fresh process per setting, so that
each peak RSS belongs to the read alone. Prints figures; asserts nothing.

    python benchmarks/io_read.py [--rows N] [--chunk-rows 500000 100000] [--parquet]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from airpicture.io import (
    iter_detections,
    open_table_writer,
    read_detections,
    read_sensors,
    write_sensors,
)
from airpicture.tables import Detections, Sensor, SensorTable

WRITE_CHUNK_ROWS = 200_000


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB.

    Linux's ``VmHWM`` where there is one: ``ru_maxrss`` survives ``exec`` and so would report
    the parent's peak for a freshly started child.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    scale = 1024.0 if sys.platform.startswith("linux") else 1024.0 * 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def make_sensors() -> SensorTable:
    deg = np.deg2rad
    return SensorTable(
        (
            Sensor(
                "JPN-R1",
                "JPN",
                "radar",
                deg(35.6),
                deg(139.7),
                40.0,
                50.0,
                deg(0.1),
                deg(0.1),
                1.5,
                4e5,
                10.0,
                0.9,
                2.0,
            ),
            Sensor(
                "USA-R2",
                "USA",
                "radar",
                deg(21.3),
                deg(-157.9),
                10.0,
                80.0,
                deg(0.2),
                deg(0.2),
                float("nan"),
                3.5e5,
                12.0,
                float("nan"),
                float("nan"),
            ),
            Sensor(
                "AUS-I1",
                "AUS",
                "ir",
                deg(-33.9),
                deg(151.2),
                20.0,
                float("nan"),
                deg(0.02),
                deg(0.02),
                float("nan"),
                1e5,
                1.0,
                float("nan"),
                0.5,
            ),
        )
    )


def make_chunk(rng: np.random.Generator, start: int, n: int, sensors: SensorTable) -> Detections:
    index = rng.integers(0, len(sensors), n).astype(np.int32)
    is_radar = np.array([s.has_range for s in sensors])[index]
    has_rate = np.array([s.has_range_rate for s in sensors])[index]
    return Detections(
        t_s=1.7e9 + (start + np.arange(n)) * 1e-3,
        sensor_index=index,
        range_m=np.where(is_radar, rng.uniform(1e3, 4e5, n), np.nan),
        azimuth_rad=rng.uniform(0, 2 * np.pi, n),
        elevation_rad=rng.uniform(-0.05, 1.2, n),
        range_rate_mps=np.where(has_rate, rng.normal(0, 300, n), np.nan),
        sensor_lat_rad=np.array([s.lat_rad for s in sensors])[index],
        sensor_lon_rad=np.array([s.lon_rad for s in sensors])[index],
        sensor_alt_m=np.array([s.alt_m for s in sensors])[index],
        row=np.arange(start, start + n, dtype=np.int64),
    )


def write_files(folder: Path, rows: int, suffix: str) -> tuple[Path, Path, float]:
    sensors = make_sensors()
    sensors_path = folder / "sensors.csv"
    write_sensors(sensors_path, sensors)
    path = folder / f"detections{suffix}"
    rng = np.random.default_rng(2024)
    started = time.perf_counter()
    with open_table_writer(path, "detections", sensors=sensors) as writer:
        for start in range(0, rows, WRITE_CHUNK_ROWS):
            writer.write(make_chunk(rng, start, min(WRITE_CHUNK_ROWS, rows - start), sensors))
    return sensors_path, path, time.perf_counter() - started


def measure(path: Path, sensors_path: Path, chunk_rows: int) -> dict[str, float]:
    """Read the file once; chunk_rows 0 means read_detections (everything at once)."""
    sensors = read_sensors(sensors_path)
    baseline = peak_rss_mib()
    started = time.perf_counter()
    rows = largest = 0
    if chunk_rows:
        for chunk in iter_detections(path, sensors, chunk_rows=chunk_rows):
            rows += len(chunk)
            largest = max(largest, len(chunk))
    else:
        rows = largest = len(read_detections(path, sensors))
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "largest_chunk": largest,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "baseline_rss_mib": baseline,
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--chunk-rows", type=int, nargs="+", default=[500_000, 100_000])
    parser.add_argument("--parquet", action="store_true", help="also time a Parquet file")
    parser.add_argument(
        "--measure", nargs=3, metavar=("FILE", "SENSORS", "CHUNK_ROWS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.measure:
        file, sensors_file, chunk = args.measure
        print(json.dumps(measure(Path(file), Path(sensors_file), int(chunk))))
        return

    suffixes = [".csv", ".parquet"] if args.parquet else [".csv"]
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in suffixes:
            sensors_path, path, write_s = write_files(Path(tmp), args.rows, suffix)
            size_mib = path.stat().st_size / 2**20
            print(
                f"{path.name}: {args.rows:,} rows, {size_mib:.0f} MiB, written in "
                f"{write_s:.2f} s ({args.rows / write_s:,.0f} rows/s)"
            )
            for chunk_rows in [*args.chunk_rows, 0]:
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--measure",
                        str(path),
                        str(sensors_path),
                        str(chunk_rows),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                r = json.loads(out)
                what = (
                    f"iter_detections(chunk_rows={chunk_rows:,})"
                    if chunk_rows
                    else ("read_detections (all at once)")
                )
                print(
                    f"  {what:<40} {r['rows_per_s']:>12,.0f} rows/s  {r['seconds']:6.2f} s  "
                    f"peak RSS {r['peak_rss_mib']:6.0f} MiB (after imports "
                    f"{r['baseline_rss_mib']:.0f} MiB), largest chunk {r['largest_chunk']:,}"
                )


if __name__ == "__main__":
    main()
