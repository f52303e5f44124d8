"""The outbox's Discord side: implements `bot.outbox.Transport` with discord.py.

For each row: resolve the target (a guild channel through its guild, a DM channel by member
id), render it with the renderer the kind's cog registered, send it with the row's nonce (no
one pinged unless the renderer allows it), and classify Discord's answer. Past the nonce window
the runner asks `find_delivered` to read the channel back for the bot's own message.

Classification (the one rule for every sender): a 403 with code 50007 is DMs closed
(`Refused`); any other 4xx fails the same way again (`Failed`, with a reason an admin can act
on); a 5xx, a 429 that outlasted discord.py's own retries, a network error or anything
unexpected may pass (`Transient`): the row keeps its nonce and is tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import aiohttp
import discord

from bot.outbox import Failed, OutboxRow, Outcome, Refused, Sent, Transient

from .rendered import (
    AddMembers,
    Edit,
    Post,
    Rendered,
    Renderer,
    ThreadOpening,
    same_message,
)

log = logging.getLogger(__name__)

CANNOT_DM = 50007  # Discord's code when a member does not accept DMs from the bot
THREAD_ALREADY_EXISTS = 160004
UNKNOWN_CHANNEL, UNKNOWN_MESSAGE = 10003, 10008
MISSING_ACCESS, MISSING_PERMISSIONS = 50001, 50013
TOO_MANY_REQUESTS = 429
#: How many messages after the claim a read-back looks through. The row's message was created
#: within seconds of the claim, so it is among the first; more would only cost requests.
READ_BACK_LIMIT = 300


class Unsendable(Exception):
    """The row cannot go where it points (not a channel Kindred can post in): final."""


class NoRenderer(Exception):
    """No cog registered how this kind looks (not loaded yet): try again later."""


def where(row: OutboxRow) -> str:
    """The row's target in words an admin can act on."""
    if row.recipient_user_id is not None:
        return f"the DM to <@{row.recipient_user_id}>"
    return f"<#{row.channel_id}>"


def classify(exc: BaseException, row: OutboxRow) -> Outcome:
    """Discord's refusal (or a failure to reach it) as the outbox's outcome."""
    if isinstance(exc, Unsendable):
        return Failed(str(exc))
    if isinstance(exc, NoRenderer):
        return Transient(str(exc))
    if isinstance(exc, discord.HTTPException):
        if exc.code == CANNOT_DM:
            return Refused(f"DMs are closed: {exc.text or exc.status}")
        if 400 <= exc.status < 500 and exc.status != TOO_MANY_REQUESTS:
            gone = exc.code in (UNKNOWN_CHANNEL, UNKNOWN_MESSAGE) or isinstance(
                exc, discord.NotFound
            )
            return Failed(refusal_reason(exc, row), exc.code, target_gone=gone)
        return Transient(f"Discord error {exc.status} (code {exc.code})")
    if isinstance(exc, discord.RateLimited):
        return Transient("rate limited", retry_after=exc.retry_after)
    if isinstance(exc, aiohttp.ClientError | TimeoutError | OSError):
        return Transient(f"network error: {exc!r}")
    log.error("Sending %s (%s) failed unexpectedly", row.dedupe_key, row.kind, exc_info=exc)
    return Transient(f"an unexpected error: {exc!r}")


def refusal_reason(exc: discord.HTTPException, row: OutboxRow) -> str:
    """A final refusal in words an admin can act on (shown by /admin show and stats)."""
    target = where(row)
    if exc.code == UNKNOWN_MESSAGE:
        return f"the message in {target} no longer exists"
    if exc.code == UNKNOWN_CHANNEL or isinstance(exc, discord.NotFound):
        return f"the channel {target} no longer exists"
    if exc.code in (MISSING_ACCESS, MISSING_PERMISSIONS) or isinstance(exc, discord.Forbidden):
        return f"missing permission in {target}"
    return f"Discord error {exc.status} (code {exc.code}) in {target}"


