"""Probes and HTTPS (issue 12): liveness without the database, readiness without exception text, the API served
over TLS when given a certificate and a key."""

from __future__ import annotations

import logging
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ghgwatch.settings import build_settings
from tests.support.net import free_port
from tests.support.tls import self_signed as _self_signed


async def test_liveness_needs_no_database_and_readiness_hides_the_cause(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from ghgwatch.web import create_app

    nowhere = f"postgresql+asyncpg://ghgwatch:secret-pw@127.0.0.1:{free_port()}/nothing"  # nothing listens there
    settings = build_settings(data_dir=tmp_path / "data", db={"url": nowhere},
                              security={"jwt_secret": "test-secret-key-that-is-long-enough-for-hs256"})
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        live = await client.get("/livez")
        assert live.status_code == 200 and live.json()["status"] == "alive"
        with caplog.at_level(logging.WARNING):
            ready = await client.get("/healthz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "database unavailable"}  # no exception text, host, port or password
        assert (await client.get("/readyz")).status_code == 503
    assert any(r.exc_info for r in caplog.records if "database does not answer" in r.getMessage())


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHGWATCH_")}
    return env | extra


def test_https_served_when_certificate_and_key_are_given(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    port = free_port()
    env = _env(GHGWATCH_API__TLS_CERTFILE=str(cert), GHGWATCH_API__TLS_KEYFILE=str(key))
    proc = subprocess.Popen([sys.executable, "-m", "ghgwatch", "up", "--port", str(port),
                             "--data-dir", str(tmp_path / "data")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    trusted = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                answer = httpx.get(f"https://127.0.0.1:{port}/livez", verify=trusted, timeout=2)
                break
            except httpx.ConnectError as exc:
                if isinstance(exc.__cause__, ssl.SSLCertVerificationError):
                    raise
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "ghgwatch up did not start"
            time.sleep(0.3)
        assert answer.status_code == 200 and answer.json()["status"] == "alive"
        assert answer.url.scheme == "https"
        with pytest.raises(httpx.TransportError):  # no plain HTTP on the port
            httpx.get(f"http://127.0.0.1:{port}/livez", timeout=5)
        with pytest.raises(httpx.ConnectError):  # a client that does not trust the certificate is refused
            httpx.get(f"https://127.0.0.1:{port}/livez", timeout=5)
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode()
    assert f"https://127.0.0.1:{port}" in output


def test_a_certificate_that_does_not_load_stops_the_start(tmp_path: Path) -> None:
    cert, _ = _self_signed(tmp_path)
    other_key = ec.generate_private_key(ec.SECP256R1())
    wrong = tmp_path / "other-key.pem"
    wrong.write_bytes(other_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    env = _env(GHGWATCH_API__TLS_CERTFILE=str(cert), GHGWATCH_API__TLS_KEYFILE=str(wrong))
    done = subprocess.run([sys.executable, "-m", "ghgwatch", "up", "--port", str(free_port()),
                           "--data-dir", str(tmp_path / "data")],
                          env=env, capture_output=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "cannot load the TLS certificate" in (done.stdout + done.stderr).decode()
