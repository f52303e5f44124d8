"""Journal entries: one per member per post (saving again edits), newest first, only the
member reads or deletes theirs, shared once to the prompt's thread, counted (never shown) in
the export, shown and forgotten by privacy. On SQLite and PostgreSQL."""

import json
from datetime import timedelta

import pytest

from bot.errors import UserError
from bot.journal.service import MAX_ENTRY_LENGTH, share_key
from bot.outbox import Failed
from bot.timeutil import to_db
from tests.support.clock import FakeClock
from tests.support.db import START, open_test_services
from tests.support.outbox import FakeTransport, drain

pytestmark = pytest.mark.backends("sqlite", "postgres")

G, OTHER_G = 1000, 2000
ANN, BEN = 11, 12
THREAD = 5000


@pytest.fixture
async def env(fresh_database):
    clock = FakeClock(START)
    services = await open_test_services(await fresh_database(), clock)
    transport = FakeTransport(clock)
    services.outbox.attach(transport)
    services.outbox.start()
    for guild_id in (G, OTHER_G):
        await services.guilds.joined(guild_id)
    yield services, transport, clock
    await services.scheduler.stop()
    await services.outbox.stop()
    await services.db.close()


async def sent_post(
    services, day: str, text: str, *, guild_id: int = G, thread_id: int | None = THREAD
) -> int:
    """A daily post that went out (the journal only needs its row)."""
    return await services.db.insert(
        "INSERT INTO prompt_posts (guild_id, local_date, status, prompt_id, prompt_text, "
        "channel_id, threads, message_id, thread_id, claimed_at) "
        "VALUES (?, ?, 'sent', 'b001', ?, 1, 1, 77, ?, ?) RETURNING id",
        (guild_id, day, text, thread_id, to_db(START)),
    )


async def test_saving_again_edits_the_one_entry_and_the_list_is_newest_first(env):
    services, _, clock = env
    journal = services.journal
    monday = await sent_post(services, "2026-03-02", "What went well?")
    tuesday = await sent_post(services, "2026-03-03", "Who helped you?")
    assert await journal.save(G, ANN, monday, "  Group work clicked.  ")
    clock.advance(60)
    assert await journal.save(G, ANN, tuesday, "My mentor.")
    clock.advance(60)
    assert not await journal.save(G, ANN, monday, "Group work clicked, finally.")
    assert await journal.draft(G, ANN, monday) == "Group work clicked, finally."
    first = await journal.page(G, ANN, 0)
    assert first.count == 2 and first.entry is not None
    assert (first.entry.text, first.entry.prompt_text) == ("My mentor.", "Who helped you?")
    second = await journal.page(G, ANN, 5)  # clamped to the last
    assert second.index == 1 and second.entry is not None
    assert second.entry.text == "Group work clicked, finally."
    assert (await journal.page(G, BEN, 0)).entry is None  # Ben has none


async def test_bad_reflections_and_unknown_posts_are_refused(env):
    services, _, _ = env
    post = await sent_post(services, "2026-03-02", "What went well?")
    with pytest.raises(UserError, match="empty"):
        await services.journal.save(G, ANN, post, "   ")
    with pytest.raises(UserError, match=f"keep it to {MAX_ENTRY_LENGTH}"):
        await services.journal.save(G, ANN, post, "x" * (MAX_ENTRY_LENGTH + 1))
    with pytest.raises(UserError, match="not one of this server's posts"):
        await services.journal.save(OTHER_G, ANN, post, "Wrong guild")
    assert await services.journal.save(G, ANN, post, "x" * MAX_ENTRY_LENGTH)


async def test_only_the_author_can_read_share_or_delete_an_entry(env):
    services, transport, _ = env
    post = await sent_post(services, "2026-03-02", "What went well?")
    await services.journal.save(G, ANN, post, "Mine alone")
    entry = (await services.journal.page(G, ANN, 0)).entry
    assert entry is not None
    for attempt in (
        services.journal.entry(G, BEN, entry.id),
        services.journal.share(G, BEN, entry.id, "Ben"),
        services.journal.delete(G, BEN, entry.id),
    ):
        with pytest.raises(UserError, match="gone \\(deleted, or not yours\\)"):
            await attempt
    assert (await services.journal.entry(G, ANN, entry.id)).text == "Mine alone"
    assert transport.messages == []


