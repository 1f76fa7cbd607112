"""report.html in a real browser: Debian's chromium, headless, driven by Playwright, no network.

Used by tests/e2e/test_report_browser.py, and to take the docs' screenshot:

    python tests/browser.py results/NAME/report.html docs/img/report.png [--height 2600]

Playwright only drives the chromium found on PATH (`apt-get install chromium`); it never
downloads a browser. Every request that is not for a local file is aborted, and recorded.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
READY_TIMEOUT_MS = 90_000  # plotly.js is unpacked and every chart drawn (slow on a loaded 2-core VM)


def playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Opened:
    """A report open in a page, with what it logged and asked for."""

    page: object
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    requests: list[str] = field(default_factory=list)  # every URL the page asked for


@contextlib.contextmanager
def browser() -> Iterator[object]:
    """A headless chromium (Playwright's Browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


@contextlib.contextmanager
def open_report(b, path: Path, width: int = 1280, height: int = 900) -> Iterator[Opened]:
    """Opens `path` offline and waits until its script has drawn the charts (or failed)."""
    context = b.new_context(viewport={"width": width, "height": height}, offline=True)
    page = context.new_page()
    opened = Opened(page)
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.errors.append(str(e)))
    page.on("request", lambda r: opened.requests.append(r.url))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
               else route.abort())
    try:
        page.goto(Path(path).resolve().as_uri())
        page.wait_for_function("document.body.dataset.ready", timeout=READY_TIMEOUT_MS)
        yield opened
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Screenshot of a report.html (its top part).")
    parser.add_argument("report", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--height", type=int, default=2600, help="pixels from the top (default 2600)")
    parser.add_argument("--sections", nargs=2, metavar=("FIRST", "LAST"),
                        help="instead, from the top of section #FIRST to the bottom of #LAST "
                             "(e.g. parallel importance)")
    args = parser.parse_args()
    with browser() as b, open_report(b, args.report, height=args.height) as opened:
        page = opened.page
        assert page.evaluate("document.body.dataset.ready") == "true", opened.errors
        top, bottom = 0.0, float(args.height)
        if args.sections:
            first, last = (page.evaluate(f"(() => {{ const r = document.getElementById('{s}')"
                                         ".getBoundingClientRect(); return [r.top + scrollY, "
                                         "r.bottom + scrollY]; })()") for s in args.sections)
            top, bottom = first[0] - 8, last[1] + 8
        page.screenshot(path=str(args.png), full_page=True,
                        clip={"x": 0, "y": top, "width": 1280, "height": bottom - top})
    print(args.png)


if __name__ == "__main__":
    main()
