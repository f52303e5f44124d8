"""What a renderer turns an outbox row into, and how a sent message is recognised again.

Cogs register one renderer per kind (`DiscordTransport.register`); only they know embeds and
views. A renderer must be deterministic: the same row renders the same message on every
attempt, which is what lets a read-back recognise the message an earlier attempt created.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.outbox import OutboxRow


@dataclass(frozen=True, slots=True)
class Post:
    """A new message in the row's target: its channel or thread, or the member's DM.

    With `thread_name`, a public thread is opened on the message once it is sent (one row for
    both, so a resend or a read-back finishes what a crash left half done: opening a thread
    that exists already is answered with its id).
    """

    content: str | None = None
    embeds: Sequence[discord.Embed] = ()
    view: discord.ui.View | None = None
    #: Who may be pinged. Nobody unless the renderer says so (e.g. the prompt's role).
    allowed_mentions: discord.AllowedMentions = field(default_factory=discord.AllowedMentions.none)
    thread_name: str | None = None
    thread_archive_minutes: int = 1440


@dataclass(frozen=True, slots=True)
class Edit:
    """New content for the row's `edit_message_id`; a field left MISSING stays as it is.

    Idempotent: an edit applied twice looks the same, so edits are never read back.
    """

    content: str | None = discord.utils.MISSING
    embeds: Sequence[discord.Embed] = discord.utils.MISSING
    view: discord.ui.View | None = discord.utils.MISSING


@dataclass(frozen=True, slots=True)
class ThreadOpening:
    """A thread under the row's channel, its members added and (optionally) a first message.

    The thread is found by its `name` before one is opened, so the name must be unique to the
    row (e.g. carry the group's id); the first message is a nonce'd send, read back like a post.
    """

    name: str
    private: bool = True
    member_ids: Sequence[int] = ()
    first: Post | None = None
    auto_archive_minutes: int = 1440


@dataclass(frozen=True, slots=True)
class AddMembers:
    """Add members to the thread that is the row's `channel_id` (idempotent)."""

    member_ids: Sequence[int]


Rendered = Post | Edit | ThreadOpening | AddMembers
Renderer = Callable[[OutboxRow], Rendered]


def _component_ids(components: Sequence[Any]) -> list[str]:
    """Every custom_id in a message's component payloads (nested rows included)."""
    found: list[str] = []
    for component in components:
        if component.get("custom_id"):
            found.append(component["custom_id"])
        found.extend(_component_ids(component.get("components", [])))
    return found


def _embed_marks(embeds: Sequence[discord.Embed]) -> list[tuple[str, str]]:
    return [(e.title or "", e.description or "") for e in embeds]


def same_message(message: discord.Message, post: Post) -> bool:
    """Whether `message` is what `post` renders: content, embed titles and descriptions, and
    component custom_ids (history gives no nonce, so the message itself is the marker)."""
    if (message.content or "").strip() != (post.content or "").strip():
        return False
    if _embed_marks(message.embeds) != _embed_marks(post.embeds):
        return False
    sent_ids = _component_ids([c.to_dict() for c in message.components])
    wanted_ids = _component_ids(post.view.to_components()) if post.view is not None else []
    return sent_ids == wanted_ids
