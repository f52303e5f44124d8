"""One shared SQLite connection with a single writer.

SQLite allows one writer at a time. Rather than let concurrent tasks collide on `database is
locked`, every write goes through `Database.transaction()`, which holds an asyncio lock and an
`IMMEDIATE` transaction, so writers queue in the event loop and each transaction is all or
nothing. Reads run directly on the connection (WAL keeps them cheap).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

Params = Sequence[Any] | dict[str, Any]
BUSY_TIMEOUT_MS = 5_000


class DatabaseError(Exception):
    """The database cannot be opened or is damaged; the message is one line for the operator."""


class _Reads:
    """Read helpers shared by the database and a transaction on it.

    Each read is one hop to aiosqlite's thread (`execute_fetchall`): a cursor would take three
    (execute, fetch, close), and those hops, not SQLite, were most of a read's cost. Queries read
    through `fetchone`/`fetchval` select one row (by key, or an aggregate), so fetching all is
    the same work.
    """

    _conn: aiosqlite.Connection

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class Transaction(_Reads):
    """The handle a writer gets inside `Database.transaction()`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> aiosqlite.Cursor:
        return await self._conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, rows)

    async def executescript(self, script: str) -> None:
        # executescript would COMMIT first; run statements one by one to stay in the transaction.
        for statement in split_sql(script):
            await self._conn.execute(statement)


class Database(_Reads):
    """Kindred's database: open it with `Database.open(path)`, close it with `close()`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        """Open (creating the folder if missing), configure, and check the database."""
        path = Path(path)
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
        await self._conn.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Run a block as one IMMEDIATE transaction; writers are serialised by a lock."""
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in its own transaction; returns the affected row count.

        In autocommit mode one statement is already its own transaction, so this takes the
        writers' lock and runs it: one hop to the database thread instead of three (BEGIN,
        statement, COMMIT). Writers queue on that lock, so its hold time bounds write throughput.
        """
        async with self._write_lock:
            cursor = await self._conn.execute(sql, params)
            return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int | None:
        """Run one INSERT on its own, as `execute` does; the new row's id, or None when nothing
        was inserted (e.g. `ON CONFLICT DO NOTHING` met an existing row)."""
        async with self._write_lock:
            cursor = await self._conn.execute(sql, params)
            return cursor.lastrowid if cursor.rowcount else None

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
