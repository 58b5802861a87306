"""The quality floor a served model must pass before it becomes a default, and the figures that judge it.

The floor (the weights issue), re-based on FER+ (the labels issue): on the FER+ test faces (FER2013's
PrivateTest split with the plurality of ten annotators' votes, ``packs/ferplus-test.npz``), a classifier
that G never trained against (the bundled judge, trained on FER+ votes)

- reads full-intensity edits as their target at a mean of at least 50 % over the six emotions,
  with at least 4 of the 6 at 40 % or more;
- reads the origin code (the neutral anchor) as neutral at least as often as it reads real neutral
  faces as neutral;

and the identity change mean |G(x, origin) - x| over all the faces, on [-1, 1], is at most 0.05.
:data:`RAISED` is the floor that replaces it once the served models clear it: a mean of 60 %, 5 of 6
emotions at 40 % or more, and fear and disgust at 30 % or more each. (That the edits of the example
photos show the intended expression without breaking the face is judged by a person, from the strips in
``docs/``.)

:func:`floor_figures` measures only what the floor needs (7 edits a face, not the full evaluation of
:mod:`training.evaluate`), so a CPU can judge 2,000 faces in a few minutes; :func:`verdict` is the
rule as a pure function of those figures.

As a command it judges served files or training runs side by side (a recipe comparison, or a run
against the served model)::

    python -m training.floor weights/training-state/ganmut-linear.safetensors runs/linear-a runs/linear-b
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ganmut.checkpoint import Model
from ganmut.classifier import EmotionClassifier
from ganmut.emotions import EMOTIONS, N_EMOTIONS, NEUTRAL
from ganmut.images import to_model_input


@dataclass(frozen=True)
class Floor:
    """The thresholds (fractions, and the L1 distance on [-1, 1])."""

    mean: float = 0.50
    each: float = 0.40
    each_count: int = 4
    identity: float = 0.05
    rare: float = 0.0  # fear and disgust, each: the emotions FER2013's labels taught worst


FLOOR = Floor()
RAISED = Floor(mean=0.60, each=0.40, each_count=5, rare=0.30)
"""The floor once the served models clear it (the labels issue)."""
RARE = ("fear", "disgust")


@torch.no_grad()
def floor_figures(model: Model, judge: EmotionClassifier, images: np.ndarray, labels: np.ndarray,
                  batch_size: int = 256) -> dict:
    """What the judge reads on the real faces and on their full-intensity edits towards each emotion, and
    the identity change at the origin. ``images`` are uint8 ``[N, C, H, W]`` test faces, ``labels`` their
    emotions. Fractions in [0, 1]; ``edits`` maps each emotion to the share of edits read as it."""
    device = next(judge.parameters()).device
    space, gen = model.space, model.generator
    codes = torch.stack([space.code(c, 1.0) for c in range(N_EMOTIONS)]).float().to(device)
    hits = np.zeros(N_EMOTIONS)
    real_hits = np.zeros(N_EMOTIONS)
    identity = 0.0
    for s in range(0, len(images), batch_size):
        x = to_model_input(images[s:s + batch_size], model.config.image_size, model.config.channels, device)
        pred = judge(x).argmax(-1).cpu().numpy()
        real_hits += np.bincount(labels[s:s + batch_size][pred == labels[s:s + batch_size]], minlength=N_EMOTIONS)
        for c in range(N_EMOTIONS):
            edit = gen(x, codes[c].expand(len(x), -1)).float()
            hits[c] += int((judge(edit).argmax(-1) == c).sum())
            if c == NEUTRAL:
                identity += float((edit - x).abs().mean((1, 2, 3)).sum())
    counts = np.bincount(labels, minlength=N_EMOTIONS)
    edits = dict(zip(EMOTIONS, (hits / len(images)).round(4).tolist()))
    real = {e: (round(float(h / n), 4) if n else None) for e, h, n in zip(EMOTIONS, real_hits, counts)}
    return {
        "faces": int(len(images)),
        "edits": edits,
        "mean6": round(float(np.mean([edits[e] for e in EMOTIONS[1:]])), 4),
        "real": real,
        "identity": round(identity / len(images), 4),
    }


def verdict(fig: dict, floor: Floor = FLOOR) -> dict:
    """Whether figures from :func:`floor_figures` pass ``floor``: ``{"passes": bool, "misses": [reasons]}``."""
    six = [fig["edits"][e] for e in EMOTIONS[1:]]
    misses = []
    if fig["mean6"] < floor.mean:
        misses.append(f"mean of the six emotions {fig['mean6']:.1%} < {floor.mean:.0%}")
    strong = sum(a >= floor.each for a in six)
    if strong < floor.each_count:
        misses.append(f"{strong} of 6 emotions at {floor.each:.0%} or more (need {floor.each_count})")
    real_neutral = fig["real"]["neutral"]
    if real_neutral is not None and fig["edits"]["neutral"] < real_neutral:
        misses.append(f"origin read as neutral {fig['edits']['neutral']:.1%} < real neutral faces {real_neutral:.1%}")
    if fig["identity"] > floor.identity:
        misses.append(f"identity change {fig['identity']:.3f} > {floor.identity}")
    misses += [f"{e} {fig['edits'][e]:.1%} < {floor.rare:.0%}" for e in RARE if fig["edits"][e] < floor.rare]
    return {"passes": not misses, "misses": misses, "floor": asdict(floor)}


def load_judge(test: str | Path, classifier: str | Path, faces: int | None = 2000,
               device: str = "auto") -> Callable[[str | Path], dict]:
    """A function of a served-format file's path that returns its floor figures and :func:`verdict` on
    ``faces`` class-balanced faces of the ``test`` pack (all when None or 0); the pack and the judging
    ``classifier`` are loaded once, here."""
    from ganmut.checkpoint import load_checkpoint
    from ganmut.classifier import load_classifier
    from ganmut.devices import pick_device

    from .evaluate import balanced_subset
    from .pack import load_pack

    dev = pick_device(device)
    pack = load_pack(test)
    keep = balanced_subset(pack.labels, faces or None, seed=0)
    judged, judge = pack.subset(keep), load_classifier(classifier, dev)

    def figures(path: str | Path) -> dict:
        fig = floor_figures(load_checkpoint(path, dev), judge, judged.images, judged.labels)
        return fig | verdict(fig) | {"raised": verdict(fig, RAISED)["passes"]}
    return figures


FIGURE_COLUMNS = ("mean of 6 | happy / sad / surprise / fear / disgust / anger | origin read neutral (real neutral) "
                  "| identity | floor")


def figure_cells(fig: dict) -> str:
    """The markdown cells of :data:`FIGURE_COLUMNS` for figures of :func:`load_judge` (the middle of a table row)."""
    six = " / ".join(f"{100 * fig['edits'][e]:.0f}" for e in EMOTIONS[1:])
    verdict_text = "passes" if fig["passes"] else "below: " + "; ".join(fig["misses"])
    if fig.get("raised"):
        verdict_text += " (and the raised floor)"
    return (f"{100 * fig['mean6']:.1f} % | {six} | {100 * fig['edits']['neutral']:.1f} % "
            f"({100 * (fig['real']['neutral'] or 0):.1f} %) | {fig['identity']:.3f} | {verdict_text}")


def table(header: str, rows: list[str]) -> str:
    """A markdown table of ``header``'s ``|``-separated columns and ``rows`` (their cells, without the outer bars)."""
    width = header.count("|") + 1
    return "\n".join([f"| {header} |", "|" + "---|" * width, *(f"| {r} |" for r in rows)])


