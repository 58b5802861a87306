"""Measure served models the way the paper does: ``python -m training.evaluate MODEL ... --data PACK --classifier CLS``.

For each model (linear GANmut, Gaussian GGANmut or the StarGAN baseline), on already cropped test
faces resized to the model's input:

- **Table 3**: classifier accuracy of the edits at full intensity, ``space.code(c, 1.0)`` for every
  emotion c (neutral: the neutral anchor), next to the accuracy on the real faces;
- **Table 1**: smoothness (:func:`training.metrics.smoothness`) of the target-class softmax along
  ``space.code(c, j / 10)``, j = 0..10, for the six non-neutral emotions;
- **Identity**: mean |G(x, neutral code) - x| on the neutral test faces and on all of them, and the
  cycle error mean |G(G(x, c), y) - x| (c a random other emotion, y the face's label);
- **Table 2**: ERE settings 1 and 2 (:func:`training.metrics.topk_targets` on groups of faces taken in a
  seeded random order; the target face itself is edited with every code of the search grid: linear
  polar grid, radii step 0.05 and angle step 2 pi / 21; Gaussian [-1, 1]^2 step 0.1; StarGAN the
  7 one-hots) and FED between real and edited faces (codes: linear uniform in (theta, rho); Gaussian the
  mode of a label drawn from the test label distribution plus N(0, ``fed_noise``^2) noise; StarGAN the
  one-hot of such a label), with the real-vs-real FED of two random halves of the test faces.

Writes ``report.md``, ``metrics.json`` and PNG figures (:mod:`training.report`) to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from ganmut.checkpoint import Model, load_checkpoint
from ganmut.classifier import EmotionClassifier, load_classifier
from ganmut.devices import pick_device
from ganmut.weights import CLASSIFIER_FILE
from ganmut.emotions import EMOTIONS, N_EMOTIONS, NEUTRAL
from ganmut.errors import GanmutError
from ganmut.images import from_model_output, to_model_input
from ganmut.spaces import Space
from training.metrics import ere, fed, per_class_accuracy, smoothness, topk_targets
from training.pack import PackError, load_pack

STEPS = 10
"""Interpolation steps: intensities j / STEPS, j = 0..STEPS (the paper's 11 points)."""
FLAT_RANGE = 1e-3
"""An interpolation whose target-class score moves by less than this is flat: no smoothness score."""
ERE_SETTINGS = {"setting1": 3, "setting2": 2}
"""ERE setting -> how many high softmax values the target keeps (paper, Table 2)."""
MIN_FACES = 4


class EvaluateError(ValueError):
    """Bad evaluation inputs (one line for the CLI)."""


@dataclass
class EvalConfig:
    models: list[Path]
    data: Path
    classifier: Path
    out: Path = Path("runs/eval")
    baseline: Path | None = None
    limit: int | None = None
    batch_size: int = 256
    device: str = "auto"
    seed: int = 0
    ere_group: int = 16
    fed_noise: float = 0.1
    plot_faces: int = 3
    progress: bool = True
    figures: bool = True


# --------------------------------------------------------------------------- codes
def series_codes(space: Space) -> tuple[torch.Tensor, np.ndarray]:
    """Codes of all interpolations: (codes [1 + 6 * STEPS, dim], index [6, STEPS + 1]) where
    ``codes[index[c - 1, j]] == space.code(c, j / STEPS)``; the shared start is the neutral anchor."""
    codes = [space.code(NEUTRAL, 1.0)]
    index = np.zeros((N_EMOTIONS - 1, STEPS + 1), dtype=np.int64)
    for c in range(1, N_EMOTIONS):
        for j in range(1, STEPS + 1):
            index[c - 1, j] = len(codes)
            codes.append(space.code(c, j / STEPS))
    return torch.stack(codes), index


# --------------------------------------------------------------------------- scoring
class Scorer:
    """Runs generator edits through the classifier in bounded batches."""

    def __init__(self, model: Model, clf: EmotionClassifier, batch_size: int, progress: bool) -> None:
        self.model, self.clf, self.batch_size, self.progress = model, clf, batch_size, progress
        self.device = next(clf.parameters()).device

    @torch.no_grad()
    def edit(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.model.generator(x.to(self.device), z.to(self.device, torch.float32))

    @torch.no_grad()
    def identity(self, x: torch.Tensor, labels: np.ndarray, gen: torch.Generator) -> dict:
        """How much of the face survives: mean |G(x, neutral) - x| on the neutral faces and on all faces, and
        the cycle error mean |G(G(x, c), y) - x| with c a random other emotion and y the face's own label
        (codes: ``space.code(., 1.0)``); all on [-1, 1] at the model's input size."""
        space = self.model.space
        anchors = torch.stack([space.code(c, 1.0) for c in range(N_EMOTIONS)]).float()
        y = torch.as_tensor(labels, dtype=torch.long)
        other = (y + torch.randint(1, N_EMOTIONS, (len(y),), generator=gen)) % N_EMOTIONS
        neutral_err, cycle_err = [], []
        for s in range(0, len(x), self.batch_size):
            xb, yb, cb = x[s:s + self.batch_size], y[s:s + self.batch_size], other[s:s + self.batch_size]
            neutral_err.append((self.edit(xb, anchors[NEUTRAL].expand(len(xb), -1)) - xb).abs().mean((1, 2, 3)).cpu())
            cycle_err.append((self.edit(self.edit(xb, anchors[cb]), anchors[yb]) - xb).abs().mean((1, 2, 3)).cpu())
        neutral, cycle = torch.cat(neutral_err), torch.cat(cycle_err)
        is_neutral = y == NEUTRAL
        return {
            "neutral_code_l1_on_neutral_faces": float(neutral[is_neutral].mean()) if is_neutral.any() else float("nan"),
            "neutral_code_l1_on_all_faces": float(neutral.mean()),
            "cycle_l1": float(cycle.mean()),
        }

    @torch.no_grad()
    def features(self, x: torch.Tensor, z: torch.Tensor, desc: str) -> torch.Tensor:
        """Classifier features [N, F] of the edits G(x[i], z[i])."""
        from tqdm import tqdm

        return torch.cat([
            self.clf.features(self.edit(x[s:s + self.batch_size], z[s:s + self.batch_size])).float().cpu()
            for s in tqdm(range(0, len(x), self.batch_size), desc=desc, disable=not self.progress, file=sys.stderr, leave=False)
        ])

    @torch.no_grad()
    def pair_probs(self, x: torch.Tensor, codes: torch.Tensor, desc: str) -> torch.Tensor:
        """Softmax [N, K, 7] of every face edited with every code."""
        from tqdm import tqdm

        n, k = len(x), len(codes)
        out = torch.empty(n * k, N_EMOTIONS)
        for s in tqdm(range(0, n * k, self.batch_size), desc=desc, disable=not self.progress, file=sys.stderr, leave=False):
            p = torch.arange(s, min(s + self.batch_size, n * k))
            out[p] = torch.softmax(self.clf(self.edit(x[p // k], codes[p % k])).float(), -1).cpu()
        return out.view(n, k, N_EMOTIONS)


def _nanmean(v: np.ndarray) -> float:
    """Mean of the finite entries; NaN when there are none."""
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


def _nan_to_none(v):
    if isinstance(v, dict):
        return {k: _nan_to_none(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_nan_to_none(x) for x in v]
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else float(v)
    return v


def evaluate_model(model: Model, clf: EmotionClassifier, real: dict, cfg: EvalConfig) -> dict:
    """All metrics of one model; ``real`` holds the test faces and the classifier's outputs on them."""
    scorer = Scorer(model, clf, cfg.batch_size, cfg.progress)
    space = model.space
    x = to_model_input(real["images"], model.config.image_size, model.config.channels, scorer.device)
    gen = torch.Generator().manual_seed(cfg.seed)

    codes, index = series_codes(space)
    probs = scorer.pair_probs(x, codes, "interpolations").numpy()  # [N, K, 7]
    emo = np.arange(1, N_EMOTIONS)
    scores = probs[:, index, emo[:, None]]  # [N, 6, 11]: target-class score along each path
    full = np.concatenate([probs[:, index[0, 0]][:, None], probs[:, index[:, -1]]], 1)  # [N, 7, 7]
    pred = full.argmax(-1)  # prediction of the edit towards each emotion
    acc = per_class_accuracy(pred.ravel(), np.tile(np.arange(N_EMOTIONS), len(pred)), N_EMOTIONS)
    smooth = smoothness(scores, eps=FLAT_RANGE)  # [N, 6], NaN for flat series

    grid = space.search_grid()
    order = np.random.default_rng(cfg.seed).permutation(len(x))  # groups of random faces, not of one class
    targets = {}
    for name, k in ERE_SETTINGS.items():
        idx, t = topk_targets(real["probs"][order], k, cfg.ere_group)
        targets[name] = (order[idx], t)
    rows = np.unique(np.concatenate([idx for idx, _ in targets.values()]))
    grid_probs = scorer.pair_probs(x[rows], grid, "ERE grid search").numpy()
    ere_scores = {name: ere(t, grid_probs[np.searchsorted(rows, idx)]) for name, (idx, t) in targets.items()}

    fake = scorer.features(x, space.fed_codes(real["label_freq"], len(x), gen, cfg.fed_noise), "FED edits")
    identity = scorer.identity(x, real["labels"], gen)
    result = {
        "parametrization": space.kind,
        "image_size": model.config.image_size,
        "accuracy": dict(zip(EMOTIONS, acc.tolist())) | {"mean": float(np.mean(acc))},
        "smoothness": {e: _nanmean(smooth[:, i]) for i, e in enumerate(EMOTIONS[1:])},
        "smoothness_flat": {e: int(np.isnan(smooth[:, i]).sum()) for i, e in enumerate(EMOTIONS[1:])},
        "mean_scores": {e: scores[:, i].mean(0).tolist() for i, e in enumerate(EMOTIONS[1:])},
        "ere": ere_scores | {"targets": {name: int(len(idx)) for name, (idx, _) in targets.items()}, "grid_codes": int(len(grid))},
        "fed": fed(real["features"], fake.numpy()),
        "identity": identity,
    }
    if space.fed_uniform:
        fake_u = scorer.features(x, space.sample(len(x), gen), "FED uniform")
        result["fed_uniform"] = fed(real["features"], fake_u.numpy())
    return result


# --------------------------------------------------------------------------- real faces
def balanced_subset(labels: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """Indices of at most ``limit`` faces taken round-robin over classes (each class shuffled with ``seed``),
    so a small limit still covers every emotion; all faces (in pack order) when ``limit`` is None."""
    if limit is None or limit >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    rank = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rank[rng.permutation(idx)] = np.arange(len(idx))
    order = np.lexsort((labels, rank))  # by rank within class, then class
    return np.sort(order[:limit])


@torch.no_grad()
def real_stats(images: np.ndarray, labels: np.ndarray, clf: EmotionClassifier, cfg: EvalConfig) -> dict:
    """Classifier softmax and features of the real faces, their accuracy and the real-vs-real FED."""
    device = next(clf.parameters()).device
    probs, feats = [], []
    for s in range(0, len(images), cfg.batch_size):
        f = clf.features(to_model_input(images[s:s + cfg.batch_size], device=device))
        feats.append(f.float().cpu())
        probs.append(torch.softmax(clf.head(f).float(), -1).cpu())
    probs_np, feats_np = torch.cat(probs).numpy(), torch.cat(feats).numpy()
    acc = per_class_accuracy(probs_np.argmax(-1), labels, N_EMOTIONS)
    half = np.random.default_rng(cfg.seed).permutation(len(labels))
    n = len(labels) // 2
    return {
        "images": images,
        "labels": labels,
        "probs": probs_np,
        "features": feats_np,
        "label_freq": np.bincount(labels, minlength=N_EMOTIONS) / len(labels),
        "accuracy": dict(zip(EMOTIONS, acc.tolist())) | {"mean": _nanmean(acc)},
        "fed_halves": fed(feats_np[half[:n]], feats_np[half[n:2 * n]]),
    }


# --------------------------------------------------------------------------- figures
@torch.no_grad()
def render_figures(name: str, model: Model, clf: EmotionClassifier, real: dict, result: dict, cfg: EvalConfig) -> list[str]:
    """Write the PNG figures of one model; returns their file names (relative to ``cfg.out``)."""
    from training import report

    device = next(clf.parameters()).device
    slug = re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-")
    faces = real["images"][: cfg.plot_faces]
    x = to_model_input(faces, model.config.image_size, model.config.channels, device)
    files = []
    if model.space.dim == 2:
        files.append(f"space-{slug}.png")
        report.plot_space(model.space, cfg.out / files[-1], title=name)
    codes, pos = model.space.display_codes()
    wheel = torch.stack([model.generator(xi.expand(len(codes), -1, -1, -1), codes.to(device)) for xi in x[:, None]])
    files.append(f"wheel-{slug}.png")
    # a 2-D space's tiles sit at their own codes; others are placed on a chart, so each tile is named
    captions = [] if model.space.dim == 2 else [EMOTIONS[i] for i in model.space.mix(codes.numpy()).argmax(-1)]
    report.plot_wheel(from_model_output(wheel), pos, from_model_output(x), cfg.out / files[-1], title=name, captions=captions)
    series, index = series_codes(model.space)
    strip = model.generator(x[:1].expand(len(series), -1, -1, -1), series.to(device))
    probs = torch.softmax(clf(strip), -1).cpu().numpy()
    emo = np.arange(1, N_EMOTIONS)
    files.append(f"strip-{slug}.png")
    report.plot_strip(from_model_output(strip)[index], probs[index, emo[:, None]], cfg.out / files[-1], title=name)
    files.append(f"curves-{slug}.png")
    report.plot_curves(result["mean_scores"], cfg.out / files[-1], title=name)
    return files


# --------------------------------------------------------------------------- run
def machine_info(device: torch.device) -> str:
    accel = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU only"
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, {accel}, torch {torch.__version__}"


def _load_models(cfg: EvalConfig, device: torch.device) -> dict[str, tuple[Path, Model]]:
    paths = list(cfg.models) + ([cfg.baseline] if cfg.baseline else [])
    models: dict[str, tuple[Path, Model]] = {}
    for i, path in enumerate(paths):
        model = load_checkpoint(path, device)
        if cfg.baseline and i == len(paths) - 1 and model.parametrization != "stargan":
            raise EvaluateError(f"--baseline {path} is a {model.parametrization} model, not a StarGAN one")
        name = f"{Path(path).stem} ({model.parametrization})"
        if name in models:
            name = f"{Path(path).stem} #{i + 1} ({model.parametrization})"
        models[name] = (Path(path), model)
    return models


def run(cfg: EvalConfig) -> dict:
    """Evaluate every model; writes report.md, metrics.json and the figures; returns the metrics."""
    from training import report

    t0 = time.time()
    device = pick_device(cfg.device)
    if not cfg.models and not cfg.baseline:
        raise EvaluateError("no model given")
    for name, value in (("--ere-group", cfg.ere_group), ("--batch-size", cfg.batch_size)):
        if value < 1:
            raise EvaluateError(f"{name} must be at least 1, got {value}")
    if cfg.fed_noise < 0:
        raise EvaluateError(f"--fed-noise must not be negative, got {cfg.fed_noise}")
    pack = load_pack(cfg.data)
    clf = load_classifier(cfg.classifier, device)
    models = _load_models(cfg, device)
    keep = balanced_subset(pack.labels, cfg.limit, cfg.seed)
    if len(keep) < MIN_FACES:
        raise EvaluateError(f"need at least {MIN_FACES} test faces, got {len(keep)}")
    real = real_stats(pack.images[keep], pack.labels[keep], clf, cfg)
    cfg.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    figures: dict[str, list[str]] = {}
    for name, (path, model) in models.items():
        if cfg.progress:
            print(f"evaluating {name} on {len(keep)} faces", file=sys.stderr)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):  # bf16 on GPUs, as trained
            results[name] = evaluate_model(model, clf, real, cfg) | {"path": str(path)}
            figures[name] = render_figures(name, model, clf, real, results[name], cfg) if cfg.figures else []
    metrics = _nan_to_none({
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(device),
        "seconds": round(time.time() - t0, 1),
        "faces": int(len(keep)),
        "face_counts": dict(zip(EMOTIONS, np.bincount(real["labels"], minlength=N_EMOTIONS).tolist())),
        "data": {"pack": str(cfg.data), "source": pack.meta.get("source"), "split": pack.meta.get("split")},
        "classifier": {"path": str(cfg.classifier), "test": clf.meta.get("test", {}).get("accuracy"),
                       "architecture": clf.meta.get("architecture")},
        "settings": {"limit": cfg.limit, "seed": cfg.seed, "ere_group": cfg.ere_group, "fed_noise": cfg.fed_noise,
                     "steps": STEPS, "flat_range": FLAT_RANGE, "ere_settings": ERE_SETTINGS},
        "real": {"accuracy": real["accuracy"], "fed_halves": real["fed_halves"]},
        "models": results,
        "figures": figures,
    })
    (cfg.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (cfg.out / "report.md").write_text(report.markdown(metrics))
    return metrics


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.evaluate",
        description="Evaluate GANmut / GGANmut / StarGAN checkpoints as in the paper: accuracy of edits (Table 3), "
        "smoothness (Table 1), ERE and FED (Table 2).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  python -m training.evaluate weights/ganmut-linear.safetensors weights/ganmut-gaussian.safetensors \\\n"
        "      --baseline runs/stargan.safetensors --data packs/fer2013-test.npz \\\n"
        "      --out runs/eval\n"
        "  python -m training.evaluate weights/ganmut-linear.safetensors --data packs/fer2013-test.npz \\\n"
        "      --classifier runs/my-classifier.safetensors --limit 200 --device cpu",
    )
    p.add_argument("models", type=Path, nargs="*", help="served checkpoints (.safetensors)")
    p.add_argument("--data", type=Path, required=True, help="test pack of cropped faces (python -m training.prepare)")
    p.add_argument("--classifier", type=Path, default=CLASSIFIER_FILE,
                   help="classifier weights (default: the bundled weights/fer-classifier.safetensors; "
                   "train one with python -m training.train_classifier)")
    p.add_argument("--baseline", type=Path, default=None, help="a StarGAN checkpoint to compare against")
    p.add_argument("--out", type=Path, default=Path("runs/eval"), help="output folder (default runs/eval)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="evaluate at most N faces (class-balanced, seeded)")
    p.add_argument("--batch-size", type=int, default=256, help="edits per forward pass (default 256)")
    p.add_argument("--ere-group", type=int, default=16, help="faces per ERE target group (paper: 16; 1 = every face)")
    p.add_argument("--fed-noise", type=float, default=0.1, help="std of the noise added to Gaussian modes for FED")
    p.add_argument("--plot-faces", type=int, default=3, help="faces shown in the wheel figures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda ...")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = EvalConfig(
        models=args.models, data=args.data, classifier=args.classifier, out=args.out, baseline=args.baseline,
        limit=args.limit, batch_size=args.batch_size, device=args.device, seed=args.seed, ere_group=args.ere_group,
        fed_noise=args.fed_noise, plot_faces=max(1, args.plot_faces), progress=not args.quiet,
    )
    try:
        metrics = run(cfg)
    except (GanmutError, EvaluateError, PackError) as e:
        print(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 2
    print(f"evaluated {len(metrics['models'])} model(s) on {metrics['faces']} faces in {metrics['seconds']} s; "
          f"wrote {cfg.out / 'report.md'} and {cfg.out / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
