"""Request middleware: latency, auth, the request log, global/per-route 429s, 5xx faults, and
answers held back after the work is done.

Normal responses carry ``X-RateLimit-*`` headers so discord.py's bucket logic runs as in
production; every 429 carries ``Via`` because discord.py treats a 429 without it as a
Cloudflare ban and raises instead of retrying.

Discord bans an IP for an hour or more after 10,000 invalid requests (401, 403, 429; a 429 with
``X-RateLimit-Scope: shared`` excepted) in 10 minutes; :meth:`Limits.worst_invalid_window`
counts them the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from .wire import ApiError, error_response, json_response

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


INVALID_WINDOW = 600.0  # Discord counts invalid requests over 10 minutes


@dataclass
class RequestRecord:
    """One REST request the fake answered (``time`` on the fake's clock)."""

    method: str
    path: str
    route: str
    status: int = 0
    time: float = 0.0
    scope: str | None = None  # a 429's X-RateLimit-Scope

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"

    @property
    def invalid(self) -> bool:
        """Counted by Discord towards an IP ban: 401, 403, and 429 unless of shared scope."""
        return self.status in (401, 403) or (self.status == 429 and self.scope != "shared")


@dataclass
class _Hold:
    pattern: re.Pattern[str]
    remaining: int
    seconds: float


@dataclass
class _Injection:
    pattern: re.Pattern[str]
    remaining: int
    statuses: list[int]
    retry_after: float = 0.2
    global_: bool = False


def _exempt_from_global(path: str) -> bool:
    # Interaction callbacks and interaction webhooks are not subject to the global limit.
    return path.startswith("/interactions/") or path.startswith("/webhooks/")


class Limits:
    """Fault and rate-limit configuration plus the request log; install :meth:`middleware`."""

    def __init__(
        self,
        token_ok: Callable[[str], bool],
        *,
        now: Callable[[], float] = time.time,
        changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.token_ok = token_ok
        self.now = now
        self.changed = changed
        self.latency = 0.0
        self.global_per_second: float | None = None
        self._window: deque[float] = deque()
        self._injections: list[_Injection] = []
        self._holds: list[_Hold] = []
        self.requests: list[RequestRecord] = []
        #: Requests carried out whose answer is (or was) held back by :meth:`hold_answers`.
        self.held: list[RequestRecord] = []
        self.count_429 = 0
        self.count_faults = 0

    def set_global_rate_limit(self, per_second: float | None) -> None:
        """Allow at most ``per_second`` requests in any 1 s window (None disables)."""
        self.global_per_second = per_second
        self._window.clear()

    def inject_429(
        self, route_regex: str, count: int = 1, retry_after: float = 0.2, global_: bool = False
    ) -> None:
        """The next ``count`` requests matching ``"METHOD /path"`` answer 429."""
        self._injections.append(
            _Injection(re.compile(route_regex), count, [429], retry_after, global_)
        )

    def inject_faults(
        self, route_regex: str, statuses: list[int] | None = None, count: int = 1
    ) -> None:
        """The next ``count`` matching requests answer the given 5xx statuses in turn."""
        self._injections.append(_Injection(re.compile(route_regex), count, list(statuses or [500])))

    def hold_answers(self, route_regex: str, seconds: float, count: int = 1) -> None:
        """Carry out the next ``count`` matching requests, then hold each answer ``seconds``.

        The work is done (the message exists) but the client hears nothing yet: kill the bot
        while :attr:`held` grows to test the crash where Discord acted and the bot never knew.
        """
        self._holds.append(_Hold(re.compile(route_regex), count, seconds))

    def reset_faults(self) -> None:
        self._injections.clear()
        self._holds.clear()
        self.set_global_rate_limit(None)

    def worst_invalid_window(self, seconds: float = INVALID_WINDOW) -> int:
        """The most invalid requests (see :attr:`RequestRecord.invalid`) in any ``seconds``."""
        times = sorted(r.time for r in self.requests if r.invalid)
        worst = start = 0
        for end, moment in enumerate(times):
            while moment - times[start] >= seconds:
                start += 1
            worst = max(worst, end - start + 1)
        return worst

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not path.startswith(API_PREFIX):
            return await handler(request)
        path = path[len(API_PREFIX) :]
        key = f"{request.method} {path}"
        info = request.match_info.route.resource
        route = info.canonical[len(API_PREFIX) :] if info is not None else path
        record = RequestRecord(request.method, path, route, time=self.now())
        self.requests.append(record)
        if self.latency:
            await asyncio.sleep(self.latency)
        response = self._limited(key, path)
        if response is None:
            response = await self._authed(request, handler, path)
            if response.status != 429:
                bucket = hashlib.md5(f"{request.method} {route}".encode()).hexdigest()[:16]
                response.headers.update(
                    {
                        "X-RateLimit-Limit": "50",
                        "X-RateLimit-Remaining": "49",
                        "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
                        "X-RateLimit-Reset-After": "1.000",
                        "X-RateLimit-Bucket": bucket,
                    }
                )
        record.status = response.status
        record.scope = response.headers.get("X-RateLimit-Scope") if response.status == 429 else None
        if 200 <= response.status < 300 and (hold := self._hold_for(key)) is not None:
            self.held.append(record)
            self.changed()
            await asyncio.sleep(hold)
        return response

    def _hold_for(self, key: str) -> float | None:
        for hold in self._holds:
            if hold.remaining > 0 and hold.pattern.search(key):
                hold.remaining -= 1
                return hold.seconds
        return None

    async def _authed(
        self, request: web.Request, handler: Handler, path: str
    ) -> web.StreamResponse:
        if not (_exempt_from_global(path)):
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("Bot ") or not self.token_ok(auth[4:]):
                return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        try:
            return await handler(request)
        except ApiError as err:
            return error_response(err)

    def _limited(self, key: str, path: str) -> web.Response | None:
        for inj in self._injections:
            if inj.remaining > 0 and inj.pattern.search(key):
                inj.remaining -= 1
                status = inj.statuses[(len(inj.statuses) - inj.remaining - 1) % len(inj.statuses)]
                if status == 429:
                    return self._too_many(inj.retry_after, inj.global_)
                self.count_faults += 1
                return json_response({"message": f"{status}: fake fault", "code": 0}, status)
        if self.global_per_second and not _exempt_from_global(path):
            now = time.monotonic()
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if len(self._window) >= self.global_per_second:
                return self._too_many(max(0.01, 1.0 - (now - self._window[0])), True)
            self._window.append(now)
        return None

    def _too_many(self, retry_after: float, global_: bool) -> web.Response:
        self.count_429 += 1
        headers = {
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Scope": "global" if global_ else "user",
            "Via": "1.1 google",
        }
        if global_:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update(
                {
                    "X-RateLimit-Limit": "1",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                }
            )
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": global_,
            "code": 0,
        }
        return json_response(body, 429, headers)
