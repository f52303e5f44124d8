"""Privacy core: every table holding a member's id is shown and forgotten, per guild."""

import itertools
import re
import sqlite3
from datetime import timedelta

import asyncpg
import pytest

from bot.db import Database
from bot.db.postgres import PostgresDatabase
from bot.db.sqlite import SqliteDatabase
from bot.errors import UserError
from bot.privacy.departures import PURGE_AFTER_LEAVING, purge_key
from bot.privacy.reconcile import next_reconcile, reconcile_key
from bot.schema import tables
from tests.support.db import run_due

GUILD, OTHER_GUILD = 1, 2
MEMBER, SOMEONE_ELSE = 555, 777


@pytest.fixture
async def services(services):
    """The core services with two guilds joined (the base fixture is in tests/unit/conftest)."""
    for guild_id in (GUILD, OTHER_GUILD):
        await services.guilds.joined(guild_id)
    return services


async def seed_every_member_column(db: Database, guild_id: int) -> list[tuple[str, str]]:
    """One row per (table, member column) holding MEMBER in that column only.

    Written on a connection of its own with constraints relaxed, so it needs no knowledge of
    any table: it is the schema itself that is enumerated, so a table added tomorrow is seeded
    too (SQLite: foreign keys off, CHECKs ignored; PostgreSQL: foreign-key triggers off for the
    session, CHECKs dropped from this throwaway database).
    """
    if isinstance(db, SqliteDatabase):
        return _seed_sqlite(db.path, guild_id)
    assert isinstance(db, PostgresDatabase)
    return await _seed_postgres(db.config.dsn, guild_id)


def _row_values(columns: list[tuple[str, bool]], target: str, guild_id: int, counter) -> list:
    """Values for one row: MEMBER in `target`, someone else in other member columns, the guild,
    and distinct filler (numbers where the column is an integer)."""
    values: list[object] = []
    for column, numeric in columns:
        if column == target:
            values.append(MEMBER)
        elif column.endswith("user_id"):
            values.append(SOMEONE_ELSE)
        elif column == "guild_id":
            values.append(guild_id)
        elif numeric:
            values.append(next(counter))
        else:
            values.append(f"text {next(counter)}")
    return values


