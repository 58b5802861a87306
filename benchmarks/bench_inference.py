"""Inference latency of the Editor: ``python -m benchmarks.bench_inference [--device cpu|cuda]``.

The generator has the default architecture (64 px, 1 channel, conv_dim 64, 6 residual blocks)
with RANDOM weights, saved and loaded through the real checkpoint path: only the timing means
anything, not the pictures. The photo is obama.jpg resized to a 1000 px long side (one face).

Measured:
- first edit: an image not seen before (detection + alignment + generator + paste-back), with
  MTCNN and the generator already warm; the median over a few distinct images;
- cached edit: the same image again with a new code (generator + paste-back only); median;
- 24-code edit_many: 24 full-resolution results from one batched generator call; median;
- grid: ``Editor.grid`` (2 rings x 12 directions, crops only, no paste-back); median;
- readout: what the live classifier readout adds to a cached edit (the default classifier
  architecture, RANDOM weights): the same cached edits with and without the classifier, paired,
  and the classifier alone on one aligned face;
- the slider's hot path, on the photo and on a 12-megapixel copy (4000x3000): one cached edit and
  its face window (what the app shows), from the image (read and hashed to find the cached
  detection: how the app worked before) and from the prepared photo the app now keeps
  (``Editor.prepare``: the generator and the paste-back only); paired, alternating; median.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import ganmut
from ganmut.align import FER2013_TEMPLATE
from ganmut.checkpoint import save_checkpoint
from ganmut.face import face_window
from ganmut.classifier import ClassifierConfig, EmotionClassifier, predict, save_classifier
from ganmut.generator import Generator, GeneratorConfig
from ganmut.spaces import make_space

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests" / "data" / "photos" / "obama.jpg"


def random_model(path: Path, kind: str = "linear", generator: dict | None = None) -> Path:
    """A model with random weights (for timing only): the default architecture, or the
    ``generator`` table of a training config (``training.config.load_config(...).generator``)."""
    torch.manual_seed(0)
    space = make_space(kind)
    if kind == "linear":
        with torch.no_grad():
            t = torch.arange(6) * (2 * torch.pi / 6)
            space.weight.copy_(torch.stack([t.cos(), t.sin()], -1))
    gen = Generator(GeneratorConfig(**(generator or {"image_size": 64, "channels": 1, "conv_dim": 64, "n_res": 6})))
    if gen.cfg.output == "warp":  # a head at zero would move nothing: every part of the motion is timed
        torch.nn.init.normal_(gen.head.weight, std=0.05)
        with torch.no_grad():
            gen.head.weight[3] += 0.2
    return save_checkpoint(path, gen, space, FER2013_TEMPLATE.tolist(), training={"note": "random weights, benchmark only"})


def random_classifier(path: Path) -> Path:
    """A default-architecture emotion classifier with random weights (for timing only)."""
    torch.manual_seed(0)
    return save_classifier(path, EmotionClassifier(ClassifierConfig()), {"note": "random weights, benchmark only"})


def timed(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, help="torch device (default: CUDA, then MPS, then CPU)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--photo", type=Path, default=PHOTO, help="photo with one face (default obama.jpg)")
    ap.add_argument("--long-side", type=int, default=1000, help="resize the photo to this long side (default 1000)")
    ap.add_argument("--repeats", type=int, default=20, help="cached edits to time (default 20)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    with Image.open(args.photo) as src:
        s = args.long_side / max(src.size)
        photo = src.convert("RGB").resize((round(src.width * s), round(src.height * s)), Image.Resampling.LANCZOS)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        editor = ganmut.load(random_model(Path(tmp) / "bench.safetensors"), args.device, classifier=None)
        load_ms = (time.perf_counter() - t0) * 1000
        reader = ganmut.load(Path(tmp) / "bench.safetensors", args.device, classifier=random_classifier(Path(tmp) / "clf.safetensors"))
    dev = editor.device
    n_params = sum(p.numel() for p in editor.model.generator.parameters())

    cold = timed(lambda: editor.edit(photo, emotion="happy"), dev)  # includes one-off warm-up
    firsts = []
    for i in range(5):  # distinct pixels: a cache miss each time
        variant = photo.copy()
        variant.putpixel((0, i), (i, i, i))
        firsts.append(timed(lambda: editor.edit(variant, emotion="happy"), dev))
    codes = [(0.9 * np.cos(a), 0.9 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, args.repeats, endpoint=False)]
    cached = [timed(lambda c=c: editor.edit(photo, z=c), dev) for c in codes]
    grid_codes = editor.grid_codes((0.5, 1.0), 12)[0]
    many = [timed(lambda: editor.edit_many(photo, grid_codes), dev) for _ in range(3)]
    grids = [timed(lambda: editor.grid(photo), dev) for _ in range(3)]
    reader.edit(photo, z=(0.1, 0.1))  # warm-up: detection, and the classifier's reading of the input
    plain, read = [], []
    for c in codes:  # paired, alternating: the load of a shared machine hits both alike
        plain.append(timed(lambda c=c: editor.edit(photo, z=c), dev))
        read.append(timed(lambda c=c: reader.edit(photo, z=c), dev))
    face = reader.prepare(photo).inputs[:1]
    alone = [timed(lambda: predict(reader.classifier, face.to(dev)), dev) for _ in range(args.repeats)]
    n_clf = sum(p.numel() for p in reader.classifier.parameters())
    hot = {}
    for name, img in (("photo", photo), ("12 MP", photo.resize((4000, 3000), Image.Resampling.BILINEAR))):
        prep = editor.prepare(img)
        box = face_window(prep.faces[:1], img.size, 0.35)
        from_image, from_prep = [], []
        for c in codes:
            from_image.append(timed(lambda c=c: editor.edit(img, z=c).window(box), dev))
            from_prep.append(timed(lambda c=c: editor.edit(prep, z=c).window(box), dev))
        hot[f"{name} {img.width}x{img.height}"] = (statistics.median(from_image), statistics.median(from_prep))

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "-"
    print(f"device {dev} | cpu {cpu} | gpu {gpu} | torch threads {torch.get_num_threads()} | torch {torch.__version__}")
    print(f"generator: 64 px, 1 ch, conv_dim 64, n_res 6, {n_params / 1e6:.2f} M params (random weights)")
    print(f"photo: {args.photo.name} resized to {photo.size[0]}x{photo.size[1]}")
    print(f"load model + detector       {load_ms:8.1f} ms")
    print(f"cold first edit (warm-up)   {cold:8.1f} ms")
    print(f"first edit, detection (med) {statistics.median(firsts):8.1f} ms   (n={len(firsts)}, min {min(firsts):.1f})")
    print(f"cached edit (median)        {statistics.median(cached):8.1f} ms   (n={len(cached)}, min {min(cached):.1f})")
    print(f"edit_many, 24 codes (med)   {statistics.median(many):8.1f} ms   (n={len(many)}, min {min(many):.1f})")
    print(f"grid, 24 tiles (median)     {statistics.median(grids):8.1f} ms   (n={len(grids)}, min {min(grids):.1f})")
    extra = [r - p for p, r in zip(plain, read)]
    c = reader.classifier.cfg
    print(f"classifier: {c.input_size} px, {c.channels} ch, width {c.width}, {n_clf / 1e6:.2f} M params (random weights)")
    print(f"cached edit with readout    {statistics.median(read):8.1f} ms   (without: {statistics.median(plain):.1f})")
    print(f"readout cost per edit (med) {statistics.median(extra):8.1f} ms   (paired differences, n={len(extra)})")
    print(f"classifier alone, one face  {statistics.median(alone):8.1f} ms   (n={len(alone)}, min {min(alone):.1f})")
    for name, (before, after) in hot.items():
        print(f"slider hot path, {name}: from the image {before:.1f} ms, from the prepared photo {after:.1f} ms "
              f"(cached edit + face window, median of {len(codes)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
