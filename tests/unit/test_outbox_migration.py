"""Migration 0006 on a database the old senders left mid-flight: every message in flight is
carried into the outbox with its legacy nonce and a payload the renderers read, what the
features still need becomes domain rows, and the old tables and send-state columns are gone.
Then the outbox, started on the migrated database, finishes those messages exactly once.
Both twins (SQLite and PostgreSQL) are run.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.db import Database, migrate
from bot.db.migrations import load_migrations
from bot.helpdesk.models import MessageKind, Outgoing
from bot.pairing.models import Announcement, Intro, Notice
from bot.scheduler import Scheduler
from bot.services import build_services
from tests.support.clock import FakeClock
from tests.support.db import START, DatabaseFactory
from tests.support.outbox import FakeMessage, FakeTransport, drain

G = 1
PROMPTS, PAIRING, HELP = 11, 12, 13
A, B, C, D, E, F = 101, 102, 103, 104, 105, 106  # members
HELPER, ASKER = 201, 202
T0 = "2026-03-02 11:00:00"  # an hour before START: the old run's sends

OLD_WORLD = f"""
INSERT INTO guilds (guild_id, joined_at) VALUES ({G}, '{T0}');
INSERT INTO jobs (key, kind, guild_id, due_at) VALUES
    ('pairing.deliver:1', 'pairing.deliver', {G}, '{T0}'),
    ('prompts.recover', 'prompts.recover', NULL, '{T0}'),
    ('prompts.daily:{G}', 'prompts.daily', {G}, '2026-03-03 13:00:00');

-- Daily prompts: post 7 was being sent; 5 was sent, 6 failed.
INSERT INTO prompt_settings (guild_id, channel_id, post_time, active_since)
    VALUES ({G}, {PROMPTS}, '13:00', '{T0}');
INSERT INTO prompt_posts (id, guild_id, local_date, status, reason, prompt_id, prompt_text,
        theme, cycle, channel_id, role_id, threads, message_id, claimed_at, sent_at) VALUES
    (5, {G}, '2026-02-27', 'sent', NULL, 'b001', 'First?', 'growth', 1, {PROMPTS}, NULL, 1, 900,
     '{T0}', '{T0}'),
    (6, {G}, '2026-02-28', 'failed', 'missing permission', NULL, NULL, NULL, NULL, {PROMPTS},
     NULL, 1, NULL, '{T0}', NULL),
    (7, {G}, '2026-03-02', 'sending', NULL, 'b002', 'What went well?', 'reflection', 1,
     {PROMPTS}, 77, 1, NULL, '{T0}', NULL);
INSERT INTO custom_prompts (id, guild_id, text, text_key, source, created_at)
    VALUES (3, {G}, 'Who helped you?', 'who helped you', 'suggestion', '{T0}');
INSERT INTO prompt_suggestions (id, guild_id, suggested_by_user_id, text, status, created_at,
        decided_at, decided_by_user_id, custom_prompt_id, dm_status)
    VALUES (9, {G}, {A}, 'Who helped you?', 'approved', '{T0}', '{T0}', {HELPER}, 3, 'sending');

