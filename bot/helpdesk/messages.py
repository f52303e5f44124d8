"""The ledger's messages, through the outbox: one row per message about an ask, enqueued in the
transaction that decides it, and what their outcomes record on the ask.

Keys (`helpdesk.<kind>:<ask>[:<who or round>]`) make each message happen once:

* `post:<ask>`, `bump:<ask>`      in the help channel;
* `route:<ask>:<helper>`          a DM to a member who offered the topic;
* `help:<ask>:<helper>`           the asker learns who can help (an "I can help" press);
* `thanks:<ask>:<helper>`         the private thank-you on /resolve;
* `review:<ask>:<round>`          the Keep open / Close DM, once per review round.

* `thread:<ask>:<helper>`         the private thread of asker and helper (first message quotes
                                  the ask);
* `consent:<ask>:<helper>`        anonymous ask: the asker decides whether to open a thread;
* `solo:<ask>:<helper>`           ... or, their DMs closed, a thread with only them decides;
* `join:<ask>:<helper>`, `intro:<ask>:<helper>`  the helper added to that thread, and told;
* `contact:<ask>:<helper>:<who>`  no thread could be made: each is told who to contact;
* `closed:<ask>:<status>`, `closed_bump:<ask>:<status>`  the post and bump edited on closing.

Posts, routing DMs, bumps, reviews and the anonymous asker's choice are dropped if the ask
closed before they went out. The post's and the bump's message ids are kept on the ask, for
editing them when it closes (a post still in flight then is edited once it lands); a post,
bump or helper thread Discord refused is kept as the ask's `channel_problem` for `/admin show`.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.clock import Clock
from bot.db import Database, Transaction
from bot.outbox import Failed, KindHooks, Outbox, OutboxRow, Refused, Sent

from .models import WHILE_OPEN, Ask, MessageKind, Outgoing
from .store import ASK_COLUMNS, ASK_FROM, ask_from_row

#: Messages in the help channel: a refusal there is a problem for the admins to see.
CHANNEL_KINDS = frozenset({MessageKind.POST, MessageKind.BUMP})
#: Messages about one helper's offer: keyed by the helper.
_BY_HELPER = frozenset(
    {
        MessageKind.HELP,
        MessageKind.THREAD,
        MessageKind.CONSENT,
        MessageKind.SOLO,
        MessageKind.JOIN,
        MessageKind.INTRO,
    }
)


def message_key(message: Outgoing, round_: int = 0) -> str:
    """The message's dedupe key (see the module docstring)."""
    match message.kind:
        case MessageKind.ROUTE | MessageKind.THANKS:
            suffix = f":{message.recipient_user_id}"
        case kind if kind in _BY_HELPER:
            suffix = f":{message.helper_user_id}"
        case MessageKind.CONTACT:
            suffix = f":{message.helper_user_id}:{message.recipient_user_id}"
        case MessageKind.REVIEW:
            suffix = f":{round_}"
        case MessageKind.CLOSED | MessageKind.CLOSED_BUMP:
            suffix = f":{message.ask.status}"
        case _:
            suffix = ""
    return f"{message.kind.outbox_kind}:{message.ask.ask_id}{suffix}"


