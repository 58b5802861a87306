"""Click to result in the browser: ``python -m benchmarks.bench_click [--clicks 10]``.

Starts the real app (``app.py``, through tests/appserver.py) with generators of the DEFAULT
architecture and a classifier of the default architecture, all with RANDOM weights (the timing is
what counts, not the pictures), opens it in headless Chromium at 1280x900, uploads obama.jpg on
canvases of about 1, 12 and 35 megapixels, and clicks the wheel. For each click it measures, in
the page, the time from the pointer press on the wheel to the moment the new edited view is
decoded on screen, and the bytes the browser fetched for it; the face is cached (each photo's
first edit is not timed). Needs Debian's chromium and Playwright, like tests/webapp/test_browser.py.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.bench_inference import random_classifier, random_model
from tests import appserver
from tests.webapp import test_browser as tb

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"1 MP": (1000, 1000), "12 MP": (4000, 3000), "35 MP": (7200, 4800)}


def photo(folder: Path, size: tuple[int, int]) -> Path:
    """obama.jpg filling most of the height of a grey canvas of ``size`` (a JPEG at quality 85)."""
    path = folder / f"obama-{size[0]}x{size[1]}.jpg"
    with Image.open(tb.PHOTO) as src:
        h = round(0.8 * size[1])
        w = round(h * src.width / src.height)
        canvas = Image.new("RGB", size, (120, 130, 140))
        canvas.paste(src.convert("RGB").resize((w, h), Image.Resampling.BILINEAR), ((size[0] - w) // 2, size[1] // 10))
    canvas.save(path, quality=85)
    return path


def clicks(pg, n: int, case: int) -> list[dict]:
    """``n`` timed clicks at 70 % of the radius, going round the wheel from an angle of the ``case``'s own
    (a click where the marker already is would change nothing on the page, and so time nothing)."""
    state = tb.wheel_state(pg)
    return [tb.click_timed(pg, state, (0.7 * math.cos(a), 0.7 * math.sin(a)))
            for a in np.linspace(0, 2 * math.pi, n, endpoint=False) + 0.3 + 0.5 * case]


@contextmanager
def app_page(tmp: Path, generators: dict[str, dict | None] | None = None) -> Iterator:
    """The real app serving models with random weights (the default architecture, or the ``generator``
    tables of ``generators`` by kind) and a random default-architecture classifier, open in headless
    Chromium at 1280x900 with its wheel drawn: the Playwright page. Everything stops on exit."""
    from playwright.sync_api import sync_playwright

    generators = generators or {}
    (tmp / "app").mkdir()
    srv = appserver.start(tmp / "app", random_model(tmp / "linear.safetensors", "linear", generators.get("linear")),
                          random_model(tmp / "gaussian.safetensors", "gaussian", generators.get("gaussian")),
                          random_classifier(tmp / "classifier.safetensors"))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=tb.CHROMIUM, args=tb.ARGS)
            tb.ARTIFACTS.mkdir(parents=True, exist_ok=True)
            pg = tb.open_page(browser, tb.DESKTOP)
            pg.goto(srv.url)
            pg.wait_for_selector(f"{tb.WHEEL} .main-svg")
            yield pg
            browser.close()
    finally:
        appserver.stop()


def summary(name: str, timings: list[dict]) -> dict:
    ms = [t["ms"] for t in timings]
    return {"case": name, "clicks": len(ms), "p50_ms": round(statistics.median(ms)), "min_ms": round(min(ms)),
            "max_ms": round(max(ms)), "kB_per_click": round(statistics.median(t["bytes"] for t in timings) / 1000),
            "view_px": "x".join(map(str, timings[-1]["size"]))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clicks", type=int, default=10, help="timed clicks per case (default 10)")
    ap.add_argument("--arch", choices=("default", "served", "warp"), default="default",
                    help="generator architecture: the library's default (default), the served configs' or the warp "
                    "lineage's (configs/ganmut-linear-warp.toml, for both models)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    from training.config import load_config

    recipe = {"served": "ganmut-{kind}.toml", "warp": "ganmut-linear-warp.toml"}.get(args.arch)
    generators = {kind: load_config(ROOT / "configs" / recipe.format(kind=kind)).generator if recipe else None
                  for kind in ("linear", "gaussian")}
    rows = []
    with tempfile.TemporaryDirectory() as tmp, app_page(Path(tmp), generators) as pg:
        for name, size in SIZES.items():
            tb.upload(pg, photo(Path(tmp), size))
            rows.append(summary(f"{name}, face view", clicks(pg, args.clicks, len(rows))))
            print(rows[-1], flush=True)
            if name == "12 MP":
                pg.locator("#whole input").check()
                tb.settled(pg)
                rows.append(summary(f"{name}, whole photo", clicks(pg, args.clicks, len(rows))))
                print(rows[-1], flush=True)
                pg.locator("#whole input").uncheck()
                tb.settled(pg)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"\ncpu {cpu}; {time.strftime('%Y-%m-%d %H:%M')}; random weights, {args.arch} generator architecture, readout on")
    print("| case | clicks | p50 | min | max | kB per click | view |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['clicks']} | {r['p50_ms']} ms | {r['min_ms']} ms | {r['max_ms']} ms | {r['kB_per_click']} | {r['view_px']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
