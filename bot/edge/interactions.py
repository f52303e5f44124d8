"""Replies shared by every command: ephemeral answers and the one way errors are shown.

The command tree (below) and every view route their errors through `render_error`, so a member
always gets an ephemeral sentence, never a traceback, whether or not the interaction was answered.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import discord
from discord import app_commands

from bot.errors import UserError

log = logging.getLogger("kindred.errors")


async def reply(
    interaction: discord.Interaction, content: str | None = None, **kwargs: Any
) -> None:
    """Answer ephemerally (unless told otherwise), as a response or a follow-up as needed."""
    kwargs.setdefault("ephemeral", True)
    kwargs.setdefault("allowed_mentions", discord.AllowedMentions.none())
    if interaction.response.is_done():
        await interaction.followup.send(content or discord.utils.MISSING, **kwargs)
    else:
        await interaction.response.send_message(content, **kwargs)


def user_message(error: BaseException) -> str | None:
    """The member-facing text for an error the member can act on, or None if it is a bug."""
    if isinstance(error, app_commands.TransformerError):
        if isinstance(error.__cause__, UserError):
            return str(error.__cause__)
        return f"`{str(error.value)[:80]}` is not a valid {error.type.name} here."
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works inside a server, not in direct messages."
    if isinstance(error, app_commands.MissingPermissions):
        return "Only members with the **Manage Server** permission can use this command."
    if isinstance(error, app_commands.BotMissingPermissions):
        needed = ", ".join(p.replace("_", " ") for p in error.missing_permissions)
        return f"I am missing a permission here: {needed}. Ask an admin to grant it."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} seconds."
    if isinstance(error, app_commands.CommandSignatureMismatch | app_commands.CommandNotFound):
        return "This command was just updated. Please try again in a minute."
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use this command here."
    return None


async def render_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Show `error` to the member ephemerally; log unexpected ones with a code they can quote."""
    message = user_message(error)
    if message is None:
        code = secrets.token_hex(3).upper()
        cause = getattr(error, "original", error)
        log.error(
            "Error %s in %s (user %s, guild %s)",
            code,
            describe(interaction),
            interaction.user.id if interaction.user else None,
            interaction.guild_id,
            exc_info=(type(cause), cause, cause.__traceback__),
        )
        message = f"Something went wrong (error code {code}). It has been logged; please try again."
    try:
        await reply(interaction, message)
    except discord.HTTPException as exc:
        log.warning("Could not show an error to the member in %s: %s", describe(interaction), exc)


def describe(interaction: discord.Interaction) -> str:
    """A short name for log lines: the command path or the component id."""
    if interaction.command is not None:
        return f"/{interaction.command.qualified_name}"
    custom_id = (interaction.data or {}).get("custom_id")
    return f"component {custom_id}" if custom_id else f"interaction type {interaction.type}"


class KindredTree(app_commands.CommandTree):
    """The command tree: every app-command error ends as an ephemeral message."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Turn any app-command error into an ephemeral reply; no traceback reaches a user."""
        await render_error(interaction, error)
