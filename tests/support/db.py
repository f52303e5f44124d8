"""A migrated temporary database and the core services around it, on a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot.db import Database, migrate
from bot.scheduler import Scheduler
from bot.services import Services, build_services

from .clock import FakeClock

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday


async def open_test_services(path: Path, clock: FakeClock | None = None) -> Services:
    db = await Database.open(path)
    await migrate(db)
    clock = clock or FakeClock(START)
    return build_services(db, Scheduler(db, clock), clock)


async def run_due(services: Services) -> None:
    """Start the scheduler (if it is not running), let due jobs run, and wait for them."""
    services.scheduler.start()
    for _ in range(20):
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    await services.scheduler.idle()
