"""The help ledger service: topics, asks, offers, the board, closing, and the admin report.

Rules live in `rules.py` and `topics.py` (pure); this module reads and writes the database and
applies them. Messages are recorded here in the transaction that decides them and sent by the
`Outbox` (see `outbox.py` for the exactly-once scheme). Every lookup is scoped to the invoking
guild, so an id from another server is simply "not found".
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.clock import Clock
from bot.db import Database, Transaction
from bot.errors import UserError
from bot.features import FeatureStatus
from bot.guilds import GuildService
from bot.helpdesk.models import (
    Ask,
    AskCreated,
    BoardEntry,
    BoardPage,
    Closed,
    HelpdeskReport,
    HelpOffered,
    MessageKind,
    Messenger,
    Offer,
    OfferRecorded,
    OfferStatus,
    RequestKind,
    RequestRef,
    TopicCounts,
    ask_ref,
    offer_ref,
    parse_request_id,
)
from bot.helpdesk.outbox import ASK_COLUMNS, ASK_FROM, Outbox, ask_from_row
from bot.helpdesk.rules import (
    AskStatus,
    Offerer,
    can_close,
    can_offer_help,
    choose_helpers,
    routing_window_start,
    validate_details,
    validate_note,
)
from bot.helpdesk.topics import normalise_query, normalise_topic, rank_topics
from bot.scheduler import Scheduler
from bot.timeutil import from_db, maybe_from_db, to_db

BOARD_PAGE_SIZE = 8

OFFER_COLUMNS = """
    o.offer_id, o.guild_id, o.request_no, t.name AS topic, o.user_id, o.details, o.status,
    o.created_at
