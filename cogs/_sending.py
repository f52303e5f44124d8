"""Sending to Discord: DM channels by member id, and which refusals are final.

Every feature records its messages before sending and retries what did not go out; these two
rules keep that retrying the same everywhere.
"""

from __future__ import annotations

import discord

TOO_MANY_REQUESTS = 429
CANNOT_DM = 50007  # Discord's code when a member does not accept DMs from the bot


async def dm_channel(client: discord.Client, user_id: int) -> discord.DMChannel:
    """The DM channel with `user_id`: reused if discord.py knows it, else opened (one request).

    Kindred keeps no member cache, so going through a `User` would first cost a `fetch_user`
    request per DM; a DM channel needs only the id.
    """
    return await client.create_dm(discord.Object(id=user_id))


def is_final_refusal(exc: discord.HTTPException) -> bool:
    """A 4xx (DMs closed, missing permission, channel gone) fails the same way again: record it.

    A 5xx, or a 429 that outlasted discord.py's own retries under a busy rate limit, is passing:
    the message stays claimed and is sent again later with the same nonce.
    """
    return 400 <= exc.status < 500 and exc.status != TOO_MANY_REQUESTS


def refusal_reason(exc: discord.HTTPException) -> str:
    """A refused DM or message in words an admin can act on."""
    reason = "DMs are closed" if exc.code == CANNOT_DM else f"Discord error {exc.code}"
    return f"{reason}: {exc.text or exc.status}"
