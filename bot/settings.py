"""Kindred's settings, read once from the environment and validated up front.

A bot that runs for months unattended should refuse to start with a bad setting rather than fail
at 3 a.m. on the first database write, so every check happens here and every failure is one line
that names the setting and says how to fix it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///data/kindred.db"
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class SettingsError(Exception):
    """A setting is missing or malformed; the message is shown to the operator as one line."""


@dataclass(frozen=True, slots=True)
class Settings:
    token: str
    database_path: Path
    log_level: int
    dev_guild_id: int | None

    def __repr__(self) -> str:
        # Never let the token reach a log line or a traceback through repr().
        return (
            f"Settings(token=<hidden>, database_path={self.database_path!s}, "
            f"log_level={logging.getLevelName(self.log_level)}, dev_guild_id={self.dev_guild_id})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Build settings from environment variables, raising SettingsError on the first problem."""
        return cls(
            token=_token(env.get("DISCORD_TOKEN", "")),
            database_path=database_path_from_url(
                env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
            ),
            log_level=_log_level(env.get("LOG_LEVEL", "").strip() or "INFO"),
            dev_guild_id=_dev_guild_id(env.get("DEV_GUILD_ID", "").strip()),
        )


def _token(raw: str) -> str:
    token = raw.strip()
    if not token:
        raise SettingsError(
            "DISCORD_TOKEN is not set: copy .env.example to .env and paste your bot's token "
            "from the Discord Developer Portal (Bot → Reset Token)."
        )
    if any(ch.isspace() for ch in token):
        raise SettingsError("DISCORD_TOKEN contains spaces: paste the token exactly as shown.")
    return token


def database_path_from_url(url: str) -> Path:
    """Turn `sqlite:///relative/path.db` or `sqlite:////absolute/path.db` into a path."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise SettingsError(
            f"DATABASE_URL {url!r} is not a SQLite URL: use sqlite:///data/kindred.db "
            "(relative) or sqlite:////var/lib/kindred/kindred.db (absolute)."
        )
    path = Path(url[len(prefix) :])
    if path.name in ("", ".", "..") or url.endswith("/"):
        raise SettingsError(f"DATABASE_URL {url!r} names a folder, not a database file.")
    return path


def _log_level(raw: str) -> int:
    name = raw.upper()
    if name not in LOG_LEVELS:
        raise SettingsError(
            f"LOG_LEVEL {raw!r} is not a log level: use one of {', '.join(LOG_LEVELS)}."
        )
    return logging.getLevelName(name)


def _dev_guild_id(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or not 15 <= len(raw) <= 21:
        raise SettingsError(
            f"DEV_GUILD_ID {raw!r} is not a server id: enable Developer Mode in Discord, "
            "right-click your server and Copy Server ID, or leave it empty."
        )
    return int(raw)
