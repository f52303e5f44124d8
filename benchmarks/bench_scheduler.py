"""Benchmark: one Kindred process serving 10,000 guilds (10,000 x 50 members).

Set-up (through the core services, as `/admin prompts schedule` and `/admin pairing schedule`
would): every guild has daily prompts (with threads) and weekly pairing rounds; every member has
joined pairing (`pairing_members`, bulk-inserted: 500,000 service calls would only time the
set-up). The fake Discord holds the same guilds and members and sends them all in GUILD_CREATE.

Then Kindred runs as its own process (`benchmarks._bot`, the product's start-up):

1. start-up: launch to `on_ready` with every guild in GUILD_CREATE (also syncs the commands);
2. burst: every guild's prompt job is made due at the same second T (one UPDATE of the jobs
   table while the bot is stopped; the prompt's slot is the minute before), the bot is started
   again, and we time T -> the last post (message + thread) arriving at the fake;
3. idle: 60 s with every guild's next prompt and round scheduled; the bot process's CPU time
   (psutil: user + system of that process only) and, after it, its resident memory.

The fake sets no global rate limit here, and the bot is told its limit is as high (a bot in
10,000 guilds has Discord raise it; `DISCORD_RATE_LIMIT`): this measures Kindred's own work per
post. Pacing under a 50/s limit is `bench_delivery.py`'s subject.

Run ``python3 benchmarks/bench_scheduler.py`` (``--quick``: 40 guilds x 5 members, 2 s idle).
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python3 benchmarks/bench_scheduler.py` from a fresh clone
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._harness import (
    BotProcess,
    GuildIds,
    chunks,
    prepare_database,
    run_bot_benchmark,
    start_fake,
    verdict,
    wait_until,
)
from bot.db import Database
from bot.prompts.service import DAILY_JOB
from bot.schedules import format_hhmm
from bot.services import Services
from bot.timeutil import to_db

NAME = "bench_scheduler"
FULL = {"guilds": 10_000, "members": 50, "idle_seconds": 60.0, "ready_timeout": None}
QUICK = {"guilds": 40, "members": 5, "idle_seconds": 1.0, "ready_timeout": 0.1}
TARGET_BURST_SECONDS = 30.0
TARGET_IDLE_CPU_SHARE = 0.01  # 0.6 s of CPU in 60 s
TARGET_RSS_MB = 300.0
RAISED_RATE_LIMIT = 100_000.0  # requests/s: as good as none (the fake sets no limit either)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


async def configure(services: Services, world: list[GuildIds], slot: datetime) -> None:
    """Daily prompts at `slot`'s minute (weekends too) and weekly rounds in every guild."""
    post_time = format_hhmm(slot.time())
    for ids in world:
        await services.prompts.schedule.configure(
            ids.guild_id,
            channel_id=ids.prompts,
            time_text=post_time,
            weekends=True,
            threads=True,
            role_id=None,
        )
        await services.pairing.schedule.configure(
            ids.guild_id,
            channel_id=ids.pairing,
            cadence="weekly",
            weekday=(slot.weekday() + 3) % 7,
            time_text="15:00",
            role_id=None,
        )
    joined = to_db(services.clock.now())
    rows = [(ids.guild_id, user_id, joined) for ids in world for user_id in ids.members]
    for batch in chunks(range(len(rows)), 50_000):
        async with services.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO pairing_members (guild_id, user_id, joined_at) VALUES (?, ?, ?)",
                [rows[i] for i in batch],
            )
    await move_prompt_jobs(services.db, FAR_FUTURE)


async def move_prompt_jobs(db: Database, due: datetime) -> None:
    """Make every guild's daily prompt job due at `due` (the bot must not be running)."""
    await db.execute("UPDATE jobs SET due_at = ? WHERE kind = ?", (to_db(due), DAILY_JOB))


