"""The Kindred bot: an `AutoShardedBot` that is handed its dependencies instead of making them.

`main()` opens the database, migrates it, builds the scheduler and the core services, and injects
them, so tests can build the same bot around a temporary database and a fake clock. On PostgreSQL
it first holds its shards' leases (bot/leases.py), so two processes never serve one shard.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import signal
from collections.abc import Callable
from typing import Any

import discord
from discord.ext import commands

from .clock import SystemClock
from .db import Database, migrate
from .edge.admin import AdminGroup
from .edge.budget import RequestBudget, budget_trace
from .edge.interactions import KindredTree
from .edge.ratelimits import throttle_bucket_sweep
from .edge.transport import DiscordTransport
from .leases import ShardLeaseLost, ShardLeases
from .scheduler import Scheduler
from .services import Services, build_services
from .settings import Settings

log = logging.getLogger(__name__)

# Load order matters only for /admin: its subgroups from other cogs are mounted under it.
EXTENSIONS = (
    "cogs.lifecycle",
    "cogs.about",
    "cogs.admin",
    "cogs.privacy",
    "cogs.prompts",
    "cogs.pairing",
    "cogs.helpdesk",
    "cogs.breaks",
    "cogs.journal",
)


def kindred_intents() -> discord.Intents:
    """Only what the features need: guilds (channels, roles, threads) and members (member
    join/remove events and member queries; members are not cached)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.members = True
    return intents


class Kindred(commands.AutoShardedBot):
    """The bot: discord.py's sharded client wired to the core services it is handed."""

    def __init__(self, *, settings: Settings, services: Services, **options: Any) -> None:
        # Kindred has no voice features: discord.py's "PyNaCl/davey is not installed" warnings
        # would only alarm an admin reading the start-up log.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        # Every REST request waits for this budget, a little under Discord's global limit, so
        # a round's thousand DMs draw no storm of 429s (see bot/edge/budget.py).
        self.budget = RequestBudget(settings.rate_limit)
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=kindred_intents(),
            tree_cls=KindredTree,
            allowed_mentions=discord.AllowedMentions.none(),
            # No member cache (~0.9 KB a member: 450 MB for 10,000 guilds x 50): interactions
            # carry the invoking member, removals arrive raw, and the few member lookups
            # (pairing pool, privacy reconcile) ask Discord (cogs/_members.py).
            member_cache_flags=discord.MemberCacheFlags.none(),
            chunk_guilds_at_startup=False,
            http_trace=budget_trace(self.budget),
            # Given both, discord.py connects exactly these shards (no GET /gateway/bot).
            shard_count=settings.shards.count,
            shard_ids=list(settings.shards.ids),
            **options,
        )
        self.settings = settings
        self.services = services
        # The outbox's Discord side; the cogs register how each kind of message looks.
        self.transport = DiscordTransport(self)
        self._started_scheduler = False
        self.lost_shards = False  # another process took them over; main() exits with an error
        throttle_bucket_sweep(self.http)  # see bot/ratelimits.py: O(buckets) per new channel

    async def setup_hook(self) -> None:
        """Attach the outbox to Discord, load the cogs, mount /admin groups, sync if changed."""
        self.services.outbox.attach(self.transport)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self._mount_admin_groups()
        if self.settings.shards.has_shard_zero:
            await self.sync_commands_if_changed()
        else:
            log.info("App commands are synced by the process serving shard 0")

    def _mount_admin_groups(self) -> None:
        """Move every cog's `AdminGroup` (e.g. `prompts`) under the `/admin` command."""
        admin = self.tree.get_command("admin")
        if not isinstance(admin, discord.app_commands.Group):
            raise RuntimeError("the admin cog must be loaded before mounting admin groups")
        for command in self.tree.get_commands():
            if isinstance(command, AdminGroup):
                self.tree.remove_command(command.name)
                admin.add_command(command)

    async def sync_commands_if_changed(self) -> bool:
        """Sync app commands only when their definition changed (syncing is rate-limited)."""
        target = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if target is not None:
            self.tree.copy_global_to(guild=target)
        definition = [c.to_dict(self.tree) for c in self.tree.get_commands(guild=target)]
        digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
        key = f"command_hash:{target.id if target else 'global'}"
        db = self.services.db
        if await db.fetchval("SELECT value FROM meta WHERE key = ?", (key,)) == digest:
            log.info("App commands unchanged; not syncing")
            return False
        await self.tree.sync(guild=target)
        await db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, digest),
        )
        log.info("Synced %d app commands to %s", len(definition), target.id if target else "all")
        return True

    async def on_ready(self) -> None:
        """Reconcile guilds, tell features to catch up, then start the scheduler and outbox."""
        # on_ready fires again after a full reconnect; the guild reconcile is cheap and idempotent.
        await self.services.guilds.reconcile(guild.id for guild in self.guilds)
        # Features that catch up on what happened while Kindred was offline listen to this;
        # every guild the bot is in has its row by now.
        self.dispatch("kindred_ready")
        if not self._started_scheduler:
            self._started_scheduler = True
            self.services.scheduler.start()
            self.services.outbox.start()  # first sends what a previous run left unfinished
            log.info("Kindred is ready in %d guilds", len(self.guilds))

    def pause_sending(self) -> None:
        """The shards' lease cannot be vouched for (database unreachable): send nothing and
        start no job until `resume_sending`; what is due waits in the database."""
        self.services.outbox.attach(None)
        self.services.scheduler.pause()

    def resume_sending(self) -> None:
        """The lease is renewed again: catch up on what fell due meanwhile."""
        asyncio.get_running_loop().create_task(self._resume(), name="kindred-resume")

    async def _resume(self) -> None:
        """Claims whose outcome could not be recorded during the outage still hold their rows
        and jobs; these shards are still this process's, so once its attempts have ended it
        frees them, as at start-up (a nonce or a read-back keeps each message single)."""
        services = self.services
        try:
            await services.outbox.idle()
            await services.scheduler.idle()
            await services.outbox.recover()
            await services.scheduler.recover()
        except Exception:
            log.exception("Freeing claims left by the database outage failed; their leases expire")
        services.outbox.attach(self.transport)
        services.scheduler.resume()

    def shards_lost(self) -> None:
        """Another process serves these shards now: stop at once, without sending more."""
        self.lost_shards = True
        self.pause_sending()
        asyncio.get_running_loop().create_task(self.close())

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """A listener failed: log it with the event's name; the bot keeps running."""
        if self.is_closed():
            # Stopping (SIGTERM) closes the database under listeners still running; what they
            # did not finish is redone at the next start, as after a crash.
            log.info("Event handler %s was cut short by the shutdown", event_method)
            return
        log.exception("Error in event handler %s", event_method)

    async def close(self) -> None:
        """Stop the background loops before the connection to Discord goes."""
        await self.services.scheduler.stop()
        await self.services.outbox.stop()
        await super().close()


