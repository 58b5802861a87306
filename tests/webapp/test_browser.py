"""The app in headless Chromium, as a first-time user on a desktop (1280x900) and on a phone
(390x844): upload, click the wheel, step the slider, burst-click, switch models, render the gamut
sheet and the GIF, download the full-resolution PNG.

Needs Debian's ``chromium`` at /usr/bin/chromium (or CHROMIUM=path) and Playwright for Python;
without them the test FAILS (CI must not pass with the browser test skipped).
Screenshots go to artifacts/browser/, the click-to-result figures to
artifacts/browser/click-to-result.json; with GANMUT_UPDATE_SCREENSHOTS=1 the README screenshots in
docs/screenshots/ are rewritten too (taken with the untrained test checkpoint, and labelled so).
"""
from __future__ import annotations

import io
import json
import math
import os
import statistics
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import appserver
from tests.clips import PHOTOS_OBAMA, decode, face_frames, write_clip
from ganmut.canvas import SHEET_FONT_PX
from ganmut.wheel import MIN_CONTRAST, contrast

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = appserver.ROOT
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "artifacts" / "browser"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHOTO = ROOT / "assets" / "examples" / "obama.jpg"
OTHER = ROOT / "assets" / "examples" / "biden.jpg"
TIMEOUT_MS = 60_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
LABEL = ("Screenshot taken with an UNTRAINED test checkpoint: the edited faces are noise until "
         "the trained weights exist.")

WHEEL = "#wheel .ganmut-wheel"
WHEEL_STATE = """() => {
  const gd = document.querySelector('#wheel .ganmut-wheel');
  const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
  return {kind: gd.dataset.kind, revision: Number(gd.dataset.revision), point: gd.dataset.point || '',
          rect: [r.left, r.top, r.width, r.height], xr: gd.layout.xaxis.range, yr: gd.layout.yaxis.range,
          traces: gd.data.map(t => ({name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || [])})),
          labels: [...gd.querySelectorAll('g.annotation')].map(a => {
            const b = a.getBoundingClientRect(), t = a.querySelector('text'), bg = a.querySelector('rect.bg');
            return {text: t.textContent, box: [b.left, b.top, b.right, b.bottom], color: getComputedStyle(t).fill,
                    bg: getComputedStyle(bg).fill, bgOpacity: Number(getComputedStyle(bg).fillOpacity)};
          })};
}"""
ARM_PENDING_WATCH = """() => {
  // from the next pointer press on the wheel, sample frame by frame for 1.5 s the wheel's opacity
  // (its own times every ancestor's) and whether the result shows its progress indicator
  const svg = document.querySelector('#wheel .ganmut-wheel svg');
  const opacity = e => { let o = 1; for (; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity); return o; };
  window.__pending = new Promise(done => {
    document.querySelector('#wheel .ganmut-wheel').addEventListener('pointerdown', () => {
      const out = {minOpacity: 1, resultProgress: false};
      const t0 = performance.now();
      (function tick() {
        out.minOpacity = Math.min(out.minOpacity, opacity(svg));
        if ([...document.querySelectorAll('#result .wrap')].some(w => w.classList.contains('minimal') && !w.classList.contains('hide')))
          out.resultProgress = true;
        if (performance.now() - t0 < 1500) requestAnimationFrame(tick); else done(out);
      })();
    }, {once: true, capture: true});
  });
}"""
ARM_TIMER = """() => {
  // from the next pointer press on the wheel to the moment a new 'after' image is decoded on screen
  const after = () => { const imgs = document.querySelectorAll('#result img'); return imgs[imgs.length - 1]; };
  const old = after() ? after().src : '';
  performance.clearResourceTimings();  // the buffer holds 250 entries; a full one records nothing more
  window.__clickToResult = new Promise(done => {
    document.querySelector('#wheel .ganmut-wheel').addEventListener('pointerdown', () => {
      const t0 = performance.now();
      (function tick() {
        const a = after();
        if (a && a.src !== old && a.complete && a.naturalWidth) {
          const bytes = performance.getEntriesByType('resource').filter(r => r.startTime >= t0 && r.name.includes('/file='))
            .reduce((s, r) => s + (r.transferSize || r.encodedBodySize || 0), 0);
          done({ms: performance.now() - t0, bytes: bytes, size: [a.naturalWidth, a.naturalHeight], });
        } else requestAnimationFrame(tick);
      })();
    }, {once: true, capture: true});
  });
}"""

