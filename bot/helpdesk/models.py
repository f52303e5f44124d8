"""The help ledger's plain values, request ids, and the messages it sends.

The ledger decides every message and enqueues it in the outbox as an `Outgoing` payload; it
never imports discord. The cog renders an `Outgoing` as an embed or a DM.

Request ids: asks and offers share one per-guild sequence and are shown as `A12` (an ask) or
`O13` (an offer). Per guild, because a global row id would be large, would leak how busy
other servers are, and could name another guild's request; shared, so a bare `12` is never
ambiguous; prefixed, so a member can tell at a glance what the id names. Numbers are never
reused, even after a member's data is forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from bot.helpdesk.rules import AskStatus
from bot.helpdesk.topics import HelpdeskInputError
from bot.timeutil import from_db, maybe_from_db, to_db

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
    """The id members see for ask `number` (`A12`)."""
    return f"{ASK_PREFIX}{number}"


def offer_ref(number: int) -> str:
    """The id members see for offer `number` (`O13`)."""
    return f"{OFFER_PREFIX}{number}"


class OfferStatus(StrEnum):
    """Where an offer stands: open to routing DMs, or withdrawn by its helper."""

    OPEN = "open"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class Ask:
    """A member's request for help on a topic, as the ledger and its messages see it."""

    ask_id: int  # the row id, internal
    guild_id: int
    number: int  # the per-guild number members see
    topic: str
    user_id: int
    details: str
    status: AskStatus
    created_at: datetime
    anonymous: bool = False  # members never see user_id (post, DMs, board, threads)
    closed_at: datetime | None = None
    shared_summary: str | None = None  # what helped, when the owner chose to share it

    @property
    def ref(self) -> str:
        """The id members see and type (`A12`)."""
        return ask_ref(self.number)

    @property
    def is_open(self) -> bool:
        """Whether the ask still takes help and lifecycle messages."""
        return self.status == AskStatus.OPEN

    def payload(self) -> dict[str, Any]:
        """The ask as JSON-ready values, to travel inside an outbox message's payload."""
        return {
            "ask_id": self.ask_id,
            "guild_id": self.guild_id,
            "number": self.number,
            "topic": self.topic,
            "user_id": self.user_id,
            "details": self.details,
            "status": str(self.status),
            "created_at": to_db(self.created_at),
            "anonymous": self.anonymous,
            "closed_at": None if self.closed_at is None else to_db(self.closed_at),
            "shared_summary": self.shared_summary,
        }

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> Ask:
        """The ask as a message recorded it (rows enqueued before issue 14 lack the new keys)."""
        return cls(
            p["ask_id"],
            p["guild_id"],
            p["number"],
            p["topic"],
            p["user_id"],
            p["details"],
            AskStatus(p["status"]),
            from_db(p["created_at"]),
            bool(p.get("anonymous", False)),
            maybe_from_db(p.get("closed_at")),
            p.get("shared_summary"),
        )


@dataclass(frozen=True, slots=True)
class Offer:
    """A member's standing offer to help on a topic; open asks on it are routed to them."""

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
        """The id members see and type (`O13`)."""
        return offer_ref(self.number)


@dataclass(frozen=True, slots=True)
class AskCreated:
    """What /ask tells the asker: their ask, how many helpers were told, where it was posted."""

    ask: Ask
    helpers_notified: int  # routing DMs claimed (sent now, or resent after a restart)
    posted_to_channel_id: int | None


@dataclass(frozen=True, slots=True)
class OfferRecorded:
    """What /offer tells the helper: the offer, whether it replaced one, open asks on it."""

    offer: Offer
    updated: bool  # True: an open offer on this topic existed and its details were replaced
    open_asks: int  # open asks on the topic right now, so the helper knows where to look


@dataclass(frozen=True, slots=True)
class HelpOffered:
    """The outcome of an "I can help" press, so a repeat press is not announced twice."""

    ask: Ask
    first_time: bool  # False: this helper had already pressed "I can help" on this ask
    thread_state: str = "none"  # helpdesk_helpers.thread_state (see bot/helpdesk/helping.py)
    thread_id: int | None = None  # their private thread, once Discord has it


@dataclass(frozen=True, slots=True)
class Closed:
    """The outcome of /resolve, /withdraw or a review's Close button."""

    kind: RequestKind
    ref: str
    topic: str
    status: str
    thanked_user_id: int | None = None
    summary_kept: bool = False  # /resolve recorded what helped
    summary_shared: bool = False  # ... and shows it on the post


