"""Benchmark: slash-command latency under load, beside a command that does nothing.

Set-up: one guild of 100 members in the fake Discord; pairing configured and every member
joined, a help channel and 30 offers (through the core services, as the commands would do),
and a history of 100,000 asks (resolved, a third of them with a shared "what helped"; written
straight into the tables, words drawn from a 2,000-word vocabulary) for `/board search`; then,
with Kindred running, the admin posts today's prompt (`/admin prompts post-now`) and members
post 20 asks (`/ask`), so `/prompt today` and `/board` have something to show.

Load: 100 members issue 200 commands per second for 10 s (open loop: a command is dispatched
every 5 ms whether or not earlier ones were answered), an even random mix of `/pair status`,
`/board`, `/board search:<two or three words>`, `/prompt today` and `/noop` (a trivial command
registered by the benchmark's bot only). Latency of one command = from the fake dispatching
INTERACTION_CREATE on the gateway to the bot's interaction callback reaching the fake. Kindred
runs as its own process (`benchmarks._bot`); the fake and the load generator share the other
process.

Run ``python3 benchmarks/bench_commands.py`` (``--quick``: 20 members, 2,000 past asks, 50
commands/s for 1 s).
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python3 benchmarks/bench_commands.py` from a fresh clone
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._harness import (
    BotProcess,
    GuildIds,
    percentile,
    prepare_database,
    run_bot_benchmark,
    start_fake,
    verdict,
    wait_until,
)
from bot.helpdesk.search import guild_word, search_words
from bot.services import Services
from bot.timeutil import to_db
from tests.fakediscord import FakeDiscord, InteractionHandle

NAME = "bench_commands"
FULL = {
    "members": 100,
    "per_second": 200,
    "seconds": 10.0,
    "ready_timeout": None,
    "past_asks": 100_000,
}
QUICK = {"members": 20, "per_second": 50, "seconds": 1.0, "ready_timeout": 0.1, "past_asks": 2_000}
COMMANDS = ("pair status", "board", "board search", "prompt today", "noop")
SEARCHES = ("grading rubrics", "reading fluency groups", "noise transitions", "w17 w42", "w1999")
VOCABULARY = 2_000  # words "w0".."w1999", drawn with a skew (a few common, many rare)
BASELINE = "noop"
TOPICS = ("project based learning", "classroom management", "assessment", "reading", "math")
TARGET_RATIO = 2.0  # p99 of each command <= 2 x the no-op's p99
SEED = 7


async def past_asks(services: Services, ids: GuildIds, count: int) -> None:
    """`count` resolved asks in the guild's history, written in bulk (the ledger's own rows:
    asks and their search words), for `/board search` to look through."""
    rng = random.Random(SEED)
    words = [f"w{i}" for i in range(VOCABULARY)]
    weights = [1 / (i + 1) for i in range(VOCABULARY)]
    phrases = ["grading rubrics", "reading fluency groups", "noise and transitions"]
    created = to_db(services.clock.now() - timedelta(days=400))
    async with services.db.transaction() as tx:
        topic_ids = [
            await tx.fetchval(
                "SELECT topic_id FROM helpdesk_topics WHERE guild_id = ? AND name = ?",
                (ids.guild_id, topic),
            )
            for topic in TOPICS
        ]
        first = await tx.fetchval(
            "UPDATE helpdesk_guilds SET last_request_no = last_request_no + ? "
            "WHERE guild_id = ? RETURNING last_request_no",
            (count, ids.guild_id),
        )
        asks, search = [], []
        for n in range(count):
            details = " ".join(rng.choices(words, weights, k=20))
            if n % 7 == 0:
                details += " " + rng.choice(phrases)
            summary = " ".join(rng.choices(words, weights, k=8)) if n % 3 == 0 else None
            topic = n % len(TOPICS)
            ask_id = first - count + n + 1
            asks.append(
                (
                    ask_id,
                    ids.guild_id,
                    ask_id,
                    topic_ids[topic],
                    ids.members[n % len(ids.members)],
                    details,
                    created,
                    created,
                    summary,
                    int(summary is not None),
                )
            )
            indexed = [guild_word(ids.guild_id), *search_words(TOPICS[topic], details, summary)]
            search.append((ask_id, ids.guild_id, " ".join(indexed)))
        await tx.executemany(
            "INSERT INTO helpdesk_asks (ask_id, guild_id, request_no, topic_id, user_id, details, "
            "status, created_at, closed_at, summary, summary_shared) "
            "VALUES (?, ?, ?, ?, ?, ?, 'resolved', ?, ?, ?, ?)",
            asks,
        )
        await tx.executemany(
            "INSERT INTO helpdesk_search (ask_id, guild_id, body) VALUES (?, ?, ?)", search
        )


async def configure(services: Services, ids: GuildIds, count: int) -> None:
    now = services.clock.now()
    await services.prompts.schedule.configure(
        ids.guild_id,
        channel_id=ids.prompts,
        time_text="07:00",
        weekends=True,
        threads=True,
        role_id=None,
    )
    await services.pairing.schedule.configure(
        ids.guild_id,
        channel_id=ids.pairing,
        cadence="weekly",
        weekday=(now.weekday() + 3) % 7,
        time_text="15:00",
        role_id=None,
    )
    await services.helpdesk.set_channel(ids.guild_id, ids.help)
    for number, user_id in enumerate(ids.members):
        await services.pairing.membership.join(ids.guild_id, user_id, frozenset())
        if number % 3 == 0:
            await services.helpdesk.offers.offer(ids.guild_id, user_id, TOPICS[number % 5], None)
    await past_asks(services, ids, count)


async def populate(fake: FakeDiscord, ids: GuildIds) -> None:
    """Today's prompt and some open asks, made through the bot as members would."""
    await (await fake.invoke(ids.guild_id, ids.admin, "admin prompts post-now")).response(
        timeout=30
    )
    for number, user_id in enumerate(ids.members[1:21:1]):
        handle = await fake.invoke(
            ids.guild_id,
            user_id,
            "ask",
            topic=TOPICS[number % len(TOPICS)],
            details=f"Looking for ideas and experience, question {number}.",
        )
        await handle.response(timeout=30)