"""
OFFER_FROM = "helpdesk_offers o JOIN helpdesk_topics t ON t.topic_id = o.topic_id"


def _offer_from_row(row: sqlite3.Row) -> Offer:
    return Offer(
        offer_id=row["offer_id"],
        guild_id=row["guild_id"],
        number=row["request_no"],
        topic=row["topic"],
        user_id=row["user_id"],
        details=row["details"],
        status=OfferStatus(row["status"]),
        created_at=from_db(row["created_at"]),
    )


class HelpdeskService:
    """The help ledger (a `Feature`)."""

    def __init__(
        self, db: Database, scheduler: Scheduler, clock: Clock, guilds: GuildService
    ) -> None:
        self._db = db
        self._clock = clock
        self._guilds = guilds
        self.outbox = Outbox(db, scheduler, clock)

    def attach_messenger(self, messenger: Messenger | None) -> None:
        self.outbox.attach(messenger)

    # ------------------------------------------------------------------ settings and topics

    async def set_channel(self, guild_id: int, channel_id: int | None) -> None:
        await self._guilds.joined(guild_id)
        await self._db.execute(
            "INSERT INTO helpdesk_guilds (guild_id, channel_id) VALUES (?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET channel_id = excluded.channel_id",
            (guild_id, channel_id),
        )

    async def channel(self, guild_id: int) -> int | None:
        return await self._db.fetchval(
            "SELECT channel_id FROM helpdesk_guilds WHERE guild_id = ?", (guild_id,)
        )

    async def suggest_topics(self, guild_id: int, query: str) -> list[str]:
        """The guild's topics best matching `query`, for autocomplete; never raises."""
        rows = await self._db.fetchall(
            "SELECT name FROM helpdesk_topics WHERE guild_id = ?", (guild_id,)
        )
        return rank_topics(query, [row["name"] for row in rows])

    async def _topic_id(self, tx: Transaction, guild_id: int, topic: str) -> int:
        await tx.execute(
            "INSERT OR IGNORE INTO helpdesk_topics (guild_id, name, created_at) VALUES (?, ?, ?)",
            (guild_id, topic, to_db(self._clock.now())),
        )
        return await tx.fetchval(
            "SELECT topic_id FROM helpdesk_topics WHERE guild_id = ? AND name = ?",
            (guild_id, topic),
        )

    async def _next_number(self, tx: Transaction, guild_id: int) -> int:
        await tx.execute("INSERT OR IGNORE INTO helpdesk_guilds (guild_id) VALUES (?)", (guild_id,))
        return await tx.fetchval(
            "UPDATE helpdesk_guilds SET last_request_no = last_request_no + 1 "
            "WHERE guild_id = ? RETURNING last_request_no",
            (guild_id,),
        )

    # ------------------------------------------------------------------ ask and offer

    async def ask(self, guild_id: int, user_id: int, topic: str, details: str) -> AskCreated:
        """Record an ask, claim its channel post and routing DMs, then send them."""
        topic = normalise_topic(topic)
        details = validate_details(details)
        now = self._clock.now()
        async with self._db.transaction() as tx:
            topic_id = await self._topic_id(tx, guild_id, topic)
            number = await self._next_number(tx, guild_id)
            cursor = await tx.execute(
                "INSERT INTO helpdesk_asks (guild_id, request_no, topic_id, user_id, details, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (guild_id, number, topic_id, user_id, details, to_db(now)),
            )
            ask_id = cursor.lastrowid
            row = await tx.fetchone(
                "SELECT a.*, g.channel_id FROM helpdesk_asks a "
                "JOIN helpdesk_guilds g ON g.guild_id = a.guild_id WHERE a.ask_id = ?",
                (ask_id,),
            )
            assert row is not None
            channel_id = row["channel_id"]
            if channel_id is not None:
                await Outbox.record(
                    tx, row, MessageKind.POST, now=to_db(now), channel_id=channel_id
                )
            helpers = choose_helpers(user_id, await self._offerers(tx, guild_id, topic_id, now))
            for helper in helpers:
                await Outbox.record(tx, row, MessageKind.ROUTE, now=to_db(now), recipient=helper)
        assert ask_id is not None
        await self.outbox.flush(ask_id)
        await self.outbox.sync(ask_id)
        ask = Ask(ask_id, guild_id, number, topic, user_id, details, AskStatus.OPEN, now)
        return AskCreated(ask=ask, helpers_notified=len(helpers), posted_to_channel_id=channel_id)

    async def _offerers(
        self, tx: Transaction, guild_id: int, topic_id: int, now: datetime
    ) -> list[Offerer]:
        """Open offerers of the topic, with their routing DMs (in this guild) for the caps."""
        rows = await tx.fetchall(
            """
            SELECT o.user_id, MAX(m.created_at) AS last_routed_at,
                   COALESCE(SUM(m.created_at > ?), 0) AS routed_today
            FROM helpdesk_offers o
            LEFT JOIN helpdesk_messages m ON m.guild_id = o.guild_id AND m.kind = 'route'
                 AND m.recipient_user_id = o.user_id
            WHERE o.guild_id = ? AND o.topic_id = ? AND o.status = 'open'
            GROUP BY o.user_id
            """,
            (to_db(routing_window_start(now)), guild_id, topic_id),
        )
        return [
            Offerer(row["user_id"], maybe_from_db(row["last_routed_at"]), row["routed_today"])
            for row in rows
        ]

    async def offer(
        self, guild_id: int, user_id: int, topic: str, details: str | None
    ) -> OfferRecorded:
        """Record an offer, or update the details of the member's open offer on the topic.

        Repeating `/offer` without details keeps the details already given.
        """
        topic = normalise_topic(topic)
        cleaned = validate_details(details, required=False)
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            topic_id = await self._topic_id(tx, guild_id, topic)
            existing = await tx.fetchval(
                "SELECT offer_id FROM helpdesk_offers WHERE guild_id = ? AND topic_id = ? "
                "AND user_id = ? AND status = 'open'",
                (guild_id, topic_id, user_id),
            )
            if existing is not None:
                if cleaned:
                    await tx.execute(
                        "UPDATE helpdesk_offers SET details = ?, updated_at = ? WHERE offer_id = ?",
                        (cleaned, now, existing),
                    )
                offer_id = existing
            else:
                number = await self._next_number(tx, guild_id)
                cursor = await tx.execute(
                    "INSERT INTO helpdesk_offers (guild_id, request_no, topic_id, user_id, "
                    "details, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (guild_id, number, topic_id, user_id, cleaned, now, now),
                )
                offer_id = cursor.lastrowid
            row = await tx.fetchone(
                f"SELECT {OFFER_COLUMNS} FROM {OFFER_FROM} WHERE o.offer_id = ?", (offer_id,)
            )
            open_asks = await tx.fetchval(
                "SELECT COUNT(*) FROM helpdesk_asks WHERE guild_id = ? AND topic_id = ? "
                "AND status = 'open' AND user_id != ?",
                (guild_id, topic_id, user_id),
            )
        assert row is not None
        return OfferRecorded(
            _offer_from_row(row), updated=existing is not None, open_asks=open_asks
        )

    # ------------------------------------------------------------------ lookups

    async def _find(self, guild_id: int, ref: RequestRef) -> Ask | Offer:
        """The ask or offer numbered `ref` in this guild, or a UserError saying it isn't here."""
        ask = await self._db.fetchone(
            f"SELECT {ASK_COLUMNS} FROM {ASK_FROM} WHERE a.guild_id = ? AND a.request_no = ?",
            (guild_id, ref.number),
        )
        found: Ask | Offer | None = None
        if ask is not None:
            found = ask_from_row(ask)
        else:
            offer = await self._db.fetchone(
                f"SELECT {OFFER_COLUMNS} FROM {OFFER_FROM} "
                "WHERE o.guild_id = ? AND o.request_no = ?",
                (guild_id, ref.number),
            )
            found = None if offer is None else _offer_from_row(offer)
        shown = {"ask": ask_ref, "offer": offer_ref}.get(ref.kind or "", str)(ref.number)
        if found is None:
            raise UserError(
                f"There is no ask or offer `{shown}` in this server. `/board` lists the open "
                "ones with their ids."
            )
        kind: RequestKind = "ask" if isinstance(found, Ask) else "offer"
        if ref.kind is not None and ref.kind != kind:
            raise UserError(f"`{shown}` does not exist here, but `{found.ref}` is an {kind}.")
        return found

    async def find_ask(self, guild_id: int, number: int) -> Ask:
        found = await self._find(guild_id, RequestRef(number, "ask"))
        assert isinstance(found, Ask)
        return found

    # ------------------------------------------------------------------ "I can help"

    async def offer_help(self, guild_id: int, number: int, helper_user_id: int) -> HelpOffered:
        """Record that `helper` can help with ask `number` and tell the asker, once per helper."""
        ask = await self.find_ask(guild_id, number)
        if not can_offer_help(ask.user_id, helper_user_id):
            raise UserError(
                f"`{ask.ref}` is your own ask. When someone helps, close it with "
                f"`/resolve {ask.ref}` and choose them as `helper` to thank them."
            )
        if not ask.is_open:
            raise UserError(f"`{ask.ref}` is already {ask.status}; thank you for offering!")
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM helpdesk_asks WHERE ask_id = ?", (ask.ask_id,))
            assert row is not None
            first = await Outbox.record(
                tx, row, MessageKind.HELP, now=now, recipient=ask.user_id, helper=helper_user_id
            )
        await self.outbox.flush(ask.ask_id)
        await self.outbox.sync(ask.ask_id)  # helped: no bump any more
        return HelpOffered(ask=ask, first_time=first)

    # ------------------------------------------------------------------ closing

    async def resolve(
        self,
        guild_id: int,
        actor_user_id: int,
        actor_is_admin: bool,
        request_id: str,
        helper_user_id: int | None = None,
        note: str | None = None,
    ) -> Closed:
        """Close an ask as resolved; with a helper, claim and send the private thank-you."""
        ref = parse_request_id(request_id)
        note = validate_note(note)
        if note and helper_user_id is None:
            raise UserError(
                "A note is delivered privately to the helper: choose the `helper` too, "
                "or leave the note out."
            )
        found = await self._find(guild_id, ref)
        if isinstance(found, Offer):
            raise UserError(
                f"`{found.ref}` is an offer; `/resolve` closes asks. "
                f"To take the offer down, use `/withdraw {found.ref}`."
            )
        self._check_may_close(found.user_id, actor_user_id, actor_is_admin, found.ref, "resolve")
        if helper_user_id == found.user_id:
            raise UserError(
                "The helper must be someone other than the member who asked; "
                "choose the person who helped, or leave `helper` out."
            )
        await self._close_ask(found, AskStatus.RESOLVED, actor_user_id, helper_user_id, note)
        return Closed("ask", found.ref, found.topic, AskStatus.RESOLVED, helper_user_id)

    async def withdraw(
        self, guild_id: int, actor_user_id: int, actor_is_admin: bool, request_id: str
    ) -> Closed:
        """Withdraw an ask or an offer (the owner's, or any as an admin)."""
        found = await self._find(guild_id, parse_request_id(request_id))
        self._check_may_close(found.user_id, actor_user_id, actor_is_admin, found.ref, "withdraw")
        if isinstance(found, Ask):
            await self._close_ask(found, AskStatus.WITHDRAWN, actor_user_id, None, "")
            return Closed("ask", found.ref, found.topic, AskStatus.WITHDRAWN)
        if found.status != OfferStatus.OPEN:
            raise UserError(f"`{found.ref}` is already withdrawn.")
        await self._db.execute(
            "UPDATE helpdesk_offers SET status = 'withdrawn', closed_at = ? WHERE offer_id = ?",
            (to_db(self._clock.now()), found.offer_id),
        )
        return Closed("offer", found.ref, found.topic, OfferStatus.WITHDRAWN)

    async def review_answer(
        self, guild_id: int, number: int, user_id: int, *, keep_open: bool
    ) -> Closed | None:
        """The owner's answer to the 14-day review: keep open (restarting the clock) or close.

        Close counts as resolved: the owner closed it themselves, without naming a helper.
        """
        ask = await self.find_ask(guild_id, number)
        if ask.user_id != user_id:
            raise UserError("Only the member who asked can answer this.")
        if not ask.is_open:
            raise UserError(f"`{ask.ref}` is already {ask.status}.")
        if not keep_open:
            await self._close_ask(ask, AskStatus.RESOLVED, user_id, None, "")
            return Closed("ask", ask.ref, ask.topic, AskStatus.RESOLVED)
        await self._db.execute(
            "UPDATE helpdesk_asks SET kept_open_at = ? WHERE ask_id = ? AND status = 'open'",
            (to_db(self._clock.now()), ask.ask_id),
        )
        await self.outbox.sync(ask.ask_id)
        return None

    @staticmethod
    def _check_may_close(
        owner_user_id: int, actor_user_id: int, actor_is_admin: bool, ref: str, verb: str
    ) -> None:
        if not can_close(owner_user_id, actor_user_id, actor_is_admin):
            raise UserError(
                f"Only the member who posted `{ref}` (or an admin) can {verb} it. "
                "Your own ids are listed on `/board`."
            )

    async def _close_ask(
        self, ask: Ask, status: AskStatus, actor_user_id: int | None, helper: int | None, note: str
    ) -> None:
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "UPDATE helpdesk_asks SET status = ?, closed_at = ?, closed_by_user_id = ? "
                "WHERE ask_id = ? AND status = 'open'",
                (status, now, actor_user_id, ask.ask_id),
            )
            if not cursor.rowcount:
                current = await tx.fetchval(
                    "SELECT status FROM helpdesk_asks WHERE ask_id = ?", (ask.ask_id,)
                )
                raise UserError(f"`{ask.ref}` is already {current}.")
            if helper is not None:
                row = await tx.fetchone(
                    "SELECT * FROM helpdesk_asks WHERE ask_id = ?", (ask.ask_id,)
                )
                assert row is not None
                await Outbox.record(
                    tx, row, MessageKind.THANKS, now=now, recipient=helper, note=note
                )
        await self.outbox.flush(ask.ask_id)
        await self.outbox.sync(ask.ask_id)

    async def member_left(self, guild_id: int, user_id: int) -> None:
        """Withdraw a departed member's open asks and offers.

        Their asks would otherwise keep routing DMs, bumps and reviews going for someone who
        can no longer read the answers. Called by the member lifecycle handler.
        """
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "UPDATE helpdesk_asks SET status = 'withdrawn', closed_at = ? "
                "WHERE guild_id = ? AND user_id = ? AND status = 'open' RETURNING ask_id",
                (now, guild_id, user_id),
            )
            await tx.execute(
                "UPDATE helpdesk_offers SET status = 'withdrawn', closed_at = ? "
                "WHERE guild_id = ? AND user_id = ? AND status = 'open'",
                (now, guild_id, user_id),
            )
        for row in rows:
            await self.outbox.sync(row["ask_id"])

    # ------------------------------------------------------------------ reading

    async def board(self, guild_id: int, topic: str | None = None, page: int = 0) -> BoardPage:
        """Open asks and offers, newest first, one page of `BOARD_PAGE_SIZE`."""
        name = normalise_query(topic) if topic else ""
        topic_filter, params = "", [guild_id]
        if name:
            exists = await self._db.fetchval(
                "SELECT 1 FROM helpdesk_topics WHERE guild_id = ? AND name = ?", (guild_id, name)
            )
            if not exists:
                close = await self.suggest_topics(guild_id, name)
                hint = f" Try {', '.join(f'`{t}`' for t in close[:5])}." if close else ""
                raise UserError(f"No one has asked or offered `{name}` here yet.{hint}")
            topic_filter, params = " AND t.name = ?", [guild_id, name]
        union = f"""
            SELECT 'ask' AS kind, a.request_no, t.name AS topic, a.user_id, a.details,
                   a.created_at
            FROM {ASK_FROM} WHERE a.guild_id = ? AND a.status = 'open'{topic_filter}
            UNION ALL
            SELECT 'offer', o.request_no, t.name, o.user_id, o.details, o.created_at
            FROM {OFFER_FROM} WHERE o.guild_id = ? AND o.status = 'open'{topic_filter}
        """
        total = await self._db.fetchval(f"SELECT COUNT(*) FROM ({union})", params * 2)
        pages = max(1, -(-total // BOARD_PAGE_SIZE))
        page = min(max(0, page), pages - 1)
        rows = await self._db.fetchall(
            f"SELECT * FROM ({union}) ORDER BY created_at DESC, request_no DESC LIMIT ? OFFSET ?",
            [*params, *params, BOARD_PAGE_SIZE, page * BOARD_PAGE_SIZE],
        )
        entries = tuple(
            BoardEntry(
                kind=row["kind"],
                ref=(ask_ref if row["kind"] == "ask" else offer_ref)(row["request_no"]),
                topic=row["topic"],
                user_id=row["user_id"],
                details=row["details"],
                created_at=from_db(row["created_at"]),
            )
            for row in rows
        )
        return BoardPage(entries, page, pages, total, name or None)

    async def report(self, guild_id: int) -> HelpdeskReport:
        """Asks and offers per topic by status, and topics with open asks but no open offer."""
        rows = await self._db.fetchall(
            """
            SELECT t.name, 'ask' AS kind, a.status, COUNT(*) AS n
            FROM helpdesk_asks a JOIN helpdesk_topics t ON t.topic_id = a.topic_id
            WHERE a.guild_id = ? GROUP BY t.name, a.status
            UNION ALL
            SELECT t.name, 'offer', o.status, COUNT(*)
            FROM helpdesk_offers o JOIN helpdesk_topics t ON t.topic_id = o.topic_id
            WHERE o.guild_id = ? GROUP BY t.name, o.status
            """,
            (guild_id, guild_id),
        )
        counts: dict[str, TopicCounts] = {}
        for row in rows:
            entry = counts.setdefault(
                row["name"],
                TopicCounts(
                    row["name"],
                    {s.value: 0 for s in AskStatus},
                    {s.value: 0 for s in OfferStatus},
                ),
            )
            (entry.asks if row["kind"] == "ask" else entry.offers)[row["status"]] = row["n"]
        topics = tuple(counts[name] for name in sorted(counts))
        unmet = tuple(
            c.topic for c in topics if c.asks[AskStatus.OPEN] and not c.offers[OfferStatus.OPEN]
        )
        return HelpdeskReport(topics, unmet)

    async def open_topics(
        self, guild_id: int
    ) -> tuple[dict[int, frozenset[str]], dict[int, frozenset[str]]]:
        """For the pairing engine: open ask topics by user, and open offer topics by user."""
        rows = await self._db.fetchall(
            f"""
            SELECT 'ask' AS kind, a.user_id, t.name AS topic FROM {ASK_FROM}
            WHERE a.guild_id = ? AND a.status = 'open'
            UNION
            SELECT 'offer', o.user_id, t.name FROM {OFFER_FROM}
            WHERE o.guild_id = ? AND o.status = 'open'
            """,
            (guild_id, guild_id),
        )
        found: dict[str, dict[int, set[str]]] = {"ask": {}, "offer": {}}
        for row in rows:
            found[row["kind"]].setdefault(row["user_id"], set()).add(row["topic"])
        asks, offers = ({u: frozenset(t) for u, t in found[k].items()} for k in ("ask", "offer"))
        return asks, offers

    # ------------------------------------------------------------------ Feature

    async def status(self, guild_id: int, user_id: int | None) -> FeatureStatus:
        channel_id = await self.channel(guild_id)
        open_asks = await self._db.fetchval(
            "SELECT COUNT(*) FROM helpdesk_asks WHERE guild_id = ? AND status = 'open'",
            (guild_id,),
        )
        summary = f"{open_asks} open ask{'s' if open_asks != 1 else ''}"
        if channel_id is None:
            summary += "; no help channel yet, so asks reach helpers by DM only"
        problems = [
            f"Ask {ask_ref(row['request_no'])} could not be "
            f"{'bumped' if row['kind'] == MessageKind.BUMP else 'posted'} in the help channel: "
            f"{row['error']}"
            for row in await self._db.fetchall(
                "SELECT m.kind, m.error, a.request_no FROM helpdesk_messages m "
                "JOIN helpdesk_asks a ON a.ask_id = m.ask_id WHERE m.guild_id = ? "
                "AND m.state = 'failed' AND m.recipient_user_id = 0 "
                "ORDER BY m.message_id DESC LIMIT 3",
                (guild_id,),
            )
        ]
        member_status = ""
        if user_id is not None:
            member_status = await self._member_status(guild_id, user_id)
        return FeatureStatus(
            name="Help ledger",
            enabled=True,
            channel_id=channel_id,
            summary=summary,
            member_status=member_status,
            problems=problems,
        )

    async def _member_status(self, guild_id: int, user_id: int) -> str:
        asks = await self._db.fetchall(
            f"SELECT a.request_no, t.name AS topic FROM {ASK_FROM} "
            "WHERE a.guild_id = ? AND a.user_id = ? AND a.status = 'open' ORDER BY a.request_no",
            (guild_id, user_id),
        )
        offers = await self._db.fetchall(
            f"SELECT o.request_no, t.name AS topic FROM {OFFER_FROM} "
            "WHERE o.guild_id = ? AND o.user_id = ? AND o.status = 'open' ORDER BY o.request_no",
            (guild_id, user_id),
        )
        parts = []
        if asks:
            parts.append("open asks " + ", ".join(ask_ref(r["request_no"]) for r in asks))
        if offers:
            parts.append("offering " + ", ".join(offer_ref(r["request_no"]) for r in offers))
        return "; ".join(parts)

    async def reschedule(self, guild_id: int) -> None:
        """Re-arm every open ask's job (their timing is in hours and days, not local time)."""
        rows = await self._db.fetchall(
            "SELECT ask_id FROM helpdesk_asks WHERE guild_id = ? AND status = 'open'", (guild_id,)
        )
        for row in rows:
            await self.outbox.sync(row["ask_id"])
