"""How help-ledger values look in Discord: embeds and lines. Topics are escaped when shown."""

from __future__ import annotations

import discord
from discord.utils import escape_markdown, format_dt

from bot.helpdesk.models import Ask, BoardEntry, BoardPage, HelpdeskReport, TopicCounts

COLOR = discord.Color.gold()
DETAILS_PREVIEW = 180
REPORT_MAX_TOPICS = 25


def topic_text(topic: str) -> str:
    """A topic for display: bold, with markdown characters (`stem_ed`) shown literally."""
    return f"**{escape_markdown(topic)}**"


def ask_embed(ask: Ask, *, title: str | None = None) -> discord.Embed:
    """The ask as members see it in the help channel and in DMs."""
    embed = discord.Embed(
        title=title or f"Ask {ask.ref}: {escape_markdown(ask.topic)}",
        description=ask.details,
        color=COLOR,
    )
    embed.add_field(name="Asked by", value=f"<@{ask.user_id}>")
    embed.add_field(name="Asked", value=format_dt(ask.created_at, "R"))
    embed.set_footer(text=f'Press "I can help" to let them know. Id {ask.ref}')
    return embed


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= DETAILS_PREVIEW else flat[: DETAILS_PREVIEW - 1] + "…"


def board_line(entry: BoardEntry) -> str:
    verb = "asks" if entry.kind == "ask" else "offers"
    line = (
        f"`{entry.ref}` {topic_text(entry.topic)}: <@{entry.user_id}> {verb}, "
        f"{format_dt(entry.created_at, 'R')}"
    )
    if entry.details:
        line += f"\n> {escape_markdown(_preview(entry.details))}"
    return line


def board_embed(page: BoardPage) -> discord.Embed:
    about = f" on {topic_text(page.topic)}" if page.topic else ""
    if page.entries:
        description = "\n".join(board_line(e) for e in page.entries)
    else:
        description = (
            f"No open asks or offers{about} right now. `/ask` for help or `/offer` to help."
        )
    embed = discord.Embed(title="Help board", description=description, color=COLOR)
    embed.set_footer(
        text=f"Page {page.page + 1} of {page.pages} · {page.total} open · newest first · "
        "/resolve or /withdraw with an id to close your own"
    )
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
