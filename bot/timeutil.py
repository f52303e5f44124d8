"""The one way Kindred stores instants: UTC text that sorts and compares in SQL."""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%d %H:%M:%S"


def to_db(moment: datetime) -> str:
    """Aware datetime → `YYYY-MM-DD HH:MM:SS` in UTC (SQLite's own datetime format)."""
    if moment.tzinfo is None:
        raise ValueError("refusing to store a naive datetime; pass an aware one")
    return moment.astimezone(UTC).strftime(_FORMAT)


def from_db(text: str) -> datetime:
    """The inverse of `to_db`: an aware UTC datetime."""
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)


def maybe_from_db(text: str | None) -> datetime | None:
    """`from_db` for nullable columns: None stays None."""
    return None if text is None else from_db(text)
