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
def running_mosquitto(users: dict[str, str]) -> Iterator[int]:
    # Not under pytest's private tmp dir: mosquitto started as root drops to user "mosquitto", which must be
    # able to read its files.
    workdir = Path(tempfile.mkdtemp(prefix="ghgwatch-mosquitto-"))
    workdir.chmod(0o755)
    passwords = workdir / "passwd"
    passwords.touch()
    for user, password in users.items():
        subprocess.run([PASSWD, "-b", str(passwords), user, password], check=True, capture_output=True)
    acl = workdir / "acl"
    acl.write_text("user ghgwatch-bridge\ntopic read ghgwatch/+/+/readings\n\n"
                   "pattern write ghgwatch/+/%u/readings\n")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
                    f"acl_file {acl}\npersistence false\nmax_queued_messages 100000\n")
    for f in (passwords, acl, conf):
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
