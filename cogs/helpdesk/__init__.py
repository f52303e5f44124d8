"""The help ledger: member and admin commands, the Discord sender, the persistent ask buttons."""

from __future__ import annotations

from bot.app import Kindred

from ._cog import Helpdesk


async def setup(bot: Kindred) -> None:
    await bot.add_cog(Helpdesk(bot))
