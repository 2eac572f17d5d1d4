"""A real mosquitto on free loopback ports.

With accounts it runs the configuration that docker-compose ships (``deploy/compose/mosquitto/mosquitto.conf``
and its ACL file) with only the paths and ports replaced: password authentication, one account per device
(username = ``<organisation id>/<device id>``), devices may write only their own topic (organisation and device),
only the bridge reads, and MQTT over TLS on a second listener with a self-signed certificate.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.net import free_port
from tests.support.tls import self_signed

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
COMPOSE_DIR = Path(__file__).resolve().parents[2] / "deploy" / "compose" / "mosquitto"


@dataclass
class Mosquitto:
    port: int
    """Plain MQTT."""
    tls_port: int
    """MQTT over TLS, serving :attr:`certificate` (self-signed, for ``localhost`` and 127.0.0.1)."""
    certificate: Path
    passwd: Path
    proc: subprocess.Popen[bytes]

    def add_account(self, user: str, password: str) -> None:
        """Add a device account the way docs/security.md tells operators: mosquitto_passwd on a copy of the
        password file, the copy renamed over it, then SIGHUP. (mosquitto_passwd rewrites a file in place: a reload
        that read it half written disconnected the bridge and dropped its session, and a device's readings
        published before the bridge came back were lost; CI failed on it.)"""
        copy = self._copy()
        shutil.copyfile(self.passwd, copy)
        subprocess.run([PASSWD, "-b", str(copy), user, password], check=True, capture_output=True)
        self._install(copy)

    def rename_account(self, old: str, new: str) -> None:
        """Rename an account in the password file, keeping its hash (mosquitto's PBKDF2 hash does not cover the
        username), then SIGHUP: the upgrade recipe of docs/security.md for accounts named by device id alone."""
        lines = self.passwd.read_text().splitlines()
        renamed = [f"{new}:{line.split(':', 1)[1]}" if line.split(":", 1)[0] == old else line for line in lines]
        if renamed == lines:
            raise AssertionError(f"no account {old!r} in {self.passwd}")
        copy = self._copy()  # replaced whole, as sed -i does
        copy.write_text("\n".join(renamed) + "\n")
        self._install(copy)

    def _copy(self) -> Path:
        return self.passwd.with_name(self.passwd.name + ".new")

    def _install(self, copy: Path) -> None:
        """Rename the edited copy over the password file (atomic for a reload), then SIGHUP."""
        copy.chmod(0o644)
        copy.replace(self.passwd)
        self.proc.send_signal(signal.SIGHUP)


def compose_config(text: str, workdir: Path, port: int, tls_port: int) -> str:
    """The compose file's configuration with its container paths moved to ``workdir`` and its listeners to
    loopback ports; fails when the file no longer has what is replaced (so the tests follow the file)."""
    replacements = {"/mosquitto/config/": f"{workdir}/", "/mosquitto/data/": f"{workdir}/",
                    "/mosquitto/certs/": f"{workdir}/", "\nlistener 1883\n": f"\nlistener {port} 127.0.0.1\n",
                    "\nlistener 8883\n": f"\nlistener {tls_port} 127.0.0.1\n"}
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{COMPOSE_DIR / 'mosquitto.conf'} no longer contains {old!r}")
        text = text.replace(old, new)
    return text


@contextlib.contextmanager
def compose_mosquitto(users: dict[str, str]) -> Iterator[Mosquitto]:
    # Not under pytest's private tmp dir: mosquitto started as root drops to user "mosquitto", which must be
    # able to read its files.
    workdir = Path(tempfile.mkdtemp(prefix="ghgwatch-mosquitto-"))
    workdir.chmod(0o755)
    port, tls_port = free_port(), free_port()
    cert, key = self_signed(workdir)
    shutil.move(cert, workdir / "server.crt")
    shutil.move(key, workdir / "server.key")
    shutil.copy(COMPOSE_DIR / "acl", workdir / "acl")
    passwords = workdir / "passwd"
    passwords.touch()
    for user, password in users.items():
        subprocess.run([PASSWD, "-b", str(passwords), user, password], check=True, capture_output=True)
    conf = workdir / "mosquitto.conf"
    conf.write_text(compose_config((COMPOSE_DIR / "mosquitto.conf").read_text(), workdir, port, tls_port))
    for f in workdir.iterdir():
        f.chmod(0o644)
    proc = _start(conf, [port, tls_port])
    try:
        yield Mosquitto(port, tls_port, workdir / "server.crt", passwords, proc)
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def running_mosquitto(users: dict[str, str] | None) -> Iterator[int]:
    """Yield the plain port. ``users=None``: anonymous access, no ACL (a plain broker for client tests);
    otherwise the compose configuration (:func:`compose_mosquitto`)."""
    if users is not None:
        with compose_mosquitto(users) as broker:
            yield broker.port
        return
    workdir = Path(tempfile.mkdtemp(prefix="ghgwatch-mosquitto-"))
    workdir.chmod(0o755)
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\npersistence false\nmax_queued_messages 100000\n"
                    "allow_anonymous true\n")
    conf.chmod(0o644)
    proc = _start(conf, [port])
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def _start(conf: Path, ports: list[int]) -> subprocess.Popen[bytes]:
    log = conf.with_suffix(".log")  # a file, not a pipe: an unread pipe would block mosquitto once full
    with log.open("wb") as out:
        proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    proc.wait(10)
                    raise RuntimeError(f"mosquitto did not start: {log.read_text()}") from None
                time.sleep(0.05)
    return proc