async def test_sharing_posts_once_in_the_thread_and_a_second_press_is_refused(env):
    services, transport, _ = env
    post = await sent_post(services, "2026-03-02", "What went well?")
    await services.journal.save(G, ANN, post, "Exit tickets @everyone should try")
    entry = (await services.journal.page(G, ANN, 0)).entry
    assert entry is not None
    shared = await services.journal.share(G, ANN, entry.id, "Ann")
    assert shared.thread_id == THREAD
    with pytest.raises(UserError, match="shared this reflection already"):
        await services.journal.share(G, ANN, entry.id, "Ann")
    await drain(services.outbox)
    key = share_key(entry.id, to_db(START))
    messages = transport.sent_to(key)
    assert [(m.channel_id, m.kind) for m in messages] == [(THREAD, "journal.share")]
    assert transport.attempts == [key]
    assert (await services.journal.entry(G, ANN, entry.id)).shared_at is not None


async def test_a_share_refused_for_good_is_undone_and_may_be_tried_again(env):
    services, transport, clock = env
    post = await sent_post(services, "2026-03-02", "What went well?")
    await services.journal.save(G, ANN, post, "Worth sharing")
    entry = (await services.journal.page(G, ANN, 0)).entry
    assert entry is not None
    first = share_key(entry.id, to_db(START))
    transport.script(first, Failed("the channel <#5000> no longer exists", 10003, True))
    await services.journal.share(G, ANN, entry.id, "Ann")
    await drain(services.outbox)
    assert (await services.journal.entry(G, ANN, entry.id)).shared_at is None
    clock.advance(60)
    await services.journal.share(G, ANN, entry.id, "Ann")
    await drain(services.outbox)
    assert len(transport.sent_to(share_key(entry.id, to_db(START + timedelta(seconds=60))))) == 1
    assert transport.sent_to(first) == []


async def test_a_prompt_without_a_thread_cannot_be_shared_to_one(env):
    services, _, _ = env
    post = await sent_post(services, "2026-03-02", "What went well?", thread_id=None)
    await services.journal.save(G, ANN, post, "No thread today")
    entry = (await services.journal.page(G, ANN, 0)).entry
    assert entry is not None
    with pytest.raises(UserError, match="no thread"):
        await services.journal.share(G, ANN, entry.id, "Ann")
    assert (await services.journal.entry(G, ANN, entry.id)).shared_at is None


async def test_delete_removes_the_entry(env):
    services, _, _ = env
    post = await sent_post(services, "2026-03-02", "What went well?")
    await services.journal.save(G, ANN, post, "Soon gone")
    entry = (await services.journal.page(G, ANN, 0)).entry
    assert entry is not None
    await services.journal.delete(G, ANN, entry.id)
    assert (await services.journal.page(G, ANN, 0)).count == 0
    with pytest.raises(UserError, match="gone"):
        await services.journal.delete(G, ANN, entry.id)


async def test_the_export_counts_entries_and_holds_no_text(env):
    services, _, _ = env
    post = await sent_post(services, "2026-03-02", "What went well?")
    await services.journal.save(G, ANN, post, "A very private thought")
    await services.journal.save(G, BEN, post, "Another private thought")
    async with services.exporter.export(G) as export:
        raw = b"".join(f.path.read_bytes() for f in export.files).decode()
    assert "private thought" not in raw
    assert json.loads(raw)["tables"]["journal_entries"] == {"columns": [], "rows": [], "count": 2}


async def test_privacy_shows_and_forgets_a_members_entries_only(env):
    services, _, _ = env
    post = await sent_post(services, "2026-03-02", "What went well?")
    await services.journal.save(G, ANN, post, "Ann's thought")
    await services.journal.save(G, BEN, post, "Ben's thought")
    data = await services.member_data.collect(G, ANN)
    assert "1 × private journal entries" in data.summary()
    assert "Ann's thought" in data.to_json() and "Ben's thought" not in data.to_json()
    await services.member_data.erase(G, ANN)
    assert (await services.journal.page(G, ANN, 0)).count == 0
    assert (await services.journal.page(G, BEN, 0)).count == 1
