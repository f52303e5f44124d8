"""Point discord.py at the fake Discord when ``KINDRED_FAKE_DISCORD_URL`` is set.

Put this directory on ``PYTHONPATH`` of a ``python -m bot`` subprocess so the unmodified bot
talks to the fake; without the variable this module does nothing.

``KINDRED_FAKE_CLOCK_OFFSET`` (seconds) moves the bot's clock (`bot.clock.SystemClock`) forward,
so a test can restart the bot "12 minutes later" together with the fake's clock
(`FakeDiscord.advance_clock`) without waiting 12 minutes.
"""

import os

_url = os.environ.get("KINDRED_FAKE_DISCORD_URL")
if _url:
    import discord.gateway
    import discord.http
    import yarl

    _parsed = yarl.URL(_url)
    discord.http.Route.BASE = f"{_url.rstrip('/')}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
        f"ws://{_parsed.host}:{_parsed.port}/gateway"
    )

_offset = float(os.environ.get("KINDRED_FAKE_CLOCK_OFFSET") or 0)
if _offset:
    from datetime import datetime, timedelta

    import bot.clock

    _real_now = bot.clock.SystemClock.now

    def _moved_now(self: bot.clock.SystemClock) -> datetime:
        return _real_now(self) + timedelta(seconds=_offset)

    bot.clock.SystemClock.now = _moved_now  # type: ignore[method-assign]
