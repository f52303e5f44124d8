"""How help-ledger values look in Discord: embeds and lines. Topics are escaped when shown."""

from __future__ import annotations

import discord
from discord.utils import escape_markdown, format_dt

from bot.helpdesk.board import SEARCH_LIMIT
from bot.helpdesk.models import Ask, BoardEntry, BoardPage, HelpdeskReport, TopicCounts

COLOR = discord.Color.gold()
CLOSED_COLOR = discord.Color.light_grey()
DETAILS_PREVIEW = 180
REPORT_MAX_TOPICS = 25


def topic_text(topic: str) -> str:
    """A topic for display: bold, with markdown characters (`stem_ed`) shown literally."""
    return f"**{escape_markdown(topic)}**"


#: How a closed ask's state reads on its post.
CLOSED_AS = {"resolved": "Resolved", "withdrawn": "Withdrawn", "stale": "Closed (no answer)"}


def asker_text(user_id: int | None) -> str:
    """Who asked, as members see it: a mention, or nobody for an anonymous ask."""
    return "Someone (anonymous)" if user_id is None else f"<@{user_id}>"


def ask_embed(ask: Ask, *, title: str | None = None) -> discord.Embed:
    """The ask as members see it in the help channel and in DMs; once closed, its state and
    (if shared) what helped, never naming the helper."""
    embed = discord.Embed(
        title=title or f"Ask {ask.ref}: {escape_markdown(ask.topic)}",
        description=ask.details,
        color=COLOR if ask.is_open else CLOSED_COLOR,
    )
    embed.add_field(name="Asked by", value=asker_text(None if ask.anonymous else ask.user_id))
    embed.add_field(name="Asked", value=format_dt(ask.created_at, "R"))
    if ask.is_open:
        embed.set_footer(text=f'Press "I can help" to let them know. Id {ask.ref}')
        return embed
    closed = CLOSED_AS.get(str(ask.status), str(ask.status).capitalize())
    when = f" {format_dt(ask.closed_at, 'D')}" if ask.closed_at else ""
    embed.add_field(name="Status", value=f"{closed}{when}")
    if ask.shared_summary:
        embed.add_field(name="What helped", value=_clip(ask.shared_summary, 1024), inline=False)
    embed.set_footer(text=f"This ask is closed. Id {ask.ref}")
    return embed


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= DETAILS_PREVIEW else flat[: DETAILS_PREVIEW - 1] + "…"


def board_line(entry: BoardEntry) -> str:
    """One ask or offer on the board; a searched resolved ask with what helped."""
    verb = "asks" if entry.kind == "ask" else "offers"
    state = "" if entry.status == "open" else f" ({entry.status})"
    line = (
        f"`{entry.ref}` {topic_text(entry.topic)}{state}: {asker_text(entry.user_id)} {verb}, "
        f"{format_dt(entry.created_at, 'R')}"
    )
    if entry.details:
        line += f"\n> {escape_markdown(_preview(entry.details))}"
    if entry.shared_summary:
        line += f"\n> **What helped:** {escape_markdown(_preview(entry.shared_summary))}"
    return line


def board_embed(page: BoardPage) -> discord.Embed:
    """A board page: open asks and offers, or the asks a search found."""
    about = f" on {topic_text(page.topic)}" if page.topic else ""
    if page.entries:
        description = "\n".join(board_line(e) for e in page.entries)
    elif page.search is not None:
        description = (
            f"No open or resolved asks{about} have all of those words. Try fewer or other "
            "words, or `/ask` it yourself."
        )
    else:
        description = (
            f"No open asks or offers{about} right now. `/ask` for help or `/offer` to help."
        )
    if page.search is not None:
        title = f"Asks matching {_clip(' '.join(page.search.split()), 80)!r}"
        found = f"the newest {page.total}" if page.total >= SEARCH_LIMIT else f"{page.total} found"
        footer = f"Page {page.page + 1} of {page.pages} · {found} · newest first"
    else:
        title = "Help board"
        footer = (
            f"Page {page.page + 1} of {page.pages} · {page.total} open · newest first · "
            "/resolve or /withdraw with an id to close your own"
        )
    embed = discord.Embed(title=escape_markdown(title), description=description, color=COLOR)
    embed.set_footer(text=footer)
    return embed


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "none"


def _topic_report(entry: TopicCounts) -> str:
    return f"{topic_text(entry.topic)}: asks {_counts(entry.asks)}; offers {_counts(entry.offers)}"


def report_embed(report: HelpdeskReport) -> discord.Embed:
    lines = [_topic_report(t) for t in report.topics[:REPORT_MAX_TOPICS]]
    if len(report.topics) > REPORT_MAX_TOPICS:
        lines.append(f"… and {len(report.topics) - REPORT_MAX_TOPICS} more topics")
    embed = discord.Embed(
        title="Help ledger report",
        description="\n".join(lines) or "No asks or offers yet.",
        color=COLOR,
    )
    if report.asks_without_offers:
        unmet = ", ".join(topic_text(t) for t in report.asks_without_offers[:30])
        embed.add_field(name="Open asks that nobody offers", value=unmet[:1024], inline=False)
    return embed


def guild_name(client: discord.Client, guild_id: int) -> str:
    guild = client.get_guild(guild_id)
    return f"**{escape_markdown(guild.name)}**" if guild else "your server"
