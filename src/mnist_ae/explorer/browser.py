"""Drive the explorer page in a real browser: Playwright with Debian's Chromium.

Playwright's own browser download is not used (it needs a host outside the package indexes):
`chromium_path` finds the system's Chromium (`apt-get install chromium`), or the one named by
`$MNIST_AE_CHROMIUM`. The tests, the timings and the screenshot all go through `open_page`.

Example::

    with serving(site) as url, open_page(url) as page:
        shown = move_to(page, 0, (0.5, 1.0))      # decoded image and code at that plane point
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import time

import numpy as np

CHROMIUM_ENV = "MNIST_AE_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
VIEWPORT = {"width": 1400, "height": 1000}
TIMEOUT_MS = 90_000  # loading the wasm runtime and the decoders on a busy 2-core machine


def chromium_path() -> str | None:
    """The Chromium to drive: `$MNIST_AE_CHROMIUM`, else the first one on PATH; None if none."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return named if os.access(named, os.X_OK) else None
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def unavailable() -> str | None:
    """Why a browser cannot be driven here (a sentence), or None when it can."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    if chromium_path() is None:
        return f"no Chromium found (apt-get install chromium, or set ${CHROMIUM_ENV})"
    return None


@contextlib.contextmanager
def open_page(url: str, viewport: dict = VIEWPORT):
    """A loaded explorer page at `url`; the page's own error (e.g. decoding failed) is a RuntimeError.

    `page.load_seconds` is the time from the request to every decoder loaded and drawn.
    """
    from playwright.sync_api import sync_playwright

    reason = unavailable()
    if reason:
        raise RuntimeError(f"cannot drive a browser: {reason}")
    # As root, Chromium refuses to start with its sandbox.
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=args, headless=True)
        try:
            page = browser.new_page(viewport=viewport)
            started = time.perf_counter()
            page.goto(url)
            page.wait_for_function("window.explorer && (window.explorer.ready || window.explorer.error)",
                                   timeout=TIMEOUT_MS)
            page.load_seconds = time.perf_counter() - started
            error = page.evaluate("window.explorer.error")
            if error:
                raise RuntimeError(f"the explorer page says: {error}")
            yield page
        finally:
            browser.close()


def panel_names(page) -> list[str]:
    return page.evaluate("explorer.panels.map((p) => p.spec.name)")


def client_point(page, panel: int, point) -> dict:
    """Window coordinates of plane point `point` of panel number `panel`, scrolled into view;
    ValueError if the point is outside the panel's plane as it is shown."""
    at = page.evaluate("""([k, x, y]) => {
        const p = explorer.panels[k], r = p.canvas.getBoundingClientRect();
        if (r.top < 0 || r.bottom > window.innerHeight) p.canvas.scrollIntoView({block: "center"});
        const box = p.canvas.getBoundingClientRect(), at = p.clientPoint(x, y);
        return {...at, inside: at.x >= box.left && at.x < box.right && at.y >= box.top && at.y < box.bottom};
    }""", [panel, float(point[0]), float(point[1])])
    if not at["inside"]:
        raise ValueError(f"plane point {tuple(point)} is outside panel {panel}'s view")
    return at


def _wait_drawn(page, panel: int, before: int, what: str) -> None:
    page.wait_for_function(f"([k, n]) => explorer.panels[k].{what} > n && !explorer.panels[k].busy", arg=[panel, before],
                           timeout=TIMEOUT_MS)


