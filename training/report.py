"""Rendering of evaluation results: the markdown report in the paper's table layout and the PNG figures.

Only drawing lives here (matplotlib, imported lazily with the Agg backend); the numbers come from
:mod:`training.evaluate`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ganmut.emotions import COLORS, EMOTIONS

TITLES = ("Neutral", "Happy", "Sad", "Surprised", "Fearful", "Disgusted", "Angry")
"""Column headers in the paper's wording, in :data:`ganmut.emotions.EMOTIONS` order."""

PAPER = {
    "accuracy": {
        "Real": (76.4, 93.4, 57.8, 46.0, 46.4, 30.4, 57.2),
        "StarGAN": (92.6, 96.1, 96.9, 95.4, 94.7, 95.1, 95.8),
        "GANmut": (87.8, 99.2, 96.5, 91.6, 87.5, 77.4, 97.9),
        "GGANmut": (95.8, 99.6, 99.9, 99.1, 97.6, 97.8, 99.5),
    },
    "smoothness": {"StarGAN": (0.79, 0.44, 0.43, 0.49, 0.55, 0.59), "GANmut": (0.38, 0.38, 0.35, 0.37, 0.36, 0.33)},
    "table2": {"Real": (None, None, 0.21), "StarGAN": (0.038, 0.037, 4.89), "GGANmut": (0.020, 0.018, 18.32),
               "GANmut": (0.025, 0.025, 0.71)},
}
"""The paper's values (AffectNet test set, the authors' VGG): printed for orientation only."""


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _show(ax, img: np.ndarray, extent=None) -> None:
    if img.shape[-1] == 1:
        ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=255, extent=extent)
    else:
        ax.imshow(img, extent=extent)


DASHES = {"solid": "-", "dash": "--", "dot": ":"}
"""matplotlib's line styles of a :class:`ganmut.spaces.Guide`'s ``dash``."""


