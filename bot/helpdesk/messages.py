"""The ledger's messages, through the outbox: one row per message about an ask, enqueued in the
transaction that decides it, and what their outcomes record on the ask.

Keys (`helpdesk.<kind>:<ask>[:<who or round>]`) make each message happen once:

* `post:<ask>`, `bump:<ask>`      in the help channel;
* `route:<ask>:<helper>`          a DM to a member who offered the topic;
* `help:<ask>:<helper>`           the asker learns who can help (an "I can help" press);
* `thanks:<ask>:<helper>`         the private thank-you on /resolve;
* `review:<ask>:<round>`          the Keep open / Close DM, once per review round.

Posts, routing DMs, bumps and reviews are dropped if the ask closed before they went out. The
post's message id is kept on the ask (`post_message_id`, for editing it when the ask closes);
a post or bump Discord refused is kept as the ask's `channel_problem` for `/admin show`.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.clock import Clock
from bot.db import Database, Transaction
from bot.outbox import Failed, KindHooks, Outbox, OutboxRow, Sent

from .models import WHILE_OPEN, Ask, MessageKind, Outgoing

#: Messages in the help channel: a refusal there is a problem for the admins to see.
CHANNEL_KINDS = frozenset({MessageKind.POST, MessageKind.BUMP})


def message_key(message: Outgoing, round_: int = 0) -> str:
    """The message's dedupe key (see the module docstring)."""
    match message.kind:
        case MessageKind.ROUTE | MessageKind.THANKS:
            suffix = f":{message.recipient_user_id}"
        case MessageKind.HELP:
            suffix = f":{message.helper_user_id}"
        case MessageKind.REVIEW:
            suffix = f":{round_}"
        case _:
            suffix = ""
    return f"{message.kind.outbox_kind}:{message.ask.ask_id}{suffix}"


class LedgerMessages:
    """Enqueues the ledger's messages and follows their outcomes."""

    def __init__(self, db: Database, clock: Clock, outbox: Outbox) -> None:
        self._db = db
        self._clock = clock
        self._outbox = outbox
        for kind in MessageKind:
            outbox.register(
                kind.outbox_kind,
                KindHooks(
                    still_wanted=self._ask_still_open if kind in WHILE_OPEN else None,
                    on_sent=self._posted if kind is MessageKind.POST else None,
                    on_failed=self._channel_problem if kind in CHANNEL_KINDS else None,
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
    ) -> int | None:
        """Record a message in `tx`; its outbox id, or None when it was decided before."""
        message = Outgoing(kind, ask, channel_id, recipient, helper, note, closer)
        return await self._outbox.enqueue(
            tx,
            key=message_key(message, round_),
            kind=kind.outbox_kind,
            guild_id=ask.guild_id,
            channel_id=channel_id,
            user_id=recipient,
            payload=message.payload(),
        )

    async def send_now(self, ids: Iterable[int | None]) -> None:
        """Send these messages before the command answers (None: nothing was enqueued)."""
        await self._outbox.send_now([i for i in ids if i is not None])

    def wake(self) -> None:
        """Tell the outbox runner that rows were enqueued, once their transaction committed."""
        self._outbox.wake()

    # -- outcomes ----------------------------------------------------------------------------

    async def _ask_still_open(self, row: OutboxRow) -> bool:
        status = await self._db.fetchval(
            "SELECT status FROM helpdesk_asks WHERE ask_id = ?", (row.payload["ask"]["ask_id"],)
        )
        return status == "open"

    async def _posted(self, tx: Transaction, row: OutboxRow, sent: Sent) -> None:
        await tx.execute(
            "UPDATE helpdesk_asks SET post_message_id = ? WHERE ask_id = ?",
            (sent.message_id, row.payload["ask"]["ask_id"]),
        )

    async def _channel_problem(self, tx: Transaction, row: OutboxRow, failed: Failed) -> None:
        verb = "bumped" if row.kind == MessageKind.BUMP.outbox_kind else "posted"
        problem = f"could not be {verb} in the help channel: {failed.reason}"
        await tx.execute(
            "UPDATE helpdesk_asks SET channel_problem = ? WHERE ask_id = ?",
            (problem, row.payload["ask"]["ask_id"]),
        )
