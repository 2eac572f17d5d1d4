"""The SQLite write turn: ordinary writers in arrival order, urgent ones (alerts) ahead of all of them."""

from __future__ import annotations

import asyncio

import pytest

from ghgwatch.store.engine import WriteTurn


async def test_urgent_waiters_go_before_ordinary_ones_each_in_arrival_order() -> None:
    turn = WriteTurn()
    order: list[str] = []
    await turn.acquire()  # a storage chunk is being written

    async def writer(name: str, urgent: bool) -> None:
        async with turn.urgent() if urgent else turn:
            order.append(name)
            await asyncio.sleep(0)

    tasks = []
    for name, urgent in (("bulk1", False), ("bulk2", False), ("alert1", True), ("bulk3", False), ("alert2", True)):
        tasks.append(asyncio.create_task(writer(name, urgent)))
        await asyncio.sleep(0)  # queued in this order
    assert order == []
    turn.release()
    await asyncio.gather(*tasks)
    assert order == ["alert1", "alert2", "bulk1", "bulk2", "bulk3"]
    assert not turn.locked()


async def test_a_cancelled_waiter_passes_the_turn_on() -> None:
    turn = WriteTurn()
    await turn.acquire()
    cancelled = asyncio.create_task(turn.acquire(urgent=True))
    after = asyncio.create_task(turn.acquire())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    turn.release()
    await asyncio.wait_for(after, 5)
    assert turn.locked()
    turn.release()
    assert not turn.locked()

    # handed the turn in the same loop step as its cancellation: it must not keep it
    await turn.acquire()
    late = asyncio.create_task(turn.acquire(urgent=True))
    other = asyncio.create_task(turn.acquire())
    await asyncio.sleep(0)
    turn.release()
    late.cancel()
    with pytest.raises(asyncio.CancelledError):
        await late
    await asyncio.wait_for(other, 5)
    turn.release()
    assert not turn.locked()
