"""A real mosquitto on a free loopback port with password authentication and per-device topic ACLs
(the production recipe: devices log in as their device id and may write only their own topic)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.net import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"



@contextlib.contextmanager
def running_mosquitto(users: dict[str, str] | None) -> Iterator[int]:
    """Yield the port. ``users=None``: anonymous access, no ACL (a plain broker for client tests)."""
    # Not under pytest's private tmp dir: mosquitto started as root drops to user "mosquitto", which must be
    # able to read its files.
    workdir = Path(tempfile.mkdtemp(prefix="ghgwatch-mosquitto-"))
    workdir.chmod(0o755)
    port = free_port()
    conf = workdir / "mosquitto.conf"
    lines = [f"listener {port} 127.0.0.1", "persistence false", "max_queued_messages 100000"]
    if users is None:
        lines.append("allow_anonymous true")
    else:
        passwords = workdir / "passwd"
        passwords.touch()
        for user, password in users.items():
            subprocess.run([PASSWD, "-b", str(passwords), user, password], check=True, capture_output=True)
        acl = workdir / "acl"
        acl.write_text("user ghgwatch-bridge\ntopic read ghgwatch/+/+/readings\n\n"
                       "pattern write ghgwatch/+/%u/readings\n")
        lines += ["allow_anonymous false", f"password_file {passwords}", f"acl_file {acl}"]
    conf.write_text("\n".join(lines) + "\n")
    for f in workdir.iterdir():
        f.chmod(0o644)
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"mosquitto did not start: {err}") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