@dataclass(frozen=True, slots=True)
class BoardEntry:
    """One open ask or offer as a line of `/board`."""

    kind: RequestKind
    ref: str
    topic: str
    user_id: int | None  # None: an anonymous ask (members never see who asked)
    details: str
    created_at: datetime
    status: str = "open"
    shared_summary: str | None = None  # a resolved ask's "what helped", when shared


@dataclass(frozen=True, slots=True)
class BoardPage:
    """One page of `/board`, with what the paging buttons and the footer need."""

    entries: tuple[BoardEntry, ...]
    page: int  # 0-based, clamped to the pages that exist
    pages: int  # at least 1
    total: int
    topic: str | None
    search: str | None = None  # the member's search text, when the page is a search


@dataclass(frozen=True, slots=True)
class TopicCounts:
    """One topic's asks and offers by status, a row of the admin report."""

    topic: str
    asks: dict[str, int]  # AskStatus value -> count (every status present, zeros included)
    offers: dict[str, int]  # OfferStatus value -> count


@dataclass(frozen=True, slots=True)
class HelpdeskReport:
    """The admin report: counts per topic and the topics whose asks no one offers."""

    topics: tuple[TopicCounts, ...]  # topics with any ask or offer, alphabetically
    asks_without_offers: tuple[str, ...]  # topics with open asks and no open offer


class MessageKind(StrEnum):
    """What a ledger message is; its outbox kind is `helpdesk.<value>`."""

    POST = "post"  # the ask in the help channel
    ROUTE = "route"  # a DM to a member who offered the topic
    HELP = "help"  # "helper can help" DM to the asker (an "I can help" press)
    THANKS = "thanks"  # the private thank-you DM on /resolve
    BUMP = "bump"  # the one bump in the help channel
    REVIEW = "review"  # the Keep open / Close DM, once per review round
    THREAD = "thread"  # the private thread of an asker and a helper, under the help channel
    CONSENT = "consent"  # anonymous ask: "X can help: Open a private thread / No thanks" DM
    SOLO = "solo"  # anonymous ask, the asker's DMs closed: a thread with only the asker
    JOIN = "join"  # the asker opened their solo thread: the helper is added to it
    INTRO = "intro"  # ... and told there what the ask is
    CONTACT = "contact"  # no thread could be made: a DM saying who to contact instead
    CLOSED = "closed"  # the post edited when the ask closed
    CLOSED_BUMP = "closed_bump"  # the bump edited when the ask closed

    @property
    def outbox_kind(self) -> str:
        """The outbox kind for rows of this message kind (`helpdesk.<value>`)."""
        return f"helpdesk.{self.value}"


#: Kinds that only make sense while the ask is open; they are dropped if it closed first.
WHILE_OPEN = frozenset(
    {
        MessageKind.POST,
        MessageKind.ROUTE,
        MessageKind.BUMP,
        MessageKind.REVIEW,
        MessageKind.CONSENT,
        MessageKind.SOLO,
    }
)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message: to `channel_id` (posts, bumps) or by DM to `recipient_user_id`; the ask
    as it was when the message was decided."""

    kind: MessageKind
    ask: Ask
    channel_id: int | None
    recipient_user_id: int | None
    helper_user_id: int | None  # HELP: who offered; THANKS: who is thanked
    note: str  # THANKS: the note, possibly ""
    closer_user_id: int | None  # THANKS: who resolved the ask (owner or admin)
    thread_no: int = 0  # THREAD, SOLO: the thread's per-guild number (its name)

    @property
    def thread_name(self) -> str:
        """The helper thread's name: unique in the guild, naming nobody."""
        return f"Help {self.ask.ref} · {self.thread_no}"

    def payload(self) -> dict[str, Any]:
        """The message as the JSON payload of its outbox row."""
        return {
            "kind": str(self.kind),
            "ask": self.ask.payload(),
            "channel_id": self.channel_id,
            "recipient_user_id": self.recipient_user_id,
            "helper_user_id": self.helper_user_id,
            "note": self.note,
            "closer_user_id": self.closer_user_id,
            "thread_no": self.thread_no,
        }

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> Outgoing:
        """The message back from its outbox row, for the cog to render."""
        return cls(
            MessageKind(p["kind"]),
            Ask.from_payload(p["ask"]),
            p["channel_id"],
            p["recipient_user_id"],
            p["helper_user_id"],
            p["note"],
            p["closer_user_id"],
            p.get("thread_no", 0),
        )
