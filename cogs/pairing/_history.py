"""`/pair history`: the member's past groups, paged, with a "Meet again" toggle per partner.

The reply is ephemeral and its buttons answer only the member who ran the command. Partners are
numbered on each page (`[1] @Ana`), and the toggles carry the same numbers: a button label
cannot show a mention, and numbering needs no member lookup.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.pairing.history import HistoryPage, PairingHistory

from .._ui import OwnerOnlyView
from ._render import ANSWER_WORDS, COLOR

HISTORY_TIMEOUT = 600


def history_embed(page: HistoryPage, numbers: dict[int, int]) -> discord.Embed:
    """One page: a line per past group, partners numbered for the toggles."""
    embed = discord.Embed(title="Your pairing history", color=COLOR)
    if not page.groups:
        embed.description = "You have not been in a pairing round yet."
        return embed
    lines = []
    for group in page.groups:
        partners = ", ".join(
            f"[{numbers[p]}] <@{p}>" if p in numbers else "a former member"
            for p in group.partner_ids
        )
        answer = ANSWER_WORDS.get(group.answer or "", "no check-in answer")
        date = discord.utils.format_dt(group.started_at, "D")
        confirmed = (
            f" · met at {discord.utils.format_dt(group.confirmed_at, 'f')}"
            if group.confirmed_at
            else ""
        )
        lines.append(f"{date}: {partners} · {answer}{confirmed}")
    chosen = [f"[{n}]" for p, n in numbers.items() if p in page.meet_again]
    lines.append(
        "\n**Meet again** (only you see this; you are paired again only if they choose you "
        f"too): {', '.join(chosen) or 'nobody chosen'}"
    )
    embed.description = "\n".join(lines)
    embed.set_footer(text=f"Page {page.index + 1} of {page.count}")
    return embed


class HistoryView(OwnerOnlyView):
    """Previous / Next, and a toggle per partner on the page; only the invoker can press."""

    def __init__(self, history: PairingHistory, guild_id: int, user_id: int) -> None:
        super().__init__(user_id, timeout=HISTORY_TIMEOUT)
        self._history = history
        self._guild_id = guild_id
        self._index = 0

    async def load(self, index: int) -> discord.Embed:
        """Read page `index` from current data and rebuild the buttons for it."""
        page = await self._history.page(self._guild_id, self.owner_id, index)
        self._index = page.index
        partners = dict.fromkeys(p for g in page.groups for p in g.partner_ids if p > 0)
        numbers = {p: k for k, p in enumerate(partners, start=1)}
        self.clear_items()
        self._add("Previous", discord.ButtonStyle.secondary, page.index <= 0, self._turn(-1), row=0)
        self._add(
            "Next", discord.ButtonStyle.secondary, page.index >= page.count - 1, self._turn(1), 0
        )
        for partner, number in numbers.items():
            on = partner in page.meet_again
            self._add(
                f"{'★' if on else '☆'} Meet again [{number}]",
                discord.ButtonStyle.success if on else discord.ButtonStyle.secondary,
                False,
                self._toggle(partner),
                row=1 + (number - 1) // 5,
            )
        return history_embed(page, numbers)

    def _add(self, label: str, style: discord.ButtonStyle, disabled: bool, action: Any, row: int):
        button: discord.ui.Button[HistoryView] = discord.ui.Button(
            label=label, style=style, disabled=disabled, row=min(row, 4)
        )
        button.callback = action
        self.add_item(button)

    def _turn(self, step: int) -> Any:
        async def turn(interaction: discord.Interaction) -> None:
            embed = await self.load(self._index + step)
            await interaction.response.edit_message(embed=embed, view=self)

        return turn

    def _toggle(self, partner: int) -> Any:
        async def toggle(interaction: discord.Interaction) -> None:
            await self._history.toggle_meet_again(self._guild_id, self.owner_id, partner)
            embed = await self.load(self._index)
            await interaction.response.edit_message(embed=embed, view=self)

        return toggle
