"""Running `python -m bot` as a user would, in a clean environment and working folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SITECUSTOMIZE = REPO / "tests" / "fakediscord" / "sitecustomize"
KINDRED_VARIABLES = (
    "DISCORD_TOKEN",
    "DATABASE_URL",
    "LOG_LEVEL",
    "DEV_GUILD_ID",
    "DISCORD_RATE_LIMIT",
    "SHARD_COUNT",
    "SHARD_IDS",
)


def bot_environment(**settings: str) -> dict[str, str]:
    """The current environment without Kindred's settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if k not in KINDRED_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


def run_bot(
    cwd: Path, *args: str, timeout: float = 10, **settings: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=bot_environment(**settings),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
