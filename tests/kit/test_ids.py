"""Request ids and ingest refs: the shape callers rely on, and a forked child does not repeat its parent's."""

from __future__ import annotations

import os
import re

from ghgwatch.kit.ids import request_id, short_ref


def test_shapes_and_no_repeats() -> None:
    ids = {request_id() for _ in range(10_000)}
    refs = {short_ref() for _ in range(10_000)}
    assert len(ids) == 10_000 and len(refs) == 10_000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert all(re.fullmatch(r"[0-9a-f]{16}", r) for r in refs)


def test_a_forked_child_draws_other_ids_than_its_parent() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        try:
            os.write(write, " ".join(request_id() for _ in range(3)).encode())
        finally:
            os._exit(0)
    os.close(write)
    mine = [request_id() for _ in range(3)]
    with os.fdopen(read) as pipe:
        theirs = pipe.read().split()
    os.waitpid(pid, 0)
    assert len(theirs) == 3 and not set(theirs) & set(mine)
