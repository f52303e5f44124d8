"""A member's data in one guild: show all of it, forget all of it, and forget it after they leave.

The rules (they make `/privacy show` and `/privacy forget` cover tables added later):

1. A member's data is every row of a guild-scoped table (one with `guild_id`) in which a column
   named `*user_id` holds their id, in the invoking guild only: `guild_id = ?` is part of every
   statement, so a member of two guilds never sees or loses the other guild's rows.
2. Forgetting deletes those rows unless the table has a `TableRule` (below, in `RULES`, or
   registered by a feature with `PrivacyService.register`). A rule names columns where the
   member's id means "this row is someone else's record that mentions them":
   - `anonymise`: keep the row, replace the id by a pseudonym. A partner's pairing history keeps
     an anonymous marker (repeat avoidance and stats stay consistent); an ask an admin closed
     keeps "closed by someone".
   - `keep`: neither shown to the member nor removed. Only for another member's confidential
     choice about them (`pairing_blocks.blocked_user_id`): showing it would reveal the block,
     removing it would silently re-enable the pairing if they come back.
   A row in which the member appears in any other `*user_id` column is theirs and is deleted.
3. The pseudonym is a random negative number drawn once per forget: it is never a Discord id
   (so it matches nobody and mentions nobody), cannot be linked back to the member, and rows
   anonymised together share it, so a trio stays a trio.
4. Scheduled jobs whose JSON payload names the member under a `*user_id` key are theirs too.
5. Everything is one transaction: a crash forgets all or nothing.

Ids 0 and below are never members (features use 0 for "nobody"; pseudonyms are negative).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from .clock import Clock
from .db import Database, Transaction
from .errors import UserError
from .scheduler import Job, Scheduler
from .schema import Table, plain_row, quote, tables
from .timeutil import from_db

log = logging.getLogger(__name__)

PURGE_AFTER_LEAVING = timedelta(days=30)
PURGE_JOB = "member.purge"
PRIVACY_FORMAT_VERSION = 1


# Daily, per guild, at a time of day derived from the guild id, so 10,000 guilds' checks are
# spread over the day instead of asking Discord all at once.
RECONCILE_JOB = "members.reconcile"


def purge_key(guild_id: int, user_id: int) -> str:
    return f"{PURGE_JOB}:{guild_id}:{user_id}"


def reconcile_key(guild_id: int) -> str:
    return f"{RECONCILE_JOB}:{guild_id}"


def next_reconcile(guild_id: int, after: datetime) -> datetime:
    """The guild's daily check time (UTC, its fixed second of the day) strictly after `after`."""
    digest = hashlib.sha256(f"reconcile:{guild_id}".encode()).digest()
    offset = timedelta(seconds=int.from_bytes(digest[:4], "big") % 86_400)
    slot = after.replace(hour=0, minute=0, second=0, microsecond=0) + offset
    return slot if slot > after else slot + timedelta(days=1)


class MemberDirectory(Protocol):
    """Who is in a guild, asked of Discord (the privacy cog implements it)."""

    async def present(self, guild_id: int, user_ids: set[int]) -> set[int] | None:
        """Those of `user_ids` in the guild now; None when Kindred is not in the guild.

        Raises when Discord cannot answer: a partial answer would look like members left.
        """
        ...


@dataclass(frozen=True, slots=True)
class TableRule:
    """How privacy treats one table; tables without a rule are plain "delete the rows"."""

    label: str = ""  # plain words for /privacy show, e.g. "asks for help"
    anonymise: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()


RULES: dict[str, TableRule] = {
    "prompt_suggestions": TableRule("prompt suggestions", anonymise=("decided_by_user_id",)),
    "pairing_members": TableRule("pairing sign-up"),
    "pairing_blocks": TableRule(
        "members you asked not to be paired with", keep=("blocked_user_id",)
    ),
    "pairing_assignments": TableRule("pairing rounds you were in", anonymise=("user_id",)),
    "pairing_deliveries": TableRule("pairing messages sent to you", anonymise=("about_user_id",)),
    "helpdesk_asks": TableRule("asks for help", anonymise=("closed_by_user_id",)),
    "helpdesk_offers": TableRule("offers of help"),
    "helpdesk_messages": TableRule("help ledger messages to you", anonymise=("helper_user_id",)),
}
JOBS_LABEL = "scheduled messages and tasks"


@runtime_checkable
class MemberDeparture(Protocol):
    """A feature that reacts at once when a member leaves (e.g. close their open asks)."""

    async def member_left(self, guild_id: int, user_id: int) -> object: ...


@dataclass(frozen=True, slots=True)
class MemberRecords:
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
        return not self.records

    def summary(self) -> list[str]:
        """One plain line per kind of record, e.g. "2 asks for help"."""
        return [f"{len(r.rows)} × {r.label}" for r in self.records]

    def to_json(self) -> str:
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
class ForgetReport:
    deleted: dict[str, int]
    anonymised: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.deleted.values()) + sum(self.anonymised.values())


