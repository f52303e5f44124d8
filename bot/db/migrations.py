"""Numbered plain-SQL migrations, one set per database, each applied in one transaction.

Files live in `bot/db/migrations/` as twins with one number and name: `NNNN_name.sql` for SQLite
and `NNNN_name.pg.sql` for PostgreSQL (same tables and columns; BIGINT where SQLite says
INTEGER, identity columns where it says INTEGER PRIMARY KEY for a generated id). The number is
the schema version the migration produces. SQLite keeps the version in `PRAGMA user_version`,
PostgreSQL in a table, and PostgreSQL migrates under an advisory lock, so processes starting
together migrate once (see the drivers). A migration that fails midway rolls back whole, leaving
the database at the previous version, so a bad upgrade can be fixed and retried instead of
leaving a half-changed schema.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from .base import Backend, Database, DatabaseError

log = logging.getLogger(__name__)
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)(\.pg)?\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered migration script for one backend, as read from the migrations folder."""

    version: int
    name: str
    sql: str


def _folder(folder: Path | None) -> Traversable:
    return folder if folder is not None else resources.files("bot.db") / "migrations"


def load_migrations(folder: Path | None = None, backend: Backend = "sqlite") -> list[Migration]:
    """The `backend`'s migrations in `folder` (default: the packaged ones), numbered 1..n."""
    found = []
    for entry in _folder(folder).iterdir():
        match = _NAME.match(entry.name)
        if match and bool(match.group(3)) == (backend == "postgres"):
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        # A gap would let a migration added later with a lower number be skipped forever.
        raise RuntimeError(f"migrations must be numbered 1..n without gaps: {versions}")
    return found


def missing_twins(folder: Path | None = None) -> list[str]:
    """The files a migration lacks for the other database (every migration needs both)."""
    sqlite: set[str] = set()
    postgres: set[str] = set()
    for entry in _folder(folder).iterdir():
        match = _NAME.match(entry.name)
        if match:
            (postgres if match.group(3) else sqlite).add(f"{match.group(1)}_{match.group(2)}")
    missing = [f"{stem}.pg.sql" for stem in sqlite - postgres]
    missing += [f"{stem}.sql" for stem in postgres - sqlite]
    return sorted(missing)


async def migrate(db: Database, migrations: list[Migration] | None = None) -> int:
    """Apply every migration newer than the database's version; return the new version."""
    migrations = load_migrations(backend=db.backend) if migrations is None else migrations
    latest = migrations[-1].version if migrations else 0
    async with db.schema_lock():
        current = await db.schema_version()
        if current > latest:
            raise DatabaseError(
                f"DATABASE_URL: the database is at schema version {current}, newer than this "
                f"Kindred ({latest}); upgrade Kindred or restore an older backup"
            )
        for migration in migrations:
            if migration.version <= current:
                continue
            async with db.transaction() as tx:
                await tx.executescript(migration.sql)
                await db.set_schema_version(tx, migration.version, migration.name)
            log.info("Applied migration %s", migration.name)
            current = migration.version
    return current
