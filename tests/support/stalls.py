"""What a running platform was doing when a test's wait ran out: for the "no alert within N s" kind of failure that
happens once under load and not again (issue 10), so that its one occurrence says where things stood.

:func:`wait_until` polls a condition and, when the time is up (or the check itself hangs past it), fails with
:func:`stall_report`: every asyncio task with its await chain, every thread's stack, the platform's services (alert
service, pipeline and its consumer's positions, the bus's backlog, the sensor cache), the database pool, and on
PostgreSQL the server's sessions and the locks they wait for. Called directly, :func:`stall_report` also logs it
(``tests.stalls``, ERROR): a wait that returns instead of failing (``AlertPlatform.wait_for``) leaves it in the
captured log of the test that then fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import linecache
import logging
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from ghgwatch.store import Database

log = logging.getLogger("tests.stalls")
QUERY_S = 5.0
"""How long the report waits for each of its own queries (lag, PostgreSQL activity): a stalled database must not
stall the report too. Chosen: a query on an idle loopback server answers in milliseconds."""
THREAD_FRAMES = 25
"""The innermost frames kept per thread (our choice): enough to show the blocking call and who made it."""
MAX_CHAIN = 100
"""Links followed down one await chain (our choice; far deeper than any chain here, it only guards against a cycle)."""


def _where(frame: Any) -> str:
    code = frame.f_code
    line = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return f'    File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}\n      {line}'


def await_chain(coro: Any) -> list[str]:
    """The frames a coroutine is suspended in, outermost first, down to what it waits for. (``Task.get_stack`` shows
    only the outermost frame of a suspended coroutine.) Async generators (``async with`` of an
    ``asynccontextmanager``, ``async for``) are followed through their ``asend`` objects."""
    out: list[str] = []
    obj, seen = coro, 0
    while obj is not None and seen < MAX_CHAIN:
        seen += 1
        frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None) or getattr(obj, "ag_frame", None)
        if frame is not None:
            out.append(_where(frame))
        nxt = next((v for a in ("cr_await", "gi_yieldfrom", "ag_await") if (v := getattr(obj, a, None)) is not None),
                   None)
        if nxt is None and frame is None:  # a C object: an asend of an async generator, a future's iterator
            nxt = next((r for r in gc.get_referents(obj) if inspect.isasyncgen(r) or isinstance(r, asyncio.Future)),
                       None)
            if isinstance(nxt, asyncio.Future):
                out.append(f"    waiting for {nxt!r}")
                break
        elif nxt is None:
            break
        obj = nxt
    return out


def task_stacks() -> str:
    """Every task of the running loop with its await chain."""
    tasks = sorted(asyncio.all_tasks(), key=lambda t: t.get_name())
    parts = [f"asyncio tasks ({len(tasks)}):"]
    for task in tasks:
        state = "cancelling" if task.cancelling() else "pending"
        parts.append(f"  task {task.get_name()!r} ({state}, coro {task.get_coro().__qualname__}):")
        parts.extend(await_chain(task.get_coro()) or ["    (running: the task that writes this report)"])
    return "\n".join(parts)


def thread_stacks() -> str:
    """Every thread's stack (innermost ``THREAD_FRAMES`` frames)."""
    names = {t.ident: f"{t.name}{' (daemon)' if t.daemon else ''}" for t in threading.enumerate()}
    parts = ["threads:"]
    for ident, frame in sys._current_frames().items():
        parts.append(f"  thread {names.get(ident, '?')} ({ident}):")
        parts.extend("    " + line.rstrip().replace("\n", "\n    ")
                     for line in traceback.format_stack(frame)[-THREAD_FRAMES:])
    return "\n".join(parts)


def _names(hooks: Iterable[Any]) -> list[str]:
    return [getattr(h, "__qualname__", repr(h)) for h in hooks]


def _locked(lock: Any) -> str:
    waiters = getattr(lock, "_waiters", None)
    return f"{'held' if lock.locked() else 'free'}, {len(waiters) if waiters else 0} waiting"


