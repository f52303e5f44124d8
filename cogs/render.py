"""Rendering of core values shared by several cogs."""

from __future__ import annotations

import discord

from bot.features import FeatureStatus
from bot.overview import GuildOverview


def feature_line(status: FeatureStatus) -> str:
    """One feature as Markdown: on/off, where, when next."""
    if not status.enabled:
        text = f"**{status.name}**: off"
    else:
        text = f"**{status.name}**: on"
        if status.channel_id:
            text += f" in <#{status.channel_id}>"
        if status.summary:
            text += f", {status.summary}"
        if status.role_id:
            text += f" (role <@&{status.role_id}>)"
        if status.next_at:
            text += f"; next {discord.utils.format_dt(status.next_at, 'F')}"
            text += f" ({discord.utils.format_dt(status.next_at, 'R')})"
    return text


def overview_embed(overview: GuildOverview) -> discord.Embed:
    """`/admin show`: the timezone, one line per feature, and every recorded problem."""
    embed = discord.Embed(title="Kindred settings", color=discord.Color.teal())
    embed.add_field(name="Timezone", value=overview.timezone, inline=False)
    for status in overview.features:
        embed.add_field(name=status.name, value=feature_line(status)[:1024], inline=False)
    if not overview.features:
        embed.add_field(name="Features", value="No features are set up yet.", inline=False)
    problems = "\n".join(f"⚠ {p}" for p in overview.problems)
    embed.add_field(name="Problems", value=problems[:1024] or "None recorded.", inline=False)
    return embed
