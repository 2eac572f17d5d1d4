"""Keep a gateway loop running: a loop that fails is logged and started again (its consumer resumes at the
last committed offset, so nothing is skipped), instead of ending silently while the gateway looks healthy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def supervise(name: str, loop: Callable[[], Awaitable[None]], *, max_delay_s: float = 10.0) -> None:
    delay = 0.5
    while True:
        try:
            await loop()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("gateway loop %s failed; starting it again in %.1f s", name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay_s)
