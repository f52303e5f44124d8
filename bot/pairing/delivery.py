"""Sending a round's messages exactly once: announcement, intros, thread fallback, check-ins.

Every message has a row (`pairing_deliveries`, or the round/group row for the announcement and
the private thread) that is claimed (`sending`) before the request and marked `sent` after it.
A crash in between leaves `sending`; the next run sends again with the same nonce (made from the
row id), and Discord returns the earlier message instead of posting a second one. Rows already
`sent` are never touched again, so a restart DMs nobody twice.

Sends run concurrently with at most `IN_FLIGHT` requests at a time: discord.py's HTTP client
waits out rate limits (429s and bucket exhaustion) per route, so a bounded number of concurrent
sends goes as fast as Discord allows, without one request waiting for the previous one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3

from bot.clock import Clock
from bot.db import Database
from bot.timeutil import from_db, to_db

from .models import (
    Announcement,
    CheckIn,
    DeliveryFailed,
    DmRefused,
    Intro,
    Notice,
    PairingPort,
)

log = logging.getLogger(__name__)

IN_FLIGHT = 12


def delivery_nonce(delivery_id: int) -> str:
    return f"kpd{delivery_id}"


def thread_nonce(group_id: int) -> str:
    return f"kpg{group_id}"


def announce_nonce(round_id: int) -> str:
    return f"kpa{round_id}"


class DeliveryIncomplete(Exception):
    """Some sends failed for a passing reason (network, Discord 5xx); the job retries them."""


class DeliveryRunner:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._port: PairingPort | None = None
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)
        # The delivery and check-in jobs of one round may overlap; one pass at a time per round
        # keeps them from claiming the same row twice (the nonce would dedupe it, but this is
        # cheaper than asking Discord to). Entries are dropped when no pass is waiting.
        self._rounds: dict[int, tuple[asyncio.Lock, int]] = {}

    def attach(self, port: PairingPort | None) -> None:
        self._port = port

    async def deliver_round(self, round_id: int) -> None:
        """Send everything of `round_id` not sent yet; raise if something must be retried."""
        lock, users = self._rounds.get(round_id, (asyncio.Lock(), 0))
        self._rounds[round_id] = (lock, users + 1)
        try:
            async with lock:
                await self._deliver_round(round_id)
        finally:
            lock, users = self._rounds[round_id]
            if users == 1:
                del self._rounds[round_id]
            else:
                self._rounds[round_id] = (lock, users - 1)

    async def _deliver_round(self, round_id: int) -> None:
        port = self._port
        if port is None:
            raise DeliveryIncomplete("not connected to Discord yet")
        round_row = await self._db.fetchone(
            "SELECT r.*, s.channel_id FROM pairing_rounds r "
            "LEFT JOIN pairing_settings s ON s.guild_id = r.guild_id WHERE r.round_id = ?",
            (round_id,),
        )
        if round_row is None:
            return  # purged meanwhile
        rows = await self._db.fetchall(
            "SELECT * FROM pairing_deliveries WHERE round_id = ? AND state IN "
            "('pending', 'sending') ORDER BY delivery_id",
            (round_id,),
        )
        results = await asyncio.gather(
            self._announce(port, round_row),
            *(self._deliver(port, round_row, row) for row in rows),
            return_exceptions=True,
        )
        await self._group_threads(port, round_row)
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            log.error(
                "Pairing round %s: a send failed and will be retried",
                round_id,
                exc_info=(type(failure), failure, failure.__traceback__),
            )
        if failures:
            raise DeliveryIncomplete(f"{len(failures)} sends of round {round_id} failed")

    # -- one message ------------------------------------------------------------------------

    async def _claim(self, sql_table: str, key: str, key_value: int, column: str) -> bool:
        """Mark a row `sending` unless it is already finished; True when it is ours to send."""
        changed = await self._db.execute(
            f"UPDATE {sql_table} SET {column} = 'sending' "
            f"WHERE {key} = ? AND {column} IN ('pending', 'sending', 'wanted')",
            (key_value,),
        )
        return changed == 1

    async def _finish(self, delivery_id: int, state: str, message_id: int | None = None) -> None:
        await self._db.execute(
            "UPDATE pairing_deliveries SET state = ?, message_id = ?, sent_at = ? "
            "WHERE delivery_id = ?",
            (state, message_id, to_db(self._clock.now()), delivery_id),
        )

    async def _deliver(self, port: PairingPort, round_row: sqlite3.Row, row: sqlite3.Row) -> None:
        async with self._in_flight:
            if not await self._claim(
                "pairing_deliveries", "delivery_id", row["delivery_id"], "state"
            ):
                return
            assignment = await self._db.fetchone(
                "SELECT * FROM pairing_assignments WHERE round_id = ? AND user_id = ?",
                (row["round_id"], row["user_id"]),
            )
            if assignment is None or assignment["left_guild"]:
                await self._finish(row["delivery_id"], "cancelled")
                return
            try:
                message_id = await self._send(port, round_row, row, assignment)
            except DmRefused:
                await self._refused(row, assignment)
            except DeliveryFailed as exc:
                log.warning("Pairing delivery %s undeliverable: %s", row["delivery_id"], exc)
                await self._finish(row["delivery_id"], "undelivered")
            else:
                await self._finish(row["delivery_id"], "sent", message_id)

    async def _send(
        self,
        port: PairingPort,
        round_row: sqlite3.Row,
        row: sqlite3.Row,
        assignment: sqlite3.Row,
    ) -> int:
        nonce = delivery_nonce(row["delivery_id"])
        user_id = row["user_id"]
        if row["kind"] == "intro":
            return await port.send_intro(
                await self._intro(
                    round_row, (user_id,), assignment["group_id"], assignment["outcome"], nonce
                )
            )
        partners = await self._members(assignment["group_id"], exclude=user_id)
        if row["kind"] == "checkin":
            return await port.send_checkin(
                CheckIn(round_row["round_id"], round_row["guild_id"], user_id, partners, nonce)
            )
        return await port.send_notice(
            Notice(
                round_id=round_row["round_id"],
                guild_id=round_row["guild_id"],
                user_id=user_id,
                kind=row["kind"],
                partner_ids=partners,
                departed_user_id=row["about_user_id"],
                nonce=nonce,
            )
        )

    async def _refused(self, row: sqlite3.Row, assignment: sqlite3.Row) -> None:
        """A closed DM: an intro to a group moves to the group's private thread."""
        if row["kind"] == "intro" and assignment["group_id"] is not None:
            async with self._db.transaction() as tx:
                await tx.execute(
                    "UPDATE pairing_deliveries SET state = 'refused' WHERE delivery_id = ?",
                    (row["delivery_id"],),
                )
                await tx.execute(
                    "UPDATE pairing_groups SET thread_state = 'wanted' "
                    "WHERE group_id = ? AND thread_state = 'none'",
                    (assignment["group_id"],),
                )
        else:
            await self._finish(row["delivery_id"], "undelivered")

    async def _members(self, group_id: int | None, *, exclude: int = 0) -> tuple[int, ...]:
        if group_id is None:
            return ()
        rows = await self._db.fetchall(
            "SELECT user_id FROM pairing_assignments "
            "WHERE group_id = ? AND left_guild = 0 AND user_id != ? ORDER BY user_id",
            (group_id, exclude),
        )
        return tuple(r["user_id"] for r in rows)

    async def _intro(
        self,
        round_row: sqlite3.Row,
        recipients: tuple[int, ...],
        group_id: int | None,
        outcome: str,
        nonce: str,
    ) -> Intro:
        topics: tuple[str, ...] = ()
        if group_id is not None:
            text = await self._db.fetchval(
                "SELECT shared_topics FROM pairing_groups WHERE group_id = ?", (group_id,)
            )
            topics = tuple(json.loads(text or "[]"))
        exclude = recipients[0] if len(recipients) == 1 else 0
        return Intro(
            round_id=round_row["round_id"],
            guild_id=round_row["guild_id"],
            user_ids=recipients,
            partner_ids=await self._members(group_id, exclude=exclude),
            outcome=outcome,
            shared_topics=topics,
            starter=round_row["starter"],
            nonce=nonce,
        )

    # -- round and group messages -------------------------------------------------------------

    async def _announce(self, port: PairingPort, round_row: sqlite3.Row) -> None:
        round_id = round_row["round_id"]
        if round_row["channel_id"] is None or round_row["announce_state"] not in (
            "pending",
            "sending",
        ):
            return
        if not await self._claim("pairing_rounds", "round_id", round_id, "announce_state"):
            return
        sizes = await self._db.fetchall(
            "SELECT size, COUNT(*) AS n FROM pairing_groups WHERE round_id = ? GROUP BY size",
            (round_id,),
        )
        by_size = {r["size"]: r["n"] for r in sizes}
        members = await self._db.fetchval(
            "SELECT COUNT(*) FROM pairing_assignments WHERE round_id = ?", (round_id,)
        )
        announcement = Announcement(
            round_id=round_id,
            guild_id=round_row["guild_id"],
            pairs=by_size.get(2, 0),
            trios=by_size.get(3, 0),
            members=members,
            checkin_at=from_db(round_row["checkin_at"]),
            nonce=announce_nonce(round_id),
        )
        state = "sent"
        try:
            await port.announce(round_row["channel_id"], announcement)
        except DeliveryFailed as exc:
            log.warning("Pairing round %s: announcement not posted: %s", round_id, exc)
            state = "failed"
        await self._db.execute(
            "UPDATE pairing_rounds SET announce_state = ? WHERE round_id = ?", (state, round_id)
        )

    async def _group_threads(self, port: PairingPort, round_row: sqlite3.Row) -> None:
        """Introduce groups with a refused DM in a private thread; else mark undelivered."""
        groups = await self._db.fetchall(
            "SELECT group_id FROM pairing_groups "
            "WHERE round_id = ? AND thread_state IN ('wanted', 'sending')",
            (round_row["round_id"],),
        )
        for group in groups:
            group_id = group["group_id"]
            if not await self._claim("pairing_groups", "group_id", group_id, "thread_state"):
                continue
            members = await self._members(group_id)
            intro = await self._intro(
                round_row, members, group_id, "paired", thread_nonce(group_id)
            )
            thread_id, state, delivered = None, "failed", "undelivered"
            if round_row["channel_id"] is not None:
                try:
                    thread_id = await port.send_group_thread(
                        round_row["channel_id"], group_id, intro
                    )
                    state, delivered = "sent", "thread"
                except DeliveryFailed as exc:
                    log.warning("Pairing group %s: private thread failed: %s", group_id, exc)
            async with self._db.transaction() as tx:
                await tx.execute(
                    "UPDATE pairing_groups SET thread_state = ?, thread_id = ? WHERE group_id = ?",
                    (state, thread_id, group_id),
                )
                await tx.execute(
                    "UPDATE pairing_deliveries SET state = ?, sent_at = ? WHERE round_id = ? "
                    "AND kind = 'intro' AND state = 'refused' AND user_id IN "
                    "(SELECT user_id FROM pairing_assignments WHERE group_id = ?)",
                    (delivered, to_db(self._clock.now()), round_row["round_id"], group_id),
                )
