"""The database layer on both drivers: transactions, row counts, ids, rows, locks, snapshots,
backups and migrations. Tests that are about one engine say so by their marker."""

import asyncio
import shutil
import sqlite3
import subprocess
from pathlib import Path

import asyncpg
import pytest

from bot.__main__ import run as run_cli
from bot.db import Database, DatabaseError, PostgresConfig, migrate
from bot.db.migrations import load_migrations
from tests.support.postgres import find_bindir

pytestmark = pytest.mark.backends("sqlite", "postgres")

INTEGRITY_ERROR = {"sqlite": sqlite3.IntegrityError, "postgres": asyncpg.UniqueViolationError}
SYNTAX_ERROR = {"sqlite": sqlite3.OperationalError, "postgres": asyncpg.PostgresSyntaxError}
JOINED = "2026-01-01 00:00:00"


@pytest.fixture
async def db(fresh_database):
    """An open, migrated database on the test's backend."""
    db = await Database.open(await fresh_database())
    yield db
    await db.close()


async def test_migrating_an_empty_database_reaches_the_latest_version_once(backend, fresh_database):
    db = await Database.open(await fresh_database(migrated=False))
    try:
        assert await db.schema_version() == 0
        version = await migrate(db)
        assert version == load_migrations(backend=backend)[-1].version
        assert await db.schema_version() == version
        assert {"guilds", "jobs", "meta"} <= set(await db.table_columns())
        assert await migrate(db) == version  # migrating again is a no-op
    finally:
        await db.close()


@pytest.mark.backends("sqlite")
async def test_sqlite_runs_in_wal_with_foreign_keys_and_guild_data_cascades(db):
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    assert await db.fetchval("PRAGMA busy_timeout") > 0
    # Every guild-scoped table cascades from guilds, so purging a guild purges its data (the
    # schema-parity test holds PostgreSQL's foreign keys to the same).
    for table, columns in (await db.table_columns()).items():
        if "guild_id" in columns and table != "guilds":
            fks = await db.fetchall(f"PRAGMA foreign_key_list({table})")
            assert any(fk["table"] == "guilds" and fk["on_delete"] == "CASCADE" for fk in fks), (
                f"{table}.guild_id must reference guilds ON DELETE CASCADE"
            )


async def test_a_migration_that_fails_midway_leaves_the_previous_version(
    backend, fresh_database, tmp_path
):
    folder = tmp_path / "migrations"
    folder.mkdir()
    for suffix in (".sql", ".pg.sql"):
        (folder / f"0001_first{suffix}").write_text("CREATE TABLE a (x INTEGER);")
        (folder / f"0002_broken{suffix}").write_text(
            "CREATE TABLE b (y INTEGER);\nINSERT INTO b VALUES (1);\nTHIS IS NOT SQL;\n"
        )
    db = await Database.open(await fresh_database(migrated=False))
    try:
        with pytest.raises(SYNTAX_ERROR[backend]):
            await migrate(db, load_migrations(folder, backend))
        assert await db.schema_version() == 1
        tables = await db.table_columns()
        assert "a" in tables and "b" not in tables
    finally:
        await db.close()


async def test_a_failed_transaction_rolls_back_whole(backend, db):
    await db.execute("CREATE TABLE t (x INTEGER UNIQUE)")
    with pytest.raises(INTEGRITY_ERROR[backend]):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES (1)")
            await tx.execute("INSERT INTO t VALUES (1)")
    assert await db.fetchval("SELECT COUNT(*) FROM t") == 0


async def test_concurrent_writers_are_serialised_not_interleaved(db):
    await db.execute("CREATE TABLE counter (n INTEGER)")
    await db.execute("INSERT INTO counter VALUES (0)")

    async def bump():
        async with db.transaction() as tx:
            n = await tx.fetchval("SELECT n FROM counter")
            await asyncio.sleep(0)  # let another writer try to interleave
            await tx.execute("UPDATE counter SET n = ?", (n + 1,))

    await asyncio.gather(*(bump() for _ in range(50)))
    assert await db.fetchval("SELECT n FROM counter") == 50


