"""Fixtures of the network tests: a real nats-server on 127.0.0.1 and a small scenario on disk."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airpicture.net import NatsServer
from tests.net.synthetic import SyntheticScenario, synthetic_scenario


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    """One nats-server with JetStream for the session (tests isolate themselves by stream)."""
    server = NatsServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def scenario() -> SyntheticScenario:
    """The three-nation scenario of the node tests (about 1,200 detections over 60 s)."""
    return synthetic_scenario(n_targets=10, duration_s=60.0, seed=3)


@pytest.fixture(scope="session")
def scenario_dir(tmp_path_factory: pytest.TempPathFactory, scenario: SyntheticScenario) -> Path:
    """The scenario written as a data-contract directory."""
    return scenario.write(tmp_path_factory.mktemp("scenario"))


async def wait_until(predicate: Callable[[], bool], *, deadline_s: float = 20.0) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``deadline_s`` (a hang guard only)."""
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.01)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests of this folder in a fresh event loop (no plugin needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    asyncio.run(pyfuncitem.obj(**kwargs))
    return True
