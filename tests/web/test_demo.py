"""The demo's library parts: release presets and argument checks (the browser tests run it)."""

from __future__ import annotations

import inspect

import pytest

from airpicture.cli import build_parser
from airpicture.demo import run_demo
from airpicture.errors import ConfigError


def test_the_threats_preset_is_the_default() -> None:
    assert inspect.signature(run_demo).parameters["release"].default == "threats"
    assert build_parser().parse_args(["demo"]).release == "threats"


def test_unknown_release_preset_and_bad_speed_are_refused() -> None:
    with pytest.raises(
        ConfigError, match="demo, key release: expected one of hub, full, threats, got 'open'"
    ):
        run_demo("drill", release="open")
    with pytest.raises(ConfigError, match=r"key speed: expected a number in \(0, 10000\], got 0"):
        run_demo("drill", speed=0)
    with pytest.raises(ConfigError, match="scenario library, key name"):
        run_demo("no-such-scenario")


def test_allowed_hosts_and_origins_come_from_the_command_line() -> None:
    args = build_parser().parse_args(
        ["demo", "--allowed-host", "map.example.org", "--allowed-host", "map.example.org:8443"]
        + ["--allowed-origin", "https://map.example.org"]
    )
    assert args.allowed_host == ["map.example.org", "map.example.org:8443"]
    assert args.allowed_origin == ["https://map.example.org"]
    assert build_parser().parse_args(["demo"]).allowed_host == []
    with pytest.raises(ConfigError, match="key allowed_hosts: expected host names"):
        run_demo("drill", allowed_hosts=["https://map.example.org"])
