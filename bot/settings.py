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
from urllib.parse import parse_qs, urlsplit

from .db.config import POSTGRES_SCHEMES, DatabaseConfig, PostgresConfig, SqliteConfig, redact
from .shards import MAX_SHARDS, SINGLE_PROCESS, ShardPlan, ShardSpecError, parse_shard_ids

DEFAULT_DATABASE_URL = "sqlite:///data/kindred.db"
DEFAULT_RATE_LIMIT = 50.0  # Discord's global limit for most bots, requests per second
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class SettingsError(Exception):
    """A setting is missing or malformed; the message is shown to the operator as one line."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The validated settings the bot runs with (token, database, log level, rate limit)."""

    token: str
    database: DatabaseConfig
    log_level: int
    dev_guild_id: int | None
    rate_limit: float = DEFAULT_RATE_LIMIT
    shards: ShardPlan = SINGLE_PROCESS

    def __repr__(self) -> str:
        # Never let the token reach a log line or a traceback through repr().
        return (
            f"Settings(token=<hidden>, database={self.database.display}, "
            f"log_level={logging.getLevelName(self.log_level)}, dev_guild_id={self.dev_guild_id}, "
            f"rate_limit={self.rate_limit:g}, shards={self.shards.describe()})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Build settings from environment variables, raising SettingsError on the first problem."""
        database = database_from_url(env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL)
        return cls(
            token=_token(env.get("DISCORD_TOKEN", "")),
            database=database,
            log_level=_log_level(env.get("LOG_LEVEL", "").strip() or "INFO"),
            dev_guild_id=_dev_guild_id(env.get("DEV_GUILD_ID", "").strip()),
            rate_limit=_rate_limit(env.get("DISCORD_RATE_LIMIT", "").strip()),
            shards=_shards(
                env.get("SHARD_COUNT", "").strip(), env.get("SHARD_IDS", "").strip(), database
            ),
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


def database_from_url(url: str) -> DatabaseConfig:
    """A SQLite file (`sqlite:///relative.db`, `sqlite:////absolute.db`) or a PostgreSQL
    database (`postgresql://user:password@host:5432/database`, or `postgres://...`)."""
    scheme = url.partition("://")[0].lower()
    if scheme in POSTGRES_SCHEMES:
        return _postgres(url)
    return _sqlite(url)


def _sqlite(url: str) -> SqliteConfig:
    """Turn `sqlite:///relative/path.db` or `sqlite:////absolute/path.db` into a path."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise SettingsError(
            f"DATABASE_URL {redact(url)!r} is neither a SQLite nor a PostgreSQL URL: use "
            "sqlite:///data/kindred.db (a file, relative or sqlite:////absolute) or "
            "postgresql://user:password@host:5432/database."
        )
    path = Path(url[len(prefix) :])
    if path.name in ("", ".", "..") or url.endswith("/"):
        raise SettingsError(f"DATABASE_URL {url!r} names a folder, not a database file.")
    return SqliteConfig(path)


def _postgres(url: str) -> PostgresConfig:
    """Check the parts asyncpg would otherwise reject at start-up with a less clear message.

    Messages show the URL through `redact`, so the password never reaches a terminal or log.
    """
    shown = redact(url)
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise SettingsError(
            f"DATABASE_URL {shown!r} has a bad port: use a number from 1 to 65535 "
            "(PostgreSQL's default is 5432)."
        )
    if not parts.hostname and "host" not in parse_qs(parts.query):
        raise SettingsError(
            f"DATABASE_URL {shown!r} names no server: use "
            "postgresql://user:password@host:5432/database."
        )
    database = parts.path.removeprefix("/")
    if not database or "/" in database:
        raise SettingsError(
            f"DATABASE_URL {shown!r} names no database: end it with /database, as in "
            "postgresql://user:password@host:5432/kindred."
        )
    return PostgresConfig(url)


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


def _rate_limit(raw: str) -> float:
    """Requests per second Discord allows this bot in all (its global rate limit)."""
    if not raw:
        return DEFAULT_RATE_LIMIT
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 1 <= value <= 100_000:
        raise SettingsError(
            f"DISCORD_RATE_LIMIT {raw!r} is not a rate: give the requests per second Discord "
            "allows your bot (50 for most bots), or leave it empty."
        )
    return value


def _shards(count_text: str, ids_text: str, database: DatabaseConfig) -> ShardPlan:
    """SHARD_COUNT (default 1) and SHARD_IDS (default: every shard) as this process's plan."""
    if not count_text:
        if ids_text:
            raise SettingsError(
                f"SHARD_IDS {ids_text!r} needs SHARD_COUNT: set the total number of shards "
                "every process of this bot uses (e.g. SHARD_COUNT=6)."
            )
        return SINGLE_PROCESS
    count = int(count_text) if count_text.isdigit() else 0
    if not 1 <= count <= MAX_SHARDS:
        raise SettingsError(
            f"SHARD_COUNT {count_text!r} is not a number of shards: give a whole number from 1 "
            "(Discord needs one shard per 2,500 servers), or leave it empty for one."
        )
    if not ids_text:
        return ShardPlan(count, tuple(range(count)))
    try:
        plan = ShardPlan(count, parse_shard_ids(ids_text, count))
    except ShardSpecError as exc:
        raise SettingsError(
            f"SHARD_IDS {ids_text!r} is not a list of shards: {exc}; write ranges and numbers "
            "like 0-3 or 4,5."
        ) from None
    if not plan.everything and isinstance(database, SqliteConfig):
        raise SettingsError(
            f"SHARD_IDS {ids_text!r} is not every shard, but SQLite serves one process: run "
            "every shard in this process (leave SHARD_IDS empty) or set DATABASE_URL to a "
            "PostgreSQL database shared by all processes."
        )
    return plan
