"""The outbox table's statements: insert, claim with a lease, and every state change.

Each change after a claim names the claim's lease token in its WHERE clause, so a claim that
lost its lease (another process took the row over after it expired) changes nothing: the new
holder's attempt is the one that counts, and its nonce or read-back keeps the message single.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.db import Database, Transaction
from bot.timeutil import from_db, to_db

from .model import ALL_GUILDS, GuildScope, OutboxRow, nonce_for

UNFINISHED = "state IN ('pending', 'sending')"
FRESH, AGAIN = ":fresh", ":again"  # a claim's lease on a row never tried / tried before


def _placeholders(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


class OutboxRows:
    """SQL over `outbox`; every method is one statement (or one transaction's worth)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(
        self,
        tx: Transaction,
        *,
        key: str,
        kind: str,
        guild_id: int,
        channel_id: int | None,
        user_id: int | None,
        edit_message_id: int | None,
        payload: Mapping[str, Any],
        now: datetime,
        due: datetime,
        expires_at: datetime | None,
    ) -> int | None:
        """The new row's id, or None when the key exists already."""
        return await tx.fetchval(
            """
            INSERT INTO outbox (guild_id, dedupe_key, kind, channel_id, recipient_user_id,
                edit_message_id, payload, nonce, next_attempt_at, expires_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (dedupe_key) DO NOTHING RETURNING id
            """,
            (
                guild_id,
                key,
                kind,
                channel_id,
                user_id,
                edit_message_id,
                json.dumps(payload, sort_keys=True),
                nonce_for(key),
                to_db(due),
                None if expires_at is None else to_db(expires_at),
                to_db(now),
            ),
        )

    async def due_ids(self, now: datetime, scope: GuildScope, limit: int) -> list[int]:
        """Unfinished rows of the scope's guilds that are due and not leased, earliest first."""
        stamp = to_db(now)
        rows = await self._db.fetchall(
            f"""
            SELECT id FROM outbox
            WHERE {UNFINISHED} AND next_attempt_at <= ?
              AND (lease_until IS NULL OR lease_until <= ?) AND ({scope.condition})
            ORDER BY next_attempt_at, id LIMIT ?
            """,
            (stamp, stamp, *scope.params, limit),
        )
        return [row["id"] for row in rows]

    async def claim(
        self,
        ids: Sequence[int],
        token: str,
        now: datetime,
        lease_until: datetime,
        scope: GuildScope = ALL_GUILDS,
    ) -> list[OutboxRow]:
        """Lease those of `ids` that are unfinished, not leased and of the scope's guilds (a
        row of another process's guild is left to it); the rows now held.

        A row never tried is marked `sending` in the same statement (its first attempt starts
        now) and held as `<token>:fresh`; a row already tried as `<token>:again`, left as it is
        for the attempt to decide (resend or read back). One write and one read: the writers'
        lock, which every send's outcome queues on, is held for a single statement.
        """
        if not ids:
            return []
        await self._db.execute(
            f"""
            UPDATE outbox SET lease_until = ?,
                lease_holder = ? || CASE WHEN state = 'pending' THEN '{FRESH}' ELSE '{AGAIN}' END,
                attempts = attempts + CASE WHEN state = 'pending' THEN 1 ELSE 0 END,
                claimed_at = CASE WHEN state = 'pending' THEN ? ELSE claimed_at END,
                state = 'sending'
            WHERE id IN ({_placeholders(ids)}) AND {UNFINISHED}
              AND (lease_until IS NULL OR lease_until <= ?) AND ({scope.condition})
            """,
            (to_db(lease_until), token, to_db(now), *ids, to_db(now), *scope.params),
        )
        rows = await self._db.fetchall(
            f"SELECT * FROM outbox WHERE id IN ({_placeholders(ids)}) "
            "AND lease_holder IN (?, ?) ORDER BY id",
            (*ids, token + FRESH, token + AGAIN),
        )
        return [OutboxRow.from_db(row) for row in rows]

    async def mark_sending(self, row: OutboxRow, token: str, claimed_at: datetime) -> bool:
        """Record an attempt about to reach Discord, its nonce window starting at `claimed_at`;
        False when the lease was lost."""
        changed = await self._db.execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_at = ? "
            "WHERE id = ? AND lease_holder = ?",
            (to_db(claimed_at), row.id, token),
        )
        return changed == 1

    async def retry(self, row_id: int, token: str, at: datetime, error: str) -> bool:
        """Release the row until `at`, keeping its state (and so its nonce window)."""
        changed = await self._db.execute(
            "UPDATE outbox SET next_attempt_at = ?, last_error = ?, lease_holder = NULL, "
            "lease_until = NULL WHERE id = ? AND lease_holder = ?",
            (to_db(at), error[:500], row_id, token),
        )
        return changed == 1

    async def finish(
        self,
        tx: Transaction,
        row_id: int,
        token: str,
        state: str,
        now: datetime,
        *,
        message_id: int | None = None,
        channel_id: int | None = None,
        error: str | None = None,
    ) -> bool:
        """End the row in `tx` (its payload goes: Discord holds the message now); False when
        the lease was lost and the row is someone else's to finish."""
        stamp = to_db(now)
        value = await tx.fetchval(
            """
            UPDATE outbox SET state = ?, message_id = COALESCE(?, message_id),
                channel_id = COALESCE(?, channel_id), last_error = ?, payload = '{}',
                sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END, finished_at = ?,
                lease_holder = NULL, lease_until = NULL
            WHERE id = ? AND lease_holder = ? RETURNING id
            """,
            (
                state,
                message_id,
                channel_id,
                None if error is None else error[:500],
                state,
                stamp,
                stamp,
                row_id,
                token,
            ),
        )
        return value is not None

    async def recover(self, now: datetime, scope: GuildScope) -> int:
        """At start-up: leases on the scope's rows are stale (their holder is gone), and rows
        left `sending` are due now. Returns how many rows were released."""
        return await self._db.execute(
            f"""
            UPDATE outbox SET lease_holder = NULL, lease_until = NULL,
                next_attempt_at = CASE WHEN state = 'sending' THEN ? ELSE next_attempt_at END
            WHERE {UNFINISHED} AND (lease_holder IS NOT NULL OR state = 'sending')
              AND ({scope.condition})
            """,
            (to_db(now), *scope.params),
        )

    async def next_due(self, now: datetime, scope: GuildScope) -> datetime | None:
        """When a row of the scope may next be claimed after `now`: the next free row's due
        time, or a lease ending (a leased row may be due then). Two index range reads."""
        stamp = to_db(now)
        due = await self._db.fetchval(
            f"SELECT MIN(next_attempt_at) FROM outbox WHERE {UNFINISHED} "
            f"AND next_attempt_at > ? AND lease_holder IS NULL AND ({scope.condition})",
            (stamp, *scope.params),
        )
        lease = await self._db.fetchval(
            f"SELECT MIN(lease_until) FROM outbox WHERE lease_holder IS NOT NULL "
            f"AND lease_until > ? AND {UNFINISHED} AND ({scope.condition})",
            (stamp, *scope.params),
        )
        found = [from_db(value) for value in (due, lease) if value is not None]
        return min(found) if found else None

    async def purge(self, finished_before: datetime) -> int:
        """Forget rows finished before the instant (their dedupe keys have done their job)."""
        return await self._db.execute(
            "DELETE FROM outbox WHERE finished_at IS NOT NULL AND finished_at < ?",
            (to_db(finished_before),),
        )

    async def fetch(self, ids: Sequence[int]) -> list[OutboxRow]:
        """The rows with these ids, in id order (missing ids are left out)."""
        if not ids:
            return []
        rows = await self._db.fetchall(
            f"SELECT * FROM outbox WHERE id IN ({_placeholders(ids)}) ORDER BY id", tuple(ids)
        )
        return [OutboxRow.from_db(row) for row in rows]

    async def amend(self, tx: Transaction, key: str, payload: Mapping[str, Any]) -> bool:
        """Replace the payload of a row never attempted nor claimed; False otherwise."""
        value = await tx.fetchval(
            "UPDATE outbox SET payload = ? WHERE dedupe_key = ? AND state = 'pending' "
            "AND attempts = 0 AND lease_holder IS NULL RETURNING id",
            (json.dumps(payload, sort_keys=True), key),
        )
        return value is not None

    async def states(self, reader: Database | Transaction, keys: Sequence[str]) -> dict[str, str]:
        """The state of each existing row among `keys`."""
        if not keys:
            return {}
        rows = await reader.fetchall(
            f"SELECT dedupe_key, state FROM outbox WHERE dedupe_key IN ({_placeholders(keys)})",
            tuple(keys),
        )
        return {row["dedupe_key"]: row["state"] for row in rows}

    async def by_key(self, key: str) -> OutboxRow | None:
        """The row with this dedupe key, or None."""
        row = await self._db.fetchone("SELECT * FROM outbox WHERE dedupe_key = ?", (key,))
        return None if row is None else OutboxRow.from_db(row)
