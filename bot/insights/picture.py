"""The insights picture: one 1600 x 1000 PNG with four panels, drawn with matplotlib's Agg.

This module imports matplotlib, so only `service.py` imports it, on first use, in a worker
thread: the bot starts without it, and without the `kindred[insights]` extra it is never needed.
It uses `Figure` and the Agg canvas directly (no pyplot: no global figure state, safe in a
thread). Colours are the Okabe-Ito palette, which stays distinct for colour-blind readers; the
asks lines also differ by marker. Fonts are large: Discord shows the image phone-wide.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.typing import RcKeyType

from .figures import Insights
from .summary import duration, period

WIDTH, HEIGHT, DPI = 16, 10, 100  # inches at DPI: 1600 x 1000 pixels
# Okabe & Ito (2008), "Color Universal Design".
BLUE, ORANGE, GREEN, SKY = "#0072B2", "#E69F00", "#009E73", "#56B4E9"
VERMILION, PURPLE, GREY, LIGHT = "#D55E00", "#CC79A7", "#8C8C8C", "#D9D9D9"
INK = "#222222"
STYLE: dict[RcKeyType, Any] = {
    "font.size": 15,
    "axes.titlesize": 18,
    "axes.titleweight": "bold",
    "axes.labelsize": 15,
    "xtick.labelsize": 13,
    "ytick.labelsize": 13,
    "legend.fontsize": 13,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "text.color": INK,
    "text.parse_math": False,  # a guild or topic name with "$" is text, not a formula
}
TOPICS_SHOWN = 8


def render(insights: Insights, guild_name: str) -> bytes:
    """The PNG for `insights` (a friendly "nothing yet" picture when there is nothing)."""
    with mpl.rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, facecolor="white")
        FigureCanvasAgg(figure)
        figure.suptitle(
            f"{guild_name} · Kindred insights · {period(insights)}", fontsize=22, weight="bold"
        )
        if insights.empty:
            draw_nothing_yet(figure)
        else:
            grid = figure.add_gridspec(
                2,
                2,
                left=0.06,
                right=0.98,
                top=0.87,
                bottom=0.07,
                hspace=0.32,
                wspace=0.14,
                height_ratios=(1, 1.3),
                width_ratios=(1.1, 1),
            )
            draw_rounds(figure.add_subplot(grid[0, 0]), insights)
            draw_asks(figure.add_subplot(grid[0, 1]), insights)
            draw_map(figure.add_subplot(grid[1, 0]), insights)
            draw_topics(figure.add_subplot(grid[1, 1]), insights)
        out = io.BytesIO()
        figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def draw_nothing_yet(figure: Figure) -> None:
    """The picture of a guild where nothing has happened yet."""
    figure.text(
        0.5, 0.55, "Nothing to show yet", ha="center", fontsize=40, weight="bold", color=BLUE
    )
    figure.text(
        0.5,
        0.40,
        "Once members join pairing rounds (/pair join) and ask for help (/ask),\n"
        "this picture shows who is meeting, how asks are answered,\n"
        "and how the community connects.",
        ha="center",
        fontsize=22,
        linespacing=1.6,
    )


def short_date(moment: datetime) -> str:
    """`Mar 2`: short enough for a tick label on a phone."""
    return f"{moment:%b} {moment.day}"


def thin_ticks(axes: Axes, labels: list[str], most: int = 8) -> None:
    """Label at most `most` evenly spaced positions, so labels never overlap."""
    step = max(1, -(-len(labels) // most))
    positions = list(range(0, len(labels), step))
    axes.set_xticks(positions, [labels[i] for i in positions])


def draw_rounds(axes: Axes, insights: Insights) -> None:
    """Stacked bars: each round's paired members by what their check-in said."""
    axes.set_title("Pairing rounds: check-ins", loc="left")
    rounds = insights.rounds
    if not rounds:
        empty_note(axes, "No pairing rounds in this period")
        return
    x = range(len(rounds))
    bottom = [0] * len(rounds)
    for label, colour, values in (
        ("We met", GREEN, [r.met for r in rounds]),
        ("Not yet", ORANGE, [r.not_yet for r in rounds]),
        ("Skip", SKY, [r.skipped for r in rounds]),
        ("No answer", LIGHT, [r.unanswered for r in rounds]),
    ):
        axes.bar(x, values, bottom=bottom, color=colour, label=label, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel("members paired")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    thin_ticks(axes, [short_date(r.started_at) for r in rounds])
    axes.legend(loc="upper left", ncols=4, frameon=False, bbox_to_anchor=(0, 1.0))
    axes.set_ylim(0, max(max(bottom), 1) * 1.25)  # room for the legend


def draw_asks(axes: Axes, insights: Insights) -> None:
    """Lines: asks opened and closed each week; the median wait for a helper in the title."""
    wait = duration(insights.to_first_helper) if insights.to_first_helper else "no helper yet"
    axes.set_title(f"Asks per week · median wait for a helper: {wait}", loc="left")
    weeks = insights.asks
    x = range(len(weeks))
    for label, colour, marker, values in (
        ("opened", BLUE, "o", [w.opened for w in weeks]),
        ("resolved", GREEN, "s", [w.resolved for w in weeks]),
        ("withdrawn", PURPLE, "^", [w.withdrawn for w in weeks]),
        ("stale", VERMILION, "D", [w.stale for w in weeks]),
    ):
        axes.plot(x, values, color=colour, marker=marker, markersize=6, linewidth=2.5, label=label)
    axes.set_ylabel("asks")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(bottom=0, top=max(1, *(w.opened for w in weeks)) * 1.3)
    axes.set_xlabel("week starting")
    thin_ticks(axes, [short_date(w.start) for w in weeks])
    axes.legend(loc="upper left", ncols=4, frameon=False)


def draw_map(axes: Axes, insights: Insights) -> None:
    """The connection map: anonymous dots, lines for pairs who met."""
    figures, layout = insights.connections, insights.map
    axes.set_title(
        f"Connections: {figures.share_connected:.0%} of {figures.members:,} have met someone",
        loc="left",
    )
    axes.set_anchor("W")  # the square map sits left, under its title
    axes.set_aspect("equal")
    axes.set_xlim(-1.08, 1.08)
    axes.set_ylim(-1.08, 1.08)
    axes.axis("off")
    if not figures.members:
        empty_note(axes, "Nobody is in the pairing pool yet")
        return
    axes.add_collection(
        LineCollection(list(layout.lines), colors=GREY, linewidths=0.6, alpha=0.45, zorder=1)
    )
    for points, colour, label in (
        (layout.largest, BLUE, f"largest cluster: {figures.largest:,}"),
        (layout.others, ORANGE, f"other clusters: {max(figures.clusters - 1, 0):,}"),
        (layout.isolated, GREY, f"no connection yet: {figures.members - figures.connected:,}"),
    ):
        if len(points):
            axes.scatter(
                points[:, 0],
                points[:, 1],
                s=22 if layout.shown > 150 else 70,
                color=colour,
                edgecolors="white",
                linewidths=0.4,
                zorder=2,
                label=label,
            )
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 0.95), frameon=False, markerscale=2)
    if layout.shown < layout.total:
        axes.text(
            1.03,
            0.55,
            f"A sample of {layout.shown:,} of\n{layout.total:,} members is drawn,\nin proportion.",
            transform=axes.transAxes,
            fontsize=13,
            color=GREY,
            va="top",
        )


