"""What the database holds, read from SQLite itself rather than from a list kept by hand.

Privacy and export must cover tables that features add later. They find them by our naming
conventions (see docs/architecture.md): a guild-scoped table has a `guild_id` column, and every
column that holds a member's id ends in `user_id`. Reading the live schema means a new table is
covered the moment its migration runs.
"""

from __future__ import annotations

import base64
import sqlite3
from dataclasses import dataclass
from typing import Any

from .db import Database

GUILD_COLUMN = "guild_id"
MEMBER_SUFFIX = "user_id"


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]

    @property
    def guild_scoped(self) -> bool:
        return GUILD_COLUMN in self.columns

    @property
    def member_columns(self) -> tuple[str, ...]:
        """The columns holding a member's id, by the `*user_id` naming rule."""
        return tuple(c for c in self.columns if c.endswith(MEMBER_SUFFIX))


def quote(identifier: str) -> str:
    """An SQL identifier taken from the schema, quoted so any name is safe in a statement."""
    return '"' + identifier.replace('"', '""') + '"'


async def tables(db: Database) -> list[Table]:
    """Every user table in the database, in name order (SQLite's own tables excluded)."""
    names = await db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    )
    found = []
    for (name,) in names:
        info = await db.fetchall(f"PRAGMA table_info({quote(name)})")
        found.append(Table(name, tuple(row["name"] for row in info)))
    return found


def plain(value: Any) -> Any:
    """A stored value as JSON can carry it (SQLite gives int, float, str, bytes or None)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def plain_row(row: sqlite3.Row) -> dict[str, Any]:
    return {key: plain(row[key]) for key in row.keys()}