def _seed_sqlite(path, guild_id: int) -> list[tuple[str, str]]:
    counter = itertools.count(guild_id * 100_000)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA ignore_check_constraints = ON")  # foreign keys are off by default
    seeded = []
    for (table,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall():
        info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        columns = [(row[1], "INT" in (row[2] or "").upper()) for row in info]
        for target in [c for c, _ in columns if c.endswith("user_id")]:
            marks = ", ".join("?" for _ in columns)
            names = ", ".join(f'"{c}"' for c, _ in columns)
            conn.execute(
                f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                _row_values(columns, target, guild_id, counter),
            )
            seeded.append((table, target))
    conn.commit()
    conn.close()
    return seeded


async def _seed_postgres(dsn: str, guild_id: int) -> list[tuple[str, str]]:
    counter = itertools.count(guild_id * 100_000)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET session_replication_role = replica")  # no foreign-key triggers
        checks = await conn.fetch(
            "SELECT CAST(conrelid AS regclass)::text AS tab, conname FROM pg_constraint "
            "WHERE contype = 'c' AND connamespace = CAST(current_schema() AS regnamespace)"
        )
        for check in checks:
            await conn.execute(f'ALTER TABLE {check["tab"]} DROP CONSTRAINT "{check["conname"]}"')
        described: dict[str, list[tuple[str, bool]]] = {}
        for row in await conn.fetch(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t "
            "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
            "AND c.table_name <> 'schema_migrations' ORDER BY c.table_name, c.ordinal_position"
        ):
            numeric = row["data_type"] in ("bigint", "integer", "smallint")
            described.setdefault(row["table_name"], []).append((row["column_name"], numeric))
        seeded = []
        for table, columns in described.items():
            for target in [c for c, _ in columns if c.endswith("user_id")]:
                marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
                names = ", ".join(f'"{c}"' for c, _ in columns)
                await conn.execute(
                    f'INSERT INTO "{table}" ({names}) OVERRIDING SYSTEM VALUE VALUES ({marks})',
                    *_row_values(columns, target, guild_id, counter),
                )
                seeded.append((table, target))
        return seeded
    finally:
        await conn.close()


async def member_mentions(services, guild_id: int) -> dict[tuple[str, str], int]:
    """How many rows hold MEMBER, per (table, column), in one guild."""
    found = {}
    for table in await tables(services.db):
        for column in table.member_columns:
            count = await services.db.fetchval(
                f'SELECT COUNT(*) FROM "{table.name}" WHERE guild_id = ? AND "{column}" = ?',
                (guild_id, MEMBER),
            )
            if count:
                found[(table.name, column)] = count
    return found


async def test_every_member_column_of_every_table_is_shown_and_forgotten(services):
    seeded = await seed_every_member_column(services.db, GUILD)
    await seed_every_member_column(services.db, OTHER_GUILD)
    assert len(seeded) >= 10, "the feature tables should be there"
    assert {("journal_entries", "user_id"), ("talk_signups", "user_id")} <= set(seeded)
    rules = services.member_data.rules()
    kept = {(t, c) for t, rule in rules.items() for c in rule.keep}

    data = await services.member_data.collect(GUILD, MEMBER)
    shown = {
        (r.table, column)
        for r in data.records
        for row in r.rows
        for column, value in row.items()
        if value == MEMBER
    }
    assert shown == set(seeded) - kept
    assert all(row["guild_id"] == GUILD for r in data.records for row in r.rows)

    await services.departures.forget(GUILD, MEMBER)

    assert set(await member_mentions(services, GUILD)) == set(seeded) & kept
    assert (await services.member_data.collect(GUILD, MEMBER)).empty
    # The other guild is untouched.
    assert set(await member_mentions(services, OTHER_GUILD)) == set(seeded)


async def test_anonymised_rows_stay_with_one_pseudonym_that_is_no_member(services):
    seeded = await seed_every_member_column(services.db, GUILD)
    rules = services.member_data.rules()
    anonymised = [(t, c) for t, c in seeded if t in rules and c in rules[t].anonymise]
    assert anonymised, "pairing history is anonymised, not deleted"
    report = await services.departures.forget(GUILD, MEMBER)
    pseudonyms = set()
    for table, column in anonymised:
        values = await services.db.fetchall(
            f'SELECT "{column}" FROM "{table}" WHERE guild_id = ? AND "{column}" < 0', (GUILD,)
        )
        assert len(values) == 1, (table, column)
        pseudonyms.add(values[0][0])
    assert len(pseudonyms) == 1 and next(iter(pseudonyms)) < 0
    assert sum(report.anonymised.values()) == len(anonymised)


async def test_rules_name_real_tables_and_member_columns(services):
    schema = {t.name: t for t in await tables(services.db)}
    for name, rule in services.member_data.rules().items():
        assert name in schema, f"a privacy rule names a table that does not exist: {name}"
        for column in (*rule.anonymise, *rule.keep):
            assert column in schema[name].member_columns, (name, column)


async def test_member_ids_live_only_in_guild_scoped_user_id_columns(services):
    suggestive = re.compile(r"user|member|author|owner|asker|helper|partner|suggester|blocked")
    for table in await tables(services.db):
        for column in table.columns:
            if suggestive.search(column):
                assert column.endswith("user_id"), f"{table.name}.{column} should end in user_id"
        if table.member_columns:
            assert table.guild_scoped, f"{table.name} holds member ids but has no guild_id"


async def test_a_block_against_the_member_is_neither_shown_nor_removed(services):
    await services.pairing.membership.avoid(GUILD, SOMEONE_ELSE, MEMBER)
    await services.pairing.membership.avoid(GUILD, MEMBER, SOMEONE_ELSE)
    data = await services.member_data.collect(GUILD, MEMBER)
    blocks = next(r for r in data.records if r.table == "pairing_blocks")
    assert [(b["user_id"], b["blocked_user_id"]) for b in blocks.rows] == [(MEMBER, SOMEONE_ELSE)]
    await services.departures.forget(GUILD, MEMBER)
    remaining = await services.db.fetchall("SELECT user_id, blocked_user_id FROM pairing_blocks")
    assert [tuple(r) for r in remaining] == [(SOMEONE_ELSE, MEMBER)]


async def test_forget_removes_asks_offers_and_the_pairing_sign_up(services):
    await services.pairing.membership.join(GUILD, MEMBER, frozenset())
    await services.helpdesk.asks.ask(GUILD, MEMBER, "pbl", "How do I start a project?")
    await services.helpdesk.offers.offer(GUILD, MEMBER, "math", "")
    summary = (await services.member_data.collect(GUILD, MEMBER)).summary()
    assert "1 × asks for help" in summary and "1 × offers of help" in summary
    assert "1 × pairing sign-up" in summary
    await services.departures.forget(GUILD, MEMBER)
    assert (await services.member_data.collect(GUILD, MEMBER)).empty
    assert not (await services.pairing.membership.member_status(GUILD, MEMBER)).opted_in


async def test_a_member_of_two_guilds_sees_and_forgets_only_one(services):
    await services.helpdesk.asks.ask(GUILD, MEMBER, "pbl", "In guild one")
    await services.helpdesk.asks.ask(OTHER_GUILD, MEMBER, "pbl", "In guild two")
    data = await services.member_data.collect(OTHER_GUILD, MEMBER)
    assert [row["details"] for r in data.records for row in r.rows if "details" in row] == [
        "In guild two"
    ]
    await services.departures.forget(OTHER_GUILD, MEMBER)
    assert (await services.member_data.collect(OTHER_GUILD, MEMBER)).empty
    assert not (await services.member_data.collect(GUILD, MEMBER)).empty


async def test_jobs_naming_the_member_are_theirs(services):
    now = services.clock.now()
    await services.scheduler.schedule(
        "x:1", "nothing", now + timedelta(days=1), guild_id=GUILD, payload={"user_id": MEMBER}
    )
    await services.scheduler.schedule(
        "x:2", "nothing", now + timedelta(days=1), guild_id=GUILD, payload={"user_id": 9}
    )
    data = await services.member_data.collect(GUILD, MEMBER)
    assert [row["key"] for r in data.records if r.table == "jobs" for row in r.rows] == ["x:1"]
    await services.departures.forget(GUILD, MEMBER)
    assert await services.scheduler.due_at("x:1") is None
    assert await services.scheduler.due_at("x:2") is not None


async def test_a_job_is_the_members_by_any_user_id_key_holding_their_snowflake(services):
    snowflake = 912_345_678_901_234_567  # past 2**53: compared as an integer, not a float
    now = services.clock.now()
    payloads = {
        "by-helper": {"ask_id": 3, "helper_user_id": snowflake},
        "by-user": {"user_id": snowflake, "note": "x"},
        "neighbour": {"user_id": snowflake + 1},
        "as-text": {"user_id": str(snowflake)},
        "other-key": {"user_idx": snowflake, "round_id": snowflake},
        "nested": {"group": {"user_id": snowflake}},
    }
    for key, payload in payloads.items():
        await services.scheduler.schedule(
            key, "nothing", now + timedelta(days=1), guild_id=GUILD, payload=payload
        )
    for key, payload in {"a-list": f"[{snowflake}]", "a-number": str(snowflake)}.items():
        await services.db.execute(  # not written by the scheduler, but must not break /privacy
            "INSERT INTO jobs (key, kind, guild_id, due_at, payload) "
            "VALUES (?, 'nothing', ?, ?, ?)",
            (key, GUILD, "2100-01-01 00:00:00", payload),
        )
    data = await services.member_data.collect(GUILD, snowflake)
    jobs = sorted(row["key"] for r in data.records if r.table == "jobs" for row in r.rows)
    assert jobs == ["by-helper", "by-user"]
    await services.departures.forget(GUILD, snowflake)
    left = await services.db.fetchall("SELECT key FROM jobs WHERE guild_id = ?", (GUILD,))
    assert sorted(r["key"] for r in left) == [
        "a-list",
        "a-number",
        "as-text",
        "neighbour",
        "nested",
        "other-key",
    ]


async def test_a_departed_member_is_purged_after_30_days_unless_they_return(services):
    for user in (MEMBER, SOMEONE_ELSE):
        await services.helpdesk.asks.ask(GUILD, user, "pbl", "Help me")
        await services.departures.member_left(GUILD, user)
    # Leaving closes the open asks at once.
    statuses = await services.db.fetchall("SELECT status FROM helpdesk_asks")
    assert {r[0] for r in statuses} == {"withdrawn"}
    await services.departures.member_returned(GUILD, SOMEONE_ELSE)
    services.clock.advance(PURGE_AFTER_LEAVING - timedelta(minutes=1))
    await run_due(services)
    assert not (await services.member_data.collect(GUILD, MEMBER)).empty
    services.clock.advance(timedelta(minutes=1))
    await run_due(services)
    assert (await services.member_data.collect(GUILD, MEMBER)).empty
    assert not (await services.member_data.collect(GUILD, SOMEONE_ELSE)).empty
    assert await services.scheduler.due_at(purge_key(GUILD, MEMBER)) is None


class Directory:
    """Who Discord says is in each guild; counts the lookups (each is a Discord request)."""

    def __init__(self, members: dict[int, set[int]]) -> None:
        self.members = members
        self.asked: list[tuple[int, set[int]]] = []
        self.failing = False

    async def present(self, guild_id: int, user_ids: set[int]) -> set[int] | None:
        self.asked.append((guild_id, set(user_ids)))
        if self.failing:
            raise TimeoutError("Discord did not answer")
        if guild_id not in self.members:
            return None
        return user_ids & self.members[guild_id]


async def check_due(services, guild_id: int) -> None:
    """Let the guild's daily member check run (it is due at its own time of day)."""
    due = await services.scheduler.due_at(reconcile_key(guild_id))
    services.clock.set(due)
    await run_due(services)


async def test_the_daily_check_starts_purges_for_members_who_left_unseen(services):
    await services.helpdesk.asks.ask(GUILD, MEMBER, "pbl", "Help me")
    await services.helpdesk.asks.ask(GUILD, SOMEONE_ELSE, "pbl", "Help me too")
    await services.departures.member_left(GUILD, SOMEONE_ELSE)
    # SOMEONE_ELSE came back and MEMBER left, both while Kindred was offline.
    directory = Directory({GUILD: {SOMEONE_ELSE}, OTHER_GUILD: set()})
    services.reconcile.attach_directory(directory)
    await services.reconcile.schedule_reconciles([GUILD, OTHER_GUILD])
    await check_due(services, GUILD)
    assert set(await services.departures.pending_purges(GUILD)) == {MEMBER}
    assert directory.asked == [(GUILD, {MEMBER, SOMEONE_ELSE})]
    # It runs again the next day at the same time, and a repeated check changes nothing.
    due = await services.scheduler.due_at(reconcile_key(GUILD))
    assert due == services.clock.now() + timedelta(days=1)
    purge_at = await services.scheduler.due_at(purge_key(GUILD, MEMBER))
    await check_due(services, GUILD)
    assert await services.scheduler.due_at(purge_key(GUILD, MEMBER)) == purge_at


async def test_a_guild_without_member_data_never_asks_discord(services):
    directory = Directory({GUILD: set(), OTHER_GUILD: set()})
    services.reconcile.attach_directory(directory)
    await services.reconcile.schedule_reconciles([GUILD, OTHER_GUILD])
    await check_due(services, OTHER_GUILD)
    assert directory.asked == []
    assert await services.scheduler.due_at(reconcile_key(OTHER_GUILD)) is not None


async def test_no_answer_from_discord_purges_nobody_and_retries(services):
    await services.helpdesk.asks.ask(GUILD, MEMBER, "pbl", "Help me")
    directory = Directory({GUILD: set()})
    directory.failing = True
    services.reconcile.attach_directory(directory)
    await services.reconcile.schedule_reconciles([GUILD])
    first = await services.scheduler.due_at(reconcile_key(GUILD))
    await check_due(services, GUILD)
    assert await services.departures.pending_purges(GUILD) == {}
    retry = await services.scheduler.due_at(reconcile_key(GUILD))
    assert first < retry < first + timedelta(hours=1)  # backoff, not tomorrow
    directory.failing = False
    await check_due(services, GUILD)
    assert set(await services.departures.pending_purges(GUILD)) == {MEMBER}


async def test_checks_are_spread_over_the_day_and_kept_across_restarts(services):
    now = services.clock.now()
    times = {next_reconcile(g, now) for g in range(1000, 1100)}
    assert len(times) > 90  # one second of the day per guild, not one burst
    assert all(now < t <= now + timedelta(days=1) for t in times)
    await services.reconcile.schedule_reconciles([GUILD])
    first = await services.scheduler.due_at(reconcile_key(GUILD))
    services.clock.advance(timedelta(hours=30))  # a restart later: the check keeps its time
    await services.reconcile.schedule_reconciles([GUILD])
    assert await services.scheduler.due_at(reconcile_key(GUILD)) == first


async def test_not_a_member_id_is_refused(services):
    with pytest.raises(UserError):
        await services.member_data.collect(GUILD, 0)
