"""The help ledger: member and admin commands, the Discord sender, the persistent ask buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._cog import Helpdesk

if TYPE_CHECKING:
    from bot.app import Kindred


async def setup(bot: Kindred) -> None:
    await bot.add_cog(Helpdesk(bot))
