"""`/admin` itself and its direct subcommands; feature cogs mount their groups under it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.edge.admin import require_manage_guild
from bot.edge.interactions import reply
from bot.export import GuildExport
from bot.insights.service import MAX_WEEKS, InsightsService
from bot.overview import guild_overview
from bot.timezones import suggest_timezones

from .insights import send_insights
from .render import overview_embed

if TYPE_CHECKING:
    from bot.app import Kindred

FILES_PER_MESSAGE = 10  # Discord's limit of attachments on one message


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class Admin(
    commands.GroupCog,
    group_name="admin",
    group_description="Set up Kindred in this server (Manage Server)",
):
    def __init__(self, bot: Kindred) -> None:
        self.services = bot.services
        self.insights_service = InsightsService(bot.services.db, bot.services.clock)
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

    @app_commands.command(name="show", description="Every setting here, and what is next")
    async def show(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        overview = await guild_overview(
            self.services.guilds, self.services.features, interaction.guild_id
        )
        await reply(interaction, embed=overview_embed(overview))

    @app_commands.command(name="export", description="This server's Kindred data as JSON")
    async def export(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        # A big guild takes a while; answer within Discord's 3 seconds first.
        await interaction.response.defer(ephemeral=True, thinking=True)
        exporter = self.services.exporter
        async with exporter.export(interaction.guild_id, interaction.filesize_limit) as export:
            files = export.files
            for start in range(0, len(files), FILES_PER_MESSAGE):
                batch = files[start : start + FILES_PER_MESSAGE]
                await interaction.followup.send(
                    export_note(export) if start == 0 else discord.utils.MISSING,
                    files=[discord.File(f.path, filename=f.filename) for f in batch],
                    ephemeral=True,
                )

    @app_commands.command(name="insights", description="A picture of how members connect")
    @app_commands.describe(weeks=f"How many weeks back (1–{MAX_WEEKS}, default 12)")
    async def insights(
        self,
        interaction: discord.Interaction,
        weeks: app_commands.Range[int, 1, MAX_WEEKS] = 12,
    ) -> None:
        await send_insights(interaction, self.insights_service, weeks)

    @timezone.autocomplete("name")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in suggest_timezones(current)]


def export_note(export: GuildExport) -> str:
    text = (
        f"This server's Kindred data: {export.rows} records from {export.tables} tables, "
        "as JSON (member ids as ids; the file names its schema version)."
    )
    if export.split:
        name = export.files[0].filename.rsplit(".", 1)[0]
        text += (
            f" It was gzipped and split into {len(export.files)} parts to fit Discord's size "
            f"limit: join them with `cat {name}.* > {name}`, then unzip."
        )
    elif export.compressed:
        text += " It was gzipped to fit Discord's size limit."
    return text


async def setup(bot: Kindred) -> None:
    await bot.add_cog(Admin(bot))
