"""Which of Discord's gateway shards this process serves, and which guilds that makes its own.

Discord routes a guild's events to shard `(guild_id >> 22) % shard_count`. Kindred splits its
work the same way: a process runs the scheduled work, start-up sweeps and outbox sends only of
the guilds on its shards, so processes sharing one PostgreSQL database never act for the same
guild. Events without a guild (a button in a DM) arrive on shard 0, and so do jobs that have no
guild. No Discord, no database.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from .outbox.model import ALL_GUILDS, GuildScope

MAX_SHARDS = 65_536
#: How often a process that shares the database looks for work another process wrote for its
#: guilds (a DM button arrives on shard 0 for every guild); one process is woken directly.
CROSS_PROCESS_POLL = timedelta(seconds=5)


class ShardSpecError(ValueError):
    """A SHARD_IDS value that is not a list of shard numbers; the message says what is wrong."""


def _host() -> str:
    """This host and process namespace: pids name processes only within one of these."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()}@{namespace}"


def process_name() -> str:
    """`host:pid:random`: who holds a lease, readable in the tables and in log lines."""
    return f"{_host()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def is_gone(holder: str) -> bool:
    """Whether `holder` (a `process_name()`) is certainly dead: a process of this host and pid
    namespace whose pid no longer exists (killed). Anything else may be alive."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != _host() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # e.g. another user's process: alive
    return False


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord routes a guild's events to."""
    return (guild_id >> 22) % shard_count


def parse_shard_ids(text: str, shard_count: int) -> tuple[int, ...]:
    """`0-3`, `4,5` or `0-1,4` as sorted shard numbers, each below `shard_count`, none twice."""
    found: list[int] = []
    for part in text.replace(" ", "").split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ShardSpecError(f"{part!r} is not a shard number or a range like 0-3")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ShardSpecError(f"the range {part!r} runs backwards")
        if last >= shard_count:
            raise ShardSpecError(
                f"shard {last} does not exist with {shard_count} shards (they are numbered "
                f"0 to {shard_count - 1})"
            )
        found.extend(range(first, last + 1))
    if len(set(found)) != len(found):
        raise ShardSpecError("a shard is listed twice")
    return tuple(sorted(found))


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """`count` shards in all; this process serves `ids`."""

    count: int = 1
    ids: tuple[int, ...] = (0,)

    @property
    def everything(self) -> bool:
        """Whether this process serves every shard (the single-process case)."""
        return len(self.ids) == self.count

    @property
    def has_shard_zero(self) -> bool:
        """Shard 0 gets DMs and guild-less work, and its owner syncs the app commands."""
        return 0 in self.ids

    def owns(self, guild_id: int | None) -> bool:
        """Whether this process acts for the guild (None: guild-less work, shard 0's)."""
        if guild_id is None:
            return self.has_shard_zero
        return shard_of(guild_id, self.count) in self.ids

    @property
    def poll(self) -> timedelta | None:
        """How long the scheduler and the outbox may sleep without looking at the database
        when other processes share it (None: one process, each loop keeps its own limit)."""
        return None if self.everything else CROSS_PROCESS_POLL

    def scope(self) -> GuildScope:
        """The owned guilds as an SQL condition on `guild_id` (rows without a guild go to
        shard 0). The numbers come from validated settings, so they are written inline."""
        if self.everything:
            return ALL_GUILDS
        shards = ", ".join(str(i) for i in self.ids)
        condition = f"((guild_id >> 22) % {self.count}) IN ({shards})"
        if self.has_shard_zero:
            condition += " OR guild_id IS NULL"
        return GuildScope(condition)

    def describe(self) -> str:
        """`shards 2-3 of 6` / `shards 0,4 of 6`, for log lines."""
        ids = self.ids
        if ids == tuple(range(ids[0], ids[-1] + 1)) and len(ids) > 1:
            shown = f"{ids[0]}-{ids[-1]}"
        else:
            shown = ",".join(str(i) for i in ids)
        return f"shard{'s' if len(ids) > 1 else ''} {shown} of {self.count}"


#: One process serving the one shard: the default, and the only choice on SQLite.
SINGLE_PROCESS = ShardPlan()
