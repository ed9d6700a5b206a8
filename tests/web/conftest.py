"""Fixtures of the web tests: a real chromium through Playwright, the demo, an in-process server.

The browser is Debian's ``/usr/bin/chromium`` (Playwright never downloads one here). Without it
the browser tests are skipped locally and fail in CI (``CI`` set), where ``.ci/run`` installs it.
Screenshots are written to a temporary folder whose path is printed at the end of the run (or to
``$AIRPICTURE_ARTIFACTS`` when set).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from airpicture.web._browser import CHROMIUM, launch_chromium

_ARTIFACTS: list[Path] = []


def artifacts_dir() -> Path:
    """The folder screenshots go to (created once per run)."""
    if not _ARTIFACTS:
        given = os.environ.get("AIRPICTURE_ARTIFACTS")
        path = Path(given) if given else Path(tempfile.mkdtemp(prefix="airpicture-web-artifacts-"))
        path.mkdir(parents=True, exist_ok=True)
        _ARTIFACTS.append(path)
    return _ARTIFACTS[0]


def pytest_terminal_summary(terminalreporter):  # type: ignore[no-untyped-def]
    if _ARTIFACTS:
        shots = sorted(p.name for p in _ARTIFACTS[0].glob("*.png"))
        terminalreporter.write_line(f"web test screenshots ({len(shots)}) in {_ARTIFACTS[0]}")


@pytest.fixture(scope="package")
def browser():  # type: ignore[no-untyped-def]
    """The browser, for the tests of this folder only: Playwright's sync API holds an event loop
    in the main thread while it runs, in which the ``asyncio.run`` of other folders' tests
    (``tests/net``) could not start."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


class PageWatch:
    """A page with every request URL and console error recorded."""

    def __init__(self, browser, width: int = 1400, height: int = 850) -> None:  # type: ignore[no-untyped-def]
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready='1']", timeout=30_000)

    def foreign_requests(self) -> list[str]:
        """Requests to anything but 127.0.0.1 (data: and blob: URLs load nothing)."""
        out = []
        for u in self.requests:
            parsed = urlparse(u)
            if parsed.scheme in ("data", "blob"):
                continue
            if parsed.hostname != "127.0.0.1":
                out.append(u)
        return out

    def shot(self, name: str) -> Path:
        path = artifacts_dir() / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        self.context.close()


class DemoProcess:
    """``airpicture demo`` in a child process; ``url`` once it serves the map."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "airpicture.cli", "demo", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        self.url = self._wait_for_url()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def _wait_for_url(self) -> str:
        while True:
            try:
                line = self.lines.get(timeout=60)
            except queue.Empty:
                self.stop()
                raise RuntimeError("the demo printed no URL: " + "".join(self.output)) from None
            if "map on http://" in line:
                return line.split("map on ", 1)[1].split()[0]

    def stop(self) -> int:
        """Ctrl-C, as a user would; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._pump_thread.join(timeout=10)
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            self.proc.stdout.close()
        return int(self.proc.returncode)


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoProcess]:
    d = DemoProcess("--scenario", "drill", "--speed", "6", "--port", "0")
    try:
        yield d
    finally:
        d.stop()