def draw_topics(axes: Axes, insights: Insights) -> None:
    """A short list: topics with open asks and nobody offering them."""
    axes.set_title("Topics that need helpers", loc="left")
    axes.axis("off")
    topics = insights.needed_topics
    if not topics:
        empty_note(axes, "Every open ask has someone offering its topic")
        return
    for row, topic in enumerate(topics[:TOPICS_SHOWN]):
        y = 0.92 - row * 0.115
        name = topic.name if len(topic.name) <= 38 else topic.name[:37] + "…"
        asks = "1 open ask" if topic.open_asks == 1 else f"{topic.open_asks:,} open asks"
        axes.text(0.0, y, f"• {name}", fontsize=17, transform=axes.transAxes, va="top")
        axes.text(
            1.0,
            y,
            asks,
            fontsize=15,
            color=VERMILION,
            ha="right",
            transform=axes.transAxes,
            va="top",
        )
    if len(topics) > TOPICS_SHOWN:
        axes.text(
            0.0,
            0.0,
            f"and {len(topics) - TOPICS_SHOWN:,} more (all in the text file)",
            fontsize=13,
            color=GREY,
            transform=axes.transAxes,
        )


def empty_note(axes: Axes, text: str) -> None:
    """A panel with nothing to draw says so in its middle."""
    axes.text(
        0.5, 0.5, text, ha="center", va="center", fontsize=17, color=GREY, transform=axes.transAxes
    )
    axes.set_xticks([])
    axes.set_yticks([])
