"""`/privacy show` and `/privacy forget`, and what happens to a member's data when they leave."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.edge.interactions import reply
from bot.privacy.data import MemberData
from bot.privacy.departures import PURGE_AFTER_LEAVING

from ._members import find_members
from ._ui import OwnerOnlyView

if TYPE_CHECKING:
    from bot.app import Kindred

log = logging.getLogger(__name__)
CONFIRM_SECONDS = 120


def data_file(data: MemberData) -> discord.File:
    return discord.File(
        io.BytesIO(data.to_json().encode()), filename=f"kindred-my-data-{data.guild_id}.json"
    )


class ForgetView(OwnerOnlyView):
    """Confirm / Cancel for `/privacy forget`; only the invoker may press, and it expires."""

    def __init__(self, cog: Privacy, interaction: discord.Interaction) -> None:
        super().__init__(interaction.user.id, timeout=CONFIRM_SECONDS)
        self.cog = cog
        self.origin = interaction

    def _close(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        self.stop()

    @discord.ui.button(label="Delete my data", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button[ForgetView]):
        assert interaction.guild_id is not None
        self._close()
        report = await self.cog.services.departures.forget(
            interaction.guild_id, interaction.user.id
        )
        await interaction.response.edit_message(
            content=f"Done. Kindred deleted everything it stored about you in this server "
            f"({report.total} records). Records of other members that mention you keep only "
            "an anonymous marker.",
            view=self,
        )

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _: discord.ui.Button[ForgetView]):
        self._close()
        await interaction.response.edit_message(content="Nothing was deleted.", view=self)

    async def on_timeout(self) -> None:
        self._close()
        try:
            await self.origin.edit_original_response(
                content="This confirmation expired; nothing was deleted. "
                "Run `/privacy forget` again if you still want to.",
                view=self,
            )
        except discord.HTTPException as exc:
            log.info("Could not expire a /privacy forget prompt: %s", exc)


@app_commands.guild_only()
class Privacy(
    commands.GroupCog,
    group_name="privacy",
    group_description="See or delete what Kindred stores about you in this server",
):
    def __init__(self, bot: Kindred) -> None:
        self.bot = bot
        self.services = bot.services
        super().__init__()

    async def cog_load(self) -> None:
        self.services.reconcile.attach_directory(DiscordMemberDirectory(self.bot))

    async def cog_unload(self) -> None:
        self.services.reconcile.attach_directory(None)

    @app_commands.command(name="show", description="Everything Kindred stores about you here")
    async def show(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        data = await self.services.member_data.collect(interaction.guild_id, interaction.user.id)
        if data.empty:
            await reply(interaction, "Kindred stores nothing about you in this server.")
            return
        lines = "\n".join(f"• {line}" for line in data.summary())
        await reply(
            interaction,
            f"What Kindred stores about you in this server:\n{lines}\n\n"
            "Every record is in the attached file. `/privacy forget` deletes them.",
            file=data_file(data),
        )

    @app_commands.command(name="forget", description="Delete all your data in this server")
    async def forget(self, interaction: discord.Interaction) -> None:
        await reply(
            interaction,
            "This deletes everything Kindred stores about you in this server: your asks and "
            "offers, pairing sign-up and history, blocks and check-ins. It cannot be undone. "
            f"(This button expires in {CONFIRM_SECONDS // 60} minutes.)",
            view=ForgetView(self, interaction),
        )

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        if self.bot.user is not None and payload.user.id == self.bot.user.id:
            return  # the bot itself leaving is the guild lifecycle's business
        await self.services.departures.member_left(payload.guild_id, payload.user.id)
        log.info(
            "Member %s left guild %s; their data is purged in %d days unless they return",
            payload.user.id,
            payload.guild_id,
            PURGE_AFTER_LEAVING.days,
        )

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        await self.services.departures.member_returned(member.guild.id, member.id)

    @commands.Cog.listener()
    async def on_kindred_ready(self) -> None:
        """Every guild gets its daily check for members who left while Kindred was offline
        (or while the gateway was down): no member list is cached to compare at start-up."""
        await self.services.reconcile.schedule_reconciles(g.id for g in self.bot.guilds)


class DiscordMemberDirectory:
    """`MemberDirectory` (bot.privacy.reconcile) over Discord: lookups by id, nothing cached."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def present(self, guild_id: int, user_ids: set[int]) -> set[int] | None:
        guild = self._client.get_guild(guild_id)
        if guild is None:
            return None
        return set(await find_members(guild, user_ids))


async def setup(bot: Kindred) -> None:
    await bot.add_cog(Privacy(bot))
