"""Three `python -m bot` processes on one PostgreSQL, six shards, 60 guilds, kill -9 five times.

Each process serves two shards (SHARD_COUNT=6). While daily prompts fall due, pairing rounds
deliver their intros and asks are posted, routed and answered (the "I can help" button in a DM
arrives on shard 0, whatever the ask's guild), one process at a time is killed at a moment drawn
from a seeded `random.Random` and started again; the server is restarted once mid-round. A
standby started with shards 0-1 waits while they are held and takes over only after their
holder is killed. At the end every post, intro and answer is on Discord exactly once (counted in
the fake, which sees every side effect), and no guild is marked as left.
"""

from __future__ import annotations

import asyncio
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.fakediscord import FakeDiscord, FakeMessage
from tests.fakediscord.fixtures import World
from tests.fakediscord.payloads import MANAGE_GUILD, snowflake_on_shard
from tests.support.postgres import PostgresServer, start_cluster
from tests.support.process import SITECUSTOMIZE, bot_environment

SHARD_COUNT = 6
SPLIT = ("0-1", "2-3", "4-5")
GUILDS_PER_SHARD = 10
KILLS = 5
LATENCY = 0.03  # seconds per REST request, so a round's sends span the kill window
CHECKIN = re.compile(r"kindred:checkin:(\d+):met")


@dataclass
class Community:
    """One guild of the test and the ids in it."""

    guild_id: int
    admin: int
    prompts: int
    pairing: int
    help: int
    pairs: tuple[int, ...]  # members in pairing rounds
    helper: int
    asker: int

    @property
    def shard(self) -> int:
        return (self.guild_id >> 22) % SHARD_COUNT


def build_world(fake: FakeDiscord) -> list[Community]:
    """60 guilds, ten on each shard, each with channels, an admin and six members."""
    ids = iter(range(100_000, 1_000_000))
    communities = []
    for shard in range(SHARD_COUNT):
        for _ in range(GUILDS_PER_SHARD):
            guild_id = snowflake_on_shard(shard, SHARD_COUNT)
            c = Community(
                guild_id,
                admin=next(ids),
                prompts=next(ids),
                pairing=next(ids),
                help=next(ids),
                pairs=tuple(next(ids) for _ in range(4)),
                helper=next(ids),
                asker=next(ids),
            )
            owner = next(ids)
            fake.add_user(owner, f"owner{owner}")
            fake.add_guild(guild_id, f"School {guild_id}", owner_id=owner)
            for channel, name in ((c.prompts, "prompts"), (c.pairing, "pairing"), (c.help, "help")):
                fake.add_channel(guild_id, channel, name)
            admin_role = next(ids)
            fake.add_role(guild_id, admin_role, "Admin", MANAGE_GUILD)
            fake.add_member(guild_id, c.admin, f"admin{c.admin}", roles=[admin_role])
            for user_id in (*c.pairs, c.helper, c.asker):
                fake.add_member(guild_id, user_id, f"teacher{user_id}")
            communities.append(c)
    return communities


def connected_shards(fake: FakeDiscord) -> Counter[int]:
    """Shard -> how many open gateway sessions serve it now."""
    return Counter(
        s.shard[0]
        for s in fake.gateway.sessions.values()
        if s.shard is not None and s.ws is not None and not s.ws.closed
    )


def sessions_of(fake: FakeDiscord, shard: int) -> int:
    """How many times shard `shard` was IDENTIFYed (every session ever made for it)."""
    return sum(1 for s in fake.gateway.sessions.values() if s.shard and s.shard[0] == shard)


@dataclass
class ShardProcess:
    """`python -m bot` serving SHARD_IDS=`shards` against the fake, on the shared database."""

    shards: str
    name: str  # its logs are <name>-<run>.log
    fake: FakeDiscord
    dsn: str
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    runs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        env = bot_environment(
            DISCORD_TOKEN=World.TOKEN,
            DATABASE_URL=self.dsn,
            LOG_LEVEL="INFO",
            KINDRED_FAKE_DISCORD_URL=self.fake.url,
            DISCORD_RATE_LIMIT="2000",
            SHARD_COUNT=str(SHARD_COUNT),
            SHARD_IDS=self.shards,
        )
        env["PYTHONPATH"] = f"{SITECUSTOMIZE}:{env['PYTHONPATH']}"
        log = self.folder / f"{self.name}-{len(self.runs)}.log"
        self.runs.append(log)
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot"], cwd=self.folder, env=env, stdout=out, stderr=out
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9: no chance to release anything."""
        if self.alive:
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.alive:
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.runs[-1].read_text() if self.runs else ""

    def holds(self) -> bool:
        """Whether this run got its shards' lease (it logs it before connecting)."""
        return f"Holding shards {self.shards} of {SHARD_COUNT}" in self.log()


