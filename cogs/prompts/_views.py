"""Prompt pool pages and the persistent review decisions."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.edge.admin import require_manage_guild
from bot.edge.interactions import reply
from bot.prompts.pool import PoolPage
from bot.prompts.records import Suggestion

from .._ui import services_of, shows_errors
from ._render import COLOR, pool_line


def pool_embed(page: PoolPage) -> discord.Embed:
    embed = discord.Embed(
        title="Prompt pool",
        description="\n".join(pool_line(p) for p in page.entries),
        color=COLOR,
    )
    embed.set_footer(
        text=f"Page {page.page} of {page.pages} · {page.in_pool} prompts in the pool, "
        f"{page.used_in_cycle} used in this cycle · /admin prompts remove <id> to remove or hide"
    )
    return embed


def suggestion_embed(suggestion: Suggestion) -> discord.Embed:
    embed = discord.Embed(title=f"Suggestion #{suggestion.id}", description=suggestion.text)
    embed.add_field(name="From", value=f"<@{suggestion.suggested_by_user_id}>")
    embed.add_field(name="Sent", value=discord.utils.format_dt(suggestion.created_at, "R"))
    return embed


def review_view(suggestions: list[Suggestion]) -> discord.ui.View:
    """One row per suggestion (Approve, Reject); the buttons outlive this process."""
    view = discord.ui.View(timeout=None)
    for row, suggestion in enumerate(suggestions):
        for action in ("approve", "reject"):
            view.add_item(SuggestionDecision(action, suggestion.id, row=row))
    return view


class SuggestionDecision(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kindred:suggestion:(?P<action>approve|reject):(?P<id>[0-9]+)",
):
    """Approve or reject one suggestion; the id lives in the custom_id, so old buttons work."""

    def __init__(self, action: str, suggestion_id: int, *, row: int | None = None) -> None:
        approve = action == "approve"
        super().__init__(
            discord.ui.Button(
                label=f"{'Approve' if approve else 'Reject'} #{suggestion_id}",
                style=discord.ButtonStyle.success if approve else discord.ButtonStyle.secondary,
                custom_id=f"kindred:suggestion:{action}:{suggestion_id}",
                row=row,
            )
        )
        self.action = action
        self.suggestion_id = suggestion_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SuggestionDecision:
        return cls(match["action"], int(match["id"]))

    @shows_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        require_manage_guild(interaction)
        assert interaction.guild_id is not None
        suggestions = services_of(interaction).prompts.suggestions
        if self.action == "reject":
            await suggestions.reject(interaction.guild_id, self.suggestion_id, interaction.user.id)
            await reply(interaction, f"Suggestion #{self.suggestion_id} rejected.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        approval = await suggestions.approve(
            interaction.guild_id, self.suggestion_id, interaction.user.id
        )
        told = "was told by DM" if approval.dm_sent else "could not be told (their DMs are closed)"
        await reply(
            interaction,
            f"Suggestion #{self.suggestion_id} approved: it is `{approval.prompt_id}` in the pool. "
            f"<@{approval.suggestion.suggested_by_user_id}> {told}.",
        )
