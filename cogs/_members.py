"""Which of some member ids are in a guild, asked of Discord: Kindred caches no members.

Two ways to ask, chosen by request count:
* gateway op 8 (`Guild.query_members(user_ids=...)`): 100 ids per request;
* REST `GET /guilds/{id}/members` (`Guild.fetch_members`): the whole guild, 1,000 per page.

A tie goes to REST: member requests on the gateway share one budget of ~120 frames a minute per
shard (heartbeats included) across every guild, while REST has per-guild buckets under the
global 50 requests a second. So a 50-member guild with 50 pool members costs one REST page, a
100,000-member guild with a pool of 300 costs three gateway requests instead of 100 pages.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import discord

QUERY_BATCH = 100  # discord.py (and Discord) accept at most 100 user ids per request
PAGE_SIZE = 1000  # members per REST page


class MembersUnavailable(Exception):
    """Discord could not say who is in the guild now (error or timeout); ask again later."""


def use_rest(wanted: int, member_count: int | None) -> bool:
    """True when paging the whole guild takes no more requests than querying the ids."""
    if member_count is None:
        return False
    return math.ceil(member_count / PAGE_SIZE) <= math.ceil(wanted / QUERY_BATCH)


async def find_members(
    guild: discord.Guild, user_ids: Collection[int]
) -> dict[int, discord.Member]:
    """Those of `user_ids` who are members of `guild` now, by id.

    Raises MembersUnavailable when Discord cannot answer: an incomplete answer would look like
    members left, so callers must not act on a partial result.
    """
    wanted = set(user_ids)
    if not wanted:
        return {}
    try:
        if use_rest(len(wanted), guild.member_count):
            return {m.id: m async for m in guild.fetch_members(limit=None) if m.id in wanted}
        ids = sorted(wanted)
        found: dict[int, discord.Member] = {}
        for start in range(0, len(ids), QUERY_BATCH):
            batch = ids[start : start + QUERY_BATCH]
            members = await guild.query_members(user_ids=batch, limit=len(batch), cache=False)
            found.update((m.id, m) for m in members)
        return found
    except (discord.HTTPException, TimeoutError, RuntimeError) as exc:
        # RuntimeError: discord.py has no gateway connection for the guild (reconnecting).
        raise MembersUnavailable(f"members of guild {guild.id}: {exc!r}") from exc
