"""Live dragging on the wheel, in the browser: ``python -m benchmarks.bench_drag [--drags 5] [--seconds 5]``.

Starts the real app (``app.py``, through tests/appserver.py) with generators of the SERVED
architecture (the ``[generator]`` tables of configs/ganmut-linear.toml and ganmut-gaussian.toml:
48 px, conv_dim 32, 4 residual blocks; ``--arch default``: the heavier default, 64 px, conv_dim 64,
6 blocks) and a classifier of the default architecture, all with RANDOM weights (the timing is
what counts, not the pictures), opens it in headless Chromium at 1280x900 and uploads obama.jpg on
a canvas of about 12 megapixels (4000x3000, as bench_click.py). Then it presses the mouse on the
wheel and drags it round the disc at 70 % of the radius, a pointer move every 16 ms (a 60 Hz
mouse), for ``--seconds``, and releases. It counts, in the page, the new edited views decoded on
screen during the drag (updates a second), and checks that the view after the release is the edit
at the release point. Needs Debian's chromium and Playwright, like tests/webapp/test_browser.py.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.bench_click import SIZES, app_page, photo
from tests.webapp import test_browser as tb
from training.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def drag(pg, seconds: float, radius: float = 0.7, turn: float = 0.0) -> dict:
    """One drag round the wheel for ``seconds``: the views decoded a second, and where it ended."""
    state = tb.wheel_state(pg)
    pg.evaluate(tb.ARM_VIEW_COUNT)
    at = lambda a: tb.to_pixel(state, radius * math.cos(a), radius * math.sin(a))  # noqa: E731
    pg.mouse.move(*at(turn))
    pg.mouse.down()
    t0 = time.perf_counter()
    a = turn
    while (t := time.perf_counter() - t0) < seconds:
        a = turn + 2 * math.pi * t / seconds
        pg.mouse.move(*at(a))
        time.sleep(max(0.0, 0.016 - (time.perf_counter() - t0 - t)))
    views = pg.evaluate("() => window.__views.length")
    pg.mouse.up()
    end = (radius * math.cos(a), radius * math.sin(a))
    tb.settled(pg)
    released = tb.status_point(pg)
    return {"seconds": seconds, "views": views, "per_s": views / seconds,
            "release_error": math.dist(released, end) if released else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--drags", type=int, default=5, help="drags to time (default 5)")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each drag (default 5 s)")
    ap.add_argument("--arch", choices=("served", "warp", "default"), default="served",
                    help="generator architecture: the served configs' (default), the warp lineage's "
                    "(configs/ganmut-linear-warp.toml, for both models) or the library's default")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    recipe = {"served": "ganmut-{kind}.toml", "warp": "ganmut-linear-warp.toml"}.get(args.arch)
    generators = {kind: load_config(ROOT / "configs" / recipe.format(kind=kind)).generator if recipe else None
                  for kind in ("linear", "gaussian")}
    with tempfile.TemporaryDirectory() as tmp, app_page(Path(tmp), generators) as pg:
        tb.upload(pg, photo(Path(tmp), SIZES["12 MP"]))
        runs = [drag(pg, args.seconds, turn=i) for i in range(args.drags)]
        for r in runs:
            print(r, flush=True)
        view = pg.evaluate("() => { const i = [...document.querySelectorAll('#result img')].pop(); "
                           "return [i.naturalWidth, i.naturalHeight]; }")
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    rates = [r["per_s"] for r in runs]
    print(f"\ncpu {cpu}; {time.strftime('%Y-%m-%d %H:%M')}; random weights, {args.arch} generator architecture, "
          "readout (default-architecture classifier) on at the release")
    print(f"12 MP photo, face view ({view[0]}x{view[1]} after the release): updates a second during a drag: "
          f"median {statistics.median(rates):.1f} (min {min(rates):.1f}, max {max(rates):.1f}) over {len(rates)} drags "
          f"of {args.seconds:g} s; release point error at most {max(r['release_error'] for r in runs):.4f}")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
