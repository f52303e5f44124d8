"""Where the database is: a SQLite file or a PostgreSQL server (from `DATABASE_URL`).

These are plain values so settings can validate them without opening anything, and so a
PostgreSQL password never reaches a log line: `repr()` and `display` hide it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True, slots=True)
class SqliteConfig:
    """One SQLite file; one process uses it."""

    path: Path

    @property
    def display(self) -> str:
        """The file's path, for log lines and error messages (nothing in it to hide)."""
        return str(self.path)

    @property
    def secret(self) -> None:
        """None: a SQLite path carries no password for logging to scrub."""
        return None


@dataclass(frozen=True, slots=True, repr=False)
class PostgresConfig:
    """A PostgreSQL database, as a libpq URL (`postgresql://user:password@host:5432/db`).

    The pool is small on purpose: writers are serialised within a process (see
    `bot.db.postgres`), so extra connections only serve concurrent reads.
    """

    dsn: str
    pool_min: int = 1
    pool_max: int = 10

    @property
    def display(self) -> str:
        """The URL without its password, for log lines and error messages."""
        return redact(self.dsn)

    @property
    def secret(self) -> str | None:
        """The password, so logging can scrub it from every line."""
        password = urlsplit(self.dsn).password
        return None if password is None else unquote(password)

    def __repr__(self) -> str:
        return f"PostgresConfig({self.display!r}, pool={self.pool_min}..{self.pool_max})"


DatabaseConfig = SqliteConfig | PostgresConfig


def redact(url: str) -> str:
    """`url` with any password replaced by `***` (safe to print)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
