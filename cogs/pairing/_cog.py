"""`/pair ...` and `/admin pairing ...`: parse, check, call the pairing service, render.

A member leaving the guild reaches the service through the privacy cog's member-remove listener
(`PrivacyService.member_left` tells every feature with a `member_left`), so it is not listened
to twice here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.edge.admin import AdminGroup
from bot.edge.interactions import reply
from bot.schedules import WEEKDAYS
from bot.timezones import suggest_timezones

from . import _messages
from ._history import HistoryView
from ._presence import DiscordPresence
from ._render import mentions, plan_lines, stats_embed, status_text, when
from ._views import CheckinButton, SlotButton

if TYPE_CHECKING:
    from bot.app import Kindred

WEEKDAY_CHOICES = [app_commands.Choice(name=name, value=i) for i, name in enumerate(WEEKDAYS)]
THREAD_PERMISSIONS = ("send_messages", "create_private_threads", "send_messages_in_threads")


class Pairing(commands.Cog):
    pair = app_commands.Group(
        name="pair", description="One-on-one pairing with another member", guild_only=True
    )
    admin_pairing = AdminGroup(name="pairing", description="Pairing rounds")

    def __init__(self, bot: Kindred) -> None:
        self.bot = bot
        self.service = bot.services.pairing

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(CheckinButton, SlotButton)
        _messages.register(self.bot)
        self.service.rounds.attach(DiscordPresence(self.bot))

    async def cog_unload(self) -> None:
        self.service.rounds.attach(None)
        self.bot.transport.unregister(*_messages.KINDS)
        self.bot.remove_dynamic_items(CheckinButton, SlotButton)

    # -- members -----------------------------------------------------------------------------

    @pair.command(name="join", description="Opt in to pairing rounds")
    async def join(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        roles = getattr(interaction.user, "roles", [])
        joined = await self.service.membership.join(
            interaction.guild_id, interaction.user.id, frozenset(r.id for r in roles)
        )
        status = await self.service.membership.member_status(
            interaction.guild_id, interaction.user.id
        )
        first = "You're in!" if joined else "You were already in."
        nxt = f" The next round is {when(status.next_round_at)}." if status.next_round_at else ""
        await reply(
            interaction,
            f"{first} Each round you'll get a DM introducing you to another member.{nxt} "
            "`/pair pause` or `/pair leave` any time.",
        )

    @pair.command(name="leave", description="Opt out of pairing rounds")
    async def leave(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await self.service.membership.leave(interaction.guild_id, interaction.user.id)
        await reply(interaction, "You've left pairing; no further rounds. `/pair join` to return.")

    @pair.command(name="pause", description="Skip rounds for some weeks or until a date")
    @app_commands.describe(
        weeks="How many weeks to skip (1-12); you resume automatically",
        until="Or skip rounds until this date, YYYY-MM-DD (this server's date, within a year)",
    )
    async def pause(
        self,
        interaction: discord.Interaction,
        weeks: app_commands.Range[int, 1, 12] | None = None,
        until: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        resume_at = await self.service.membership.pause_member(
            interaction.guild_id, interaction.user.id, weeks=weeks, until=until
        )
        await reply(
            interaction, f"Paused until {when(resume_at)}. You'll be back in rounds after that."
        )

    @pair.command(name="resume", description="End your pause now")
    async def resume(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await self.service.membership.resume_member(interaction.guild_id, interaction.user.id)
        await reply(interaction, "Welcome back! You're in the next round.")

    @pair.command(name="status", description="Your pairing: opted in, paused, partners, next round")
    async def status(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        status = await self.service.membership.member_status(
            interaction.guild_id, interaction.user.id
        )
        times = await self.service.times.get(interaction.guild_id, interaction.user.id)
        await reply(interaction, status_text(status, times))

    @pair.command(name="timezone", description="Your own timezone (default: this server's)")
    @app_commands.describe(name="An IANA timezone name, e.g. America/Chicago")
    async def timezone(self, interaction: discord.Interaction, name: str) -> None:
        assert interaction.guild_id is not None
        zone = await self.service.times.set_timezone(
            interaction.guild_id, interaction.user.id, name
        )
        await reply(
            interaction,
            f"Your timezone is now **{zone.key}**. Your availability (`/pair availability`) is "
            "read in it, and proposed meeting times fit it from the next round on.",
        )

    @timezone.autocomplete("name")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in suggest_timezones(current)]

    @pair.command(name="availability", description="Weekly times you could meet, in your timezone")
    @app_commands.describe(
        when="e.g. Mon-Thu 16:00-18:00, Sat 09:00-12:00 (in your timezone); clear removes them"
    )
    async def availability(self, interaction: discord.Interaction, when: str) -> None:
        assert interaction.guild_id is not None
        windows = await self.service.times.set_availability(
            interaction.guild_id, interaction.user.id, when
        )
        times = await self.service.times.get(interaction.guild_id, interaction.user.id)
        if windows is None:
            text = f"Cleared: you count as free 07:00-21:00 every day (**{times.zone.key}**) again."
        else:
            text = (
                f"Saved: `{windows.to_text()}` (**{times.zone.key}**, "
                f"{windows.minutes // 60} h {windows.minutes % 60:02d} min a week). Rounds pair "
                "you with members free at the same times and propose meeting times inside them."
            )
        if not times.own_zone:
            text += " That is this server's timezone; `/pair timezone` sets your own."
        await reply(interaction, text)

    @pair.command(name="history", description="Who you were paired with; choose to meet again")
    async def history(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        view = HistoryView(self.service.history, interaction.guild_id, interaction.user.id)
        await reply(interaction, embed=await view.load(0), view=view)

    @pair.command(name="avoid", description="Never pair me with this member (they are not told)")
    @app_commands.describe(member="The member you don't want to be paired with")
    async def avoid(self, interaction: discord.Interaction, member: discord.Member) -> None:
        assert interaction.guild_id is not None
        added = await self.service.membership.avoid(
            interaction.guild_id, interaction.user.id, member.id
        )
        already = "" if added else " (you had already asked for this)"
        await reply(
            interaction,
            f"Done{already}: you won't be paired with {member.mention} from the next round on. "
            "This stays between you and Kindred; they are not told.",
        )

    @pair.command(name="unavoid", description="Undo an avoid")
    @app_commands.describe(member="The member you may be paired with again")
    async def unavoid(self, interaction: discord.Interaction, member: discord.Member) -> None:
        assert interaction.guild_id is not None
        await self.service.membership.unavoid(interaction.guild_id, interaction.user.id, member.id)
        await reply(interaction, f"Done: you may be paired with {member.mention} again.")

    # -- admins -------------------------------------------------------------------------------

    @admin_pairing.command(name="schedule", description="Turn pairing rounds on")
    @app_commands.describe(
        channel="Where rounds are announced and private intro threads are opened",
        cadence="How often rounds run",
        weekday="The day rounds run (monthly: the first such day of the month)",
        time="HH:MM, 24-hour, in this server's timezone",
        role="Only members with this role may join (optional)",
    )
    @app_commands.choices(weekday=WEEKDAY_CHOICES)
    async def schedule(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel,
        cadence: Literal["weekly", "biweekly", "monthly"],
        weekday: app_commands.Choice[int],
        time: str,
        role: discord.Role | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        next_at = await self.service.schedule.configure(
            interaction.guild_id,
            channel_id=channel.id,
            cadence=cadence,
            weekday=weekday.value,
            time_text=time,
            role_id=role.id if role else None,
        )
        who = f"members with {role.mention}" if role else "members"
        text = (
            f"Pairing rounds are on: {cadence} on {weekday.name} at {time.strip()}, announced in "
            f"{channel.mention}. The first round is {when(next_at)}. {who.capitalize()} opt in "
            "with `/pair join`."
        )
        me = channel.guild.me
        missing = [p for p in THREAD_PERMISSIONS if not getattr(channel.permissions_for(me), p)]
        if missing:
            text += (
                f"\nNote: I am missing {', '.join(m.replace('_', ' ') for m in missing)} in "
                f"{channel.mention}, so I cannot announce rounds or introduce members whose "
                "DMs are closed there."
            )
        await reply(interaction, text)

    @admin_pairing.command(name="pause", description="Stop pairing rounds")
    async def pause_rounds(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await self.service.schedule.set_paused(interaction.guild_id, True)
        await reply(
            interaction, "Pairing rounds are paused. `/admin pairing resume` restarts them."
        )

    @admin_pairing.command(name="resume", description="Restart pairing rounds")
    async def resume_rounds(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        next_at = await self.service.schedule.set_paused(interaction.guild_id, False)
        nxt = f" The next round is {when(next_at)}." if next_at else ""
        await reply(interaction, f"Pairing rounds are back on.{nxt}")

    @admin_pairing.command(name="run-now", description="Start a pairing round now")
    async def run_now(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        started = await self.service.rounds.run_now(interaction.guild_id, interaction.id)
        plan = started.plan
        pairs = sum(1 for g in plan.groups if len(g) == 2)
        trios = len(plan.groups) - pairs
        head = "Round started" if started.created else "That round had already started"
        text = (
            f"{head}: {plan.pool_size} members in {pairs} pairs and {trios} trios. "
            "Intros are on their way by DM."
        )
        if plan.left_out:
            text += f" Not placed (told kindly, first next round): {mentions(plan.left_out)}."
        await reply(interaction, text)

    @admin_pairing.command(name="preview", description="Who would be paired now (nothing is sent)")
    async def preview(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        plan = await self.service.rounds.preview(interaction.guild_id)
        if plan.pool_size == 0:
            await reply(interaction, "Nobody is in the pool right now (members `/pair join`).")
            return
        body = "\n".join(plan_lines(plan))
        await reply(
            interaction,
            f"If a round ran now ({plan.pool_size} members; nothing has been sent):\n{body}"[:2000],
        )

    @admin_pairing.command(
        name="stats", description="Rounds, pairs, check-ins, meeting times, undelivered intros"
    )
    async def stats(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        stats = await self.service.overview.stats(interaction.guild_id)
        await reply(interaction, embed=stats_embed(stats))
