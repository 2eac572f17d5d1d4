"""A writer of another process for test_file_turn.py (run as a script; answers on stdout).

``ordinary URL N SECONDS``: N back-to-back transactions through ``Database.write_turn()``, each inserting a row
into ``ticks`` and holding the write lock ``SECONDS`` (a storage chunk); prints ``tick <i>`` after each commit.
``urgent URL``: enters ``write_turn(urgent=True)``, prints ``holding`` and stays there until killed.
"""

from __future__ import annotations

import asyncio
import sys
import time

from sqlalchemy import text

from ghgwatch.store import open_database


async def main(mode: str, url: str, *args: str) -> None:
    db = open_database(url)
    try:
        if mode == "ordinary":
            count, seconds = int(args[0]), float(args[1])
            for i in range(count):
                async with db.write_turn(), db.engine.begin() as conn:
                    await conn.execute(text("INSERT INTO ticks (at) VALUES (:at)"), {"at": time.time()})
                    await asyncio.sleep(seconds)
                print(f"tick {i}", flush=True)
        else:
            async with db.write_turn(urgent=True):
                print("holding", flush=True)
                await asyncio.sleep(3600)
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
