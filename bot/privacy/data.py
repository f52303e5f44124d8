"""The data engine: a member's rows in one guild, found by schema convention, shown or erased.

1. A member's data is every row of a guild-scoped table (one with `guild_id`) in which a column
   named `*user_id` holds their id, in the invoking guild only: `guild_id = ?` is part of every
   statement, so a member of two guilds never sees or loses the other guild's rows.
2. Erasing deletes those rows, except where the table's `TableRule` (declared by its feature,
   see rules.py) anonymises or keeps a column.
3. The pseudonym is a random negative number drawn once per erase: it is never a Discord id (so
   it matches nobody and mentions nobody), cannot be linked back to the member, and rows
   anonymised together share it, so a trio stays a trio.
4. Scheduled jobs whose JSON payload names the member under a `*user_id` key are theirs too.
5. Everything is one transaction: a crash erases all or nothing.

Reading the live schema means a table added later is covered the moment its migration runs, and
`tests/unit/test_privacy.py` fills every `*user_id` column to prove it.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.db import Database, Transaction
from bot.schema import MEMBER_SUFFIX, Table, plain_row, quote, tables

from .rules import TableRule, TableRules, check_member_id

log = logging.getLogger(__name__)

PRIVACY_FORMAT_VERSION = 1
JOBS_LABEL = "scheduled messages and tasks"


@dataclass(frozen=True, slots=True)
class MemberRecords:
    """One table's rows about a member, with the words /privacy show uses for them."""

    table: str
    label: str
    rows: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class MemberData:
    """Everything stored about one member in one guild."""

    guild_id: int
    user_id: int
    schema_version: int
    records: list[MemberRecords] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Whether Kindred holds nothing about the member in this guild."""
        return not self.records

    def summary(self) -> list[str]:
        """One plain line per kind of record, e.g. "2 asks for help"."""
        return [f"{len(r.rows)} × {r.label}" for r in self.records]

    def to_json(self) -> str:
        """The member's copy of their data (the file /privacy show attaches)."""
        return json.dumps(
            {
                "format": "kindred-member-data",
                "format_version": PRIVACY_FORMAT_VERSION,
                "schema_version": self.schema_version,
                "guild_id": self.guild_id,
                "user_id": self.user_id,
                "tables": {r.table: r.rows for r in self.records},
            },
            indent=2,
        )


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What an erase did, table by table (for the log and the member's confirmation)."""

    deleted: dict[str, int]
    anonymised: dict[str, int]

    @property
    def total(self) -> int:
        """How many rows were touched, deleted and anonymised together."""
        return sum(self.deleted.values()) + sum(self.anonymised.values())


class MemberDataEngine:
    """Finds, shows and erases a member's rows by the conventions above."""

    def __init__(self, db: Database, rules: Callable[[], TableRules]) -> None:
        self._db = db
        self._rules = rules
        self._owners_sql: str | None = None

    @property
    def _job_names_member(self) -> str:
        """SQL: a job's JSON payload names the member under a top-level `*user_id` key."""
        return self._db.json_key_equals("jobs.payload", MEMBER_SUFFIX, ":user")

    def rules(self) -> TableRules:
        """Every table rule the features declared."""
        return self._rules()

    def rule(self, table: str) -> TableRule:
        """The rule a feature declared for `table`, or the default (delete the member's rows)."""
        return self._rules().get(table, TableRule())

    async def member_tables(self) -> list[Table]:
        """Guild-scoped tables with member columns; refuses a schema that breaks the rules."""
        found = [t for t in await tables(self._db) if t.member_columns]
        unscoped = [t.name for t in found if not t.guild_scoped]
        if unscoped:
            raise RuntimeError(f"tables hold member ids but no guild_id: {unscoped}")
        return found

    async def collect(self, guild_id: int, user_id: int) -> MemberData:
        """Everything stored about `user_id` in `guild_id` that they may see."""
        check_member_id(user_id)
        records = []
        for table in await self.member_tables():
            columns = self._visible_columns(table)
            if not columns:
                continue
            match = " OR ".join(f"{quote(c)} = :user" for c in columns)
            rows = await self._db.fetchall(
                f"SELECT * FROM {quote(table.name)} WHERE guild_id = :guild AND ({match})",
                {"guild": guild_id, "user": user_id},
            )
            if rows:
                label = self.rule(table.name).label or table.name.replace("_", " ")
                records.append(MemberRecords(table.name, label, [plain_row(r) for r in rows]))
        jobs = await self._db.fetchall(
            "SELECT key, kind, due_at FROM jobs "
            f"WHERE guild_id = :guild AND {self._job_names_member}",
            {"guild": guild_id, "user": user_id},
        )
        if jobs:
            records.append(MemberRecords("jobs", JOBS_LABEL, [plain_row(r) for r in jobs]))
        version = await self._db.schema_version()
        return MemberData(guild_id, user_id, version, records)

    async def erase(self, guild_id: int, user_id: int) -> ErasureReport:
        """Delete (or anonymise, per the rules) all of `user_id`'s rows in one transaction."""
        check_member_id(user_id)
        pseudonym = -1 - secrets.randbelow(2**62)
        params = {"guild": guild_id, "user": user_id, "pseudonym": pseudonym}
        deleted: dict[str, int] = {}
        anonymised: dict[str, int] = {}
        member_tables = await self.member_tables()
        async with self._db.transaction() as tx:
            for table in member_tables:
                rule = self.rule(table.name)
                owned = [c for c in table.member_columns if c not in (*rule.anonymise, *rule.keep)]
                if owned:
                    match = " OR ".join(f"{quote(c)} = :user" for c in owned)
                    count = await _rowcount(
                        tx,
                        f"DELETE FROM {quote(table.name)} WHERE guild_id = :guild AND ({match})",
                        params,
                    )
                    if count:
                        deleted[table.name] = count
                for column in rule.anonymise:
                    count = await _rowcount(
                        tx,
                        f"UPDATE {quote(table.name)} SET {quote(column)} = :pseudonym "
                        f"WHERE guild_id = :guild AND {quote(column)} = :user",
                        params,
                    )
                    if count:
                        anonymised[table.name] = anonymised.get(table.name, 0) + count
            count = await _rowcount(
                tx, f"DELETE FROM jobs WHERE guild_id = :guild AND {self._job_names_member}", params
            )
            if count:
                deleted["jobs"] = count
        log.info(
            "Erased member %s in guild %s: deleted %s, anonymised %s",
            user_id,
            guild_id,
            deleted,
            anonymised,
        )
        return ErasureReport(deleted, anonymised)

    async def stored_members(self, guild_id: int) -> set[int]:
        """Members with data of their own in `guild_id` (what a purge would delete), in one
        query. Someone who appears only in others' kept records has nothing to purge."""
        if self._owners_sql is None:
            selects = [
                f"SELECT {quote(c)} FROM {quote(t.name)} WHERE guild_id = :guild AND {quote(c)} > 0"
                for t in await self.member_tables()
                for c in self._visible_columns(t)
            ]
            self._owners_sql = " UNION ".join(selects)
        rows = await self._db.fetchall(self._owners_sql, {"guild": guild_id})
        return {row[0] for row in rows}

    def _visible_columns(self, table: Table) -> list[str]:
        keep = self.rule(table.name).keep
        return [c for c in table.member_columns if c not in keep]


async def _rowcount(tx: Transaction, sql: str, params: Mapping[str, Any]) -> int:
    return await tx.execute(sql, dict(params))
