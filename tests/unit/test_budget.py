"""The request budget spaces requests under Discord's global limit and learns from its 429s.

Time is a fake monotonic clock moved by hand: `reserve()` says how long a request would wait,
so the schedule of sends is computed, never waited for.
"""

from __future__ import annotations

import asyncio

import discord
import discord.http
import pytest

from bot.edge.budget import (
    CUT_ON_GLOBAL_429,
    SHARE_OF_LIMIT,
    RequestBudget,
    budget_trace,
    counts_against_limit,
)
from tests.fakediscord import FakeDiscord
from tests.fakediscord.fixtures import World, running


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def send_times(budget: RequestBudget, ticker: Ticker, count: int) -> list[float]:
    """When `count` requests asked for at the same instant would go."""
    return [ticker.now + budget.reserve() for _ in range(count)]


def most_in_any_second(times: list[float]) -> int:
    """The most sends in any window (t - 1 s, t], as Discord's sliding window counts them."""
    times = sorted(times)
    return max(sum(1 for other in times if end - 1.0 < other <= end) for end in times)


def test_a_burst_is_spread_under_the_limit_at_nearly_full_speed():
    ticker = Ticker()
    budget = RequestBudget(50, monotonic=ticker)
    times = send_times(budget, ticker, 1000)
    assert most_in_any_second(times) <= 48  # two requests of room for network jitter
    span = times[-1] - times[0]
    assert 1000 / span == pytest.approx(50 * SHARE_OF_LIMIT, rel=0.01)


def test_requests_after_a_quiet_moment_go_at_once():
    ticker = Ticker()
    budget = RequestBudget(50, monotonic=ticker)
    send_times(budget, ticker, 10)
    ticker.now += 60
    assert budget.reserve() == 0.0


def test_a_global_429_cuts_the_rate_pauses_and_the_rate_recovers_slowly():
    ticker = Ticker()
    budget = RequestBudget(50, monotonic=ticker)
    budget.answered(429, global_limit=True, scope="global", retry_after=2.0)
    assert budget.rate == pytest.approx(50 * SHARE_OF_LIMIT * CUT_ON_GLOBAL_429)
    assert budget.reserve() == pytest.approx(2.0)  # nothing goes until Discord's retry_after
    ticker.now += 5
    assert budget.target > budget.rate > 50 * SHARE_OF_LIMIT * CUT_ON_GLOBAL_429
    ticker.now += 60
    budget.reserve()
    assert budget.rate == budget.target


def test_a_per_route_429_does_not_touch_the_global_rate():
    budget = RequestBudget(50, monotonic=Ticker())
    budget.answered(429, global_limit=False, scope="user", retry_after=1.0)
    assert budget.rate == budget.target


def test_invalid_requests_are_counted_over_ten_minutes_as_discord_counts_them():
    ticker = Ticker()
    budget = RequestBudget(50, monotonic=ticker)
    for status, scope in ((401, None), (403, None), (429, "user"), (429, "shared"), (404, None)):
        budget.answered(status, global_limit=False, scope=scope, retry_after=0)
    assert budget.invalid_recently() == 3
    ticker.now += 600
    assert budget.invalid_recently() == 0


def test_only_api_requests_outside_interactions_count(monkeypatch):
    monkeypatch.setattr(discord.http.Route, "BASE", "https://discord.com/api/v10")
    assert counts_against_limit("https://discord.com/api/v10/channels/1/messages")
    assert not counts_against_limit("https://discord.com/api/v10/interactions/1/tok/callback")
    assert not counts_against_limit("https://discord.com/api/v10/webhooks/9/tok")
    assert not counts_against_limit("wss://gateway.discord.gg/?v=10")


async def test_the_trace_paces_every_attempt_and_hears_a_global_429(fake_discord: FakeDiscord):
    budget = RequestBudget(1000)
    client = discord.Client(intents=discord.Intents.none(), http_trace=budget_trace(budget))
    fake_discord.inject_429(r"POST /channels/\d+/messages", retry_after=0.05, global_=True)
    async with running(client):
        before = budget.requests
        channel = client.get_partial_messageable(World.GENERAL)
        await asyncio.gather(*(channel.send(f"m{i}") for i in range(5)))
    # Six attempts: five sends and discord.py's retry of the one that drew the 429.
    assert budget.requests - before == 6
    assert budget.global_429s == 1 and budget.rate < budget.target
    assert len(fake_discord.channel_messages(World.GENERAL)) == 5