def _task_state(task: asyncio.Task[Any] | None) -> str:
    if task is None:
        return "none"
    if not task.done():
        return "running"
    if task.cancelled():
        return "CANCELLED"
    return f"ENDED ({task.exception()!r})"


def alerts_state(svc: Any, sensors: Iterable[int]) -> list[str]:
    out = [f"alert service: judged at accept {svc.judged_at_accept}, live queue {svc._live.qsize()}, "
           f"engine lock {_locked(svc._lock)}, rebuild lock {_locked(svc._rebuilding)}, "
           f"engine sensors {len(svc.engine.sensor_ids())}, readings of sensors it did not know "
           f"{svc.engine.unknown_readings} (still unknown after a reload: {svc._unknown_at}), late readings "
           f"{svc.engine.late_readings}, events the database did not take yet {len(svc._unsaved)}, open in the engine "
           f"{[oa.key for oa in svc.engine.open_alerts()]}, stored ids {dict(svc.ids)}",
           "  its tasks: " + ", ".join(f"{t.get_name()} {_task_state(t)}" for t in svc._tasks)]
    out.extend(f"  sensor {sensor}: known to the engine {not svc.engine.unknown([str(sensor)])}, "
               f"last judged ts {svc.engine.last_ts(str(sensor))}" for sensor in sensors)
    return out


async def pipeline_state(pipeline: Any, bus: Any) -> list[str]:
    out = [f"pipeline: task {_task_state(pipeline._task)}, polls {pipeline.polls}, readings stored {pipeline.stored}, "
           f"hooks {_names(pipeline.hooks)}"]
    consumer = pipeline.consumer
    if consumer is None:
        out.append("  consumer: none running")
    else:
        positions = getattr(consumer, "_positions", None)
        out.append(f"  consumer positions (next offset to read): {positions}")
        try:
            async with asyncio.timeout(QUERY_S):
                out.append(f"  consumer lag (uncommitted): {await consumer.lag()}")
        except Exception as exc:  # the report goes on without it
            out.append(f"  consumer lag: failed ({exc!r})")
    store = getattr(bus, "_store", None)  # the embedded bus: its logs' ends
    if store is not None:
        ends = {f"{topic}/{p.partition}": p.high_watermark for topic, logs in store.topics.items()
                if "readings" in topic for p in logs}
        out.append(f"  bus log ends {ends}, committed by the pipeline {store.committed('pipeline')}")
    return out


def sensors_state(cache: Any, sensors: Iterable[int]) -> list[str]:
    age = time.monotonic() - cache._loaded_at
    return [f"sensor cache: {len(cache._sensors)} sensors, loaded {age:.1f} s ago, lock {_locked(cache._lock)}, "
            f"missing {dict(cache._missing)}, knows {[s for s in sensors if s in cache._sensors]} of {list(sensors)}"]


def database_state(db: Database) -> list[str]:
    turn = db.state.get("write_turn")
    turn_state = "none" if turn is None else (f"{'held' if turn.locked() else 'free'}, waiting urgent "
                                              f"{len(turn._waiters[0])} ordinary {len(turn._waiters[1])}")
    return [f"database pool: {db.engine.pool.status()}", f"write turn (SQLite): {turn_state}"]


async def postgres_activity(url: str) -> list[str]:
    """The server's sessions on this database (what each runs or waits for) and the locks not granted, read over a
    connection of its own (the platform's pool may be what is exhausted)."""
    engine = create_async_engine(url, poolclass=NullPool)
    started = time.perf_counter()
    timings = []
    try:
        async with asyncio.timeout(QUERY_S), engine.connect() as conn:
            timings.append(f"connected in {time.perf_counter() - started:.3f} s")
            started = time.perf_counter()
            await conn.execute(text("SELECT txid_current()"))  # an id makes the commit write and flush the WAL
            await conn.commit()
            timings.append(f"a commit took {time.perf_counter() - started:.3f} s")
            sessions = (await conn.execute(text(
                "SELECT pid, state, wait_event_type, wait_event, now() - xact_start AS in_xact, "
                "now() - state_change AS in_state, left(query, 160) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY xact_start"))).all()
            waits = (await conn.execute(text(
                "SELECT l.pid, l.locktype, l.mode, l.relation::regclass::text, l.objid, pg_blocking_pids(l.pid) "
                "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE NOT l.granted AND a.datname = current_database()"))).all()
    except Exception as exc:  # the report goes on without it
        return [f"postgresql activity: failed after {'; '.join(timings) or 'no connection'} ({exc!r})"]
    finally:
        await engine.dispose()
    out = [f"postgresql, over a connection of the report's own: {'; '.join(timings)}",
           f"postgresql sessions on this database ({len(sessions)}):"]
    out += [f"  pid {r[0]} {r[1]} wait {r[2]}/{r[3]} in transaction {r[4]} in state {r[5]}: {r[6]!r}" for r in sessions]
    out.append(f"postgresql locks waited for: {[tuple(r) for r in waits] or 'none'}")
    return out


