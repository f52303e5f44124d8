"""Kindred as `python -m bot` runs it, for the benchmarks: `python -m benchmarks._bot`.

The benchmarks run the bot in its own process so its CPU time and memory are measured apart from
the fake Discord server's (which lives in the benchmark process). The only difference from
`bot.__main__` is the optional `/noop` command (`KINDRED_BENCH_NOOP=1`): a command that does
nothing but reply, the baseline the command-latency benchmark compares Kindred's commands with.
It exists here only, never in the product.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import discord
from discord import app_commands

from bot.app import Kindred, main
from bot.logs import setup_logging
from bot.settings import Settings

NOOP_VARIABLE = "KINDRED_BENCH_NOOP"
# Quick runs shorten discord.py's wait after the last GUILD_CREATE (2 s in the product).
READY_TIMEOUT_VARIABLE = "KINDRED_BENCH_GUILD_READY_TIMEOUT"


@app_commands.command(name="noop", description="Benchmark baseline: replies and does nothing")
async def noop(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("ok", ephemeral=True)


class BenchKindred(Kindred):
    """Kindred plus, when asked, the `/noop` baseline command (added before commands sync)."""

    def __init__(self, *, with_noop: bool, **options: Any) -> None:
        super().__init__(**options)
        self._with_noop = with_noop

    async def setup_hook(self) -> None:
        if self._with_noop:
            self.tree.add_command(noop)
        await super().setup_hook()


async def run(settings: Settings, *, with_noop: bool, options: dict[str, Any]) -> None:
    """`bot.app.main` (shard leases included), with `BenchKindred`."""
    await main(
        settings,
        lambda settings, services: BenchKindred(
            settings=settings, services=services, with_noop=with_noop, **options
        ),
    )


def run_from_environment() -> int:
    settings = Settings.from_env(os.environ)
    setup_logging(settings.log_level, secrets=[settings.token])
    options: dict[str, Any] = {}
    if ready_timeout := os.environ.get(READY_TIMEOUT_VARIABLE):
        options["guild_ready_timeout"] = float(ready_timeout)
    try:
        asyncio.run(run(settings, with_noop=os.environ.get(NOOP_VARIABLE) == "1", options=options))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(run_from_environment())