ARM_VIEW_COUNT = """() => {
  // from now on, the time of every new 'after' image decoded on screen (window.__views)
  const after = () => { const imgs = document.querySelectorAll('#result img'); return imgs[imgs.length - 1]; };
  const views = window.__views = [];
  let last = after() ? after().src : '';
  (function tick() {
    const a = after();
    if (a && a.src !== last && a.complete && a.naturalWidth) { last = a.src; views.push(performance.now()); }
    if (window.__views === views) requestAnimationFrame(tick);
  })();
}"""


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's package (apt-get install -y chromium) "
                    "or set CHROMIUM=/path/to/chromium; the browser test must run")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is not installed (pip install playwright); the browser test must run")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_page(browser, viewport: dict, phone: bool = False):
    pg = browser.new_page(viewport=viewport, is_mobile=phone, has_touch=phone, accept_downloads=True)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(TIMEOUT_MS)
    pg.errors = errors
    return pg


@pytest.fixture(scope="module")
def big_photo(tmp_path_factory) -> Path:
    """obama.jpg on a 4000x3000 canvas: a 12-megapixel phone photo."""
    path = tmp_path_factory.mktemp("big") / "obama-12mp.jpg"
    with Image.open(PHOTO) as src:
        canvas = Image.new("RGB", (4000, 3000), (120, 130, 140))
        canvas.paste(src.convert("RGB").resize((1920, 2400), Image.Resampling.BILINEAR), (1040, 300))
    canvas.save(path, quality=85)
    return path


@pytest.fixture(scope="module")
def faces_of(linear_ckpt):
    """The faces the app finds in a photo (the same detector, on the same pixels)."""
    import ganmut

    ed = ganmut.load(linear_ckpt, device="cpu", classifier=None)
    return lambda path: ed.detect(path)


# --------------------------------------------------------------------------- helpers
def wheel_state(pg) -> dict:
    """The wheel's state, scrolled into view first (page pixels change when the page scrolls)."""
    pg.locator(WHEEL).scroll_into_view_if_needed()
    return pg.evaluate(WHEEL_STATE)


def to_pixel(state: dict, x: float, y: float) -> tuple[float, float]:
    """Page pixel of the data point (x, y) from the axis ranges and the plot area's box."""
    left, top, width, height = state["rect"]
    (x0, x1), (y0, y1) = state["xr"], state["yr"]
    return left + (x - x0) / (x1 - x0) * width, top + (y1 - y) / (y1 - y0) * height


def one_px(state: dict) -> float:
    """One page pixel in data units: how far a click can be from the point it aimed at (Chrome
    reports whole pixels). A click snapped to the 41x41 hover grid would be up to 0.024 away."""
    return (state["xr"][1] - state["xr"][0]) / state["rect"][2]


def trace(state: dict, name: str) -> dict:
    return next(t for t in state["traces"] if t["name"] == name)


