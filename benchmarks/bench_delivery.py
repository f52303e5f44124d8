"""Benchmark: a pairing round of 1,000 members delivered against Discord's global rate limit.

Set-up: one guild of 1,000 members in the fake Discord, pairing configured and every member
joined through the pairing service (as `/admin pairing schedule` and `/pair join` would).
Kindred runs as its own process (`benchmarks._bot`, the product's start-up). Then the fake
limits the bot to 50 requests per second (a sliding one-second window, answered with a global
429 as Discord does) and adds 20 ms to every request, and the admin runs
`/admin pairing run-now`.

Measured at the fake: time from the command to the last intro DM, requests per second that
counted against the global limit (accepted, i.e. not 429) as a share of the limit (a sliding
one-second window admits at most 50 x (span + 1 s) requests in a span, so that is 100 %), 429s
received as a share of the requests (Kindred paces every request with one budget a little under
the limit, bot/edge/budget.py: target < 1 %), the most invalid requests (401, 403, 429) in any
10 minutes (Discord bans an IP at 10,000), and intro DMs per member: members with none (lost)
and with more than one (duplicated), counted after the bot has been quiet for two seconds.

Run ``python3 benchmarks/bench_delivery.py`` (``--quick``: 40 members).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python3 benchmarks/bench_delivery.py` from a fresh clone
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._harness import (
    BotProcess,
    GuildIds,
    prepare_database,
    run_bot_benchmark,
    start_fake,
    verdict,
    wait_until,
)
from bot.services import Services
from tests.fakediscord import FakeDiscord

NAME = "bench_delivery"
FULL = {"members": 1_000, "ready_timeout": None}
QUICK = {"members": 40, "ready_timeout": 0.1}
RATE_LIMIT = 50.0  # requests per second, global
LATENCY = 0.020  # seconds added to every request
QUIET_SECONDS = 2.0
TARGET_SHARE = 0.90
TARGET_429_SHARE = 0.01
EXEMPT = ("/interactions/", "/webhooks/")  # interaction responses are not globally limited


async def configure(services: Services, ids: GuildIds) -> None:
    now = services.clock.now()
    await services.pairing.schedule.configure(
        ids.guild_id,
        channel_id=ids.pairing,
        cadence="weekly",
        weekday=(now.weekday() + 3) % 7,
        time_text="15:00",
        role_id=None,
    )
    for user_id in ids.members:
        await services.pairing.membership.join(ids.guild_id, user_id, frozenset())


def intro_counts(fake: FakeDiscord, members: tuple[int, ...]) -> Counter[int]:
    """How many DMs each member received."""
    member_of_channel = {fake.dm_channel_ids[u]: u for u in members if u in fake.dm_channel_ids}
    counts: Counter[int] = Counter()
    for message in fake.messages:
        user_id = member_of_channel.get(message.channel_id)
        if user_id is not None and not message.deleted:
            counts[user_id] += 1
    return counts


async def wait_quiet(fake: FakeDiscord, seconds: float) -> None:
    """Until no request has reached the fake for `seconds`."""
    while True:
        seen = len(fake.requests)
        await asyncio.sleep(seconds)
        if len(fake.requests) == seen:
            return


async def run(sizes: dict[str, Any], workdir: Path) -> dict[str, Any]:
    fake, world = await start_fake(1, sizes["members"])
    ids = world[0]
    database_path = workdir / "kindred.db"
    await prepare_database(database_path, lambda s: configure(s, ids), at=datetime.now(UTC))
    bot = BotProcess(fake, database_path, workdir, guild_ready_timeout=sizes["ready_timeout"])
    try:
        await bot.start()
        fake.latency = LATENCY
        fake.set_global_rate_limit(RATE_LIMIT)
        first_request = len(fake.requests)
        started = time.time()
        handle = await fake.invoke(ids.guild_id, ids.admin, "admin pairing run-now")
        reply = await handle.response(timeout=60)
        await wait_until(
            lambda: len(intro_counts(fake, ids.members)) >= len(ids.members),
            within=600,
            poll=0.25,
            what="an intro for every member",
        )
        await wait_quiet(fake, QUIET_SECONDS)
        counts = intro_counts(fake, ids.members)
        cpu = bot.cpu_seconds()
        errors = bot.errors_logged()
    finally:
        await bot.stop()
        await fake.stop()

    requests = [r for r in fake.requests[first_request:] if not r.path.startswith(EXEMPT)]
    accepted = [r for r in requests if r.status != 429]
    dm_channels = {fake.dm_channel_ids[u] for u in ids.members if u in fake.dm_channel_ids}
    dm_times = [
        m.created_at for m in fake.messages if m.channel_id in dm_channels and not m.deleted
    ]
    # A one-second sliding window lets through at most limit x (span + 1 s) requests in a span.
    span = max(r.time for r in accepted) - min(r.time for r in accepted)
    rate = len(accepted) / (span + 1.0)
    return {
        "members": len(ids.members),
        "rate_limit_per_second": RATE_LIMIT,
        "latency_ms": LATENCY * 1000,
        "run_now_reply": reply.content[:120],
        "total_seconds": max(dm_times) - started,
        "requests": len(requests),
        "requests_accepted": len(accepted),
        "requests_429": len(requests) - len(accepted),
        "share_429": (len(requests) - len(accepted)) / len(requests),
        "worst_invalid_in_10_minutes": fake.worst_invalid_window(),
        "achieved_per_second": rate,
        "achieved_share_of_limit": rate / RATE_LIMIT,
        "intros_lost": sum(1 for u in ids.members if counts[u] == 0),
        "intros_duplicated": sum(1 for u in ids.members if counts[u] > 1),
        "bot_cpu_seconds": cpu,
        "errors_logged": errors,
    }


def report(result: dict[str, Any]) -> list[dict[str, Any]]:
    share = result["achieved_share_of_limit"]
    rows = [
        {"figure": "members", "value": result["members"], "target": "", "verdict": ""},
        {
            "figure": "run-now -> last intro (s)",
            "value": result["total_seconds"],
            "target": "",
            "verdict": "",
        },
        {
            "figure": "requests (accepted + 429)",
            "value": result["requests"],
            "target": "",
            "verdict": "",
        },
        {
            "figure": "achieved requests/s",
            "value": result["achieved_per_second"],
            "target": f"limit {RATE_LIMIT:.0f}",
            "verdict": "",
        },
        {
            "figure": "share of the limit (%)",
            "value": 100 * share,
            "target": ">= 90",
            "verdict": verdict(share, TARGET_SHARE, at_most=False),
        },
        {"figure": "429s received", "value": result["requests_429"], "target": "", "verdict": ""},
        {
            "figure": "429s, share of requests (%)",
            "value": 100 * result["share_429"],
            "target": "< 1",
            "verdict": verdict(result["share_429"], TARGET_429_SHARE, at_most=True),
        },
        {
            "figure": "invalid requests, worst 10 min",
            "value": result["worst_invalid_in_10_minutes"],
            "target": "ban at 10,000",
            "verdict": "",
        },
        {
            "figure": "intros lost",
            "value": result["intros_lost"],
            "target": "0",
            "verdict": verdict(result["intros_lost"], 0, at_most=True),
        },
        {
            "figure": "intros duplicated",
            "value": result["intros_duplicated"],
            "target": "0",
            "verdict": verdict(result["intros_duplicated"], 0, at_most=True),
        },
        {"figure": "bot CPU (s)", "value": result["bot_cpu_seconds"], "target": "", "verdict": ""},
        {
            "figure": "errors in the bot's log",
            "value": result["errors_logged"],
            "target": "0",
            "verdict": verdict(result["errors_logged"], 0, at_most=True),
        },
    ]
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run_bot_benchmark(
        NAME,
        argv,
        description=(__doc__ or NAME).splitlines()[0],
        sizes=(QUICK, FULL),
        run=run,
        title=lambda r: (
            f"Delivery: a round of {r['members']:,} members, {RATE_LIMIT:.0f} requests/s "
            f"global limit, {LATENCY * 1000:.0f} ms latency"
        ),
        columns=["figure", "value", "target", "verdict"],
        report=report,
        targets={
            "achieved_share_of_limit": TARGET_SHARE,
            "share_429": TARGET_429_SHARE,
            "intros_lost": 0,
            "intros_duplicated": 0,
        },
    )


if __name__ == "__main__":
    main()
