"""discord.py's sweep of inactive rate-limit buckets runs at most once a minute, not per new key."""

import asyncio

import discord
import discord.http

from bot.edge.ratelimits import throttle_bucket_sweep


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def add_inactive_buckets(http: discord.http.HTTPClient, prefix: str, count: int) -> None:
    for number in range(count):
        bucket = discord.http.Ratelimit(None)
        bucket._last_request -= 600  # unused for ten minutes: inactive
        http._buckets[f"{prefix}{number}"] = bucket


async def test_inactive_buckets_are_swept_once_per_interval():
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    clock = Ticker()
    throttle_bucket_sweep(http, interval=60, monotonic=clock)

    add_inactive_buckets(http, "old", 300)
    http.get_ratelimit("POST /channels/1/messages")
    assert set(http._buckets) == {"POST /channels/1/messages"}

    add_inactive_buckets(http, "later", 300)
    clock.now += 30
    http.get_ratelimit("POST /channels/2/messages")
    assert len(http._buckets) == 302  # within the minute: no second scan

    clock.now += 31
    http.get_ratelimit("POST /channels/3/messages")
    assert all(key.startswith("POST") for key in http._buckets)
    assert len(http._buckets) == 3


async def test_active_buckets_are_kept():
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    throttle_bucket_sweep(http, interval=60, monotonic=Ticker())
    for number in range(300):
        http.get_ratelimit(f"POST /channels/{number}/messages")
    assert len(http._buckets) == 300
