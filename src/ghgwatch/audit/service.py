"""Append to and verify the audit chain.

Each entry's hash is SHA-256 over the canonical JSON of its fields and the previous entry's hash, so
changing any stored field, removing a row in the middle (a gap in the sequence) or at the end (the head
row no longer matches) is detected by :func:`verify`. Appends take a row lock on the head (PostgreSQL);
SQLite serialises writers anyway. Entries and the head also carry an HMAC under a key held outside the
database (``audit/anchor.py``), so that a chain rebuilt by someone who can write to the database is detected.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.audit import anchor
from ghgwatch.audit.models import AuditEntry, AuditHead
from ghgwatch.kit.timeutil import ensure_utc, utcnow
from ghgwatch.store.base import Base
from ghgwatch.store.dialect import supports_for_update

GENESIS = "0" * 64


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return ensure_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


REDACTED = "[redacted]"


def snapshot(obj: Base) -> dict[str, Any]:
    """The column values of an ORM object as JSON-ready data (for ``before``/``after``).

    Columns marked ``info={"secret": True}`` are written as ``"[redacted]"`` (or ``None`` when empty): the
    chain cannot be edited afterwards, so a secret must never enter it.
    """
    mapper = inspect(type(obj))
    return {c.key: _redacted(getattr(obj, c.key)) if any(col.info.get("secret") for col in c.columns)
            else _plain(getattr(obj, c.key)) for c in mapper.column_attrs}


def _redacted(value: Any) -> str | None:
    return None if value is None else REDACTED


def _normalise(data: dict[str, Any] | None) -> dict[str, Any] | None:
    # Round-trip through JSON so that what is hashed equals what the database gives back.
    return None if data is None else json.loads(json.dumps(data, default=_plain, sort_keys=True))


def _digest(entry: AuditEntry) -> str:
    body = {
        "id": entry.id,
        "ts": ensure_utc(entry.ts).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "organization_id": entry.organization_id,
        "before": entry.before,
        "after": entry.after,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object = None,
    organization_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the change)."""
    stmt = select(AuditHead).where(AuditHead.id == 1)
    if supports_for_update(session.get_bind().dialect.name):
        stmt = stmt.with_for_update()
    head = (await session.execute(stmt)).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, last_seq=0, last_hash=GENESIS)
        session.add(head)
    entry = AuditEntry(
        id=head.last_seq + 1,
        ts=utcnow(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        organization_id=organization_id,
        before=_normalise(before),
        after=_normalise(after),
        prev_hash=head.last_hash,
    )
    entry.hash = _digest(entry)
    head.last_seq = entry.id
    head.last_hash = entry.hash
    if (key := anchor.current_key()) is not None:
        entry.mac = anchor.entry_mac(key, entry.hash)
        head.mac = anchor.head_mac(key, head.last_seq, head.last_hash)
    session.add(entry)
    await session.flush()
    return entry


async def record_update(
    session: AsyncSession,
    *,
    actor: str,
    entity: str,
    entity_id: object,
    organization_id: int | None,
    before: dict[str, Any],
    obj: Base,
) -> AuditEntry | None:
    """Append an ``update`` entry for ``obj`` unless nothing changed since ``before`` (its earlier snapshot)."""
    after = snapshot(obj)
    if after == before:
        return None
    return await record(session, actor=actor, action="update", entity=entity, entity_id=entity_id,
                        organization_id=organization_id, before=before, after=after)


@dataclass(frozen=True)
class AuditProblem:
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"audit entry {self.seq}: {self.reason}"


_UNSET = b""


async def verify(session: AsyncSession, *, batch: int = 5000, key: bytes | None = _UNSET
                 ) -> tuple[int, AuditProblem | None]:
    """Walk the chain; return the number of entries checked and the first problem, if any.

    ``key``: the audit key whose MACs every entry and the head must carry (default: the installed one;
    ``None``: check the hash chain only).
    """
    if key == _UNSET:
        key = anchor.current_key()
    expected_seq, prev_hash, checked, last_id = 1, GENESIS, 0, 0
    while True:
        rows = (
            await session.execute(
                select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
            )
        ).scalars().all()
        if not rows:
            break
        for entry in rows:
            if entry.id != expected_seq:
                return checked, AuditProblem(expected_seq, f"missing (next present entry is {entry.id})")
            if entry.prev_hash != prev_hash:
                return checked, AuditProblem(entry.id, "previous-hash link broken")
            if _digest(entry) != entry.hash:
                return checked, AuditProblem(entry.id, "content does not match its hash (altered)")
            if key is not None and (problem := _mac_problem(entry, key)) is not None:
                return checked, problem
            prev_hash, expected_seq, checked, last_id = entry.hash, entry.id + 1, checked + 1, entry.id
        session.expunge_all()
    head = (await session.execute(select(AuditHead).where(AuditHead.id == 1))).scalar_one_or_none()
    head_seq, head_hash = (0, GENESIS) if head is None else (head.last_seq, head.last_hash)
    if head_seq != checked or head_hash != prev_hash:
        return checked, AuditProblem(checked + 1, f"entries after {checked} removed (head says {head_seq})")
    if key is not None and head is not None and not anchor.macs_match(head.mac, anchor.head_mac(key, head_seq,
                                                                                                 head_hash)):
        return checked, AuditProblem(checked, "the head's MAC does not match the audit key (head rewritten)")
    return checked, None


def _mac_problem(entry: AuditEntry, key: bytes) -> AuditProblem | None:
    if entry.mac is None:
        return AuditProblem(entry.id, "no MAC: written before anchoring (run `ghgwatch audit anchor` once) "
                                      "or stripped")
    if not anchor.macs_match(entry.mac, anchor.entry_mac(key, entry.hash)):
        return AuditProblem(entry.id, "MAC does not match the audit key (entry rebuilt without the key, "
                                      "or a different key is configured)")
    return None


async def anchor_chain(session: AsyncSession, key: bytes, *, batch: int = 5000) -> int:
    """MAC every entry that has none (entries from before anchoring) once the hash chain checks out.

    Returns the number of entries anchored. Refuses (``ValueError``) when the chain is broken, so that a
    tampered chain is never blessed. Existing MACs are checked, not rewritten.
    """
    _checked, problem = await verify(session, batch=batch, key=None)
    if problem is not None:
        raise ValueError(str(problem))
    anchored, last_id = 0, 0
    while True:
        rows = (await session.execute(select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id)
                                      .limit(batch))).scalars().all()
        if not rows:
            break
        for entry in rows:
            if entry.mac is None:
                entry.mac = anchor.entry_mac(key, entry.hash)
                anchored += 1
            elif (mismatch := _mac_problem(entry, key)) is not None:
                raise ValueError(str(mismatch))
            last_id = entry.id
        await session.flush()
    head = (await session.execute(select(AuditHead).where(AuditHead.id == 1))).scalar_one_or_none()
    if head is not None:
        head.mac = anchor.head_mac(key, head.last_seq, head.last_hash)
    await session.flush()
    return anchored
