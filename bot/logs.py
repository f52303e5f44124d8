"""Logging set-up, with the bot token scrubbed from every line."""

from __future__ import annotations

import logging
import sys


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then replaces any secret with a placeholder (tracebacks included)."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        """Format as usual, then replace every secret with `[redacted]`."""
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


def setup_logging(level: int, secrets: list[str]) -> None:
    """Log to stderr with secrets scrubbed, keeping chatty libraries at INFO or above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # discord.py's gateway chatter at DEBUG is noise, and aiosqlite's DEBUG lines carry every
    # SQL parameter, members' own words included: keep both at INFO or above.
    for noisy in ("discord", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(level, logging.INFO))