def wait_for(pg, predicate, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        pg.wait_for_timeout(100)
    pg.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
    pytest.fail(f"timed out waiting for {what}; see {ARTIFACTS / 'failure.png'}")


def point(state: dict) -> tuple[float, float] | None:
    return tuple(float(v) for v in state["point"].split(",")) if state["point"] else None


def status_point(pg) -> tuple[float, float] | None:
    """The point the server edited to, as the status line says it: '... at (+0.19, +0.83).'"""
    text = pg.inner_text("#status")
    if " at (" not in text:
        return None
    x, y = text.rsplit(" at (", 1)[1].split(")")[0].split(",")
    return float(x), float(y)


def after_src(pg) -> str:
    return pg.eval_on_selector_all("#result img", "els => els.length ? els[els.length - 1].src : ''")


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def shown_image(pg, which: int = -1) -> Image.Image:
    """The image (0: before, -1: after) of the before/after view, as the server sent it."""
    src = pg.eval_on_selector_all("#result img", f"els => els[{which} < 0 ? els.length + {which} : {which}].src")
    return Image.open(io.BytesIO(fetch(src)))


def control_values(pg) -> tuple[str, float]:
    return pg.locator("#emotion input").input_value(), float(pg.locator("#intensity input[type=number]").input_value())


def settled(pg, timeout_s: float = 60) -> None:
    """Wait until no event is pending (no progress indicator on the result) for a second."""
    quiet = time.monotonic()
    deadline = quiet + timeout_s
    while time.monotonic() < deadline:
        busy = pg.evaluate("() => [...document.querySelectorAll('#result .wrap')].some(w => w.classList.contains('minimal') && !w.classList.contains('hide'))")
        if busy:
            quiet = time.monotonic()
        elif time.monotonic() - quiet > 1.0:
            return
        pg.wait_for_timeout(100)
    pytest.fail("the page did not settle")


def upload(pg, path: Path) -> None:
    old = after_src(pg)
    pg.set_input_files("#photo input[type=file]", str(path))
    wait_for(pg, lambda: "Edited face 1" in pg.inner_text("#status") and after_src(pg) not in ("", old),
             f"the first edit of {path.name}")
    settled(pg)


def in_viewport(pg, selector: str, viewport: dict) -> bool:
    box = pg.locator(selector).first.bounding_box()
    return (box is not None and box["x"] >= -1 and box["y"] >= -1 and box["x"] + box["width"] <= viewport["width"] + 1
            and box["y"] + box["height"] <= viewport["height"] + 1)


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def rgb_hex(css: str) -> str:
    return "#" + "".join(f"{int(v):02x}" for v in css[css.index("(") + 1:css.index(")")].split(",")[:3])


def assert_labels_readable(state: dict, kind: str) -> None:
    """Point 7: every emotion label outside the domain, none overlapping another or the marker,
    in text of readable contrast on its (white) background."""
    labels = state["labels"]
    expected = {"happy", "sad", "surprise", "fear", "disgust", "anger"} | ({"neutral"} if kind == "gaussian" else set())
    assert {lab["text"] for lab in labels} == expected
    cx, cy = to_pixel(state, 0, 0)
    right, top = to_pixel(state, 1, 1)
    r = right - cx
    for lab in labels:
        x0, y0, x1, y1 = lab["box"]
        if kind == "linear":  # outside the unit disc: the box's nearest point to the centre is beyond the rim
            assert math.hypot(min(max(cx, x0), x1) - cx, min(max(cy, y0), y1) - cy) > r, lab
        else:  # outside the square [-1, 1]^2
            assert not overlap(lab["box"], [cx - r, top, right, cy + r]), lab
        bg = rgb_hex(lab["bg"])
        assert lab["bgOpacity"] > 0.85 and contrast(rgb_hex(lab["color"]), bg) >= MIN_CONTRAST, lab
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not overlap(a["box"], b["box"]), (a, b)
    p = point(state)
    if p is not None:  # the marker (17 px across, 3 px rim) covers no label
        mx, my = to_pixel(state, *p)
        for lab in labels:
            x0, y0, x1, y1 = lab["box"]
            assert math.hypot(min(max(mx, x0), x1) - mx, min(max(my, y0), y1) - my) > 10, lab


def awaited(pg, name: str, what: str, timeout_s: float = 30) -> dict:
    """The value of the page's promise ``window[name]``, or a failure after ``timeout_s``."""
    out = pg.evaluate(f"() => Promise.race([window.{name}, new Promise(r => setTimeout(() => r(null), {timeout_s * 1000}))])")
    if out is None:
        pg.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
        pytest.fail(f"timed out waiting for {what}; see {ARTIFACTS / 'failure.png'}; JavaScript errors: {pg.errors}")
    return out


def click_timed(pg, state: dict, xy: tuple[float, float]) -> dict:
    """Click the wheel at data point ``xy``; the browser's click-to-result time, bytes and image size."""
    pg.evaluate(ARM_TIMER)
    pg.mouse.click(*to_pixel(state, *xy))
    out = awaited(pg, "__clickToResult", f"a new result after a click at {xy}")
    settled(pg)
    return out


def shot(pg, name: str, readme: bool = False) -> None:
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if readme and os.environ.get("GANMUT_UPDATE_SCREENSHOTS") == "1":
        pg.evaluate(f"() => {{ GanmutPlotly.Fx.unhover(document.querySelector('{WHEEL}')); window.scrollTo(0, 0); }}")
        pg.wait_for_timeout(300)
        pg.evaluate("""(label) => {
          const d = document.createElement('div'); d.id = 'untrained-label'; d.textContent = label;
          d.style.cssText = 'position:fixed;left:0;right:0;top:0;z-index:9999;background:#b00020;color:white;' +
                            'font:bold 13px sans-serif;padding:5px 10px;text-align:center';
          document.body.appendChild(d); }""", LABEL)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        out = SCREENSHOTS / f"{name}.png"
        pg.screenshot(path=str(out), full_page=False)
        pg.evaluate("() => document.getElementById('untrained-label').remove()")
        Image.open(out).convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)  # small


