"""The sensor cache sees a sensor created a moment ago even when a reload was already running (a reading for a
new sensor was once refused as "unknown sensor" because a reload that began before the sensor was committed
finished after the invalidation)."""

from __future__ import annotations

import asyncio

from ghgwatch.registry.cache import SensorCache
from ghgwatch.store import Database
from tests.conftest import World


async def test_a_reload_that_began_before_an_invalidation_does_not_count_as_fresh(world: World, db: Database) -> None:
    cache = SensorCache(db, max_age_s=3600, min_reload_s=3600)
    await cache.refresh()
    async with cache._lock:  # a reload is under way (it waits for the lock) ...
        running = asyncio.create_task(cache.refresh())
        await asyncio.sleep(0)
        cache.invalidate()  # ... when the registry changes
    await running
    # The reload that began before the invalidation is not trusted: the next lookup loads again.
    assert cache._loaded_at == float("-inf")
    assert (await cache.lookup({world.sensor_a}))[world.sensor_a].id == world.sensor_a
    assert cache._loaded_at != float("-inf")


async def test_invalidate_forgets_ids_seen_missing(world: World, db: Database) -> None:
    cache = SensorCache(db, max_age_s=3600, min_reload_s=0)
    missing = 10_000
    assert missing not in await cache.lookup({missing})
    cache.invalidate()
    assert cache._missing == {}
