"""Point discord.py at the fake Discord when ``KINDRED_FAKE_DISCORD_URL`` is set.

Put this directory on ``PYTHONPATH`` of a ``python -m bot`` subprocess so the unmodified bot
talks to the fake; without the variable this module does nothing.
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
