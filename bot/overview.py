"""The whole configuration of a guild at a glance, for `/admin show`.

It is assembled from what each feature reports (`Feature.status`), so a new feature appears here
without editing this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .features import Feature, FeatureStatus
from .guilds import GuildService


@dataclass(frozen=True, slots=True)
class GuildOverview:
    """A guild's whole setup for `/admin show`: its timezone and each feature's status."""

    timezone: str
    features: list[FeatureStatus]

    @property
    def problems(self) -> list[str]:
        """Every recorded failure, prefixed with its feature's name."""
        return [f"{s.name}: {p}" for s in self.features for p in s.problems]


async def guild_overview(
    guilds: GuildService, features: Iterable[Feature], guild_id: int
) -> GuildOverview:
    """Gather the guild's timezone and every feature's status for `/admin show`."""
    zone = await guilds.timezone(guild_id)
    return GuildOverview(zone.key, [await f.status(guild_id, None) for f in features])
