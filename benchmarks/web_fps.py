"""Frames per second of the map with 5,000 tracks updating every second, in a real browser.

A PictureStore with one view is fed 5,000 synthetic straight flights over the Sea of Japan
region, every track updated once per second of wall time (one delta of 5,000 records per
second over the WebSocket), after 120 s of history so that every track has a trail. Debian's
chromium (headless, software rendering, through Playwright) opens the map; frames are counted
with requestAnimationFrame in the page for ``--seconds`` while the map stands still, and again
while the mouse drags the map back and forth the whole time. The target is at least 30 frames
per second.

    python benchmarks/web_fps.py [--tracks 5000] [--seconds 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import numpy as np

from airpicture.geo import enu_rotation, geodetic2ecef
from airpicture.tables import TrackRows
from airpicture.web import create_app
from airpicture.web._browser import launch_chromium
from airpicture.web import start_server
from airpicture.web import PictureStore

FPS_JS = """(seconds) => { window.__fps = null; (async () => {
  const draws = [];
  const map = window.__airpicture.map;
  let moves = 0;
  const onMove = () => { moves += 1; };
  map.on("move", onMove);
  let frames = 0, worst = 0, last = performance.now();
  const t0 = last;
  await new Promise((resolve) => {
    function frame(now) {
      frames += 1;
      worst = Math.max(worst, now - last);
      last = now;
      draws.push(window.__airpicture.state.stats.lastDrawMs);
      if (now - t0 < seconds * 1000) requestAnimationFrame(frame); else resolve();
    }
    requestAnimationFrame(frame);
  });
  const elapsed = (performance.now() - t0) / 1000;
  map.off("move", onMove);
  draws.sort((a, b) => a - b);
  const st = window.__airpicture.state;
  window.__fps = {fps: frames / elapsed, worst_frame_ms: worst,
          median_draw_ms: draws[Math.floor(draws.length / 2)],
          tracks: st.tracks.size, drawn: st.stats.drawn,
          deltas: window.__airpicture.state.stats.deltas, map_moves: moves};
})(); }"""


def measure(page, seconds: float, *, drag: bool) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Count frames for ``seconds``; with ``drag``, drag the map with the mouse meanwhile."""
    page.evaluate(FPS_JS, seconds)
    if drag:
        box = page.locator("#map").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(cx, cy)
        page.mouse.down()
        end = time.monotonic() + seconds
        k = 0
        while time.monotonic() < end:
            phase = (k % 80) / 80 * 2 * np.pi
            page.mouse.move(cx + 200 * np.sin(phase), cy + 80 * np.sin(2 * phase))
            k += 1
        page.mouse.up()
    page.wait_for_function("window.__fps !== null", timeout=(seconds + 30) * 1000)
    return page.evaluate("window.__fps")  # type: ignore[no-any-return]


class Flights:
    """n straight flights; ``rows(t)`` gives their states at time t (flat-earth steps)."""

    def __init__(self, n: int, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.n = n
        self.lat0 = np.radians(rng.uniform(28.0, 46.0, n))
        self.lon0 = np.radians(rng.uniform(124.0, 150.0, n))
        crs = rng.uniform(0.0, 2 * np.pi, n)
        spd = rng.uniform(120.0, 280.0, n)
        self.ve, self.vn = spd * np.sin(crs), spd * np.cos(crs)
        self.alt = rng.uniform(1_000.0, 12_000.0, n)
        self.ids = np.array([f"T{i:06d}" for i in range(n)])
        sig = rng.uniform(100.0, 1_000.0, n) ** 2
        self.cov = np.column_stack([sig, 0 * sig, 0 * sig, sig, 0 * sig, sig])
        self.kind = np.where(rng.random(n) < 0.02, "cruise", "aircraft")

    def rows(self, t_s: float) -> TrackRows:
        lat = self.lat0 + self.vn * t_s / 6.371e6
        lon = self.lon0 + self.ve * t_s / (6.371e6 * np.cos(self.lat0))
        x, y, z = geodetic2ecef(lat, lon, self.alt)
        R = enu_rotation(lat, lon)
        v = np.einsum("nji,nj->ni", R, np.column_stack([self.ve, self.vn, np.zeros(self.n)]))
        return TrackRows(
            np.full(self.n, t_s),
            self.ids,
            np.column_stack([x, y, z, v]),
            self.cov,
            self.kind,
            np.full(self.n, "confirmed"),
            np.full(self.n, "JPN;USA"),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    flights = Flights(args.tracks)
    store = PictureStore(nations=["JPN"], history_s=300.0)
    store.info = {
        "scenario": f"benchmark: {args.tracks} tracks",
        "center": [37.0, 137.0],
        "zoom": 5,
    }
    for t in range(0, 121, 2):
        store.apply("JPN", flights.rows(float(t)))
    server = start_server(create_app(store), port=0)
    stop = threading.Event()
    apply_ms: list[float] = []

    def feed() -> None:
        t = 121.0
        while not stop.wait(1.0):
            started = time.perf_counter()
            store.apply("JPN", flights.rows(t))
            apply_ms.append((time.perf_counter() - started) * 1000)
            t += 1.0

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    result: dict[str, object] = {
        "tracks": args.tracks,
        "updates_per_s": args.tracks,
        "seconds": args.seconds,
    }
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1400, "height": 850})
            page.goto(server.url)
            page.wait_for_selector("body[data-ready='1']", timeout=60_000)
            page.wait_for_function(
                f"window.__airpicture.state.tracks.size === {args.tracks}", timeout=60_000
            )
            page.wait_for_timeout(2000)
            result["still"] = measure(page, args.seconds, drag=False)
            result["dragging"] = measure(page, args.seconds, drag=True)
            browser.close()
    finally:
        stop.set()
        feeder.join(5)
        server.stop()
    result["store_apply_ms_median"] = float(np.median(apply_ms)) if apply_ms else None
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{args.tracks} tracks, each updated every second, "
        "chromium headless (software rendering), 1400x850"
    )
    for name in ("still", "dragging"):
        r = result[name]
        assert isinstance(r, dict)
        print(
            f"  {name:9s} {r['fps']:6.1f} fps   worst frame {r['worst_frame_ms']:6.1f} ms   "
            f"median track-layer draw {r['median_draw_ms']:5.1f} ms   tracks drawn {r['drawn']}   "
            f"map moves {r['map_moves']}"
        )
    print(
        f"  server: PictureStore.apply of {args.tracks} rows, "
        f"median {result['store_apply_ms_median']:.1f} ms"
    )
    print("  target: at least 30 fps")


if __name__ == "__main__":
    main()
