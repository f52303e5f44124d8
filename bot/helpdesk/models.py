"""The help ledger's plain values, request ids, and the port through which it sends messages.

The ledger decides and records every message in the database; it never imports discord. The
cog hands it a `Messenger` that renders an `Outgoing` as an embed or DM and sends it.

Request ids: asks and offers share one per-guild sequence and are shown as `A12` (an ask) or
`O13` (an offer). Per guild, because a global row id would be large, would leak how busy
other servers are, and could name another guild's request; shared, so a bare `12` is never
ambiguous; prefixed, so a member can tell at a glance what the id names. Numbers are never
reused, even after a member's data is forgotten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from bot.helpdesk.rules import AskStatus
from bot.helpdesk.topics import HelpdeskInputError

FEATURE_NAME = "Help ledger"
ASK_PREFIX = "A"
OFFER_PREFIX = "O"
_REQUEST_ID = re.compile(r"^#?\s*([AaOo])?\s*#?\s*(\d{1,9})$")

RequestKind = Literal["ask", "offer"]


@dataclass(frozen=True, slots=True)
class RequestRef:
    """A parsed request id: its number and, when the member typed a prefix, its kind."""

    number: int
    kind: RequestKind | None


def parse_request_id(raw: str | None) -> RequestRef:
    """Read `A12`, `a12`, `#12`, `O 7` or `12`; raise a `UserError` that shows the format."""
    text = (raw or "").strip()
    match = _REQUEST_ID.match(text)
    if not match or int(match.group(2)) == 0:
        shown = text[:40] or "(empty)"
        raise HelpdeskInputError(
            f"`{shown}` is not a request id. Use the id Kindred gave you, like `A12` for an "
            "ask or `O7` for an offer (`/board` lists them)."
        )
    prefix = (match.group(1) or "").upper()
    kind: RequestKind | None = {"A": "ask", "O": "offer"}.get(prefix)  # type: ignore[assignment]
    return RequestRef(number=int(match.group(2)), kind=kind)


def ask_ref(number: int) -> str:
    return f"{ASK_PREFIX}{number}"


def offer_ref(number: int) -> str:
    return f"{OFFER_PREFIX}{number}"


class OfferStatus(StrEnum):
    OPEN = "open"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class Ask:
    ask_id: int  # the row id, internal
    guild_id: int
    number: int  # the per-guild number members see
    topic: str
    user_id: int
    details: str
    status: AskStatus
    created_at: datetime

    @property
    def ref(self) -> str:
        return ask_ref(self.number)

    @property
    def is_open(self) -> bool:
        return self.status == AskStatus.OPEN


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: int
    guild_id: int
    number: int
    topic: str
    user_id: int
    details: str
    status: OfferStatus
    created_at: datetime

    @property
    def ref(self) -> str:
        return offer_ref(self.number)


@dataclass(frozen=True, slots=True)
class AskCreated:
    ask: Ask
    helpers_notified: int  # routing DMs claimed (sent now, or resent after a restart)
    posted_to_channel_id: int | None


@dataclass(frozen=True, slots=True)
class OfferRecorded:
    offer: Offer
    updated: bool  # True: an open offer on this topic existed and its details were replaced
    open_asks: int  # open asks on the topic right now, so the helper knows where to look


@dataclass(frozen=True, slots=True)
class HelpOffered:
    ask: Ask
    first_time: bool  # False: this helper had already pressed "I can help" on this ask


@dataclass(frozen=True, slots=True)
class Closed:
    """The outcome of /resolve, /withdraw or a review's Close button."""

    kind: RequestKind
    ref: str
    topic: str
    status: str
    thanked_user_id: int | None = None


@dataclass(frozen=True, slots=True)
class BoardEntry:
    kind: RequestKind
    ref: str
    topic: str
    user_id: int
    details: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BoardPage:
    entries: tuple[BoardEntry, ...]
    page: int  # 0-based, clamped to the pages that exist
    pages: int  # at least 1
    total: int
    topic: str | None


@dataclass(frozen=True, slots=True)
class TopicCounts:
    topic: str
    asks: dict[str, int]  # AskStatus value -> count (every status present, zeros included)
    offers: dict[str, int]  # OfferStatus value -> count


@dataclass(frozen=True, slots=True)
class HelpdeskReport:
    topics: tuple[TopicCounts, ...]  # topics with any ask or offer, alphabetically
    asks_without_offers: tuple[str, ...]  # topics with open asks and no open offer


class MessageKind(StrEnum):
    """What a recorded message is; see 0004_helpdesk.sql for each one's unique key."""

    POST = "post"
    ROUTE = "route"
    HELP = "help"
    THANKS = "thanks"
    BUMP = "bump"
    REVIEW = "review"


#: Kinds that only make sense while the ask is open; they are dropped if it closed first.
WHILE_OPEN = frozenset({MessageKind.POST, MessageKind.ROUTE, MessageKind.BUMP, MessageKind.REVIEW})


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send: to `channel_id` (posts, bumps) or by DM to `recipient_user_id`."""

    message_id: int
    kind: MessageKind
    nonce: str  # deterministic, <= 25 characters: a resend is deduplicated by Discord
    ask: Ask
    channel_id: int | None
    recipient_user_id: int | None
    helper_user_id: int | None  # HELP: who offered; THANKS: who is thanked
    note: str  # THANKS: the note, possibly ""
    closer_user_id: int | None  # THANKS: who resolved the ask (owner or admin)


class DeliveryRefused(Exception):
    """Discord will not take this message (DMs closed, channel gone, no permission).

    Raised by a `Messenger`; the message is marked failed and not retried. Any other exception
    counts as transient and the message is retried later with the same nonce.
    """


class Messenger(Protocol):
    async def deliver(self, message: Outgoing) -> int | None:
        """Send `message`; return the Discord message id (None if unknown)."""
        ...
