"""What the insights are made of, read from the database in a handful of grouped queries.

The reads return plain tuples and leave all arithmetic to `figures.py`, which runs in a worker
thread: a guild of 10,000 members and a year of weekly rounds is half a million assignments, so
the database does the counting (GROUP BY) and only the connection edges travel row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db import Database, Row
from bot.timeutil import to_db


@dataclass(frozen=True, slots=True)
class History:
    """Everything the insights need about one guild, as read at `now`.

    Rows stay as the driver returned them (they unpack like tuples, in the column order of the
    query named in each comment): turning 300,000 of them into Python objects is the worker
    thread's job, not the event loop's.
    """

    now: datetime
    since: datetime
    weeks: int
    rounds: Sequence[Row]  # _ROUNDS: started_at, paired, met, not_yet, skipped, unanswered,
    #                        groups, groups_met
    asks: Sequence[Row]  # _ASKS: created_at, status, closed_at, first helper's time or None
    needed_topics: Sequence[Row]  # _NEEDED_TOPICS: topic name, open asks; no open offer
    pool: Sequence[Row]  # _POOL: user_id of current pool members (graph nodes, never shown)
    met_pairs: Sequence[Row]  # _MET_PAIRS: two user ids that met, over all time (may repeat)


# Per round: members placed in a group (answers are theirs), and the groups with a "We met".
_ROUNDS = """
SELECT r.started_at,
       COUNT(*) AS paired,
       COUNT(*) FILTER (WHERE a.answer = 'met') AS met,
       COUNT(*) FILTER (WHERE a.answer = 'not_yet') AS not_yet,
       COUNT(*) FILTER (WHERE a.answer = 'skipped') AS skipped,
       COUNT(*) FILTER (WHERE a.answer IS NULL) AS unanswered,
       COUNT(DISTINCT a.group_id) AS groups,
       COUNT(DISTINCT CASE WHEN a.answer = 'met' THEN a.group_id END) AS groups_met
FROM pairing_rounds r
JOIN pairing_assignments a ON a.round_id = r.round_id AND a.group_id IS NOT NULL
WHERE r.guild_id = ? AND r.started_at >= ?
GROUP BY r.round_id, r.started_at
ORDER BY r.started_at
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

# The "met" rule: a group met when any of its members answered "We met"; then every two of its
# members are connected. One "Not yet" does not undo a partner's "We met" (they may answer at
# different times), and a group nobody answered for is not counted (we do not know).
_MET_PAIRS = """
SELECT a.user_id, b.user_id
FROM pairing_assignments a
JOIN pairing_assignments b ON b.group_id = a.group_id AND b.user_id > a.user_id
WHERE a.guild_id = ?
  AND a.group_id IN (SELECT m.group_id FROM pairing_assignments m
                     WHERE m.guild_id = ? AND m.answer = 'met')
"""


async def read_history(db: Database, guild_id: int, now: datetime, weeks: int) -> History:
    """Read one guild's rounds and asks of the last `weeks` weeks, and its connections over all
    time."""
    since = now - timedelta(weeks=weeks)
    start = to_db(since)
    return History(
        now=now,
        since=since,
        weeks=weeks,
        rounds=await db.fetchall(_ROUNDS, (guild_id, start)),
        asks=await db.fetchall(_ASKS, (guild_id, start, start)),
        needed_topics=await db.fetchall(_NEEDED_TOPICS, (guild_id,)),
        pool=await db.fetchall(_POOL, (guild_id, to_db(now))),
        met_pairs=await db.fetchall(_MET_PAIRS, (guild_id, guild_id)),
    )