class DiscordTransport:
    """Sends outbox rows with discord.py; cogs register a renderer per kind."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client
        self.renderers: dict[str, Renderer] = {}

    def register(self, kind: str, renderer: Renderer) -> None:
        """How rows of `kind` look on Discord (a cog calls this in `cog_load`)."""
        self.renderers[kind] = renderer

    def unregister(self, *kinds: str) -> None:
        """Forget the renderers of `kinds` (a cog calls this when it unloads)."""
        for kind in kinds:
            self.renderers.pop(kind, None)

    # -- Transport ---------------------------------------------------------------------------

    async def deliver(self, row: OutboxRow) -> Outcome:
        """Send, edit or open what the row's renderer describes, with the row's nonce."""
        try:
            match self._render(row):
                case Post() as post:
                    target = await self._messageable(row)
                    message = await self._send(target, post, row.nonce)
                    return await self._with_thread(row, post, message)
                case Edit() as edit:
                    return await self._edit(row, edit)
                case ThreadOpening() as opening:
                    return await self._open_thread(row, opening)
                case AddMembers(member_ids=member_ids):
                    assert row.channel_id is not None
                    await self._add_members(row.channel_id, member_ids)
                    return Sent(None, row.channel_id, row.channel_id)
        except Exception as exc:
            return classify(exc, row)

    async def find_delivered(self, row: OutboxRow, since: datetime) -> Outcome | None:
        """Read back the target after `since` for the bot's own copy of the row."""
        try:
            match self._render(row):
                case Post() as post:
                    target = await self._messageable(row)
                    found = await self._find_own(target, post, since)
                    return None if found is None else await self._with_thread(row, post, found)
                case ThreadOpening(first=Post() as first) as opening:
                    thread = self._existing_thread(self._parent(row), opening.name)
                    found = None if thread is None else await self._find_own(thread, first, since)
                    if thread is None or found is None:
                        return None
                    return Sent(found.id, thread.id, thread.id)
                case _:
                    return None  # edits and member lists are idempotent: just apply them again
        except Exception as exc:
            return classify(exc, row)

    # -- targets and rendering ---------------------------------------------------------------

    def _render(self, row: OutboxRow) -> Rendered:
        renderer = self.renderers.get(row.kind)
        if renderer is None:
            raise NoRenderer(f"no renderer for {row.kind} (is its cog loaded?)")
        return renderer(row)

    async def _messageable(self, row: OutboxRow) -> discord.abc.Messageable:
        if row.recipient_user_id is not None:
            # Kindred keeps no member cache: a DM channel needs only the id (no fetch_user).
            return await self._client.create_dm(discord.Object(id=row.recipient_user_id))
        assert row.channel_id is not None
        # Through the guild: `Client.get_channel` scans every guild (slow at 10,000).
        guild = self._client.get_guild(row.guild_id)
        channel = guild.get_channel_or_thread(row.channel_id) if guild is not None else None
        if channel is None:
            return self._client.get_partial_messageable(row.channel_id, guild_id=row.guild_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise Unsendable(f"<#{row.channel_id}> is not a channel Kindred can post in")
        return channel

    def _parent(self, row: OutboxRow) -> discord.TextChannel:
        guild = self._client.get_guild(row.guild_id)
        channel = guild.get_channel(row.channel_id or 0) if guild is not None else None
        if not isinstance(channel, discord.TextChannel):
            raise Unsendable(f"the channel <#{row.channel_id}> is gone or not a text channel")
        return channel

    @staticmethod
    async def _send(target: discord.abc.Messageable, post: Post, nonce: str) -> discord.Message:
        return await target.send(
            post.content,
            embeds=list(post.embeds),
            view=post.view or discord.utils.MISSING,
            allowed_mentions=post.allowed_mentions,
            nonce=nonce,
        )

    async def _find_own(
        self, channel: discord.abc.Messageable, post: Post, since: datetime
    ) -> discord.Message | None:
        """The bot's message matching `post` among those created after `since`."""
        me = self._client.user
        after = discord.Object(id=discord.utils.time_snowflake(since))
        async for message in channel.history(after=after, limit=READ_BACK_LIMIT, oldest_first=True):
            if me is not None and message.author.id == me.id and same_message(message, post):
                return message
        return None

    # -- edits and threads -------------------------------------------------------------------

    async def _edit(self, row: OutboxRow, edit: Edit) -> Outcome:
        assert row.channel_id is not None and row.edit_message_id is not None
        channel = self._client.get_partial_messageable(row.channel_id, guild_id=row.guild_id)
        message = channel.get_partial_message(row.edit_message_id)
        await message.edit(content=edit.content, embeds=edit.embeds, view=edit.view)
        return Sent(row.edit_message_id, row.channel_id)

    def _existing_thread(self, parent: discord.TextChannel, name: str) -> discord.Thread | None:
        """The thread this row opened before (a retry after a crash), found by its name among
        the threads Kindred itself opened: a member's thread that copies the name is never
        reused, or Kindred would add people to a thread someone else controls."""
        me = self._client.user
        if me is None:
            return None
        return discord.utils.find(lambda t: t.name == name and t.owner_id == me.id, parent.threads)

    async def _with_thread(self, row: OutboxRow, post: Post, message: discord.Message) -> Outcome:
        """The post is sent; open its thread if it wants one (again after a crash: an existing
        thread answers 160004 and has the message's id). A refused thread leaves the post sent
        with the problem noted; a passing error retries the row (the resend is deduplicated)."""
        sent = Sent(message.id, message.channel.id)
        if post.thread_name is None:
            return sent
        try:
            await self._client.http.start_thread_with_message(
                message.channel.id,
                message.id,
                name=post.thread_name,
                auto_archive_duration=post.thread_archive_minutes,  # type: ignore[arg-type]
            )
        except discord.HTTPException as exc:
            if exc.code != THREAD_ALREADY_EXISTS:
                outcome = classify(exc, row)
                if not isinstance(outcome, Failed):
                    return outcome
                return replace(sent, problem=f"the thread could not be opened: {outcome.reason}")
        return replace(sent, thread_id=message.id)

    async def _open_thread(self, row: OutboxRow, opening: ThreadOpening) -> Outcome:
        parent = self._parent(row)
        allowed = parent.permissions_for(parent.guild.me)
        private, public = allowed.create_private_threads, allowed.create_public_threads
        if not ((private if opening.private else public) and allowed.send_messages_in_threads):
            # Checked first so a thread nobody could write in is never left behind, empty.
            raise Unsendable(f"missing permission to open threads in <#{parent.id}>")
        thread = self._existing_thread(parent, opening.name) or await parent.create_thread(
            name=opening.name,
            type=(
                discord.ChannelType.private_thread
                if opening.private
                else discord.ChannelType.public_thread
            ),
            invitable=False,
            auto_archive_duration=opening.auto_archive_minutes,  # type: ignore[arg-type]
        )
        await self._add_members(thread.id, opening.member_ids)
        if opening.first is None:
            return Sent(None, thread.id, thread.id)
        message = await self._send(thread, opening.first, row.nonce)
        return Sent(message.id, thread.id, thread.id)

    async def _add_members(self, thread_id: int, member_ids: Sequence[int]) -> None:
        for user_id in member_ids:  # adding a member twice is harmless
            await self._client.http.add_user_to_thread(thread_id, user_id)
