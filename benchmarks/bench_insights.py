"""Benchmark: `/admin insights weeks:52` for a guild of 10,000 members after 52 weekly rounds.

The history is written straight into a SQLite database (tests/support/history.py): every week
about 90 % of the 9,000 longer-standing members are paired (pairs, a trio when odd; 1,000 joined
in the last fortnight, 400 are paused) and answer their check-in as their habit says (some
always, some sometimes, some never); 40 asks a week on 60
topics, with helpers coming forward after a few hours and offers on 45 of the topics.

Measured, through `InsightsService.report` (what the command awaits after deferring):

- the command's wall time, reads included: the first (which also imports matplotlib), then the
  median of three more;
- worker seconds: wall and CPU time of the part that runs in `asyncio.to_thread` (figures,
  graph, layout, PNG), warm; the reads (a snapshot connection, awaited) separately;
- the event loop's longest stall while a command runs (a cold one, then three warm ones: the
  median of their longest stalls, and the longest of all): a ticker task sleeps 5 ms over and
  over and records how late it wakes. The process carries a ballast of 500,000 live objects,
  as a bot's caches would, so a full garbage collection would show.

Writes the picture to ``docs/insights-example.png`` with ``--png`` (the README shows it).
Run ``python3 benchmarks/bench_insights.py`` (``--quick``: 300 members, 8 rounds; ``--postgres``:
on a throwaway PostgreSQL cluster instead of SQLite).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python3 benchmarks/bench_insights.py` from a fresh clone
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import environment, parse_args, print_table, write_json
from bot.db import Database, migrate
from bot.insights.figures import compute_insights
from bot.insights.history import read_history
from bot.insights.service import InsightsService, build_report
from tests.support.clock import FakeClock
from tests.support.history import GuildHistory
from tests.support.postgres import PostgresServer, postgres_server

NAME = "bench_insights"
FULL = {"members": 10_000, "rounds": 52, "asks_per_week": 40, "topics": 60}
QUICK = {"members": 300, "rounds": 8, "asks_per_week": 5, "topics": 10}
TARGET_WORKER_SECONDS = 3.0
TARGET_STALL_MS = 50.0
IDLE_SECONDS = 3.0
WARM_RUNS = 3
GUILD = 1
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
EXAMPLE_PNG = Path(__file__).resolve().parents[1] / "docs" / "insights-example.png"


def build_history(members: int, rounds: int, asks_per_week: int, topics: int) -> GuildHistory:
    """A year (or `rounds` weeks) of a busy guild, deterministic for the seed."""
    rng = random.Random(16)
    start = NOW - timedelta(weeks=rounds)
    history = GuildHistory(GUILD, start - timedelta(days=1))
    everyone = range(1, members + 1)
    for user in everyone:
        history.member(user, paused_until=NOW + timedelta(days=3) if user % 25 == 0 else None)
    # A tenth joined in the last fortnight (not paired yet); each round pairs about 90 % of the
    # others. Habits: half nearly always answer the check-in, a quarter sometimes, the rest never.
    veterans = [u for u in everyone if u % 10]
    habit = {u: rng.choices((0.9, 0.3, 0.0), (50, 25, 25))[0] for u in everyone}
    for week in range(rounds):
        present = [u for u in veterans if rng.random() < 0.9]
        rng.shuffle(present)
        groups = [tuple(present[i : i + 2]) for i in range(0, len(present) - 1, 2)]
        if len(present) % 2:
            groups[-1] = (*groups[-1], present[-1])
        answers = {
            u: rng.choices(("met", "not_yet", "skipped"), (60, 25, 15))[0]
            for u in present
            if rng.random() < habit[u]
        }
        history.round(start + timedelta(weeks=week, hours=1), groups, answers)
    names = [f"Topic {i}" for i in range(topics)]
    for week in range(rounds):
        for _ in range(asks_per_week):
            created = start + timedelta(weeks=week, seconds=rng.randrange(7 * 86400))
            helpers = tuple(
                created + timedelta(hours=rng.lognormvariate(1.5, 1.0))
                for _ in range(rng.choice((0, 1, 1, 2, 3)))
            )
            status = rng.choices(("resolved", "withdrawn", "stale", "open"), (50, 10, 15, 25))[0]
            closed = created + timedelta(days=rng.uniform(0.5, 20)) if status != "open" else None
            if closed is not None and closed > NOW:
                status, closed = "open", None
            history.ask(created, rng.choice(names), status, closed, helpers, rng.randrange(members))
    for i, name in enumerate(names[: topics * 3 // 4]):
        history.offer(name, i + 1, start)
    return history


async def timed_build(history: Any) -> tuple[float, float, int]:
    """Run `build_report` in a worker thread, timing it there (wall and CPU seconds)."""

    def run() -> tuple[float, float, int]:
        wall, cpu = time.perf_counter(), time.thread_time()
        report = build_report(history, "Maple Grove Educators")
        return time.perf_counter() - wall, time.thread_time() - cpu, len(report.png)

    return await asyncio.to_thread(run)


async def longest_stall(work: Any) -> tuple[Any, float]:
    """Await `work` while a ticker measures the event loop's longest stall (seconds)."""
    worst = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - before - 0.005)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    try:
        result = await work
    finally:
        done.set()
        await task
    return result, worst


