"""The help ledger's rules: who is DM'd about an ask, who may close it, and when it is nudged.

Pure: no discord, no database, no clock. Every time-dependent function takes `now` (an aware
datetime) from the caller, so the service passes `clock.now()` and tests pass exact instants.
The ledger service reads rows, calls these functions, and writes what they decide.

Decisions (and why)
-------------------
* **The per-helper cap is a rolling 24 hours**, not a calendar day. "At most 3 DMs a day" is a
  promise to the helper; a calendar day would allow 3 DMs at 23:59 and 3 more at 00:01, and
  would need the guild's timezone to say whose midnight. A rolling window is timezone-free and
  never lets more than 3 arrive in any 24 hours. See `routing_window_start`.
* **Routing prefers the least recently DM'd offerer** (never DM'd first), so asks are spread
  over everyone who offered instead of always landing on the same early offerers. Ties break
  by user id, so the same inputs always give the same helpers (testable, and a retried ask
  after a crash picks the same people).
* **Bump once, and only before the owner review.** An ask nobody has offered to help with is
  bumped 48 hours after creation, once ever. If the owner has already been asked whether to
  keep it open (e.g. the bot was down for two weeks), the late bump is skipped: the review is
  the more useful message and two messages about one ask at once would be noise.
* **Review every 14 days; "Keep open" restarts the clock.** The review is due 14 days after
  creation, or 14 days after the owner last chose "Keep open": a member who says "still
  relevant" is asked again two weeks later, not immediately and not never.
* **Stale 7 days after the review was sent**, if it is still unanswered. The service records
  `review_sent_at` when it attempts the DM; whether an undeliverable DM should fall back to the
  help channel is the service's decision, not these rules'.
* **Naive datetimes are refused** (ValueError), like `bot.timeutil.to_db`: comparing local and
  UTC instants silently would move every deadline by hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum, StrEnum

from bot.helpdesk.topics import HelpdeskInputError

BUMP_AFTER = timedelta(hours=48)
REVIEW_AFTER = timedelta(days=14)
STALE_AFTER_REVIEW = timedelta(days=7)
MAX_HELPERS_PER_ASK = 5
MAX_ROUTED_PER_HELPER_PER_DAY = 3
#: The rolling window behind MAX_ROUTED_PER_HELPER_PER_DAY.
ROUTING_WINDOW = timedelta(hours=24)
DETAILS_MAX = 1500
NOTE_MAX = 1000
SUMMARY_MAX = 1000

__all__ = [
    "BUMP_AFTER",
    "DETAILS_MAX",
    "MAX_HELPERS_PER_ASK",
    "MAX_ROUTED_PER_HELPER_PER_DAY",
    "NOTE_MAX",
    "REVIEW_AFTER",
    "ROUTING_WINDOW",
    "STALE_AFTER_REVIEW",
    "SUMMARY_MAX",
    "Action",
    "AskState",
    "AskStatus",
    "HelpdeskInputError",
    "Offerer",
    "bump_due_at",
    "can_close",
    "can_offer_help",
    "choose_helpers",
    "next_action",
    "next_due_at",
    "review_due_at",
    "routing_window_start",
    "stale_due_at",
    "validate_details",
    "validate_note",
    "validate_summary",
    "validate_text",
]


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")


# --------------------------------------------------------------------------- routing


@dataclass(frozen=True, slots=True)
class Offerer:
    """A member who offered the ask's topic, with what the cap and the fairness rule need.

    `routed_today` is the number of ask DMs they received in the rolling window (after
    `routing_window_start`); `last_routed_at` is their most recent one, or None if never.
    """

    user_id: int
    last_routed_at: datetime | None
    routed_today: int


def routing_window_start(now: datetime) -> datetime:
    """Start of the rolling 24-hour window ending at `now` (exclusive: a DM sent exactly 24
    hours ago no longer counts)."""
    _require_aware(now, "now")
    return now - ROUTING_WINDOW


def choose_helpers(
    asker_user_id: int,
    offerers: Sequence[Offerer],
    limit_per_ask: int = MAX_HELPERS_PER_ASK,
    limit_per_helper_per_day: int = MAX_ROUTED_PER_HELPER_PER_DAY,
) -> list[int]:
    """User ids to DM about a new ask, in the order to DM them.

    Never the asker; never a helper already at their daily cap; at most `limit_per_ask`.
    Preferred: never DM'd, then the longest since their last DM; ties by user id. An offerer
    listed twice (two offers on one topic) is one helper, counted conservatively: the higher
    count and the later DM.
    """
    if limit_per_ask <= 0 or limit_per_helper_per_day <= 0:
        return []
    merged: dict[int, Offerer] = {}
    for offerer in offerers:
        if offerer.last_routed_at is not None:
            _require_aware(offerer.last_routed_at, "last_routed_at")
        seen = merged.get(offerer.user_id)
        if seen is None:
            merged[offerer.user_id] = offerer
            continue
        lasts = [t for t in (seen.last_routed_at, offerer.last_routed_at) if t is not None]
        merged[offerer.user_id] = Offerer(
            user_id=offerer.user_id,
            last_routed_at=max(lasts) if lasts else None,
            routed_today=max(seen.routed_today, offerer.routed_today),
        )
    eligible = [
        o
        for o in merged.values()
        if o.user_id != asker_user_id and o.routed_today < limit_per_helper_per_day
    ]
    eligible.sort(
        key=lambda o: (
            o.last_routed_at is not None,
            o.last_routed_at.timestamp() if o.last_routed_at is not None else 0.0,
            o.user_id,
        )
    )
    return [o.user_id for o in eligible[:limit_per_ask]]


# --------------------------------------------------------------------------- permissions


def can_close(request_owner_user_id: int, actor_user_id: int, actor_is_admin: bool) -> bool:
    """Whether `actor` may resolve or withdraw a request: its owner, or an admin (Manage Server).

    Admins can close so a departed or unresponsive member's ask doesn't linger on the board.
    """
    return actor_is_admin or request_owner_user_id == actor_user_id


def can_offer_help(request_owner_user_id: int, actor_user_id: int) -> bool:
    """Whether `actor` may press "I can help" on an ask: anyone but its owner."""
    return request_owner_user_id != actor_user_id


# --------------------------------------------------------------------------- ask lifecycle


class AskStatus(StrEnum):
    """Stored status of an ask (a StrEnum, so the database text compares equal)."""

    OPEN = "open"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"
    STALE = "stale"


class Action(Enum):
    """What the lifecycle job should do for an ask now."""

    NONE = "none"
    BUMP = "bump"  # repost / nudge in the help channel
    ASK_OWNER = "ask_owner"  # DM the owner: Keep open / Close
    CLOSE_STALE = "close_stale"  # close as stale (status -> stale)


@dataclass(frozen=True, slots=True)
class AskState:
    """The facts about an ask that decide its next lifecycle step.

    `helped`: someone pressed "I can help". `bumped_at`: when it was bumped (never again after).
    `review_sent_at`: when the owner was last asked Keep open / Close. `kept_open_at`: when
    they last answered "Keep open". A review is outstanding when it was sent after the last
    "Keep open" (or there was none).
    """

    created_at: datetime
    helped: bool = False
    bumped_at: datetime | None = None
    review_sent_at: datetime | None = None
    kept_open_at: datetime | None = None
    status: AskStatus | str = AskStatus.OPEN

    def __post_init__(self) -> None:
        _require_aware(self.created_at, "created_at")
        for name in ("bumped_at", "review_sent_at", "kept_open_at"):
            value = getattr(self, name)
            if value is not None:
                _require_aware(value, name)

    @property
    def is_open(self) -> bool:
        """Whether the ask is still open, so its lifecycle jobs still apply."""
        return self.status == AskStatus.OPEN

    @property
    def review_outstanding(self) -> bool:
        """The owner was asked and has not answered "Keep open" since."""
        if self.review_sent_at is None:
            return False
        return self.kept_open_at is None or self.kept_open_at < self.review_sent_at


def bump_due_at(created_at: datetime) -> datetime:
    """When an ask nobody has offered help on is bumped: 48 hours after it was created."""
    return created_at + BUMP_AFTER


def review_due_at(since: datetime) -> datetime:
    """When the owner is asked whether to keep the ask open: 14 days after `since`.

    `since` is the ask's `created_at`, or its `kept_open_at` when the owner chose "Keep open"
    (which restarts the 14-day clock).
    """
    return since + REVIEW_AFTER


def stale_due_at(review_sent_at: datetime) -> datetime:
    """When an unanswered review closes the ask as stale: 7 days after the review was sent."""
    return review_sent_at + STALE_AFTER_REVIEW


def _bump_eligible(state: AskState) -> bool:
    return not state.helped and state.bumped_at is None and state.review_sent_at is None


def next_due_at(state: AskState) -> datetime | None:
    """The earliest instant at which `next_action` stops returning NONE, if nothing else
    happens; None when no step is left (closed, or waiting on nothing).

    The service schedules the ask's lifecycle job for this instant and reschedules after every
    change (help offered, bump, review, keep open).
    """
    if not state.is_open:
        return None
    if state.review_outstanding:
        assert state.review_sent_at is not None
        return stale_due_at(state.review_sent_at)
    due = review_due_at(state.kept_open_at or state.created_at)
    if _bump_eligible(state):
        due = min(due, bump_due_at(state.created_at))
    return due


def next_action(state: AskState, now: datetime) -> Action:
    """What to do for `state` at `now`. Boundaries are inclusive: due at 48 h means at 48 h.

    Precedence when several are due (only after downtime): CLOSE_STALE, then ASK_OWNER, then
    BUMP. The service performs the action, records it (`bumped_at`, `review_sent_at`, status)
    and asks again, so at most one message goes out per decision.
    """
    _require_aware(now, "now")
    if not state.is_open:
        return Action.NONE
    if state.review_outstanding:
        assert state.review_sent_at is not None
        if now >= stale_due_at(state.review_sent_at):
            return Action.CLOSE_STALE
        return Action.NONE
    if now >= review_due_at(state.kept_open_at or state.created_at):
        return Action.ASK_OWNER
    if _bump_eligible(state) and now >= bump_due_at(state.created_at):
        return Action.BUMP
    return Action.NONE


# --------------------------------------------------------------------------- text input


def _clean_text(text: str | None) -> str:
    """Trim, unify newlines, and drop control characters other than newline and tab.

    Control characters are invisible and can corrupt how a post renders; newlines are how
    members structure details, so they stay.
    """
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        ch for ch in text if ch in "\n\t" or not (ch < " " or "\x7f" <= ch <= "\x9f")
    ).strip()


def validate_text(text: str | None, *, label: str, maximum: int, required: bool) -> str:
    """Trimmed `text`, or `HelpdeskInputError` naming the limit and the actual length.

    Length is counted after trimming, so stray spaces never push text over the limit. An
    optional field left empty returns "".
    """
    cleaned = _clean_text(text)
    if not cleaned:
        if required:
            raise HelpdeskInputError(
                f"Add {label} (1–{maximum:,} characters) so helpers know what you need."
            )
        return ""
    if len(cleaned) > maximum:
        raise HelpdeskInputError(
            f"{label[0].upper()}{label[1:]} can be at most {maximum:,} characters; "
            f"yours has {len(cleaned):,}. Please shorten it by {len(cleaned) - maximum:,}."
        )
    return cleaned


def validate_details(text: str | None, required: bool = True) -> str:
    """An ask's or offer's details: 1-1,500 characters (optional for offers: pass False)."""
    return validate_text(text, label="details", maximum=DETAILS_MAX, required=required)


def validate_note(text: str | None) -> str:
    """A thank-you note for `/resolve`: optional, up to 1,000 characters; "" when absent."""
    return validate_text(text, label="the note", maximum=NOTE_MAX, required=False)


def validate_summary(text: str | None) -> str:
    """What helped, for `/resolve summary`: optional, up to 1,000 characters; "" when absent."""
    return validate_text(text, label="the summary", maximum=SUMMARY_MAX, required=False)
