"""`python -m bot` (or `kindred`): run the bot. `python -m bot backup PATH`: copy the database
(SQLite: an online copy of the file; PostgreSQL: `pg_dump --format=custom`).

Every way start-up can fail because of the operator's configuration ends in one line on stderr
that names the setting and the fix, and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp
import discord
from dotenv import load_dotenv

from .db import DatabaseError
from .leases import ShardLeaseLost
from .logs import setup_logging
from .settings import DEFAULT_DATABASE_URL, Settings, SettingsError, database_from_url

USAGE = "usage: python -m bot [backup PATH]"


def fail(message: str) -> int:
    """Print a one-line error for the operator; the exit status for a usage or setup error."""
    print(f"kindred: {message}", file=sys.stderr)
    return 2


def run(argv: list[str] | None = None) -> int:
    """The command line: `backup PATH`, or run the bot; the process exit status."""
    args = sys.argv[1:] if argv is None else argv
    # .env in the folder the bot is started from; real environment variables win over it.
    load_dotenv(Path.cwd() / ".env", override=False)
    if args and args[0] == "backup":
        if len(args) != 2:
            return fail(USAGE)
        return backup(Path(args[1]))
    if args:
        return fail(USAGE)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        return fail(str(exc))
    setup_logging(settings.log_level, secrets=[settings.token, settings.database.secret or ""])

    from .app import main  # imported late so settings errors stay fast and quiet

    try:
        asyncio.run(main(settings))
    except (DatabaseError, ShardLeaseLost) as exc:
        return fail(str(exc))
    except discord.LoginFailure:
        return fail(
            "DISCORD_TOKEN was rejected by Discord (401 Unauthorized): reset the token in the "
            "Developer Portal (Bot → Reset Token) and update .env."
        )
    except discord.PrivilegedIntentsRequired:
        return fail(
            "Discord refused the Server Members intent: enable it in the Developer Portal "
            "(Bot → Privileged Gateway Intents → Server Members Intent)."
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        # Only at start-up: once connected, discord.py reconnects by itself.
        return fail(f"cannot reach Discord ({exc}); check the network connection and start again.")
    except discord.HTTPException as exc:
        return fail(f"Discord refused the start-up ({exc.status}: {exc.text}); try again later.")
    except KeyboardInterrupt:
        return 0
    return 0


def backup(target: Path) -> int:
    """Write a restorable copy of the live database to `target` (the driver knows how)."""
    from .db import Database, SqliteConfig

    try:
        source = database_from_url(os.environ.get("DATABASE_URL", "") or DEFAULT_DATABASE_URL)
    except SettingsError as exc:
        return fail(str(exc))
    if isinstance(source, SqliteConfig) and not source.path.exists():
        return fail(f"DATABASE_URL: there is no database at {source.path} to back up.")

    async def copy() -> None:
        db = await Database.open(source)
        try:
            await db.backup_to(target)
        finally:
            await db.close()

    try:
        asyncio.run(copy())
    except (DatabaseError, OSError) as exc:
        return fail(f"backup to {target} failed: {exc}")
    print(f"kindred: backed up {source.display} to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(run())