# --------------------------------------------------------------------------- desktop
def test_desktop(browser, server, faces_of, big_photo):
    pg = open_page(browser, DESKTOP)
    pg.goto(server.url)
    pg.wait_for_selector(f"{WHEEL} .main-svg")
    state = pg.evaluate(WHEEL_STATE)
    assert state["kind"] == "linear"
    assert pg.locator("#intro li").count() == 3  # point 10: three numbered steps, not one list item

    # hovering shows the mix at the pointer
    fear = trace(state, "fear")
    pg.mouse.move(*to_pixel(state, 0.5 * fear["x"][1] + 0.02, 0.5 * fear["y"][1] - 0.02))
    pg.wait_for_selector("#wheel .hoverlayer .hovertext")
    hover = pg.eval_on_selector("#wheel .hoverlayer", "e => e.textContent")
    assert "fear" in hover and "%" in hover

    # upload: the first edit, of the face zoomed (point 5), as a display-sized JPEG (point 1)
    upload(pg, PHOTO)
    assert in_viewport(pg, "#status", DESKTOP)  # point 10: the status line above the fold
    assert pg.locator("#readout .bar-row").count() == 7  # issue #10: the classifier's readout, before and after
    assert pg.locator("#mix .bar-row").count() == 7 and "Emotion mix at (+" in pg.inner_text("#mix")
    assert "emotion readout by tiny-classifier.safetensors" in pg.inner_text("#readout")
    photo = Image.open(PHOTO)
    face = faces_of(PHOTO)[0]
    after = shown_image(pg)
    side = max(face.box[2] - face.box[0], face.box[3] - face.box[1])
    assert after.format == "JPEG" and after.width == after.height < min(photo.size)  # a square window, not the photo
    assert 0.5 < side / after.width < 0.8  # the face fills most of it, with a margin
    state = pg.evaluate(WHEEL_STATE)
    assert_labels_readable(state, "linear")  # point 7, with the starting marker on 'happy'
    shot(pg, "01-uploaded")

    # a click on 'sad' at 85 %: the exact point (not a hover cell, point 10), the controls follow (point 2),
    # the wheel stays fully visible while the result shows the progress (point 4)
    sad = trace(state, "sad")
    theta = math.atan2(sad["y"][1], sad["x"][1])
    target = (0.85 * math.cos(theta), 0.85 * math.sin(theta))
    first = after_src(pg)
    pg.evaluate(ARM_PENDING_WATCH)
    pg.mouse.click(*to_pixel(state, *target))
    pending = awaited(pg, "__pending", "the wheel's opacity to be sampled")
    assert pending["resultProgress"], "no progress was seen on the result during the edit"
    assert pending["minOpacity"] == 1, f"the wheel faded to {pending['minOpacity']:.2f} during the edit"
    wait_for(pg, lambda: "sad" in pg.inner_text("#status") and after_src(pg) != first, "the edit at the clicked point")
    settled(pg)
    tol = one_px(state)
    assert math.dist(point(pg.evaluate(WHEEL_STATE)), target) < tol
    assert math.dist(status_point(pg), target) < tol + 0.005  # the status rounds to 0.01
    emotion, intensity = control_values(pg)
    assert emotion == "sad" and abs(intensity - 0.85) < 0.006
    shot(pg, "desktop")

    # save the point under a name (kept in the browser) to apply to the next photo
    pg.get_by_text("Saved points").click()
    pg.locator("#preset-name").locator("input, textarea").first.fill("sad 85")
    pg.click("#preset-save")
    wait_for(pg, lambda: "sad 85" in pg.inner_text("#preset-json") + pg.input_value("#preset-pick input"),
             "the saved point in the picker")
    assert '"model": "linear"' in pg.inner_text("#preset-json")

    # one slider step keeps the clicked direction (point 2)
    pg.locator("#intensity input[type=range]").focus()
    pg.keyboard.press("ArrowLeft")
    wait_for(pg, lambda: abs(math.hypot(*point(pg.evaluate(WHEEL_STATE))) - (intensity - 0.01)) < 0.002,
             "the marker to follow the slider")
    settled(pg)
    p = point(pg.evaluate(WHEEL_STATE))
    assert abs(math.atan2(p[1], p[0]) - theta) < 0.005 and "sad" in pg.inner_text("#status")
    assert math.dist(status_point(pg), p) < 0.006 and control_values(pg)[0] == "sad"

    # choosing another emotion keeps the intensity and moves the marker to that emotion (point 2)
    pg.locator("#emotion input").click()
    pg.get_by_role("option", name="surprise").click()
    surprise = trace(pg.evaluate(WHEEL_STATE), "surprise")
    expected = (0.84 * surprise["x"][1], 0.84 * surprise["y"][1])
    wait_for(pg, lambda: math.dist(point(pg.evaluate(WHEEL_STATE)), expected) < 0.003, "the marker at the chosen emotion")
    settled(pg)
    assert "surprise" in pg.inner_text("#status") and control_values(pg)[1] == pytest.approx(0.84)

    # bursts of clicks 50 ms apart: the last click always wins (point 6)
    state = wheel_state(pg)
    rng = np.random.default_rng(0)
    for burst in range(3):
        targets = [tuple(r * np.array([math.cos(a), math.sin(a)]))
                   for r, a in zip(rng.uniform(0.3, 0.95, 5), rng.uniform(0, 2 * math.pi, 5))]
        for xy in targets:
            pg.mouse.click(*to_pixel(state, *xy))
            pg.wait_for_timeout(50)
        settled(pg)
        last = targets[-1]
        assert math.dist(point(pg.evaluate(WHEEL_STATE)), last) < tol, f"burst {burst}: the marker is not at the last click"
        assert math.dist(status_point(pg), last) < tol + 0.005, f"burst {burst}: the edit is not at the last click"
        assert abs(control_values(pg)[1] - math.hypot(*last)) < tol

    # the whole photo on request, as a display-sized JPEG (point 5)
    pg.locator("#whole input").check()
    wait_for(pg, lambda: shown_image(pg).size == photo.size, "the whole photo")
    settled(pg)
    pg.locator("#whole input").uncheck()
    wait_for(pg, lambda: shown_image(pg).size == after.size, "the face view again")
    settled(pg)

    # the full-resolution PNG only when asked for
    pg.click("#save")
    pg.wait_for_selector("#download", state="visible")
    with pg.expect_download() as dl:
        pg.click("#download")
    saved = Image.open(dl.value.path())
    assert saved.format == "PNG" and saved.size == photo.size

    # the gamut sheet: no component label over it, most of it faces, captions readable (point 9)
    pg.click("#grid-btn")
    pg.wait_for_selector("#grid img")
    sheet_src = pg.get_attribute("#grid img", "src")
    sheet = np.asarray(Image.open(io.BytesIO(fetch(sheet_src))).convert("L"))
    assert (sheet < 245).mean() > 0.45, "the sheet is mostly white space"
    assert pg.locator("#grid label").count() == 0 or not pg.locator("#grid label").first.is_visible()
    shown = pg.locator("#grid img").bounding_box()
    assert shown["width"] / sheet.shape[1] * SHEET_FONT_PX >= 12  # the captions at least 12 px on screen
    # the GIF, then a new photo: every output made from the old one is cleared or redone (point 8)
    pg.click("#anim-btn")
    pg.wait_for_selector("#anim img")
    pg.wait_for_selector("#anim-mp4", state="visible")  # the same frames as an MP4
    before_new = after_src(pg)
    upload(pg, OTHER)
    assert pg.locator("#anim img").count() == 0 and pg.locator("#grid img").count() == 0
    assert not pg.locator("#download").is_visible() and not pg.locator("#anim-mp4").is_visible()
    assert after_src(pg) != before_new
    assert math.dist(status_point(pg), point(pg.evaluate(WHEEL_STATE))) < 0.006  # the new photo at the same point

    # the saved point, applied to the new photo: the marker, the controls and the edit go there
    pg.locator("#preset-pick input").click()
    pg.get_by_role("option", name="sad 85").click()
    pg.click("#preset-apply")
    wait_for(pg, lambda: math.dist(status_point(pg), target) < tol + 0.005, "the edit at the saved point")
    settled(pg)
    assert math.dist(point(pg.evaluate(WHEEL_STATE)), target) < tol and control_values(pg)[0] == "sad"

    # click to result on a 12-megapixel photo with the face cached (point 1): logged, not asserted
    upload(pg, big_photo)
    state = wheel_state(pg)
    timings = [click_timed(pg, state, (0.7 * math.cos(a), 0.7 * math.sin(a))) for a in np.linspace(0, 2 * math.pi, 8, endpoint=False)]
    for t in timings:
        assert max(t["size"]) <= 1600  # a display-sized view, whatever the photo's size
    ms = [t["ms"] for t in timings]
    figure = {"photo": "4000x3000 JPEG (12 MP)", "view": "face", "clicks": len(ms), "p50_ms": round(statistics.median(ms)),
              "max_ms": round(max(ms)), "bytes_per_click": round(statistics.median(t["bytes"] for t in timings)),
              "checkpoint": "tiny untrained test checkpoint (conv_dim 16)", "when": time.strftime("%Y-%m-%d %H:%M")}
    (ARTIFACTS / "click-to-result.json").write_text(json.dumps(figure, indent=2))
    print(f"\nclick to result, 12 MP, face view: p50 {figure['p50_ms']} ms, max {figure['max_ms']} ms, "
          f"{figure['bytes_per_click']} bytes per click")

    # GGANmut: the wheel redraws with its modes, labels readable; the edit is redone; the sheet cleared (point 8)
    pg.click("#grid-btn")
    pg.wait_for_selector("#grid img")
    before = pg.evaluate(WHEEL_STATE)
    status = pg.inner_text("#status")
    pg.get_by_text("GGANmut (Gaussian)").click()
    wait_for(pg, lambda: pg.evaluate(WHEEL_STATE)["kind"] == "gaussian", "the Gaussian wheel")
    after_switch = pg.evaluate(WHEEL_STATE)
    assert after_switch["revision"] > before["revision"]
    names = {t["name"] for t in after_switch["traces"]}
    assert {"happy 1σ", "happy 2σ", "neutral"} <= names and "intensity 25%" not in names
    wait_for(pg, lambda: pg.inner_text("#status") != status, "the edit redone with GGANmut")
    settled(pg)
    assert pg.locator("#grid img").count() == 0
    assert_labels_readable(pg.evaluate(WHEEL_STATE), "gaussian")
    shot(pg, "desktop-gaussian", readme=True)
    assert not pg.errors, f"JavaScript errors: {pg.errors}"

    # the saved point outlives the page: it is kept in this browser
    pg.reload()
    pg.wait_for_selector(f"{WHEEL} .main-svg")
    pg.get_by_text("Saved points").click()
    pg.locator("#preset-pick input").click()
    pg.get_by_role("option", name="sad 85").wait_for()


