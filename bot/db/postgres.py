"""The PostgreSQL driver (asyncpg, pooled), for running Kindred on a shared server.

It keeps the semantics the code was written against on SQLite:

- Writers in one process run one at a time (an asyncio lock around every transaction, as on
  SQLite), so a read-then-write in a transaction is not interleaved with another writer of this
  process. Reads use the pool and run concurrently. Across processes, PostgreSQL's own row locks,
  `FOR UPDATE SKIP LOCKED` (`Database.skip_locked`) and the advisory locks below are the fence.
- Placeholders: statements keep SQLite's `?` / `:name`; `bot.db.placeholders` rewrites them.
- Rows: asyncpg's Record already answers `row["col"]`, `row[0]` and `keys()` like sqlite3.Row.
- Numbers: PostgreSQL returns `numeric` for SUM over BIGINT; SQLite returns an int. The driver
  decodes `numeric` to int when it is whole (else float), so callers see what SQLite gives.
- `execute` returns the affected row count, parsed from the command tag ("UPDATE 3").
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import shutil
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from .base import (
    Database,
    DatabaseError,
    KeyedLocks,
    Params,
    Row,
    Snapshot,
    Transaction,
    plain_name,
)
from .config import PostgresConfig
from .placeholders import translate

log = logging.getLogger(__name__)
Connection = asyncpg.Connection | PoolConnectionProxy

MINIMUM_SERVER_VERSION = 12
STATEMENT_CACHE_SIZE = 1024  # Kindred has a few hundred distinct statements
VERSION_TABLE = "schema_migrations"
# Advisory locks: a guild's lock is the one-bigint key `guild_id` (a snowflake, unique). Kindred's
# other locks use the two-int4 form (LOCK_NAMESPACE, n); PostgreSQL keeps the two key spaces apart.
LOCK_NAMESPACE = 0x4B4E4452  # 'KNDR'
MIGRATION_LOCK = 1
GUILD_LOCK_RETRY_MAX_SECONDS = 1.0


def _number(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "numeric", schema="pg_catalog", encoder=str, decoder=_number, format="text"
    )


def _count(status: str) -> int:
    """Rows affected, from a command tag such as 'INSERT 0 1' or 'DELETE 3'."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


@functools.lru_cache(maxsize=1024)
def _returns_rows(sql: str) -> bool:
    return re.search(r"\bRETURNING\b", sql, re.IGNORECASE) is not None


class _PostgresReads:
    _conn: Connection | asyncpg.Pool

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        statement = translate(sql)
        return cast(list[Row], await self._conn.fetch(statement.sql, *statement.bind(params)))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        statement = translate(sql)
        return cast(Row | None, await self._conn.fetchrow(statement.sql, *statement.bind(params)))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        statement = translate(sql)
        return await self._conn.fetchval(statement.sql, *statement.bind(params))


class PostgresTransaction(_PostgresReads, Transaction):
    """The writer's handle: one pooled connection inside one PostgreSQL transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Translate placeholders, run, and parse the count from the command tag."""
        statement = translate(sql)
        return _count(await self._conn.execute(statement.sql, *statement.bind(params)))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Bulk writes through asyncpg's executemany with translated placeholders."""
        statement = translate(sql)
        await self._conn.executemany(statement.sql, [statement.bind(row) for row in rows])

    async def executescript(self, script: str) -> None:
        """Send the script unparameterised, so asyncpg runs all its statements."""
        # Without parameters asyncpg uses the simple protocol, which runs several statements.
        await self._conn.execute(script)


class _PostgresSnapshot(Snapshot):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def chunks(self, sql: str, params: Params, size: int) -> AsyncIterator[list[Row]]:
        statement = translate(sql)
        cursor = await self._conn.cursor(statement.sql, *statement.bind(params))
        while chunk := await cursor.fetch(size):
            yield cast(list[Row], chunk)


