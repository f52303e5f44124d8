"""Test databases on either backend, and the core services around one, on a fake clock.

Tests that touch SQL run on SQLite and on PostgreSQL: they ask for the `backend` fixture (or a
fixture built on it: `fresh_database`, `services`, `kindred`, `bot_process`), and
`tests/conftest.py` parametrises it. Which backends a test gets: its `@pytest.mark.backends(...)`
marker, else `BACKENDS`: both when a PostgreSQL can be had (one is named, required, or
installed), else SQLite alone; `KINDRED_TEST_BACKENDS=sqlite` (or `postgres`) overrides it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast, get_args

import asyncpg

from bot.db import Backend, Database, DatabaseConfig, PostgresConfig, Row, SqliteConfig, migrate
from bot.db.placeholders import translate
from bot.outbox import Outbox
from bot.scheduler import Scheduler
from bot.services import Services, build_services

from .clock import FakeClock
from .postgres import DSN_VARIABLE, REQUIRE_VARIABLE, PostgresServer, find_bindir

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday
BACKENDS_VARIABLE = "KINDRED_TEST_BACKENDS"


def default_backends() -> tuple[Backend, ...]:
    """The backends a test that asks for `backend` runs on unless it is marked otherwise."""
    named = os.environ.get(BACKENDS_VARIABLE, "").replace(" ", "")
    if named:
        names = tuple(named.split(","))
        unknown = sorted(set(names) - set(get_args(Backend)))
        if unknown:
            raise ValueError(f"{BACKENDS_VARIABLE}: no backend {unknown}; use sqlite, postgres")
        return cast(tuple[Backend, ...], names)
    postgres = (
        os.environ.get(REQUIRE_VARIABLE) == "1"
        or bool(os.environ.get(DSN_VARIABLE, "").strip())
        or find_bindir() is not None
    )
    return ("sqlite", "postgres") if postgres else ("sqlite",)


BACKENDS = default_backends()

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
        busy = scheduler.busy or (outbox is not None and outbox.busy)
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


def database_url(database: DatabaseConfig) -> str:
    """The DATABASE_URL that names `database` (for a subprocess bot)."""
    if isinstance(database, SqliteConfig):
        return f"sqlite:///{database.path}"
    return database.dsn


def read_rows(database: DatabaseConfig, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
    """Read a bot's database from outside, synchronously (for `fake.wait_for` predicates and
    checks after a subprocess bot stopped): SQLite read-only (WAL lets it while the bot runs),
    PostgreSQL on a connection of its own in a worker thread."""
    if isinstance(database, SqliteConfig):
        conn = sqlite3.connect(f"file:{database.path}?mode=ro", uri=True, timeout=5)
        conn.row_factory = sqlite3.Row
        try:
            return cast(list[Row], conn.execute(sql, params).fetchall())
        finally:
            conn.close()

    async def fetch() -> list[Row]:
        statement = translate(sql)
        conn = await asyncpg.connect(database.dsn)
        try:
            return cast(list[Row], await conn.fetch(statement.sql, *statement.bind(params)))
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, fetch()).result(timeout=30)


def database_problems(database: DatabaseConfig) -> list[str]:
    """What SQLite's `integrity_check` and `foreign_key_check` report (empty when clean).
    PostgreSQL checks foreign keys on every write and has no such report: nothing to add."""
    if not isinstance(database, SqliteConfig):
        return []
    conn = sqlite3.connect(database.path)
    try:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        foreign = [str(row) for row in conn.execute("PRAGMA foreign_key_check")]
    finally:
        conn.close()
    return [r for r in integrity if r != "ok"] + foreign