# --------------------------------------------------------------------------- phone
def test_phone(browser, server):
    pg = open_page(browser, PHONE, phone=True)
    pg.goto(server.url)
    pg.wait_for_selector(f"{WHEEL} .main-svg")
    upload(pg, PHOTO)
    assert pg.evaluate("() => window.scrollY") == 0  # the first screen, as the page opened
    # point 3: the edited face and the wheel share the first screen after the upload
    assert in_viewport(pg, "#result img", PHONE), pg.locator("#result img").first.bounding_box()
    assert in_viewport(pg, "#wheel .ganmut-wheel .nsewdrag", PHONE), pg.locator("#wheel .nsewdrag").bounding_box()
    assert_labels_readable(pg.evaluate(WHEEL_STATE), "linear")
    # a tap on the wheel edits there
    state = pg.evaluate(WHEEL_STATE)
    anger = trace(state, "anger")
    target = (0.6 * anger["x"][1], 0.6 * anger["y"][1])
    pg.mouse.click(*to_pixel(state, *target))
    wait_for(pg, lambda: "anger" in pg.inner_text("#status"), "the edit at the tapped point")
    settled(pg)
    assert math.dist(status_point(pg), target) < 0.01 and control_values(pg)[0] == "anger"
    shot(pg, "phone", readme=True)
    # point 9: the gamut sheet is readable at phone width (no label over its top, captions >= 12 px)
    pg.click("#grid-btn")
    pg.wait_for_selector("#grid img")
    natural = pg.evaluate("() => document.querySelector('#grid img').naturalWidth")
    shown = pg.locator("#grid img").bounding_box()
    assert shown["width"] / natural * SHEET_FONT_PX >= 12
    assert pg.locator("#grid label").count() == 0 or not pg.locator("#grid label").first.is_visible()
    assert not pg.errors, f"JavaScript errors: {pg.errors}"


