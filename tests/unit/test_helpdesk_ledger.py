"""The help ledger service through a real (temporary) database, scheduler and a fake clock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from bot.errors import UserError
from bot.helpdesk.lifecycle import ask_job_key
from bot.helpdesk.models import MessageKind, Outgoing
from bot.outbox import OutboxRow, Outcome, Refused, Sent, Transient, nonce_for
from bot.services import Services
from bot.timeutil import to_db
from tests.support.clock import FakeClock
from tests.support.db import START, open_test_services
from tests.support.outbox import drain

G, OTHER_G = 100, 200
ASKER, ADMIN, STRANGER = 1, 2, 3
CHANNEL = 555


@dataclass(frozen=True)
class Seen:
    """A ledger message as Discord received it: what it says, its nonce and outbox row id."""

    message: Outgoing
    nonce: str
    message_id: int

    def __getattr__(self, name: str):
        return getattr(self.message, name)


class FakeMessenger:
    """Plays Discord for the outbox: records what the ledger sends; can refuse or fail chosen
    recipients."""

    def __init__(self) -> None:
        self.sent: list[Seen] = []
        self.refuse: set[int] = set()
        self.fail_times = 0

    async def deliver(self, row: OutboxRow) -> Outcome:
        message = Outgoing.from_payload(row.payload)
        if message.recipient_user_id in self.refuse:
            return Refused("Cannot send messages to this user")
        if self.fail_times:
            self.fail_times -= 1
            return Transient("Discord is having a moment")
        self.sent.append(Seen(message, row.nonce, row.id))
        return Sent(10_000 + row.id)

    async def find_delivered(self, row: OutboxRow, since: datetime) -> Outcome | None:
        return None

    def of(self, kind: MessageKind) -> list[Seen]:
        return [m for m in self.sent if m.kind == kind]

    def dms_to(self, user_id: int, kind: MessageKind = MessageKind.ROUTE) -> list[Seen]:
        return [m for m in self.of(kind) if m.recipient_user_id == user_id]


async def open_ledger(path, clock: FakeClock | None = None) -> tuple[Services, FakeMessenger]:
    services = await open_test_services(path, clock)
    for guild in (G, OTHER_G):
        await services.guilds.joined(guild)
    messenger = FakeMessenger()
    services.outbox.attach(messenger)
    return services, messenger


async def close(services: Services) -> None:
    await services.scheduler.stop()
    await services.outbox.stop()
    await services.db.close()


@pytest.fixture
async def world(fresh_database):
    database = await fresh_database()
    services, messenger = await open_ledger(database)
    yield services, messenger
    await close(services)


async def settle(services: Services) -> None:
    """Let the scheduler loop and its job tasks run to quiescence, and the outbox send."""
    for _ in range(30):
        await asyncio.sleep(0)
    await asyncio.sleep(0.02)
    await services.scheduler.idle()
    await drain(services.outbox)


async def offer(services: Services, *users: int, topic: str = "pbl") -> None:
    for user in users:
        await services.helpdesk.offers.offer(G, user, topic, None)


# ---------------------------------------------------------------------------- routing


async def test_a_differently_spelled_ask_reaches_the_offerer_but_never_the_asker(world):
    services, messenger = world
    await services.helpdesk.offers.offer(G, 50, "PBL ", "I run PBL units")
    await services.helpdesk.offers.offer(G, ASKER, "pbl", None)
    created = await services.helpdesk.asks.ask(G, ASKER, "  pbl", "How do I grade a group project?")
    assert created.ask.topic == "pbl" and created.ask.ref.startswith("A")
    assert [m.recipient_user_id for m in messenger.of(MessageKind.ROUTE)] == [50]
    assert created.helpers_notified == 1
    assert await services.helpdesk.asks.suggest_topics(G, "P") == ["pbl"]


async def test_an_ask_reaches_at_most_five_helpers_preferring_those_not_dmd_recently(world):
    services, messenger = world
    await offer(services, *range(10, 17))  # seven offerers
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "first")
    first = {m.recipient_user_id for m in messenger.sent}
    assert first == {10, 11, 12, 13, 14}
    services.clock.advance(timedelta(minutes=5))
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "second")
    second = sorted(m.recipient_user_id for m in messenger.sent[5:])
    # The two never DM'd first, then three of those DM'd longest ago (ties by id). The five DMs
    # go out concurrently, so the order they arrive in is not the order they were chosen in.
    assert second == [10, 11, 12, 15, 16]


async def test_a_helper_gets_at_most_three_ask_dms_in_any_24_hours(world):
    services, messenger = world
    await offer(services, 10)
    for i in range(4):
        await services.helpdesk.asks.ask(G, ASKER, "pbl", f"ask {i}")
        services.clock.advance(timedelta(hours=1))
    assert len(messenger.dms_to(10)) == 3
    services.clock.advance(timedelta(hours=20))  # 24 h after the first DM: one slot frees up
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "later")
    assert len(messenger.dms_to(10)) == 4
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "one more")
    assert len(messenger.dms_to(10)) == 4


async def test_routing_caps_count_dms_of_this_guild_only(world):
    services, messenger = world
    for _ in range(3):
        await services.helpdesk.offers.offer(OTHER_G, 10, "pbl", None)
        await services.helpdesk.asks.ask(OTHER_G, ASKER, "pbl", "elsewhere")
    await offer(services, 10)
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "here")
    assert len(messenger.dms_to(10)) == 4


async def test_the_ask_is_posted_once_to_the_help_channel_with_a_deterministic_nonce(world):
    services, messenger = world
    await services.helpdesk.set_channel(G, CHANNEL)
    created = await services.helpdesk.asks.ask(G, ASKER, "pbl", "details")
    posts = messenger.of(MessageKind.POST)
    assert [(p.channel_id, p.ask.ref) for p in posts] == [(CHANNEL, created.ask.ref)]
    key = f"helpdesk.post:{created.ask.ask_id}"
    assert posts[0].nonce == nonce_for(key) and len(posts[0].nonce) <= 25
    await services.outbox.send_now([posts[0].message_id])  # a second attempt sends nothing
    assert len(messenger.of(MessageKind.POST)) == 1


async def test_a_send_interrupted_by_a_crash_is_resent_with_the_same_nonce_after_restart(
    fresh_database,
):
    database = await fresh_database()
    clock = FakeClock(START)
    services, messenger = await open_ledger(database, clock)
    await offer(services, 10)
    services.outbox.attach(None)  # the crash: recorded, never sent
    created = await services.helpdesk.asks.ask(G, ASKER, "pbl", "details")
    await services.db.execute(
        "UPDATE outbox SET state = 'sending', attempts = 1, claimed_at = ?", (to_db(START),)
    )
    await services.db.close()

    again, messenger = await open_ledger(database, clock)
    again.outbox.start()
    again.scheduler.start()
    clock.advance(timedelta(minutes=5))
    await settle(again)
    sent = messenger.dms_to(10)
    assert len(sent) == 1 and sent[0].ask.ask_id == created.ask.ask_id
    assert sent[0].nonce == nonce_for(f"helpdesk.route:{created.ask.ask_id}:10")
    await again.outbox.recover()
    clock.advance(timedelta(minutes=5))
    await settle(again)
    assert len(messenger.dms_to(10)) == 1
    await close(again)


async def test_a_refused_dm_is_not_retried_and_a_failing_one_is(world):
    services, messenger = world
    await offer(services, 10, 11)
    messenger.refuse.add(10)
    messenger.fail_times = 1  # 11's first attempt fails
    created = await services.helpdesk.asks.ask(G, ASKER, "pbl", "details")
    assert messenger.dms_to(11) == []
    retry = await services.outbox.by_key(f"helpdesk.route:{created.ask.ask_id}:11")
    assert retry is not None
    retry_at = retry.next_attempt_at
    assert retry_at is not None and retry_at - services.clock.now() <= timedelta(minutes=5)
    services.scheduler.start()
    services.outbox.start()
    services.clock.advance(timedelta(minutes=5))
    await settle(services)
    assert len(messenger.dms_to(11)) == 1 and messenger.dms_to(10) == []
    # Once sent, the job falls back to the ask's lifecycle: the bump two days out.
    assert await services.scheduler.due_at(ask_job_key(created.ask.ask_id)) == START + timedelta(
        hours=48
    )


# ---------------------------------------------------------------------------- "I can help"


async def test_i_can_help_tells_the_asker_once_per_helper(world):
    services, messenger = world
    created = await services.helpdesk.asks.ask(G, ASKER, "pbl", "details")
    number = created.ask.number
    first = await services.helpdesk.helping.offer_help(G, number, 20)
    again = await services.helpdesk.helping.offer_help(G, number, 20)
    await services.helpdesk.helping.offer_help(G, number, 21)
    assert first.first_time and not again.first_time
    told = messenger.dms_to(ASKER, MessageKind.HELP)
    assert [m.helper_user_id for m in told] == [20, 21]
    with pytest.raises(UserError, match="your own ask"):
        await services.helpdesk.helping.offer_help(G, number, ASKER)


# ---------------------------------------------------------------------------- closing


async def test_only_the_owner_or_an_admin_can_resolve_or_withdraw(world):
    services, _ = world
    a1 = (await services.helpdesk.asks.ask(G, ASKER, "pbl", "one")).ask.ref
    a2 = (await services.helpdesk.asks.ask(G, ASKER, "pbl", "two")).ask.ref
    o3 = (await services.helpdesk.offers.offer(G, ASKER, "math", "I teach it")).offer.ref
    for call in (
        services.helpdesk.closing.resolve(G, STRANGER, False, a1),
        services.helpdesk.closing.withdraw(G, STRANGER, False, a1),
        services.helpdesk.closing.withdraw(G, STRANGER, False, o3),
    ):
        with pytest.raises(UserError, match="Only the member who posted"):
            await call
    closed = await services.helpdesk.closing.resolve(G, ASKER, False, a1.lower())
    assert closed.status == "resolved"
    assert (await services.helpdesk.closing.withdraw(G, ADMIN, True, a2)).status == "withdrawn"
    assert (await services.helpdesk.closing.withdraw(G, ASKER, False, o3)).status == "withdrawn"
    with pytest.raises(UserError, match="already resolved"):
        await services.helpdesk.closing.resolve(G, ASKER, False, a1)
    board = await services.helpdesk.board.page(G)
    assert board.total == 0


async def test_ids_are_per_guild_and_a_foreign_or_unknown_id_is_not_found(world):
    services, _ = world
    here = (await services.helpdesk.asks.ask(G, ASKER, "pbl", "here")).ask
    there = (await services.helpdesk.asks.ask(OTHER_G, ASKER, "pbl", "there")).ask
    assert here.ref == there.ref == "A1"  # each guild counts from 1
    await services.helpdesk.closing.withdraw(OTHER_G, ASKER, False, "A1")
    assert (await services.helpdesk.board.page(G)).total == 1  # the other guild's A1 was untouched
    for bad in ("A99", "O1", "12"):
        with pytest.raises(UserError, match=r"no ask or offer|does not exist"):
            await services.helpdesk.closing.withdraw(G, ASKER, False, bad)
    with pytest.raises(UserError, match="not a request id"):
        await services.helpdesk.closing.withdraw(G, ASKER, False, "hello")


async def test_resolving_with_a_helper_sends_a_private_thank_you_with_the_note(world):
    services, messenger = world
    ref = (await services.helpdesk.asks.ask(G, ASKER, "pbl", "details")).ask.ref
    with pytest.raises(UserError, match="choose the `helper`"):
        await services.helpdesk.closing.resolve(G, ASKER, False, ref, None, "thanks!")
    with pytest.raises(UserError, match="someone other than"):
        await services.helpdesk.closing.resolve(G, ASKER, False, ref, ASKER, "thanks!")
    closed = await services.helpdesk.closing.resolve(
        G, ASKER, False, ref, 20, "Your rubric saved me"
    )
    assert closed.thanked_user_id == 20
    thanks = messenger.dms_to(20, MessageKind.THANKS)
    assert [(t.note, t.closer_user_id) for t in thanks] == [("Your rubric saved me", ASKER)]


async def test_an_offer_is_one_per_member_and_topic_and_repeating_updates_it(world):
    services, _ = world
    first = await services.helpdesk.offers.offer(G, 20, "PBL", "rubrics")
    again = await services.helpdesk.offers.offer(G, 20, " pbl ", "rubrics and exhibitions")
    kept = await services.helpdesk.offers.offer(G, 20, "pbl", None)
    assert not first.updated and again.updated and again.offer.ref == first.offer.ref
    assert kept.offer.details == "rubrics and exhibitions"
    assert (await services.helpdesk.board.page(G)).total == 1


async def test_bad_input_gets_a_message_that_says_how_to_fix_it(world):
    services, _ = world
    with pytest.raises(UserError, match="Give a topic"):
        await services.helpdesk.asks.ask(G, ASKER, "   ", "details")
    with pytest.raises(UserError, match="at most 1,500 characters; yours has 5,000"):
        await services.helpdesk.asks.ask(G, ASKER, "pbl", "x" * 5000)
    with pytest.raises(UserError, match="Add details"):
        await services.helpdesk.asks.ask(G, ASKER, "pbl", "   ")
    assert (await services.helpdesk.board.page(G)).total == 0


async def test_a_departed_members_asks_and_offers_are_withdrawn(world):
    services, _ = world
    created = await services.helpdesk.asks.ask(G, ASKER, "pbl", "details")
    await services.helpdesk.offers.offer(G, ASKER, "math", None)
    await services.helpdesk.asks.ask(G, STRANGER, "pbl", "stays")
    await services.helpdesk.member_left(G, ASKER)
    board = await services.helpdesk.board.page(G)
    assert [e.user_id for e in board.entries] == [STRANGER]
    assert await services.scheduler.due_at(ask_job_key(created.ask.ask_id)) is None


# ---------------------------------------------------------------------------- lifecycle


async def test_an_unanswered_ask_is_bumped_once_after_48_hours(world):
    services, messenger = world
    await services.helpdesk.set_channel(G, CHANNEL)
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "details")
    services.scheduler.start()
    services.outbox.start()
    services.clock.advance(timedelta(hours=47, minutes=59))
    await settle(services)
    assert messenger.of(MessageKind.BUMP) == []
    services.clock.advance(timedelta(minutes=1))
    await settle(services)
    assert [b.channel_id for b in messenger.of(MessageKind.BUMP)] == [CHANNEL]
    services.clock.advance(timedelta(days=5))
    await settle(services)
    assert len(messenger.of(MessageKind.BUMP)) == 1


async def test_an_ask_someone_offered_to_help_with_is_not_bumped(world):
    services, messenger = world
    await services.helpdesk.set_channel(G, CHANNEL)
    created = await services.helpdesk.asks.ask(G, ASKER, "pbl", "details")
    await services.helpdesk.helping.offer_help(G, created.ask.number, 20)
    services.scheduler.start()
    services.outbox.start()
    services.clock.advance(timedelta(days=3))
    await settle(services)
    assert messenger.of(MessageKind.BUMP) == []


async def test_after_14_days_the_owner_is_asked_and_7_days_later_it_closes_as_stale(world):
    services, messenger = world
    created = await services.helpdesk.asks.ask(G, ASKER, "pbl", "details")
    services.scheduler.start()
    services.outbox.start()
    services.clock.advance(timedelta(days=14) - timedelta(seconds=1))
    await settle(services)
    assert messenger.of(MessageKind.REVIEW) == []
    services.clock.advance(timedelta(seconds=1))
    await settle(services)
    assert [r.recipient_user_id for r in messenger.of(MessageKind.REVIEW)] == [ASKER]
    services.clock.advance(timedelta(days=7) - timedelta(seconds=1))
    await settle(services)
    assert (await services.helpdesk.board.page(G)).total == 1
    services.clock.advance(timedelta(seconds=1))
    await settle(services)
    assert (await services.helpdesk.board.page(G)).total == 0
    report = await services.helpdesk.board.report(G)
    assert report.topics[0].asks["stale"] == 1
    assert await services.scheduler.due_at(ask_job_key(created.ask.ask_id)) is None


async def test_keep_open_restarts_the_14_day_clock_and_prevents_the_stale_close(world):
    services, messenger = world
    created = await services.helpdesk.asks.ask(G, ASKER, "pbl", "details")
    services.scheduler.start()
    services.outbox.start()
    services.clock.advance(timedelta(days=14))
    await settle(services)
    services.clock.advance(timedelta(days=2))
    with pytest.raises(UserError, match="Only the member who asked"):
        await services.helpdesk.closing.review_answer(
            G, created.ask.number, STRANGER, keep_open=True
        )
    await services.helpdesk.closing.review_answer(G, created.ask.number, ASKER, keep_open=True)
    services.clock.advance(timedelta(days=12))
    await settle(services)
    assert (await services.helpdesk.board.page(G)).total == 1  # past day 21: not stale
    assert len(messenger.of(MessageKind.REVIEW)) == 1
    services.clock.advance(timedelta(days=2))  # 14 days after "Keep open"
    await settle(services)
    assert len(messenger.of(MessageKind.REVIEW)) == 2


async def test_close_from_the_review_resolves_the_ask_and_ends_its_job(world):
    services, _ = world
    created = await services.helpdesk.asks.ask(G, ASKER, "pbl", "details")
    closed = await services.helpdesk.closing.review_answer(
        G, created.ask.number, ASKER, keep_open=False
    )
    assert closed is not None and closed.status == "resolved"
    assert await services.scheduler.due_at(ask_job_key(created.ask.ask_id)) is None
    with pytest.raises(UserError, match="already resolved"):
        await services.helpdesk.closing.review_answer(G, created.ask.number, ASKER, keep_open=True)


async def test_after_long_downtime_the_review_replaces_the_late_bump_and_runs_once(fresh_database):
    database = await fresh_database()
    clock = FakeClock(START)
    services, _ = await open_ledger(database, clock)
    await services.helpdesk.set_channel(G, CHANNEL)
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "details")
    await close(services)
    clock.advance(timedelta(days=15))  # down through the bump and the review
    for _ in range(2):  # start twice: the second start must not repeat anything
        again, messenger = await open_ledger(database, clock)
        again.scheduler.start()
        again.outbox.start()
        await settle(again)
        await again.scheduler.idle()
        await close(again)
        sent = [m.kind for m in messenger.sent]
        assert sent == ([MessageKind.REVIEW] if _ == 0 else [])


# ---------------------------------------------------------------------------- reading


async def test_the_board_lists_open_asks_and_offers_newest_first_in_pages(world):
    services, _ = world
    for i in range(10):
        await services.helpdesk.asks.ask(G, ASKER, "pbl" if i % 2 else "math", f"ask {i}")
        services.clock.advance(timedelta(minutes=1))
    await services.helpdesk.offers.offer(G, 20, "math", "I can help with math")
    first = await services.helpdesk.board.page(G)
    assert first.total == 11 and first.pages == 2
    assert [e.ref for e in first.entries[:3]] == ["O11", "A10", "A9"]
    last = await services.helpdesk.board.page(G, page=5)
    assert last.page == 1 and [e.ref for e in last.entries] == ["A3", "A2", "A1"]
    math = await services.helpdesk.board.page(G, "MATH ")
    assert {e.topic for e in math.entries} == {"math"} and math.total == 6
    with pytest.raises(UserError, match="Try `math`"):
        await services.helpdesk.board.page(G, "maths")


async def test_the_report_counts_by_topic_and_status_and_names_unmet_topics(world):
    services, _ = world
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "one")
    a2 = (await services.helpdesk.asks.ask(G, ASKER, "pbl", "two")).ask.ref
    await services.helpdesk.closing.resolve(G, ASKER, False, a2)
    await services.helpdesk.asks.ask(G, ASKER, "math", "three")
    await services.helpdesk.offers.offer(G, 20, "math", None)
    await services.helpdesk.offers.offer(G, 21, "art", None)
    report = await services.helpdesk.board.report(G)
    by_topic = {t.topic: t for t in report.topics}
    assert by_topic["pbl"].asks == {"open": 1, "resolved": 1, "withdrawn": 0, "stale": 0}
    assert by_topic["art"].offers == {"open": 1, "withdrawn": 0}
    assert report.asks_without_offers == ("pbl",)


async def test_open_topics_feed_the_pairing_engine(world):
    services, _ = world
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "one")
    await services.helpdesk.asks.ask(G, ASKER, "math", "two")
    await services.helpdesk.offers.offer(G, 20, "pbl", None)
    withdrawn = (await services.helpdesk.offers.offer(G, 21, "art", None)).offer.ref
    await services.helpdesk.closing.withdraw(G, 21, False, withdrawn)
    asks, offers = await services.helpdesk.board.open_topics(G)
    assert asks == {ASKER: frozenset({"pbl", "math"})}
    assert offers == {20: frozenset({"pbl"})}
