"""The `Database` every caller uses, whichever driver is behind it (SQLite or PostgreSQL).

Callers write SQL once, in the subset both databases accept, with SQLite's `?` / `:name`
placeholders (docs/architecture.md, "SQL for both databases"). Everything that is not in that
subset lives behind this interface: how writers are serialised, per-guild locks, schema
versions, schema discovery, consistent snapshots and backups.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, overload

from .config import DatabaseConfig, SqliteConfig

Params = Sequence[Any] | Mapping[str, Any]
Backend = Literal["sqlite", "postgres"]


class DatabaseError(Exception):
    """The database cannot be opened or is damaged; the message is one line for the operator."""


class Row(Protocol):
    """A result row: `row["column"]`, `row[0]`, `row.keys()`, unpacking (as sqlite3.Row)."""

    @overload
    def __getitem__(self, key: str, /) -> Any: ...
    @overload
    def __getitem__(self, key: int, /) -> Any: ...
    def keys(self) -> Iterable[str]:
        """Column names in select order, so a row can become a dict (exports, payloads)."""
        ...

    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...


class Reads(abc.ABC):
    """Reads, on the database or inside a transaction."""

    @abc.abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query, for results small enough to hold (else `Snapshot.chunks`)."""

    @abc.abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or None: for lookups by key and single aggregates."""

    @abc.abstractmethod
    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None. `INSERT ... RETURNING id` in a
        transaction gives the new id this way on both databases."""


class Transaction(Reads):
    """The handle a writer gets inside `Database.transaction()`."""

    @abc.abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""

    @abc.abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement once per parameter set inside this transaction (bulk writes)."""

    @abc.abstractmethod
    async def executescript(self, script: str) -> None:
        """Run several statements (a migration) inside this transaction."""


class Snapshot(abc.ABC):
    """A read-only, consistent view of the data while the bot keeps writing (for exports)."""

    @abc.abstractmethod
    def chunks(self, sql: str, params: Params, size: int) -> AsyncIterator[list[Row]]:
        """The rows of `sql`, streamed `size` at a time (never all held at once)."""


class Database(Reads):
    """Kindred's database. Open it with `Database.open(config)`, close it with `close()`."""

    backend: ClassVar[Backend]
    # Appended to a `SELECT ... FOR` claim so that processes sharing a PostgreSQL database skip
    # rows another one holds; empty on SQLite, where one process writes at a time anyway.
    skip_locked: ClassVar[str]

    @staticmethod
    async def open(target: DatabaseConfig | Path | str) -> Database:
        """Open (and check) the database `target` names; a path is a SQLite file."""
        config = target if isinstance(target, DatabaseConfig) else SqliteConfig(Path(target))
        if isinstance(config, SqliteConfig):
            from .sqlite import SqliteDatabase

            return await SqliteDatabase.connect(config.path)
        from .postgres import PostgresDatabase  # asyncpg is imported only when it is used

        return await PostgresDatabase.connect(config)

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the connections at shutdown, after the loops that write have stopped."""

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractAsyncContextManager[Transaction]:
        """One all-or-nothing transaction. Writers in this process run one at a time, so a
        read-then-write inside it sees no other writer of this process in between."""

    @abc.abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in its own transaction; the affected row count."""

    @abc.abstractmethod
    async def insert(self, sql: str, params: Params = ()) -> int | None:
        """Run one `INSERT ... RETURNING <id>` on its own, as `execute` does; the new row's
        id, or None when nothing was inserted (`ON CONFLICT DO NOTHING` met a row)."""

    @abc.abstractmethod
    def json_key_equals(self, document: str, key_suffix: str, value: str) -> str:
        """SQL that is true when the JSON object in the column `document` (stored as text) has a
        top-level key ending in `key_suffix` whose value is the integer `value` (a placeholder
        such as `:user`). SQLite has `json_each`, PostgreSQL `jsonb_each`: the two differ."""

    @abc.abstractmethod
    def newest_with_words(self, table: str, key: str) -> str:
        """A subquery with two `?` (quoted words `"w1" "w2"`, then a row limit): the `key` (as
        `id`) of the newest rows of `table` whose `body` has every word, by the engine's
        full-text index (SQLite: the FTS5 table `<table>_fts` over the table's rowid, which is
        `key`; PostgreSQL: a GIN index on `to_tsvector('simple', body)`). Newest is the highest
        `key`; the limit lets the engine stop early."""

    @abc.abstractmethod
    def guild_lock(self, guild_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        """Exclusive work on one guild: an asyncio lock on SQLite; on PostgreSQL also an
        advisory lock, so it excludes other processes on the same database too."""

    @abc.abstractmethod
    def schema_lock(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Held while migrating, so processes starting together migrate once."""

    @abc.abstractmethod
    async def schema_version(self) -> int:
        """The number of the last migration applied (0 for a new database)."""

    @abc.abstractmethod
    async def set_schema_version(self, tx: Transaction, version: int, name: str) -> None:
        """Record, inside the migration's own transaction, that `version` is applied."""

    @abc.abstractmethod
    async def table_columns(self) -> dict[str, tuple[str, ...]]:
        """Every Kindred table (name -> its columns in order), read from the live schema."""

    @abc.abstractmethod
    def snapshot(self) -> contextlib.AbstractAsyncContextManager[Snapshot]:
        """A consistent read-only view for long reads (exports) that must not block writers."""

    @abc.abstractmethod
    async def backup_to(self, target: Path) -> None:
        """Write a restorable copy of the live database to `target`."""


def plain_name(text: str) -> str:
    """`text`, checked to be letters, digits and `_` only, so it can go into SQL as it is."""
    if not text or not text.replace("_", "").isalnum() or not text.isascii():
        raise ValueError(f"not a plain name: {text!r}")
    return text


class KeyedLocks:
    """asyncio locks by key, created on first use and dropped when nobody holds or awaits
    them, so 10,000 guilds do not leave 10,000 locks behind."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        """Hold `key`'s lock for the block; the lock is dropped when its last user leaves."""
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
