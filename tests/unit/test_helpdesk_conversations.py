"""Helper threads, anonymous asks, closed posts, what helped, search and request autocomplete:
the ledger's core on a real database (SQLite and PostgreSQL), the outbox played by a recorder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from bot.errors import UserError
from bot.helpdesk import board
from bot.helpdesk.models import MessageKind, Outgoing
from bot.helpdesk.search import match_query, search_words
from bot.helpdesk.topics import shown_topics
from bot.outbox import Failed, OutboxRow, Outcome, Refused, Sent
from bot.pairing.engine import match
from bot.pairing.match_types import MatchInput
from bot.services import Services
from tests.support.db import DatabaseFactory, open_test_services, settle
from tests.unit.test_export import read as read_export

pytestmark = pytest.mark.backends("sqlite", "postgres")

G, OTHER_G = 100, 200
ASKER, HELPER, OTHER, ADMIN = 1, 2, 3, 4
CHANNEL = 555


@dataclass
class Seen:
    """One outbox row as Discord got it."""

    row: OutboxRow
    message: Outgoing

    @property
    def kind(self) -> MessageKind:
        return self.message.kind


@dataclass
class Recorder:
    """Plays Discord: records every row; threads get ids; chosen DMs are refused and chosen
    kinds fail; `before` runs just before a kind is "sent" (to race a command against it)."""

    seen: list[Seen] = field(default_factory=list)
    refuse: set[int] = field(default_factory=set)
    fail: set[MessageKind] = field(default_factory=set)
    before: dict[MessageKind, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    _ids: int = 50_000

    async def deliver(self, row: OutboxRow) -> Outcome:
        message = Outgoing.from_payload(row.payload)
        if message.kind in self.before:
            await self.before.pop(message.kind)()
        if row.recipient_user_id in self.refuse:
            return Refused("Cannot send messages to this user")
        if message.kind in self.fail:
            return Failed("missing permission in <#555>", 50013)
        self.seen.append(Seen(row, message))
        self._ids += 1
        if message.kind in (MessageKind.THREAD, MessageKind.SOLO):
            return Sent(self._ids, 90_000 + row.id, 90_000 + row.id)
        return Sent(self._ids, row.channel_id)

    async def find_delivered(self, row: OutboxRow, since: datetime) -> Outcome | None:
        return None

    def of(self, kind: MessageKind) -> list[Seen]:
        return [s for s in self.seen if s.kind == kind]


@pytest.fixture
async def ledger(fresh_database: DatabaseFactory) -> AsyncIterator[tuple[Services, Recorder]]:
    services = await open_test_services(await fresh_database())
    for guild in (G, OTHER_G):
        await services.guilds.joined(guild)
    await services.helpdesk.set_channel(G, CHANNEL)
    recorder = Recorder()
    services.outbox.attach(recorder)
    services.outbox.start()  # follow-ups decided in hooks (DMs, edits) go out on their own
    yield services, recorder
    await services.scheduler.stop()
    await services.outbox.stop()
    await services.db.close()


async def sent(services: Services) -> None:
    """Let due jobs run and the outbox send everything due (edits, follow-ups)."""
    await settle(services.scheduler, outbox=services.outbox)


async def helper_rows(services: Services, ask_id: int) -> list[dict]:
    rows = await services.db.fetchall(
        "SELECT helper_user_id, thread_no, thread_state, thread_id, thread_problem "
        "FROM helpdesk_helpers WHERE ask_id = ? ORDER BY helper_user_id",
        (ask_id,),
    )
    return [dict(zip(r.keys(), tuple(r), strict=True)) for r in rows]


# ---------------------------------------------------------------------------- helper threads


async def test_i_can_help_opens_one_private_thread_per_helper_with_unique_names(ledger):
    services, recorder = ledger
    ask = (await services.helpdesk.asks.ask(G, ASKER, "pbl", "Rubrics?")).ask
    presses = [HELPER, HELPER, OTHER, HELPER, OTHER]
    offered = await asyncio.gather(
        *(services.helpdesk.helping.offer_help(G, ask.number, who) for who in presses)
    )
    assert sum(o.first_time for o in offered) == 2
    threads = recorder.of(MessageKind.THREAD)
    assert sorted(t.message.helper_user_id or 0 for t in threads) == [HELPER, OTHER]
    assert len({t.message.thread_name for t in threads}) == 2
    assert all(t.row.channel_id == CHANNEL for t in threads)
    rows = await helper_rows(services, ask.ask_id)
    assert [r["thread_state"] for r in rows] == ["open", "open"]
    again = await services.helpdesk.helping.offer_help(G, ask.number, HELPER)
    assert not again.first_time and again.thread_id == rows[0]["thread_id"]
    # The asker hears of it in the thread; no "can help" DM besides.
    assert recorder.of(MessageKind.HELP) == []


async def test_thread_numbers_run_per_guild(ledger):
    services, recorder = ledger
    await services.helpdesk.set_channel(OTHER_G, CHANNEL + 1)
    here = (await services.helpdesk.asks.ask(G, ASKER, "pbl", "one")).ask
    there = (await services.helpdesk.asks.ask(OTHER_G, ASKER, "pbl", "two")).ask
    await services.helpdesk.helping.offer_help(G, here.number, HELPER)
    await services.helpdesk.helping.offer_help(OTHER_G, there.number, HELPER)
    await services.helpdesk.helping.offer_help(G, here.number, OTHER)
    names = [t.message.thread_name for t in recorder.of(MessageKind.THREAD)]
    assert names == ["Help A1 · 1", "Help A1 · 1", "Help A1 · 2"]
    assert [t.row.guild_id for t in recorder.of(MessageKind.THREAD)] == [G, OTHER_G, G]


async def test_a_refused_thread_tells_both_who_to_contact_and_shows_for_admins(ledger):
    services, recorder = ledger
    recorder.fail.add(MessageKind.THREAD)
    ask = (await services.helpdesk.asks.ask(G, ASKER, "pbl", "Rubrics?")).ask
    offered = await services.helpdesk.helping.offer_help(G, ask.number, HELPER)
    await sent(services)
    assert offered.thread_state == "failed"
    contacts = recorder.of(MessageKind.CONTACT)
    assert sorted(c.row.recipient_user_id or 0 for c in contacts) == [ASKER, HELPER]
    status = await services.helpdesk.status(G, None)
    assert any("A1" in p and "missing permission" in p for p in status.problems)


async def test_without_a_help_channel_the_asker_is_told_by_dm(ledger):
    services, recorder = ledger
    await services.helpdesk.set_channel(G, None)
    ask = (await services.helpdesk.asks.ask(G, ASKER, "pbl", "Rubrics?")).ask
    offered = await services.helpdesk.helping.offer_help(G, ask.number, HELPER)
    assert offered.thread_state == "none" and recorder.of(MessageKind.THREAD) == []
    assert [h.row.recipient_user_id for h in recorder.of(MessageKind.HELP)] == [ASKER]


# ---------------------------------------------------------------------------- anonymous asks


async def test_an_anonymous_ask_asks_its_asker_before_any_thread(ledger):
    services, recorder = ledger
    await services.helpdesk.offers.offer(G, HELPER, "pbl", None)
    ask = (await services.helpdesk.asks.ask(G, ASKER, "pbl", "Shy question", True)).ask
    assert ask.anonymous
    board = await services.helpdesk.board.page(G)
    assert [(e.ref, e.user_id) for e in board.entries] == [("A2", None), ("O1", HELPER)]
    assert all(s.message.ask.anonymous for s in recorder.of(MessageKind.ROUTE))

    offered = await services.helpdesk.helping.offer_help(G, ask.number, HELPER)
    assert offered.thread_state == "waiting" and recorder.of(MessageKind.THREAD) == []
    [consent] = recorder.of(MessageKind.CONSENT)
    assert consent.row.recipient_user_id == ASKER and consent.message.helper_user_id == HELPER

    with pytest.raises(UserError, match="Only the member who asked"):
        await services.helpdesk.helping.decide(G, ask.number, HELPER, OTHER, open_thread=True)
    declined = await services.helpdesk.helping.decide(
        G, ask.number, HELPER, ASKER, open_thread=False
    )
    assert declined.thread_state == "declined" and recorder.of(MessageKind.THREAD) == []
    # Changing one's mind still works, and pressing Open twice opens one thread.
    for _ in range(2):
        await services.helpdesk.helping.decide(G, ask.number, HELPER, ASKER, open_thread=True)
    [thread] = recorder.of(MessageKind.THREAD)
    assert thread.message.ask.anonymous and thread.row.channel_id == CHANNEL
    [row] = await helper_rows(services, ask.ask_id)
    assert row["thread_state"] == "open" and row["thread_id"] is not None


async def test_an_anonymous_asker_with_closed_dms_decides_in_a_thread_of_their_own(ledger):
    services, recorder = ledger
    recorder.refuse.add(ASKER)
    ask = (await services.helpdesk.asks.ask(G, ASKER, "pbl", "Shy question", True)).ask
    await services.helpdesk.helping.offer_help(G, ask.number, HELPER)
    await sent(services)
    [solo] = recorder.of(MessageKind.SOLO)
    assert solo.row.channel_id == CHANNEL
    [row] = await helper_rows(services, ask.ask_id)
    assert row["thread_state"] == "waiting" and row["thread_id"] is not None

    await services.helpdesk.helping.decide(G, ask.number, HELPER, ASKER, open_thread=True)
    await sent(services)
    join, intro = recorder.of(MessageKind.JOIN), recorder.of(MessageKind.INTRO)
    assert [j.row.channel_id for j in join] == [row["thread_id"]]
    assert [i.row.channel_id for i in intro] == [row["thread_id"]]
    assert recorder.of(MessageKind.THREAD) == []


async def test_an_anonymous_ask_still_pairs_with_an_offerer_but_no_intro_says_why(ledger):
    services, _ = ledger
    await services.helpdesk.offers.offer(G, HELPER, "pbl", None)
    await services.helpdesk.offers.offer(G, ADMIN, "math", None)
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "Shy question", True)
    await services.helpdesk.asks.ask(G, OTHER, "math", "Open question")
    asks, offers = await services.helpdesk.board.open_topics(G)
    result = match(MatchInput(members=[ASKER, HELPER, OTHER, ADMIN], asks=asks, offers=offers))
    # The engine sees a topic the two share (its preference works on it) ...
    assert asks[ASKER] & offers[HELPER] and not asks[ASKER] & offers[ADMIN]
    raw = {g.members: g.shared_topics for g in result.groups}
    assert raw[(ASKER, HELPER)] and raw[(OTHER, ADMIN)] == ("math",)
    # ... that no intro names: "one of you asked about pbl" would say who asked.
    groups = {g.members: shown_topics(g.shared_topics) for g in result.groups}
    assert groups == {(ASKER, HELPER): (), (OTHER, ADMIN): ("math",)}
    assert "pbl" not in asks[ASKER]  # only under its private name


# ---------------------------------------------------------------------------- closing


async def test_closing_edits_the_post_and_the_bump_with_the_state_and_what_helped(ledger):
    services, recorder = ledger
    services.scheduler.start()
    ask = (await services.helpdesk.asks.ask(G, ASKER, "pbl", "Rubrics?")).ask
    services.clock.advance(timedelta(hours=48))
    await sent(services)
    [post], [bump] = recorder.of(MessageKind.POST), recorder.of(MessageKind.BUMP)
    await services.helpdesk.closing.resolve(
        G, ASKER, False, "A1", HELPER, "Thanks!", "A single-point rubric", True
    )
    await sent(services)
    [edit] = recorder.of(MessageKind.CLOSED)
    [bump_edit] = recorder.of(MessageKind.CLOSED_BUMP)
    assert edit.row.edit_message_id is not None and edit.row.channel_id == CHANNEL
    assert bump_edit.row.edit_message_id not in (None, edit.row.edit_message_id)
    closed = edit.message.ask
    assert closed.status == "resolved" and closed.closed_at == services.clock.now()
    assert closed.shared_summary == "A single-point rubric"
    assert post.message.ask.ask_id == bump.message.ask.ask_id == ask.ask_id
    with pytest.raises(UserError, match="already resolved"):
        await services.helpdesk.helping.offer_help(G, ask.number, HELPER)


async def test_a_post_that_lands_after_the_ask_closed_is_edited_at_once(ledger):
    services, recorder = ledger

    async def withdraw_first() -> None:
        await services.helpdesk.closing.withdraw(G, ASKER, False, "A1")

    recorder.before[MessageKind.POST] = withdraw_first
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "Rubrics?")
    await sent(services)
    assert len(recorder.of(MessageKind.POST)) == 1
    [edit] = recorder.of(MessageKind.CLOSED)
    assert edit.message.ask.status == "withdrawn"


async def test_stale_and_departed_members_asks_are_edited_too(ledger):
    services, recorder = ledger
    services.scheduler.start()
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "Anyone?")
    await services.helpdesk.asks.ask(G, OTHER, "math", "Anyone?")
    await sent(services)
    await services.helpdesk.member_left(G, OTHER)
    await sent(services)
    for _ in range(3):  # the bump, the review, the stale close
        services.clock.advance(timedelta(days=8))
        await sent(services)
    edits = {e.message.ask.ref: e.message.ask.status for e in recorder.of(MessageKind.CLOSED)}
    assert edits == {"A1": "stale", "A2": "withdrawn"}


async def test_a_summary_needs_text_and_is_private_unless_shared(ledger):
    services, _ = ledger
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "Rubrics?")
    with pytest.raises(UserError, match="add a `summary`"):
        await services.helpdesk.closing.resolve(G, ASKER, False, "A1", share=True)
    with pytest.raises(UserError, match="at most 1,000"):
        await services.helpdesk.closing.resolve(G, ASKER, False, "A1", summary="x" * 1001)
    closed = await services.helpdesk.closing.resolve(G, ASKER, False, "A1", summary="Peers")
    assert closed.summary_kept and not closed.summary_shared
    data = await services.member_data.collect(G, ASKER)
    [ask] = next(r.rows for r in data.records if r.table == "helpdesk_asks")
    assert ask["summary"] == "Peers" and ask["summary_shared"] == 0


# ---------------------------------------------------------------------------- search


def test_search_words_fold_case_and_accents_and_drop_syntax():
    assert search_words("Évaluation des RUBRICS, année 6") == [
        "evaluation",
        "des",
        "rubrics",
        "annee",
        "6",
    ]
    query = match_query('"grading*" NEAR( -rubrics: grading', 42)
    assert query == '"g42" "grading" "near" "rubrics"'
    assert match_query('" * - : ( ) ^', 42) is None


async def test_search_finds_every_word_in_any_order_newest_first_in_pages(ledger):
    services, _ = ledger
    for i in range(10):
        services.clock.advance(timedelta(minutes=1))
        await services.helpdesk.asks.ask(G, ASKER, "assessment", f"Grading rubrics number {i}")
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "Rubrics without the other word")
    await services.helpdesk.asks.ask(OTHER_G, ASKER, "assessment", "Grading rubrics elsewhere")
    first = await services.helpdesk.board.page(G, search="RUBRICS grading")
    assert first.total == 10 and first.pages == 2
    assert [e.ref for e in first.entries] == [f"A{n}" for n in range(10, 2, -1)]
    last = await services.helpdesk.board.page(G, page=5, search="rubrics grading")
    assert last.page == 1 and [e.ref for e in last.entries] == ["A2", "A1"]
    topic = await services.helpdesk.board.page(G, topic="pbl", search="rubrics")
    assert [e.ref for e in topic.entries] == ["A11"]


async def test_a_search_shows_the_newest_asks_up_to_its_limit(ledger, monkeypatch):
    services, _ = ledger
    monkeypatch.setattr(board, "SEARCH_LIMIT", 12)
    for i in range(15):
        await services.helpdesk.asks.ask(G, ASKER, "pbl", f"Common words {i}")
    page = await services.helpdesk.board.page(G, page=1, search="common words")
    assert page.total == 12 and page.pages == 2
    assert [e.ref for e in page.entries] == ["A7", "A6", "A5", "A4"]


async def test_search_covers_open_and_resolved_asks_and_shared_summaries_only(ledger):
    services, _ = ledger
    for details in ("Noisy class", "Noisy hallway", "Noisy lunch", "Noisy bus"):
        await services.helpdesk.asks.ask(G, ASKER, "behaviour", details)
    await services.helpdesk.closing.resolve(
        G, ASKER, False, "A1", summary="Café-style seating", share=True
    )
    await services.helpdesk.closing.resolve(G, ASKER, False, "A2", summary="Cafe rules")
    await services.helpdesk.closing.withdraw(G, ASKER, False, "A3")
    found = await services.helpdesk.board.page(G, search="noisy")
    assert {e.ref: e.status for e in found.entries} == {
        "A1": "resolved",
        "A2": "resolved",
        "A4": "open",
    }
    cafe = await services.helpdesk.board.page(G, search="cafe")
    assert [(e.ref, e.shared_summary) for e in cafe.entries] == [("A1", "Café-style seating")]


@pytest.mark.parametrize(
    "text",
    ['"', "*", "NEAR(", "-", ":", "a" * 500, "x OR y", "'; DROP TABLE x; --", "a & !b", "x" * 5000],
)
async def test_search_syntax_in_member_text_never_errors(ledger, text):
    services, _ = ledger
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "x OR y, and a & b")
    try:
        page = await services.helpdesk.board.page(G, search=text)
    except UserError as error:
        assert "Search for words" in str(error)
    else:
        assert page.search == text
        indexed = set(search_words("pbl x OR y, and a & b"))
        assert len(page.entries) == int(set(search_words(text)) <= indexed)  # every word


async def test_forgetting_a_member_removes_their_asks_from_search(ledger):
    services, _ = ledger
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "Unforgettable rubrics")
    assert (await services.helpdesk.board.page(G, search="unforgettable")).total == 1
    await services.member_data.erase(G, ASKER)
    assert (await services.helpdesk.board.page(G, search="unforgettable")).total == 0


# ---------------------------------------------------------------------------- autocomplete


async def test_request_id_suggestions_are_the_members_own_or_an_admins_all(ledger):
    services, _ = ledger
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "Mine")
    await services.helpdesk.offers.offer(G, ASKER, "math", "I can teach fractions")
    await services.helpdesk.asks.ask(G, OTHER, "art", "Theirs")
    await services.helpdesk.asks.ask(G, ASKER, "music", "Soon withdrawn")
    await services.helpdesk.closing.withdraw(G, ASKER, False, "A4")
    suggest = services.helpdesk.board.suggest_requests
    assert await suggest(G, ASKER, False, "", offers=False) == [("A1", "A1 · pbl · Mine")]
    withdraw = await suggest(G, ASKER, False, "", offers=True)
    assert [ref for ref, _ in withdraw] == ["O2", "A1"]
    assert withdraw[0][1] == "O2 · math · I can teach fractions"
    assert [r for r, _ in await suggest(G, ASKER, False, "MAT", offers=True)] == ["O2"]
    assert [r for r, _ in await suggest(G, ASKER, False, "a1", offers=True)] == ["A1"]
    assert [r for r, _ in await suggest(G, ADMIN, True, "", offers=False)] == ["A3", "A1"]
    assert await suggest(OTHER_G, ASKER, True, "", offers=True) == []


async def test_only_the_admins_export_names_an_anonymous_asker(ledger):
    services, _ = ledger
    await services.helpdesk.asks.ask(G, ASKER, "pbl", "Shy question", True)
    async with services.exporter.export(G) as export:
        document = read_export(export)
    [ask] = document["tables"]["helpdesk_asks"]["rows"]
    assert ask["user_id"] == ASKER and ask["anonymous"] == 1
    assert "helpdesk_search" not in document["tables"]  # an index, not the guild's data
    board = await services.helpdesk.board.page(G)
    assert [e.user_id for e in board.entries] == [None]
