"""Help-ledger buttons: the persistent ask buttons.

"I can help" and the review's Keep open / Close are `DynamicItem`s: the guild and the ask
number live in the custom_id, so a button in a week-old post or DM still works after restarts.
The guild is in the id because DM buttons arrive without one.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.edge.interactions import reply

from .._ui import services_of, shows_errors


class HelpButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kindred:hd:help:(?P<guild>[0-9]+):(?P<number>[0-9]+)",
):
    """ "I can help" on an ask: tells the asker by DM who offered (once per helper)."""

    def __init__(self, guild_id: int, number: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="I can help",
                style=discord.ButtonStyle.success,
                custom_id=f"kindred:hd:help:{guild_id}:{number}",
            )
        )
        self.guild_id = guild_id
        self.number = number

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> HelpButton:
        return cls(int(match["guild"]), int(match["number"]))

    @shows_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        offered = await services_of(interaction).helpdesk.asks.offer_help(
            self.guild_id, self.number, interaction.user.id
        )
        asker = f"<@{offered.ask.user_id}>"
        if offered.first_time:
            text = (
                f"Thank you! {asker} now knows by DM that you can help with "
                f"`{offered.ask.ref}`. Feel free to message them directly."
            )
        else:
            text = f"You already offered on `{offered.ask.ref}`; {asker} knows."
        await reply(interaction, text)


def help_view(guild_id: int, number: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(HelpButton(guild_id, number))
    return view


class ReviewButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kindred:hd:review:(?P<guild>[0-9]+):(?P<number>[0-9]+):(?P<action>keep|close)",
):
    """The owner's answer to "is this ask still open?" after 14 days."""

    def __init__(self, guild_id: int, number: int, action: str) -> None:
        keep = action == "keep"
        super().__init__(
            discord.ui.Button(
                label="Keep open" if keep else "Close",
                style=discord.ButtonStyle.primary if keep else discord.ButtonStyle.secondary,
                custom_id=f"kindred:hd:review:{guild_id}:{number}:{action}",
            )
        )
        self.guild_id = guild_id
        self.number = number
        self.keep = keep

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ReviewButton:
        return cls(int(match["guild"]), int(match["number"]), match["action"])

    @shows_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        closed = await services_of(interaction).helpdesk.closing.review_answer(
            self.guild_id, self.number, interaction.user.id, keep_open=self.keep
        )
        if closed is None:
            text = "Kept open. I'll check with you again in two weeks."
        else:
            text = f"`{closed.ref}` is closed. I hope it worked out!"
        await reply(interaction, text)


def review_view(guild_id: int, number: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in ("keep", "close"):
        view.add_item(ReviewButton(guild_id, number, action))
    return view
