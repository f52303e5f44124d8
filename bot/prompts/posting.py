"""The seam between the prompt service (rules, database) and Discord (sending).

The service decides *what* to send and records *whether* it was sent; a `PromptSender`
(implemented by the prompts cog) does the sending. Keeping the seam this narrow lets the core
import nothing from discord and lets unit tests drive the whole posting flow with a fake sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

NONCE_PREFIX_POST = "kindred-prompt-"
NONCE_PREFIX_DM = "kindred-sugg-"


def post_nonce(post_id: int) -> str:
    """The deterministic nonce of a post row: a resend after a crash is deduplicated by Discord."""
    return f"{NONCE_PREFIX_POST}{post_id}"


def approval_nonce(suggestion_id: int) -> str:
    return f"{NONCE_PREFIX_DM}{suggestion_id}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One prompt post to send, with everything fixed at claim time (so a resend is identical)."""

    post_id: int
    guild_id: int
    channel_id: int
    role_id: int | None
    threads: bool
    local_date: date
    prompt_id: str
    text: str
    theme: str

    @property
    def nonce(self) -> str:
        return post_nonce(self.post_id)


@dataclass(frozen=True, slots=True)
class Posted:
    """What Discord created; `thread_problem` says why the thread is missing, if it is."""

    message_id: int
    thread_id: int | None = None
    thread_problem: str | None = None


@dataclass(frozen=True, slots=True)
class ApprovalNotice:
    """The DM telling a member their suggested prompt was approved."""

    suggestion_id: int
    guild_id: int
    user_id: int
    prompt_id: str
    text: str

    @property
    def nonce(self) -> str:
        return approval_nonce(self.suggestion_id)


class DeliveryFailed(Exception):
    """Discord refused the send; the message is the reason shown to admins.

    e.g. "missing permission in <#123>" or "the channel <#123> no longer exists".
    """


class DeliveryDeferred(Exception):
    """Discord had a temporary problem (a 5xx or a network error): try the same send again.

    The row stays claimed and keeps its nonce, so a retry that reaches Discord after all is
    deduplicated rather than posted twice.
    """


class PromptSender(Protocol):
    async def post(self, delivery: Delivery) -> Posted:
        """Send the prompt (and open its thread); raise DeliveryFailed when Discord refuses,
        DeliveryDeferred when it is temporarily unavailable."""
        ...

    async def direct_message(self, notice: ApprovalNotice) -> None:
        """DM the suggester; raise DeliveryFailed when Discord refuses (e.g. DMs closed)."""
        ...


class SenderSlot:
    """Where the prompts cog plugs in its `PromptSender` when it loads (None when it unloads)."""

    def __init__(self) -> None:
        self._sender: PromptSender | None = None

    def attach(self, sender: PromptSender | None) -> None:
        self._sender = sender

    def require(self) -> PromptSender:
        if self._sender is None:
            # Raised inside a job, the scheduler logs it and retries with backoff.
            raise RuntimeError("the prompts cog is not loaded, so nothing can be posted")
        return self._sender
