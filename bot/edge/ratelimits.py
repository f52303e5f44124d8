"""Keep discord.py's rate-limit bookkeeping cheap when the bot talks to thousands of channels.

discord.py keeps one `Ratelimit` bucket per route key (a channel's messages, a channel's
threads, ...). Every time it creates a bucket for a new key and holds 256 or more, it scans all
of them to drop the inactive ones (`HTTPClient._try_clear_expired_ratelimits`). A bucket only
becomes inactive after 300 s unused, yet the scan runs on every new key: posting the daily
prompt in 10,000 guilds creates 20,000 keys in a minute and does ~200 million bucket checks,
which took most of the bot's CPU in `benchmarks/bench_scheduler.py`.

Sweeping at most once a minute drops exactly the same buckets (none can become inactive sooner
than 300 s), just in one pass instead of thousands.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from discord.http import HTTPClient

SWEEP_INTERVAL_SECONDS = 60.0


def throttle_bucket_sweep(
    http: HTTPClient,
    *,
    interval: float = SWEEP_INTERVAL_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> None:
    """Make `http` sweep its inactive rate-limit buckets at most once per `interval` seconds."""
    sweep = http._try_clear_expired_ratelimits
    last_sweep = -interval

    def throttled() -> None:
        nonlocal last_sweep
        now = monotonic()
        if now - last_sweep >= interval:
            last_sweep = now
            sweep()

    http._try_clear_expired_ratelimits = throttled  # type: ignore[method-assign]