async def run(
    sizes: dict[str, int], png: Path | None, server: PostgresServer | None = None
) -> dict[str, Any]:
    ballast = [{"id": i, "name": str(i)} for i in range(500_000)]  # a bot's live objects
    with tempfile.TemporaryDirectory() as folder:
        config = await server.create_database() if server else Path(folder) / "insights.db"
        db = await Database.open(config)
        await migrate(db)
        began = time.perf_counter()
        history = build_history(**sizes)
        await history.write(db)
        setup = time.perf_counter() - began
        rows = len(history.assignments)
        del history  # the ballast stands for the bot's live objects; drop the builder's

        # The machine's own noise: the same ticker while nothing else runs.
        _, idle_stall = await longest_stall(asyncio.sleep(IDLE_SECONDS))
        service = InsightsService(db, FakeClock(NOW))
        began = time.perf_counter()  # the first command also imports matplotlib
        report, cold_stall = await longest_stall(service.report(GUILD, "Maple Grove Educators", 52))
        cold = time.perf_counter() - began
        stalls, commands = [], []
        for _ in range(WARM_RUNS):
            began = time.perf_counter()
            report, stall = await longest_stall(service.report(GUILD, "Maple Grove Educators", 52))
            commands.append(time.perf_counter() - began)
            stalls.append(stall)

        began = time.perf_counter()
        raw = await read_history(db, GUILD, NOW, 52)
        reads = time.perf_counter() - began
        wall, cpu, png_bytes = await timed_build(raw)
        compute = time.perf_counter()
        insights = compute_insights(raw)
        compute = time.perf_counter() - compute
        await db.close()
    if png is not None:
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(report.png)
    del ballast
    c = insights.connections
    return {
        **sizes,
        "assignments": rows,
        "assignments_read": len(raw.assignments),
        "setup_seconds": round(setup, 2),
        "reads_seconds": round(reads, 3),
        "worker_seconds": round(wall, 3),
        "worker_cpu_seconds": round(cpu, 3),
        "figures_seconds": round(compute, 3),
        "first_command_seconds": round(cold, 3),
        "command_seconds": round(statistics.median(commands), 3),
        "idle_stall_ms": round(idle_stall * 1000, 1),
        "first_command_stall_ms": round(cold_stall * 1000, 1),
        "median_command_stall_ms": round(statistics.median(stalls) * 1000, 1),
        "longest_stall_ms": round(max(*stalls, cold_stall) * 1000, 1),
        "png_bytes": png_bytes,
        "members_connected_share": round(c.share_connected, 3),
        "clusters": c.clusters,
        "largest_cluster": c.largest,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    on_postgres = "--postgres" in argv  # the same, on a throwaway PostgreSQL cluster
    args = parse_args(__doc__ or NAME, [a for a in argv if a != "--postgres"])
    sizes = QUICK if args.quick else FULL
    if on_postgres:
        server = postgres_server()
        try:
            result = asyncio.run(run(sizes, None, server))
        finally:
            server.drop_leftovers()
            server.stop()
    else:
        result = asyncio.run(run(sizes, None if args.quick else EXAMPLE_PNG))
    result["backend"] = "postgres" if on_postgres else "sqlite"
    targets = [
        {
            "what": "worker seconds (figures + picture)",
            "target": TARGET_WORKER_SECONDS,
            "value": result["worker_seconds"],
            "met": result["worker_seconds"] <= TARGET_WORKER_SECONDS,
        },
        {
            "what": "longest event-loop stall (ms)",
            "target": TARGET_STALL_MS,
            "value": result["longest_stall_ms"],
            "met": result["longest_stall_ms"] <= TARGET_STALL_MS,
        },
    ]
    print_table("bench_insights", list(result), [result])
    print_table("targets", ["what", "target", "value", "met"], targets)
    write_json(
        f"{NAME}_postgres" if on_postgres else NAME,
        {
            "benchmark": NAME,
            "quick": args.quick,
            "environment": environment(),
            "result": result,
            "targets": targets,
        },
        args.results_dir,
    )
    return result


if __name__ == "__main__":
    main()
