"""Rendering of core values shared by several cogs."""

from __future__ import annotations

import discord

from bot.features import FeatureStatus


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