def test_the_intro_s_match_a_reference_is_within_reach(browser, server):
    """The intro's step 2 names "match a reference photo": on a desktop (1280x800) the reference sits in
    the first screen, under the photo; on a phone, under the wheel, and the intro's words link to it."""
    desktop = {"width": 1280, "height": 800}
    pg = open_page(browser, desktop)
    pg.goto(server.url)
    pg.wait_for_selector(f"{WHEEL} .main-svg")
    link = "#intro a[href='#reference']"
    assert pg.inner_text(link) == "match a reference photo"
    assert in_viewport(pg, "#reference", desktop), pg.locator("#reference").bounding_box()
    shot(pg, "reference-desktop")
    pg = open_page(browser, PHONE, phone=True)
    pg.goto(server.url)
    pg.wait_for_selector(f"{WHEEL} .main-svg")
    assert not in_viewport(pg, "#reference", PHONE)  # the face and the wheel take the first screen
    pg.tap(link)
    wait_for(pg, lambda: in_viewport(pg, "#reference", PHONE), "the reference after a tap on the intro's link")
    shot(pg, "reference-phone")
    assert not pg.errors, f"JavaScript errors: {pg.errors}"


def test_neutral_button(browser, server):
    pg = open_page(browser, DESKTOP)
    pg.goto(server.url)
    pg.wait_for_selector(f"{WHEEL} .main-svg")
    upload(pg, PHOTO)  # the first edit: full happiness
    first = after_src(pg)
    pg.click("#neutral")
    wait_for(pg, lambda: "neutral" in pg.inner_text("#status") and after_src(pg) != first, "the neutral edit")
    settled(pg)
    assert math.dist(point(wheel_state(pg)), (0.0, 0.0)) < 1e-3  # linear: the neutral anchor is the centre
    assert math.dist(status_point(pg), (0.0, 0.0)) < 0.006
    assert control_values(pg) == ("happy", 0.0)  # the slider at 0 leads back to the emotion
    assert not pg.errors, f"JavaScript errors: {pg.errors}"


