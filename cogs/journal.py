"""`/journal`: a member's private reflections, one per page, newest first, with "Share to
thread" and "Delete" (after a confirm); and how a shared reflection looks in the thread."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.edge.interactions import reply
from bot.edge.rendered import Post
from bot.journal.service import SHARE_KIND, Journal, JournalPage, ShareMessage
from bot.outbox import OutboxRow

from ._ui import OwnerOnlyView
from .prompts._render import COLOR, shorten

if TYPE_CHECKING:
    from bot.app import Kindred

EMPTY = (
    "Your journal is empty. Press **Reflect privately** under a daily prompt to write a "
    "reflection only you can read."
)


def entry_embed(page: JournalPage) -> discord.Embed:
    """One reflection with its prompt; the footer says where it is and whether it is shared."""
    entry = page.entry
    assert entry is not None
    embed = discord.Embed(title="Your journal", description=entry.text, color=COLOR)
    embed.add_field(name="Prompt", value=shorten(entry.prompt_text, 1000) or "—", inline=False)
    shared = "shared to the thread" if entry.shared_at else "private"
    embed.set_footer(
        text=f"{page.index + 1} of {page.count} · {entry.local_date:%d %B %Y} · {shared} · "
        "only you can see this"
    )
    return embed


def shared_post(row: OutboxRow) -> Post:
    """A shared reflection in the prompt's thread, under the member's name; nobody is pinged."""
    message = ShareMessage.from_row(row)
    embed = discord.Embed(description=message.text, color=COLOR)
    embed.set_author(name=f"{message.author_name} shared a reflection")
    return Post(
        content=f"<@{message.user_id}> shared a reflection:",
        embeds=(embed,),
        allowed_mentions=discord.AllowedMentions.none(),
    )


class JournalView(OwnerOnlyView):
    """Pages through the owner's entries; Share and Delete act on the entry shown."""

    def __init__(
        self,
        owner_id: int,
        page: JournalPage,
        show: Callable[[int], Awaitable[JournalPage]],
        journal: Journal,
        guild_id: int,
    ) -> None:
        super().__init__(owner_id)
        self.page = page
        self._show = show
        self._journal = journal
        self._guild_id = guild_id
        self._sync()

    def _sync(self) -> None:
        entry = self.page.entry
        self.previous.disabled = self.page.index <= 0
        self.next.disabled = self.page.index >= self.page.count - 1
        self.share.disabled = entry is None or entry.shared_at is not None
        self.delete.disabled = entry is None

    async def render(self, interaction: discord.Interaction, index: int, note: str = "") -> None:
        """Show entry `index` (from current data) in the message the interaction came from."""
        self.page = await self._show(index)
        self._sync()
        if self.page.entry is None:
            await interaction.response.edit_message(content=note or EMPTY, embed=None, view=None)
            return
        await interaction.response.edit_message(
            content=note or None, embed=entry_embed(self.page), view=self
        )

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self.render(interaction, self.page.index - 1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self.render(interaction, self.page.index + 1)

    @discord.ui.button(label="Share to thread", style=discord.ButtonStyle.primary)
    async def share(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        entry = self.page.entry
        assert entry is not None
        shared = await self._journal.share(
            self._guild_id, self.owner_id, entry.id, interaction.user.display_name
        )
        await self.render(
            interaction,
            self.page.index,
            f"Shared in <#{shared.thread_id}> under your name (nobody is pinged).",
        )

    async def delete_entry(self, interaction: discord.Interaction, entry_id: int) -> None:
        """Delete an entry of the owner's (confirmed) and show the journal as it is now."""
        await self._journal.delete(self._guild_id, self.owner_id, entry_id)
        await self.render(interaction, self.page.index, "Deleted.")

    @discord.ui.button(label="Delete", style=discord.ButtonStyle.danger)
    async def delete(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        assert self.page.entry is not None
        confirm = ConfirmDelete(self, self.page.entry.id)
        await interaction.response.edit_message(
            content="Delete this reflection for good? This cannot be undone.",
            embed=entry_embed(self.page),
            view=confirm,
        )


class ConfirmDelete(OwnerOnlyView):
    """Asks before "Delete" deletes; either answer goes back to the journal."""

    def __init__(self, journal_view: JournalView, entry_id: int) -> None:
        super().__init__(journal_view.owner_id)
        self._journal_view = journal_view
        self._entry_id = entry_id

    @discord.ui.button(label="Yes, delete it", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._journal_view.delete_entry(interaction, self._entry_id)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._journal_view.render(interaction, self._journal_view.page.index)


class JournalCog(commands.Cog):
    def __init__(self, bot: Kindred) -> None:
        self.bot = bot
        self.journal = bot.services.journal

    async def cog_load(self) -> None:
        self.bot.transport.register(SHARE_KIND, shared_post)

    async def cog_unload(self) -> None:
        self.bot.transport.unregister(SHARE_KIND)

    @app_commands.command(name="journal", description="Your private reflections on prompts")
    @app_commands.guild_only()
    async def journal_command(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        guild_id, user_id = interaction.guild_id, interaction.user.id

        async def show(index: int) -> JournalPage:
            return await self.journal.page(guild_id, user_id, index)

        first = await show(0)
        if first.entry is None:
            await reply(interaction, EMPTY)
            return
        view = JournalView(user_id, first, show, self.journal, guild_id)
        await reply(interaction, embed=entry_embed(first), view=view)


async def setup(bot: Kindred) -> None:
    await bot.add_cog(JournalCog(bot))
