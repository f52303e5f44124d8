"""One mechanism for every message Kindred sends, edits or opens (a thread) on Discord.

Features enqueue rows in their own transactions (`Outbox.enqueue`) and follow them through
their kind's hooks (`KindHooks`); the runner sends them exactly once (see `runner.py` for how);
`bot/edge/transport.py` is the Discord side, where cogs register how each kind looks.
Nothing in this package imports discord. The API is described in docs/outbox.md.
"""

from .model import (
    ALL_GUILDS,
    Failed,
    GuildScope,
    KindHooks,
    OnFailed,
    OnRefused,
    OnSent,
    OutboxRow,
    Outcome,
    Refused,
    Sent,
    StillWanted,
    Transient,
    Transport,
    nonce_for,
)
from .runner import NONCE_WINDOW, Outbox

__all__ = [
    "ALL_GUILDS",
    "NONCE_WINDOW",
    "Failed",
    "GuildScope",
    "KindHooks",
    "OnFailed",
    "OnRefused",
    "OnSent",
    "Outbox",
    "OutboxRow",
    "Outcome",
    "Refused",
    "Sent",
    "StillWanted",
    "Transient",
    "Transport",
    "nonce_for",
]
