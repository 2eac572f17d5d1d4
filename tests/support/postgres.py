"""A real PostgreSQL for the tests: a throwaway cluster started from the Debian binaries (INFRA.md §2a; fsync
off, it holds nothing worth keeping), one per test run (``tests/conftest.py`` starts it before the xdist workers
and hands its URL over in ``GHGWATCH_TEST_PG_ADMIN_URL``), else the server on 127.0.0.1:5432 when there are no
binaries. The host's server ran with fsync on: each test's commits waited on the disk and a DROP DATABASE (it
checkpoints) once took 88 s under load."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

from tests.support.net import free_port


def _listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0



def _pg_bin() -> Path | None:
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / "initdb").exists():
            return root
    return None


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a libpq URL of a PostgreSQL server (admin database ``postgres``)."""
    if url := os.environ.get("GHGWATCH_TEST_PG_ADMIN_URL"):
        yield url
        return
    if _pg_bin() is None and _listening("127.0.0.1", 5432):
        url = "postgresql://postgres@127.0.0.1:5432/postgres"
        try:
            psycopg.connect(url, connect_timeout=3).close()
            yield url
            return
        except psycopg.Error:
            pass
    with throwaway_server() as url:
        yield url


@contextlib.contextmanager
def throwaway_server() -> Iterator[str]:
    """A cluster of its own on a free port, fsync off; removed afterwards."""
    cluster = ThrowawayCluster()
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.remove()


def create_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def asyncpg_url(libpq_url: str) -> str:
    return libpq_url.replace("postgresql://", "postgresql+asyncpg://", 1)


class ThrowawayCluster:
    """A PostgreSQL cluster of its own (Debian binaries) that a test may stop and start again on the same port
    (outage tests); also the test run's cluster (:func:`throwaway_server`)."""

    def __init__(self) -> None:
        bin_dir = _pg_bin()
        if bin_dir is None:
            raise RuntimeError("no initdb in /usr/lib/postgresql")
        self.bin = bin_dir
        self.tmp = Path(tempfile.mkdtemp(prefix="ghgwatch-pg-"))
        self.port = free_port()
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.run_as:
            shutil.chown(self.tmp, "postgres")
        subprocess.run([*self.run_as, str(self.bin / "initdb"), "-D", str(self.tmp / "data"), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--no-sync"], check=True, capture_output=True)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        # max_connections: headroom for four workers and the servers they start (PostgreSQL's default is 100).
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.tmp} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=400")
        subprocess.run([*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.tmp / "data"), "-l",
                        str(self.tmp / "log"), "-w", "-o", options, "start"], check=True, capture_output=True)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run([*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.tmp / "data"), "-m", mode, "-w",
                        "stop"], check=False, capture_output=True)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.tmp, ignore_errors=True)
