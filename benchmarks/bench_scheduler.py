"""Benchmark: Kindred serving 10,000 guilds a process (x 50 members), on SQLite and PostgreSQL.

Three runs: one process on SQLite, one on PostgreSQL (the same 10,000 guilds), and three
processes on PostgreSQL serving 30,000 guilds (SHARD_COUNT=3, SHARD_IDS=0, 1, 2: 10,000 each).
PostgreSQL is a throwaway cluster (tests/support/postgres.py; `KINDRED_TEST_POSTGRES_DSN` names
another); without one, only the SQLite run is made. Each run does the following.

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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

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
from bot.db import Database, DatabaseConfig, PostgresConfig, SqliteConfig
from bot.prompts.service import DAILY_JOB
from bot.schedules import format_hhmm
from bot.services import Services
from bot.timeutil import to_db
from tests.support.postgres import PostgresUnavailable, postgres_server

NAME = "bench_scheduler"
FULL = {"guilds": 10_000, "members": 50, "idle_seconds": 60.0, "ready_timeout": None}
QUICK = {"guilds": 40, "members": 5, "idle_seconds": 1.0, "ready_timeout": 0.1}
TARGET_BURST_SECONDS = 30.0
TARGET_IDLE_CPU_SHARE = 0.01  # 0.6 s of CPU in 60 s
TARGET_RSS_MB = 300.0
TARGET_SCALE_OUT_RATIO = 1.2  # 3 processes x 10,000 guilds vs 1 x 10,000, due -> last post
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


@dataclass(frozen=True)
class Deployment:
    """One way to run Kindred for the burst: a database and a number of processes."""

    key: str  # the result's key and the log files' prefix
    label: str  # the table's column
    processes: int


DEPLOYMENTS = (
    Deployment("sqlite_1", "SQLite, 1 process", 1),
    Deployment("postgres_1", "PostgreSQL, 1 process", 1),
    Deployment("postgres_3", "PostgreSQL, 3 processes", 3),
)


async def run(sizes: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """The burst on SQLite and on PostgreSQL with one process serving `guilds` guilds, then
    on PostgreSQL with three processes (SHARD_COUNT=3, one shard each) serving 3 x `guilds`."""
    results: dict[str, Any] = {"guilds_per_process": sizes["guilds"]}
    results["sqlite_1"] = await burst(
        DEPLOYMENTS[0], SqliteConfig(workdir / "kindred.db"), sizes, workdir
    )
    try:
        server = await asyncio.to_thread(postgres_server)
    except PostgresUnavailable as exc:
        print(f"bench_scheduler: PostgreSQL runs skipped: {exc}", file=sys.stderr)
        results["postgres_unavailable"] = str(exc)
        return results
    try:
        for deployment in DEPLOYMENTS[1:]:
            database = await server.create_database(migrated=False)
            try:
                results[deployment.key] = await burst(deployment, database, sizes, workdir)
            finally:
                await server.drop_database(database)
    finally:
        server.stop()
    one, three = results["postgres_1"], results["postgres_3"]
    results["scale_out_ratio"] = three["due_to_last_post_seconds"] / one["due_to_last_post_seconds"]
    return results


async def burst(
    deployment: Deployment, database: DatabaseConfig, sizes: dict[str, Any], workdir: Path
) -> dict[str, Any]:
    """Start-up, the burst of every guild's prompt at one instant, and idle, for one way of
    running Kindred; figures per process where they are per process."""
    processes = deployment.processes
    guilds, members = sizes["guilds"] * processes, sizes["members"]
    setup_started = time.perf_counter()
    fake, world = await start_fake(guilds, members)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # Configured an hour ago, so the slot (this minute) counts as due today.
    await prepare_database(
        database, lambda s: configure(s, world, now), at=now - timedelta(hours=1)
    )
    setup_seconds = time.perf_counter() - setup_started
    url = database.dsn if isinstance(database, PostgresConfig) else None
    bots = [
        BotProcess(
            fake,
            workdir / "kindred.db",
            workdir,
            guild_ready_timeout=sizes["ready_timeout"],
            rate_limit=RAISED_RATE_LIMIT,
            database_url=url,
            name=f"{deployment.key}-{index}",
            settings={"SHARD_COUNT": str(processes), "SHARD_IDS": str(index)}
            if processes > 1
            else {},
        )
        for index in range(processes)
    ]
    try:
        startups = await asyncio.gather(*(bot.start() for bot in bots))
        startup_rss = [bot.rss_mb() for bot in bots]
        await asyncio.gather(*(bot.stop() for bot in bots))

        # The burst: due a comfortable start-up after the relaunch.
        lead = 1.5 * max(startups) + 1.0
        due = datetime.fromtimestamp(time.time() + lead, UTC).replace(microsecond=0)
        db = await Database.open(database)
        try:
            await move_prompt_jobs(db, due)
        finally:
            await db.close()
        first_request = len(fake.requests)
        await asyncio.gather(*(bot.start() for bot in bots))
        ready_before_due = time.time() < due.timestamp()
        # CPU spent on the burst: each bot's, and this process's (the fake Discord's, mostly).
        cpu_at_ready = [bot.cpu_seconds() for bot in bots]
        fake_cpu_at_ready = own_cpu_seconds()
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
        burst_cpu = [
            bot.cpu_seconds() - before for bot, before in zip(bots, cpu_at_ready, strict=True)
        ]
        fake_burst_cpu = own_cpu_seconds() - fake_cpu_at_ready
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
        cpu_before = [bot.cpu_seconds() for bot in bots]
        await asyncio.sleep(sizes["idle_seconds"])
        idle_cpu = [
            bot.cpu_seconds() - before for bot, before in zip(bots, cpu_before, strict=True)
        ]
        idle_requests = len(fake.requests) - requests_before_idle
        connections = await database_connections(database, processes)
        rss = [bot.rss_mb() for bot in bots]
        errors = sum(bot.errors_logged() for bot in bots)
    finally:
        await asyncio.gather(*(bot.stop() for bot in bots))
        await fake.stop()

    due_epoch = due.timestamp()
    return {
        "label": deployment.label,
        "processes": processes,
        "guilds": guilds,
        "members_per_guild": members,
        "setup_seconds": setup_seconds,
        "startup_seconds": max(startups),
        "rss_after_startup_mb": max(startup_rss),
        "ready_before_due": ready_before_due,
        "burst_requests": len(burst),
        "due_to_first_post_seconds": first_post - due_epoch,
        "due_to_last_post_seconds": last_post - due_epoch,
        "posts_per_second": guilds / max(1e-9, last_post - due_epoch),
        "burst_cpu_seconds_per_process": burst_cpu,
        "bot_cpu_ms_per_post": 1000 * sum(burst_cpu) / guilds,
        "fake_cpu_seconds": fake_burst_cpu,
        "guilds_without_post": guilds - len(per_guild),
        "guilds_with_duplicate_posts": sum(1 for n in per_guild.values() if n > 1),
        "idle_seconds": sizes["idle_seconds"],
        "idle_cpu_seconds": max(idle_cpu),
        "idle_cpu_share": max(idle_cpu) / sizes["idle_seconds"],
        "idle_requests": idle_requests,
        "rss_mb": max(rss),
        "rss_mb_per_process": rss,
        "database_connections": connections,
        "errors_logged": errors,
    }


def own_cpu_seconds() -> float:
    """User + system CPU time of this process (the fake Discord and the benchmark)."""
    times = psutil.Process().cpu_times()
    return times.user + times.system


async def database_connections(database: DatabaseConfig, processes: int) -> int:
    """Connections the bots hold to the database now (SQLite: one file handle each)."""
    if not isinstance(database, PostgresConfig):
        return processes
    db = await Database.open(PostgresConfig(database.dsn, pool_min=1, pool_max=1))
    try:
        count = await db.fetchval(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    finally:
        await db.close()
    return int(count)


def report(result: dict[str, Any]) -> list[dict[str, Any]]:
    runs = [result[d.key] for d in DEPLOYMENTS if d.key in result]

    def row(figure: str, values: list[Any], target: str = "", verdict_text: str = "") -> dict:
        cells = {d.label: value for d, value in zip(DEPLOYMENTS, values, strict=False)}
        return {"figure": figure, **cells, "target": target, "verdict": verdict_text}

    def each(key: str) -> list[Any]:
        return [r[key] for r in runs]

    bursts, shares, rsses = (
        each("due_to_last_post_seconds"),
        each("idle_cpu_share"),
        each("rss_mb"),
    )
    missing = each("guilds_without_post")
    duplicates = each("guilds_with_duplicate_posts")
    rows = [
        row("guilds x members", [f"{r['guilds']:,} x {r['members_per_guild']}" for r in runs]),
        row("start-up to on_ready (s)", each("startup_seconds")),
        row("due -> first post (s)", each("due_to_first_post_seconds")),
        row(
            "due -> last post (s)",
            bursts,
            "<= 30",
            verdict(max(bursts), TARGET_BURST_SECONDS, at_most=True),
        ),
        row("posts per second", each("posts_per_second")),
        row("bot CPU per post (ms, all processes)", each("bot_cpu_ms_per_post")),
        row(
            "busiest bot's CPU in the burst (s)",
            [max(r["burst_cpu_seconds_per_process"]) for r in runs],
        ),
        row("fake Discord's CPU in the burst (s)", each("fake_cpu_seconds")),
        row(
            "guilds without / with duplicate post",
            [f"{m} / {d}" for m, d in zip(missing, duplicates, strict=True)],
            "0 / 0",
            "met" if not any(missing) and not any(duplicates) else "MISSED",
        ),
        row(
            "idle CPU, busiest process (%)",
            [100 * share for share in shares],
            "<= 1",
            verdict(max(shares), TARGET_IDLE_CPU_SHARE, at_most=True),
        ),
        row(
            "resident memory, largest process (MB)",
            rsses,
            "<= 300",
            verdict(max(rsses), TARGET_RSS_MB, at_most=True),
        ),
        row("database connections (all processes)", each("database_connections")),
        row(
            "errors in the bots' logs",
            each("errors_logged"),
            "0",
            "met" if not any(each("errors_logged")) else "MISSED",
        ),
    ]
    if "scale_out_ratio" in result:
        ratio = result["scale_out_ratio"]
        rows.append(
            row(
                "3 x guilds on 3 processes / 1 x on 1 (time)",
                [None, None, ratio],
                "<= 1.2",
                verdict(ratio, TARGET_SCALE_OUT_RATIO, at_most=True),
            )
        )
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run_bot_benchmark(
        NAME,
        argv,
        description=(__doc__ or NAME).splitlines()[0],
        sizes=(QUICK, FULL),
        run=run,
        title=lambda r: (
            f"Scheduler: {r['guilds_per_process']:,} guilds a process, prompts due in one second"
        ),
        columns=["figure", *(d.label for d in DEPLOYMENTS), "target", "verdict"],
        report=report,
        targets={
            "due_to_last_post_seconds": TARGET_BURST_SECONDS,
            "idle_cpu_share": TARGET_IDLE_CPU_SHARE,
            "rss_mb": TARGET_RSS_MB,
            "scale_out_ratio": TARGET_SCALE_OUT_RATIO,
        },
    )


if __name__ == "__main__":
    main()
