"""A dispatch-only process: ``python -m ghgwatch.alerts.outbox`` delivers the outbox of the configured database
(settings from the environment, ``GHGWATCH_...``) until SIGTERM or SIGINT. The pipeline role runs the same
dispatcher in-process; this one is for operations (drain an outbox) and for the crash tests."""

from __future__ import annotations

import asyncio
import signal

from ghgwatch.alerts.outbox.dispatcher import OutboxDispatcher
from ghgwatch.security.crypto import cipher_from_settings, install_cipher
from ghgwatch.settings import build_settings
from ghgwatch.store import open_database


async def main() -> None:
    settings = build_settings()
    install_cipher(cipher_from_settings(settings))
    db = open_database(settings.database_url)
    dispatcher = OutboxDispatcher(db, settings.notify, allow_private=settings.security.allow_private_targets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await dispatcher.start()
    print("outbox dispatcher ready", flush=True)
    try:
        await stop.wait()
    finally:
        await dispatcher.stop()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
