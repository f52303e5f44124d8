"""Pairing: member and admin commands, the Discord port, the persistent check-in buttons."""

from __future__ import annotations

from bot.app import Kindred

from ._cog import Pairing


async def setup(bot: Kindred) -> None:
    await bot.add_cog(Pairing(bot))
