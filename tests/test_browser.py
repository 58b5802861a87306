"""The app in headless Chromium: upload, click the wheel, drag the slider, switch models.

Needs Debian's ``chromium`` at /usr/bin/chromium (or CHROMIUM=path) and Playwright for Python;
without them the test FAILS (CI must not pass with the browser test skipped).
Screenshots go to artifacts/browser/; with GANMUT_UPDATE_SCREENSHOTS=1 the README screenshots in
docs/screenshots/ are rewritten too (taken with the untrained test checkpoint, and labelled so).
"""
from __future__ import annotations

import hashlib
import math
import os
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

import appserver

ROOT = appserver.ROOT
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "artifacts" / "browser"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHOTO = ROOT / "assets" / "examples" / "obama.jpg"
TIMEOUT_MS = 60_000
LABEL = ("Screenshot taken with an UNTRAINED test checkpoint: the edited faces are noise until "
         "the trained weights exist.")

WHEEL = "#wheel .ganmut-wheel"
WHEEL_STATE = """() => {
  const gd = document.querySelector('#wheel .ganmut-wheel');
  const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
  return {kind: gd.dataset.kind, revision: Number(gd.dataset.revision), point: gd.dataset.point || '',
          rect: [r.left, r.top, r.width, r.height], xr: gd.layout.xaxis.range, yr: gd.layout.yaxis.range,
          traces: gd.data.map(t => ({name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || [])}))};
}"""


@pytest.fixture(scope="session")
def server(tmp_path_factory, linear_ckpt, gaussian_ckpt, request):
    srv = appserver.start(tmp_path_factory.mktemp("app"), linear_ckpt, gaussian_ckpt)
    request.addfinalizer(appserver.stop)
    return srv


@pytest.fixture()
def page(server):
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's package (apt-get install -y chromium) "
                    "or set CHROMIUM=/path/to/chromium; the browser test must run")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is not installed (pip install playwright); the browser test must run")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1500, "height": 1150})
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.set_default_timeout(TIMEOUT_MS)
        pg.errors = errors
        yield pg
        browser.close()


def to_pixel(state: dict, x: float, y: float) -> tuple[float, float]:
    """Page pixel of the data point (x, y) from the axis ranges and the plot area's box."""
    left, top, width, height = state["rect"]
    (x0, x1), (y0, y1) = state["xr"], state["yr"]
    return left + (x - x0) / (x1 - x0) * width, top + (y1 - y) / (y1 - y0) * height


def trace(state: dict, name: str) -> dict:
    return next(t for t in state["traces"] if t["name"] == name)


def after_image(pg) -> str:
    """sha256 of the bytes of the edited ('after') image shown in the before/after slider."""
    src = pg.eval_on_selector_all("#result img", "els => els.map(e => e.src)")[-1]
    with urllib.request.urlopen(src, timeout=30) as r:
        return hashlib.sha256(r.read()).hexdigest()