def plot_space(space, path: Path, title: str = "", n: int = 200) -> None:
    """A learned 2-D space as the app's wheel shows it: the tint of each code's mix (``space.tint`` on an
    ``n`` x ``n`` grid), the domain's outline and the space's guides, each labelled emotion named above its point."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    lim = 1.2
    v = np.linspace(-lim, lim, n)
    ax.imshow(space.tint(np.stack(np.meshgrid(v, v), -1)), extent=(-lim, lim, -lim, lim), origin="lower")
    ax.plot(*space.outline().T, color="#333", lw=1.5)
    for g in space.guides():
        (x, y), (tx, ty) = g.xy.T, g.xy[-1]
        if g.width:
            ax.plot(x, y, color=g.color, alpha=g.opacity, lw=0.7 * g.width, ls=DASHES[g.dash])
        if g.marker:
            ax.plot(tx, ty, "o", color=g.color, ms=0.6 * g.marker, mec="#222", mew=0.6)
        if g.text:
            ax.annotate(g.text, (tx, ty), xytext=(0, -4 if g.marker else 0), textcoords="offset points", ha="center",
                        va="top" if g.marker else "center", fontsize=7, color="#333")
        if g.label:
            ax.annotate(g.name, (tx, ty), xytext=(0, 5), textcoords="offset points", ha="center", va="bottom", fontsize=9,
                        weight="bold", bbox=dict(boxstyle="round,pad=0.15", fc="white", ec=g.color, alpha=0.85))
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title=f"learned space: {title}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_wheel(images: np.ndarray, positions: np.ndarray, originals: np.ndarray, path: Path, title: str = "",
               captions: Sequence[str] = ()) -> None:
    """Edits ``images [F, K, H, W, C]`` of F faces placed at their codes' ``positions [K, 2]``, each
    captioned below by ``captions`` (if given: one per position)."""
    plt = _plt()
    n_faces, k = images.shape[:2]
    gaps = np.linalg.norm(positions[:, None] - positions[None], axis=-1) + np.eye(k) * 9
    half = min(0.45 * gaps.min(), 0.25)
    fig, axes = plt.subplots(1, n_faces, figsize=(6 * n_faces, 5), squeeze=False)
    for f, ax in enumerate(axes[0]):
        for j in range(k):
            x, y = positions[j]
            _show(ax, images[f, j], extent=(x - half, x + half, y - half, y + half))
        _show(ax, originals[f], extent=(1.35, 1.8, -0.225, 0.225))
        ax.text(1.575, 0.28, "input", ha="center", fontsize=8)
        for (x, y), caption in zip(positions, captions):
            ax.text(x, y - half - 0.06, caption, ha="center", fontsize=8)
        ax.set(xlim=(-1.3, 1.85), ylim=(-1.3, 1.3), aspect="equal")
        ax.axis("off")
    fig.suptitle(f"edits across the space: {title}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_strip(images: np.ndarray, scores: np.ndarray, path: Path, title: str = "") -> None:
    """Interpolation strips ``images [6, 11, H, W, C]`` with the target-class score under each frame."""
    plt = _plt()
    rows, cols, h, w, ch = images.shape
    pad = max(2, h // 4)
    mosaic = np.full((rows * (h + pad), cols * (w + 1), ch), 255, dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            mosaic[r * (h + pad):r * (h + pad) + h, c * (w + 1):c * (w + 1) + w] = images[r, c]
    fig, ax = plt.subplots(figsize=(cols * 0.9 + 0.8, rows * 1.0 + 0.6))
    _show(ax, mosaic)
    for r in range(rows):
        ax.text(-2, r * (h + pad) + h / 2, EMOTIONS[r + 1], ha="right", va="center", fontsize=8)
        for c in range(cols):
            ax.text(c * (w + 1) + w / 2, r * (h + pad) + h + pad / 2, f"{scores[r, c]:.2f}", ha="center", va="center", fontsize=6)
    for c in range(cols):
        ax.text(c * (w + 1) + w / 2, -2, f"{c / (cols - 1):.1f}", ha="center", va="bottom", fontsize=7)
    ax.axis("off")
    ax.set_title(f"neutral -> emotion, intensity 0..1 (target-class score): {title}", fontsize=9, pad=14)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(mean_scores: dict[str, list[float]], path: Path, title: str = "") -> None:
    """Mean target-class softmax score along each interpolation."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for e, s in mean_scores.items():
        t = np.linspace(0, 1, len(s))
        ax.plot(t, s, "-o", ms=3, color=COLORS[EMOTIONS.index(e)], label=e)
    ax.set(xlabel="intensity", ylabel="mean target-class softmax", ylim=(0, 1), title=title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- markdown
def _fmt(v, pattern: str) -> str:
    return "n/a" if v is None else format(v, pattern)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


IDENTITY = ("neutral_code_l1_on_neutral_faces", "neutral_code_l1_on_all_faces", "cycle_l1")


def _pct(v) -> str:
    return _fmt(None if v is None else 100 * v, ".1f")


def markdown(m: dict) -> str:
    """The report: Tables 3, 1 and 2 in the paper's layout, the protocol, figures and the paper's values."""
    out = _intro(m) + _accuracy(m) + _identity(m) + _smoothness(m) + _ere_fed(m) + _figures(m) + _paper()
    return "\n".join(out) + "\n"


def _intro(m: dict) -> list[str]:
    """The title, the run and the test data."""
    counts = ", ".join(f"{e} {n}" for e, n in m["face_counts"].items())
    return [
        "# GANmut evaluation",
        "",
        f"- date: {m['date']}; run time {m['seconds']} s",
        f"- machine: {m['machine']}",
        f"- test faces: {m['faces']} ({counts}) from `{m['data']['pack']}` (source `{m['data']['source']}`, split {m['data']['split']})",
        f"- classifier: `{m['classifier']['path']}` (its own test accuracy: {_pct(m['classifier']['test'])} %)",
        "",
    ]


def _accuracy(m: dict) -> list[str]:
    """Table 3: the classifier's accuracy on edits at full intensity."""
    out = [
        "## Table 3: classification accuracy of edits at full intensity (%)",
        "",
        "Edits with `space.code(c, 1.0)` (linear: the unit direction; Gaussian: the mode; StarGAN: the one-hot; "
        "neutral: the neutral anchor) of every test face, classified by the classifier. *Real*: the test faces themselves.",
        "",
    ]
    header = ["", *TITLES, "Mean"]
    rows = [["Real", *(_pct(m["real"]["accuracy"][e]) for e in EMOTIONS), _pct(m["real"]["accuracy"]["mean"])]]
    rows += [[name, *(_pct(r["accuracy"][e]) for e in EMOTIONS), _pct(r["accuracy"]["mean"])] for name, r in m["models"].items()]
    return out + _table(header, rows)


def _identity(m: dict) -> list[str]:
    """How much of the face a neutral code and a cycle keep."""
    out = [
        "",
        "## Identity (mean absolute pixel change on [-1, 1]; lower keeps more of the face)",
        "",
        "*Neutral code*: G(x, neutral anchor) against x, on the neutral test faces and on all of them. *Cycle*: "
        "G(G(x, c), y) against x, c a random other emotion, y the face's own label, both at full intensity.",
        "",
    ]
    rows = [[name, *(_fmt(r["identity"][k], ".4f") for k in IDENTITY)] for name, r in m["models"].items()]
    return out + _table(["", "Neutral code, neutral faces", "Neutral code, all faces", "Cycle"], rows)


def _smoothness(m: dict) -> list[str]:
    """Table 1: the smoothness score of each emotion's ramp."""
    models = m["models"]
    out = [
        "",
        "## Table 1: smoothness score (lower is smoother)",
        "",
        f"Largest one-step rise of the target-class softmax along intensity 0, 0.1, ..., 1 divided by its range "
        f"(0.1 = an even ramp, 1 = a single jump), averaged over faces. Flat series (range < {m['settings']['flat_range']}) "
        "are left out; their count is in parentheses when non-zero.",
        "",
    ]
    rows = []
    for i, e in enumerate(EMOTIONS[1:]):
        cells = []
        for r in models.values():
            flat = r["smoothness_flat"][e]
            cells.append(_fmt(r["smoothness"][e], ".3f") + (f" ({flat} flat)" if flat else ""))
        rows.append([TITLES[i + 1], *cells])
    return out + _table(["", *models], rows)


def _ere_fed(m: dict) -> list[str]:
    """Table 2: the Emotion Reconstruction Error and the Fréchet Emotion Distance."""
    models = m["models"]
    out = [
        "",
        "## Table 2: Emotion Reconstruction Error and Fréchet Emotion Distance",
        "",
        f"ERE: per group of {m['settings']['ere_group']} random faces the most ambiguous one gives the target (its top-3 "
        "softmax values renormalised in setting 1, top-2 in setting 2); that face is edited with every code of the search grid "
        "(linear: radii step 0.05, angles step 2π/21; Gaussian: [-1, 1]² step 0.1; StarGAN: 7 one-hots) and the edit whose softmax has the "
        "smallest MSE to the target counts; ERE is that MSE averaged over targets. FED: Fréchet distance between classifier "
        "features of the real faces and of edits with sampled codes (linear: θ, ρ uniform; Gaussian: the mode of a label "
        f"drawn from the test labels + N(0, {m['settings']['fed_noise']}²); StarGAN: the one-hot of such a label). "
        "*Real*: FED between two random halves of the test faces.",
        "",
    ]
    rows = [["Real", "-", "-", _fmt(m["real"]["fed_halves"], ".3f")]]
    for name, r in models.items():
        fed = _fmt(r["fed"], ".3f") + (f" (uniform codes: {_fmt(r['fed_uniform'], '.3f')})" if "fed_uniform" in r else "")
        rows.append([name, _fmt(r["ere"]["setting1"], ".4f"), _fmt(r["ere"]["setting2"], ".4f"), fed])
    out += _table(["", "ERE setting 1", "ERE setting 2", "FED"], rows)
    targets = "; ".join(f"{n}: {r['ere']['targets']['setting1']} / {r['ere']['targets']['setting2']} targets, {r['ere']['grid_codes']} grid codes" for n, r in models.items())
    return out + ["", f"ERE targets (setting 1 / setting 2): {targets}.", ""]


def _figures(m: dict) -> list[str]:
    """Each model's figures."""
    out = ["## Figures", ""]
    for name, files in m["figures"].items():
        out += [f"### {name}", "", *(f"![{f}]({f})" for f in files), ""]
    return out


def _paper() -> list[str]:
    """The paper's own values, for orientation."""
    out = ["## The paper's values (AffectNet test set, the authors' VGG; for orientation only, not comparable)", ""]
    out += _table(["Table 3", *TITLES], [[k, *map(str, v)] for k, v in PAPER["accuracy"].items()])
    out += [""] + _table(["Table 1", *TITLES[1:]], [[k, *map(str, v)] for k, v in PAPER["smoothness"].items()])
    out += [""] + _table(["Table 2", "ERE setting 1", "ERE setting 2", "FED"],
                         [[k, *("-" if v is None else str(v) for v in vals)] for k, vals in PAPER["table2"].items()])
    return out
