"""One ``ghgwatch up --demo`` per test module and a real Chromium (``/usr/bin/chromium``) through Playwright.

Every page a test opens records the hosts it contacts; a request to any host but the demo server fails the
test (the UI must work offline). Screenshots of the pages go to ``docs/ui/`` (shown in docs/ui.md).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.net import free_port

API_TIMEOUT_S = 60.0
# Web-first assertions wait up to 30 s (Playwright's default is 5 s): the alerts list of a page loaded while the
# demo's backfill and other test workers share two cores took longer than 5 s in a full run. No speed is measured
# here (benchmarks/ui.py does that).
expect.set_options(timeout=30_000)
"""How long the tests' own API calls may take: the demo answers in milliseconds on a quiet machine, but a flight upload
or a first analytics request took over httpx's default 5 s in a full run beside other work (load 15). These calls set up
or check what the browser shows; they measure no speed."""
api = httpx.Client(timeout=API_TIMEOUT_S)

CHROMIUM = "/usr/bin/chromium"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "ui"
pytestmark = pytest.mark.browser


@dataclass
class Demo:
    base: str
    data: Path
    credentials: dict[str, Any]
    foreign: list[str] = field(default_factory=list)

    def token(self, username: str, password: str) -> dict[str, str]:
        answer = api.post(f"{self.base}/api/v1/auth/token", data={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def admin(self) -> dict[str, str]:
        return self.token(self.credentials["admin"]["username"], self.credentials["admin"]["password"])


def _wait_ready(base: str, proc: subprocess.Popen[bytes], data: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            if (httpx.get(f"{base}/healthz", timeout=2).status_code == 200
                    and (data / "demo-credentials.json").exists()):
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "ghgwatch up exited"
        assert time.monotonic() < deadline, "ghgwatch up --demo did not become ready"
        time.sleep(0.3)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _start_demo(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str,
                                                                                         Path]:
    """``ghgwatch up --demo`` on a free port; again on another port, in a fresh data folder, when the port was taken
    between :func:`free_port` and the bind (a fresh-clone run lost a test module so), up to three times."""
    for attempt in range(1, 4):
        port = free_port()
        data = tmp_path_factory.mktemp("ui-demo") / "data"
        env["GHGWATCH_MQTT__EMBEDDED_PORT"] = str(free_port())
        proc = subprocess.Popen([sys.executable, "-m", "ghgwatch", "up", "--demo", "--port", str(port),
                                 "--data-dir", str(data)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, proc, data)
        except AssertionError as exc:
            _stop(proc)
            if "address already in use" not in str(exc) or attempt == 3:
                raise
            continue
        return proc, base, data
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (bash scripts/provision/servers.sh installs it)")
    # A new user's demo: none of the tests' settings but the password cost (tests/conftest.py).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GHGWATCH_") or k.startswith("GHGWATCH_SECURITY__ARGON2_")}
    proc, base, data = _start_demo(tmp_path_factory, env)
    try:
        yield Demo(base, data, json.loads((data / "demo-credentials.json").read_text()))
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


@dataclass
class HostGuard:
    """Records every request of a browser context to a host other than the server's."""

    allowed: str
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def watch(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != self.allowed:
            self.foreign.append(request.url)

    def attach(self, ctx: Any) -> None:
        ctx.on("request", self.watch)
        ctx.on("page", lambda page: page.on("pageerror", lambda exc: self.errors.append(str(exc))))


def new_context(browser: Any) -> Any:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True, locale="en-GB")
    ctx.set_default_timeout(20_000)
    # Page loads that compute on the server (the analytics correlation tab) took over 20 s in a full run at load 15.
    ctx.set_default_navigation_timeout(API_TIMEOUT_S * 1000)
    return ctx


@pytest.fixture
def context(browser: Any, demo: Demo) -> Iterator[Any]:
    """A fresh browser profile; fails the test if a page asks any host but the demo server, or a script fails."""
    ctx = new_context(browser)
    guard = HostGuard(urlsplit(demo.base).netloc)
    guard.attach(ctx)
    yield ctx
    ctx.close()
    assert not guard.foreign, f"the UI contacted other hosts: {guard.foreign}"
    assert not guard.errors, f"script errors in the pages: {guard.errors}"


def sign_in(page: Any, demo: Demo, username: str, password: str) -> None:
    page.goto(demo.base + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(demo.base + "/")


def screenshot(page: Any, name: str) -> None:
    """Save a small PNG of the page (viewport only, 128-colour palette).

    Into ``$GHGWATCH_UI_SCREENSHOTS`` (``docs`` means docs/ui/, the pictures docs/ui.md shows), else into
    the temporary folder, so an ordinary test run leaves the work tree as it was.
    """
    wanted = os.environ.get("GHGWATCH_UI_SCREENSHOTS", "")
    folder = DOCS_SCREENSHOTS if wanted == "docs" else Path(wanted or tempfile.gettempdir()) / "ghgwatch-ui"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    page.screenshot(path=str(target))
    from PIL import Image

    with Image.open(target) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(target, optimize=True)
