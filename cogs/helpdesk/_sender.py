"""The Discord side of the ledger's outbox: implements `bot.helpdesk.models.Messenger`.

Every message carries the outbox's deterministic nonce (a resend after a crash returns the first
message) and `AllowedMentions.none()`: asks, notes and details are member-written text.
"""

from __future__ import annotations

import discord

from bot.helpdesk.models import DeliveryRefused, MessageKind, Outgoing

from .._sending import dm_channel, is_final_refusal, refusal_reason
from ._render import ask_embed, guild_name, topic_text
from ._views import help_view, review_view


#: Discord answers these when it will never accept the message (not worth retrying).
class DiscordHelpdeskSender:
    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def deliver(self, message: Outgoing) -> int | None:
        try:
            target = await self._target(message)
            content, embed, view = self._render(message)
            sent = await target.send(
                content,
                embed=embed,
                view=view,
                allowed_mentions=discord.AllowedMentions.none(),
                nonce=message.nonce,
            )
        except discord.HTTPException as exc:
            if not is_final_refusal(exc):
                raise  # passing: the outbox sends it again later
            raise DeliveryRefused(refusal_reason(exc)) from exc
        return sent.id

    async def _target(self, message: Outgoing) -> discord.abc.Messageable:
        if message.recipient_user_id is None:
            assert message.channel_id is not None
            # Through the guild: `Client.get_channel` scans every guild the bot is in.
            guild = self._client.get_guild(message.ask.guild_id)
            channel = guild.get_channel_or_thread(message.channel_id) if guild else None
            if channel is None:
                return self._client.get_partial_messageable(
                    message.channel_id, guild_id=message.ask.guild_id
                )
            if not isinstance(channel, discord.abc.Messageable):
                raise DeliveryRefused(f"<#{message.channel_id}> is not a text channel")
            return channel
        user_id = message.recipient_user_id
        return await dm_channel(self._client, user_id)

    def _render(
        self, message: Outgoing
    ) -> tuple[str | None, discord.Embed | None, discord.ui.View | None]:
        ask = message.ask
        where = guild_name(self._client, ask.guild_id)
        topic = topic_text(ask.topic)
        embed = ask_embed(ask)
        match message.kind:
            case MessageKind.POST:
                return None, embed, help_view(ask.guild_id, ask.number)
            case MessageKind.BUMP:
                return (
                    f"Still looking for help on {topic}: can anyone lend a hand?",
                    embed,
                    help_view(ask.guild_id, ask.number),
                )
            case MessageKind.ROUTE:
                return (
                    f"Someone in {where} asked for help on {topic}, which you offered to help "
                    f"with. If you can, press the button and they'll hear from Kindred. "
                    f"(To stop these, `/withdraw` your offer there.)",
                    embed,
                    help_view(ask.guild_id, ask.number),
                )
            case MessageKind.HELP:
                return (
                    f"Good news: <@{message.helper_user_id}> can help with your ask "
                    f"`{ask.ref}` on {topic} in {where}. Send them a message! When you're "
                    f"sorted, `/resolve {ask.ref}` there (you can thank them privately).",
                    None,
                    None,
                )
            case MessageKind.THANKS:
                thanks = discord.Embed(
                    description=message.note or None, color=embed.color
                ).set_author(name="A note for you")
                return (
                    f"Thank you for helping with {topic} in {where}! <@{message.closer_user_id}> "
                    f"marked `{ask.ref}` resolved and wanted you to know you helped.",
                    thanks if message.note else None,
                    None,
                )
            case MessageKind.REVIEW:
                return (
                    f"Your ask `{ask.ref}` on {topic} in {where} has been open for two weeks. "
                    "Is it still open? If I don't hear back within a week, I'll close it.",
                    embed,
                    review_view(ask.guild_id, ask.number),
                )
        raise AssertionError(f"unknown message kind {message.kind}")
