"""A tiny discord.py bot used to prove the fake works (and an example of driving it).

It covers what Kindred's cogs use: a nested ``/admin prompts add`` with member, channel and
attachment options, a deferred command with follow-ups, a persistent button view, a select
that edits its message, modals (action row and label layouts), autocomplete and a global
command usable in DMs.
"""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands


class Recorder:
    """What the demo bot's callbacks received, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def hit(self, *args: object) -> None:
        self.calls.append(args)


class PersistentView(discord.ui.View):
    """A check-in button that keeps working after a restart (timeout=None, fixed custom_id)."""

    def __init__(self, rec: Recorder) -> None:
        super().__init__(timeout=None)
        self.rec = rec

    @discord.ui.button(label="We met", custom_id="checkin:met")
    async def met(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        assert interaction.message is not None
        self.rec.hit("clicked", interaction.user.id, interaction.message.id)
        await interaction.response.send_message("Thanks!", ephemeral=True)


class PickView(discord.ui.View):
    """A select whose choice edits the message it is on (callback type 7)."""

    def __init__(self, rec: Recorder) -> None:
        super().__init__(timeout=60)
        self.rec = rec

    @discord.ui.select(
        custom_id="pick",
        options=[discord.SelectOption(label="weekly"), discord.SelectOption(label="monthly")],
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        self.rec.hit("picked", select.values)
        await interaction.response.edit_message(content=f"cadence: {select.values[0]}", view=None)


class AnswerModal(discord.ui.Modal, title="Answer"):
    """A modal with one text input in an action row."""

    answer = discord.ui.TextInput(label="Your answer", custom_id="answer")

    def __init__(self, rec: Recorder) -> None:
        super().__init__()
        self.rec = rec

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.rec.hit("modal", self.answer.value)
        await interaction.response.send_message(f"got {self.answer.value}", ephemeral=True)


class LabelModal(discord.ui.Modal, title="Note"):
    """A modal using the newer label (type 18) layout."""

    def __init__(self, rec: Recorder) -> None:
        super().__init__()
        self.rec = rec
        self.note = discord.ui.TextInput(custom_id="note")
        self.add_item(discord.ui.Label(text="Note", component=self.note))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.rec.hit("label-modal", self.note.value)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(content=f"noted {self.note.value}")


def make_demo_bot(rec: Recorder, guild_id: int) -> commands.Bot:
    """The demo bot; guild commands go to ``guild_id``, ``/about`` is global."""
    intents = discord.Intents.default()
    intents.members = True
    bot = commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.1)
    admin = app_commands.Group(
        name="admin",
        description="Admin",
        default_permissions=discord.Permissions(manage_guild=True),
    )
    prompts = app_commands.Group(name="prompts", description="Prompts", parent=admin)

    @prompts.command(name="add", description="Add a prompt")
    async def add(
        interaction: discord.Interaction,
        text: str,
        who: discord.Member,
        where: discord.TextChannel,
        file: discord.Attachment,
        count: int = 1,
        weekends: bool = False,
    ) -> None:
        data = await file.read()
        rec.hit(
            "add", text, who, where, data, count, weekends, interaction.permissions.manage_guild
        )
        await interaction.response.send_message(f"Added {text}", ephemeral=True)

    @app_commands.command(name="slow", description="Deferred then follow-up")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("done", ephemeral=True)
        await interaction.followup.send("and more", ephemeral=True)

    @app_commands.command(name="checkin", description="Post a check-in")
    async def checkin(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Did you meet?", view=PersistentView(rec))

    @app_commands.command(name="pick", description="Choose a cadence")
    async def pick(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("cadence?", view=PickView(rec))

    @app_commands.command(name="answer", description="Open a modal")
    async def answer(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(AnswerModal(rec))

    @app_commands.command(name="note", description="Open a label modal")
    async def note(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(LabelModal(rec))

    @app_commands.command(name="ask", description="Ask")
    async def ask(interaction: discord.Interaction, topic: str) -> None:
        await interaction.response.send_message(topic, ephemeral=True)

    @ask.autocomplete("topic")
    async def ask_topic(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=t, value=t)
            for t in ("pbl", "pblx", "math")
            if t.startswith(current)
        ]

    @bot.tree.command(name="about", description="About (works in DMs)")
    async def about(interaction: discord.Interaction) -> None:
        where = "dm" if interaction.guild is None else "guild"
        rec.hit("about", where, interaction.user.id)
        await interaction.response.send_message(f"about from {where}", ephemeral=True)

    for cmd in (admin, slow, checkin, pick, answer, note, ask):
        bot.tree.add_command(cmd, guild=discord.Object(guild_id))

    async def setup_hook() -> None:
        bot.add_view(PersistentView(rec))

    bot.setup_hook = setup_hook  # type: ignore[method-assign]
    return bot