def drag_path(state: dict, start: tuple[float, float], end: tuple[float, float], n: int) -> list[tuple[float, float]]:
    """``n`` page pixels from the data point ``start`` to ``end``, along a gentle arc (not a straight ray)."""
    pts = []
    for i in range(n):
        t = i / (n - 1)
        x, y = start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1])
        bend = 0.15 * math.sin(math.pi * t)
        pts.append(to_pixel(state, x - bend * (end[1] - start[1]), y + bend * (end[0] - start[0])))
    return pts


def test_dragging_on_the_wheel_follows_and_the_release_wins(browser, server):
    pg = open_page(browser, DESKTOP)
    pg.goto(server.url)
    pg.wait_for_selector(f"{WHEEL} .main-svg")
    upload(pg, PHOTO)
    state = wheel_state(pg)
    happy, sad = trace(state, "happy"), trace(state, "sad")
    start, end = (0.3 * happy["x"][1], 0.3 * happy["y"][1]), (0.9 * sad["x"][1], 0.9 * sad["y"][1])
    pg.evaluate(ARM_VIEW_COUNT)
    path = drag_path(state, start, end, 40)
    pg.mouse.move(*path[0])
    pg.mouse.down()
    emotions, markers = set(), []
    for xy in path[1:]:
        pg.mouse.move(*xy)
        pg.wait_for_timeout(40)
        emotions.add(control_values(pg)[0])
        markers.append((to_pixel(state, *point(wheel_state(pg))), xy))
    views = pg.evaluate("() => window.__views.length")
    assert views >= 5, f"only {views} views during a drag of {len(path)} moves"  # the face follows the drag
    assert {"happy", "sad"} <= emotions  # so do the controls
    # the marker follows at once, once the pointer has moved DRAG_PX (4 px) from the press
    assert all(math.dist(shown, at) < 1.5 for shown, at in markers[2:]), [round(math.dist(s, a), 1) for s, a in markers]
    pg.mouse.up()
    settled(pg)
    released = point(wheel_state(pg))
    assert math.dist(released, end) < one_px(state) * 2
    assert math.dist(status_point(pg), end) < 0.006 + one_px(state) * 2 and "Edited face 1" in pg.inner_text("#status")
    assert control_values(pg)[0] == "sad"
    # the last point wins: a fast drag (no pause between moves) released at once ends at its release
    final = (0.7 * happy["x"][1], 0.7 * happy["y"][1])
    fast = drag_path(state, end, final, 25)
    pg.mouse.move(*fast[0])
    pg.mouse.down()
    for xy in fast[1:]:
        pg.mouse.move(*xy)
    pg.mouse.up()
    settled(pg)
    pg.wait_for_timeout(1000)
    settled(pg)
    assert math.dist(point(wheel_state(pg)), final) < one_px(state) * 2
    assert math.dist(status_point(pg), final) < 0.006 + one_px(state) * 2 and control_values(pg)[0] == "happy"
    assert "you asked for happy" in pg.inner_text("#readout")  # the release's full edit, readout and all
    assert not pg.errors, f"JavaScript errors: {pg.errors}"


