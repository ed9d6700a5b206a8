"""The demo's library parts: release policies and argument checks (the browser tests run it)."""

from __future__ import annotations

import pytest

from airpicture.demo import release_tables, run_demo
from airpicture.errors import ConfigError


def test_hub_release_sends_everything_to_the_usa_and_the_usa_to_all() -> None:
    tables = release_tables("hub", ("JPN", "USA", "AUS"))
    assert tables == {"JPN": {"default": ["USA"]}, "USA": {"default": ["*"]}, "AUS": {"default": ["USA"]}}
    assert release_tables("full", ("JPN", "AUS")) == {"JPN": {"default": ["*"]}, "AUS": {"default": ["*"]}}


def test_unknown_release_mode_and_bad_speed_are_refused() -> None:
    with pytest.raises(ConfigError, match="demo, key release: expected one of hub, full, got 'open'"):
        release_tables("open", ("JPN",))
    with pytest.raises(ConfigError, match=r"demo, key speed: expected a number in \(0, 10000\], got 0"):
        run_demo("drill", speed=0)
    with pytest.raises(ConfigError, match="scenario library, key name"):
        run_demo("no-such-scenario")
