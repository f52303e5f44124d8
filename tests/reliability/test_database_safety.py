"""Database safety: an online backup taken while the bot runs restores, and a damaged database
is refused at start-up with one clear line instead of running on (and spreading) bad data."""

from __future__ import annotations

import random
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from bot.db import DatabaseConfig, SqliteConfig
from bot.timeutil import to_db
from tests.fakediscord.fixtures import World
from tests.support.db import START, database_url, open_test_services
from tests.support.process import run_bot


async def about_footer(fake, user_id: int = World.MEMBERS[0]) -> str:
    handle = await fake.invoke(World.GUILD, user_id, "about")
    message = await handle.response(timeout=10)
    return message.embeds[0]["footer"]["text"]


async def set_timezone(fake, name: str) -> None:
    handle = await fake.invoke(World.GUILD, World.ADMIN, "admin timezone", name=name)
    assert name in (await handle.response(timeout=10)).content


def restore(database: DatabaseConfig, backup: Path) -> None:
    """What an operator does with a backup: copy the SQLite file back, or `pg_restore` the
    dump over the database (`--clean` drops what is there first)."""
    if isinstance(database, SqliteConfig):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database.path}{suffix}").unlink(missing_ok=True)
        shutil.copy(backup, database.path)
        return
    subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--single-transaction", "--no-owner",
         f"--dbname={database.dsn}", str(backup)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


async def test_a_backup_taken_while_the_bot_runs_restores_its_data(bot_process, tmp_path):
    fake = bot_process.fake
    await bot_process.start()
    await set_timezone(fake, "Europe/Berlin")

    backup = tmp_path / "backups" / "kindred-backup"
    result = run_bot(tmp_path, "backup", str(backup), DATABASE_URL=bot_process.database_url)
    assert result.returncode == 0, result.stderr
    assert "backed up" in result.stdout

    # A change after the backup must be gone after the restore: it proves what we restored.
    await set_timezone(fake, "Asia/Tokyo")
    assert "Asia/Tokyo" in await about_footer(fake)
    bot_process.kill()

    restore(bot_process.database, backup)
    await bot_process.start()
    assert "Europe/Berlin" in await about_footer(fake)
    assert "Traceback" not in bot_process.logs()


@pytest.mark.backends("postgres")
async def test_backup_without_pg_dump_on_path_says_so_in_one_line(fresh_database, tmp_path):
    database = await fresh_database()
    bare = tmp_path / "bin"  # a PATH with no PostgreSQL tools on it
    bare.mkdir()
    result = run_bot(
        tmp_path, "backup", str(tmp_path / "b.dump"), DATABASE_URL=database_url(database),
        PATH=str(bare),
    )  # fmt: skip
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pg_dump is not on PATH" in lines[0], result.stderr
    assert not (tmp_path / "b.dump").exists()


def test_backup_without_a_database_says_so_in_one_line(tmp_path):
    result = run_bot(tmp_path, "backup", str(tmp_path / "b.db"), DATABASE_URL="sqlite:///none.db")
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "no database" in result.stderr


async def build_database(path: Path, rows: int) -> None:
    """A real, migrated Kindred database with enough rows to span many pages."""
    services = await open_test_services(path)
    try:
        async with services.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO guilds (guild_id, timezone, joined_at) VALUES (?, ?, ?)",
                [(10**17 + i, "Europe/Berlin", to_db(START)) for i in range(rows)],
            )
            await tx.executemany(
                "INSERT INTO jobs (key, kind, guild_id, due_at) VALUES (?, 'prompt.post', ?, ?)",
                [(f"prompt:{10**17 + i}", 10**17 + i, to_db(START)) for i in range(rows)],
            )
    finally:
        await services.db.close()


def middle_leaf_page(path: Path, table: str) -> tuple[int, int]:
    """(page number, page size) of a leaf page of `table` in the middle of the file."""
    conn = sqlite3.connect(path)
    try:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [
            row[0]
            for row in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
                (table,),
            )
        ]
    finally:
        conn.close()
    return pages[len(pages) // 2], size


async def test_a_database_with_a_damaged_page_is_refused_in_one_line(tmp_path):
    path = tmp_path / "kindred.db"
    await build_database(path, rows=3000)
    page, size = middle_leaf_page(path, "jobs")
    # Scribble over the cell pointers and part of the cells, as a torn write or bad sector would;
    # the header, the schema and every other page stay intact, so the file still opens.
    noise = random.Random(8).randbytes(600)
    with path.open("r+b") as file:
        file.seek((page - 1) * size + 8)
        file.write(noise)

    started = time.monotonic()
    result = run_bot(tmp_path, DISCORD_TOKEN="x", DATABASE_URL=f"sqlite:///{path}")
    elapsed = time.monotonic() - started

    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0] and "backup" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert elapsed < 10


async def test_an_index_that_disagrees_with_its_table_is_refused(tmp_path):
    """One flipped byte in the scheduler's `jobs_due` index keeps the b-tree valid (quick_check
    says ok) but hides due jobs from `WHERE due_at <= now`; start-up must refuse it."""
    path = tmp_path / "kindred.db"
    await build_database(path, rows=3000)
    page, size = middle_leaf_page(path, "jobs_due")
    with path.open("r+b") as file:
        file.seek((page - 1) * size)
        content = bytearray(file.read(size))
        at = content.find(to_db(START).encode(), size // 2)
        content[at + 3] = ord("7")  # 2026-... becomes 2027-... in the index only
        file.seek((page - 1) * size)
        file.write(content)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        hidden = conn.execute(
            "SELECT COUNT(*) FROM jobs WHERE due_at <= ?", (to_db(START),)
        ).fetchone()[0]
        assert hidden < 3000  # the damage is real: due jobs vanish from the scheduler's query
    finally:
        conn.close()

    result = run_bot(tmp_path, DISCORD_TOKEN="x", DATABASE_URL=f"sqlite:///{path}")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "jobs_due" in lines[0] and "backup" in lines[0]
