"""One request budget for every REST request the bot makes, kept under Discord's global limit.

Discord allows a bot about 50 requests a second in all (more for large bots), answers a
request over that with a global 429, and bans the IP for an hour or more after 10,000 invalid
requests (401, 403, 429) in 10 minutes. discord.py only reacts: it learns of the global limit
from a 429 and then waits. With many concurrent senders (a round's 1,000 intros) that meant a
third of all requests drew a 429. The budget acts before: each request waits for a token of a
bucket that refills a little under the limit, so requests are spread evenly and almost none is
refused; a global 429 all the same (another process of the same bot, a smaller limit than
configured) lowers the rate at once, which then creeps back up.

It is installed as an aiohttp trace on discord.py's HTTP session rather than around
`HTTPClient.request`: each *attempt* counts against Discord's limit, discord.py's own retries
included, and only an attempt's answer says whether it was a global 429. Interaction callbacks
and interaction webhooks are exempt from the global limit, and so from the budget.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from types import SimpleNamespace

import aiohttp
import discord.http

log = logging.getLogger(__name__)

#: The share of the configured limit the bucket refills at. Requests are spaced evenly (no
#: burst), so any one-second window holds at most this share plus one request; the rest of the
#: limit is room for network jitter, which can bunch requests up on their way to Discord.
SHARE_OF_LIMIT = 0.94
CUT_ON_GLOBAL_429 = 0.8  # a global 429 cuts the rate to this share of what it was
LOWEST_SHARE = 0.2  # ...but never below this share of the limit
RECOVERY_PER_SECOND = 0.01  # then it regains this share of the limit per second
INVALID_WINDOW_SECONDS = 600.0
INVALID_WARN_EVERY = 1_000  # Discord bans at 10,000 invalid requests in 10 minutes
EXEMPT_PATHS = ("/interactions/", "/webhooks/")


class RequestBudget:
    """Requests spaced evenly under the limit: each reserves the next free instant."""

    def __init__(
        self, limit_per_second: float = 50.0, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if limit_per_second <= 0:
            raise ValueError("the rate limit must be positive")
        self.limit = limit_per_second
        self.target = limit_per_second * SHARE_OF_LIMIT
        self._rate = self.target
        self._monotonic = monotonic
        self._next_free = 0.0  # the instant the next request may go, at the current rate
        self._updated = monotonic()
        self._invalid: deque[float] = deque()
        self._warned_at = 0
        self.requests = 0
        self.global_429s = 0

    @property
    def rate(self) -> float:
        """Requests per second the budget allows now."""
        self._recover(self._monotonic())
        return self._rate

    def reserve(self) -> float:
        """Take the next token; the seconds to wait before the request may go."""
        now = self._monotonic()
        self._recover(now)
        start = max(self._next_free, now)
        self._next_free = start + 1.0 / self._rate
        self.requests += 1
        return max(0.0, start - now)

    async def acquire(self) -> None:
        """Wait for a token."""
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)

    def answered(
        self, status: int, *, global_limit: bool, scope: str | None, retry_after: float
    ) -> None:
        """Learn from an answer: a global 429 cuts the rate and pauses; count invalid ones."""
        now = self._monotonic()
        if status == 429 and global_limit:
            self.global_429s += 1
            self._recover(now)
            self._rate = max(self.limit * LOWEST_SHARE, self._rate * CUT_ON_GLOBAL_429)
            self._next_free = max(self._next_free, now + retry_after)
            log.warning(
                "Discord's global rate limit was hit; sending at %.1f requests/s for now",
                self._rate,
            )
        if status in (401, 403) or (status == 429 and scope != "shared"):
            self._count_invalid(now)

    def invalid_recently(self) -> int:
        """Invalid requests (401, 403, 429) in the last 10 minutes, as Discord counts them."""
        self._forget_invalid(self._monotonic())
        return len(self._invalid)

    def _recover(self, now: float) -> None:
        if self._rate < self.target:
            gained = (now - self._updated) * RECOVERY_PER_SECOND * self.limit
            self._rate = min(self.target, self._rate + gained)
        self._updated = now

    def _count_invalid(self, now: float) -> None:
        self._invalid.append(now)
        self._forget_invalid(now)
        level = len(self._invalid) // INVALID_WARN_EVERY
        if level > self._warned_at:
            log.warning(
                "%d invalid requests to Discord in 10 minutes (it bans the IP at 10,000)",
                len(self._invalid),
            )
        self._warned_at = level

    def _forget_invalid(self, now: float) -> None:
        while self._invalid and now - self._invalid[0] >= INVALID_WINDOW_SECONDS:
            self._invalid.popleft()


def counts_against_limit(url: str) -> bool:
    """REST requests to the API, except interaction callbacks and webhooks."""
    if not url.startswith(discord.http.Route.BASE):
        return False  # the gateway, attachments
    path = url[len(discord.http.Route.BASE) :]
    return not path.startswith(EXEMPT_PATHS)


def budget_trace(budget: RequestBudget) -> aiohttp.TraceConfig:
    """An aiohttp trace that makes each request attempt wait for the budget and report back.

    Pass it to the bot as `http_trace=`: discord.py builds its session with it.
    """
    trace = aiohttp.TraceConfig()

    async def on_start(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        if counts_against_limit(str(params.url)):
            await budget.acquire()

    async def on_end(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        if not counts_against_limit(str(params.url)):
            return
        headers = params.response.headers
        budget.answered(
            params.response.status,
            global_limit=headers.get("X-RateLimit-Global", "").lower() == "true",
            scope=headers.get("X-RateLimit-Scope"),
            retry_after=float(
                headers.get("X-RateLimit-Reset-After") or headers.get("Retry-After") or 0
            ),
        )

    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    return trace
