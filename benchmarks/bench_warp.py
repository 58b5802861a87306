"""The residual output against the warp output on the editor's hot paths: ``python -m benchmarks.bench_warp``.

Both generators have the architecture their recipe trains (``configs/ganmut-linear.toml``: residual;
``configs/ganmut-linear-warp.toml``: warp) with RANDOM weights (the cost of an edit does not depend on them;
the warp head's weights are random too, so every part of the motion is applied). The photo is obama.jpg on a
4000 x 3000 canvas (12 MP, the face about 1,500 px high), the face detected once (cached), as the app keeps it.
Timed, as medians over ``--repeats`` runs, paired (residual and warp alternate):

- click: a new code on the prepared photo and the face's window, at full resolution (what a click shows);
- drag: a new code and the quick display window of the face (what each drag update shows);
- video: ``edit_each`` on 720p frames with the face tracked (frames per second of the edit itself).
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests" / "data" / "photos" / "obama.jpg"
RECIPES = {"residual": "ganmut-linear.toml", "warp": "ganmut-linear-warp.toml"}


def model(path: Path, config: str) -> Path:
    """A recipe's generator architecture with random weights (a warp head that moves), saved as a checkpoint."""
    from ganmut.align import FER2013_TEMPLATE
    from ganmut.checkpoint import save_checkpoint
    from ganmut.generator import Generator, GeneratorConfig
    from ganmut.spaces import make_space

    torch.manual_seed(0)
    gen = Generator(GeneratorConfig(**tomllib.loads((ROOT / "configs" / config).read_text())["generator"]))
    if gen.cfg.output == "warp":
        torch.nn.init.normal_(gen.head.weight, std=0.05)
    return save_checkpoint(path, gen, make_space("linear"), FER2013_TEMPLATE.tolist(), training={"note": "random weights"})


def canvas(size: tuple[int, int]) -> Image.Image:
    """obama.jpg filling 80 % of the height of a grey canvas of ``size``."""
    with Image.open(PHOTO) as src:
        h = round(0.8 * size[1])
        w = round(h * src.width / src.height)
        out = Image.new("RGB", size, (120, 130, 140))
        out.paste(src.convert("RGB").resize((w, h), Image.Resampling.BILINEAR), ((size[0] - w) // 2, size[1] // 10))
    return out


def ms(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_warp", description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15, help="timed runs per case (default 15)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    args = ap.parse_args(argv)
    import tempfile

    import ganmut

    torch.set_num_threads(args.threads)
    photo12, frame = canvas((4000, 3000)), canvas((1280, 720))
    times: dict[str, dict[str, list[float]]] = {k: {"click": [], "drag": [], "video": []} for k in RECIPES}
    with tempfile.TemporaryDirectory() as tmp:
        editors = {k: ganmut.load(model(Path(tmp) / f"{k}.safetensors", c), "cpu", classifier=None) for k, c in RECIPES.items()}
        preps = {k: (ed.prepare(photo12), ed.prepare(frame)) for k, ed in editors.items()}
        angles = np.linspace(0, 2 * np.pi, args.repeats, endpoint=False)
        for i, a in enumerate(angles):
            z = (0.8 * float(np.cos(a)), 0.8 * float(np.sin(a)))
            for k, ed in editors.items():
                big, small = preps[k]
                res = ed.edit(big, z=z)
                box = res.boxes[0]
                times[k]["click"].append(ms(lambda: ed.edit(big, z=z).window(box)))
                times[k]["drag"].append(ms(lambda: ed.edit(big, z=z).display_window(box, 5)))
                frames = [small] * 8
                t = ms(lambda: [r.image for r in ed.edit_each(frames, [z] * 8)])
                times[k]["video"].append(8000 / t)
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), platform.machine())
    print(f"cpu {cpu}; torch {torch.__version__}, {args.threads} threads; {time.strftime('%Y-%m-%d %H:%M')}; "
          f"medians of {args.repeats}, random weights")
    print("| output | click at 12 MP (face window) | drag update at 12 MP (display window) | video edit, 720p |")
    print("|---|---|---|---|")
    for k, t in times.items():
        print(f"| {k} | {statistics.median(t['click']):.0f} ms | {statistics.median(t['drag']):.0f} ms "
              f"({1000 / statistics.median(t['drag']):.1f} updates/s) | {statistics.median(t['video']):.1f} frames/s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
