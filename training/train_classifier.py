"""Train the emotion classifier (:mod:`ganmut.classifier`) on a dataset pack: ``python -m training.train_classifier``.

On-device batch augmentation (flip, small affine, brightness and contrast, random erasing), label
smoothing, AdamW and a cosine schedule with warm-up, optionally following a wall-clock budget
(``--max-minutes``); bf16 autocast on GPUs and on CPUs with native bf16.

The target of each face is its label distribution: a FER+ pack's vote distribution (the FER+ paper's
"cross-entropy" mode, :func:`soft_cross_entropy`), or a one-hot of the label for a pack without votes.
``--balance P`` weights each class by the inverse of its share of the votes to the power ``P``
(0: none, 1: every class counts equally; :func:`class_weights`).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganmut.classifier import ARCHS, ClassifierConfig, EmotionClassifier, load_classifier, predict, save_classifier
from ganmut.devices import autocast_settings, pick_device
from ganmut.emotions import EMOTIONS, N_EMOTIONS
from ganmut.errors import GanmutError
from training.augment import affine_matrices, warp
from training.clock import STOP, process_start
from training.config import AugmentConfig
from training.metrics import confusion_matrix, per_class_accuracy
from training.pack import PackError, concat_packs, load_pack
from training.prepare import pack_tensors

def _default_geometry() -> AugmentConfig:
    return AugmentConfig(flip=True, rotate_deg=10.0, translate=0.1, zoom_min=0.9, zoom_max=1.1)


@dataclass
class ClassifierTrainConfig:
    """Optimisation and augmentation settings (geometry: the GAN's :class:`~training.config.AugmentConfig`)."""

    epochs: int = 40
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    warmup_epochs: float = 1.0
    geometry: AugmentConfig = field(default_factory=_default_geometry)
    jitter: float = 0.2
    erase_p: float = 0.5
    seed: int = 0
    max_minutes: float | None = None  # wall-clock budget: the schedule follows elapsed time, ``epochs`` is the cap
    balance: float = 0.0  # each class's loss weighted by the inverse of its share to this power (class_weights)
    init: str | None = None  # weights to start from (a classifier of the same architecture): training goes on
    train_on: str = "train"  # the packs trained on (recorded on the card)


def lr_factor(step: int, warmup_steps: int, progress: float) -> float:
    """Linear warm-up over the first ``warmup_steps``, then cosine from 1 to 0 as ``progress`` goes 0 -> 1."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def class_weights(targets: torch.Tensor, n_classes: int, power: float = 1.0) -> torch.Tensor:
    """Loss weights that make the classes count alike: each class's inverse share of ``targets`` (labels
    ``[N]`` or distributions ``[N, n_classes]``, whose mass is summed per class) to the ``power``, scaled so
    that the average face weighs 1; 0 for a class with no mass. ``power`` 1 makes every class count as
    much as the others, so a rare class (FER2013's disgust, 1.5 % of its faces) is learnt instead of never
    being predicted; 0 weighs every class 1."""
    if targets.ndim == 1:
        mass = torch.bincount(targets.long().cpu(), minlength=n_classes)[:n_classes].double()
    else:
        mass = targets.detach().double().cpu().sum(0)
    present = mass > 0
    weights = torch.zeros(n_classes, dtype=torch.float64)
    weights[present] = (mass.sum() / (int(present.sum()) * mass[present])) ** power
    weights *= mass.sum() / (weights * mass).sum()
    return weights.float()


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                       label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy against distributions ``target`` ``[N, K]`` (rows sum to 1), with optional per-class
    ``weight`` (normalised by the batch's weighted mass, as :func:`torch.nn.functional.cross_entropy` does)
    and label smoothing. For one-hot targets it equals ``F.cross_entropy`` with the same settings."""
    k = logits.size(-1)
    q = target.float() * (1 - label_smoothing) + label_smoothing / k
    logp = F.log_softmax(logits.float(), -1)
    if weight is None:
        return -(q * logp).sum(-1).mean()
    w = weight.to(logp)
    return -(w * q * logp).sum() / (w * target.float()).sum()


def augment_batch(x: torch.Tensor, cfg: ClassifierTrainConfig, gen: torch.Generator) -> torch.Tensor:
    """Random flip/rotation/zoom/shift (:mod:`training.augment`), brightness/contrast and erasing of a batch in [-1, 1]."""
    b, dev = x.shape[0], x.device

    def u(*shape):  # uniform in [-1, 1)
        return torch.rand(*shape, generator=gen, device=dev) * 2 - 1

    x = warp(x, affine_matrices(b, cfg.geometry, gen, dev), x.shape[-1])
    mean = x.mean((1, 2, 3), keepdim=True)
    x = (x - mean) * (1 + u(b, 1, 1, 1) * cfg.jitter) + mean + u(b, 1, 1, 1) * cfg.jitter
    h, w = x.shape[2:]
    eh = (torch.rand(b, generator=gen, device=dev) * 0.4 + 0.1) * h
    ew = (torch.rand(b, generator=gen, device=dev) * 0.4 + 0.1) * w
    cy, cx = torch.rand(b, generator=gen, device=dev) * h, torch.rand(b, generator=gen, device=dev) * w
    ys, xs = torch.arange(h, device=dev).view(1, h, 1), torch.arange(w, device=dev).view(1, 1, w)
    box = ((ys - cy.view(b, 1, 1)).abs() < eh.view(b, 1, 1) / 2) & ((xs - cx.view(b, 1, 1)).abs() < ew.view(b, 1, 1) / 2)
    box &= (torch.rand(b, generator=gen, device=dev) < cfg.erase_p).view(b, 1, 1)
    return x.masked_fill(box.unsqueeze(1), 0.0).clamp(-1, 1)


def accuracy_report(probs: torch.Tensor, labels: torch.Tensor) -> dict:
    """Overall and per-class accuracy (JSON-friendly, NaN -> None)."""
    pred = probs.argmax(-1).cpu().numpy()
    y = labels.cpu().numpy()
    per = per_class_accuracy(pred, y, N_EMOTIONS)
    return {
        "accuracy": float((pred == y).mean()),
        "per_class": {e: (None if np.isnan(a) else float(a)) for e, a in zip(EMOTIONS, per)},
        "n": int(len(y)),
    }


def _model_and_optimizer(arch: ClassifierConfig, cfg: ClassifierTrainConfig, dev: torch.device,
                         init: EmotionClassifier | None) -> tuple[EmotionClassifier, torch.optim.Optimizer, dict]:
    """A classifier on ``dev`` (``init``'s weights when given), its AdamW (no weight decay on biases and
    norms) and the autocast settings of the device."""
    model = EmotionClassifier(arch).to(dev)
    if init is not None:
        model.load_state_dict(init.state_dict())
    amp = autocast_settings(dev)
    if amp["enabled"]:  # bf16 convolutions are fastest in channels-last layout
        model = model.to(memory_format=torch.channels_last)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    return model, opt, amp


def train_classifier(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    arch: ClassifierConfig,
    cfg: ClassifierTrainConfig,
    test: tuple[torch.Tensor, torch.Tensor] | None = None,
    progress: bool = True,
    init: EmotionClassifier | None = None,
) -> EmotionClassifier:
    """Train on images in [-1, 1] already at ``arch.input_size`` with targets ``train_y``: labels ``[N]`` or
    distributions ``[N, 7]``, from ``init``'s weights when given (a new schedule over them); the test set (images,
    labels) is only reported, never used to pick weights."""
    from tqdm import tqdm

    dev = train_x.device
    torch.manual_seed(cfg.seed)
    gen = torch.Generator(device=dev).manual_seed(cfg.seed)
    model, opt, amp = _model_and_optimizer(arch, cfg, dev, init)
    steps_per_epoch = max(1, len(train_x) // cfg.batch_size)
    total, warm = cfg.epochs * steps_per_epoch, max(1, int(cfg.warmup_epochs * steps_per_epoch))
    budget_s = cfg.max_minutes * 60 if cfg.max_minutes is not None else math.inf
    # the bar counts per cent of the run: of its steps, or of its time budget when that ends it first
    bar = tqdm(total=100, desc="training", bar_format="{desc}: {n:3.0f}%|{bar}| [{elapsed}<{remaining}]",
               disable=not progress, file=sys.stderr, mininterval=5)
    if train_y.ndim == 1:
        train_y = F.one_hot(train_y.long(), N_EMOTIONS).float()
    weight = class_weights(train_y, N_EMOTIONS, cfg.balance).to(dev) if cfg.balance else None
    t0, step, progress_frac = time.monotonic(), 0, 0.0
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.randperm(len(train_x), generator=gen, device=dev)
        for i in range(steps_per_epoch):
            # past warm-up, the cosine follows whichever is further along: steps or the time budget
            progress_frac = max((step - warm) / max(1, total - warm), (time.monotonic() - t0) / budget_s)
            for group in opt.param_groups:
                group["lr"] = cfg.lr * lr_factor(step, warm, progress_frac)
            idx = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            x = augment_batch(train_x[idx], cfg, gen)
            with torch.autocast(**amp):
                logits = model(x)
            loss = soft_cross_entropy(logits, train_y[idx], weight, cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            bar.update(min(100.0, 100 * max(step / total, (time.monotonic() - t0) / budget_s)) - bar.n)
            if progress_frac >= 1 or STOP.requested:  # the budget is spent, or SIGTERM: save what there is
                break
        line = f"epoch {epoch + 1}: loss {loss.item():.3f}, {time.monotonic() - t0:.0f} s"
        if test is not None and progress:
            line += f", test accuracy {accuracy_report(predict(model, test[0]), test[1])['accuracy']:.3f}"
        if progress:
            bar.write(line, file=sys.stderr)
        if progress_frac >= 1 or STOP.requested:
            break
    model.meta["epochs_done"] = epoch + 1
    bar.close()
    return model.eval()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.train_classifier",
        description="Train the emotion classifier used by the evaluation (accuracy of edits, smoothness, ERE, FED).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  python -m training.train_classifier --data packs/fer2013-train.npz --test packs/fer2013-test.npz "
        "--out weights/classifier-fer2013.safetensors\n"
        "  python -m training.train_classifier --data packs/small.npz --out /tmp/cls.safetensors --epochs 1 --width 8 --device cpu\n"
        "  python -m training.train_classifier --data packs/ferplus-train.npz packs/ferplus-valid.npz --test packs/ferplus-test.npz "
        "--balance 0.5 --out weights/fer-classifier.safetensors   # the bundled judge, on FER+ votes\n"
        "  python -m training.train_classifier --data packs/ferplus-train.npz --test packs/ferplus-test.npz --arch resnet "
        "--balance 1 --out weights/fer-guide.safetensors   # a guide for GAN training",
    )
    p.add_argument("--data", type=Path, nargs="+", help="training pack(s) (python -m training.prepare or training.archive "
                   "extract); several are concatenated. A FER+ pack's vote distributions are the targets")
    p.add_argument("--test", type=Path, default=None, help="test pack: reported per epoch and per class, never used for selection")
    p.add_argument("--out", type=Path, default=Path("weights/fer-classifier.safetensors"), help="weights to write (.safetensors; default the bundled file)")
    p.add_argument("--epochs", type=int, default=ClassifierTrainConfig.epochs)
    p.add_argument("--batch-size", type=int, default=ClassifierTrainConfig.batch_size)
    p.add_argument("--lr", type=float, default=ClassifierTrainConfig.lr)
    p.add_argument("--arch", choices=list(ARCHS), default=ClassifierConfig.arch,
                   help="vgg (default, the bundled judge's) or resnet (another kind of network, e.g. a training guide)")
    p.add_argument("--width", type=int, default=ClassifierConfig.width, help="channels of the first stage (default 32, the bundled classifier's)")
    p.add_argument("--input-size", type=int, default=None, help="network input side (default: the pack's image size)")
    p.add_argument("--seed", type=int, default=ClassifierTrainConfig.seed)
    p.add_argument("--balance", type=float, default=ClassifierTrainConfig.balance, metavar="P",
                   help="weight each class's loss by the inverse of its share of the training targets to the power P: "
                        "0 (default) none, 1 every class counts alike, so that a rare class (disgust) is learnt (for a "
                        "guide of GAN training, whose every class must pull); 0.5 in between")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="wall-clock budget from the start of this command: the learning-rate schedule follows elapsed "
                   "time and training ends on time; --epochs is then an upper bound")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1 ...")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--init", type=Path, default=None, metavar="SAFETENSORS",
                   help="start from these weights (same architecture and input) and train on with a new schedule, "
                   "e.g. a lower --lr: a run that stopped at its budget goes on")
    p.add_argument("--card", type=Path, metavar="SAFETENSORS",
                   help="print the model card (test accuracy per class, confusion matrix, training) of trained weights and exit")
    return p