async def run(sizes: dict[str, Any], workdir: Path) -> dict[str, Any]:
    guilds, members = sizes["guilds"], sizes["members"]
    setup_started = time.perf_counter()
    fake, world = await start_fake(guilds, members)
    database_path = workdir / "kindred.db"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # Configured an hour ago, so the slot (this minute) counts as due today.
    await prepare_database(
        database_path, lambda s: configure(s, world, now), at=now - timedelta(hours=1)
    )
    setup_seconds = time.perf_counter() - setup_started
    bot = BotProcess(
        fake,
        database_path,
        workdir,
        guild_ready_timeout=sizes["ready_timeout"],
        rate_limit=RAISED_RATE_LIMIT,
    )
    try:
        startup_seconds = await bot.start()
        startup_rss = bot.rss_mb()
        await bot.stop()

        # The burst: due a comfortable start-up after the relaunch.
        lead = 1.5 * startup_seconds + 1.0
        due = datetime.fromtimestamp(time.time() + lead, UTC).replace(microsecond=0)
        db = await Database.open(database_path)
        try:
            await move_prompt_jobs(db, due)
        finally:
            await db.close()
        first_request = len(fake.requests)
        await bot.start()
        ready_before_due = time.time() < due.timestamp()
        prompt_channels = {ids.prompts: ids.guild_id for ids in world}

        def posts() -> list[Any]:
            return [
                m
                for m in fake.messages
                if m.channel_id in prompt_channels and m.embeds and not m.ephemeral
            ]

        await wait_until(
            lambda: len(fake.threads) >= guilds and len(posts()) >= guilds,
            within=lead + 600,
            poll=0.1,
            what="every guild's prompt",
        )
        burst = [
            r
            for r in fake.requests[first_request:]
            if r.method == "POST" and 200 <= r.status < 300 and r.path.startswith("/channels/")
        ]
        last_post = max(r.time for r in burst)
        first_post = min(r.time for r in burst)
        per_guild: dict[int, int] = {}
        for message in posts():
            per_guild[message.channel_id] = per_guild.get(message.channel_id, 0) + 1
        await asyncio.sleep(1.0)  # the last jobs record their outcome

        requests_before_idle = len(fake.requests)
        cpu_before = bot.cpu_seconds()
        await asyncio.sleep(sizes["idle_seconds"])
        idle_cpu = bot.cpu_seconds() - cpu_before
        idle_requests = len(fake.requests) - requests_before_idle
        rss = bot.rss_mb()
        errors = bot.errors_logged()
    finally:
        await bot.stop()
        await fake.stop()

    due_epoch = due.timestamp()
    return {
        "guilds": guilds,
        "members_per_guild": members,
        "setup_seconds": setup_seconds,
        "startup_seconds": startup_seconds,
        "rss_after_startup_mb": startup_rss,
        "ready_before_due": ready_before_due,
        "burst_requests": len(burst),
        "due_to_first_post_seconds": first_post - due_epoch,
        "due_to_last_post_seconds": last_post - due_epoch,
        "posts_per_second": guilds / max(1e-9, last_post - due_epoch),
        "guilds_without_post": guilds - len(per_guild),
        "guilds_with_duplicate_posts": sum(1 for n in per_guild.values() if n > 1),
        "idle_seconds": sizes["idle_seconds"],
        "idle_cpu_seconds": idle_cpu,
        "idle_cpu_share": idle_cpu / sizes["idle_seconds"],
        "idle_requests": idle_requests,
        "rss_mb": rss,
        "errors_logged": errors,
    }


def report(result: dict[str, Any]) -> list[dict[str, Any]]:
    burst, share, rss = (
        result["due_to_last_post_seconds"],
        result["idle_cpu_share"],
        result["rss_mb"],
    )
    rows = [
        {
            "figure": "guilds x members",
            "value": f"{result['guilds']:,} x {result['members_per_guild']}",
            "target": "",
            "verdict": "",
        },
        {
            "figure": "start-up to on_ready (s)",
            "value": result["startup_seconds"],
            "target": "",
            "verdict": "",
        },
        {
            "figure": "due -> first post (s)",
            "value": result["due_to_first_post_seconds"],
            "target": "",
            "verdict": "",
        },
        {
            "figure": "due -> last post (s)",
            "value": burst,
            "target": "<= 30",
            "verdict": verdict(burst, TARGET_BURST_SECONDS, at_most=True),
        },
        {
            "figure": "posts per second",
            "value": result["posts_per_second"],
            "target": "",
            "verdict": "",
        },
        {
            "figure": "guilds without / with duplicate post",
            "value": f"{result['guilds_without_post']} / {result['guilds_with_duplicate_posts']}",
            "target": "0 / 0",
            "verdict": "met"
            if not result["guilds_without_post"] and not result["guilds_with_duplicate_posts"]
            else "MISSED",
        },
        {
            "figure": f"idle CPU in {result['idle_seconds']:.0f} s (s)",
            "value": result["idle_cpu_seconds"],
            "target": "<= 1 %",
            "verdict": verdict(share, TARGET_IDLE_CPU_SHARE, at_most=True),
        },
        {"figure": "idle CPU share (%)", "value": 100 * share, "target": "<= 1", "verdict": ""},
        {
            "figure": "resident memory (MB)",
            "value": rss,
            "target": "<= 300",
            "verdict": verdict(rss, TARGET_RSS_MB, at_most=True),
        },
        {
            "figure": "errors in the bot's log",
            "value": result["errors_logged"],
            "target": "0",
            "verdict": "met" if not result["errors_logged"] else "MISSED",
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
        title=lambda r: f"Scheduler: {r['guilds']:,} guilds with prompts due in the same second",
        columns=["figure", "value", "target", "verdict"],
        report=report,
        targets={
            "due_to_last_post_seconds": TARGET_BURST_SECONDS,
            "idle_cpu_share": TARGET_IDLE_CPU_SHARE,
            "rss_mb": TARGET_RSS_MB,
        },
    )


if __name__ == "__main__":
    main()