def wait_for(pg, predicate, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        pg.wait_for_timeout(200)
    pg.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
    pytest.fail(f"timed out waiting for {what}; see {ARTIFACTS / 'failure.png'}")


def point(state: dict) -> tuple[float, float] | None:
    return tuple(float(v) for v in state["point"].split(",")) if state["point"] else None


def shot(pg, name: str, readme: bool = False) -> None:
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if readme and os.environ.get("GANMUT_UPDATE_SCREENSHOTS") == "1":
        pg.evaluate("""(label) => {
          const d = document.createElement('div'); d.id = 'untrained-label'; d.textContent = label;
          d.style.cssText = 'background:#b00020;color:white;font:bold 15px sans-serif;padding:6px 12px;text-align:center';
          document.body.prepend(d); window.scrollTo(0, 0); }""", LABEL)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        out = SCREENSHOTS / f"{name}.png"
        pg.screenshot(path=str(out), full_page=False)
        pg.evaluate("() => document.getElementById('untrained-label').remove()")
        Image.open(out).convert("RGB").quantize(256).save(out, optimize=True)  # keep the repository small


def test_upload_click_drag_switch(page, server):
    pg = page
    pg.goto(server.url)
    pg.wait_for_selector(f"{WHEEL} .main-svg")
    state = pg.evaluate(WHEEL_STATE)
    assert state["kind"] == "linear"
    assert {"happy", "sad", "surprise", "fear", "disgust", "anger", "neutral"} <= {t["name"] for t in state["traces"]}

    # hovering shows the mix at the pointer
    hx, hy = to_pixel(state, *[0.5 * v for v in (trace(state, "fear")["x"][1], trace(state, "fear")["y"][1])])
    pg.mouse.move(hx + 3, hy + 3)
    pg.wait_for_selector("#wheel .hoverlayer .hovertext")
    hover = pg.eval_on_selector("#wheel .hoverlayer", "e => e.textContent")
    assert "fear" in hover and "%" in hover

    # 1. upload: faces found, first edit shown
    pg.set_input_files("#photo input[type=file]", str(PHOTO))
    pg.wait_for_selector("#result img")
    wait_for(pg, lambda: "Edited face 1" in pg.inner_text("#status"), "the first edit")
    first = after_image(pg)
    shot(pg, "01-uploaded")

    # 2. click on the wheel at 85 % of the learned 'sad' direction
    state = pg.evaluate(WHEEL_STATE)
    sad = trace(state, "sad")
    target = (0.85 * sad["x"][1], 0.85 * sad["y"][1])
    pg.mouse.click(*to_pixel(state, *target))
    wait_for(pg, lambda: (p := point(pg.evaluate(WHEEL_STATE))) is not None and math.dist(p, target) < 0.03,
             "the marker to move to the clicked point")
    wait_for(pg, lambda: "sad" in pg.inner_text("#status") and after_image(pg) != first, "the edit at the clicked point")
    clicked = after_image(pg)
    shot(pg, "wheel-linear", readme=True)

    # 3. drag the intensity slider (emotion: happy) from 1.0 down to about 0.4
    box = pg.locator("#intensity input[type=range]").bounding_box()
    y = box["y"] + box["height"] / 2
    pg.mouse.move(box["x"] + box["width"] - 4, y)
    pg.mouse.down()
    for f in (0.9, 0.75, 0.6, 0.5, 0.4):
        pg.mouse.move(box["x"] + f * box["width"], y, steps=3)
        pg.wait_for_timeout(100)
    pg.mouse.up()
    value = float(pg.locator("#intensity input[type=number]").input_value())
    assert 0.25 < value < 0.6
    happy = trace(pg.evaluate(WHEEL_STATE), "happy")
    expected = (value * happy["x"][1], value * happy["y"][1])
    wait_for(pg, lambda: (p := point(pg.evaluate(WHEEL_STATE))) is not None and math.dist(p, expected) < 0.02,
             "the marker to follow the slider")
    wait_for(pg, lambda: "happy" in pg.inner_text("#status") and after_image(pg) not in (first, clicked),
             "the edit at the slider's intensity")
    shot(pg, "03-slider")

    # 4. switch to GGANmut: the wheel redraws with the Gaussian modes, the edit is redone
    before = pg.evaluate(WHEEL_STATE)
    status = pg.inner_text("#status")
    pg.get_by_text("GGANmut (Gaussian)").click()
    wait_for(pg, lambda: pg.evaluate(WHEEL_STATE)["kind"] == "gaussian", "the Gaussian wheel")
    after = pg.evaluate(WHEEL_STATE)
    assert after["revision"] > before["revision"]
    names = {t["name"] for t in after["traces"]}
    assert {"happy 1σ", "happy 2σ", "neutral"} <= names and "intensity 25%" not in names
    wait_for(pg, lambda: pg.inner_text("#status") != status, "the edit redone with GGANmut")
    shot(pg, "wheel-gaussian", readme=True)
    assert not pg.errors, f"JavaScript errors: {pg.errors}"