class _AdvisoryLocks:
    """Guild locks shared with other processes, held on one dedicated connection.

    A session-level advisory lock belongs to the connection that took it, so each held lock
    would pin a pooled connection for as long as its guild's work runs (sends included), and a
    few busy guilds could starve the pool. One connection holds them all instead; it cannot block
    on a lock another process holds without blocking every other guild, so it tries
    (`pg_try_advisory_lock`) and retries with a short backoff. Within this process the guild's
    asyncio lock is taken first, so only other processes ever make it wait.
    """

    def __init__(self, config: PostgresConfig) -> None:
        self._config = config
        self._conn: asyncpg.Connection | None = None
        self._use = asyncio.Lock()  # one query at a time on the connection

    async def _ask(self, sql: str, key: int) -> bool:
        async with self._use:
            conn = self._conn
            if conn is None or conn.is_closed():
                conn = self._conn = await asyncpg.connect(self._config.dsn)
            return bool(await conn.fetchval(sql, key))

    async def acquire(self, key: int) -> None:
        delay = 0.01
        while not await self._ask("SELECT pg_try_advisory_lock($1)", key):
            await asyncio.sleep(delay)
            delay = min(delay * 2, GUILD_LOCK_RETRY_MAX_SECONDS)

    async def release(self, key: int) -> None:
        try:
            released = await self._ask("SELECT pg_advisory_unlock($1)", key)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            released = False
        if not released:
            # The session ended (connection lost) and PostgreSQL dropped its locks with it.
            log.warning("The advisory lock on guild %s was lost with its connection", key)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


