"""Help-ledger buttons: the persistent ask buttons.

"I can help", the anonymous asker's Open / No thanks and the review's Keep open / Close are
`DynamicItem`s: the guild and the ask number (and the helper) live in the custom_id, so a
button in a week-old post or DM still works after restarts. The guild is in the id because DM
buttons arrive without one.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.edge.interactions import reply
from bot.helpdesk.models import HelpOffered

from .._ui import services_of, shows_errors


class HelpButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kindred:hd:help:(?P<guild>[0-9]+):(?P<number>[0-9]+)",
):
    """ "I can help" on an ask: opens the helper's private thread with the asker (an anonymous
    asker is asked first), once per helper. Disabled on a closed ask's post."""

    def __init__(self, guild_id: int, number: int, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label="I can help",
                style=discord.ButtonStyle.success,
                custom_id=f"kindred:hd:help:{guild_id}:{number}",
                disabled=disabled,
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
        offered = await services_of(interaction).helpdesk.helping.offer_help(
            self.guild_id, self.number, interaction.user.id
        )
        await reply(interaction, offered_text(offered))


def offered_text(offered: HelpOffered) -> str:
    """What the helper is told after pressing "I can help" (an anonymous asker stays unnamed
    until they open the thread)."""
    ask = offered.ask
    asker = "the asker" if ask.anonymous else f"<@{ask.user_id}>"
    start = "Thank you!" if offered.first_time else f"You already offered on `{ask.ref}`."
    match offered.thread_state:
        case "open" if offered.thread_id is not None:
            return f"{start} Your private thread with {asker}: <#{offered.thread_id}>."
        case "open" | "opening":
            return f"{start} A private thread with {asker} is on its way; you'll both be added."
        case "waiting" | "declined":
            return (
                f"{start} The asker has been told privately. If they'd like to talk, you'll be "
                "added to a private thread with them."
            )
        case "failed" if ask.anonymous:
            return (
                f"{start} I couldn't set up a private conversation this time; the server's "
                "admins can see why."
            )
        case "failed":
            return f"{start} I couldn't open a private thread, so I told you both by DM instead."
        case _:
            return f"{start} {asker} knows by DM that you can help with `{ask.ref}`."


def help_view(guild_id: int, number: int, *, disabled: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(HelpButton(guild_id, number, disabled=disabled))
    return view


class DecideButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=(
        r"kindred:hd:decide:(?P<guild>[0-9]+):(?P<number>[0-9]+):(?P<helper>[0-9]+)"
        r":(?P<choice>open|no)"
    ),
):
    """An anonymous asker's answer to an offer of help: open a private thread, or not."""

    def __init__(self, guild_id: int, number: int, helper_id: int, choice: str) -> None:
        opening = choice == "open"
        super().__init__(
            discord.ui.Button(
                label="Open a private thread" if opening else "No thanks",
                style=discord.ButtonStyle.success if opening else discord.ButtonStyle.secondary,
                custom_id=f"kindred:hd:decide:{guild_id}:{number}:{helper_id}:{choice}",
            )
        )
        self.guild_id = guild_id
        self.number = number
        self.helper_id = helper_id
        self.opening = opening

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> DecideButton:
        return cls(int(match["guild"]), int(match["number"]), int(match["helper"]), match["choice"])

    @shows_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        decided = await services_of(interaction).helpdesk.helping.decide(
            self.guild_id,
            self.number,
            self.helper_id,
            interaction.user.id,
            open_thread=self.opening,
        )
        helper = f"<@{self.helper_id}>"
        if not self.opening:
            text = f"Okay. {helper} is not told who asked. Thank you for letting me know."
        elif decided.thread_id is not None and decided.thread_state == "open":
            text = f"{helper} is with you in <#{decided.thread_id}>."
        elif decided.thread_state == "failed":
            text = "I couldn't open a private thread, so I sent you both a DM to get in touch."
        elif decided.thread_state == "none":
            text = f"There is no help channel for a thread, so I told {helper} by DM who you are."
        else:
            text = f"A private thread with {helper} is on its way; you'll both be added."
        await reply(interaction, text)


def decide_view(guild_id: int, number: int, helper_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for choice in ("open", "no"):
        view.add_item(DecideButton(guild_id, number, helper_id, choice))
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
