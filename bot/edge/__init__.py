"""The Discord edge: the one package in `bot/` (besides `bot/app.py`) that imports discord.

Everything else in `bot/` is the core (rules and storage, testable without Discord). What both
the bot class and the cogs need of Discord lives here: how replies and errors are shown
(`interactions`), the `/admin` permission gate (`admin`) and bounding discord.py's rate-limit
bookkeeping (`ratelimits`); the outbox's Discord side (`transport`: targets, renderers by kind,
nonce'd sends, read-back; `rendered`: what a renderer returns) and one request budget under
Discord's global rate limit for every REST request (`budget`).
"""
