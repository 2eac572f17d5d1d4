"""Identifiers that name a request in logs and dead letters (not secrets).

``uuid.uuid4()`` reads the kernel's random source, and ``os.urandom`` releases the interpreter lock around the
system call; on a busy server, whose bus threads then take the lock, getting it back cost the event loop far more
than the call itself (py-spy at saturated ingest: 2.9 % of the loop thread's samples in ``uuid4``, for two calls a
request). These identifiers only need to be unique in practice, not unpredictable: they come from the ``random``
module's generator (seeded from the kernel at start, and again in a forked child), which keeps the lock.
"""

from __future__ import annotations

import random


def request_id() -> str:
    """128 random bits as 32 hexadecimal digits (as ``uuid.uuid4().hex``, for a log's request id)."""
    return f"{random.getrandbits(128):032x}"


def short_ref() -> str:
    """64 random bits as 16 hexadecimal digits: one accepted request's readings in the dead letters."""
    return f"{random.getrandbits(64):016x}"
