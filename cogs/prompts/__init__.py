"""Daily growth prompts: the member and admin commands, the Discord sender, the review buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._cog import Prompts

if TYPE_CHECKING:
    from bot.app import Kindred


async def setup(bot: Kindred) -> None:
    await bot.add_cog(Prompts(bot))
