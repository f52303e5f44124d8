"""The SQLite driver: one shared connection with a single writer.

SQLite allows one writer at a time. Rather than let concurrent tasks collide on `database is
locked`, every write goes through `transaction()` (or `execute`/`insert`), which holds an
asyncio lock and an `IMMEDIATE` transaction, so writers queue in the event loop and each
transaction is all or nothing. Reads run directly on the connection (WAL keeps them cheap).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any, cast

import aiosqlite

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

BUSY_TIMEOUT_MS = 5_000


class _SqliteReads:
    """Reads on the one connection.

    Each read is one hop to aiosqlite's thread (`execute_fetchall`): a cursor would take three
    (execute, fetch, close), and those hops, not SQLite, were most of a read's cost. Queries read
    through `fetchone`/`fetchval` select one row (by key, or an aggregate), so fetching all is
    the same work.
    """

    _conn: aiosqlite.Connection

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return cast(list[Row], list(await self._conn.execute_fetchall(sql, params)))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class SqliteTransaction(_SqliteReads, Transaction):
    """The writer's handle inside one IMMEDIATE transaction on the shared connection."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        cursor = await self._conn.execute(sql, params)
        return max(cursor.rowcount, 0)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Bulk writes through sqlite3's executemany, inside the open transaction."""
        await self._conn.executemany(sql, rows)

    async def executescript(self, script: str) -> None:
        """Run a script statement by statement, never sqlite3's COMMIT-first way."""
        # executescript would COMMIT first; run statements one by one to stay in the transaction.
        for statement in split_sql(script):
            await self._conn.execute(statement)


class _SqliteSnapshot(Snapshot):
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def chunks(self, sql: str, params: Params, size: int) -> AsyncIterator[list[Row]]:
        async with self._conn.execute(sql, params) as cursor:
            while chunk := await cursor.fetchmany(size):
                yield cast(list[Row], list(chunk))


class SqliteDatabase(_SqliteReads, Database):
    """`Database` on one SQLite file: one connection, writers queued on an asyncio lock."""

    backend = "sqlite"
    skip_locked = ""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()
        self._guild_locks = KeyedLocks()

    @classmethod
    async def connect(cls, path: Path) -> SqliteDatabase:
        """Open (creating the folder if missing), configure, and check the database."""
        if str(path) != ":memory:":
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"DATABASE_URL: cannot create the folder {path.parent} ({exc.strerror}); "
                    "choose a writable location."
                ) from exc
        try:
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseError(
                f"DATABASE_URL: cannot open {path} ({exc}); choose a writable location."
            ) from exc
        conn.row_factory = sqlite3.Row
        db = cls(conn, path)
        try:
            await db._configure()
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise DatabaseError(
                f"DATABASE_URL: {path} cannot be used ({exc}); check the path is writable and "
                "the file is a Kindred database (restore a backup if it is damaged)."
            ) from exc
        return db

    async def _configure(self) -> None:
        await self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await self._conn.execute("PRAGMA journal_mode = WAL")
        await self._conn.execute("PRAGMA foreign_keys = ON")
        await self._conn.execute("PRAGMA synchronous = NORMAL")
        # Opening a file does not touch it; prove now that we can read and write it.
        await self._conn.execute("BEGIN IMMEDIATE")
        await self._conn.execute("ROLLBACK")
        # integrity_check, not quick_check: only it notices an index that disagrees with its
        # table (one flipped byte in `jobs_due` hid half the due jobs from the scheduler while
        # quick_check said ok). It costs about 0.7 s per 100 MB at start-up.
        result = await self.fetchval("PRAGMA integrity_check")
        if result != "ok":
            # SQLite lists every problem on its own line; the operator needs one line.
            lines = [line for line in result.splitlines() if line and not line.startswith("***")]
            raise sqlite3.DatabaseError(f"integrity check failed: {(lines or [result])[0]}")

    async def close(self) -> None:
        """Close the one shared connection (SQLite checkpoints the WAL as it closes)."""
        await self._conn.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Run a block as one IMMEDIATE transaction; writers are serialised by a lock."""
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTransaction(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")

    async def execute(self, sql: str, params: Params = ()) -> int:
        """In autocommit mode one statement is already its own transaction, so this takes the
        writers' lock and runs it: one hop to the database thread instead of three (BEGIN,
        statement, COMMIT). Writers queue on that lock, so its hold time bounds write throughput.
        """
        async with self._write_lock:
            cursor = await self._conn.execute(sql, params)
            return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int | None:
        """One `INSERT ... RETURNING id` under the writers' lock; the new id, or None."""
        async with self._write_lock:
            cursor = await self._conn.execute(sql, params)
            rows = list(await cursor.fetchall())
            await cursor.close()
            if cursor.description is None:
                raise DatabaseError(f"insert() needs 'INSERT ... RETURNING <id>': {sql!r}")
            return rows[0][0] if rows else None

    def json_key_equals(self, document: str, key_suffix: str, value: str) -> str:
        """`json_each` over the document's top-level keys, matched by GLOB."""
        return (
            f"EXISTS (SELECT 1 FROM json_each({document}) AS j "
            f"WHERE j.key GLOB '*{plain_name(key_suffix)}' AND j.value = {value})"
        )

    def newest_with_words(self, table: str, key: str) -> str:
        """The FTS5 table `<table>_fts`, walked backwards by rowid (no sort) to the limit."""
        return (
            f"SELECT rowid AS id FROM {table}_fts WHERE {table}_fts MATCH ? "
            "ORDER BY rowid DESC LIMIT ?"
        )

    @contextlib.asynccontextmanager
    async def guild_lock(self, guild_id: int) -> AsyncIterator[None]:
        """An in-process asyncio lock only: one process owns a SQLite file."""
        async with self._guild_locks.hold(guild_id):
            yield

    @contextlib.asynccontextmanager
    async def schema_lock(self) -> AsyncIterator[None]:
        """Nothing to take: one process per file; the migration transaction serialises."""
        # One process per SQLite file; each migration's IMMEDIATE transaction does the rest.
        yield

    async def schema_version(self) -> int:
        """SQLite keeps the applied version in `PRAGMA user_version`."""
        return int(await self.fetchval("PRAGMA user_version"))

    async def set_schema_version(self, tx: Transaction, version: int, name: str) -> None:
        """Set `PRAGMA user_version` inside the migration's transaction."""
        # PRAGMA cannot take parameters; the version is an int we produced.
        await tx.execute(f"PRAGMA user_version = {int(version)}")

    async def table_columns(self) -> dict[str, tuple[str, ...]]:
        """Plain tables from `pragma_table_list`, columns from `pragma_table_info`, in order.

        A full-text index (an FTS5 virtual table and its shadow tables) is the engine's index,
        like a PostgreSQL GIN index, not Kindred's data."""
        names = await self.fetchall(
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        found: dict[str, tuple[str, ...]] = {}
        for (name,) in names:
            info = await self.fetchall("SELECT name FROM pragma_table_info(?)", (name,))
            found[name] = tuple(row[0] for row in info)
        return found

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """A second, read-only connection inside one read transaction: WAL lets it see one
        consistent moment while the bot keeps writing on the main connection."""
        conn = await aiosqlite.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute("BEGIN")
            yield _SqliteSnapshot(conn)
        finally:
            await conn.close()

    async def backup_to(self, target: Path) -> None:
        """Copy the live database to `target` with SQLite's online backup API."""
        target.parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(str(target)) as dest:
            await self._conn.backup(dest)


def split_sql(script: str) -> list[str]:
    """Split a migration script into complete statements (handles triggers' inner `;`)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        statements.append(current.strip())
    return statements