def move_to(page, panel: int, point) -> dict:
    """Move the pointer to plane `point` of `panel` and wait for its decoded image.

    Returns what the page shows: `code` (the code it decoded, float32), `pixels` (28, 28) (the
    float values drawn), `canvas` (28, 28) uint8 (read back from the canvas), `latency_ms`
    (pointer event to image drawn, timed in the page) and `wall_ms` (as seen from here).
    """
    before = page.evaluate("(k) => explorer.panels[k].decodes", panel)
    target = client_point(page, panel, point)
    started = time.perf_counter()
    page.mouse.move(target["x"], target["y"])
    _wait_drawn(page, panel, before, "decodes")
    wall_ms = 1000 * (time.perf_counter() - started)
    shown = page.evaluate("""(k) => {
        const p = explorer.panels[k], c = p.decoded;
        const rgba = c.getContext("2d").getImageData(0, 0, 28, 28).data;
        return {code: Array.from(c.code), pixels: Array.from(c.pixels),
                canvas: Array.from(rgba).filter((_, i) => i % 4 === 0), latency: p.latencies[p.latencies.length - 1]};
    }""", panel)
    return {"code": np.asarray(shown["code"], np.float32), "pixels": np.asarray(shown["pixels"], np.float32).reshape(28, 28),
            "canvas": np.asarray(shown["canvas"], np.uint8).reshape(28, 28), "latency_ms": shown["latency"],
            "wall_ms": wall_ms}


def hover(page, panel: int, point) -> dict:
    """Move the pointer onto a test point at plane `point`: the index, label and images shown."""
    client = client_point(page, panel, point)
    page.mouse.move(client["x"], client["y"])
    page.wait_for_function("(k) => explorer.panels[k].reconstruction.dataset.index === explorer.panels[k].hoverBox.dataset.index "
                           "&& !explorer.panels[k].busy", arg=panel, timeout=TIMEOUT_MS)
    shown = page.evaluate("""(k) => {
        const p = explorer.panels[k];
        return {index: Number(p.hoverBox.dataset.index), label: Number(p.hoverBox.dataset.label),
                text: p.hoverText.textContent, image: Array.from(p.testImage.pixels),
                reconstruction: Array.from(p.reconstruction.pixels)};
    }""", panel)
    shown["image"] = np.asarray(shown["image"], np.float32).reshape(28, 28)
    shown["reconstruction"] = np.asarray(shown["reconstruction"], np.float32).reshape(28, 28)
    return shown


def interpolate(page, panel: int, first, second) -> dict:
    """Click the test points at plane points `first` then `second`: the strip's codes and images."""
    for point in (first, second):
        client = client_point(page, panel, point)
        page.mouse.click(client["x"], client["y"])
    page.wait_for_function("(k) => explorer.panels[k].stripText.dataset.ends && !explorer.panels[k].busy",
                           arg=panel, timeout=TIMEOUT_MS)
    strip = page.evaluate("""(k) => {
        const p = explorer.panels[k];
        return {ends: p.stripText.dataset.ends.split(",").map(Number),
                codes: p.strip.map((c) => Array.from(c.code)), images: p.strip.map((c) => Array.from(c.pixels))};
    }""", panel)
    return {"ends": strip["ends"], "codes": np.asarray(strip["codes"], np.float32),
            "images": np.asarray(strip["images"], np.float32).reshape(-1, 28, 28)}


def load_seconds(page) -> dict:
    """The page's load: in-page time from navigation to ready, and from here (request to ready)."""
    return {"in_page_ms": page.evaluate("explorer.loadMs"), "from_request_ms": 1000 * page.load_seconds}


def latencies(page, moves: int = 15, seed: int = 0) -> dict:
    """Move the pointer to `moves` seeded points of every panel: median and spread of the
    in-page pointer-to-image time (ms), and of the time seen from the driver."""
    rng = np.random.default_rng(seed)
    in_page, wall = [], []
    for k, _ in enumerate(panel_names(page)):
        x0, x1, y0, y1 = page.evaluate("(k) => explorer.panels[k].spec.view", k)
        for _ in range(moves):
            shown = move_to(page, k, (rng.uniform(x0, x1), rng.uniform(y0, y1)))
            in_page.append(shown["latency_ms"])
            wall.append(shown["wall_ms"])
    return {"moves": len(in_page), "median_ms": statistics.median(in_page), "max_ms": max(in_page),
            "median_wall_ms": statistics.median(wall)}
