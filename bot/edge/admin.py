"""The one permission gate for `/admin`.

`default_member_permissions` only hides `/admin` by default and a server can override it, so
every subcommand re-checks Manage Server when it runs. discord.py runs the *direct* parent
group's `interaction_check` (not the top-level group's), so every group under `/admin` is an
`AdminGroup` and the admin cog's own commands use the same check.
"""

from __future__ import annotations

import discord
from discord import app_commands


def has_manage_guild(interaction: discord.Interaction) -> bool:
    """Whether the member may manage this server (Manage Server or Administrator), for
    commands that show admins more (e.g. another member's request ids)."""
    permissions = interaction.permissions
    return permissions.manage_guild or permissions.administrator


def require_manage_guild(interaction: discord.Interaction) -> bool:
    """Allow members with Manage Server (or Administrator) in this guild; refuse everyone else."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    if not has_manage_guild(interaction):
        raise app_commands.MissingPermissions(["manage_guild"])
    return True


class AdminGroup(app_commands.Group):
    """A subgroup of `/admin` (e.g. `/admin prompts`); Kindred mounts it under `/admin`."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Let only members with Manage Server run the group's commands."""
        return require_manage_guild(interaction)
