"""Guild join and leave events, handed to the guild service."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.ext import commands

if TYPE_CHECKING:
    from bot.app import Kindred


class Lifecycle(commands.Cog):
    def __init__(self, bot: Kindred) -> None:
        self.guilds = bot.services.guilds

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.guilds.joined(guild.id)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.guilds.left(guild.id)


async def setup(bot: Kindred) -> None:
    await bot.add_cog(Lifecycle(bot))
