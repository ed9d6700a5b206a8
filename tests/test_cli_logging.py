"""The command line's logging: asyncio's TLS end-of-stream notice is left out, the rest kept."""

from __future__ import annotations

import logging

import pytest

from airpicture.cli import main


def test_the_tls_eof_notice_is_left_out(caplog: pytest.LogCaptureFixture) -> None:
    assert main(["simulate", "--list"]) == 0
    asyncio_log = logging.getLogger("asyncio")
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        asyncio_log.warning("returning true from eof_received() has no effect when using ssl")
        asyncio_log.warning("Task was destroyed but it is pending!")
    assert [r.getMessage() for r in caplog.records] == ["Task was destroyed but it is pending!"]
