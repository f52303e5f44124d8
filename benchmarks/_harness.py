"""Shared set-up for the benchmarks that run Kindred against the fake Discord server.

The fake server (tests/fakediscord) runs in the benchmark's process; Kindred runs in its own
process (`python -m benchmarks._bot`, i.e. the product's start-up plus an optional `/noop`), so:

* its CPU time and resident memory are read from its own process (psutil), never mixed with the
  fake's work or the load generator's;
* the two share the machine's two cores as a real bot and Discord would not: the fake's work
  (JSON, HTTP) competes with the bot for CPU. Figures are for comparing in one run.

The database is prepared before the bot starts through the core services (the same calls the
slash commands make), on the same file the bot then opens.
"""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from benchmarks._common import environment, parse_args, print_table, write_json
from bot.db import Database, DatabaseConfig, migrate
from bot.scheduler import Scheduler
from bot.services import Services, build_services
from tests.fakediscord import FakeDiscord
from tests.fakediscord.payloads import MANAGE_GUILD
from tests.support.clock import FakeClock
from tests.support.process import SITECUSTOMIZE, bot_environment

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-bot-token"
BOT_ID = 9000
READY_LINE = "Kindred is ready in"


@dataclass(frozen=True)
class GuildIds:
    """The ids of one benchmark guild: a few channels, an admin, and `members` members."""

    guild_id: int
    general: int
    prompts: int
    pairing: int
    help: int
    admin_role: int
    admin: int
    members: tuple[int, ...]


GUILD_ID_BASE = 10**15 >> 22  # a 2015-ish snowflake's timestamp part


def guild_ids(index: int, members: int) -> GuildIds:
    """Deterministic, globally unique ids for guild number `index`; consecutive guilds fall
    on consecutive shards (`(id >> 22) % count`), as real ones spread over shards."""
    guild_id = (GUILD_ID_BASE + index) << 22
    first_member = 10**16 + index * 100_000
    return GuildIds(
        guild_id=guild_id,
        general=guild_id + 1,
        prompts=guild_id + 2,
        pairing=guild_id + 3,
        help=guild_id + 4,
        admin_role=guild_id + 10,
        admin=first_member,
        members=tuple(range(first_member + 1, first_member + 1 + members)),
    )


def build_world(fake: FakeDiscord, guilds: int, members: int) -> list[GuildIds]:
    """`guilds` guilds, each with four text channels, an admin (Manage Server) and members."""
    world = []
    for index in range(guilds):
        ids = guild_ids(index, members)
        fake.add_user(ids.admin, f"admin{index}")
        fake.add_guild(ids.guild_id, f"School {index}", owner_id=ids.admin)
        for channel_id, name in (
            (ids.general, "general"),
            (ids.prompts, "prompts"),
            (ids.pairing, "pairing"),
            (ids.help, "help"),
        ):
            fake.add_channel(ids.guild_id, channel_id, name)
        fake.add_role(ids.guild_id, ids.admin_role, "Admin", MANAGE_GUILD)
        fake.add_member(ids.guild_id, ids.admin, f"admin{index}", roles=[ids.admin_role])
        for number, user_id in enumerate(ids.members):
            fake.add_member(ids.guild_id, user_id, f"teacher{index}-{number}")
        world.append(ids)
    return world


async def start_fake(guilds: int, members: int) -> tuple[FakeDiscord, list[GuildIds]]:
    fake = FakeDiscord(app_id=BOT_ID)
    world = build_world(fake, guilds, members)
    await fake.start()
    return fake, world


async def prepare_database(
    path: Path | DatabaseConfig,
    setup: Callable[[Services], Awaitable[None]],
    *,
    at: datetime | None = None,
) -> None:
    """Migrate a new database at `path` (a SQLite file, or a PostgreSQL database) and run
    `setup` on core services over it.

    The services run on a clock fixed at `at` (default: now), so what `setup` schedules is
    relative to that moment, as if an admin had configured it then.
    """
    db = await Database.open(path)
    try:
        await migrate(db)
        clock = FakeClock(at or datetime.now(UTC))
        services = build_services(db, Scheduler(db, clock), clock)
        await setup(services)
    finally:
        await db.close()


def chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class BotProcess:
    """Kindred running as `python -m benchmarks._bot` against the fake."""

    fake: FakeDiscord
    database_path: Path
    workdir: Path
    noop: bool = False
    guild_ready_timeout: float | None = None  # None: the product's default (2 s)
    rate_limit: float | None = None  # DISCORD_RATE_LIMIT; None: the product's default (50/s)
    database_url: str | None = None  # instead of the SQLite file (e.g. postgresql://...)
    name: str = "bot"  # its log files are <name>-<launch>.log
    settings: dict[str, str] = field(default_factory=dict)  # more settings (SHARD_COUNT, ...)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    ready_at: float = 0.0
    launches: int = 0
    _log: Path | None = field(default=None, repr=False)

    async def start(self, *, ready_timeout: float = 600.0) -> float:
        """Start the bot and wait for `on_ready`; returns the seconds that took."""
        self.launches += 1
        env = bot_environment(
            DISCORD_TOKEN=TOKEN,
            DATABASE_URL=self.database_url or f"sqlite:///{self.database_path}",
            LOG_LEVEL="INFO",
            KINDRED_FAKE_DISCORD_URL=self.fake.url,
            KINDRED_BENCH_NOOP="1" if self.noop else "0",
            **self.settings,
        )
        if self.guild_ready_timeout is not None:
            env["KINDRED_BENCH_GUILD_READY_TIMEOUT"] = str(self.guild_ready_timeout)
        if self.rate_limit is not None:
            env["DISCORD_RATE_LIMIT"] = f"{self.rate_limit:g}"
        env["PYTHONPATH"] = os.pathsep.join((str(SITECUSTOMIZE), env["PYTHONPATH"]))
        self._log = self.workdir / f"{self.name}-{self.launches}.log"
        self.started_at = time.perf_counter()
        self.process = self._spawn(env, self._log)
        deadline = time.monotonic() + ready_timeout
        while READY_LINE not in self.log_text():
            if self.process.poll() is not None:
                raise RuntimeError(f"the bot exited during start-up:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bot was not ready in {ready_timeout:.0f} s")
            await asyncio.sleep(0.05)
        self.ready_at = time.perf_counter()
        return self.ready_at - self.started_at

    @staticmethod
    def _spawn(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
        with log_path.open("wb") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "benchmarks._bot"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log_text(self) -> str:
        return self._log.read_text(errors="replace") if self._log and self._log.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def errors_logged(self) -> int:
        """Lines at ERROR level or above in the bot's log (a benchmark should see none)."""
        return sum(1 for line in self.log_text().splitlines() if " ERROR " in line)

    @property
    def ps(self) -> psutil.Process:
        assert self.process is not None
        return psutil.Process(self.process.pid)

    def cpu_seconds(self) -> float:
        """User + system CPU time the bot process has used so far."""
        times = self.ps.cpu_times()
        return times.user + times.system

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20

    async def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        for _ in range(200):
            if self.process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        else:
            self.process.kill()
            self.process.wait(10)
        # The gateway notices the closed socket on its own; let it.
        await asyncio.sleep(0.1)


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `values`."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


async def wait_until(
    predicate: Callable[[], bool], *, within: float, poll: float = 0.02, what: str = "it"
) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {within:.0f} s")
        await asyncio.sleep(poll)


def verdict(value: float, target: float, *, at_most: bool) -> str:
    ok = value <= target if at_most else value >= target
    return "met" if ok else "MISSED"


Result = dict[str, Any]


def run_bot_benchmark(
    name: str,
    argv: list[str] | None,
    *,
    description: str,
    sizes: tuple[dict[str, Any], dict[str, Any]],
    run: Callable[[dict[str, Any], Path], Coroutine[Any, Any, Result]],
    title: Callable[[Result], str],
    columns: list[str],
    report: Callable[[Result], list[dict[str, Any]]],
    targets: dict[str, float],
) -> dict[str, Any]:
    """The `main()` of a bot benchmark: parse `--quick`, run in a temporary folder, print the
    table, write `<name>.json`. `sizes` is (quick, full); the targets (and so the verdicts)
    are for the full sizes only."""
    args = parse_args(description, argv)
    chosen = sizes[0] if args.quick else sizes[1]
    with tempfile.TemporaryDirectory(prefix="kindred-bench-") as tmp:
        result = asyncio.run(run(chosen, Path(tmp)))
    rows = report(result)
    if args.quick:
        for row in rows:
            row["verdict"] = ""
    print_table(title(result), columns, rows)
    payload = {
        "name": name,
        "quick": args.quick,
        "environment": environment(),
        "targets": targets,
        "result": result,
    }
    path = write_json(name, payload, args.results_dir)
    print(f"\nwritten to {path}")
    return payload
