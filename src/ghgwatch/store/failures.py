"""Which storage failures are outages (the database or the connection failed) rather than the data's fault.

The pipeline retries an outage for as long as it lasts and sets a record aside only after it failed with the
database up (``pipeline/runner.py``). A failure is an outage when any exception in its chain is a connection or
operating-system error, an SQLAlchemy error of the connection (``InterfaceError``, or one that invalidated its
connection), SQLite's "database is locked", an asyncpg client-state error of a broken connection, or a PostgreSQL
error of SQLSTATE class 08 (connection exception), 53 (insufficient resources), 57 (operator intervention:
shutting down, "the database system is starting up" = 57P03) or 40 (transaction rollback: serialization failure,
deadlock): PostgreSQL documentation, Appendix A "PostgreSQL Error Codes". A test run lost 100 acknowledged
readings to a dead letter when PostgreSQL answered "starting up" after an outage (the failures during the outage
had been counted against the batch).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "53", "57", "40"})
_SQLITE_BUSY = ("database is locked", "database table is locked")  # SQLITE_BUSY, SQLITE_LOCKED
_BROKEN_CONNECTION = frozenset({"InternalClientError", "ConnectionDoesNotExistError", "InterfaceError",
                                "ConnectionFailureError", "CannotConnectNowError"})


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        orig = getattr(e, "orig", None)
        todo.extend([e.__cause__, e.__context__, orig if isinstance(orig, BaseException) else None])


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database or the connection failed, not what was being written."""
    for e in _chain(exc):
        if getattr(e, "storage_outage", False):  # carried over from the store process (store_process.py)
            return True
        if isinstance(e, (OSError, TimeoutError)):  # ConnectionError is an OSError
            return True
        # Not every OperationalError: SQLite raises it for "too many SQL variables" or "no such table" too,
        # which retrying forever would not cure (the health probe decides those).
        if isinstance(e, (sa_exc.InterfaceError, sa_exc.DisconnectionError)):
            return True
        if isinstance(e, sa_exc.OperationalError) and any(m in str(e) for m in _SQLITE_BUSY):
            return True
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return True
        if type(e).__name__ in _BROKEN_CONNECTION:
            return True
        code = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(code, str) and code[:2] in OUTAGE_SQLSTATE_CLASSES:
            return True
    return False
