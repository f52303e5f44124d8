"""How the help ledger's outbox rows look on Discord: the ask's post and bump, routing DMs, "can
help" and thank-you DMs, and the 14-day review. Asks, notes and details are member-written
text: nobody is pinged."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.edge.rendered import Post
from bot.helpdesk.models import MessageKind, Outgoing
from bot.outbox import OutboxRow

from ._render import ask_embed, guild_name, topic_text
from ._views import help_view, review_view

if TYPE_CHECKING:
    from bot.app import Kindred

KINDS = tuple(kind.outbox_kind for kind in MessageKind)


def register(bot: Kindred) -> None:
    """Register the renderer of every ledger kind with the bot's transport."""

    def render(row: OutboxRow) -> Post:
        return message_post(Outgoing.from_payload(row.payload), guild_name(bot, row.guild_id))

    for kind in KINDS:
        bot.transport.register(kind, render)


def message_post(message: Outgoing, where: str) -> Post:
    """What one ledger message says; `where` is the guild's name as shown."""
    ask = message.ask
    topic = topic_text(ask.topic)
    embed = ask_embed(ask)
    match message.kind:
        case MessageKind.POST:
            return Post(embeds=(embed,), view=help_view(ask.guild_id, ask.number))
        case MessageKind.BUMP:
            return Post(
                content=f"Still looking for help on {topic}: can anyone lend a hand?",
                embeds=(embed,),
                view=help_view(ask.guild_id, ask.number),
            )
        case MessageKind.ROUTE:
            return Post(
                content=(
                    f"Someone in {where} asked for help on {topic}, which you offered to help "
                    f"with. If you can, press the button and they'll hear from Kindred. "
                    f"(To stop these, `/withdraw` your offer there.)"
                ),
                embeds=(embed,),
                view=help_view(ask.guild_id, ask.number),
            )
        case MessageKind.HELP:
            return Post(
                content=(
                    f"Good news: <@{message.helper_user_id}> can help with your ask "
                    f"`{ask.ref}` on {topic} in {where}. Send them a message! When you're "
                    f"sorted, `/resolve {ask.ref}` there (you can thank them privately)."
                )
            )
        case MessageKind.THANKS:
            thanks = discord.Embed(description=message.note or None, color=embed.color)
            thanks.set_author(name="A note for you")
            return Post(
                content=(
                    f"Thank you for helping with {topic} in {where}! <@{message.closer_user_id}> "
                    f"marked `{ask.ref}` resolved and wanted you to know you helped."
                ),
                embeds=(thanks,) if message.note else (),
            )
        case MessageKind.REVIEW:
            return Post(
                content=(
                    f"Your ask `{ask.ref}` on {topic} in {where} has been open for two weeks. "
                    "Is it still open? If I don't hear back within a week, I'll close it."
                ),
                embeds=(embed,),
                view=review_view(ask.guild_id, ask.number),
            )
