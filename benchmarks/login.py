"""Benchmark: sign-in time for a known user with a wrong password, an unknown user and a right password.

Issue 12 (hole 9) measured 350 ms against 8 ms: the unknown user skipped the argon2 verification, so the
answer time told which usernames exist. Every path now verifies one hash. The three kinds of attempt are
interleaved (so that a load change on the machine hits them alike) through the real app in-process (SQLite,
ASGI, no network), with the rate limits off. Prints the medians and, as the last line, one JSON object.

    .venv/bin/python benchmarks/login.py [--n 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

RIGHT = "right-password-1"  # a throwaway user in a temporary folder


async def measure(n: int) -> dict[str, dict[str, float]]:
    from ghgwatch.security import service
    from ghgwatch.security.models import Role
    from ghgwatch.security.principal import SYSTEM
    from ghgwatch.settings import build_settings
    from ghgwatch.store.migrate import upgrade
    from ghgwatch.web import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = build_settings(data_dir=Path(tmp), security={
            "login_attempts_per_address": 0, "login_failures_per_user": 0})
        await asyncio.to_thread(upgrade, settings.database_url)
        app = create_app(settings)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            async with app.state.ctx.db.transaction() as s:
                await service.create_user(s, SYSTEM, username="alice", password=RIGHT,
                                          role=Role.ADMIN, organization_id=None)
            attempts = {"known_wrong_password": ("alice", "wrong-password-1", 401),
                        "unknown_user": ("nobody-here", "wrong-password-1", 401),
                        "known_right_password": ("alice", RIGHT, 200)}
            times: dict[str, list[float]] = {k: [] for k in attempts}
            for _ in range(n + 2):  # the first two rounds warm up (imports, the dummy hash, connections)
                for kind, (username, password, status) in attempts.items():
                    started = time.perf_counter()
                    answer = await client.post("/api/v1/auth/token", data={"username": username,
                                                                           "password": password})
                    times[kind].append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == status, answer.text
    return {k: {"median_ms": round(statistics.median(v[2:]), 1),
                "p90_ms": round(statistics.quantiles(v[2:], n=10)[-1], 1)} for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    args = parser.parse_args()
    result = asyncio.run(measure(args.n))
    for kind, stats in result.items():
        print(f"{kind:22s} median {stats['median_ms']:7.1f} ms   p90 {stats['p90_ms']:7.1f} ms")
    print(json.dumps({"n": args.n, **result}))


if __name__ == "__main__":
    main()