@pytest.fixture
def cluster() -> Iterator[PostgresServer]:
    """A PostgreSQL of this test's own, so it can be restarted mid-round."""
    server = start_cluster()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[FakeDiscord, list[Community]]]:
    fake = FakeDiscord(app_id=World.BOT)
    communities = build_world(fake)
    await fake.start()
    try:
        yield fake, communities
    finally:
        await fake.stop()


async def command(fake: FakeDiscord, guild_id: int, user_id: int, name: str, **options) -> str:
    handle = await fake.invoke(guild_id, user_id, name, **options)
    return (await handle.response(timeout=30)).text


def intro_round(message: FakeMessage) -> int | None:
    for custom_id in message.custom_ids():
        if found := CHECKIN.fullmatch(custom_id):
            return int(found[1])
    return None


async def query(dsn: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_three_processes_survive_kills_and_a_database_restart_exactly_once(
    world, cluster: PostgresServer, tmp_path: Path
):
    fake, communities = world
    rng = random.Random(12)
    dsn = (await cluster.create_database()).dsn
    fleet = {ids: ShardProcess(ids, f"bot-{ids}", fake, dsn, tmp_path) for ids in SPLIT}
    standby = ShardProcess("0-1", "standby-0-1", fake, dsn, tmp_path)
    everyone = [*fleet.values(), standby]
    by_shard = {c.guild_id: c for c in communities}

    async def all_connected(within: float = 90) -> None:
        await fake.wait_for(
            lambda f: all(connected_shards(f)[s] == 1 for s in range(SHARD_COUNT)), within
        )

    try:
        for process in fleet.values():
            process.start()
        await all_connected()

        # A second process with the same SHARD_IDS waits for them and never connects them.
        standby.start()
        await fake.wait_for(lambda f: "Waiting for shards 0-1 of 6" in standby.log(), 30)
        assert sessions_of(fake, 0) == sessions_of(fake, 1) == 1
        assert standby.alive and not standby.holds()

        # Each guild: prompts at the next minute but one, pairing on, an offer on "pbl".
        slot = (datetime.now(UTC) + timedelta(minutes=2)).strftime("%H:%M")
        weekday = (datetime.now(UTC).weekday() + 3) % 7

        async def set_up(c: Community) -> None:
            g = c.guild_id
            replies = [
                await command(
                    fake, g, c.admin, "admin prompts schedule", channel=c.prompts, time=slot
                ),
                await command(
                    fake,
                    g,
                    c.admin,
                    "admin pairing schedule",
                    channel=c.pairing,
                    cadence="weekly",
                    weekday=weekday,
                    time="12:00",
                ),
                await command(fake, g, c.admin, "admin helpdesk channel", channel=c.help),
                await command(fake, g, c.helper, "offer", topic="pbl"),
            ]
            replies += [await command(fake, g, u, "pair join") for u in c.pairs]
            assert "Daily prompts are on" in replies[0] and "Pairing rounds are on" in replies[1]

        await asyncio.gather(*(set_up(c) for c in communities))

        # Work flows while processes die: rounds, asks, and the prompts falling due.
        fake.latency = LATENCY
        rounds: Counter[int] = Counter()
        asked: set[int] = set()
        answered: set[int] = set()
        holders = {"0-1": fleet["0-1"], "2-3": fleet["2-3"], "4-5": fleet["4-5"]}
        waiting = {"0-1": standby}

        async def work() -> None:
            """A round in every guild whose shard is connected; an ask in some; answers to
            routing DMs that arrived (DM buttons: shard 0, for every guild)."""
            live = connected_shards(fake)
            ready = [c for c in communities if live[c.shard]]

            async def one(c: Community) -> None:
                started = await command(fake, c.guild_id, c.admin, "admin pairing run-now")
                if "Round started" in started:
                    rounds[c.guild_id] += 1
                if c.guild_id not in asked and rng.random() < 0.5:
                    reply = await command(fake, c.guild_id, c.asker, "ask", topic="pbl",
                                          details="How do I grade group work?")  # fmt: skip
                    assert "is recorded" in reply, reply
                    asked.add(c.guild_id)

            await asyncio.gather(*(one(c) for c in ready))
            if live[0]:
                await answer_routing_dms()

        async def answer_routing_dms() -> None:
            for c in communities:
                if c.guild_id in answered:
                    continue
                buttons = [
                    (m, cid)
                    for m in fake.dms_to(c.helper)
                    for cid in m.custom_ids()
                    if cid.startswith(f"kindred:hd:help:{c.guild_id}:")
                ]
                if buttons:
                    message, custom_id = buttons[0]
                    handle = await fake.click(message, custom_id, c.helper)
                    reply = (await handle.response(timeout=30)).text
                    assert "Thank you!" in reply or "already offered" in reply, reply
                    answered.add(c.guild_id)

        for kill in range(KILLS):
            await work()
            await asyncio.sleep(rng.uniform(0.0, 2.0))
            shards = rng.choice(SPLIT) if kill else "0-1"  # the first kill is the standby's cue
            victim = holders[shards]
            before = sessions_of(fake, int(shards[0]))
            if kill == 0:  # the standby has not connected shards 0-1 while they were held
                assert before == 1 and not standby.holds()
            victim.kill()
            if kill == 2:
                # The database goes away mid-round (longer than a lease renewal) and comes back.
                assert cluster.restart is not None
                await asyncio.to_thread(cluster.restart, 12.0)
            if shards in waiting:
                # The standby takes over; then the killed one comes back as the standby.
                holders[shards], waiting[shards] = waiting[shards], victim
            else:
                victim.start()
            await fake.wait_for(lambda f, s=int(shards[0]), b=before: sessions_of(f, s) > b, 60)
            assert holders[shards].holds()  # it said so before connecting
            if waiting.get(shards) is victim:
                victim.start()
        assert standby.runs[0].read_text().count("Holding shards 0-1 of 6") == 1

        await all_connected()
        await work()  # one more round everywhere, so every guild has had at least one
        fake.latency = 0.0
        await answer_routing_dms()

        # Wait for the prompt slot to pass and every message to settle.
        async def settled() -> bool:
            unfinished = await query(
                dsn, "SELECT COUNT(*) AS n FROM outbox WHERE state IN ('pending', 'sending')"
            )
            posts = await query(dsn, "SELECT COUNT(*) AS n FROM prompt_posts")
            return unfinished[0]["n"] == 0 and posts[0]["n"] >= len(communities)

        # Generous: in the full suite on a shared 2-core machine, 240 s was once not enough for
        # three bots, the fake and PostgreSQL to drain; a lost message never settles at all.
        deadline = asyncio.get_running_loop().time() + 480
        while not await settled():
            assert asyncio.get_running_loop().time() < deadline, "work did not settle"
            await answer_routing_dms()
            await asyncio.sleep(1)
    finally:
        for process in everyone:
            process.stop()

    logs = "".join(p.read_text() for p in tmp_path.glob("*.log"))
    # Every post exactly once: one daily prompt per guild (every attempt the fake saw counted).
    for c in communities:
        daily = [m for m in fake.channel_messages(c.prompts) if m.nonce]
        assert len(daily) == 1, (c.guild_id, [m.text for m in daily])
        announcements = [m for m in fake.channel_messages(c.pairing) if m.nonce]
        assert len(announcements) == rounds[c.guild_id], c.guild_id  # no round ran twice
        # Every intro exactly once: each member, one DM per round of their guild.
        for user_id in c.pairs:
            per_round = Counter(intro_round(m) for m in fake.dms_to(user_id))
            assert set(per_round.values()) == {1} and len(per_round) == rounds[c.guild_id]
        # Asks: one post, one routing DM to the helper, and for a pressed "I can help" one
        # private thread for the two (its opening message once), or else one DM to the asker.
        asks = [m for m in fake.channel_messages(c.help) if m.nonce and "pbl" in m.text.lower()]
        assert len(asks) == (c.guild_id in asked), c.guild_id
        routing = [m for m in fake.dms_to(c.helper) if m.nonce]
        assert len(routing) == (c.guild_id in asked)
        threads = [t for t in fake.threads if t.parent_id == c.help and t.type == 12]
        opened = [m for t in threads for m in fake.channel_messages(t.id) if m.nonce]
        told = [m for m in fake.dms_to(c.asker) if m.nonce]
        assert len(threads) + len(told) == (c.guild_id in answered), (c.guild_id, told)
        assert len(opened) == len(threads), (c.guild_id, [m.text for m in opened])
    assert sum(rounds.values()) >= 2 * len(communities)
    assert len(answered) >= 5  # DM buttons for guilds of every process were pressed on shard 0
    assert {by_shard[g].shard for g in answered} - {0, 1}

    # Nothing marked as left; app commands synced once, by shard 0's process.
    left = await query(dsn, "SELECT guild_id FROM guilds WHERE left_at IS NOT NULL")
    assert left == []
    assert sum(fake.sync_counts.values()) == 1
    assert "Synced" in fleet["0-1"].runs[0].read_text()
    assert logs.count("App commands are synced by the process serving shard 0") >= 2
    assert "Cannot renew the lease" in logs  # the database restart was noticed...
    assert "sending resumes" in logs  # ...and survived