class LedgerMessages:
    """Enqueues the ledger's messages and follows their outcomes."""

    def __init__(self, db: Database, clock: Clock, outbox: Outbox) -> None:
        self._db = db
        self._clock = clock
        self._outbox = outbox
        on_sent = {
            MessageKind.POST: self._posted,
            MessageKind.BUMP: self._bumped,
            MessageKind.THREAD: self._thread_opened,
            MessageKind.SOLO: self._thread_opened,
        }
        on_failed = {
            MessageKind.POST: self._channel_problem,
            MessageKind.BUMP: self._channel_problem,
            MessageKind.THREAD: self._no_thread,
            MessageKind.SOLO: self._no_thread,
        }
        for kind in MessageKind:
            outbox.register(
                kind.outbox_kind,
                KindHooks(
                    still_wanted=self._ask_still_open if kind in WHILE_OPEN else None,
                    on_sent=on_sent.get(kind),
                    on_failed=on_failed.get(kind),
                    on_refused=self._consent_refused if kind is MessageKind.CONSENT else None,
                ),
            )

    async def enqueue(
        self,
        tx: Transaction,
        kind: MessageKind,
        ask: Ask,
        *,
        channel_id: int | None = None,
        recipient: int | None = None,
        helper: int | None = None,
        note: str = "",
        closer: int | None = None,
        round_: int = 0,
        thread_no: int = 0,
        edit_message_id: int | None = None,
    ) -> int | None:
        """Record a message in `tx`; its outbox id, or None when it was decided before."""
        message = Outgoing(kind, ask, channel_id, recipient, helper, note, closer, thread_no)
        return await self._outbox.enqueue(
            tx,
            key=message_key(message, round_),
            kind=kind.outbox_kind,
            guild_id=ask.guild_id,
            channel_id=channel_id,
            user_id=recipient,
            edit_message_id=edit_message_id,
            payload=message.payload(),
        )

    async def send_now(self, ids: Iterable[int | None]) -> None:
        """Send these messages before the command answers (None: nothing was enqueued)."""
        await self._outbox.send_now([i for i in ids if i is not None])

    def wake(self) -> None:
        """Tell the outbox runner that rows were enqueued, once their transaction committed."""
        self._outbox.wake()

    async def enqueue_closed(self, tx: Transaction, ask_id: int) -> None:
        """The ask just closed: edit its post and bump (those Discord has) to say so."""
        row = await tx.fetchone(
            f"SELECT {ASK_COLUMNS}, a.post_channel_id, a.post_message_id, a.bump_channel_id, "
            f"a.bump_message_id FROM {ASK_FROM} WHERE a.ask_id = ?",
            (ask_id,),
        )
        if row is None:
            return
        ask = ask_from_row(row)
        for kind, prefix in ((MessageKind.CLOSED, "post"), (MessageKind.CLOSED_BUMP, "bump")):
            if row[f"{prefix}_message_id"] is not None:
                await self.enqueue(
                    tx,
                    kind,
                    ask,
                    channel_id=row[f"{prefix}_channel_id"],
                    edit_message_id=row[f"{prefix}_message_id"],
                )

    # -- outcomes ----------------------------------------------------------------------------

    async def _ask_still_open(self, row: OutboxRow) -> bool:
        status = await self._db.fetchval(
            "SELECT status FROM helpdesk_asks WHERE ask_id = ?", (row.payload["ask"]["ask_id"],)
        )
        return status == "open"

    async def _posted(self, tx: Transaction, row: OutboxRow, sent: Sent) -> None:
        await self._landed(tx, row, sent, "post")

    async def _bumped(self, tx: Transaction, row: OutboxRow, sent: Sent) -> None:
        await self._landed(tx, row, sent, "bump")

    async def _landed(self, tx: Transaction, row: OutboxRow, sent: Sent, what: str) -> None:
        """Remember where the post (or bump) is; if the ask closed while it was on its way,
        edit it at once (closing found no message to edit)."""
        ask_id = row.payload["ask"]["ask_id"]
        status = await tx.fetchval(
            f"UPDATE helpdesk_asks SET {what}_message_id = ?, {what}_channel_id = ? "
            "WHERE ask_id = ? RETURNING status",
            (sent.message_id, sent.channel_id or row.channel_id, ask_id),
        )
        if status is not None and status != "open":
            await self.enqueue_closed(tx, ask_id)

    async def _channel_problem(self, tx: Transaction, row: OutboxRow, failed: Failed) -> None:
        verb = "bumped" if row.kind == MessageKind.BUMP.outbox_kind else "posted"
        await self._problem(tx, row, f"could not be {verb} in the help channel: {failed.reason}")

    async def _problem(self, tx: Transaction, row: OutboxRow, problem: str) -> None:
        await tx.execute(
            "UPDATE helpdesk_asks SET channel_problem = ? WHERE ask_id = ?",
            (problem, row.payload["ask"]["ask_id"]),
        )

    async def _thread_opened(self, tx: Transaction, row: OutboxRow, sent: Sent) -> None:
        message = Outgoing.from_payload(row.payload)
        await tx.execute(
            "UPDATE helpdesk_helpers SET thread_id = ?, thread_state = CASE "
            "WHEN thread_state = 'opening' THEN 'open' ELSE thread_state END "
            "WHERE ask_id = ? AND helper_user_id = ?",
            (sent.thread_id, message.ask.ask_id, message.helper_user_id),
        )

    async def _no_thread(self, tx: Transaction, row: OutboxRow, failed: Failed) -> None:
        """No private thread: recorded for `/admin show`; asker and helper are told by DM
        who to contact (for an anonymous ask only once the asker chose to open one)."""
        message = Outgoing.from_payload(row.payload)
        await tx.execute(
            "UPDATE helpdesk_helpers SET thread_state = 'failed', thread_problem = ? "
            "WHERE ask_id = ? AND helper_user_id = ?",
            (failed.reason, message.ask.ask_id, message.helper_user_id),
        )
        await self._problem(tx, row, f"could not get a private helper thread: {failed.reason}")
        if message.kind is MessageKind.THREAD:
            await self.enqueue_contacts(tx, message.ask, message.helper_user_id or 0)

    async def enqueue_contacts(self, tx: Transaction, ask: Ask, helper: int) -> None:
        """Tell asker and helper by DM who to contact, when no thread can hold them."""
        for recipient in (ask.user_id, helper):
            await self.enqueue(tx, MessageKind.CONTACT, ask, recipient=recipient, helper=helper)

    async def _consent_refused(self, tx: Transaction, row: OutboxRow, refused: Refused) -> None:
        """The anonymous asker's DMs are closed: a private thread with only them asks instead."""
        message = Outgoing.from_payload(row.payload)
        channel_id = await tx.fetchval(
            "SELECT channel_id FROM helpdesk_guilds WHERE guild_id = ?", (row.guild_id,)
        )
        if channel_id is None:
            await tx.execute(
                "UPDATE helpdesk_helpers SET thread_state = 'failed', thread_problem = ? "
                "WHERE ask_id = ? AND helper_user_id = ?",
                (
                    "the asker's DMs are closed and there is no help channel",
                    message.ask.ask_id,
                    message.helper_user_id,
                ),
            )
            return
        await self.enqueue(
            tx,
            MessageKind.SOLO,
            message.ask,
            channel_id=channel_id,
            helper=message.helper_user_id,
            thread_no=message.thread_no,
        )
