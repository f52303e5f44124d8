"""What the ledger shows: the board, the admin report, open topics for pairing, feature status."""

from __future__ import annotations

from collections.abc import Sequence

from bot.db import Row
from bot.errors import UserError
from bot.features import FeatureStatus
from bot.helpdesk.models import (
    FEATURE_NAME,
    BoardEntry,
    BoardPage,
    HelpdeskReport,
    OfferStatus,
    TopicCounts,
    ask_ref,
    offer_ref,
)
from bot.helpdesk.rules import (
    AskStatus,
)
from bot.helpdesk.store import ASK_FROM, OFFER_FROM, LedgerPart
from bot.helpdesk.topics import normalise_query
from bot.timeutil import from_db

BOARD_PAGE_SIZE = 8


class BoardReader(LedgerPart):
    """Read-only views of the ledger."""

    async def page(self, guild_id: int, topic: str | None = None, page: int = 0) -> BoardPage:
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
        # The page and the total in one read; only a page past the end (the board shrank
        # since it was shown) needs a second, for the last page.
        page = max(0, page)
        rows = await self._page(union, params, page)
        total = rows[0]["total"] if rows else 0
        if not rows and page > 0:
            total = await self._db.fetchval(
                f"SELECT COUNT(*) FROM ({union}) AS entries", params * 2
            )
            page = max(0, -(-total // BOARD_PAGE_SIZE) - 1)
            rows = await self._page(union, params, page)
        pages = max(1, -(-total // BOARD_PAGE_SIZE))
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

    async def _page(self, union: str, params: Sequence[object], page: int) -> list[Row]:
        return await self._db.fetchall(
            f"SELECT *, COUNT(*) OVER () AS total FROM ({union}) AS entries "
            "ORDER BY created_at DESC, request_no DESC LIMIT ? OFFSET ?",
            [*params, *params, BOARD_PAGE_SIZE, page * BOARD_PAGE_SIZE],
        )

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
        """The ledger's line in `/about` and `/admin show`: open asks, channel problems."""
        channel_id = await self.channel(guild_id)
        open_asks = await self._db.fetchval(
            "SELECT COUNT(*) FROM helpdesk_asks WHERE guild_id = ? AND status = 'open'",
            (guild_id,),
        )
        summary = f"{open_asks} open ask{'s' if open_asks != 1 else ''}"
        if channel_id is None:
            summary += "; no help channel yet, so asks reach helpers by DM only"
        problems = [
            f"Ask {ask_ref(row['request_no'])} {row['channel_problem']}"
            for row in await self._db.fetchall(
                "SELECT request_no, channel_problem FROM helpdesk_asks "
                "WHERE guild_id = ? AND channel_problem IS NOT NULL ORDER BY ask_id DESC LIMIT 3",
                (guild_id,),
            )
        ]
        member_status = ""
        if user_id is not None:
            member_status = await self._member_status(guild_id, user_id)
        return FeatureStatus(
            name=FEATURE_NAME,
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
