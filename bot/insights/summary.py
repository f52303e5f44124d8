"""The insight figures as text, for screen readers and for anyone who prefers numbers.

`summary` fits one Discord message (2,000 characters): the period's totals, the latest round and
week, the topics and the connections. `details` holds every round and every week, sent as a text
file next to the picture. Neither names a member.
"""

from __future__ import annotations

from datetime import timedelta

from .figures import Insights, RoundFigures, WeekFigures

MESSAGE_LIMIT = 2000
TOPICS_IN_SUMMARY = 5


def period(insights: Insights) -> str:
    """`3 Sep - 1 Dec 2026 (12 weeks)`: the dates the figures cover (an en dash between)."""
    start, end = insights.since, insights.now
    first = f"{start.day} {start:%b}" + (f" {start.year}" if start.year != end.year else "")
    weeks = "1 week" if insights.weeks == 1 else f"{insights.weeks} weeks"
    return f"{first} – {end.day} {end:%b} {end.year} ({weeks})"


def duration(span: timedelta) -> str:
    """A wait in the largest unit that reads well: `40 min`, `5.2 h`, `3.1 days`."""
    hours = span.total_seconds() / 3600
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def plural(count: int, one: str, many: str | None = None) -> str:
    """`1 ask`, `3 asks`, with thousands separated."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def share(part: int, whole: int) -> str:
    """`42%` of a whole, or a dash when the whole is empty."""
    return f"{part / whole:.0%}" if whole else "–"


def round_line(r: RoundFigures) -> str:
    """One round in one line."""
    return (
        f"{r.started_at:%Y-%m-%d}: {plural(r.paired, 'member')} paired in "
        f"{plural(r.groups, 'group')} ({r.groups_met:,} met, "
        f"{r.groups_confirmed:,} confirmed a time); check-ins: "
        f"We met {r.met:,}, Not yet {r.not_yet:,}, Skip {r.skipped:,}, "
        f"no answer {r.unanswered:,}"
    )


def week_line(w: WeekFigures) -> str:
    """One week of asks in one line."""
    wait = duration(w.to_first_helper) if w.to_first_helper else "no helper"
    return (
        f"week of {w.start:%Y-%m-%d}: {w.opened:,} opened, {w.resolved:,} resolved, "
        f"{w.withdrawn:,} withdrawn, {w.stale:,} stale; median time to a first helper: {wait}"
    )


def rounds_paragraph(insights: Insights) -> str:
    """The period's rounds in one paragraph."""
    rounds = insights.rounds
    if not rounds:
        return "**Pairing rounds:** none in this period."
    groups = sum(r.groups for r in rounds)
    met = sum(r.groups_met for r in rounds)
    answered = sum(r.paired - r.unanswered for r in rounds)
    paired = sum(r.paired for r in rounds)
    confirmed = sum(r.groups_confirmed for r in rounds)
    return (
        f"**Pairing rounds:** {plural(len(rounds), 'round')}, {plural(groups, 'group')}; "
        f"{share(met, groups)} of groups met (someone answered We met); "
        f"{share(confirmed, groups)} confirmed a meeting time; "
        f"{share(answered, paired)} of check-ins answered.\n"
        f"Latest round {round_line(rounds[-1])}."
    )


def asks_paragraph(insights: Insights) -> str:
    """The period's asks in one paragraph."""
    weeks = insights.asks
    opened = sum(w.opened for w in weeks)
    wait = duration(insights.to_first_helper) if insights.to_first_helper else "no helper yet"
    totals = (
        f"**Asks:** {opened:,} opened, {sum(w.resolved for w in weeks):,} resolved, "
        f"{sum(w.withdrawn for w in weeks):,} withdrawn, {sum(w.stale for w in weeks):,} stale; "
        f"median time to a first helper: {wait}."
    )
    return f"{totals}\nLatest {week_line(weeks[-1])}." if weeks else totals


def topics_paragraph(insights: Insights, most: int | None) -> str:
    """Topics with open asks and no offers (the first `most`, or all)."""
    topics = insights.needed_topics
    if not topics:
        return "**Topics that need helpers:** none; every open ask's topic has an offer."
    shown = topics if most is None else topics[:most]
    listed = "; ".join(f"{t.name} ({plural(t.open_asks, 'open ask')})" for t in shown)
    more = f"; and {len(topics) - len(shown):,} more" if len(topics) > len(shown) else ""
    return f"**Topics that need helpers:** {listed}{more}."


def connections_paragraph(insights: Insights) -> str:
    """The connection graph's figures in one paragraph."""
    c = insights.connections
    return (
        f"**Connections (all time, among today's {plural(c.members, 'pool member')}):** "
        f"{share(c.connected, c.members)} have met at least one other member; "
        f"{plural(c.clusters, 'cluster')}, the largest of {plural(c.largest, 'member')}; "
        f"{plural(c.members - c.connected, 'member')} without a connection yet."
    )


def header(insights: Insights, guild_name: str) -> str:
    """The first line: whose figures, over which period."""
    return f"Kindred insights for **{guild_name}**, {period(insights)}."


def summary(insights: Insights, guild_name: str) -> str:
    """The figures in one message (at most 2,000 characters)."""
    if insights.empty:
        return (
            f"{header(insights, guild_name)}\nNothing to show yet: no pairing rounds, asks or "
            "pool members. Once members `/pair join` and `/ask`, these figures fill in."
        )
    text = "\n\n".join(
        (
            header(insights, guild_name),
            rounds_paragraph(insights),
            asks_paragraph(insights),
            topics_paragraph(insights, TOPICS_IN_SUMMARY),
            connections_paragraph(insights),
            "Every round and week is in the attached text file.",
        )
    )
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def details(insights: Insights, guild_name: str) -> str:
    """Every figure: each round, each week, every topic (the text file's content)."""
    lines = [header(insights, guild_name).replace("**", ""), "", "Pairing rounds:"]
    lines += [f"- {round_line(r)}" for r in insights.rounds] or ["- none in this period"]
    lines += ["", "Asks per week:"] + [f"- {week_line(w)}" for w in insights.asks]
    lines += ["", topics_paragraph(insights, None).replace("**", "")]
    lines += ["", connections_paragraph(insights).replace("**", "")]
    return "\n".join(lines) + "\n"


def alt_text(insights: Insights) -> str:
    """The picture's description (Discord's alt text, at most 1,024 characters)."""
    c = insights.connections
    return (
        f"Kindred insights, {period(insights)}: check-ins per pairing round, asks per week, "
        f"a map of connections ({share(c.connected, c.members)} of members connected, "
        f"{plural(c.clusters, 'cluster')}) and topics that need helpers. "
        "The figures are in the message text."
    )[:1024]
