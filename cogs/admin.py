"""`/admin` itself and its direct subcommands; feature cogs mount their groups under it."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import Kindred
from bot.interactions import reply
from bot.timezones import suggest_timezones

from ._admin import require_manage_guild


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class Admin(
    commands.GroupCog,
    group_name="admin",
    group_description="Set up Kindred in this server (Manage Server)",
):
    def __init__(self, bot: Kindred) -> None:
        self.services = bot.services
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return require_manage_guild(interaction)

    @app_commands.command(name="timezone", description="Set this server's timezone")
    @app_commands.describe(name="An IANA timezone name, e.g. America/Chicago")
    async def timezone(self, interaction: discord.Interaction, name: str) -> None:
        assert interaction.guild_id is not None
        zone = await self.services.guilds.set_timezone(interaction.guild_id, name)
        for feature in self.services.features:
            await feature.reschedule(interaction.guild_id)
        await reply(
            interaction,
            f"This server's timezone is now **{zone.key}**. Schedules follow it, "
            "including daylight-saving changes.",
        )

    @timezone.autocomplete("name")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in suggest_timezones(current)]


async def setup(bot: Kindred) -> None:
    await bot.add_cog(Admin(bot))
