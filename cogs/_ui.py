"""Views shared by the cogs; their errors are shown like command errors."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import CoroutineType
from typing import TYPE_CHECKING, Any, ParamSpec, cast

import discord

from bot.edge.interactions import render_error, reply

if TYPE_CHECKING:
    from bot.app import Kindred
    from bot.services import Services


def services_of(interaction: discord.Interaction) -> Services:
    """The core services of the bot an interaction reached: dynamic items have no cog to hold
    them, but their interaction's client is always the Kindred bot."""
    return cast("Kindred", interaction.client).services


class KindredView(discord.ui.View):
    """A view whose errors are shown like command errors."""

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await render_error(interaction, error)


P = ParamSpec("P")


def shows_errors(
    callback: Callable[P, CoroutineType[Any, Any, None]],
) -> Callable[P, CoroutineType[Any, Any, None]]:
    """For a `DynamicItem`'s callback: discord.py runs dynamic items in a plain `View` whose
    `on_error` only logs, so errors are rendered here, like every command error. The wrapper
    keeps the callback's exact signature (ParamSpec), so it still overrides `callback`."""

    @functools.wraps(callback)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await callback(*args, **kwargs)
        except Exception as error:
            await render_error(_interaction_among(*args, *kwargs.values()), error)

    return wrapper


def _interaction_among(*values: object) -> discord.Interaction:
    """The interaction a callback was called with (its second argument, after `self`)."""
    for value in values:
        if isinstance(value, discord.Interaction):
            return value
    raise TypeError("shows_errors wraps callbacks that receive an interaction")


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


@dataclass(frozen=True, slots=True)
class Shown:
    """One rendered page: what to display, which page it is, and how many there are."""

    embed: discord.Embed
    index: int  # 0-based
    count: int  # at least 1


class Pager(OwnerOnlyView):
    """Previous / Next through pages; only the member who asked can page.

    `show(index)` renders a page from current data on every press, so the pages reflect what
    changed since the command ran (and clamps an index that no longer exists).
    """

    def __init__(self, owner_id: int, show: Callable[[int], Awaitable[Shown]], first: Shown):
        super().__init__(owner_id)
        self._show = show
        self._current = first
        self._sync()

    def _sync(self) -> None:
        self.previous.disabled = self._current.index <= 0
        self.next.disabled = self._current.index >= self._current.count - 1

    async def _go(self, interaction: discord.Interaction, index: int) -> None:
        self._current = await self._show(index)
        self._sync()
        await interaction.response.edit_message(embed=self._current.embed, view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._go(interaction, self._current.index - 1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._go(interaction, self._current.index + 1)
