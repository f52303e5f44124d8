"""How the prompt feature's outbox rows look on Discord: the daily post (with its thread for
answers), and the DM thanking a member whose suggested prompt was approved."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import discord

from bot.edge.rendered import Post
from bot.outbox import OutboxRow
from bot.prompts.daily import POST_KIND
from bot.prompts.suggestions import APPROVED_KIND

from ._doors import post_view
from ._render import COLOR, prompt_embed, thread_name

if TYPE_CHECKING:
    from bot.app import Kindred

KINDS = (POST_KIND, APPROVED_KIND)
ONE_DAY_MINUTES = 1440


def daily_post(row: OutboxRow) -> Post:
    """The prompt as an embed, a public thread for answers if the guild wants one; the
    configured role (the only one) is mentioned and pinged."""
    p = row.payload
    day = date.fromisoformat(p["local_date"])
    embed = prompt_embed(p["text"], p["theme"], day)
    thread = thread_name(p["text"], day) if p["threads"] else None
    # Posts enqueued before the buttons existed (no "talk_hours") render as they were sent.
    view = post_view(p["post_id"], p["talk_hours"]) if "talk_hours" in p else None
    role_id = p["role_id"]
    if role_id is None:
        return Post(
            embeds=(embed,),
            view=view,
            thread_name=thread,
            thread_archive_minutes=ONE_DAY_MINUTES,
        )
    mentions = discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(role_id)])
    return Post(
        content=f"<@&{role_id}>",
        embeds=(embed,),
        view=view,
        allowed_mentions=mentions,
        thread_name=thread,
        thread_archive_minutes=ONE_DAY_MINUTES,
    )


def register(bot: Kindred) -> None:
    """Register the renderers of the prompt feature's kinds with the bot's transport."""

    def approved(row: OutboxRow) -> Post:
        guild = bot.get_guild(row.guild_id)
        where = f"**{guild.name}**" if guild else "your server"
        embed = discord.Embed(description=row.payload["text"], color=COLOR)
        embed.set_footer(text=f"Prompt {row.payload['prompt_id']}")
        return Post(
            content=f"Thank you! Your suggested prompt was approved in {where} and joins the "
            "daily rotation.",
            embeds=(embed,),
        )

    bot.transport.register(POST_KIND, daily_post)
    bot.transport.register(APPROVED_KIND, approved)