async def test_execute_returns_how_many_rows_changed(db):
    for guild in (1, 2, 3):
        await db.execute("INSERT INTO guilds (guild_id, joined_at) VALUES (?, ?)", (guild, JOINED))
    assert await db.execute("UPDATE guilds SET timezone = 'Europe/Paris' WHERE guild_id < 3") == 2
    async with db.transaction() as tx:
        assert await tx.execute("DELETE FROM guilds WHERE guild_id = :id", {"id": 3}) == 1
        assert await tx.execute("DELETE FROM guilds WHERE guild_id = :id", {"id": 3}) == 0


async def test_insert_returning_gives_the_new_id_or_none_when_the_key_is_taken(db):
    await db.execute("INSERT INTO guilds (guild_id, joined_at) VALUES (1, ?)", (JOINED,))
    sql = (
        "INSERT INTO helpdesk_topics (guild_id, name, created_at) VALUES (1, ?, ?) "
        "ON CONFLICT (guild_id, name) DO NOTHING RETURNING topic_id"
    )
    first = await db.insert(sql, ("maths", JOINED))
    assert isinstance(first, int)
    assert await db.insert(sql, ("maths", JOINED)) is None  # claimed already: nothing new
    async with db.transaction() as tx:
        second = await tx.fetchval(sql, ("physics", JOINED))
    assert second not in (None, first)
    assert await db.fetchval("SELECT COUNT(*) FROM helpdesk_topics") == 2


async def test_rows_read_by_name_by_position_and_unpack(db):
    snowflake = 1_234_567_890_123_456_789  # beyond 32 bits, as Discord ids are
    await db.execute(
        "INSERT INTO guilds (guild_id, timezone, joined_at) VALUES (:g, :tz, :at)",
        {"g": snowflake, "tz": "Asia/Tokyo", "at": JOINED},
    )
    row = await db.fetchone("SELECT guild_id, timezone FROM guilds WHERE guild_id = ?", [snowflake])
    assert row is not None
    assert row["guild_id"] == row[0] == snowflake
    assert row["timezone"] == row[1] == "Asia/Tokyo"
    assert list(row.keys()) == ["guild_id", "timezone"]
    guild_id, timezone = row
    assert (guild_id, timezone) == (snowflake, "Asia/Tokyo")
    assert await db.fetchone("SELECT * FROM guilds WHERE guild_id = 0") is None
    assert await db.fetchval("SELECT timezone FROM guilds WHERE guild_id = 0") is None


async def test_sums_are_integers_and_question_marks_in_literals_stay_literal(db):
    await db.execute("CREATE TABLE n (x BIGINT, label TEXT)")
    async with db.transaction() as tx:
        await tx.executemany("INSERT INTO n VALUES (?, ?)", [(2, "a?"), (3, "b:c"), (5, "it's")])
    total = await db.fetchval("SELECT SUM(x) FROM n WHERE label <> 'what?' AND label <> ':x'")
    assert total == 10 and isinstance(total, int)
    assert await db.fetchval("SELECT label FROM n WHERE x = ? AND label = 'a?'", (2,)) == "a?"
    assert await db.fetchval("SELECT COUNT(*) FROM n WHERE label = 'it''s'") == 1


async def test_a_snapshot_sees_one_moment_while_writes_go_on(db):
    for guild in range(1, 6):
        await db.execute("INSERT INTO guilds (guild_id, joined_at) VALUES (?, ?)", (guild, JOINED))
    sql = "SELECT guild_id FROM guilds ORDER BY guild_id"
    async with db.snapshot() as snapshot:
        chunks = [[row[0] for row in chunk] async for chunk in snapshot.chunks(sql, (), 2)]
        await db.execute("INSERT INTO guilds (guild_id, joined_at) VALUES (6, ?)", (JOINED,))
        again = [row[0] async for chunk in snapshot.chunks(sql, (), 10) for row in chunk]
    assert chunks == [[1, 2], [3, 4], [5]]
    assert again == [1, 2, 3, 4, 5]  # the later write is not in the snapshot
    assert await db.fetchval("SELECT COUNT(*) FROM guilds") == 6


async def test_a_guild_lock_excludes_the_same_guild_only(db):
    events: list[str] = []

    async def hold(guild_id: int, name: str) -> None:
        async with db.guild_lock(guild_id):
            events.append(f"{name} in")
            await asyncio.sleep(0.05)
            events.append(f"{name} out")

    await asyncio.gather(hold(1, "a"), hold(1, "b"), hold(2, "c"))
    assert events.index("a out") < events.index("b in")  # same guild: one after the other
    assert events.index("c in") < events.index("a out")  # another guild: not held up


