"""Fixtures for unit tests of the core: services on a temporary database and a fake clock."""

from collections.abc import AsyncIterator

import pytest

from bot.services import Services
from tests.support.db import DatabaseFactory, open_test_services


@pytest.fixture
async def services(fresh_database: DatabaseFactory) -> AsyncIterator[Services]:
    """The core services on a migrated temporary database; the scheduler is not started."""
    services = await open_test_services(await fresh_database())
    yield services
    await services.scheduler.stop()
    await services.outbox.stop()
    await services.db.close()
