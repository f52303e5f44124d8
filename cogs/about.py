"""`/about`: what Kindred does in this server and the member's own status."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.edge.interactions import reply

from .render import feature_line

if TYPE_CHECKING:
    from bot.app import Kindred

INTRO = (
    "Kindred helps this community grow together: a daily growth prompt to reflect on, "
    "one-on-one pairings with someone facing the same struggles, and a help ledger where "
    "asking for help is normal and offers reach the people who need them."
)


class About(commands.Cog):
    def __init__(self, bot: Kindred) -> None:
        self.services = bot.services

    @app_commands.command(name="about", description="What Kindred does here, and your status")
    @app_commands.guild_only()
    async def about(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        zone = await self.services.guilds.timezone(interaction.guild_id)
        statuses = [
            await f.status(interaction.guild_id, interaction.user.id)
            for f in self.services.features
        ]
        embed = discord.Embed(title="Kindred", description=INTRO, color=discord.Color.teal())
        lines = [feature_line(s) for s in statuses] or ["No features are set up yet."]
        embed.add_field(name="In this server", value="\n".join(lines)[:1024], inline=False)
        mine = [f"{s.name}: {s.member_status}" for s in statuses if s.member_status]
        if mine:
            embed.add_field(name="You", value="\n".join(mine)[:1024], inline=False)
        embed.set_footer(text=f"Times are shown in your own timezone; the server uses {zone.key}.")
        await reply(interaction, embed=embed)


async def setup(bot: Kindred) -> None:
    await bot.add_cog(About(bot))
