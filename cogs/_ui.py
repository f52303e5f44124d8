"""Views shared by the cogs; their errors are shown like command errors."""

from __future__ import annotations

from typing import Any

import discord

from bot.interactions import render_error, reply


class KindredView(discord.ui.View):
    """A view whose errors are shown like command errors."""

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await render_error(interaction, error)


class OwnerOnlyView(KindredView):
    """A view only the member who opened it may use (paging, confirmations)."""

    def __init__(self, owner_id: int, *, timeout: float | None = 180) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await reply(interaction, "These buttons belong to someone else's command.")
            return False
        return True
