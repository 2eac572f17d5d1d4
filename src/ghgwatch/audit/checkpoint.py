"""Signed checkpoints of the audit chain, kept outside the database.

The MACs of ``audit/anchor.py`` stop someone who can write to the database but lacks the audit key from
rebuilding the chain. They do not catch two things: cutting off the newest entries while putting back an earlier
copy of the head row (its MAC was valid then), and a chain rebuilt by someone who has the key. A checkpoint
records the chain's length and the hash of its last entry at one moment, signed with the audit key
(HMAC-SHA256), in a file meant to be stored elsewhere (another system, write-once storage, a printout).
Verifying against it later proves that the chain still holds that entry with that hash: a shorter chain
(truncation) or a different hash at that position (a rebuilt chain) is reported.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.audit.models import AuditEntry, AuditHead
from ghgwatch.audit.service import GENESIS, AuditProblem, verify
from ghgwatch.kit.timeutil import utcnow

FORMAT = "ghgwatch-audit-checkpoint/1"


class CheckpointError(ValueError):
    """The chain cannot be checkpointed, or a checkpoint file is unreadable or not signed with this key."""


@dataclass(frozen=True)
class Checkpoint:
    count: int
    """Entries in the chain at the checkpoint (entry ids run 1..count)."""
    head_hash: str
    created: datetime

    def body(self) -> dict[str, Any]:
        return {"format": FORMAT, "count": self.count, "head_hash": self.head_hash,
                "created": self.created.isoformat()}


def _mac(key: bytes, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, b"checkpoint|" + canonical.encode(), hashlib.sha256).hexdigest()


def dumps(checkpoint: Checkpoint, key: bytes) -> str:
    body = checkpoint.body()
    return json.dumps({**body, "mac": _mac(key, body)}, indent=2) + "\n"


def loads(text: str, key: bytes) -> Checkpoint:
    """Parse and authenticate a checkpoint file; :class:`CheckpointError` says what is wrong with it."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CheckpointError(f"not a checkpoint file (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"not a checkpoint file (format must be {FORMAT!r})")
    try:
        checkpoint = Checkpoint(count=data["count"], head_hash=data["head_hash"],
                                created=datetime.fromisoformat(data["created"]))
        given = data["mac"]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint file incomplete or malformed ({exc!r})") from None
    if not (isinstance(checkpoint.count, int) and checkpoint.count >= 0 and isinstance(given, str)
            and isinstance(checkpoint.head_hash, str)):
        raise CheckpointError("checkpoint file malformed (count, head_hash or mac of the wrong type)")
    if not hmac.compare_digest(given, _mac(key, checkpoint.body())):
        raise CheckpointError("the checkpoint's signature does not match the audit key (file edited, or signed "
                              "with another key)")
    return checkpoint


async def take(session: AsyncSession) -> Checkpoint:
    """The chain's current length and head hash, after verifying it (a broken chain is never checkpointed)."""
    checked, problem = await verify(session)
    if problem is not None:
        raise CheckpointError(f"not checkpointed: {problem}")
    head = (await session.execute(select(AuditHead).where(AuditHead.id == 1))).scalar_one_or_none()
    count, head_hash = (0, GENESIS) if head is None else (head.last_seq, head.last_hash)
    if count != checked:  # verify() compares them; a concurrent append between the two reads lands here
        raise CheckpointError("the chain grew while it was checkpointed; try again")
    return Checkpoint(count=count, head_hash=head_hash, created=utcnow())


async def check(session: AsyncSession, checkpoint: Checkpoint) -> AuditProblem | None:
    """Whether the chain still holds the checkpoint's last entry, with the same hash."""
    if checkpoint.count == 0:
        return None
    entry = await session.get(AuditEntry, checkpoint.count)
    if entry is None:
        present = (await session.execute(select(func.count()).select_from(AuditEntry))).scalar_one()
        return AuditProblem(checkpoint.count, f"missing: the checkpoint of {checkpoint.created.isoformat()} saw "
                                              f"{checkpoint.count} entries, the chain has {present} (truncated)")
    if entry.hash != checkpoint.head_hash:
        return AuditProblem(checkpoint.count, f"hash differs from the checkpoint of "
                                              f"{checkpoint.created.isoformat()} (chain rebuilt)")
    return None
