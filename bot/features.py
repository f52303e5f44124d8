"""What each feature reports about itself, for `/about` and `/admin show`.

Every feature service implements `Feature.status`; the overview commands just render the list,
so adding a feature never means editing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from .privacy.rules import TableRules


@dataclass(frozen=True, slots=True)
class FeatureStatus:
    """One feature's state in a guild, as `/about` and `/admin show` list it."""

    name: str  # e.g. "Daily prompts"
    enabled: bool
    channel_id: int | None = None
    role_id: int | None = None
    next_at: datetime | None = None
    summary: str = ""  # how it is set up, e.g. "weekdays at 08:00"
    member_status: str = ""  # the asking member's own status, if any
    problems: list[str] = field(default_factory=list)  # recorded failures, for admins


class Feature(Protocol):
    """What every feature service offers the overview commands, the timezone change and
    privacy (each feature declares how /privacy treats its own tables)."""

    @property
    def name(self) -> str:
        """The feature's name as members read it, e.g. "Daily prompts"."""
        ...

    @property
    def privacy_rules(self) -> TableRules:
        """How /privacy treats this feature's tables (those without a rule: delete the rows)."""
        ...

    async def status(self, guild_id: int, user_id: int | None) -> FeatureStatus:
        """This feature's state in a guild, and `user_id`'s own status when given."""
        ...

    async def reschedule(self, guild_id: int) -> None:
        """Recompute this feature's jobs after a guild-wide change such as the timezone."""
        ...
