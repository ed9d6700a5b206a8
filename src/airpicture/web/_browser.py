"""A headless chromium for the map page: how the web tests, the frame-rate benchmark and the
screenshot tool open it.

The browser is Debian's chromium (``apt-get install chromium``), driven by Playwright with its
executable path, so Playwright never downloads a browser of its own. Software rendering, no
sandbox (containers), and every background network feature off: the page must draw from what
the node serves alone.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "launch_chromium"]

CHROMIUM = "/usr/bin/chromium"
"""Where Debian's ``chromium`` package installs the browser."""

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
"""Command-line switches of the headless browser."""


def launch_chromium(playwright: Any, executable: str = CHROMIUM) -> Any:
    """Launch the headless browser through a started Playwright (``sync_playwright()`` or its
    async twin); returns Playwright's ``Browser``. Needs the ``playwright`` package (test extra)
    and the browser at ``executable``."""
    return playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