def main(argv: list[str] | None = None) -> int:
    from ganmut.errors import GanmutError

    from .export import export

    p = argparse.ArgumentParser(
        prog="python -m training.floor",
        description="Judge GANmut models against the quality floor (the weights issue) with a classifier they "
        "never trained against, side by side: served .safetensors files, or training run directories "
        "(their EMA generator is exported to a temporary file first). Prints a markdown table.",
        epilog="Example: python -m training.floor weights/training-state/ganmut-linear.safetensors runs/session/linear")
    p.add_argument("models", nargs="+", type=Path, help="served .safetensors files, run directories or their checkpoint.pt")
    p.add_argument("--test", type=Path, default=Path("packs/ferplus-test.npz"),
                   help="test pack (default %(default)s: python -m training.prepare path/to/ferplus --split test -o ...)")
    p.add_argument("--judge", type=Path, default=Path("weights/fer-classifier.safetensors"),
                   help="the judging classifier (default %(default)s)")
    p.add_argument("--faces", type=int, default=2000, help="class-balanced test faces (default 2000, as the session; 0: all)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = p.parse_args(argv)
    try:
        figures = load_judge(args.test, args.judge, args.faces, args.device)
        results = {}
        with tempfile.TemporaryDirectory() as tmp:
            for i, path in enumerate(args.models):
                run = path.is_dir() or path.suffix == ".pt"  # a run: its EMA generator, as the session serves it
                served = export(path, Path(tmp) / f"{i}.safetensors", continuation=False)[0] if run else path
                results[str(path)] = figures(served)
    except (GanmutError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(results, indent=1) if args.json
          else table(f"model | {FIGURE_COLUMNS}", [f"{k} | {figure_cells(v)}" for k, v in results.items()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