class PrivacyService:
    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        clock: Clock,
        features: Callable[[], Iterable[object]] = tuple,
    ) -> None:
        self._db = db
        self._scheduler = scheduler
        self._clock = clock
        self._features = features
        self._rules = dict(RULES)
        self._directory: MemberDirectory | None = None
        self._owners_sql: str | None = None
        scheduler.register(PURGE_JOB, self._purge_job)
        scheduler.register(RECONCILE_JOB, self._reconcile_job)

    def register(self, table: str, rule: TableRule) -> None:
        """Let a feature declare how its table is forgotten (the default deletes the rows)."""
        self._rules[table] = rule

    def rule(self, table: str) -> TableRule:
        return self._rules.get(table, TableRule())

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
            f"SELECT key, kind, due_at FROM jobs WHERE guild_id = :guild AND {_JOB_NAMES_MEMBER}",
            {"guild": guild_id, "user": user_id},
        )
        if jobs:
            records.append(MemberRecords("jobs", JOBS_LABEL, [plain_row(r) for r in jobs]))
        version = await self._db.fetchval("PRAGMA user_version")
        return MemberData(guild_id, user_id, version, records)

    async def forget(self, guild_id: int, user_id: int) -> ForgetReport:
        """Delete (or anonymise, per the rules) all of `user_id`'s data in one transaction.

        Features first wind down the member's live part (as when leaving), so a partner in the
        current round is re-matched instead of left with an anonymous partner.
        """
        check_member_id(user_id)
        await self._wind_down(guild_id, user_id)
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
                tx, f"DELETE FROM jobs WHERE guild_id = :guild AND {_JOB_NAMES_MEMBER}", params
            )
            if count:
                deleted["jobs"] = count
        log.info(
            "Forgot member %s in guild %s: deleted %s, anonymised %s",
            user_id,
            guild_id,
            deleted,
            anonymised,
        )
        return ForgetReport(deleted, anonymised)

    async def member_left(self, guild_id: int, user_id: int) -> None:
        """Tell features at once, then purge the member's data unless they return in time."""
        await self._wind_down(guild_id, user_id)
        await self._scheduler.schedule(
            purge_key(guild_id, user_id),
            PURGE_JOB,
            self._clock.now() + PURGE_AFTER_LEAVING,
            guild_id=guild_id,
            payload={"user_id": user_id},
        )

    async def _wind_down(self, guild_id: int, user_id: int) -> None:
        """Let each feature end the member's live part in it by its own rules (leave the pool,
        re-match the partner, close open asks) before their rows go."""
        for feature in self._features():
            if isinstance(feature, MemberDeparture):
                try:
                    await feature.member_left(guild_id, user_id)
                except Exception:
                    # One feature's failure must not stop the others or the purge.
                    log.exception(
                        "%s failed on member %s leaving guild %s",
                        type(feature).__name__,
                        user_id,
                        guild_id,
                    )

    async def member_returned(self, guild_id: int, user_id: int) -> None:
        """A member who left came back before the purge: keep their data."""
        await self._scheduler.cancel(purge_key(guild_id, user_id))

    async def pending_purges(self, guild_id: int) -> dict[int, datetime]:
        """Members of `guild_id` whose data is due to be purged, and when."""
        rows = await self._db.fetchall(
            "SELECT key, due_at FROM jobs WHERE kind = ? AND guild_id = ?", (PURGE_JOB, guild_id)
        )
        return {int(r["key"].rsplit(":", 1)[1]): from_db(r["due_at"]) for r in rows}

    # -- members who left while Kindred was not listening ---------------------------------

    def attach_directory(self, directory: MemberDirectory | None) -> None:
        """Connect the way to ask Discord who is in a guild (the privacy cog)."""
        self._directory = directory

    async def schedule_reconciles(self, guild_ids: Iterable[int]) -> None:
        """Give every guild its daily member check, keeping existing ones where they are."""
        now = self._clock.now()
        await self._scheduler.schedule_missing(
            (reconcile_key(g), RECONCILE_JOB, next_reconcile(g, now), g) for g in guild_ids
        )

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

    async def reconcile_guild(self, guild_id: int, stored: set[int], present: set[int]) -> None:
        """Of the `stored` members, start purges for those not `present` (they left unseen)
        and stop them for those back. Members with a purge pending are counted as left."""
        pending = set(await self.pending_purges(guild_id))
        for user_id in pending & present:
            await self.member_returned(guild_id, user_id)
        for user_id in stored - present - pending:
            await self.member_left(guild_id, user_id)

    async def _reconcile_job(self, job: Job) -> datetime | None:
        """The guild's daily check; a guild without member data never asks Discord."""
        assert job.guild_id is not None
        next_at = next_reconcile(job.guild_id, self._clock.now())
        stored = await self.stored_members(job.guild_id)
        if not stored:
            return next_at
        if self._directory is None:
            raise RuntimeError("not connected to Discord")  # retried with backoff
        present = await self._directory.present(job.guild_id, stored)
        if present is None:
            return None  # Kindred is not in the guild; joining again schedules a new check
        await self.reconcile_guild(job.guild_id, stored, present)
        return next_at

    def _visible_columns(self, table: Table) -> list[str]:
        keep = self.rule(table.name).keep
        return [c for c in table.member_columns if c not in keep]

    async def _purge_job(self, job: Job) -> datetime | None:
        assert job.guild_id is not None
        report = await self.forget(job.guild_id, int(job.payload["user_id"]))
        log.info(
            "Purged %d records of member %s, 30 days after leaving guild %s",
            report.total,
            job.payload["user_id"],
            job.guild_id,
        )
        return None


# Top-level keys of a job's JSON payload that end in user_id and hold the member.
_JOB_NAMES_MEMBER = (
    "EXISTS (SELECT 1 FROM json_each(jobs.payload) AS p "
    "WHERE p.key GLOB '*user_id' AND p.value = :user)"
)


def check_member_id(user_id: int) -> None:
    if user_id <= 0:
        raise UserError("That is not a member's id.")


async def _rowcount(tx: Transaction, sql: str, params: Mapping[str, Any]) -> int:
    cursor = await tx.execute(sql, dict(params))
    return cursor.rowcount
