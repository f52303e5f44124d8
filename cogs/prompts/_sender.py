"""The Discord side of posting: implements `bot.prompts.posting.PromptSender` for the service."""

from __future__ import annotations

import logging

import aiohttp
import discord

from bot.prompts.posting import ApprovalNotice, Delivery, DeliveryDeferred, DeliveryFailed, Posted

from .._sending import dm_channel, is_final_refusal, refusal_reason
from ._render import COLOR, failure_reason, prompt_embed, thread_name

log = logging.getLogger(__name__)

THREAD_ALREADY_EXISTS = 160004
ONE_DAY_MINUTES = 1440


class DiscordPromptSender:
    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def post(self, delivery: Delivery) -> Posted:
        """Send the embed with its nonce (a resend returns the first message), then the thread."""
        # Looked up through the guild: `Client.get_channel` scans every guild (slow at 10,000).
        guild = self._client.get_guild(delivery.guild_id)
        channel = (
            guild.get_channel_or_thread(delivery.channel_id) if guild else None
        ) or self._client.get_partial_messageable(delivery.channel_id, guild_id=delivery.guild_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise DeliveryFailed(f"<#{delivery.channel_id}> is not a channel Kindred can post in")
        if delivery.role_id is not None:
            content = f"<@&{delivery.role_id}>"
            mentions = discord.AllowedMentions(
                everyone=False, users=False, roles=[discord.Object(delivery.role_id)]
            )
        else:
            content, mentions = None, discord.AllowedMentions.none()
        try:
            message = await channel.send(
                content,
                embed=prompt_embed(delivery.text, delivery.theme, delivery.local_date),
                allowed_mentions=mentions,
                nonce=delivery.nonce,
            )
        except discord.HTTPException as exc:
            if is_final_refusal(exc):
                raise DeliveryFailed(failure_reason(exc, delivery.channel_id)) from exc
            raise DeliveryDeferred(f"Discord error {exc.status}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryDeferred(f"network error: {exc!r}") from exc
        if not delivery.threads:
            return Posted(message.id)
        try:
            thread = await message.create_thread(
                name=thread_name(delivery.text, delivery.local_date),
                auto_archive_duration=ONE_DAY_MINUTES,
            )
        except discord.HTTPException as exc:
            if exc.code == THREAD_ALREADY_EXISTS:  # a resend: the thread shares the message id
                return Posted(message.id, message.id)
            log.warning("Prompt %s posted but its thread failed: %s", delivery.post_id, exc)
            problem = "the thread could not be opened: " + failure_reason(exc, delivery.channel_id)
            return Posted(message.id, None, problem)
        return Posted(message.id, thread.id)

    async def direct_message(self, notice: ApprovalNotice) -> None:
        guild = self._client.get_guild(notice.guild_id)
        where = f"**{guild.name}**" if guild else "your server"
        embed = discord.Embed(description=notice.text, color=COLOR)
        embed.set_footer(text=f"Prompt {notice.prompt_id}")
        try:
            channel = await dm_channel(self._client, notice.user_id)
            await channel.send(
                f"Thank you! Your suggested prompt was approved in {where} and joins the daily "
                "rotation.",
                embed=embed,
                allowed_mentions=discord.AllowedMentions.none(),
                nonce=notice.nonce,
            )
        except discord.HTTPException as exc:
            raise DeliveryFailed(refusal_reason(exc)) from exc
