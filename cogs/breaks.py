"""`/admin breaks add|list|remove`: school breaks (parse, call the service, render)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.breaks.calendar import MAX_NOTE_LENGTH, day_after
from bot.breaks.service import describe
from bot.edge.admin import AdminGroup
from bot.edge.interactions import reply

if TYPE_CHECKING:
    from bot.app import Kindred


class Breaks(commands.Cog):
    admin_breaks = AdminGroup(name="breaks", description="School breaks: Kindred goes quiet")

    def __init__(self, bot: Kindred) -> None:
        self.service = bot.services.breaks

    @admin_breaks.command(name="add", description="Add a school break (no prompts or rounds)")
    @app_commands.describe(
        start="First day of the break, YYYY-MM-DD (this server's local date)",
        end="Last day of the break, YYYY-MM-DD (inclusive)",
        note="What the break is, e.g. Winter break (optional)",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        start: app_commands.Range[str, 1, 40],
        end: app_commands.Range[str, 1, 40],
        note: app_commands.Range[str, 0, MAX_NOTE_LENGTH] = "",
    ) -> None:
        assert interaction.guild_id is not None
        added = await self.service.add(interaction.guild_id, start, end, note)
        await reply(
            interaction,
            f"Break {describe(added)} added: no prompts, pairing rounds or check-ins on those "
            f"{added.days} day(s). Everything resumes on {day_after(added)}.",
        )

    @admin_breaks.command(name="list", description="Current and coming school breaks, with ids")
    async def list_(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        coming = await self.service.coming(interaction.guild_id)
        if not coming:
            await reply(interaction, "No breaks are planned. Add one with /admin breaks add.")
            return
        lines = [f"{describe(b)} · {b.days} day(s)" for b in coming]
        await reply(interaction, "**Current and coming breaks**\n" + "\n".join(lines))

    @admin_breaks.command(name="remove", description="Remove a school break")
    @app_commands.describe(break_id="The break's id from /admin breaks list")
    async def remove(
        self, interaction: discord.Interaction, break_id: app_commands.Range[int, 1]
    ) -> None:
        assert interaction.guild_id is not None
        removed = await self.service.remove(interaction.guild_id, break_id)
        await reply(
            interaction,
            f"Break {describe(removed)} removed; prompts and rounds run on those days again.",
        )


async def setup(bot: Kindred) -> None:
    await bot.add_cog(Breaks(bot))
