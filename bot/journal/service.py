"""Journal entries: a member's private reflection on one daily post.

Only the member reads an entry (every read here takes the member's id); no admin command shows
texts and the export counts them only. "Share to thread" posts the text once in the prompt's
thread under the member's name: `shared_at` is set in the transaction that enqueues the
message (`journal.share:<entry id>:<shared_at>`), so a second press is refused and a retry
cannot post twice. A share Discord refuses for good (the thread was deleted) is undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.clock import Clock
from bot.db import Database, Row, Transaction
from bot.errors import UserError
from bot.guilds import ensure_guild_row
from bot.outbox import Failed, KindHooks, Outbox, OutboxRow
from bot.timeutil import maybe_from_db, to_db

MAX_ENTRY_LENGTH = 2000
SHARE_KIND = "journal.share"


def share_key(entry_id: int, shared_at: str) -> str:
    """The outbox key of sharing an entry (decided at `shared_at`, as stored): one message per
    decision; a share Discord refused for good is undone, and a new one is a new decision."""
    return f"{SHARE_KIND}:{entry_id}:{shared_at.replace(' ', 'T')}"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One reflection, with the prompt it answers (a snapshot of the post's text)."""

    id: int
    post_id: int
    prompt_text: str
    local_date: date
    text: str
    updated_at: datetime
    shared_at: datetime | None


@dataclass(frozen=True, slots=True)
class JournalPage:
    """One entry of a member's journal (newest first) and where it is in the list."""

    entry: JournalEntry | None  # None: the journal is empty
    index: int
    count: int


@dataclass(frozen=True, slots=True)
class Shared:
    """A share that was decided: the thread it goes to and its outbox row."""

    thread_id: int
    outbox_id: int


@dataclass(frozen=True, slots=True)
class ShareMessage:
    """What the thread shows: the member's text under their name (mentions disabled)."""

    entry_id: int
    user_id: int
    author_name: str
    text: str

    def payload(self) -> dict[str, object]:
        """The outbox payload (everything the renderer needs)."""
        return {
            "entry_id": self.entry_id,
            "user_id": self.user_id,
            "author_name": self.author_name,
            "text": self.text,
        }

    @classmethod
    def from_row(cls, row: OutboxRow) -> ShareMessage:
        """The message an outbox row carries."""
        p = row.payload
        return cls(p["entry_id"], p["user_id"], p["author_name"], p["text"])


_ENTRY_SQL = (
    "SELECT j.id, j.post_id, j.text, j.updated_at, j.shared_at, p.prompt_text, p.local_date "
    "FROM journal_entries j JOIN prompt_posts p ON p.id = j.post_id "
    "WHERE j.guild_id = ? AND j.user_id = ?"
)


def _entry(row: Row) -> JournalEntry:
    shared_at = maybe_from_db(row["shared_at"])
    updated_at = maybe_from_db(row["updated_at"])
    assert updated_at is not None
    return JournalEntry(
        row["id"],
        row["post_id"],
        row["prompt_text"] or "",
        date.fromisoformat(row["local_date"]),
        row["text"],
        updated_at,
        shared_at,
    )


