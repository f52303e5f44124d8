"""Fixtures for unit tests of the core: services on a temporary database and a fake clock."""

from collections.abc import AsyncIterator

import pytest

from bot.services import Services
from tests.support.db import open_test_services


@pytest.fixture
async def services(tmp_path) -> AsyncIterator[Services]:
    """The core services on a migrated temporary database; the scheduler is not started."""
    services = await open_test_services(tmp_path / "k.db")
    yield services
    await services.scheduler.stop()
    await services.db.close()
