"""The help ledger's commands: /ask, /offer, /board, /resolve, /withdraw, /admin helpdesk.

Thin adapter: parse the options, call `bot.helpdesk.ledger.HelpdeskService`, render the result.
Commands that send messages (the post, routing DMs, thanks) defer first, since a few sends can
take longer than Discord's three seconds to answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.edge.admin import AdminGroup, has_manage_guild
from bot.edge.interactions import reply
from bot.errors import UserError

from .._ui import Pager, Shown
from . import _messages
from ._render import board_embed, report_embed, topic_text
from ._views import DecideButton, HelpButton, ReviewButton

if TYPE_CHECKING:
    from bot.app import Kindred

DYNAMIC_ITEMS = (HelpButton, DecideButton, ReviewButton)


class Helpdesk(commands.Cog):
    admin_helpdesk = AdminGroup(name="helpdesk", description="Set up the help ledger")

    def __init__(self, bot: Kindred) -> None:
        self.bot = bot
        self.ledger = bot.services.helpdesk

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        _messages.register(self.bot)

    async def cog_unload(self) -> None:
        self.bot.transport.unregister(*_messages.KINDS)
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)

    async def _topics(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        topics = await self.ledger.asks.suggest_topics(interaction.guild_id, current)
        return [app_commands.Choice(name=t, value=t) for t in topics]

    async def _requests(
        self, interaction: discord.Interaction, current: str, *, offers: bool
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        found = await self.ledger.board.suggest_requests(
            interaction.guild_id,
            interaction.user.id,
            has_manage_guild(interaction),
            current,
            offers=offers,
        )
        return [app_commands.Choice(name=label[:100], value=ref) for ref, label in found]

    async def _asks_to_resolve(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._requests(interaction, current, offers=False)

    async def _requests_to_withdraw(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._requests(interaction, current, offers=True)

    # ------------------------------------------------------------------ members

    @app_commands.command(name="ask", description="Ask for help on a topic")
    @app_commands.describe(
        topic="What it is about, e.g. project-based learning",
        details="What you need help with (up to 1,500 characters)",
        anonymous="Hide your name from members (admins can still see it in an export)",
    )
    @app_commands.guild_only()
    async def ask(
        self, interaction: discord.Interaction, topic: str, details: str, anonymous: bool = False
    ) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        created = await self.ledger.asks.ask(
            interaction.guild_id, interaction.user.id, topic, details, anonymous
        )
        ref = created.ask.ref
        lines = [f"Your ask `{ref}` on {topic_text(created.ask.topic)} is recorded."]
        if anonymous:
            lines.append(
                "Members won't see that it's yours. When someone offers help, I'll DM you "
                "and you choose whether to open a private thread with them."
            )
        if created.posted_to_channel_id:
            lines.append(f"It is posted in <#{created.posted_to_channel_id}>.")
        if created.helpers_notified:
            people = "member" if created.helpers_notified == 1 else "members"
            lines.append(f"{created.helpers_notified} {people} who offered this topic got a DM.")
        lines.append(
            f"When someone can help, you'll get a private thread with them. When you're "
            f"sorted, `/resolve {ref}` (you can thank your helper privately)."
        )
        await reply(interaction, " ".join(lines))

    @app_commands.command(name="offer", description="Offer help on a topic")
    @app_commands.describe(
        topic="What you can help with, e.g. classroom management",
        details="Optional: how you can help (up to 1,500 characters)",
    )
    @app_commands.guild_only()
    async def offer(
        self, interaction: discord.Interaction, topic: str, details: str | None = None
    ) -> None:
        assert interaction.guild_id is not None
        recorded = await self.ledger.offers.offer(
            interaction.guild_id, interaction.user.id, topic, details
        )
        offer = recorded.offer
        verb = "is updated" if recorded.updated else "is recorded"
        text = (
            f"Thank you! Your offer `{offer.ref}` on {topic_text(offer.topic)} {verb}. "
            "New asks on it will reach you by DM (at most three a day)."
        )
        if recorded.open_asks:
            text += f" {recorded.open_asks} open ask(s) on it are waiting: see `/board`."
        await reply(interaction, text)

    @app_commands.command(name="board", description="Open asks and offers, newest first")
    @app_commands.describe(
        topic="Only this topic",
        search="Words to find in open and resolved asks and what helped, e.g. grading rubrics",
    )
    @app_commands.guild_only()
    async def board(
        self,
        interaction: discord.Interaction,
        topic: str | None = None,
        search: str | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        guild_id = interaction.guild_id

        async def show(index: int) -> Shown:
            page = await self.ledger.board.page(guild_id, topic, index, search)
            return Shown(board_embed(page), page.page, page.pages)

        first = await show(0)
        if first.count == 1:
            await reply(interaction, embed=first.embed)
        else:
            await reply(
                interaction, embed=first.embed, view=Pager(interaction.user.id, show, first)
            )

    @app_commands.command(name="resolve", description="Close your ask; optionally thank a helper")
    @app_commands.describe(
        request_id="Your ask's id, e.g. A12",
        helper="Who helped: they get a private thank-you",
        note="A private note for the helper (up to 1,000 characters)",
        summary="What helped, in a few words (up to 1,000 characters; private unless shared)",
        share='Show the summary under "What helped" on the ask\'s post (the helper is not named)',
    )
    @app_commands.guild_only()
    async def resolve(
        self,
        interaction: discord.Interaction,
        request_id: str,
        helper: discord.Member | None = None,
        note: str | None = None,
        summary: str | None = None,
        share: bool = False,
    ) -> None:
        assert interaction.guild_id is not None
        if helper is not None and helper.bot:
            raise UserError("Choose the member who helped you; bots can't be thanked.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        closed = await self.ledger.closing.resolve(
            interaction.guild_id,
            interaction.user.id,
            has_manage_guild(interaction),
            request_id,
            helper.id if helper else None,
            note,
            summary,
            share,
        )
        text = f"`{closed.ref}` on {topic_text(closed.topic)} is resolved."
        if closed.thanked_user_id:
            text += f" <@{closed.thanked_user_id}> gets your thank-you privately by DM."
        if closed.summary_shared:
            text += " What helped is shown on its post and found by `/board search`."
        elif closed.summary_kept:
            text += " What helped is kept for you alone (`/privacy show` lists it)."
        await reply(interaction, text)

    @app_commands.command(name="withdraw", description="Withdraw your ask or offer")
    @app_commands.describe(request_id="The id of your ask or offer, e.g. A12 or O7")
    @app_commands.guild_only()
    async def withdraw(self, interaction: discord.Interaction, request_id: str) -> None:
        assert interaction.guild_id is not None
        closed = await self.ledger.closing.withdraw(
            interaction.guild_id, interaction.user.id, has_manage_guild(interaction), request_id
        )
        topic = topic_text(closed.topic)
        await reply(interaction, f"The {closed.kind} `{closed.ref}` on {topic} is withdrawn.")

    ask.autocomplete("topic")(_topics)
    offer.autocomplete("topic")(_topics)
    board.autocomplete("topic")(_topics)
    resolve.autocomplete("request_id")(_asks_to_resolve)
    withdraw.autocomplete("request_id")(_requests_to_withdraw)

    # ------------------------------------------------------------------ admins

    @admin_helpdesk.command(name="channel", description="Where asks are posted")
    @app_commands.describe(channel="A text channel Kindred can post in")
    async def admin_channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel
    ) -> None:
        assert interaction.guild_id is not None
        await self.ledger.set_channel(interaction.guild_id, channel.id)
        text = f'New asks will be posted in {channel.mention}, with an "I can help" button.'
        me = channel.guild.me
        if me is not None and not channel.permissions_for(me).send_messages:
            text += " I can't send messages there yet: please give me Send Messages."
        await reply(interaction, text)

    @admin_helpdesk.command(name="report", description="Asks and offers by topic")
    async def admin_report(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        report = await self.ledger.board.report(interaction.guild_id)
        await reply(interaction, embed=report_embed(report))
