"""`/admin export`: a guild's data as JSON files an admin can keep or analyse.

What is in it: every guild-scoped table (one with `guild_id`, found in the live schema, so a
table added by a later migration is exported without touching this file), only this guild's
rows, member ids as plain ids. What is not: the scheduler's `jobs` (how Kindred plans its own
work, not the guild's data; it is recomputed from the settings) and any column whose name marks
a secret (`token`, `secret`, `password`). Members' journal entries and "Meet again" choices
are private even from admins: the export holds only their count (`"journal_entries"` has no
rows, and a `count`). The
file names the schema version (the last migration applied) and this format's version, so a
reader knows which columns to expect.

It has to work for a guild with 10,000 members, so rows are streamed: read in chunks from a
snapshot and written straight to a temporary file, never held in one list. The snapshot
(`Database.snapshot`) sees one consistent moment while the bot keeps writing. Discord limits
each attachment's size: a file over the limit is gzipped, and a gzip still over it is cut into
numbered parts (`cat` them back together).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .clock import Clock
from .db import Database
from .schema import Table, plain_row, quote, tables
from .timeutil import to_db

EXPORT_FORMAT_VERSION = 1
# Machinery, not the guild's data: scheduled jobs, messages on their way to Discord (whose
# payloads can hold private notes to a member, e.g. a thank-you), and the asks' search words
# (an index of what helpdesk_asks already holds).
EXCLUDED_TABLES = frozenset({"jobs", "outbox", "helpdesk_search"})
# Members' private texts no admin may read, and confidential "Meet again" choices (nobody may
# learn of a one-sided one): the export says how many there are, nothing more.
COUNTED_TABLES = frozenset({"journal_entries", "pairing_meet_again"})
SECRET_MARKERS = ("token", "secret", "password")
CHUNK_ROWS = 1_000
# Discord's per-file limit without boosts (10 MiB since 2024, as discord.utils has it); the cog
# passes `interaction.filesize_limit`, the limit Discord states for the guild.
DEFAULT_SIZE_LIMIT = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One file of an export, with its size so the cog can fit Discord's upload limit."""

    filename: str
    path: Path
    size: int


@dataclass(frozen=True, slots=True)
class GuildExport:
    """A finished export: its files and what they hold, for the admin's summary."""

    files: list[ExportFile]
    rows: int
    tables: int
    compressed: bool

    @property
    def split(self) -> bool:
        """Whether the export did not fit in one file and was split."""
        return len(self.files) > 1


def exported_columns(table: Table) -> list[str]:
    """The columns an export may contain: everything but secrets."""
    return [c for c in table.columns if not any(m in c.lower() for m in SECRET_MARKERS)]


class GuildExporter:
    """Writes a guild's rows to JSON files from a consistent snapshot of the database."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    @contextlib.asynccontextmanager
    async def export(
        self, guild_id: int, size_limit: int = DEFAULT_SIZE_LIMIT
    ) -> AsyncIterator[GuildExport]:
        """The guild's export as files of at most `size_limit` bytes, deleted on exit."""
        folder = Path(tempfile.mkdtemp(prefix="kindred-export-"))
        try:
            stamp = self._clock.now().strftime("%Y%m%d-%H%M")
            raw = folder / f"kindred-{guild_id}-{stamp}.json"
            with raw.open("w", encoding="utf-8") as out:
                rows, count = await self._write_json(guild_id, out)
            yield await asyncio.to_thread(package, raw, size_limit, rows, count)
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)

    async def _write_json(self, guild_id: int, out: IO[str]) -> tuple[int, int]:
        """Stream the guild's tables into `out` as one JSON document; returns (rows, tables)."""
        scoped = [t for t in await tables(self._db) if t.guild_scoped]
        scoped = [t for t in scoped if t.name not in EXCLUDED_TABLES]
        scoped.sort(key=lambda t: (t.name != "guilds", t.name))  # settings first
        header = {
            "format": "kindred-guild-export",
            "format_version": EXPORT_FORMAT_VERSION,
            "schema_version": await self._db.schema_version(),
            "guild_id": guild_id,
            "exported_at": to_db(self._clock.now()),
        }
        out.write(json.dumps(header)[:-1] + ', "tables": {')  # the header object stays open
        total = 0
        async with self._db.snapshot() as snapshot:
            for index, table in enumerate(scoped):
                if table.name in COUNTED_TABLES:
                    sql = f"SELECT COUNT(*) FROM {quote(table.name)} WHERE guild_id = ?"
                    count = 0
                    async for chunk in snapshot.chunks(sql, (guild_id,), 1):
                        count = chunk[0][0]
                    out.write(f"{', ' if index else ''}\n{json.dumps(table.name)}: ")
                    # The shape of every table (no columns, no rows) plus the count.
                    out.write(json.dumps({"columns": [], "rows": [], "count": count}))
                    continue
                columns = exported_columns(table)
                out.write(
                    f"{', ' if index else ''}\n{json.dumps(table.name)}: "
                    f'{{"columns": {json.dumps(columns)}, "rows": ['
                )
                select = ", ".join(quote(c) for c in columns)
                sql = f"SELECT {select} FROM {quote(table.name)} WHERE guild_id = ?"
                first = True
                async for chunk in snapshot.chunks(sql, (guild_id,), CHUNK_ROWS):
                    for row in chunk:
                        out.write(("\n" if first else ",\n") + json.dumps(plain_row(row)))
                        first = False
                    total += len(chunk)
                out.write("]}")
        out.write("}}\n")
        return total, len(scoped)


def package(raw: Path, size_limit: int, rows: int, count: int) -> GuildExport:
    """Fit `raw` under Discord's per-file limit: as is, gzipped, or gzipped in parts."""
    size = raw.stat().st_size
    if size <= size_limit:
        return GuildExport([ExportFile(raw.name, raw, size)], rows, count, compressed=False)
    packed = raw.with_name(raw.name + ".gz")
    with raw.open("rb") as source, gzip.open(packed, "wb", compresslevel=6) as target:
        shutil.copyfileobj(source, target, 1 << 20)
    raw.unlink()
    size = packed.stat().st_size
    if size <= size_limit:
        return GuildExport([ExportFile(packed.name, packed, size)], rows, count, compressed=True)
    parts = []
    with packed.open("rb") as source:
        number = 1
        while chunk := source.read(size_limit):
            part = packed.with_name(f"{packed.name}.{number:03d}")
            part.write_bytes(chunk)
            parts.append(ExportFile(part.name, part, len(chunk)))
            number += 1
    packed.unlink()
    return GuildExport(parts, rows, count, compressed=True)