class Journal:
    """Saving, reading, sharing and deleting a member's own entries."""

    def __init__(self, db: Database, clock: Clock, outbox: Outbox) -> None:
        self._db = db
        self._clock = clock
        self._outbox = outbox
        outbox.register(SHARE_KIND, KindHooks(on_failed=self._share_failed))

    async def prompt_of(self, guild_id: int, post_id: int) -> str:
        """The text of a daily post of this guild that is out (or going out: a press can beat
        the outbox's 'sent' mark), which the form shows as its placeholder."""
        text = await self._db.fetchval(
            "SELECT prompt_text FROM prompt_posts WHERE guild_id = ? AND id = ? "
            "AND status IN ('claimed', 'sent')",
            (guild_id, post_id),
        )
        if text is None:
            raise UserError("That prompt is not one of this server's posts any more.")
        return text

    async def draft(self, guild_id: int, user_id: int, post_id: int) -> str:
        """The member's entry for this post so far ('' if none): saving again edits it."""
        text = await self._db.fetchval(
            "SELECT text FROM journal_entries WHERE guild_id = ? AND user_id = ? AND post_id = ?",
            (guild_id, user_id, post_id),
        )
        return text or ""

    async def save(self, guild_id: int, user_id: int, post_id: int, text: str) -> bool:
        """Store (or replace) the member's entry for this post; True when it is new."""
        text = text.strip()
        if not text:
            raise UserError("The reflection is empty; write something to save it.")
        if len(text) > MAX_ENTRY_LENGTH:
            raise UserError(
                f"The reflection is {len(text)} characters; keep it to {MAX_ENTRY_LENGTH}."
            )
        await self.prompt_of(guild_id, post_id)
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            await ensure_guild_row(tx, guild_id, self._clock.now())
            existed = await tx.fetchval(
                "SELECT id FROM journal_entries WHERE guild_id = ? AND user_id = ? AND post_id = ?",
                (guild_id, user_id, post_id),
            )
            await tx.execute(
                "INSERT INTO journal_entries "
                "(guild_id, user_id, post_id, text, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id, post_id) "
                "DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
                (guild_id, user_id, post_id, text, now, now),
            )
        return existed is None

    async def page(self, guild_id: int, user_id: int, index: int) -> JournalPage:
        """Entry number `index` of the member's journal, newest first (clamped to the list)."""
        count = await self._db.fetchval(
            "SELECT COUNT(*) FROM journal_entries WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        if not count:
            return JournalPage(None, 0, 0)
        index = max(0, min(index, count - 1))
        row = await self._db.fetchone(
            _ENTRY_SQL + " ORDER BY p.local_date DESC, j.id DESC LIMIT 1 OFFSET ?",
            (guild_id, user_id, index),
        )
        return JournalPage(None if row is None else _entry(row), index, count)

    async def entry(self, guild_id: int, user_id: int, entry_id: int) -> JournalEntry:
        """One of the member's own entries; someone else's id is "not found", like a gone one."""
        row = await self._db.fetchone(_ENTRY_SQL + " AND j.id = ?", (guild_id, user_id, entry_id))
        if row is None:
            raise UserError("That journal entry is gone (deleted, or not yours).")
        return _entry(row)

    async def share(self, guild_id: int, user_id: int, entry_id: int, author_name: str) -> Shared:
        """Post the entry once in its prompt's thread, under the member's name."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT j.text, j.shared_at, p.thread_id FROM journal_entries j "
                "JOIN prompt_posts p ON p.id = j.post_id "
                "WHERE j.guild_id = ? AND j.user_id = ? AND j.id = ?",
                (guild_id, user_id, entry_id),
            )
            if row is None:
                raise UserError("That journal entry is gone (deleted, or not yours).")
            if row["shared_at"] is not None:
                raise UserError("You shared this reflection already; it is in the thread.")
            if row["thread_id"] is None:
                raise UserError("That prompt has no thread to share in.")
            shared_at = to_db(self._clock.now())
            await tx.execute(
                "UPDATE journal_entries SET shared_at = ? WHERE id = ?", (shared_at, entry_id)
            )
            message = ShareMessage(entry_id, user_id, author_name, row["text"])
            outbox_id = await self._outbox.enqueue(
                tx,
                key=share_key(entry_id, shared_at),
                kind=SHARE_KIND,
                guild_id=guild_id,
                channel_id=row["thread_id"],
                payload=message.payload(),
            )
        assert outbox_id is not None  # shared_at guards the key
        self._outbox.wake()
        return Shared(row["thread_id"], outbox_id)

    async def _share_failed(self, tx: Transaction, row: OutboxRow, failed: Failed) -> None:
        """Discord refused the share for good (the thread is gone, say): the entry is not shared,
        so its author may try again."""
        await tx.execute(
            "UPDATE journal_entries SET shared_at = NULL WHERE id = ?", (row.payload["entry_id"],)
        )

    async def delete(self, guild_id: int, user_id: int, entry_id: int) -> None:
        """Delete one of the member's own entries."""
        deleted = await self._db.execute(
            "DELETE FROM journal_entries WHERE guild_id = ? AND user_id = ? AND id = ?",
            (guild_id, user_id, entry_id),
        )
        if not deleted:
            raise UserError("That journal entry is gone (deleted, or not yours).")
