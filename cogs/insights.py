"""`/admin insights`: the reply (the command itself is declared on the `/admin` cog)."""

from __future__ import annotations

import io

import discord

from bot.insights.service import InsightsService

PICTURE = "kindred-insights.png"
DETAILS = "kindred-insights.txt"


async def send_insights(
    interaction: discord.Interaction, service: InsightsService, weeks: int
) -> None:
    """Defer (drawing takes a second), then send the PNG and the figures as text, ephemerally."""
    assert interaction.guild_id is not None
    await interaction.response.defer(ephemeral=True, thinking=True)
    name = interaction.guild.name if interaction.guild is not None else "This server"
    report = await service.report(interaction.guild_id, name, weeks)
    await interaction.followup.send(
        report.summary,
        files=[
            discord.File(io.BytesIO(report.png), filename=PICTURE, description=report.alt_text),
            discord.File(io.BytesIO(report.details.encode()), filename=DETAILS),
        ],
        ephemeral=True,
        allowed_mentions=discord.AllowedMentions.none(),
    )