def card(meta: dict) -> str:
    """Markdown model card of a classifier from its metadata: accuracy, per-class accuracy, confusion matrix."""
    test, train, arch = meta.get("test", {}), meta.get("train", {}), meta.get("architecture", {})
    names = {"vgg": "VGG-style", "resnet": "ResNet-style"}
    lines = [f"- architecture: {names[arch.get('arch', 'vgg')]}, width {arch.get('width')}, input {arch.get('input_size')} px, "
             f"{arch.get('channels')} channel(s), {arch.get('feature_dim')}-d features"]
    if train:
        budget = f", budget {train['max_minutes']:.0f} min" if train.get("max_minutes") else ""
        power = train.get("balance", 1.0 if train.get("balanced") else 0.0)
        balanced = f", classes balanced (loss weighted by inverse share to the power {power:g})" if power else ""
        targets = ", targets: FER+ vote distributions" if meta.get("data", {}).get("votes") else ""
        balanced += targets
        lines.append(f"- training: {train.get('epochs_done')} epochs ({train.get('epochs')} at most{budget}), batch "
                     f"{train.get('batch_size')}, lr {train.get('lr')}{balanced}, {train.get('seconds')} s on {train.get('device')}")
        before = train.get("before")
        while before:  # a run continued from another's weights: that run first
            lines.append(f"  - after {before.get('epochs_done')} epochs at lr {before.get('lr')} ({before.get('seconds')} s)")
            before = before.get("before")
    if not test:
        return "\n".join(lines + ["- no test figures recorded"]) + "\n"
    lines.append(f"- test accuracy: **{100 * test['accuracy']:.1f} %** on {test['n']} faces with flip averaging "
                 f"({100 * test['accuracy_single_view']:.1f} % single view)")
    lines += ["", "| | " + " | ".join(EMOTIONS) + " |", "|---" * (N_EMOTIONS + 1) + "|",
              "| accuracy (%) | " + " | ".join("-" if test["per_class"][e] is None else f"{100 * test['per_class'][e]:.1f}"
                                             for e in EMOTIONS) + " |"]
    lines += ["", "Confusion matrix (rows: true label, columns: prediction; counts):", "",
              "| true \\ predicted | " + " | ".join(EMOTIONS) + " |", "|---" * (N_EMOTIONS + 1) + "|"]
    lines += [f"| {e} | " + " | ".join(str(v) for v in row) + " |" for e, row in zip(EMOTIONS, test["confusion"])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """The CLI; ``started`` (``time.monotonic()``) is when --max-minutes counts from: the process start when run
    as a script, else this call."""
    started = time.monotonic() if started is None else started
    args = build_parser().parse_args(argv)
    try:
        if args.card is not None:
            print(card(load_classifier(args.card).meta), end="")
            return 0
        if args.data is None:
            raise PackError("--data is required (a training pack), unless --card is given")
        if args.balance < 0 or not math.isfinite(args.balance):
            raise ValueError(f"--balance must be 0 or more, got {args.balance}")
        dev = pick_device(args.device)
        train_pack = concat_packs([load_pack(path) for path in args.data])
        test_pack = load_pack(args.test) if args.test else None
        if len(train_pack) < 2:
            raise PackError(f"{args.data} holds {len(train_pack)} image(s); need at least 2")
        init = load_classifier(args.init) if args.init is not None else None
        arch = (init.cfg if init is not None else
                ClassifierConfig(arch=args.arch, input_size=args.input_size or train_pack.image_size,
                                 channels=train_pack.channels, width=args.width))
        cfg = ClassifierTrainConfig(epochs=args.epochs, batch_size=min(args.batch_size, len(train_pack)), lr=args.lr, seed=args.seed,
                                    max_minutes=args.max_minutes, balance=args.balance,
                                    train_on=" + ".join(str(path) for path in args.data),
                                    init=None if args.init is None else str(args.init))
    except (ValueError, GanmutError) as e:  # PackError, bad settings, an unavailable device
        print(f"error: {e}", file=sys.stderr)
        return 2
    tx, _ = pack_tensors(train_pack, arch.input_size, arch.channels, dev)
    ty = torch.as_tensor(train_pack.distributions(), device=dev)
    test = pack_tensors(test_pack, arch.input_size, arch.channels, dev) if test_pack is not None else None
    if cfg.max_minutes is not None:  # the budget counts from the start of the command: loading is inside it
        cfg.max_minutes = max(0.0, cfg.max_minutes - (time.monotonic() - started) / 60)
    t0 = time.time()
    model = train_classifier(tx, ty, arch, cfg, test, progress=not args.quiet, init=init)
    seconds = time.time() - t0
    meta = {
        "train": asdict(cfg) | {"seconds": round(seconds, 1), "device": str(dev), "epochs_done": model.meta["epochs_done"],
                                "before": None if init is None else init.meta.get("train")},
        "data": {"train": cfg.train_on, "train_counts": train_pack.counts(), "source": train_pack.meta.get("source"),
                 "votes": train_pack.votes is not None},
    }
    if test is not None:
        probs, probs_flip = predict(model, test[0]), predict(model, test[0], flip=True)
        meta["test"] = accuracy_report(probs_flip, test[1]) | {
            "pack": str(args.test), "flip_averaged": True, "accuracy_single_view": accuracy_report(probs, test[1])["accuracy"],
            "confusion": confusion_matrix(probs_flip.argmax(-1).numpy(), test[1].numpy(), N_EMOTIONS).tolist(),
        }
    save_classifier(args.out, model.cpu(), meta)
    print(f"trained in {seconds:.0f} s on {dev}; wrote {args.out}")
    if test is not None:
        rep = meta["test"]
        print(f"test accuracy {rep['accuracy']:.3f} on {rep['n']} faces with flip averaging "
              f"({rep['accuracy_single_view']:.3f} single view)")
        for e, a in rep["per_class"].items():
            print(f"  {e:<10}{'n/a' if a is None else f'{a:.3f}':>7}")
    return 0


if __name__ == "__main__":
    STOP.install()
    sys.exit(main(started=process_start()))
