"""Pairing: member and admin commands, the Discord port, the persistent check-in buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._cog import Pairing

if TYPE_CHECKING:
    from bot.app import Kindred


async def setup(bot: Kindred) -> None:
    await bot.add_cog(Pairing(bot))
