"""The background load of ``benchmarks/alerts.py``: processes posting normal readings over HTTP at a rate."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import sys
import time
from typing import Any

import httpx
import numpy as np

BATCH = 1000  # readings per load request
LANES = 64  # load connections at most: each stamps its readings on its own residue modulo LANES µs (_load_body)


def _iso_us(us: int) -> str:
    sec, frac = divmod(us, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{frac:06d}+00:00"


def _load_body(sensors: list[int], rng: np.random.Generator, lane: int, last_us: int) -> tuple[bytes, int]:
    """``BATCH`` normal readings over ``sensors`` at ``BATCH / len(sensors)`` instants after ``last_us`` (this
    connection's previous request) up to now, half a second at most; returns the body and its last instant.

    Distinct requests never repeat a (sensor, ts): a repeated one is a resent reading, which the store answers by
    recomputing the touched rollups from raw (readings/writer.py), at 2,000 readings/s a sensor a costly path that is
    not what this benchmark measures. Instants are strictly increasing per connection and fall on the connection's own
    residue modulo ``LANES`` µs. (Built as text: at 100,000 readings/s building dicts and encoding them would cost
    the generator more than the server's parsing.)"""
    per = BATCH // len(sensors)
    values = 0.3 + 0.02 * rng.standard_normal(per * len(sensors))
    now_us = time.time_ns() // 1000
    # A connection's first request starts now: an earlier generator's last readings (the warm-up's) may still
    # cover the last half second on the same residue.
    start = max(last_us, now_us - 500_000) if last_us else now_us
    step = max(LANES, (now_us - start) // per)
    parts, k, ts_us = [], 0, last_us
    for j in range(per):
        t = start + (j + 1) * step
        ts_us = t - t % LANES + lane  # within LANES - 1 µs of t; > start, increasing as step >= LANES
        ts = _iso_us(ts_us)
        for s in sensors:
            parts.append(f'{{"sensor":{s},"ts":"{ts}","value":{values[k]:.4f}}}')
            k += 1
    return ('{"readings":[' + ",".join(parts) + "]}").encode(), ts_us


async def _load(base: str, token: str, sensors: list[int], rate: float, conns: int, stop: Any,
                seed: int) -> int:
    """Post ``rate`` readings/s from ``conns`` connections until ``stop`` is set; returns readings accepted."""
    sent = [0]
    failed = [0]  # requests without an answer in time (an overloaded server): counted, the load goes on
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def one(http: httpx.AsyncClient, k: int) -> None:
        period = BATCH / (rate / conns)
        rng = np.random.default_rng(seed * 100 + k)
        lane, last_us = seed * conns + k, 0
        assert lane < LANES, "at most LANES load connections in all"
        nxt = time.perf_counter() + k * period / conns
        while not stop.is_set():
            await asyncio.sleep(max(0.0, nxt - time.perf_counter()))
            try:
                body, last_us = _load_body(sensors, rng, lane, last_us)
                r = await http.post("/api/v1/readings", content=body, headers=headers)
            except httpx.HTTPError:
                failed[0] += 1
                continue
            if r.status_code == 202:
                sent[0] += r.json()["accepted"]
            else:
                failed[0] += 1
            nxt = max(nxt + period, time.perf_counter() - period)  # fall behind rather than burst

    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        await asyncio.gather(*(one(http, k) for k in range(conns)))
    if failed[0]:
        print(f"load: {failed[0]} requests refused or unanswered within 30 s", file=sys.stderr)
    return sent[0]


def _load_proc(base: str, token: str, sensors: list[int], rate: float, conns: int, go: Any, stop: Any, out: Any,
               seed: int) -> None:
    """A load generator process: ready once imported, posts from ``go`` until ``stop``, then reports the readings
    accepted and its own CPU seconds."""
    out.put({"ready": seed})
    go.wait()
    t0, cpu0 = time.perf_counter(), time.process_time()
    sent = asyncio.run(_load(base, token, sensors, rate, conns, stop, seed))
    out.put({"sent": sent, "cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - t0})


class LoadGenerator:
    """``procs`` processes posting ``rate`` readings/s in all (or, with ``procs`` 0, a task in this process).
    ``prepare`` starts the processes (imports take seconds on a busy machine), ``start`` lets them post."""

    def __init__(self, base: str, token: str, sensors: list[int], rate: float, procs: int, conns: int) -> None:
        self.args = (base, token, sensors, rate, procs, conns)
        ctx = mp.get_context("spawn")
        self.go, self.stop_event = ctx.Event(), ctx.Event()
        self.out: Any = ctx.Queue()
        self.procs = [ctx.Process(target=_load_proc, args=(base, token, sensors, rate / procs, conns, self.go,
                                                           self.stop_event, self.out, i), daemon=True)
                      for i in range(procs)]
        self._task: asyncio.Task[int] | None = None
        self._local_stop = asyncio.Event()
        self.started = 0.0

    async def prepare(self) -> None:
        for p in self.procs:
            p.start()
        for _ in self.procs:
            await asyncio.to_thread(self.out.get, True, 120)

    def start(self) -> None:
        base, token, sensors, rate, procs, conns = self.args
        self.started = time.perf_counter()
        if procs:
            self.go.set()
        else:
            self._task = asyncio.create_task(_load(base, token, sensors, rate, conns, self._local_stop, 0))

    async def stop(self) -> dict[str, float]:
        """Readings accepted per second and the generator's CPU (cores) over its run."""
        wall = time.perf_counter() - self.started
        if self._task is not None:
            self._local_stop.set()
            sent = await self._task
            return {"load_readings_per_s": round(sent / wall), "load_gen_cores": float("nan")}
        self.stop_event.set()
        results = [await asyncio.to_thread(self.out.get, True, 120) for _ in self.procs]
        for p in self.procs:
            await asyncio.to_thread(p.join, 10)
        cpu = sum(r["cpu_s"] for r in results)
        return {"load_readings_per_s": round(sum(r["sent"] for r in results) / wall),
                "load_gen_cores": round(cpu / max(r["wall_s"] for r in results), 2)}
