"""Test databases on either backend, and the core services around one, on a fake clock.

Tests that touch SQL run on SQLite and on PostgreSQL: they ask for the `backend` fixture (or a
fixture built on it: `fresh_database`, `services`, `kindred`), and `tests/conftest.py`
parametrises it. Which backends a test gets: its `@pytest.mark.backends(...)` marker, else
`BACKENDS` (`KINDRED_TEST_BACKENDS=sqlite,postgres` overrides it, to try the rest on both).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from bot.db import Backend, Database, DatabaseConfig, PostgresConfig, SqliteConfig, migrate
from bot.outbox import Outbox
from bot.scheduler import Scheduler
from bot.services import Services, build_services

from .clock import FakeClock
from .postgres import PostgresServer

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday
# The backends a test that asks for `backend` runs on unless it is marked otherwise.
BACKENDS = cast(
    tuple[Backend, ...],
    tuple(os.environ.get("KINDRED_TEST_BACKENDS", "sqlite").replace(" ", "").split(",")),
)

# `await fresh_database()` -> a new database's config; `migrated=False` gives an empty one.
DatabaseFactory = Callable[..., Awaitable[DatabaseConfig]]


@asynccontextmanager
async def database_factory(
    backend: Backend, folder: Path, server: PostgresServer | None
) -> AsyncIterator[DatabaseFactory]:
    """Make fresh databases on `backend`; PostgreSQL ones are dropped on exit."""
    numbers = itertools.count()
    created: list[PostgresConfig] = []

    async def make(*, migrated: bool = True) -> DatabaseConfig:
        if backend == "sqlite":
            config = SqliteConfig(folder / f"kindred{next(numbers)}.db")
            if migrated:
                db = await Database.open(config)
                try:
                    await migrate(db)
                finally:
                    await db.close()
            return config
        assert server is not None
        config = await server.create_database(migrated=migrated)
        created.append(config)
        return config

    try:
        yield make
    finally:
        for config in created:
            assert server is not None
            await server.drop_database(config)


async def open_test_services(
    database: DatabaseConfig | Path, clock: FakeClock | None = None
) -> Services:
    db = await Database.open(database)
    await migrate(db)
    clock = clock or FakeClock(START)
    return build_services(db, Scheduler(db, clock), clock)


async def settle(scheduler: Scheduler, rounds: int = 3, outbox: Outbox | None = None) -> None:
    """Let the scheduler loop and its jobs (and the outbox's sends) run until nothing has run
    for `rounds` short waits.

    Waiting a fixed number of event-loop turns is not enough: on PostgreSQL every query is a
    round trip that takes real time, so this watches for quiet instead.
    """
    quiet = 0
    while quiet < rounds:
        await asyncio.sleep(0.02)
        busy = bool(scheduler._running) or (outbox is not None and outbox.busy)
        await scheduler.idle()
        if outbox is not None:
            await outbox.idle()
        quiet = 0 if busy else quiet + 1


async def run_due(services: Services) -> None:
    """Start the scheduler and the outbox (if they are not running), let due jobs run and due
    messages go out (through whatever transport the test attached), and wait for them."""
    services.scheduler.start()
    services.outbox.start()
    await settle(services.scheduler, outbox=services.outbox)
