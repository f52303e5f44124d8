"""What the database holds, read from the database itself rather than from a list kept by hand.

Privacy and export must cover tables that features add later. They find them by our naming
conventions (see docs/architecture.md): a guild-scoped table has a `guild_id` column, and every
column that holds a member's id ends in `user_id`. Reading the live schema means a new table is
covered the moment its migration runs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from .db import Database, Row

GUILD_COLUMN = "guild_id"
MEMBER_SUFFIX = "user_id"


@dataclass(frozen=True, slots=True)
class Table:
    """One table of the live schema and its columns, for privacy and export conventions."""

    name: str
    columns: tuple[str, ...]

    @property
    def guild_scoped(self) -> bool:
        """Whether the table's rows belong to a guild (it has a `guild_id` column)."""
        return GUILD_COLUMN in self.columns

    @property
    def member_columns(self) -> tuple[str, ...]:
        """The columns holding a member's id, by the `*user_id` naming rule."""
        return tuple(c for c in self.columns if c.endswith(MEMBER_SUFFIX))


def quote(identifier: str) -> str:
    """An SQL identifier taken from the schema, quoted so any name is safe in a statement."""
    return '"' + identifier.replace('"', '""') + '"'


async def tables(db: Database) -> list[Table]:
    """Every Kindred table in the database, in name order (the driver reads the catalogue:
    sqlite_master on SQLite, information_schema on PostgreSQL)."""
    found = await db.table_columns()
    return [Table(name, found[name]) for name in sorted(found)]


def plain(value: Any) -> Any:
    """A stored value as JSON can carry it (the drivers give int, float, str, bytes or None)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def plain_row(row: Row) -> dict[str, Any]:
    """A row as a JSON-ready dict (for exports and a member's copy of their data)."""
    return {key: plain(row[key]) for key in row.keys()}
