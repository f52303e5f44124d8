"""What the insights are made of, read from one consistent snapshot of the database.

A guild of 10,000 members after a year of weekly rounds has half a million assignments. They are
read once, in the order of the rounds' primary key (the cheapest scan the existing indexes
offer: 0.9 s on SQLite where a self-join on groups took 6 s), streamed in chunks, and each chunk
is packed into a numpy array in a worker thread, so neither the event loop nor memory holds half
a million row objects. Everything is counted from that table in `figures.py` and `graph.py`.

The snapshot is a second connection (SQLite) or a pooled one (PostgreSQL) in one read
transaction: the bot keeps reading and writing on its own connection meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from bot.db import Database, Params, Row, Snapshot
from bot.timeutil import to_db

# Rows per chunk: packing one holds the GIL (~6 ms for 10,000 rows), so the loop gets its turns.
CHUNK = 10_000
# Check-in answers as small integers in the assignments table.
NO_ANSWER, MET, NOT_YET, SKIPPED = 0, 1, 2, 3
ROUND, GROUP, USER, ANSWER = range(4)  # the assignments table's columns


@dataclass(frozen=True, slots=True)
class History:
    """Everything the insights need about one guild, as read at `now`."""

    now: datetime
    since: datetime
    weeks: int
    rounds: Sequence[Row]  # round_id, started_at of the rounds in the period, oldest first
    assignments: np.ndarray  # (n, 4) int64: ROUND, GROUP, USER, ANSWER, every round ever
    asks: Sequence[Row]  # created_at, status, closed_at, first helper's time or None
    needed_topics: Sequence[Row]  # topic name, open asks on it; no open offer on the topic
    pool: Sequence[Row]  # user_id of current pool members (graph nodes, never shown)


# Scheduled rounds only: a "Talk 1:1 about this" pairing (talk_post_id) has no check-in.
_ROUNDS = """
SELECT r.round_id, r.started_at,
       (SELECT COUNT(*) FROM pairing_groups g
        WHERE g.round_id = r.round_id AND g.confirmed_at IS NOT NULL) AS confirmed
FROM pairing_rounds r
WHERE r.guild_id = ? AND r.started_at >= ? AND r.talk_post_id IS NULL
ORDER BY r.started_at, r.round_id
"""

# Every member placed in a group, in every round (the connection graph is over all time).
_ASSIGNMENTS = """
SELECT a.round_id, a.group_id, a.user_id,
       CASE a.answer WHEN 'met' THEN 1 WHEN 'not_yet' THEN 2 WHEN 'skipped' THEN 3 ELSE 0 END
FROM pairing_rounds r JOIN pairing_assignments a ON a.round_id = r.round_id
WHERE r.guild_id = ? AND a.group_id IS NOT NULL
"""

# The first helper: the first "I can help" press, or the helper named when it was resolved
# (bot/helpdesk/closing.py records that in helpdesk_helpers too).
_ASKS = """
SELECT a.created_at, a.status, a.closed_at,
       (SELECT MIN(h.offered_at) FROM helpdesk_helpers h WHERE h.ask_id = a.ask_id) AS helped
FROM helpdesk_asks a
WHERE a.guild_id = ? AND (a.created_at >= ? OR a.closed_at >= ?)
"""

_NEEDED_TOPICS = """
SELECT t.name, COUNT(*) AS asks
FROM helpdesk_asks a JOIN helpdesk_topics t ON t.topic_id = a.topic_id
WHERE a.guild_id = ? AND a.status = 'open'
  AND NOT EXISTS (SELECT 1 FROM helpdesk_offers o
                  WHERE o.guild_id = a.guild_id AND o.topic_id = a.topic_id AND o.status = 'open')
GROUP BY t.name
ORDER BY COUNT(*) DESC, t.name
"""

# The pool as pairing sees it (opted in, still here, not paused); the role is Discord's to know.
_POOL = """
SELECT user_id FROM pairing_members
WHERE guild_id = ? AND (paused_until IS NULL OR paused_until <= ?)
"""


async def read_history(db: Database, guild_id: int, now: datetime, weeks: int) -> History:
    """Read one guild's rounds and asks of the last `weeks` weeks, and every assignment."""
    since = now - timedelta(weeks=weeks)
    start = to_db(since)
    async with db.snapshot() as snapshot:
        return History(
            now=now,
            since=since,
            weeks=weeks,
            rounds=await read_all(snapshot, _ROUNDS, (guild_id, start)),
            assignments=await read_table(snapshot, _ASSIGNMENTS, (guild_id,)),
            asks=await read_all(snapshot, _ASKS, (guild_id, start, start)),
            needed_topics=await read_all(snapshot, _NEEDED_TOPICS, (guild_id,)),
            pool=await read_all(snapshot, _POOL, (guild_id, to_db(now))),
        )


async def read_all(snapshot: Snapshot, sql: str, params: Params) -> list[Row]:
    """Every row of a query (a few thousand at most)."""
    rows: list[Row] = []
    async for chunk in snapshot.chunks(sql, params, CHUNK):
        rows.extend(chunk)
    return rows


async def read_table(snapshot: Snapshot, sql: str, params: Params) -> np.ndarray:
    """A query of four integer columns as one (n, 4) int64 array, packed chunk by chunk in a
    worker thread."""
    parts = [np.zeros((0, 4), dtype=np.int64)]
    async for chunk in snapshot.chunks(sql, params, CHUNK):
        parts.append(await asyncio.to_thread(pack, chunk))
    return np.concatenate(parts)


def pack(rows: Sequence[Row]) -> np.ndarray:
    """Rows of four integers as an int64 array."""
    return np.array([tuple(row) for row in rows], dtype=np.int64).reshape(-1, 4)
