"""What the pairing modules share: job names and keys, the round seed, the guild row."""

from __future__ import annotations

import hashlib
from datetime import timedelta

ROUND_JOB = "pairing.round"
CHECKIN_JOB = "pairing.checkin"
# A round missed while the bot was down still runs if it is less than this late; later than
# that, members would get an intro days after the announced time, so the slot is skipped.
ROUND_CATCH_UP = timedelta(hours=24)
# Longer than any gap between two slots (monthly: five weeks at most).
SLOT_LOOKBACK = timedelta(days=40)
# Without a schedule (run-now only), the check-in comes halfway through a week.
UNSCHEDULED_ROUND_LENGTH = timedelta(days=7)
MAX_PAUSE_WEEKS = 12
MAX_PAUSE_UNTIL = timedelta(days=365)  # `/pair pause until` a date within a year


def round_job_key(guild_id: int) -> str:
    """The scheduler key of a guild's next-round job (one per guild)."""
    return f"{ROUND_JOB}:{guild_id}"


def checkin_job_key(round_id: int) -> str:
    """The scheduler key of a round's mid-round check-in job (one per round)."""
    return f"{CHECKIN_JOB}:{round_id}"


def round_seed(guild_id: int, key: str) -> int:
    """Deterministic per round, different between rounds (the engine's tie-breaking)."""
    digest = hashlib.sha256(f"{guild_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


# Said when Discord could not tell who is in the guild (see Presence.present).
UNAVAILABLE = (
    "I could not check this server's members with Discord just now. Please try again in a minute."
)
