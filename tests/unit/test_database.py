import sqlite3
from pathlib import Path

import pytest

from bot.db import Database, DatabaseError, migrate
from bot.db.migrations import load_migrations


async def test_all_migrations_on_an_empty_database_give_the_expected_schema(tmp_path):
    db = await Database.open(tmp_path / "k.db")
    try:
        version = await migrate(db)
        assert version == load_migrations()[-1].version
        assert await db.fetchval("PRAGMA user_version") == version
        tables = {
            r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert {"guilds", "jobs", "meta"} <= tables
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
        assert await db.fetchval("PRAGMA busy_timeout") > 0
        # Every guild-scoped table cascades from guilds, so purging a guild purges its data.
        for table in tables - {"guilds", "meta"}:
            columns = {r["name"] for r in await db.fetchall(f"PRAGMA table_info({table})")}
            if "guild_id" in columns:
                fks = await db.fetchall(f"PRAGMA foreign_key_list({table})")
                assert any(
                    fk["table"] == "guilds" and fk["on_delete"] == "CASCADE" for fk in fks
                ), f"{table}.guild_id must reference guilds ON DELETE CASCADE"
        # Migrating again is a no-op.
        assert await migrate(db) == version
    finally:
        await db.close()


async def test_a_migration_that_fails_midway_leaves_the_previous_version(tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_first.sql").write_text("CREATE TABLE a (x INTEGER);")
    (folder / "0002_broken.sql").write_text(
        "CREATE TABLE b (y INTEGER);\nINSERT INTO b VALUES (1);\nTHIS IS NOT SQL;\n"
    )
    db = await Database.open(tmp_path / "k.db")
    try:
        with pytest.raises(sqlite3.OperationalError):
            await migrate(db, load_migrations(folder))
        assert await db.fetchval("PRAGMA user_version") == 1
        names = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master")}
        assert "a" in names and "b" not in names
    finally:
        await db.close()


async def test_a_failed_transaction_rolls_back_whole(tmp_path):
    db = await Database.open(tmp_path / "k.db")
    try:
        await db.execute("CREATE TABLE t (x INTEGER UNIQUE)")
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t VALUES (1)")
                await tx.execute("INSERT INTO t VALUES (1)")
        assert await db.fetchval("SELECT COUNT(*) FROM t") == 0
    finally:
        await db.close()


async def test_concurrent_writers_are_serialised_not_locked_out(tmp_path):
    import asyncio

    db = await Database.open(tmp_path / "k.db")
    try:
        await db.execute("CREATE TABLE counter (n INTEGER)")
        await db.execute("INSERT INTO counter VALUES (0)")

        async def bump():
            async with db.transaction() as tx:
                n = await tx.fetchval("SELECT n FROM counter")
                await asyncio.sleep(0)  # let another writer try to interleave
                await tx.execute("UPDATE counter SET n = ?", (n + 1,))

        await asyncio.gather(*(bump() for _ in range(50)))
        assert await db.fetchval("SELECT n FROM counter") == 50
    finally:
        await db.close()


async def test_an_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseError, match="DATABASE_URL"):
        await Database.open(blocker / "sub" / "k.db")


async def test_a_corrupt_database_is_refused(tmp_path):
    path = Path(tmp_path / "k.db")
    path.write_bytes(b"this is not a sqlite database" * 200)
    with pytest.raises(DatabaseError, match="DATABASE_URL"):
        await Database.open(path)


async def test_online_backup_can_be_restored(tmp_path):
    db = await Database.open(tmp_path / "live.db")
    try:
        await migrate(db)
        await db.execute(
            "INSERT INTO guilds (guild_id, joined_at) VALUES (1, '2026-01-01 00:00:00')"
        )
        await db.backup_to(tmp_path / "backup.db")
    finally:
        await db.close()
    restored = await Database.open(tmp_path / "backup.db")
    try:
        assert await restored.fetchval("SELECT COUNT(*) FROM guilds") == 1
        assert await restored.fetchval("PRAGMA user_version") == load_migrations()[-1].version
    finally:
        await restored.close()


def test_migration_numbers_must_leave_no_gap(tmp_path):
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x INTEGER);")
    (tmp_path / "0003_c.sql").write_text("CREATE TABLE c (x INTEGER);")
    with pytest.raises(RuntimeError, match="without gaps"):
        load_migrations(tmp_path)


async def test_insert_returns_the_new_id_or_none_when_a_unique_key_is_taken(tmp_path):
    db = await Database.open(tmp_path / "k.db")
    try:
        await db.execute("CREATE TABLE claims (id INTEGER PRIMARY KEY, day TEXT UNIQUE)")
        sql = "INSERT INTO claims (day) VALUES (?) ON CONFLICT (day) DO NOTHING"
        first = await db.insert(sql, ("2026-03-02",))
        assert first is not None
        assert await db.insert(sql, ("2026-03-02",)) is None  # claimed already: nothing new
        assert await db.insert(sql, ("2026-03-03",)) not in (None, first)
        assert await db.fetchval("SELECT COUNT(*) FROM claims") == 2
    finally:
        await db.close()
