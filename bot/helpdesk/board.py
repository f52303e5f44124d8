"""What the ledger shows: the board, the admin report, open topics for pairing, feature status."""

from __future__ import annotations

from typing import Any

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
from bot.helpdesk.search import match_query, search_words
from bot.helpdesk.store import ASK_FROM, OFFER_FROM, LedgerPart
from bot.helpdesk.topics import normalise_query, private_topic
from bot.timeutil import from_db

BOARD_PAGE_SIZE = 8
#: A search shows at most this many asks (the newest): 25 pages, and a bounded cost however
#: common its words are.
SEARCH_LIMIT = 200
SUGGEST_LIMIT = 25  # Discord shows at most 25 choices
SUGGEST_SCAN = 200  # the newest open requests an autocomplete looks through


class BoardReader(LedgerPart):
    """Read-only views of the ledger."""

    async def page(
        self, guild_id: int, topic: str | None = None, page: int = 0, search: str | None = None
    ) -> BoardPage:
        """Open asks and offers, newest first, one page of `BOARD_PAGE_SIZE`; with `search`,
        the open and resolved asks that have every word of it (see search.py)."""
        name = await self._topic_filter(guild_id, topic)
        topic_filter, params = (
            ("", [guild_id]) if not name else (" AND t.name = ?", [guild_id, name])
        )
        if search is not None:
            query = match_query(search, guild_id)
            if query is None:
                raise UserError(
                    "Search for words from an ask, e.g. `grading rubrics` "
                    "(punctuation and symbols are ignored)."
                )
            union = f"""
                SELECT 'ask' AS kind, a.request_no, t.name AS topic, a.user_id, a.anonymous,
                       a.details, a.created_at, a.status,
                       CASE WHEN a.summary_shared = 1 THEN a.summary END AS shared_summary
                FROM ({self._db.newest_with_words("helpdesk_search", "ask_id")}) AS m
                CROSS JOIN helpdesk_asks a JOIN helpdesk_topics t ON t.topic_id = a.topic_id
                WHERE a.ask_id = m.id AND a.guild_id = ?
                  AND a.status IN ('open', 'resolved'){topic_filter}
            """
            # The index's matches come first (CROSS JOIN keeps SQLite from scanning the
            # guild's asks instead), capped at the newest SEARCH_LIMIT.
            params = [query, SEARCH_LIMIT, *params]
            parts = 1
        else:
            union = f"""
                SELECT 'ask' AS kind, a.request_no, t.name AS topic, a.user_id, a.anonymous,
                       a.details, a.created_at, a.status, NULL AS shared_summary
                FROM {ASK_FROM} WHERE a.guild_id = ? AND a.status = 'open'{topic_filter}
                UNION ALL
                SELECT 'offer', o.request_no, t.name, o.user_id, 0, o.details, o.created_at,
                       o.status, NULL
                FROM {OFFER_FROM} WHERE o.guild_id = ? AND o.status = 'open'{topic_filter}
            """
            parts = 2
        # The page and the total in one read; only a page past the end (the board shrank
        # since it was shown) needs a second, for the last page.
        page = max(0, page)
        rows = await self._page(union, params * parts, page)
        total = rows[0]["total"] if rows else 0
        if not rows and page > 0:
            total = await self._db.fetchval(f"SELECT COUNT(*) FROM ({union}) AS b", params * parts)
            page = max(0, -(-total // BOARD_PAGE_SIZE) - 1)
            rows = await self._page(union, params * parts, page)
        pages = max(1, -(-total // BOARD_PAGE_SIZE))
        entries = tuple(
            BoardEntry(
                kind=row["kind"],
                ref=(ask_ref if row["kind"] == "ask" else offer_ref)(row["request_no"]),
                topic=row["topic"],
                user_id=None if row["anonymous"] == 1 else row["user_id"],
                details=row["details"],
                created_at=from_db(row["created_at"]),
                status=row["status"],
                shared_summary=row["shared_summary"],
            )
            for row in rows
        )
        return BoardPage(entries, page, pages, total, name or None, search)

    async def _topic_filter(self, guild_id: int, topic: str | None) -> str:
        """The normalised topic to filter by ("" for none); an unknown one is a UserError."""
        name = normalise_query(topic) if topic else ""
        if name:
            exists = await self._db.fetchval(
                "SELECT 1 FROM helpdesk_topics WHERE guild_id = ? AND name = ?", (guild_id, name)
            )
            if not exists:
                close = await self.suggest_topics(guild_id, name)
                hint = f" Try {', '.join(f'`{t}`' for t in close[:5])}." if close else ""
                raise UserError(f"No one has asked or offered `{name}` here yet.{hint}")
        return name

    async def _page(self, union: str, params: list[Any], page: int) -> list[Row]:
        return await self._db.fetchall(
            f"SELECT b.*, COUNT(*) OVER () AS total FROM ({union}) AS b "
            "ORDER BY created_at DESC, request_no DESC LIMIT ? OFFSET ?",
            [*params, BOARD_PAGE_SIZE, page * BOARD_PAGE_SIZE],
        )

    async def suggest_requests(
        self, guild_id: int, user_id: int, is_admin: bool, current: str, *, offers: bool
    ) -> list[tuple[str, str]]:
        """`request_id` autocomplete: (id, "A12 · topic · details") for the member's own open
        asks (and offers, with `offers`), newest first; an admin sees the guild's. Never
        raises: what the member typed only filters (by id or topic words)."""
        mine, params = ("", [guild_id]) if is_admin else (" AND x.user_id = ?", [guild_id, user_id])
        selects = [
            f"SELECT 'ask' AS kind, x.request_no, t.name AS topic, x.details FROM helpdesk_asks x "
            f"JOIN helpdesk_topics t ON t.topic_id = x.topic_id "
            f"WHERE x.guild_id = ? AND x.status = 'open'{mine}"
        ]
        if offers:
            selects.append(
                f"SELECT 'offer', x.request_no, t.name, x.details FROM helpdesk_offers x "
                f"JOIN helpdesk_topics t ON t.topic_id = x.topic_id "
                f"WHERE x.guild_id = ? AND x.status = 'open'{mine}"
            )
        rows = await self._db.fetchall(
            f"SELECT * FROM ({' UNION ALL '.join(selects)}) AS r "
            f"ORDER BY request_no DESC LIMIT {SUGGEST_SCAN}",
            params * len(selects),
        )
        wanted = search_words(current)
        found = []
        for row in rows:
            ref = (ask_ref if row["kind"] == "ask" else offer_ref)(row["request_no"])
            words = search_words(ref, row["topic"])
            if all(any(w.startswith(part) for w in words) for part in wanted):
                label = f"{ref} · {row['topic']}"
                if row["details"]:
                    label += f" · {' '.join(row['details'].split())}"
                found.append((ref, label if len(label) <= 100 else label[:99] + "…"))
        return found[:SUGGEST_LIMIT]

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
        """For the pairing engine: open ask topics by user, and open offer topics by user.

        An anonymous ask still prefers a partner who offers its topic, under a private name
        (`private_topic`) that its offerers share and no intro shows (`shown_topics`): "one of
        you asked about X" would say who asked."""
        rows = await self._db.fetchall(
            f"""
            SELECT 'ask' AS kind, a.user_id, t.name AS topic, a.anonymous FROM {ASK_FROM}
            WHERE a.guild_id = ? AND a.status = 'open'
            UNION
            SELECT 'offer', o.user_id, t.name, 0 FROM {OFFER_FROM}
            WHERE o.guild_id = ? AND o.status = 'open'
            """,
            (guild_id, guild_id),
        )
        found: dict[str, dict[int, set[str]]] = {"ask": {}, "offer": {}}
        private = {r["topic"] for r in rows if r["anonymous"] == 1}
        for row in rows:
            kind, topic = row["kind"], row["topic"]
            topics = found[kind].setdefault(row["user_id"], set())
            if kind == "ask":
                topics.add(private_topic(topic) if row["anonymous"] == 1 else topic)
                continue
            topics.add(topic)
            if topic in private:
                topics.add(private_topic(topic))
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
