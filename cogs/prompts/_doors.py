"""The daily post's buttons: "Talk 1:1 about this" (the day's talk list) and "Reflect
privately" (a form saved to the member's journal).

Buttons are `DynamicItem`s whose custom_id holds the post's id, so a post from last week still
works after any number of restarts.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.edge.interactions import render_error, reply
from bot.journal.service import MAX_ENTRY_LENGTH

from .._ui import services_of, shows_errors
from ._render import shorten

PLACEHOLDER_LIMIT = 100  # Discord's limit for a text input's placeholder


class ReflectModal(discord.ui.Modal, title="Reflect privately"):
    """The member's reflection on one prompt; saving again replaces it."""

    def __init__(self, post_id: int, prompt_text: str, draft: str) -> None:
        super().__init__(timeout=None)
        self.post_id = post_id
        self.reflection: discord.ui.TextInput[ReflectModal] = discord.ui.TextInput(
            label="Only you can read this",
            custom_id="reflection",
            style=discord.TextStyle.paragraph,
            placeholder=shorten(prompt_text, PLACEHOLDER_LIMIT),
            default=draft or None,
            max_length=MAX_ENTRY_LENGTH,
            required=True,
        )
        self.add_item(self.reflection)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        new = await services_of(interaction).journal.save(
            interaction.guild_id, interaction.user.id, self.post_id, self.reflection.value
        )
        done = "Saved to your journal" if new else "Your journal entry is updated"
        await reply(
            interaction,
            f"{done}. Only you can read it; `/journal` lists your reflections, and you can "
            "share one to the prompt's thread from there.",
        )

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await render_error(interaction, error)


class ReflectButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kindred:reflect:(?P<post>[0-9]+)",
):
    """Opens the form for a private reflection on this post's prompt."""

    def __init__(self, post_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Reflect privately",
                emoji="📝",
                style=discord.ButtonStyle.secondary,
                custom_id=f"kindred:reflect:{post_id}",
            )
        )
        self.post_id = post_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ReflectButton:
        return cls(int(match["post"]))

    @shows_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        journal = services_of(interaction).journal
        prompt = await journal.prompt_of(interaction.guild_id, self.post_id)
        draft = await journal.draft(interaction.guild_id, interaction.user.id, self.post_id)
        await interaction.response.send_modal(ReflectModal(self.post_id, prompt, draft))


class TalkButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kindred:talk:(?P<post>[0-9]+)",
):
    """Joins (or, pressed again, leaves) this post's talk list."""

    def __init__(self, post_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Talk 1:1 about this",
                emoji="💬",
                style=discord.ButtonStyle.primary,
                custom_id=f"kindred:talk:{post_id}",
            )
        )
        self.post_id = post_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> TalkButton:
        return cls(int(match["post"]))

    @shows_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        roles = getattr(interaction.user, "roles", [])
        toggled = await services_of(interaction).pairing.talks.toggle(
            interaction.guild_id,
            self.post_id,
            interaction.user.id,
            frozenset(r.id for r in roles),
        )
        at = discord.utils.format_dt(toggled.pair_at, "t")
        if toggled.joined:
            text = (
                f"You're on today's talk list. At {at} I'll pair everyone on it and DM you "
                "who you're talking with. Press again to leave the list."
            )
        else:
            text = "You've left today's talk list; nobody will be paired with you for it."
        await reply(interaction, text)


def post_view(post_id: int, talk_hours: int) -> discord.ui.View:
    """The buttons under a daily post ("Talk 1:1" only while the guild has talk_hours)."""
    view = discord.ui.View(timeout=None)
    if talk_hours:
        view.add_item(TalkButton(post_id))
    view.add_item(ReflectButton(post_id))
    return view


DOORS = (TalkButton, ReflectButton)  # the dynamic items the prompts cog registers