class PostgresDatabase(_PostgresReads, Database):
    """`Database` on a PostgreSQL server: an asyncpg pool, advisory locks across processes."""

    backend = "postgres"
    skip_locked = "FOR UPDATE SKIP LOCKED"

    def __init__(self, pool: asyncpg.Pool, config: PostgresConfig) -> None:
        self._conn = self._pool = pool
        self.config = config
        self._write_lock = asyncio.Lock()
        self._guild_locks = KeyedLocks()
        self._advisory = _AdvisoryLocks(config)

    @classmethod
    async def connect(cls, config: PostgresConfig) -> PostgresDatabase:
        """Open the pool and check the server; every failure is one line naming DATABASE_URL."""
        try:
            pool = await asyncpg.create_pool(
                config.dsn,
                min_size=config.pool_min,
                max_size=config.pool_max,
                init=_init_connection,
                statement_cache_size=STATEMENT_CACHE_SIZE,
                server_settings={"application_name": "kindred"},
            )
        except Exception as exc:
            raise DatabaseError(
                f"DATABASE_URL: cannot connect to {config.display} ({_reason(exc)}); check that "
                "the server is running and the URL's host, port, user, password and database."
            ) from exc
        db = cls(pool, config)
        async with pool.acquire() as conn:
            version = conn.get_server_version()
        if version.major < MINIMUM_SERVER_VERSION:
            await pool.close()
            raise DatabaseError(
                f"DATABASE_URL: {config.display} runs PostgreSQL {version.major}; Kindred needs "
                f"PostgreSQL {MINIMUM_SERVER_VERSION} or newer."
            )
        return db

    async def close(self) -> None:
        """Drop the advisory-lock connection, then the pool (terminated after 10 s)."""
        await self._advisory.close()
        try:
            await asyncio.wait_for(self._pool.close(), 10)
        except TimeoutError:
            self._pool.terminate()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Take the writers' lock and a pooled connection, and run one transaction."""
        async with self._write_lock, self._pool.acquire() as conn, conn.transaction():
            yield PostgresTransaction(conn)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement on the pool under the writers' lock; count from the command tag."""
        statement = translate(sql)
        async with self._write_lock:
            return _count(await self._pool.execute(statement.sql, *statement.bind(params)))

    async def insert(self, sql: str, params: Params = ()) -> int | None:
        """One `INSERT ... RETURNING` under the writers' lock; refuses SQL without RETURNING."""
        if not _returns_rows(sql):
            raise DatabaseError(f"insert() needs 'INSERT ... RETURNING <id>': {sql!r}")
        statement = translate(sql)
        async with self._write_lock:
            return await self._pool.fetchval(statement.sql, *statement.bind(params))

    def json_key_equals(self, document: str, key_suffix: str, value: str) -> str:
        """`jsonb_each` over the document's top-level keys, the value compared as jsonb."""
        # jsonb_each refuses anything but an object; SQLite's json_each walks it and finds no
        # such key, so a document that is not an object matches nothing here either.
        suffix = plain_name(key_suffix)
        doc = f"CAST({document} AS jsonb)"
        return (
            f"EXISTS (SELECT 1 FROM jsonb_each(CASE jsonb_typeof({doc}) WHEN 'object' "
            f"THEN {doc} ELSE CAST('{{}}' AS jsonb) END) AS j "
            f"WHERE right(j.key, {len(suffix)}) = '{suffix}' "
            f"AND j.value = to_jsonb(CAST({value} AS BIGINT)))"
        )

    def newest_with_words(self, table: str, key: str) -> str:
        """The GIN index on `to_tsvector('simple', body)`, newest `key` first."""
        return (
            f"SELECT {key} AS id FROM {table} "
            "WHERE to_tsvector('simple', body) @@ websearch_to_tsquery('simple', ?) "
            f"ORDER BY {key} DESC LIMIT ?"
        )

    @contextlib.asynccontextmanager
    async def guild_lock(self, guild_id: int) -> AsyncIterator[None]:
        """The guild's asyncio lock, then its advisory lock so other processes wait too."""
        async with self._guild_locks.hold(guild_id):
            await self._advisory.acquire(guild_id)
            try:
                yield
            finally:
                await self._advisory.release(guild_id)

    @contextlib.asynccontextmanager
    async def schema_lock(self) -> AsyncIterator[None]:
        """A blocking advisory lock: processes starting together migrate one at a time."""
        # Blocking is right here: a second process starting now should wait for the first's
        # migrations, then find nothing left to do.
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1, $2)", LOCK_NAMESPACE, MIGRATION_LOCK)
            try:
                yield
            finally:
                await conn.execute(
                    "SELECT pg_advisory_unlock($1, $2)", LOCK_NAMESPACE, MIGRATION_LOCK
                )

    async def schema_version(self) -> int:
        """The highest version in `schema_migrations` (0 when the table is absent)."""
        if not await self.fetchval("SELECT to_regclass(?) IS NOT NULL", (VERSION_TABLE,)):
            return 0
        return int(await self.fetchval(f"SELECT COALESCE(MAX(version), 0) FROM {VERSION_TABLE}"))

    async def set_schema_version(self, tx: Transaction, version: int, name: str) -> None:
        """Add the migration to `schema_migrations`, creating it on first use."""
        await tx.execute(
            f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} ("
            "version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        await tx.execute(
            f"INSERT INTO {VERSION_TABLE} (version, name) VALUES (?, ?)", (version, name)
        )

    async def table_columns(self) -> dict[str, tuple[str, ...]]:
        """The current schema's base tables from information_schema, except `schema_migrations`."""
        rows = await self.fetchall(
            "SELECT c.table_name, c.column_name FROM information_schema.columns AS c "
            "JOIN information_schema.tables AS t "
            "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
            "AND c.table_name <> ? ORDER BY c.table_name, c.ordinal_position",
            (VERSION_TABLE,),
        )
        found: dict[str, list[str]] = {}
        for table, column in rows:
            found.setdefault(table, []).append(column)
        return {table: tuple(columns) for table, columns in found.items()}

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """One REPEATABLE READ transaction: every query in it sees the same moment."""
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield _PostgresSnapshot(conn)

    async def backup_to(self, target: Path) -> None:
        """`pg_dump --format=custom` (restore with `pg_restore`); the password goes in the
        environment, never on the command line where other users could read it."""
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise DatabaseError(
                "pg_dump is not on PATH: install PostgreSQL's client tools (Debian: apt install "
                "postgresql-client) or back up with your database's own tools."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        dsn, password = _without_password(self.config.dsn)
        env = dict(os.environ)
        if password is not None:
            env["PGPASSWORD"] = password
        process = await asyncio.create_subprocess_exec(
            pg_dump,
            "--format=custom",
            f"--file={target}",
            f"--dbname={dsn}",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        _, stderr = await process.communicate()
        if process.returncode:
            lines = stderr.decode(errors="replace").strip().splitlines()
            raise DatabaseError(f"pg_dump failed: {lines[-1] if lines else process.returncode}")


def _without_password(dsn: str) -> tuple[str, str | None]:
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn, None
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}")), unquote(parts.password)


def _reason(exc: BaseException) -> str:
    """An exception as a short phrase for a one-line message."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