async def stall_report(what: str, *, extras: Mapping[str, Any] | None = None, db: Database | None = None,
                       sensors: Iterable[int] = (), logged: bool = True) -> str:
    """Everything this module knows how to tell about a platform that did not do ``what`` in time; never raises.
    ``logged``: also log it (``tests.stalls``, ERROR), for a caller that does not fail with it."""
    sensors = list(sensors)
    parts = [f"STALL: {what}", f"at {time.strftime('%H:%M:%S')} UTC; load average {_loadavg()}"]
    sections: list[tuple[str, Callable[[], Any]]] = []
    if extras is not None:
        if "alerts" in extras:
            sections.append(("alerts", lambda: alerts_state(extras["alerts"], sensors)))
        if "pipeline" in extras:
            sections.append(("pipeline", lambda: pipeline_state(extras["pipeline"], extras.get("bus"))))
        if "sensors" in extras:
            sections.append(("sensors", lambda: sensors_state(extras["sensors"], sensors)))
        if "ingestor" in extras:
            sections.append(("ingest", lambda: [f"ingest hooks: {_names(extras['ingestor'].hooks)}"]))
    if db is not None:
        sections.append(("database", lambda: database_state(db)))
        if db.dialect == "postgresql":
            sections.append(("postgresql", lambda: postgres_activity(db.url)))
    for name, section in sections:
        try:
            lines = section()
            parts.extend(await lines if inspect.isawaitable(lines) else lines)
        except Exception as exc:  # one broken section must not hide the others
            parts.append(f"{name}: the report failed: {exc!r}")
    parts += [task_stacks(), thread_stacks()]
    report = "\n".join(parts)
    if logged:
        log.error("%s", report)
    return report


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


async def wait_until(check: Callable[[], Awaitable[bool] | bool], within_s: float, what: str | Callable[[], str], *,
                     extras: Mapping[str, Any] | None = None, db: Database | None = None, sensors: Iterable[int] = (),
                     interval_s: float = 0.05) -> None:  # 0.05 s: the polling step these tests used before
    """Poll ``check`` until it holds (at least once, even with no time left); after ``within_s`` (also when one call of
    ``check`` hangs past it) fail with a :func:`stall_report` (``what``: what did not happen, or a function that says so
    at that moment). The report also tells the longest gap between two polls: a long one means the event loop itself
    was blocked (a blocking call in a coroutine) rather than a task waiting."""
    started = time.monotonic()
    deadline = started + within_s
    last, longest, polls = started, 0.0, 0
    while True:
        now = time.monotonic()
        longest, last = max(longest, now - last), now
        remaining = deadline - now
        held = False
        if remaining > 0 or not polls:
            polls += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining if remaining > 0 else QUERY_S):
                    outcome = check()
                    held = bool(await outcome if inspect.isawaitable(outcome) else outcome)
        if held:
            return
        if time.monotonic() >= deadline:
            said = what() if callable(what) else what
            report = await stall_report(
                f"{said}: not within {within_s:.1f} s ({polls} checks; longest gap between two {longest:.2f} s)",
                extras=extras, db=db, sensors=sensors, logged=False)
            raise AssertionError(report)
        await asyncio.sleep(interval_s)
