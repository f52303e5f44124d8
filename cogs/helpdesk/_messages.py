"""How the help ledger's outbox rows look on Discord: the ask's post and bump (and their edits
when it closes), routing DMs, helper threads, the anonymous asker's choice, thank-you DMs and
the 14-day review. Asks, notes and details are member-written text: nobody is pinged, except the
two members a helper thread is for."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.edge.rendered import AddMembers, Edit, Post, Rendered, ThreadOpening
from bot.helpdesk.models import MessageKind, Outgoing
from bot.outbox import OutboxRow

from ._render import ask_embed, guild_name, topic_text
from ._views import decide_view, help_view, review_view

if TYPE_CHECKING:
    from bot.app import Kindred

KINDS = tuple(kind.outbox_kind for kind in MessageKind)


def register(bot: Kindred) -> None:
    """Register the renderer of every ledger kind with the bot's transport."""

    def render(row: OutboxRow) -> Rendered:
        return message_post(Outgoing.from_payload(row.payload), guild_name(bot, row.guild_id))

    for kind in KINDS:
        bot.transport.register(kind, render)


def _users(*user_ids: int) -> discord.AllowedMentions:
    """Ping exactly these members (the two people a helper thread is for), nobody else."""
    return discord.AllowedMentions(
        everyone=False, roles=False, users=[discord.Object(u) for u in user_ids]
    )


def message_post(message: Outgoing, where: str) -> Rendered:
    """What one ledger message says; `where` is the guild's name as shown."""
    ask = message.ask
    topic = topic_text(ask.topic)
    embed = ask_embed(ask)
    helper = message.helper_user_id or 0
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
            who = "Someone" if ask.anonymous else "A member"
            return Post(
                content=(
                    f"{who} in {where} asked for help on {topic}, which you offered to help "
                    f"with. If you can, press the button and they'll hear from Kindred. "
                    f"(To stop these, `/withdraw` your offer there.)"
                ),
                embeds=(embed,),
                view=help_view(ask.guild_id, ask.number),
            )
        case MessageKind.HELP:
            return Post(
                content=(
                    f"Good news: <@{helper}> can help with your ask "
                    f"`{ask.ref}` on {topic} in {where}. Send them a message! When you're "
                    f"sorted, `/resolve {ask.ref}` there (you can thank them privately)."
                )
            )
        case MessageKind.THANKS:
            thanks = discord.Embed(description=message.note or None, color=embed.color)
            thanks.set_author(name="A note for you")
            closer = f"<@{message.closer_user_id}>"
            if ask.anonymous and message.closer_user_id == ask.user_id:
                closer = "The member who asked"  # an anonymous ask stays anonymous
            return Post(
                content=(
                    f"Thank you for helping with {topic} in {where}! {closer} "
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
        case MessageKind.THREAD if not ask.anonymous:
            first = Post(
                content=(
                    f"<@{ask.user_id}>, <@{helper}> offered to help with your ask `{ask.ref}` "
                    f"on {topic}. This private thread is for the two of you: say hello! When "
                    f"you're sorted, `/resolve {ask.ref}`."
                ),
                embeds=(embed,),
                allowed_mentions=_users(ask.user_id, helper),
            )
            return _thread(message, (ask.user_id, helper), first)
        case MessageKind.THREAD:
            return _thread(message, (ask.user_id, helper), _anonymous_intro(message))
        case MessageKind.INTRO:
            return _anonymous_intro(message)
        case MessageKind.JOIN:
            return AddMembers((helper,))
        case MessageKind.CONSENT:
            return Post(
                content=(
                    f"<@{helper}> offered to help with your anonymous ask `{ask.ref}` on {topic} "
                    f"in {where}. Would you like a private thread with them? They'll learn it "
                    "was you only if you open one."
                ),
                embeds=(embed,),
                view=decide_view(ask.guild_id, ask.number, helper),
            )
        case MessageKind.SOLO:
            first = Post(
                content=(
                    f"<@{ask.user_id}>, someone offered to help with your anonymous ask "
                    f"`{ask.ref}` on {topic}. I couldn't DM you, so I opened this private "
                    "thread, which only you can see. Would you like to talk with them here?"
                ),
                embeds=(embed,),
                view=decide_view(ask.guild_id, ask.number, helper),
                allowed_mentions=_users(ask.user_id),
            )
            return _thread(message, (ask.user_id,), first)
        case MessageKind.CONTACT if message.recipient_user_id == ask.user_id:
            return Post(
                content=(
                    f"I couldn't open a private thread in {where} for your ask `{ask.ref}` on "
                    f"{topic}. <@{helper}> offered to help: send them a message!"
                )
            )
        case MessageKind.CONTACT:
            return Post(
                content=(
                    f"Thank you for offering to help with `{ask.ref}` on {topic} in {where}. "
                    f"I couldn't open a private thread, so please message <@{ask.user_id}> "
                    "directly."
                )
            )
        case MessageKind.CLOSED:
            return Edit(embeds=(embed,), view=help_view(ask.guild_id, ask.number, disabled=True))
        case MessageKind.CLOSED_BUMP:
            return Edit(
                content=f"This ask on {topic} is closed.",
                embeds=(embed,),
                view=help_view(ask.guild_id, ask.number, disabled=True),
            )


def _thread(message: Outgoing, members: tuple[int, ...], first: Post) -> ThreadOpening:
    return ThreadOpening(name=message.thread_name, member_ids=members, first=first)


def _anonymous_intro(message: Outgoing) -> Post:
    """The first words in an anonymous ask's thread: the helper is named, the asker is not
    (they are the other member of the thread, by their own choice)."""
    ask = message.ask
    helper = message.helper_user_id or 0
    return Post(
        content=(
            f"<@{helper}>, thank you for offering to help with ask `{ask.ref}` on "
            f"{topic_text(ask.topic)}. Its asker opened this private thread to talk with you."
        ),
        embeds=(ask_embed(ask),),
        allowed_mentions=_users(helper),
    )
