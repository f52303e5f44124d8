"""How each pairing intro was delivered, read from the database, for tests that check it.

In the words the tests use: 'sent' (by DM), 'thread' (the DM was refused and the group's
private thread introduced them), 'undelivered' (recorded for /admin pairing stats), or the
outbox state while it is on its way ('pending', 'sending', 'refused' until its thread is open).
"""

from __future__ import annotations

INTRO_STATES_SQL = """
    SELECT a.user_id, CASE
        WHEN u.user_id IS NOT NULL THEN 'undelivered'
        WHEN o.state = 'refused' AND t.state = 'sent' THEN 'thread'
        ELSE COALESCE(o.state, 'pending') END AS state
    FROM pairing_assignments a
    LEFT JOIN outbox o
      ON o.dedupe_key = 'pairing.intro:' || a.round_id || ':' || a.user_id
    LEFT JOIN outbox t ON t.dedupe_key = 'pairing.thread:' || a.group_id
    LEFT JOIN pairing_undelivered u
      ON u.round_id = a.round_id AND u.user_id = a.user_id AND u.kind = 'intro'
    WHERE a.round_id = {round_id}
"""

#: The round's messages still on their way (intros, check-ins, notices, threads, announcement).
UNFINISHED_SQL = """
    SELECT COUNT(*) AS n FROM outbox
    WHERE state IN ('pending', 'sending') AND (
        dedupe_key LIKE 'pairing.intro:{round_id}:%'
        OR dedupe_key LIKE 'pairing.checkin:{round_id}:%'
        OR dedupe_key LIKE 'pairing.notice:{round_id}:%'
        OR dedupe_key = 'pairing.announcement:{round_id}'
        OR dedupe_key IN (SELECT 'pairing.thread:' || group_id FROM pairing_groups
                          WHERE round_id = {round_id}))
"""


def intro_states_sql(round_id: int | str = "a.round_id") -> str:
    """The SQL giving (user_id, state) of every intro of `round_id` (default: every round)."""
    return INTRO_STATES_SQL.format(round_id=round_id)


def unfinished_sql(round_id: int) -> str:
    return UNFINISHED_SQL.format(round_id=int(round_id))