async def open_services(settings: Settings) -> Services:
    """Open and migrate the database and build the core services on the real clock."""
    db = await Database.open(settings.database)
    try:
        await migrate(db)
    except Exception:
        await db.close()
        raise
    clock = SystemClock()
    shards = settings.shards
    scheduler = Scheduler(db, clock, scope=shards.scope(), longest_sleep=shards.poll)
    return build_services(db, scheduler, clock, shards)


async def main(
    settings: Settings, make_bot: Callable[[Settings, Services], Kindred] | None = None
) -> None:
    """Run the bot until it is closed (`make_bot`: a variant of Kindred, for benchmarks)."""
    services = await open_services(settings)
    # SQLite serves one process (settings refuse a subset of shards there); on PostgreSQL other
    # processes may share the database, so this one first holds its shards.
    leases = (
        ShardLeases(services.db, services.clock, settings.shards)
        if services.db.backend == "postgres"
        else None
    )
    lost = False
    try:
        if leases is not None:
            await leases.acquire()
        bot = (
            make_bot(settings, services)
            if make_bot
            else Kindred(settings=settings, services=services)
        )
        async with bot:
            loop = asyncio.get_running_loop()
            # systemd and process managers stop with SIGTERM: close cleanly, giving the shards up.
            loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(bot.close()))
            keeper = None
            if leases is not None:
                keeper = loop.create_task(
                    leases.keep(
                        on_lost=bot.shards_lost,
                        on_unsure=bot.pause_sending,
                        on_sure=bot.resume_sending,
                    ),
                    name="kindred-shard-leases",
                )
            try:
                await bot.start(settings.token)
            finally:
                if keeper is not None:
                    keeper.cancel()
                lost = bot.lost_shards
        if lost:
            raise ShardLeaseLost(
                f"another process took over {settings.shards.describe()} while this one could "
                "not renew its lease; start it again and it waits for its shards."
            )
    finally:
        await services.scheduler.stop()
        await services.outbox.stop()
        if leases is not None and not lost:
            with contextlib.suppress(Exception):
                await leases.release()
        await services.db.close()
