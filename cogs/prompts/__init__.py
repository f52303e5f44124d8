"""Daily growth prompts: the member and admin commands, the Discord sender, the review buttons."""

from __future__ import annotations

from bot.app import Kindred

from ._cog import Prompts


async def setup(bot: Kindred) -> None:
    await bot.add_cog(Prompts(bot))
