"""Shared fixtures: the fake Discord world, and Kindred running against it.

- `kindred`: the real Kindred bot, in this process, connected to the fake Discord server with a
  temporary database and a `FakeClock` (starting Monday 2026-03-02 12:00 UTC). See
  `KindredHarness` for invoking commands, clicking buttons, moving time and restarting.
- `kindred_factory`: the same, when a test needs another start time or a setting.
- `bot_process`: `python -m bot` as a subprocess against the fake (real clock), for tests that
  run the bot exactly as a user would (on the test's backend, through DATABASE_URL).
- `backend` ("sqlite" or "postgres") and `fresh_database`: tests that touch SQL run on each
  backend they are parametrised with (see tests/support/db.py); `postgres_server` is the
  session's PostgreSQL (tests/support/postgres.py), skipped with a reason when there is none,
  or failed when `KINDRED_REQUIRE_POSTGRES=1` (CI).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import Kindred
from bot.db import Backend, DatabaseConfig
from bot.services import Services
from bot.settings import Settings
from tests.fakediscord import FakeDiscord, FakeMessage, InteractionHandle
from tests.fakediscord.fixtures import World, discord_client, fake_discord  # noqa: F401
from tests.support.clock import FakeClock
from tests.support.db import (
    BACKENDS,
    START,
    DatabaseFactory,
    database_factory,
    database_url,
    open_test_services,
    settle,
)
from tests.support.postgres import (
    REQUIRE_VARIABLE,
    PostgresServer,
    PostgresUnavailable,
)
from tests.support.postgres import (
    postgres_server as start_postgres_server,
)
from tests.support.process import SITECUSTOMIZE, bot_environment


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that asks for `backend` on its backends (marker, else BACKENDS)."""
    if "backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    names = marker.args if marker else BACKENDS
    if tuple(names) != ("sqlite",):  # SQLite alone keeps the test's plain name
        metafunc.parametrize("backend", names, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL; without one, its tests skip (or fail, when it is required)."""
    try:
        server = start_postgres_server()
    except PostgresUnavailable as exc:
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail(f"{REQUIRE_VARIABLE}=1 but {exc}", pytrace=False)
        pytest.skip(f"no PostgreSQL: {exc}")
    try:
        yield server
    finally:
        try:
            server.drop_leftovers()
        finally:
            server.stop()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Backend:
    """The database this test runs on (parametrised by `pytest_generate_tests`)."""
    name: Backend = getattr(request, "param", "sqlite")
    if name == "postgres":
        request.getfixturevalue("postgres_server")  # skips or fails here when there is none
    return name


@pytest.fixture
async def fresh_database(
    backend: Backend, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[DatabaseFactory]:
    """`await fresh_database()`: a new migrated database on the test's backend
    (`migrated=False`: an empty one)."""
    server = request.getfixturevalue("postgres_server") if backend == "postgres" else None
    async with database_factory(backend, tmp_path, server) as make:
        yield make


@dataclass
class KindredHarness:
    """Kindred in this process against the fake Discord, with helpers a test needs."""

    fake: FakeDiscord
    database: DatabaseConfig
    clock: FakeClock
    settings: Settings
    bot: Kindred | None = None
    services: Services | None = None
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    world: type[World] = World

    async def start(self) -> None:
        identifies = self.fake.gateway.identify_count + 1
        self.services = await open_test_services(self.database, self.clock)
        self.bot = Kindred(settings=self.settings, services=self.services, guild_ready_timeout=0.1)
        self._task = asyncio.create_task(self.bot.start(self.settings.token))
        ready = asyncio.create_task(self.bot.wait_until_ready())
        done, _ = await asyncio.wait({self._task, ready}, timeout=15, return_when="FIRST_COMPLETED")
        if ready not in done:
            ready.cancel()
            if self._task in done:
                self._task.result()
            raise TimeoutError("Kindred did not become ready")
        await self.fake.wait_until_connected(identifies=identifies)
        await self.settle()

    async def stop(self) -> None:
        """Stop the bot abruptly-but-cleanly: running jobs are cancelled, as in a crash."""
        if self.bot is not None:
            await self.bot.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 5)
        if self.services is not None:
            await self.services.db.close()
        self.bot = self.services = self._task = None

    async def restart(self) -> None:
        """Stop and start a new bot process-equivalent on the same database."""
        await self.stop()
        await self.start()

    async def settle(self, rounds: int = 3) -> None:
        """Let the scheduler, the outbox and the bot's tasks run until nothing is left to do."""
        assert self.services is not None
        await settle(self.services.scheduler, rounds, self.services.outbox)

    async def advance(self, delta: timedelta | float) -> None:
        """Move the fake clock forward and let due jobs run."""
        self.clock.advance(delta)
        await self.settle()

    async def set_time(self, moment: datetime) -> None:
        self.clock.set(moment)
        await self.settle()

    async def invoke(
        self, user_id: int, command: str, /, *, guild_id: int | None = World.GUILD, **options: Any
    ) -> InteractionHandle:
        """Run a slash command as `user_id` in the standard guild (guild_id=None: in DMs)."""
        return await self.fake.invoke(guild_id, user_id, command, **options)

    async def reply(self, user_id: int, command: str, /, **options: Any) -> FakeMessage:
        """Run a slash command and return the bot's first reply message."""
        handle = await self.invoke(user_id, command, **options)
        return await handle.response()

    async def click(self, message: FakeMessage, custom_id: str, user_id: int) -> InteractionHandle:
        return await self.fake.click(message, custom_id, user_id)


KindredFactory = Callable[..., Awaitable[KindredHarness]]


@pytest.fixture
async def kindred_factory(
    fake_discord: FakeDiscord,  # noqa: F811
    fresh_database: DatabaseFactory,
) -> AsyncIterator[KindredFactory]:
    harnesses: list[KindredHarness] = []

    async def make(start: datetime = START, dev_guild_id: int | None = None) -> KindredHarness:
        settings = Settings(
            token=World.TOKEN,
            database=await fresh_database(),
            log_level=20,
            dev_guild_id=dev_guild_id,
        )
        harness = KindredHarness(
            fake=fake_discord,
            database=settings.database,
            clock=FakeClock(start),
            settings=settings,
        )
        harnesses.append(harness)
        await harness.start()
        return harness

    yield make
    for harness in harnesses:
        await harness.stop()


@pytest.fixture
async def kindred(kindred_factory: KindredFactory) -> KindredHarness:
    return await kindred_factory()


@dataclass
class BotProcess:
    """`python -m bot` running as a subprocess against the fake Discord."""

    fake: FakeDiscord
    database: DatabaseConfig
    cwd: Path
    process: subprocess.Popen[str] | None = None
    log_path: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        """DATABASE_URL for this bot (and for `python -m bot backup` on its database)."""
        return database_url(self.database)

    async def start(self, *, wait: bool = True) -> None:
        identifies = self.fake.gateway.identify_count + 1
        env = bot_environment(
            DISCORD_TOKEN=World.TOKEN,
            DATABASE_URL=self.database_url,
            LOG_LEVEL="INFO",
            KINDRED_FAKE_DISCORD_URL=self.fake.url,
            **self.extra_env,
        )
        env["PYTHONPATH"] = f"{SITECUSTOMIZE}:{env['PYTHONPATH']}"
        self.log_path = self.cwd / f"bot-{identifies}.log"
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=self.cwd, env=env, stdout=log, stderr=log, text=True
        )
        log.close()
        if wait:
            await self.fake.wait_until_connected(timeout=20, identifies=identifies)

    def kill(self) -> None:
        """kill -9: no chance to clean up, as in a real crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        return "".join(p.read_text() for p in sorted(self.cwd.glob("bot-*.log")))


@pytest.fixture
async def bot_process(
    fake_discord: FakeDiscord,  # noqa: F811
    tmp_path: Path,
    fresh_database: DatabaseFactory,
) -> AsyncIterator[BotProcess]:
    """A not-yet-started subprocess bot on an empty database of the test's backend (it
    migrates it itself, as on a first start); call `await bot_process.start()`."""
    database = await fresh_database(migrated=False)
    process = BotProcess(fake=fake_discord, database=database, cwd=tmp_path)
    yield process
    process.stop()
