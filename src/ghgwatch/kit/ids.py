"""Identifiers that name a request in logs and dead letters (not secrets).

``uuid.uuid4()`` reads the kernel's random source, and ``os.urandom`` releases the interpreter lock around the
system call; on a busy server, whose bus threads then take the lock, getting it back cost the event loop far more
than the call itself (py-spy at saturated ingest: 2.9 % of the loop thread's samples in ``uuid4``, for two calls a
request). These identifiers only need to be unique in practice, not unpredictable, so they come from a Mersenne
Twister of their own (seeded from the kernel at start and again in a forked child), which keeps the lock. Its own:
the identifiers are shown to clients, and what they reveal of the generator's state must not help anyone predict
the ``random`` module's shared generator that other code may use. Never use these for tokens or secrets
(``secrets`` is for those).
"""

from __future__ import annotations

import os
import random

_rng = random.Random()
os.register_at_fork(after_in_child=_rng.seed)


def request_id() -> str:
    """128 random bits as 32 hexadecimal digits (as ``uuid.uuid4().hex``, for a log's request id)."""
    return f"{_rng.getrandbits(128):032x}"


def short_ref() -> str:
    """64 random bits as 16 hexadecimal digits: one accepted request's readings in the dead letters."""
    return f"{_rng.getrandbits(64):016x}"