-- Pairing: round 1 with pairs (A, B), (C, D) and E left out. A's intro was never tried, B's
-- was being sent, C refused (the group's thread is wanted), D's check-in went out; F had left
-- and E's intro reached nobody. The announcement is not posted yet.
INSERT INTO pairing_settings (guild_id, channel_id, cadence, weekday, at_time, anchor,
        updated_at) VALUES ({G}, {PAIRING}, 'weekly', 2, '09:00', '2026-03-04', '{T0}');
INSERT INTO pairing_rounds (round_id, guild_id, slot_key, started_at, checkin_at, seed,
        starter, announce_state)
    VALUES (1, {G}, 'now:1', '{T0}', '2026-03-05 11:00:00', 42, 'What went well?', 'pending');
INSERT INTO pairing_groups (group_id, round_id, guild_id, size, shared_topics, thread_state)
    VALUES (1, 1, {G}, 2, '["pbl"]', 'none'), (2, 1, {G}, 2, '[]', 'wanted');
INSERT INTO pairing_assignments (round_id, guild_id, user_id, group_id, outcome) VALUES
    (1, {G}, {A}, 1, 'paired'), (1, {G}, {B}, 1, 'paired'),
    (1, {G}, {C}, 2, 'paired'), (1, {G}, {D}, 2, 'paired'), (1, {G}, {E}, NULL, 'left_out');
INSERT INTO pairing_deliveries (delivery_id, round_id, guild_id, user_id, kind, state,
        about_user_id, created_at) VALUES
    (21, 1, {G}, {A}, 'intro', 'pending', 0, '{T0}'),
    (22, 1, {G}, {B}, 'intro', 'sending', 0, '{T0}'),
    (23, 1, {G}, {C}, 'intro', 'refused', 0, '{T0}'),
    (24, 1, {G}, {D}, 'intro', 'sent', 0, '{T0}'),
    (25, 1, {G}, {E}, 'intro', 'undelivered', 0, '{T0}'),
    (26, 1, {G}, {D}, 'checkin', 'sent', 0, '{T0}'),
    (27, 1, {G}, {A}, 'partner_left', 'pending', {F}, '{T0}');

-- Help ledger: ask 1's post went out (message 500), its routing DM to HELPER was being sent,
-- someone offered to help, and its bump failed.
INSERT INTO helpdesk_guilds (guild_id, channel_id, last_request_no) VALUES ({G}, {HELP}, 1);
INSERT INTO helpdesk_topics (topic_id, guild_id, name, created_at)
    VALUES (1, {G}, 'pbl', '{T0}');
INSERT INTO helpdesk_asks (ask_id, guild_id, request_no, topic_id, user_id, details, created_at)
    VALUES (1, {G}, 1, 1, {ASKER}, 'How do I start?', '{T0}');
INSERT INTO helpdesk_messages (message_id, guild_id, ask_id, kind, recipient_user_id,
        helper_user_id, channel_id, state, attempts, created_at, discord_message_id, error)
    VALUES
    (31, {G}, 1, 'post', 0, 0, {HELP}, 'sent', 1, '{T0}', 500, NULL),
    (32, {G}, 1, 'route', {HELPER}, 0, NULL, 'sending', 1, '{T0}', NULL, NULL),
    (33, {G}, 1, 'help', {ASKER}, {C}, NULL, 'sent', 1, '{T0}', 501, NULL),
    (34, {G}, 1, 'bump', 0, 0, {HELP}, 'failed', 1, '{T0}', NULL, 'missing permission');
"""


pytestmark = pytest.mark.backends("sqlite", "postgres")


@pytest.fixture
async def db(fresh_database: DatabaseFactory) -> AsyncIterator[Database]:
    """A database left by the old senders: migrated to 0005, then the world above."""
    db = await Database.open(await fresh_database(migrated=False))
    await migrate(db, load_migrations(backend=db.backend)[:5])
    async with db.transaction() as tx:
        await tx.executescript(OLD_WORLD)
    # 0006 and every later migration (the features' code reads the latest schema).
    assert await migrate(db) == len(load_migrations(backend=db.backend))
    yield db
    await db.close()


async def outbox_rows(db: Database) -> dict[str, dict]:
    rows = await db.fetchall("SELECT * FROM outbox")
    return {r["dedupe_key"]: {**dict(r), "payload": json.loads(r["payload"])} for r in rows}


async def values(db: Database, sql: str) -> list[tuple]:
    return [tuple(row) for row in await db.fetchall(sql)]


async def columns(db: Database, table: str) -> set[str]:
    return set((await db.table_columns())[table])


async def test_messages_in_flight_are_carried_over_with_their_legacy_nonces(db):
    rows = await outbox_rows(db)
    carried = {key: (row["nonce"], row["state"]) for key, row in rows.items()}
    assert carried == {
        "prompt.post:7": ("kindred-prompt-7", "sending"),
        "prompt.approved:9": ("kindred-sugg-9", "sending"),
        f"pairing.intro:1:{A}": ("kpd21", "pending"),
        f"pairing.intro:1:{B}": ("kpd22", "sending"),
        f"pairing.intro:1:{C}": ("kpd23", "refused"),  # finished: it waits for its thread
        f"pairing.notice:1:{A}:partner_left:{F}:0": ("kpd27", "pending"),
        "pairing.thread:2": ("kpg2", "pending"),
        "pairing.announcement:1": ("kpa1", "pending"),
        f"helpdesk.route:1:{HELPER}": ("kindred-hd-32", "sending"),
    }
    # A message that may have reached Discord keeps its claim time: the read-back starts there.
    assert rows[f"pairing.intro:1:{B}"]["claimed_at"] == T0
    assert rows["prompt.post:7"]["expires_at"] == "2026-03-02 17:00:00"  # the 6-hour catch-up


async def test_carried_payloads_are_what_the_renderers_read(db):
    rows = await outbox_rows(db)
    post = rows["prompt.post:7"]["payload"]
    assert (post["post_id"], post["text"], post["role_id"], post["threads"]) == (
        7,
        "What went well?",
        77,
        1,
    )
    assert rows["prompt.approved:9"]["payload"] == {"prompt_id": "c3", "text": "Who helped you?"}
    intro = Intro.from_payload(rows[f"pairing.intro:1:{A}"]["payload"])
    assert (intro.user_ids, intro.partner_ids, intro.shared_topics) == ((A,), (B,), ("pbl",))
    assert intro.starter == "What went well?" and intro.outcome == "paired"
    notice = Notice.from_payload(rows[f"pairing.notice:1:{A}:partner_left:{F}:0"]["payload"])
    assert (notice.user_id, notice.departed_user_id, notice.partner_ids) == (A, F, (B,))
    thread = rows["pairing.thread:2"]
    assert thread["channel_id"] == PAIRING and thread["payload"]["group_id"] == 2
    assert Intro.from_payload(thread["payload"]).user_ids == (C, D)
    announcement = Announcement.from_payload(rows["pairing.announcement:1"]["payload"])
    assert (announcement.pairs, announcement.trios, announcement.members) == (2, 0, 5)
    route = Outgoing.from_payload(rows[f"helpdesk.route:1:{HELPER}"]["payload"])
    assert (route.kind, route.recipient_user_id, route.ask.ref, route.ask.topic) == (
        MessageKind.ROUTE,
        HELPER,
        "A1",
        "pbl",
    )
    assert rows[f"helpdesk.route:1:{HELPER}"]["recipient_user_id"] == HELPER


async def test_domain_rows_keep_what_the_features_need_and_the_old_state_is_gone(db):
    posts = await values(db, "SELECT id, status FROM prompt_posts ORDER BY id")
    assert posts == [(5, "sent"), (6, "failed"), (7, "claimed")]
    if db.backend == "sqlite":  # the rebuilt table keeps the id sequence (outbox keys use ids)
        new_id = await db.insert(
            "INSERT INTO prompt_posts (guild_id, local_date, status, claimed_at) "
            "VALUES (?, '2026-03-03', 'skipped', ?) RETURNING id",
            (G, T0),
        )
        assert new_id == 8
    assert {"dm_status", "dm_reason"}.isdisjoint(await columns(db, "prompt_suggestions"))

    assert [
        tuple(r) for r in await db.fetchall("SELECT user_id, kind FROM pairing_undelivered")
    ] == [(E, "intro")]
    asked = await db.fetchall(
        "SELECT user_id FROM pairing_assignments WHERE checkin_asked = 1 ORDER BY user_id"
    )
    assert [r["user_id"] for r in asked] == [D]
    assert "announce_state" not in await columns(db, "pairing_rounds")
    assert "thread_state" not in await columns(db, "pairing_groups")

    assert [
        tuple(r) for r in await db.fetchall("SELECT ask_id, helper_user_id FROM helpdesk_routes")
    ] == [(1, HELPER)]
    assert [
        tuple(r) for r in await db.fetchall("SELECT ask_id, helper_user_id FROM helpdesk_helpers")
    ] == [(1, C)]
    ask = await db.fetchone("SELECT post_message_id, channel_problem FROM helpdesk_asks")
    assert ask is not None and ask["post_message_id"] == 500
    assert ask["channel_problem"] == "could not be bumped in the help channel: missing permission"

    tables = set(await db.table_columns())
    assert {"pairing_deliveries", "helpdesk_messages"}.isdisjoint(tables)
    assert [r["kind"] for r in await db.fetchall("SELECT kind FROM jobs")] == ["prompts.daily"]


async def test_the_outbox_finishes_the_carried_messages_exactly_once(db):
    clock = FakeClock(START)
    services = build_services(db, Scheduler(db, clock), clock)
    transport = FakeTransport(clock)
    # B's intro reached Discord before the old bot died: the read-back must find it.
    old_attempt = datetime(2026, 3, 2, 11, 0, 5, tzinfo=UTC)
    transport.messages.append(
        FakeMessage(999, f"pairing.intro:1:{B}", "pairing.intro", None, B, "kpd22", old_attempt)
    )
    services.outbox.attach(transport)
    services.outbox.start()
    try:
        await drain(services.outbox)
    finally:
        await services.outbox.stop()

    sent = {key: [m.nonce for m in transport.sent_to(key)] for key in transport.attempts}
    assert sent == {
        f"pairing.intro:1:{A}": ["kpd21"],
        f"pairing.notice:1:{A}:partner_left:{F}:0": ["kpd27"],
        "pairing.thread:2": ["kpg2"],
        "pairing.announcement:1": ["kpa1"],
        "prompt.post:7": ["kindred-prompt-7"],
        "prompt.approved:9": ["kindred-sugg-9"],
        f"helpdesk.route:1:{HELPER}": ["kindred-hd-32"],
    }
    assert f"pairing.intro:1:{B}" not in transport.attempts  # found by reading back, not resent
    states = await db.fetchall("SELECT state FROM outbox WHERE state != 'sent'")
    assert [r["state"] for r in states] == ["refused"]  # C's intro: delivered in the thread
    post = await db.fetchone("SELECT status, message_id FROM prompt_posts WHERE id = 7")
    assert post is not None and post["status"] == "sent" and post["message_id"] is not None