def test_a_finger_drags_the_marker_on_the_phone(browser, server):
    pg = open_page(browser, PHONE, phone=True)
    pg.goto(server.url)
    pg.wait_for_selector(f"{WHEEL} .main-svg")
    upload(pg, PHOTO)
    state = wheel_state(pg)
    fear, surprise = trace(state, "fear"), trace(state, "surprise")
    start, end = (0.4 * fear["x"][1], 0.4 * fear["y"][1]), (0.8 * surprise["x"][1], 0.8 * surprise["y"][1])
    # a tap first, as a phone sends it: Plotly answers it with its hover box there, and no pointer will
    # move off the wheel to take it away
    hover = f"{WHEEL} .hoverlayer .hovertext"
    pg.touchscreen.tap(*to_pixel(state, *start))
    wait_for(pg, lambda: pg.locator(hover).count() > 0, "the hover box of a tap")
    settled(pg)
    state = wheel_state(pg)  # the tap's edit rewrote the status line above the wheel: it may have moved
    scrolled = pg.evaluate("() => window.scrollY")
    path = drag_path(state, start, end, 30)
    pg.evaluate(ARM_VIEW_COUNT)
    cdp = pg.context.new_cdp_session(pg)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": path[0][0], "y": path[0][1]}]})
    for x, y in path[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        pg.wait_for_timeout(40)
    views = pg.evaluate("() => window.__views.length")
    hovered = pg.locator(hover).count()  # the tap's box, at a point the finger has left
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    settled(pg)
    assert views >= 3, f"only {views} views during a touch drag"
    assert hovered and pg.locator(hover).count() == 0, "the hover box stayed on the wheel after the drag"
    assert pg.evaluate("() => window.scrollY") == scrolled  # the finger moved the marker, not the page
    assert math.dist(point(wheel_state(pg)), end) < one_px(state) * 2
    assert math.dist(status_point(pg), end) < 0.006 + one_px(state) * 2 and control_values(pg)[0] == "surprise"
    assert not pg.errors, f"JavaScript errors: {pg.errors}"


def test_video_clip_upload_progress_and_download(browser, server, tmp_path):
    """A clip uploaded in its part of the page is checked, edited with a progress bar, shown and downloaded."""
    clip = write_clip(tmp_path / "moving.mp4", face_frames(PHOTOS_OBAMA, 36))
    pg = open_page(browser, DESKTOP)
    pg.goto(server.url)
    pg.wait_for_selector(f"{WHEEL} .main-svg")
    pg.click("#video > button")  # open the part
    pg.set_input_files("#clip input[type=file]", str(clip))
    wait_for(pg, lambda: "Clip: 3.0 s, 320×240 px, 12 fps, with sound" in pg.inner_text("#clip-status"), "the clip's check")
    pg.click("#clip-btn")
    seen: set[str] = set()
    deadline = time.monotonic() + 120
    while "Edited" not in pg.inner_text("#clip-status") and time.monotonic() < deadline:
        seen.add(pg.evaluate("() => [...document.querySelectorAll('#clip-out .progress-text, #clip-out .progress-level')]"
                             ".map(e => e.innerText).join(' ')"))
        pg.wait_for_timeout(40)
    assert "Edited 36 of 36 frames (3.0 s, 320×240 px at 12 fps), the sound kept" in pg.inner_text("#clip-status")
    assert any("Editing the frames" in t or "Following the face" in t for t in seen), seen  # the progress bar ran
    pg.wait_for_selector("#clip-out video[src]")
    pg.hover("#clip-out video")
    with pg.expect_download() as dl:
        pg.click("#clip-out a[data-testid=download-link]")
    frames, meta = decode(dl.value.path())
    assert len(frames) == 36 and meta["audio_codec"] is not None
    assert not pg.errors, f"JavaScript errors: {pg.errors}"


def test_reference_photo_moves_the_marker(browser, server):
    pg = open_page(browser, DESKTOP)
    pg.goto(server.url)
    pg.wait_for_selector(f"{WHEEL} .main-svg")
    upload(pg, PHOTO)
    start, first = point(wheel_state(pg)), after_src(pg)
    pg.set_input_files("#reference input[type=file]", str(ROOT / "assets" / "examples" / "biden.jpg"))
    wait_for(pg, lambda: "The reference reads" in pg.inner_text("#status") and after_src(pg) != first,
             "the edit at the reference's point")
    settled(pg)
    moved = point(wheel_state(pg))
    assert math.dist(moved, start) > 0.01 and math.dist(status_point(pg), moved) < 0.006
    assert control_values(pg)[0] in pg.inner_text("#status")  # the controls at the nearest emotion
    assert not pg.errors, f"JavaScript errors: {pg.errors}"
