"""Screenshots for docs/screenshots/: the demo at launch, mid-raid, the operator's map (alert
panel, decluttered raid, legend), and each nation's view.

Runs ``airpicture demo --scenario sea-of-japan-raid --speed SPEED --port 0`` in a child process,
opens the map in Debian's chromium (Playwright) and saves palette PNGs (small enough to commit).

    python tools/web_screenshots.py [--speed 8] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from airpicture.web._browser import launch_chromium

STATE = "window.__airpicture.state"


def save(target, path: Path) -> None:  # type: ignore[no-untyped-def]
    """A screenshot of a page or of an element of it (a Playwright locator)."""
    target.screenshot(path=str(path))
    Image.open(path).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        path, optimize=True
    )
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=8.0)
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument(
        "--mid-raid-s", type=float, default=260.0, help="scenario seconds of the mid-raid shot"
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airpicture.cli",
            "demo",
            "--scenario",
            "sea-of-japan-raid",
            "--speed",
            str(args.speed),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            if "map on http://" in line:
                url = line.split("map on ", 1)[1].split()[0]
                break
        if not url:
            raise SystemExit("the demo printed no URL")
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1400, "height": 850})
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=60_000)
            page.wait_for_function(
                f"[...{STATE}.tracks.values()].filter(r => r.st === 'confirmed').length >= 20",
                timeout=120_000,
            )
            page.wait_for_timeout(1500)
            save(page, out / "demo-launch.png")
            start = page.evaluate(
                "fetch('api/info').then(r => r.json()).then(i => i.time_range.JPN.t_min)"
            )
            page.wait_for_function(f"{STATE}.tS >= {start} + {args.mid_raid_s}", timeout=300_000)
            page.wait_for_timeout(500)
            save(page, out / "demo-mid-raid.png")
            # The operator's map: the alert panel (the most urgent alert acknowledged), the
            # raid with its tentative tracks too, decluttered, and the legend.
            page.wait_for_selector("#alerts li.alert", timeout=120_000)
            page.evaluate("document.querySelector('#alerts li.alert button.ack')?.click()")
            save(page.locator(".alerts-panel"), out / "operator-alerts.png")
            page.click("#lay-tentative")
            page.wait_for_timeout(1500)
            save(page, out / "operator-declutter.png")
            page.click("#lay-tentative")
            page.click("[data-testid=legend-toggle]")
            page.wait_for_timeout(500)
            save(page.locator("#map"), out / "operator-legend.png")
            page.click("[data-testid=legend-toggle]")
            for nation in ("JPN", "USA", "AUS"):
                page.click(f"#nations button[data-nation={nation}]")
                page.wait_for_function(
                    f"{STATE}.nation === '{nation}' && {STATE}.tracks.size > 0", timeout=30_000
                )
                page.wait_for_timeout(1500)
                save(page, out / f"demo-view-{nation}.png")
            browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proc.stdout is not None:
            proc.stdout.close()


if __name__ == "__main__":
    main()
