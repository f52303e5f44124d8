"""Opening a member's DM channel by id."""

from __future__ import annotations

import discord


async def dm_channel(client: discord.Client, user_id: int) -> discord.DMChannel:
    """The DM channel with `user_id`: reused if discord.py knows it, else opened (one request).

    Kindred keeps no member cache, so going through a `User` would first cost a `fetch_user`
    request per DM; a DM channel needs only the id.
    """
    return await client.create_dm(discord.Object(id=user_id))