@pytest.mark.backends("postgres")
async def test_a_guild_lock_on_postgresql_excludes_another_process(fresh_database):
    config = await fresh_database()
    first, second = await Database.open(config), await Database.open(config)
    try:
        contender = second.guild_lock(7)
        async with first.guild_lock(7):
            waiting = asyncio.create_task(contender.__aenter__())
            async with second.guild_lock(8):  # another guild is free
                pass
            await asyncio.sleep(0.2)
            assert not waiting.done()  # held by the other "process"
        await asyncio.wait_for(waiting, 5)  # released: the other one gets it
        await contender.__aexit__(None, None, None)
    finally:
        await first.close()
        await second.close()


@pytest.mark.backends("postgres")
async def test_processes_starting_together_migrate_once(fresh_database):
    config = await fresh_database(migrated=False)
    dbs = [await Database.open(config) for _ in range(3)]
    try:
        versions = await asyncio.gather(*(migrate(db) for db in dbs))
        latest = load_migrations(backend="postgres")[-1].version
        assert versions == [latest] * 3
        applied = await dbs[0].fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [row[0] for row in applied] == list(range(1, latest + 1))
    finally:
        for db in dbs:
            await db.close()


@pytest.mark.backends("sqlite")
async def test_an_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseError, match="DATABASE_URL"):
        await Database.open(blocker / "sub" / "k.db")


@pytest.mark.backends("sqlite")
async def test_a_corrupt_database_is_refused(tmp_path):
    path = Path(tmp_path / "k.db")
    path.write_bytes(b"this is not a sqlite database" * 200)
    with pytest.raises(DatabaseError, match="DATABASE_URL"):
        await Database.open(path)


async def test_an_unreachable_postgresql_is_one_line_without_the_password(tmp_path):
    config = PostgresConfig(f"postgresql://kindred:s3cret@/kindred?host={tmp_path}/none")
    with pytest.raises(DatabaseError, match="DATABASE_URL: cannot connect to") as caught:
        await Database.open(config)
    assert "s3cret" not in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.backends("postgres")
async def test_a_missing_postgresql_database_is_named(postgres_server):
    config = PostgresConfig(postgres_server.dsn("kindred_no_such_database"))
    with pytest.raises(DatabaseError, match="kindred_no_such_database"):
        await Database.open(config)


async def test_a_backup_can_be_restored(backend, fresh_database, tmp_path):
    live = await fresh_database()
    db = await Database.open(live)
    try:
        await db.execute("INSERT INTO guilds (guild_id, joined_at) VALUES (1, ?)", (JOINED,))
        await db.backup_to(tmp_path / "backup")
    finally:
        await db.close()
    if backend == "sqlite":
        restored_config = tmp_path / "backup"
    else:  # a pg_dump archive: restore it with pg_restore into an empty database
        restored_config = await fresh_database(migrated=False)
        bindir = find_bindir()
        pg_restore = str(bindir / "pg_restore") if bindir else shutil.which("pg_restore")
        assert pg_restore, "pg_restore is needed to check the backup"
        subprocess.run(
            [pg_restore, "--no-owner", f"--dbname={restored_config.dsn}", tmp_path / "backup"],
            check=True,
            capture_output=True,
        )
    restored = await Database.open(restored_config)
    try:
        assert await restored.fetchval("SELECT COUNT(*) FROM guilds") == 1
        assert await restored.schema_version() == load_migrations(backend=backend)[-1].version
    finally:
        await restored.close()


@pytest.mark.backends("postgres")
async def test_backup_without_pg_dump_says_so_in_one_line(
    fresh_database, monkeypatch, capsys, tmp_path
):
    config = await fresh_database()
    monkeypatch.setenv("DATABASE_URL", config.dsn)
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump here
    assert await asyncio.to_thread(run_cli, ["backup", str(tmp_path / "backup")]) != 0
    error = capsys.readouterr().err
    assert "pg_dump is not on PATH" in error and error.count("\n") == 1


def test_migration_numbers_must_leave_no_gap(tmp_path):
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x INTEGER);")
    (tmp_path / "0003_c.sql").write_text("CREATE TABLE c (x INTEGER);")
    with pytest.raises(RuntimeError, match="without gaps"):
        load_migrations(tmp_path)
