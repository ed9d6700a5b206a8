"""Process-wide allocator setting of the command line."""

from __future__ import annotations

import platform
import sys

import pytest

from airpicture.runtime import keep_freed_memory


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="mallopt is glibc's",
)
def test_the_allocator_keeps_freed_memory_on_glibc():
    assert keep_freed_memory(64 << 20) is True
