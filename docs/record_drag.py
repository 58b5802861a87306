"""Record the README's GIF of dragging on the wheel: ``python -m docs.record_drag LINEAR GAUSSIAN --label TEXT``.

Starts the real app (``app.py``, through tests/appserver.py) on the two checkpoints given, opens it
in headless Chromium at 1280x900 (Debian's chromium and Playwright, as the browser tests), uploads
``--photo`` (assets/examples/obama.jpg by default), moves the before/after handle to the left (the edited face whole),
presses the mouse on the wheel and drags it round the emotions, and screenshots the edited face and
the wheel as often as it can (a screenshot takes about a quarter of a second here); the frames,
with ``--label`` under them, become a looping GIF that plays at the speed they were taken (``-o``,
docs/screenshots/drag.gif by default). ``--still`` also keeps a full-size screenshot of the page as
the drag is released.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tests import appserver
from tests.webapp import test_browser as tb

ROOT = Path(__file__).resolve().parents[1]
TOUR = ("neutral", "happy", "surprise", "fear", "sad", "disgust", "anger", "happy")
"""Where the drag goes: from the centre round the emotions' directions."""


def waypoints(state: dict, radius: float = 0.85) -> list[tuple[float, float]]:
    """The data points of the drag: the centre, then each emotion's direction at ``radius``."""
    out = []
    for name in TOUR:
        if name == "neutral":
            out.append((0.0, 0.0))
        else:
            t = tb.trace(state, name)
            out.append((radius * t["x"][1], radius * t["y"][1]))
    return out


def frame(pg, clip: dict, label: str, width: int) -> Image.Image:
    """A screenshot of ``clip``, reduced to ``width`` px, with ``label`` under it."""
    import io

    shot = Image.open(io.BytesIO(pg.screenshot(clip=clip))).convert("RGB")
    shot = shot.resize((width, round(shot.height * width / shot.width)), Image.Resampling.LANCZOS)
    font = ImageFont.load_default(size=15)
    out = Image.new("RGB", (shot.width, shot.height + 28), "white")
    out.paste(shot, (0, 0))
    ImageDraw.Draw(out).text((8, shot.height + 6), label, fill="#333", font=font)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("linear", type=Path, help="the GANmut (linear) checkpoint the app serves")
    ap.add_argument("gaussian", type=Path, help="the GGANmut (Gaussian) checkpoint the app serves")
    ap.add_argument("--label", required=True, help="the caption under every frame: say which weights these are")
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "screenshots" / "drag.gif", help="the GIF to write")
    ap.add_argument("--seconds", type=float, default=7.0, help="length of the drag (default 7 s)")
    ap.add_argument("--width", type=int, default=760, help="width of the GIF in pixels (default 760)")
    ap.add_argument("--photo", type=Path, default=ROOT / "assets" / "examples" / "obama.jpg",
                    help="the photo to upload (default assets/examples/obama.jpg)")
    ap.add_argument("--still", type=Path, help="also save a full-size screenshot of the page after the release (PNG)")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    frames: list[Image.Image] = []
    taken: list[float] = []  # when each frame of the drag was taken
    with tempfile.TemporaryDirectory() as tmp:
        srv = appserver.start(Path(tmp), args.linear.resolve(), args.gaussian.resolve(), ROOT / "weights" / "fer-classifier.safetensors")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=tb.CHROMIUM, args=tb.ARGS)
                pg = tb.open_page(browser, tb.DESKTOP)
                pg.goto(srv.url)
                pg.wait_for_selector(f"{tb.WHEEL} .main-svg")
                tb.upload(pg, args.photo)
                # the before/after handle to the left edge: the frames show the edited face whole
                handle = pg.locator("#result img").last.bounding_box()
                pg.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
                pg.mouse.down()
                pg.mouse.move(handle["x"] + 2, handle["y"] + handle["height"] / 2, steps=8)
                pg.mouse.up()
                state = tb.wheel_state(pg)
                view, wheel = pg.locator("#view").bounding_box(), pg.locator("#wheel").bounding_box()
                top = min(view["y"], wheel["y"])
                clip = {"x": view["x"], "y": top, "width": wheel["x"] + wheel["width"] - view["x"],
                        "height": max(view["y"] + 420, wheel["y"] + wheel["height"]) - top}
                points = waypoints(state)
                pg.mouse.move(*tb.to_pixel(state, *points[0]))
                pg.mouse.down()
                t0 = time.perf_counter()
                while (t := (time.perf_counter() - t0) / args.seconds) < 1:
                    leg = min(int(t * (len(points) - 1)), len(points) - 2)
                    f = t * (len(points) - 1) - leg
                    (x0, y0), (x1, y1) = points[leg], points[leg + 1]
                    pg.mouse.move(*tb.to_pixel(state, x0 + f * (x1 - x0), y0 + f * (y1 - y0)))
                    frames.append(frame(pg, clip, args.label, args.width))
                    taken.append(time.perf_counter())
                pg.mouse.up()
                tb.settled(pg)
                frames.append(frame(pg, clip, args.label + " · released", args.width))
                if args.still:
                    pg.screenshot(path=str(args.still))
                browser.close()
        finally:
            appserver.stop()
    palette = [f.quantize(colors=192, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) for f in frames]
    steps = [round(1000 * (b - a)) for a, b in zip(taken, taken[1:])]
    durations = steps + [steps[-1], 1500]  # the released face stays 1.5 s before the loop starts again
    palette[0].save(args.output, save_all=True, append_images=palette[1:], duration=durations, loop=0, optimize=True)
    print(f"wrote {args.output}: {len(frames)} frames, {args.output.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
