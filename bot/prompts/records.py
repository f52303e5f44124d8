"""The prompt feature's plain values (what the service returns) and their database rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from bot.db import Row
from bot.schedules import format_hhmm, parse_hhmm
from bot.timeutil import from_db

DAILY_JOB = "prompts.daily"
DEFAULT_TALK_HOURS = 6
MAX_TALK_HOURS = 23


def daily_key(guild_id: int) -> str:
    """The scheduler key of a guild's daily-post job (one per guild)."""
    return f"prompts.daily:{guild_id}"


@dataclass(frozen=True, slots=True)
class PromptSettings:
    """A guild's daily-prompt setup: channel, time, weekends, threads, role, pause."""

    guild_id: int
    channel_id: int
    post_time: time
    weekends: bool
    threads: bool
    role_id: int | None
    paused: bool
    active_since: datetime
    talk_hours: int = DEFAULT_TALK_HOURS  # 0: no "Talk 1:1 about this" button

    @property
    def summary(self) -> str:
        """The schedule in words for status lines, e.g. "weekdays at 08:00"."""
        days = "every day" if self.weekends else "weekdays"
        thread = ", with a thread for answers" if self.threads else ""
        talk = f", Talk 1:1 paired {self.talk_hours} h after" if self.talk_hours else ""
        return f"{days} at {format_hhmm(self.post_time)}{thread}{talk}"


@dataclass(frozen=True, slots=True)
class PromptPost:
    """One post attempt (the record of a prompt's use when it was sent)."""

    id: int
    guild_id: int
    local_date: date
    extra: bool
    status: str  # 'claimed' (in the outbox) | 'sent' | 'failed' | 'skipped'
    reason: str | None
    prompt_id: str | None
    text: str | None
    theme: str | None
    channel_id: int | None
    role_id: int | None
    threads: bool
    message_id: int | None
    thread_id: int | None
    talk_hours: int = 0


@dataclass(frozen=True, slots=True)
class Today:
    """For `/prompt today`: today's post if it is out, else when the next one comes."""

    enabled: bool
    post: PromptPost | None
    next_at: datetime | None


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A member's suggested prompt and where it stands in review."""

    id: int
    guild_id: int
    suggested_by_user_id: int
    text: str
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Approval:
    """The outcome of approving a suggestion: the new prompt and whether its author was told."""

    suggestion: Suggestion
    prompt_id: str
    dm_sent: bool


def settings_from_row(row: Row) -> PromptSettings:
    """A `prompt_settings` row as the value the service hands out."""
    return PromptSettings(
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        post_time=parse_hhmm(row["post_time"]),
        weekends=bool(row["weekends"]),
        threads=bool(row["threads"]),
        role_id=row["role_id"],
        paused=bool(row["paused"]),
        active_since=from_db(row["active_since"]),
        talk_hours=row["talk_hours"],
    )


def post_from_row(row: Row) -> PromptPost:
    """A `prompt_posts` row as the value the service hands out."""
    return PromptPost(
        id=row["id"],
        guild_id=row["guild_id"],
        local_date=date.fromisoformat(row["local_date"]),
        extra=bool(row["extra"]),
        status=row["status"],
        reason=row["reason"],
        prompt_id=row["prompt_id"],
        text=row["prompt_text"],
        theme=row["theme"],
        channel_id=row["channel_id"],
        role_id=row["role_id"],
        threads=bool(row["threads"]),
        message_id=row["message_id"],
        thread_id=row["thread_id"],
        talk_hours=row["talk_hours"],
    )


def suggestion_from_row(row: Row) -> Suggestion:
    """A `prompt_suggestions` row as the value the service hands out."""
    return Suggestion(
        row["id"],
        row["guild_id"],
        row["suggested_by_user_id"],
        row["text"],
        row["status"],
        from_db(row["created_at"]),
    )
