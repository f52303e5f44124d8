"""Numbered plain-SQL migrations, each applied in one transaction, tracked in `user_version`.

Files are `bot/db/migrations/NNNN_name.sql`; the number is the schema version it produces. A
migration that fails midway rolls back whole, leaving the database at the previous version, so a
bad upgrade can be fixed and retried instead of leaving a half-changed schema.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .connection import Database, DatabaseError

log = logging.getLogger(__name__)
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(folder: Path | None = None) -> list[Migration]:
    """The migrations in `folder` (default: the packaged ones), numbered 1..n."""
    source = folder if folder is not None else resources.files("bot.db") / "migrations"
    found = []
    for entry in source.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        # A gap would let a migration added later with a lower number be skipped forever.
        raise RuntimeError(f"migrations must be numbered 1..n without gaps: {versions}")
    return found


async def migrate(db: Database, migrations: list[Migration] | None = None) -> int:
    """Apply every migration newer than the database's version; return the new version."""
    migrations = load_migrations() if migrations is None else migrations
    current = await db.fetchval("PRAGMA user_version")
    latest = migrations[-1].version if migrations else 0
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
            # PRAGMA cannot take parameters; the version is an int we produced.
            await tx.execute(f"PRAGMA user_version = {int(migration.version)}")
        log.info("Applied migration %s", migration.name)
        current = migration.version
    return current
