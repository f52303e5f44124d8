"""Guild export: every guild-scoped table, this guild only, streamed, and fitted to Discord."""

import gzip
import json

import pytest

from tests.support.db import open_test_services

GUILD, OTHER_GUILD = 1, 2
MEMBERS = 10_000


@pytest.fixture
async def services(fresh_database):
    database = await fresh_database()
    services = await open_test_services(database)
    for guild_id in (GUILD, OTHER_GUILD):
        await services.guilds.joined(guild_id)
    async with services.db.transaction() as tx:
        # A table no module knows about: the export must find it in the schema.
        await tx.execute(
            "CREATE TABLE roster (guild_id BIGINT NOT NULL REFERENCES guilds(guild_id) "
            "ON DELETE CASCADE, user_id BIGINT NOT NULL, note TEXT, api_token TEXT)"
        )
        await tx.executemany(
            "INSERT INTO roster VALUES (?, ?, ?, 'secret-value')",
            [(GUILD, 10**17 + n, f"member {n} 👋") for n in range(MEMBERS)]
            + [(OTHER_GUILD, 5, "elsewhere")],
        )
    await services.helpdesk.asks.ask(GUILD, 42, "pbl", "How do I start?")
    # A private thank-you on its way to the helper (no Discord here: it stays in the outbox).
    await services.helpdesk.closing.resolve(GUILD, 42, False, "A1", 43, "Your rubric saved me")
    await services.scheduler.schedule("x", "nothing", services.clock.now(), guild_id=GUILD)
    yield services
    await services.scheduler.stop()
    await services.db.close()


def read(export) -> dict:
    data = b"".join(f.path.read_bytes() for f in export.files)
    return json.loads(gzip.decompress(data) if export.compressed else data)


async def test_export_holds_every_guild_table_with_this_guilds_rows_only(services):
    async with services.exporter.export(GUILD) as export:
        assert [f.filename for f in export.files] == ["kindred-1-20260302-1200.json"]
        document = read(export)
    assert document["format"] == "kindred-guild-export" and document["format_version"] == 1
    assert document["schema_version"] == await services.db.schema_version()
    roster = document["tables"]["roster"]
    assert roster["columns"] == ["guild_id", "user_id", "note"]  # no tokens
    assert len(roster["rows"]) == MEMBERS
    assert roster["rows"][9_999] == {
        "guild_id": GUILD,
        "user_id": 10**17 + 9_999,
        "note": "member 9999 👋",
    }
    assert document["tables"]["guilds"]["rows"][0]["timezone"] == "UTC"
    assert document["tables"]["helpdesk_asks"]["rows"][0]["details"] == "How do I start?"
    assert "jobs" not in document["tables"] and "outbox" not in document["tables"]
    assert "Your rubric saved me" not in json.dumps(document)  # a private note, not the guild's
    assert "secret-value" not in json.dumps(document)
    assert export.rows == sum(len(t["rows"]) for t in document["tables"].values())


async def test_the_temporary_files_are_removed_afterwards(services):
    async with services.exporter.export(GUILD) as export:
        paths = [f.path for f in export.files]
        assert all(p.exists() for p in paths)
    assert not any(p.exists() for p in paths)


async def test_an_export_over_the_limit_is_gzipped(services):
    async with services.exporter.export(GUILD, size_limit=400_000) as export:
        assert export.compressed and not export.split
        assert export.files[0].filename.endswith(".json.gz")
        assert export.files[0].size <= 400_000
        assert len(read(export)["tables"]["roster"]["rows"]) == MEMBERS


async def test_a_gzip_still_over_the_limit_is_split_into_parts(services):
    async with services.exporter.export(GUILD, size_limit=50_000) as export:
        assert export.split and all(f.size <= 50_000 for f in export.files)
        assert [f.filename[-4:] for f in export.files[:2]] == [".001", ".002"]
        assert len(read(export)["tables"]["roster"]["rows"]) == MEMBERS