async def load(
    fake: FakeDiscord, ids: GuildIds, per_second: float, seconds: float
) -> list[tuple[str, float, InteractionHandle]]:
    """Dispatch commands open-loop; returns (command, dispatched at, handle) for each."""
    rng = random.Random(SEED)
    sent: list[tuple[str, float, InteractionHandle]] = []
    total = int(per_second * seconds)
    start = time.perf_counter()
    for index in range(total):
        delay = start + index / per_second - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        command = COMMANDS[index % len(COMMANDS)] if index < len(COMMANDS) else rng.choice(COMMANDS)
        user_id = rng.choice(ids.members)
        name, options = command, dict[str, Any]()
        if command == "board search":
            name, options = "board", {"search": rng.choice(SEARCHES)}
        dispatched = time.time()
        handle = await fake.invoke(ids.guild_id, user_id, name, options=options)
        sent.append((command, dispatched, handle))
    return sent


def callback_times(fake: FakeDiscord) -> dict[str, float]:
    """Interaction id -> when its (first) callback request reached the fake."""
    times: dict[str, float] = {}
    for record in fake.requests:
        parts = record.path.split("/")
        if len(parts) == 5 and parts[1] == "interactions" and parts[4] == "callback":
            times.setdefault(parts[2], record.time)
    return times


async def run(sizes: dict[str, Any], workdir: Path) -> dict[str, Any]:
    fake, world = await start_fake(1, sizes["members"])
    ids = world[0]
    database_path = workdir / "kindred.db"
    await prepare_database(
        database_path, lambda s: configure(s, ids, sizes["past_asks"]), at=datetime.now(UTC)
    )
    bot = BotProcess(
        fake, database_path, workdir, noop=True, guild_ready_timeout=sizes["ready_timeout"]
    )
    try:
        await bot.start()
        await populate(fake, ids)
        cpu_before = bot.cpu_seconds()
        started = time.perf_counter()
        sent = await load(fake, ids, sizes["per_second"], sizes["seconds"])
        dispatch_seconds = time.perf_counter() - started
        await wait_until(
            lambda: all(h.acknowledged for _, _, h in sent), within=120, what="every reply"
        )
        cpu = bot.cpu_seconds() - cpu_before
        errors = bot.errors_logged()
    finally:
        await bot.stop()
        await fake.stop()

    answered = callback_times(fake)
    latencies: dict[str, list[float]] = {c: [] for c in COMMANDS}
    for command, dispatched, handle in sent:
        latencies[command].append(1000 * (answered[str(handle.id)] - dispatched))
    baseline_p99 = percentile(latencies[BASELINE], 0.99)
    commands = {}
    for command, values in latencies.items():
        p99 = percentile(values, 0.99)
        commands[command] = {
            "count": len(values),
            "p50_ms": percentile(values, 0.50),
            "p99_ms": p99,
            "max_ms": max(values),
            "p99_vs_noop": p99 / baseline_p99,
        }
    return {
        "members": len(ids.members),
        "past_asks": sizes["past_asks"],
        "commands_per_second": sizes["per_second"],
        "seconds": sizes["seconds"],
        "commands": len(sent),
        "dispatch_seconds": dispatch_seconds,
        "achieved_per_second": len(sent) / dispatch_seconds,
        "bot_cpu_seconds": cpu,
        "errors_logged": errors,
        "latency": commands,
    }


def report(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for command, figures in result["latency"].items():
        ratio = figures["p99_vs_noop"]
        rows.append(
            {
                "command": f"/{command}",
                "count": figures["count"],
                "p50 ms": figures["p50_ms"],
                "p99 ms": figures["p99_ms"],
                "max ms": figures["max_ms"],
                "p99 / no-op": ratio,
                "target": "" if command == BASELINE else "<= 2",
                "verdict": ""
                if command == BASELINE
                else verdict(ratio, TARGET_RATIO, at_most=True),
            }
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
            f"Commands: {r['members']} members, {r['past_asks']:,} past asks, "
            f"{r['commands']:,} commands in "
            f"{r['dispatch_seconds']:.1f} s ({r['achieved_per_second']:.0f}/s); "
            f"bot CPU {r['bot_cpu_seconds']:.1f} s, errors logged {r['errors_logged']}"
        ),
        columns=[
            "command",
            "count",
            "p50 ms",
            "p99 ms",
            "max ms",
            "p99 / no-op",
            "target",
            "verdict",
        ],
        report=report,
        targets={"p99_vs_noop": TARGET_RATIO},
    )


if __name__ == "__main__":
    main()
