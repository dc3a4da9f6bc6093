"""What the browser tests share: Debian's Chromium driven by Playwright, the mark that skips a
browser test where Chromium is missing (and fails it under CI, where ``.ci/run`` installs
it), a browser for the length of a block, a page logged in with an API key, screenshots.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._serve import CHROMIUM, CHROMIUM_ARGS

#: ``CXRAY_SCREENSHOTS=DIR``: the browser tests save their screenshots into DIR
SHOTS = os.environ.get("CXRAY_SCREENSHOTS")


def needs_chromium() -> pytest.MarkDecorator:
    """A browser test module's ``pytestmark``: skipped without ``/usr/bin/chromium``; under
    CI its absence fails the module instead (nothing would test the pages)."""
    if not CHROMIUM.exists() and os.environ.get("CI"):
        pytest.fail("/usr/bin/chromium is missing under CI (.ci/run installs it)", pytrace=False)
    return pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium for the length of the block (closed after it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(
    browser: Any,
    base: str,
    key: str,
    *,
    start: str = "/",
    width: int = 1280,
    height: int = 800,
    timeout_ms: float | None = None,
    **context: Any,
) -> Any:
    """A page of its own browser context (``width`` × ``height``, Playwright's context
    options in ``context``) that opens ``start``, is sent to the login page, logs in with
    ``key`` and is back at ``start`` (``/login`` itself leads to the overview, ``/``).
    ``timeout_ms`` is the context's default timeout (slow first pages)."""
    ctx = browser.new_context(viewport={"width": width, "height": height}, **context)
    if timeout_ms is not None:
        ctx.set_default_timeout(timeout_ms)
    page = ctx.new_page()
    page.goto(base + start)
    assert "/login" in page.url, f"{start} did not ask for a key ({page.url})"
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(base + ("/" if start == "/login" else start))
    return page


def shot(page: Any, name: str, **options: Any) -> None:
    """Save ``name`` (a file name ending in ``.png``) of ``page`` into ``CXRAY_SCREENSHOTS``
    when it is set; ``options`` go to Playwright's ``screenshot`` (``full_page=True``)."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), **options)
