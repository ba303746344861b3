"""Shared fixtures: provider fakes on loopback, and the real server in its own process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.world import ProviderFakes
from tests.server_proc import RunningServer, start_server


@pytest.fixture(scope="session")
def fakes() -> Iterator[ProviderFakes]:
    """Deepgram, OpenAI, Cartesia, Twilio REST and Google Calendar fakes, shared by the run."""
    with ProviderFakes() as world:
        yield world


@pytest.fixture(autouse=True)
def _clean_fakes(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with empty fake records and default scripts."""
    yield
    if "fakes" in request.fixturenames:
        request.getfixturevalue("fakes").reset()


@pytest.fixture(scope="module")
def server_factory(
    fakes: ProviderFakes, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., RunningServer]]:
    """Start servers pointed at the fakes; each is stopped when the module ends."""
    started: list[RunningServer] = []

    def start(**env: str) -> RunningServer:
        tmp: Path = tmp_path_factory.mktemp("server")
        server = start_server(tmp, fakes.env() | {k.upper(): str(v) for k, v in env.items()})
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def phone_server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    """The default server: Bristol Plumbing profile, every provider pointed at the fakes."""
    return server_factory()


# Fixtures that start a server process: a test using any of them is end-to-end.
_SERVER_FIXTURES = {"server_factory", "phone_server", "server"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that starts the real server `e2e`, so `-m "not e2e"` is the fast lane."""
    for item in items:
        if _SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
