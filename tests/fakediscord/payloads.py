"""Pure helpers shared by the fake: snowflakes, timestamps and permission bits.

Kept free of server state so the payload rules (what discord.py's parsers need) live in one
small place and can be unit-tested without a network.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time

DISCORD_EPOCH_MS = 1420070400000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

#: What a fresh guild's @everyone role may do.
DEFAULT_EVERYONE = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | SEND_MESSAGES_IN_THREADS
)

#: What the bot's managed role grants (what Kindred's invite link asks for).
DEFAULT_BOT = DEFAULT_EVERYONE | MANAGE_THREADS | MANAGE_MESSAGES

_counter = itertools.count()
_lock = threading.Lock()
_last = 0


def snowflake_on_shard(shard_id: int, shard_count: int, at: float | None = None) -> int:
    """A unique snowflake (a guild id) that Discord routes to `shard_id` of `shard_count`.

    The shard is `(id >> 22) % shard_count`, the id's millisecond modulo the count, so the
    timestamp is moved back by less than `shard_count` milliseconds to land on the wanted shard
    (the low bits still come from the process-wide counter, so ids stay unique).
    """
    now_ms = int((time.time() if at is None else at) * 1000) - DISCORD_EPOCH_MS
    ms = now_ms - (now_ms - shard_id) % shard_count
    with _lock:
        return (ms << 22) | (next(_counter) & 0xFFF)


def snowflake(at: float | None = None) -> int:
    """A unique snowflake for *now* (or ``at``), strictly increasing within the process.

    discord.py derives an interaction's expiry from its id, so ids must encode the current time.
    """
    global _last
    ms = int((time.time() if at is None else at) * 1000) - DISCORD_EPOCH_MS
    with _lock:
        value = (ms << 22) | (next(_counter) & 0xFFF)
        if value <= _last:
            value = _last + 1
        _last = value
        return value


def iso(when: dt.datetime | None = None) -> str:
    """ISO-8601 UTC timestamp as Discord formats them."""
    when = when or dt.datetime.now(dt.UTC)
    return when.isoformat()


def user_payload(user_id: int, username: str, *, bot: bool = False) -> dict:
    """A full user object (discord.py needs id, username, discriminator, avatar)."""
    return {
        "id": str(user_id),
        "username": username,
        "global_name": username,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
        "flags": 0,
    }


def error_body(code: int, message: str) -> dict:
    """Discord's JSON error body."""
    return {"code": code, "message": message}
