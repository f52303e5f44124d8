"""The outbox sends every row exactly once: across crashes at any point, past Discord's nonce
window (read back first), under transient and final errors, with two processes claiming, and
only for the guilds its process owns.

`FakeTransport` (tests/support/outbox.py) models Discord: messages by row, nonces remembered
for five minutes on the test's clock; `attempts` counts every send, resends included.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.db import Database, DatabaseConfig, Transaction
from bot.outbox import (
    NONCE_WINDOW,
    Failed,
    GuildScope,
    KindHooks,
    Outbox,
    OutboxRow,
    Refused,
    Sent,
    Transient,
    nonce_for,
)
from bot.outbox.rows import OutboxRows
from bot.outbox.runner import RETENTION, backoff
from bot.timeutil import to_db
from tests.support.clock import FakeClock
from tests.support.db import START, DatabaseFactory
from tests.support.outbox import FakeTransport, drain, until

GUILD, OTHER_GUILD = 1, 2
CHANNEL = 10


pytestmark = pytest.mark.backends("sqlite", "postgres")


@pytest.fixture
async def config(fresh_database: DatabaseFactory) -> DatabaseConfig:
    return await fresh_database()


@pytest.fixture
async def db(config: DatabaseConfig) -> AsyncIterator[Database]:
    db = await Database.open(config)
    for guild_id in (GUILD, OTHER_GUILD):
        await db.execute(
            "INSERT INTO guilds (guild_id, joined_at) VALUES (?, ?)", (guild_id, to_db(START))
        )
    yield db
    await db.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def transport(clock: FakeClock) -> FakeTransport:
    return FakeTransport(clock)


class Runners:
    """Outbox runners ("processes") on the test database, stopped at the end."""

    def __init__(self, db: Database, clock: FakeClock, transport: FakeTransport) -> None:
        self.db, self.clock, self.transport = db, clock, transport
        self.started: list[Outbox] = []

    def start(self, db: Database | None = None, **options) -> Outbox:
        outbox = Outbox(db or self.db, self.clock, **options)
        outbox.attach(self.transport)
        outbox.start()
        self.started.append(outbox)
        return outbox

    async def crash(self, outbox: Outbox) -> None:
        """Stop as kill -9 would: attempts are cancelled mid-way, nothing is recorded."""
        await outbox.stop()


@pytest.fixture
async def runners(
    db: Database, clock: FakeClock, transport: FakeTransport
) -> AsyncIterator[Runners]:
    made = Runners(db, clock, transport)
    yield made
    for outbox in made.started:
        await outbox.stop()


async def enqueue(outbox: Outbox, db: Database, key: str, **fields) -> int | None:
    fields.setdefault("kind", "test.dm")
    fields.setdefault("guild_id", GUILD)
    if "channel_id" not in fields:
        fields.setdefault("user_id", 500)
    async with db.transaction() as tx:
        row_id = await outbox.enqueue(tx, key=key, **fields)
    outbox.wake()
    return row_id


async def row_of(db: Database, key: str) -> OutboxRow:
    row = await OutboxRows(db).by_key(key)
    assert row is not None
    return row


async def advance(outbox: Outbox, clock: FakeClock, delta: timedelta) -> None:
    clock.advance(delta)
    await drain(outbox)


# -- the basics ------------------------------------------------------------------------------


def test_the_nonce_is_deterministic_short_and_differs_by_key() -> None:
    assert nonce_for("pairing.intro:7:42") == nonce_for("pairing.intro:7:42")
    assert nonce_for("pairing.intro:7:42") != nonce_for("pairing.intro:7:43")
    assert len(nonce_for("x" * 500)) <= 25


async def test_a_row_is_sent_once_and_its_hook_records_it(db, clock, transport, runners):
    recorded: list[tuple[str, int | None]] = []

    async def on_sent(tx: Transaction, row: OutboxRow, sent: Sent) -> None:
        recorded.append((row.payload["text"], sent.message_id))

    outbox = runners.start()
    outbox.register("test.dm", KindHooks(on_sent=on_sent))
    assert await enqueue(outbox, db, "dm:1", payload={"text": "hello"}) is not None
    assert await enqueue(outbox, db, "dm:1", payload={"text": "again"}) is None  # same key
    await drain(outbox)

    row = await row_of(db, "dm:1")
    assert row.state == "sent" and row.message_id == transport.messages[0].id
    assert row.payload == {}  # Discord holds the message; no second copy of the text is kept
    assert transport.attempts == ["dm:1"]
    assert recorded == [("hello", transport.messages[0].id)]


async def test_enqueue_needs_exactly_one_target(db, clock, runners):
    outbox = runners.start()
    with pytest.raises(ValueError, match="exactly one"):
        await enqueue(outbox, db, "bad", channel_id=CHANNEL, user_id=5)
    with pytest.raises(ValueError, match="edit needs"):
        await enqueue(outbox, db, "bad", user_id=5, edit_message_id=99)


async def test_a_row_waits_until_not_before(db, clock, transport, runners):
    outbox = runners.start()
    await enqueue(outbox, db, "reminder", not_before=START + timedelta(minutes=30))
    await drain(outbox)
    assert transport.attempts == []
    await advance(outbox, clock, timedelta(minutes=30))
    assert transport.attempts == ["reminder"]


async def test_no_more_than_concurrency_rows_are_in_flight(db, clock, transport, runners):
    transport.hold_before = asyncio.Event()
    outbox = runners.start(concurrency=3)
    for n in range(10):
        await enqueue(outbox, db, f"dm:{n}", user_id=500 + n)
    await until(lambda: transport.in_flight == 3)
    outbox.wake()
    await asyncio.sleep(0.05)  # the loop looks again: the others wait for a free slot
    assert transport.in_flight == 3
    transport.hold_before.set()
    await drain(outbox)
    assert transport.most_in_flight == 3
    assert sorted(transport.attempts) == sorted(f"dm:{n}" for n in range(10))


# -- retries ---------------------------------------------------------------------------------


async def test_a_transient_error_is_retried_after_a_backoff_then_sent(
    db, clock, transport, runners
):
    outbox = runners.start()
    transport.script("dm:1", Transient("Discord error 503"), Transient("network error"))
    await enqueue(outbox, db, "dm:1")
    await drain(outbox)
    row = await row_of(db, "dm:1")
    assert row.state == "sending" and row.last_error == "Discord error 503"

    await advance(outbox, clock, backoff(1) - timedelta(seconds=1))
    assert transport.attempts == ["dm:1"]  # not before the backoff
    await advance(outbox, clock, timedelta(seconds=1))
    await advance(outbox, clock, backoff(2))
    row = await row_of(db, "dm:1")
    assert row.state == "sent" and row.attempts == 3
    assert transport.attempts == ["dm:1"] * 3 and len(transport.messages) == 1


def test_the_backoff_doubles_up_to_a_cap() -> None:
    waits = [backoff(n) for n in range(1, 12)]
    assert waits[:3] == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]
    assert max(waits) == waits[-1] == timedelta(minutes=10)
    assert waits == sorted(waits)


async def test_a_retry_after_from_discord_is_honoured(db, clock, transport, runners):
    outbox = runners.start()
    transport.script("dm:1", Transient("429 outlasted discord.py", retry_after=120))
    await enqueue(outbox, db, "dm:1")
    await drain(outbox)
    await advance(outbox, clock, timedelta(seconds=119))
    assert transport.attempts == ["dm:1"]
    await advance(outbox, clock, timedelta(seconds=1))
    assert (await row_of(db, "dm:1")).state == "sent"


async def test_a_final_failure_is_recorded_once_and_never_retried(db, clock, transport, runners):
    problems: list[str] = []

    async def on_failed(tx: Transaction, row: OutboxRow, failed: Failed) -> None:
        problems.append(failed.reason)

    outbox = runners.start()
    outbox.register("test.post", KindHooks(on_failed=on_failed))
    transport.script("post:1", Failed("missing permission in <#10>", code=50013))
    await enqueue(outbox, db, "post:1", kind="test.post", channel_id=CHANNEL)
    await drain(outbox)
    for _ in range(5):
        await advance(outbox, clock, timedelta(hours=1))

    row = await row_of(db, "post:1")
    assert row.state == "failed" and row.last_error == "missing permission in <#10>"
    assert problems == ["missing permission in <#10>"]
    assert transport.attempts == ["post:1"]


async def test_dms_closed_calls_on_refused_which_enqueues_a_fallback(db, clock, transport, runners):
    outbox = runners.start()

    async def on_refused(tx: Transaction, row: OutboxRow, refused: Refused) -> None:
        await outbox.enqueue(
            tx, key=f"fallback:{row.dedupe_key}", kind="test.post", guild_id=row.guild_id,
            channel_id=CHANNEL, payload={"for": row.recipient_user_id},
        )  # fmt: skip

    outbox.register("test.dm", KindHooks(on_refused=on_refused))
    transport.script("dm:1", Refused("DMs are closed"))
    await enqueue(outbox, db, "dm:1", user_id=777)
    await drain(outbox)

    assert (await row_of(db, "dm:1")).state == "refused"
    assert (await row_of(db, "fallback:dm:1")).state == "sent"
    assert transport.attempts == ["dm:1", "fallback:dm:1"]


async def test_a_row_no_longer_wanted_is_cancelled_without_sending(db, clock, transport, runners):
    async def still_wanted(row: OutboxRow) -> bool:
        return row.payload["ask"] != "closed"

    outbox = runners.start()
    outbox.register("test.dm", KindHooks(still_wanted=still_wanted))
    await enqueue(outbox, db, "dm:open", payload={"ask": "open"})
    await enqueue(outbox, db, "dm:closed", payload={"ask": "closed"}, user_id=501)
    await drain(outbox)
    assert (await row_of(db, "dm:closed")).state == "cancelled"
    assert transport.attempts == ["dm:open"]


async def test_a_row_that_cannot_be_sent_in_time_expires_as_failed(db, clock, transport, runners):
    problems: list[str] = []

    async def on_failed(tx: Transaction, row: OutboxRow, failed: Failed) -> None:
        problems.append(failed.reason)

    outbox = runners.start()
    outbox.register("test.dm", KindHooks(on_failed=on_failed, expires_after=timedelta(hours=1)))
    transport.script("dm:1", *[Transient("Discord error 503")] * 100)
    transport.read_answers = [None] * 100  # a read-back finds nothing: it was never created
    await enqueue(outbox, db, "dm:1")
    await drain(outbox)
    for _ in range(12):
        await advance(outbox, clock, timedelta(minutes=10))

    row = await row_of(db, "dm:1")
    assert row.state == "failed" and problems == [row.last_error]
    assert row.last_error == "not sent in time (Discord error 503)"
    assert transport.reads  # it may have reached Discord: it was looked for before giving up
    attempts = len(transport.attempts)
    await advance(outbox, clock, timedelta(days=1))
    assert len(transport.attempts) == attempts


async def test_an_expired_row_that_was_delivered_after_all_is_recorded_as_sent(
    db, clock, transport, runners
):
    outbox = runners.start()
    outbox.register("test.dm", KindHooks(expires_after=timedelta(minutes=30)))
    transport.hold_after = asyncio.Event()  # Discord creates it; the answer never comes back
    await enqueue(outbox, db, "dm:1")
    await until(lambda: transport.in_flight == 1)
    await runners.crash(outbox)
    transport.hold_after = None
    clock.advance(timedelta(hours=2))  # back long after the row expired

    outbox = runners.start()
    await drain(outbox)
    row = await row_of(db, "dm:1")
    assert row.state == "sent" and row.message_id == transport.messages[0].id
    assert len(transport.messages) == 1


# -- crashes and the nonce window ------------------------------------------------------------


async def crash_mid_attempt(runners: Runners, db: Database, *, after_discord: bool) -> None:
    """Start a send and kill the runner while it waits: before Discord got the request, or
    after Discord created the message but before its answer came back (the ghost case)."""
    hold = asyncio.Event()
    if after_discord:
        runners.transport.hold_after = hold
    else:
        runners.transport.hold_before = hold
    outbox = runners.start()
    await enqueue(outbox, db, "dm:1")
    await until(lambda: runners.transport.in_flight == 1)
    assert runners.transport.attempts == ["dm:1"]
    await runners.crash(outbox)
    runners.transport.hold_after = runners.transport.hold_before = None
    assert (await row_of(db, "dm:1")).state == "sending"


async def test_a_crash_before_discord_got_the_request_sends_it_after_the_restart(
    db, clock, transport, runners
):
    await crash_mid_attempt(runners, db, after_discord=False)
    assert transport.messages == []
    outbox = runners.start()  # recovery: rows left `sending` are due now
    await drain(outbox)
    assert (await row_of(db, "dm:1")).state == "sent"
    assert len(transport.messages) == 1 and transport.reads == []


async def test_a_ghost_within_the_nonce_window_is_resent_with_its_nonce(
    db, clock, transport, runners
):
    await crash_mid_attempt(runners, db, after_discord=True)
    clock.advance(NONCE_WINDOW - timedelta(seconds=1))
    outbox = runners.start()
    await drain(outbox)

    row = await row_of(db, "dm:1")
    assert row.state == "sent" and row.message_id == transport.messages[0].id
    assert transport.attempts == ["dm:1", "dm:1"]  # resent, and Discord deduplicated it
    assert len(transport.messages) == 1 and transport.reads == []


async def test_a_ghost_past_the_nonce_window_is_found_by_reading_back_not_resent(
    db, clock, transport, runners
):
    await crash_mid_attempt(runners, db, after_discord=True)
    claimed_at = (await row_of(db, "dm:1")).claimed_at
    assert claimed_at is not None
    clock.advance(timedelta(minutes=12))  # Discord has forgotten the nonce by now
    outbox = runners.start()
    await drain(outbox)

    row = await row_of(db, "dm:1")
    assert row.state == "sent" and row.message_id == transport.messages[0].id
    assert transport.attempts == ["dm:1"]  # found, not sent again
    assert len(transport.messages) == 1
    ((key, since),) = transport.reads
    assert key == "dm:1" and since < claimed_at  # read from (a little before) the claim


async def test_past_the_nonce_window_a_message_not_found_is_sent_with_a_new_window(
    db, clock, transport, runners
):
    await crash_mid_attempt(runners, db, after_discord=False)
    clock.advance(timedelta(minutes=12))
    outbox = runners.start()
    await drain(outbox)

    row = await row_of(db, "dm:1")
    assert row.state == "sent" and len(transport.messages) == 1
    assert transport.attempts == ["dm:1", "dm:1"] and len(transport.reads) == 1
    assert row.claimed_at == clock.now()  # the window restarted with this send


async def test_a_read_back_that_cannot_reach_discord_does_not_send_blind(
    db, clock, transport, runners
):
    await crash_mid_attempt(runners, db, after_discord=True)
    clock.advance(timedelta(minutes=12))
    transport.read_answers = [Transient("Discord error 503")]
    outbox = runners.start()
    await drain(outbox)
    assert transport.attempts == ["dm:1"]  # no resend while the channel could not be read
    assert (await row_of(db, "dm:1")).state == "sending"

    await advance(outbox, clock, timedelta(minutes=11))
    assert (await row_of(db, "dm:1")).state == "sent"
    assert len(transport.messages) == 1 and transport.attempts == ["dm:1"]


async def test_a_hook_that_fails_leaves_the_row_to_retry_without_a_duplicate(
    db, clock, transport, runners
):
    calls: list[int | None] = []

    async def on_sent(tx: Transaction, row: OutboxRow, sent: Sent) -> None:
        calls.append(sent.message_id)
        if len(calls) == 1:
            raise RuntimeError("the domain row was locked")

    outbox = runners.start()
    outbox.register("test.dm", KindHooks(on_sent=on_sent))
    await enqueue(outbox, db, "dm:1")
    await drain(outbox)
    assert (await row_of(db, "dm:1")).state == "sending"
    await advance(outbox, clock, backoff(1))

    assert (await row_of(db, "dm:1")).state == "sent"
    assert len(transport.messages) == 1 and calls == [transport.messages[0].id] * 2


# -- several processes -----------------------------------------------------------------------


async def test_two_processes_racing_for_the_same_rows_claim_each_once(
    db, config, clock, transport, runners
):
    other_db = await Database.open(config)  # a second connection: another process
    first, second = runners.start(), runners.start(db=other_db)
    # Both are up (their start-up recovery is done) before the rows come: a second process
    # owning the same guilds at start-up is not a valid set-up, a race between claims is.
    await asyncio.gather(drain(first), drain(second))
    for n in range(40):
        await enqueue(first, db, f"dm:{n}", user_id=1000 + n)
        second.wake()
    try:
        for _ in range(2):
            await asyncio.gather(drain(first), drain(second))
    finally:
        await second.stop()
        await other_db.close()

    counts = transport.attempts_per_key()
    assert sorted(counts) == sorted(f"dm:{n}" for n in range(40))
    assert set(counts.values()) == {1}


async def test_a_claim_is_exclusive_until_its_lease_ends(db, clock):
    rows = OutboxRows(db)
    outbox = Outbox(db, clock)
    row_id = await enqueue(outbox, db, "dm:1")
    assert row_id is not None
    now = clock.now()
    assert [r.id for r in await rows.claim([row_id], "A", now, now + timedelta(minutes=5))] == [
        row_id
    ]
    assert await rows.claim([row_id], "B", now, now + timedelta(minutes=5)) == []
    later = now + timedelta(minutes=6)
    assert [r.id for r in await rows.claim([row_id], "B", later, later + timedelta(minutes=5))]


async def test_a_claim_that_lost_its_lease_cannot_finish_the_row(db, clock):
    rows = OutboxRows(db)
    row_id = await enqueue(Outbox(db, clock), db, "dm:1")
    assert row_id is not None
    now = clock.now()
    (row,) = await rows.claim([row_id], "A", now, now + timedelta(minutes=5))
    a = row.lease_holder
    assert a is not None and a.startswith("A") and row.state == "sending"  # its first attempt
    later = now + timedelta(minutes=6)  # A stalled past its lease; B took the row over
    (taken,) = await rows.claim([row_id], "B", later, later + timedelta(minutes=5))
    b = taken.lease_holder
    assert b is not None and b.startswith("B")

    async with db.transaction() as tx:
        assert not await rows.finish(tx, row_id, a, "failed", later, error="stale")
    assert not await rows.retry(row_id, a, later, "stale")
    assert not await rows.mark_sending(row, a, later)
    async with db.transaction() as tx:
        assert await rows.finish(tx, row_id, b, "sent", later, message_id=5)
    done = await row_of(db, "dm:1")
    assert done.state == "sent" and done.message_id == 5 and done.last_error is None


async def test_only_rows_of_owned_guilds_are_sent_or_recovered(db, clock, transport, runners):
    outbox = runners.start(scope=GuildScope.only({GUILD}))
    await enqueue(outbox, db, "mine", guild_id=GUILD)
    await enqueue(outbox, db, "theirs", guild_id=OTHER_GUILD)
    rows = OutboxRows(db)
    theirs = await row_of(db, "theirs")
    now = clock.now()
    await rows.claim([theirs.id], "other-process", now, now + timedelta(minutes=5))
    await drain(outbox)
    await outbox.recover()
    await advance(outbox, clock, timedelta(minutes=1))

    assert transport.attempts == ["mine"]
    held = await db.fetchval("SELECT lease_holder FROM outbox WHERE id = ?", (theirs.id,))
    assert held.startswith("other-process")  # another process's guild: not ours to break


# -- send_now and housekeeping ---------------------------------------------------------------


async def test_send_now_returns_the_finished_row(db, clock, transport):
    outbox = Outbox(db, clock)  # the loop is not even running
    outbox.attach(transport)
    row_id = await enqueue(outbox, db, "post:1", channel_id=CHANNEL, kind="test.post")
    assert row_id is not None
    (row,) = await outbox.send_now([row_id])
    assert row.state == "sent" and row.message_id == transport.messages[0].id


async def test_send_now_waits_for_an_attempt_in_flight_instead_of_sending_twice(
    db, clock, transport, runners
):
    transport.hold_after = asyncio.Event()
    outbox = runners.start()
    row_id = await enqueue(outbox, db, "post:1", channel_id=CHANNEL, kind="test.post")
    assert row_id is not None
    await until(lambda: transport.in_flight == 1)
    waiting = asyncio.ensure_future(outbox.send_now([row_id]))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    transport.hold_after.set()
    (row,) = await waiting
    assert row.state == "sent" and transport.attempts == ["post:1"]


async def test_finished_rows_are_purged_after_the_retention_period(db, clock, transport, runners):
    outbox = runners.start()
    await enqueue(outbox, db, "dm:old")
    await drain(outbox)
    await runners.crash(outbox)
    clock.advance(RETENTION + timedelta(days=1))
    outbox = runners.start()
    await enqueue(outbox, db, "dm:new", user_id=501)
    await drain(outbox)
    keys = [r["dedupe_key"] for r in await db.fetchall("SELECT dedupe_key FROM outbox")]
    assert keys == ["dm:new"]
