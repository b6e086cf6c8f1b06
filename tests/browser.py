"""Drive Debian's Chromium headless with Playwright, offline, for the page tests.

``make test`` installs Chromium (``apt-get install chromium``) before pytest. Playwright
never downloads a browser here: we launch the system one by path. A missing browser is a
test failure with a message that says what to run, never a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("EMBREDUCE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "out" / "screenshots"

# Without the background-networking flags Chromium phones home at start-up, and on a
# closed network those connections fail noisily. SwiftShader gives WebGL without a GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


@dataclass
class Visit:
    """An opened page, with everything it logged and asked for."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def plots(self) -> list[dict[str, Any]]:
        """Every Plotly chart on the page: its div id, and per trace what was drawn."""
        return self.page.evaluate(
            """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => {
              const drawn = (t, s) => gd.querySelectorAll('.trace' + CSS.escape(t.uid) + s).length;
              return {
                id: gd.id,
                traces: gd._fullData.map((t, i) => ({
                    name: t.name, type: t.type, visible: t.visible,
                    n: t._length,
                    svg_points: drawn(t, ' .point'),
                    svg_paths: drawn(t, ' path.js-line'),
                })),
                title: (gd._fullLayout.title && gd._fullLayout.title.text) || '',
                xaxis: gd._fullLayout.xaxis ? gd._fullLayout.xaxis.title.text : null,
                yaxis: gd._fullLayout.yaxis ? gd._fullLayout.yaxis.title.text : null,
              };
            })"""
        )

    def plot(self, div_id: str) -> dict[str, Any]:
        """The chart in ``#div_id`` (see :meth:`plots`)."""
        found = [p for p in self.plots() if p["id"] == div_id]
        assert found, f"no Plotly chart #{div_id}; charts: {[p['id'] for p in self.plots()]}"
        return found[0]

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        """Save a PNG of the page under ``out/screenshots/`` and return its path."""
        path = self.screenshot_path(name)
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    @staticmethod
    def screenshot_path(name: str) -> Path:
        """Where the screenshot ``name`` goes (for screenshots of one element)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS / f"{name}.png"

    def assert_clean(self) -> None:
        """No console errors, and no request left ``file://``."""
        assert not self.console_errors, f"console errors: {self.console_errors}"
        assert not self.blocked, f"requests left file://: {self.blocked}"
        leaving = [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)]
        assert not leaving, f"requests left file://: {leaving}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Debian Chromium, shared by the session's page tests."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make test`, which installs it "
            "(apt-get install -y chromium), or set EMBREDUCE_CHROMIUM",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """``open_page(path, width=1440, height=900) -> Visit``: load a local file and wait."""
    contexts = []

    def _open(path: Path, *, width: int = 1440, height: int = 900) -> Visit:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        visit = Visit(page)
        page.on(
            "console",
            lambda msg: visit.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: visit.console_errors.append(str(exc)))
        page.on("request", lambda req: visit.requests.append(req.url))

        def guard(route: Any) -> None:
            if route.request.url.startswith(LOCAL_SCHEMES):
                route.continue_()
            else:
                visit.blocked.append(route.request.url)
                route.abort()

        page.route("**/*", guard)
        page.goto(Path(path).resolve().as_uri(), wait_until="load")
        page.wait_for_function("document.body.dataset.ready === 'true'", timeout=60_000)
        return visit

    yield _open
    for context in contexts:
        context.close()
