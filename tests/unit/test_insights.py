"""Insight figures on a known history: rounds, asks per week, medians, topics, connections."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import timedelta

import numpy as np
import pytest
from matplotlib import image

from bot.errors import UserError
from bot.insights.figures import Insights, compute_insights
from bot.insights.graph import connection_graph, connection_map
from bot.insights.history import read_history
from bot.insights.service import InsightsService
from bot.services import Services
from tests.support.db import START
from tests.support.history import GuildHistory

pytestmark = pytest.mark.backends("sqlite", "postgres")

GUILD = 7001
NOW = START
SINCE = NOW - timedelta(weeks=4)
H = timedelta(hours=1)
D = timedelta(days=1)


def known_history() -> GuildHistory:
    """Ten pool members (1-10); 11 is paused, 12 has left. Connections that count, with the
    "someone answered We met" rule: 1-2, 3-4, 1-3, 2-9 (one cluster of five) and 6-10."""
    history = GuildHistory(GUILD, NOW - 20 * D - timedelta(weeks=4))
    for user in range(1, 11):
        history.member(user)
    history.member(11, paused_until=NOW + 3 * D)
    # Five weeks ago, before the period: only its connections count (1-2 met; 3-4-5 did not).
    history.round(
        NOW - timedelta(weeks=5),
        [(1, 2), (3, 4, 5)],
        {1: "met", 3: "not_yet", 5: "skipped"},
    )
    history.round(
        NOW - 2 * timedelta(weeks=1),
        [(3, 4), (5, 6), (7, 12)],
        {4: "met", 5: "not_yet", 6: "not_yet", 12: "met"},  # 7-12: 12 has left
        left_out=(8,),
    )
    history.round(NOW - 10 * D, [(5, 8)], talk_post_id=77)  # a talk: no check-in, not a round
    history.round(
        NOW - timedelta(weeks=1),
        [(1, 3), (2, 9, 11), (6, 10)],
        {3: "met", 9: "met", 10: "met"},  # 2-11 and 9-11: 11 is paused, not in the pool
    )
    history.ask(SINCE + D, "Grading", "resolved", SINCE + 2 * D, (SINCE + D + 2 * H,))
    history.ask(
        SINCE + D + H, "Grading", "withdrawn", SINCE + 8 * D, (SINCE + D + 5 * H, SINCE + D + 2 * H)
    )
    history.ask(SINCE + 8 * D, "PBL", "stale", SINCE + 22 * D, (SINCE + 8 * D + 10 * H,))
    history.ask(SINCE + 23 * D, "Grading")
    history.ask(SINCE + 24 * D, "PBL")
    history.ask(SINCE - 3 * D, "PBL", "resolved", SINCE + 15 * D, (SINCE - 2 * D,))
    history.ask(SINCE - 3 * D, "Grading")
    history.ask(SINCE + 25 * D, "Rubrics $x$")
    history.offer("PBL", 4, SINCE)
    history.offer("Rubrics $x$", 5, SINCE, status="withdrawn")
    return history


async def insights_of(services: Services, history: GuildHistory, weeks: int = 4) -> Insights:
    await history.write(services.db)
    return compute_insights(await read_history(services.db, history.guild_id, NOW, weeks))


async def test_rounds_in_the_period_count_members_groups_and_check_ins(services):
    insights = await insights_of(services, known_history())
    two_weeks_ago, last_week = insights.rounds
    assert two_weeks_ago.started_at == NOW - timedelta(weeks=2)
    assert (two_weeks_ago.paired, two_weeks_ago.groups, two_weeks_ago.groups_met) == (6, 3, 2)
    assert (
        two_weeks_ago.met,
        two_weeks_ago.not_yet,
        two_weeks_ago.skipped,
        two_weeks_ago.unanswered,
    ) == (2, 2, 0, 2)
    assert (last_week.paired, last_week.groups, last_week.groups_met) == (7, 3, 3)
    assert (last_week.met, last_week.unanswered) == (3, 4)
    assert last_week.groups_confirmed == 0  # nobody confirmed a meeting time


async def test_asks_per_week_and_the_median_time_to_a_first_helper(services):
    insights = await insights_of(services, known_history())
    weeks = insights.asks
    assert [w.start for w in weeks] == [SINCE + timedelta(weeks=i) for i in range(4)]
    assert [w.opened for w in weeks] == [2, 1, 0, 3]
    assert [w.resolved for w in weeks] == [1, 0, 1, 0]
    assert [w.withdrawn for w in weeks] == [0, 1, 0, 0]
    assert [w.stale for w in weeks] == [0, 0, 0, 1]
    # Week 0: first helpers after 2 h and 1 h (the earlier of two helpers); week 1: 10 h.
    assert [w.to_first_helper for w in weeks] == [1.5 * H, 10 * H, None, None]
    assert insights.to_first_helper == 2 * H  # the median of 1 h, 2 h and 10 h


async def test_topics_with_open_asks_and_no_open_offer_most_asked_first(services):
    insights = await insights_of(services, known_history())
    assert [(t.name, t.open_asks) for t in insights.needed_topics] == [
        ("Grading", 2),
        ("Rubrics $x$", 1),  # its only offer was withdrawn
    ]


async def test_connections_count_pairs_who_met_among_todays_pool(services):
    insights = await insights_of(services, known_history())
    c = insights.connections
    assert (c.members, c.connected, c.clusters, c.largest) == (10, 7, 2, 5)
    assert c.share_connected == pytest.approx(0.7)
    drawn = insights.map
    assert (len(drawn.largest), len(drawn.others), len(drawn.isolated)) == (5, 2, 3)
    assert len(drawn.lines) == 5  # 1-2, 3-4, 1-3, 2-9 and 6-10


async def test_an_empty_guild_has_empty_figures(services):
    insights = await insights_of(services, GuildHistory(GUILD, NOW), weeks=12)
    assert insights.empty
    assert insights.rounds == [] and insights.needed_topics == []
    assert len(insights.asks) == 12 and not any(w.opened for w in insights.asks)
    assert insights.connections.members == 0 and insights.to_first_helper is None


def decode(png: bytes) -> np.ndarray:
    return image.imread(io.BytesIO(png), format="png")


@pytest.mark.parametrize("history", [known_history, lambda: GuildHistory(GUILD, NOW)])
async def test_the_report_is_a_1600_by_1000_picture_with_the_figures_in_text(services, history):
    await history().write(services.db)
    report = await InsightsService(services.db, services.clock).report(GUILD, "Maple $chool", 4)
    pixels = decode(report.png)
    assert pixels.shape[:2] == (1000, 1600)
    assert pixels[..., :3].std() > 0.05  # not blank
    assert "Maple $chool" in report.summary and len(report.summary) <= 2000
    assert "Maple $chool" in report.details


async def test_the_report_text_carries_the_figures(services):
    await known_history().write(services.db)
    report = await InsightsService(services.db, services.clock).report(GUILD, "Maple", 4)
    assert "2 rounds, 6 groups" in report.summary
    assert "median time to a first helper: 2.0 h" in report.summary
    assert "Grading (2 open asks)" in report.summary
    assert "70% have met at least one other member; 2 clusters, the largest of 5" in (
        report.summary
    )
    assert "0 confirmed a time" in report.summary
    assert report.details.count("check-ins: We met") == 2
    assert report.details.count("- week of ") == 4


async def test_weeks_outside_1_to_52_are_refused(services):
    service = InsightsService(services.db, services.clock)
    for weeks in (0, 53):
        with pytest.raises(UserError, match="between 1 and 52"):
            await service.report(GUILD, "Maple", weeks)


@pytest.mark.backends("sqlite")
def test_the_map_of_a_large_pool_draws_a_sample_in_proportion():
    pool = list(range(2000))
    pairs = [(i, i + 1) for i in range(0, 999)]  # one cluster of 1,000
    pairs += [(i, i + 1) for i in range(1000, 1400, 2)]  # 200 pairs
    graph = connection_graph(pool, np.array(pairs))
    assert (graph.figures.clusters, graph.figures.largest, graph.figures.connected) == (
        201,
        1000,
        1400,
    )
    drawn = connection_map(graph, max_dots=600)
    assert drawn.total == 2000 and drawn.shown <= 610
    assert len(drawn.largest) == 300 and len(drawn.isolated) == 180
    assert len(drawn.lines) >= 299  # the drawn part of the largest cluster stays linked


@pytest.mark.backends("sqlite")
def test_starting_the_bot_does_not_import_matplotlib():
    code = (
        "import sys, bot.app, bot.__main__\n"
        "from bot.app import EXTENSIONS\n"
        "import importlib\n"
        "for name in EXTENSIONS: importlib.import_module(name)\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported at start-up'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_without_the_insights_extra_the_command_says_how_to_add_it(services, monkeypatch):
    monkeypatch.setattr("bot.insights.service.picture_available", lambda: False)
    with pytest.raises(UserError, match=r"pip install 'kindred\[insights\]'"):
        await InsightsService(services.db, services.clock).report(GUILD, "Maple", 12)


async def test_a_helper_named_on_resolve_counts_as_the_first_helper(services):
    await GuildHistory(GUILD, NOW - 3 * D).write(services.db)
    created = await services.helpdesk.asks.ask(GUILD, 10, "pbl", "Where do I start?")
    services.clock.advance(3 * H)
    await services.helpdesk.closing.resolve(GUILD, 10, False, created.ask.ref, helper_user_id=20)
    insights = compute_insights(await read_history(services.db, GUILD, NOW + 4 * H, 1))
    assert insights.to_first_helper == 3 * H
    assert insights.asks[-1].resolved == 1
