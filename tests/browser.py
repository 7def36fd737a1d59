"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser).

- `browser`: one Chromium for the session. Missing Chromium is installed here
  (`apt-get install -y chromium`, as root), so `make test` on a fresh machine runs these tests
  instead of skipping them; without root the test fails saying what to install.
- `phone_page`: a page at a phone's size (390×844, member-web.md) on the live server;
  `desk_page`: a staff desktop (1366×900). Both have `base_url` set to the live server.
- `screenshot(page, name)`: kept under `test-artifacts/screenshots/<test>/NN-<name>.png`
  (ignored by git; CI keeps the folder as the run's evidence).

Playwright's sync API runs an event loop in the test's thread, which Django's ORM refuses by
default: DJANGO_ALLOW_ASYNC_UNSAFE is set for browser tests (the ORM calls are made by the test
itself, in order, never concurrently with the loop)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 900}


def chromium_path() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install Debian's package (apt-get install -y chromium)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


def _page(browser, live_server, request, viewport: dict, locale: str):
    context = browser.new_context(viewport=viewport, locale=locale, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.test_name = re.sub(r"[^\w.-]+", "_", request.node.name)
    page.shot_count = 0
    return context, page


@pytest.fixture
def phone_page(browser, live_server, request):
    context, page = _page(browser, live_server, request, PHONE, "vi-VN")
    yield page
    context.close()


@pytest.fixture
def desk_page(browser, live_server, request):
    context, page = _page(browser, live_server, request, DESK, "vi-VN")
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Keep a full-page screenshot of where `page` is now; returns its path."""
    page.shot_count += 1
    folder = SCREENSHOTS / page.test_name
    if page.shot_count == 1 and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    safe_name = re.sub(r"[^\w.-]+", "_", name)
    path = folder / f"{page.shot_count:02d}-{safe_name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
