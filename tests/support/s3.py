"""A real S3 API server for the tests: ``moto_server`` (moto in server mode, in memory) on a free port.

    from tests.support.s3 import running_s3

    with running_s3() as s3:
        s3.create_bucket("lake")      # s3.endpoint == "http://127.0.0.1:<port>"
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.net import free_port

KEY = "test-key"
SECRET = "test-secret"


@dataclass(frozen=True)
class S3Server:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def create_bucket(self, name: str) -> None:
        import boto3

        boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                     region_name="us-east-1").create_bucket(Bucket=name)

    def lake_settings(self, bucket: str, prefix: str = "lake") -> dict[str, str]:
        return {"url": f"s3://{bucket}/{prefix}", "s3_endpoint_url": self.endpoint, "s3_key": KEY,
                "s3_secret": SECRET}


def _moto_server() -> list[str]:
    script = Path(sys.executable).with_name("moto_server")
    return [str(script)] if script.exists() else [sys.executable, "-m", "moto.server"]


@contextmanager
def running_s3(ready_timeout_s: float = 30.0) -> Iterator[S3Server]:
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below, after the server stopped)
    process = subprocess.Popen([*_moto_server(), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log,
                               stdin=subprocess.DEVNULL, env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"})
    server = S3Server(port, process)
    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"moto_server exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                httpx.get(server.endpoint, timeout=0.5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()
