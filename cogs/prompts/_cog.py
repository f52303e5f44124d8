"""`/prompt today|suggest` and `/admin prompts ...`: parse, check, call the service, render."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.edge.admin import AdminGroup
from bot.edge.interactions import reply
from bot.errors import UserError
from bot.prompts.importing import MAX_IMPORT_BYTES, MAX_PROMPT_LENGTH
from bot.prompts.pool import ImportReport
from bot.prompts.records import DEFAULT_TALK_HOURS, MAX_TALK_HOURS, PromptPost

from .._ui import Pager, Shown
from . import _messages
from ._doors import DOORS
from ._render import post_links, prompt_embed, shorten
from ._views import SuggestionDecision, pool_embed, review_view, suggestion_embed

if TYPE_CHECKING:
    from bot.app import Kindred

REVIEW_BATCH = 5  # five rows of buttons is all a message can hold
REPORT_LINES = 15


def when(moment: datetime) -> str:
    return f"{discord.utils.format_dt(moment, 'F')} ({discord.utils.format_dt(moment, 'R')})"


class Prompts(commands.Cog):
    admin_prompts = AdminGroup(name="prompts", description="Daily growth prompts")
    prompt = app_commands.Group(name="prompt", description="Today's growth prompt", guild_only=True)

    def __init__(self, bot: Kindred) -> None:
        self.bot = bot
        self.service = bot.services.prompts

    async def cog_load(self) -> None:
        _messages.register(self.bot)
        self.bot.add_dynamic_items(SuggestionDecision, *DOORS)

    async def cog_unload(self) -> None:
        self.bot.transport.unregister(*_messages.KINDS)
        self.bot.remove_dynamic_items(SuggestionDecision, *DOORS)

    # -- members ---------------------------------------------------------------------------------

    @prompt.command(name="today", description="Today's prompt and a link to its post")
    async def today(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        today = await self.service.today(interaction.guild_id)
        if today.post is not None:
            embed = prompt_embed(
                today.post.text or "", today.post.theme or "", today.post.local_date
            )
            await reply(interaction, post_links(today.post), embed=embed)
        elif today.enabled and today.next_at is not None:
            await reply(
                interaction,
                f"Today's prompt is not out yet. The next one comes {when(today.next_at)}.",
            )
        else:
            await reply(interaction, "Daily prompts are not running in this server right now.")

    @prompt.command(name="suggest", description="Suggest a prompt for the admins to review")
    @app_commands.describe(text="Your prompt: a question educators can answer in a few sentences")
    async def suggest(
        self,
        interaction: discord.Interaction,
        text: app_commands.Range[str, 1, MAX_PROMPT_LENGTH],
    ) -> None:
        assert interaction.guild_id is not None
        suggestion = await self.service.suggestions.suggest(
            interaction.guild_id, interaction.user.id, text
        )
        await reply(
            interaction,
            f"Thank you! Suggestion #{suggestion.id} is waiting for the admins' review; "
            "you will get a DM if it is approved.",
        )

    # -- admins ----------------------------------------------------------------------------------

    @admin_prompts.command(name="schedule", description="Turn daily prompts on (or change them)")
    @app_commands.describe(
        channel="Where prompts are posted",
        time="HH:MM, 24-hour, in the server's timezone",
        weekends="Post on Saturday and Sunday too",
        threads="Open a thread on each post for answers",
        role="A role to mention with each post (optional)",
        talk_hours="Hours after a post that its 'Talk 1:1' list is paired (0 removes the button)",
    )
    async def schedule(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel,
        time: str,
        weekends: bool = False,
        threads: bool = True,
        role: discord.Role | None = None,
        talk_hours: app_commands.Range[int, 0, MAX_TALK_HOURS] = DEFAULT_TALK_HOURS,
    ) -> None:
        assert interaction.guild is not None
        if role is not None and role.is_default():
            raise UserError("Prompts never ping @everyone. Choose a specific role, or none.")
        settings, next_at = await self.service.schedule.configure(
            interaction.guild.id,
            channel_id=channel.id,
            time_text=time,
            weekends=weekends,
            threads=threads,
            role_id=role.id if role else None,
            talk_hours=talk_hours,
        )
        zone = await self.bot.services.guilds.timezone(interaction.guild.id)
        lines = [
            f"Daily prompts are on in {channel.mention}: {settings.summary} ({zone.key}).",
            f"The next one comes {when(next_at)}.",
        ]
        if role is not None:
            lines.append(f"Each post mentions {role.mention}.")
        lines += missing_permissions(channel, threads)
        await reply(interaction, "\n".join(lines))

    @admin_prompts.command(name="pause", description="Stop the daily post")
    async def pause(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await self.service.schedule.pause(interaction.guild_id)
        await reply(interaction, "Daily prompts are paused. /admin prompts resume restarts them.")

    @admin_prompts.command(name="resume", description="Restart the daily post")
    async def resume(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        next_at = await self.service.schedule.resume(interaction.guild_id)
        await reply(interaction, f"Daily prompts are back on. The next one comes {when(next_at)}.")

    @admin_prompts.command(name="add", description="Add a prompt of your own to the pool")
    @app_commands.describe(text="The prompt (1 to 1,000 characters)")
    async def add(
        self,
        interaction: discord.Interaction,
        text: app_commands.Range[str, 1, MAX_PROMPT_LENGTH],
    ) -> None:
        assert interaction.guild_id is not None
        added = await self.service.pool.add(interaction.guild_id, text)
        await reply(
            interaction, f"Added `{added.prompt_id}` to this cycle: {shorten(added.text, 200)}"
        )

    @admin_prompts.command(name="list", description="The prompt pool, with ids")
    @app_commands.describe(page="Which page to open (default 1)")
    async def list_(
        self, interaction: discord.Interaction, page: app_commands.Range[int, 1] = 1
    ) -> None:
        assert interaction.guild_id is not None
        guild_id = interaction.guild_id

        async def show(index: int) -> Shown:
            shown = await self.service.pool.page(guild_id, index + 1)  # the pool counts from 1
            return Shown(pool_embed(shown), shown.page - 1, shown.pages)

        first = await show(page - 1)
        await reply(interaction, embed=first.embed, view=Pager(interaction.user.id, show, first))

    @admin_prompts.command(name="remove", description="Remove a custom prompt or hide a built-in")
    @app_commands.describe(prompt_id="The id from /admin prompts list, e.g. b012 or c7")
    async def remove(self, interaction: discord.Interaction, prompt_id: str) -> None:
        assert interaction.guild_id is not None
        removed = await self.service.pool.remove(interaction.guild_id, prompt_id)
        done = "hidden in this server" if removed.hidden else "removed"
        await reply(interaction, f"`{removed.prompt_id}` {done}: {shorten(removed.text, 200)}")

    @admin_prompts.command(name="import", description="Add prompts from a .txt or .csv file")
    @app_commands.describe(file=".txt with one prompt per line, or .csv with a `text` column")
    async def import_(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        assert interaction.guild_id is not None
        if file.size > MAX_IMPORT_BYTES:
            raise UserError(f"`{shorten(file.filename, 60)}` is larger than 1 MB; split it up.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            data = await file.read()
        except discord.HTTPException as exc:
            raise UserError(
                f"I could not download `{shorten(file.filename, 60)}` from Discord "
                f"(error {exc.status}). Please attach it again."
            ) from exc
        report = await self.service.pool.import_file(interaction.guild_id, file.filename, data)
        await reply(interaction, import_summary(report))

    @admin_prompts.command(name="review", description="Approve or reject suggested prompts")
    async def review(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        pending, total = await self.service.suggestions.pending(interaction.guild_id, REVIEW_BATCH)
        if not pending:
            await reply(interaction, "No suggestions are waiting for review.")
            return
        more = f" Showing the oldest {len(pending)}." if total > len(pending) else ""
        await reply(
            interaction,
            f"{total} suggestion(s) waiting.{more} "
            "Approving adds a prompt to the pool and DMs the member.",
            embeds=[suggestion_embed(s) for s in pending],
            view=review_view(pending),
        )

    @admin_prompts.command(name="post-now", description="Post the next prompt now")
    async def post_now(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        post = await self.service.daily.post_now(interaction.guild_id)
        await reply(interaction, post_now_summary(post))


def missing_permissions(channel: discord.TextChannel, threads: bool) -> list[str]:
    """A warning now beats a failed post at 07:30."""
    mine = channel.permissions_for(channel.guild.me)
    needed = {
        "View Channel": mine.view_channel,
        "Send Messages": mine.send_messages,
        "Embed Links": mine.embed_links,
    }
    if threads:
        needed["Create Public Threads"] = mine.create_public_threads
    missing = [name for name, ok in needed.items() if not ok]
    if not missing:
        return []
    return [f"⚠️ Kindred is missing {', '.join(missing)} in {channel.mention}; posts will fail."]


def post_now_summary(post: PromptPost) -> str:
    if post.status == "claimed":
        return (
            f"Discord did not take the post just now; `{post.prompt_id}` will be posted as soon "
            "as it does."
        )
    if post.status != "sent":
        return f"The prompt could not be posted: {post.reason}."
    which = "an extra post (today's was already out)" if post.extra else "today's prompt"
    text = f"Posted `{post.prompt_id}` as {which}. {post_links(post)}"
    if post.reason:
        text += f"\nNote: {post.reason}."
    return text


def import_summary(report: ImportReport) -> str:
    lines = [
        f"**Added:** {len(report.added)}",
        f"**Duplicates:** {len(report.duplicates_in_file)} repeated in the file, "
        f"{len(report.duplicates_in_pool)} already in the pool",
        f"**Rejected:** {len(report.rejected)}",
    ]
    details = [f"line {r.line_no}: {r.reason}" for r in report.rejected]
    details += [
        f"line {d.line_no}: same as line {d.first_line_no}" for d in report.duplicates_in_file
    ]
    details += [
        f"line {d.line_no}: already in the pool as `{d.existing_id}`"
        for d in report.duplicates_in_pool
    ]
    if details:
        lines.append("")
        lines += details[:REPORT_LINES]
        if len(details) > REPORT_LINES:
            lines.append(f"… and {len(details) - REPORT_LINES} more")
    return "\n".join(lines)
