"""Who is in the guild, asked of Discord for the pairing pool (Kindred caches no members)."""

from __future__ import annotations

import discord

from bot.pairing.models import DiscordUnavailable

from .._members import MembersUnavailable, find_members


class DiscordPresence:
    """Implements `bot.pairing.models.Presence` with the guild's member lookup."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def present(self, guild_id: int, user_ids: set[int], role_id: int | None) -> set[int]:
        guild = self._client.get_guild(guild_id)
        if guild is None:
            raise DiscordUnavailable(f"guild {guild_id} is not available (yet)")
        try:
            members = await find_members(guild, user_ids)
        except MembersUnavailable as exc:
            raise DiscordUnavailable(str(exc)) from exc
        return {
            user_id
            for user_id, member in members.items()
            if role_id is None or member.get_role(role_id) is not None
        }
