"""The learned 2-D conditional spaces of GANmut (linear) and GGANmut (Gaussian).

The math is kept in pure tensor functions (:mod:`ganmut.geometry`: ``polar_to_xy``, ``covariance``,
``label_distribution`` ...) that tests check against hand-computed values; the
``nn.Module`` classes hold the learnable parameters and compose those functions.
Every space answers the same questions:

- ``code(emotion, intensity)``: the 2-D code of an emotion at an intensity in [0, 1]
  (the app's radius slider, the paper's interpolation protocol);
- ``distribution(z)``: the emotion mix of any codes, shape ``[..., 7]``, rows sum to 1;
- ``anchors()``: the code of each emotion at full intensity, shape ``[7, dim]``;
- ``nearest_emotion(z)``, ``intensity_of(z, emotion)``, ``at_intensity(z, emotion, t)``: the
  emotion and intensity controls of a point, and the point an intensity control moves it to
  (linear: along the ray through the point; otherwise along the path of ``code``);
- ``point_of(probabilities)``: the point of an emotion reading (what the classifier reads on a
  reference face): the anchors averaged by the reading (:func:`expected_anchor`);
- for a 2-D space, its geometry (``border``, ``edge``, ``inside``, ``outline``) and what a drawing
  shows (``tint``, ``guides``), which :mod:`ganmut.wheel` and the evaluation report draw as given.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch
from torch import nn

from .emotions import COLORS, EMOTIONS, N_EMOTIONS, NEUTRAL, emotion_index, mix_vector
from .errors import number
from .geometry import (
    AXIS_MIN,
    MODE_LIMIT,
    covariance,
    dominant_tint,
    draw_labels,
    ellipse,
    expected_anchor,
    label_distribution,
    linear_distribution,
    mix_tint,
    polar_to_xy,
    unit_directions,
    xy_to_polar,
)

TAU = 0.2
"""Radius below which a linear-space code counts as neutral (the paper's tau)."""
INTENSITY_RINGS = (0.25, 0.5, 0.75)
"""The intensities a drawing of the linear space rings."""


class Guide(NamedTuple):
    """One line or mark that a drawing of a 2-D space shows, in code coordinates: plain data that
    :mod:`ganmut.wheel` (Plotly) and ``training.report`` (matplotlib) draw alike."""

    name: str
    xy: np.ndarray
    """``[n, 2]`` points; a line joins them, NaN rows break it."""
    color: str
    """'#rrggbb'."""
    width: float = 0.0
    """Line width in pixels; 0 draws no line."""
    dash: str = "solid"
    """'solid', 'dash' or 'dot'."""
    opacity: float = 1.0
    """Of the whole guide, in [0, 1]."""
    marker: float = 0.0
    """Diameter in pixels of a dot on the last point; 0 draws none."""
    text: str = ""
    """Written at the last point (below its dot, if it has one)."""
    hover: str = ""
    """What pointing at the guide shows."""
    label: bool = False
    """The last point is the place of the emotion ``name``, which a label outside the domain names."""


# --------------------------------------------------------------------------- spaces
class Space(nn.Module):
    """Common interface; subclasses define ``kind``, ``dim``, ``domain``, ``anchors``, ``distribution``,
    ``project`` and ``describe``. A 2-D space also defines ``border`` (how far its domain, star-shaped
    around the origin and within [-1, 1]^2, reaches in each direction), from which membership, the
    grids, paths and outlines below follow; what a drawing shows (``tint``, ``guides``) and the
    evaluation's code sets (``search_grid``, ``display_codes``, ``sample``, ``fed_codes``) have
    defaults to override. A space that is not 2-D defines ``contains`` instead of ``border``.

    Every place that draws, samples or searches a space asks it: a new parametrisation is one subclass
    registered in :data:`SPACES` (plus, for training, one sampling function registered in
    :mod:`training.recipes`)."""

    kind: str = ""
    dim: int = 2
    domain: str = ""
    """The domain in words, for messages: "the unit disc (x^2 + y^2 <= 1)"."""
    fed_uniform: bool = False
    """Whether the evaluation also reports FED with uniformly sampled codes (the supplement's second
    FED setting, for GGANmut, whose FED codes otherwise sit at the modes)."""
    continuous: bool = True
    """Whether a code is a point with coordinates (a discriminator's coordinate head regresses it), not
    a one-hot label."""
    tint_rule: Callable[[np.ndarray], np.ndarray] = staticmethod(dominant_tint)
    """How :meth:`tint` colours a point from its emotion mix."""

    def anchors(self) -> torch.Tensor:
        raise NotImplementedError

    def place_anchors(self, anchors: torch.Tensor, variance: float | None = None) -> None:
        """Move the learned anchors to ``anchors`` [7, 2] (a warm start from another space's model) and,
        given ``variance``, make each mode's spread ``variance`` * I."""
        raise ValueError(f"the {self.kind} space cannot take another space's anchors")

    def distribution(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def code(self, emotion: str | int, intensity: float = 1.0) -> torch.Tensor:
        """The straight path from the neutral anchor (intensity 0) to the emotion's anchor (1)."""
        idx = emotion_index(emotion)
        r = number(intensity, "intensity", (0.0, 1.0))
        a = self.anchors().detach()
        return a[NEUTRAL] + r * (a[idx] - a[NEUTRAL])

    def nearest_emotion(self, z: torch.Tensor | tuple[float, ...]) -> int:
        """The non-neutral emotion with the largest share of the mix of code ``z`` (the emotion a
        point leans to; linear: its sector, also at the centre where ties go to the first)."""
        p = self.distribution(torch.as_tensor(z, dtype=torch.float32).reshape(1, self.dim))[0].clone()
        p[NEUTRAL] = -1.0
        return int(p.argmax())

    def intensity_of(self, z: torch.Tensor | tuple[float, ...], emotion: str | int) -> float:
        """Where code ``z`` lies on the path of :meth:`code` towards ``emotion``: its projection
        onto the segment from the neutral anchor (0) to the emotion's anchor (1), clipped to [0, 1]."""
        a = self.anchors().detach().float()
        d = a[emotion_index(emotion)] - a[NEUTRAL]
        t = (torch.as_tensor(z, dtype=torch.float32) - a[NEUTRAL]) @ d / (d @ d).clamp_min(1e-12)
        return float(t.clamp(0.0, 1.0))

    def at_intensity(self, z: torch.Tensor | tuple[float, ...], emotion: str | int, intensity: float) -> torch.Tensor:
        """The code an intensity control moves code ``z`` to: here :meth:`code` (``emotion`` at
        ``intensity``); the linear space keeps the direction of ``z`` instead."""
        return self.code(emotion, intensity)

    def point_of(self, probabilities) -> tuple[float, ...]:
        """The point of an emotion reading, ``{emotion: probability}`` or 7 shares (see
        :func:`expected_anchor`), in the domain; ValueError, in one line, for a reading that is not one."""
        p = torch.tensor(mix_vector(probabilities), dtype=torch.float64)
        return self.project(expected_anchor(p, self.anchors().detach().cpu().double()).numpy())

    def dominant(self, z: torch.Tensor) -> tuple[int, float]:
        """The most likely emotion of one code and its share of the mix."""
        p = self.distribution(torch.as_tensor(z, dtype=torch.float32).reshape(1, self.dim))[0].detach()
        i = int(p.argmax())
        return i, float(p[i])

    def contains(self, z: torch.Tensor, tol: float = 1e-6) -> bool:
        """Whether a code lies in the space's domain."""
        return bool(self.inside(torch.as_tensor(z, dtype=torch.float32).detach().cpu().numpy(), tol))

    def mix(self, z: np.ndarray) -> np.ndarray:
        """The emotion mix of codes ``z [..., dim]`` as float64 numpy ``[..., 7]``, without gradients."""
        with torch.no_grad():
            t = torch.as_tensor(np.ascontiguousarray(z), dtype=torch.float32, device=self.anchors().device)
            return self.distribution(t.reshape(-1, self.dim)).reshape(*t.shape[:-1], N_EMOTIONS).cpu().double().numpy()

    def project(self, z) -> tuple[float, ...]:
        """The point of the domain nearest to ``z`` (a click just beside the wheel means its edge);
        ValueError for a code that is not finite numbers of the right length."""
        raise NotImplementedError

    def describe(self) -> dict:
        """JSON-friendly summary of the learned parameters (for ``info`` and model cards)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ geometry of 2-D spaces
    def border(self, theta: np.ndarray) -> np.ndarray:
        """Distance from the origin to the domain's border in each direction ``theta`` (radians)."""
        raise NotImplementedError(f"a {self.kind} space is not drawn in 2-D")

    def _finite(self, z) -> np.ndarray:
        v = np.asarray(z, dtype=np.float64).reshape(-1)
        if v.shape != (self.dim,) or not np.isfinite(v).all():
            raise ValueError(f"a {self.kind} code is {self.dim} finite numbers, got {z!r}")
        return v

    def edge(self, theta: np.ndarray | float) -> np.ndarray:
        """``[..., 2]``: where the ray from the origin in each direction ``theta`` leaves the domain."""
        theta = np.asarray(theta, dtype=np.float64)
        return self.border(theta)[..., None] * np.stack([np.cos(theta), np.sin(theta)], -1)

    def inside(self, xy: np.ndarray, tol: float = 1e-6) -> np.ndarray:
        """Whether each point of ``xy [..., 2]`` lies in the domain (within ``tol`` of its border)."""
        xy = np.asarray(xy, dtype=np.float64)
        return np.hypot(xy[..., 0], xy[..., 1]) <= self.border(np.arctan2(xy[..., 1], xy[..., 0])) + tol

    def at(self, r: float, theta: float) -> tuple[float, float]:
        """The code at fraction ``r`` of the way from the origin to the border, in direction ``theta``."""
        x, y = r * self.edge(theta)
        return (float(x), float(y))

    def outline(self, n: int = 256) -> np.ndarray:
        """``[n + 1, 2]`` closed polyline of the domain's border."""
        return self.edge(np.linspace(0, 2 * math.pi, n + 1))

    def tint(self, xy: np.ndarray) -> np.ndarray:
        """``[..., 4]`` RGBA in [0, 1] of points ``xy [..., 2]`` for a drawing's background: ``tint_rule``
        of each point's mix, transparent outside the domain."""
        rgba = self.tint_rule(self.mix(xy))
        rgba[..., 3] *= self.inside(xy)
        return rgba

    def guides(self) -> list[Guide]:
        """What a drawing shows of the space besides its outline and tint; here a dot at each
        emotion's anchor, labelled."""
        return [Guide(EMOTIONS[c], a[None], COLORS[c], marker=10, label=True, hover=f"{EMOTIONS[c]} at ({a[0]:+.2f}, {a[1]:+.2f})")
                for c, a in enumerate(self.anchors().detach().cpu().double().numpy())]

    def rings(self, radii: Sequence[float], n_directions: int) -> tuple[list[tuple[float, ...]], list[tuple[int, float]]]:
        """The gamut grid: ``n_directions`` equally spaced directions on each ring ``radii`` (fractions of
        the way to the border); the codes and each one's (ring index, angle)."""
        angles = [2 * math.pi * k / n_directions for k in range(n_directions)]
        places = [(j, t) for j in range(len(radii)) for t in angles]
        return [self.at(radii[j], t) for j, t in places], places

    def ramp(self, emotion: str | int, steps: int = 12) -> list[tuple[float, ...]]:
        """Codes from neutral (intensity 0) to ``emotion`` at intensity 1 and back: a closed loop."""
        if steps < 2:
            raise ValueError("steps must be at least 2")
        up = [tuple(float(v) for v in self.code(emotion, i / (steps - 1)).tolist()) for i in range(steps)]
        return up + up[-2:0:-1]

    def tour(self, steps_per_leg: int = 6) -> list[tuple[float, ...]]:
        """A closed loop through every non-neutral emotion's anchor, in the order of their angle around
        the origin, by straight legs of ``steps_per_leg`` codes."""
        anchors = self.anchors().detach().cpu().double().numpy()
        rest = sorted((c for c in range(N_EMOTIONS) if c != NEUTRAL), key=lambda c: math.atan2(anchors[c][1], anchors[c][0]) % (2 * math.pi))
        return [tuple(float(v) for v in anchors[a] + s / steps_per_leg * (anchors[b] - anchors[a]))
                for a, b in zip(rest, rest[1:] + rest[:1]) for s in range(steps_per_leg)]

    # ------------------------------------------------------------------ code sets of the evaluation
    def search_grid(self) -> torch.Tensor:
        """The codes the ERE protocol searches (paper, Sec. 5.3): a grid of step about 0.1 over the domain."""
        v = torch.linspace(-1, 1, 21)
        grid = torch.cartesian_prod(v, v)
        return grid[torch.as_tensor(self.inside(grid.numpy()))]

    def display_codes(self) -> tuple[torch.Tensor, np.ndarray]:
        """(codes, 2-D plot positions) of the evaluation's wheel figure: the origin and two rings of 12."""
        ring = [self.at(r, k * math.pi / 6) for r in (0.5, 1.0) for k in range(12)]
        codes = torch.tensor([(0.0, 0.0), *ring], dtype=torch.float32)
        return codes, codes.numpy()

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """``n`` codes drawn uniformly in angle and in fraction of the way to the border."""
        theta = torch.rand(n, generator=gen) * 2 * math.pi
        r = torch.rand(n, generator=gen) * torch.as_tensor(self.border(theta.double().numpy()), dtype=torch.float32)
        return polar_to_xy(theta, r)

    def fed_codes(self, label_freq: np.ndarray, n: int, gen: torch.Generator, noise: float) -> torch.Tensor:
        """``n`` codes for the FED protocol: by default the anchors of labels drawn from ``label_freq``."""
        return self.anchors().detach().cpu()[draw_labels(label_freq, n, gen)]


class LinearSpace(Space):
    """GANmut: neutral at the origin, one learned unit direction per emotion in the unit disc."""

    kind = "linear"
    domain = "the unit disc (x^2 + y^2 <= 1)"
    tint_rule = staticmethod(mix_tint)

    def __init__(self) -> None:
        super().__init__()
        bound = 1e-4 * math.sqrt(1 / 6)  # supplement, Sec. 3
        self.weight = nn.Parameter(torch.empty(N_EMOTIONS - 1, 2).uniform_(-bound, bound))

    def directions(self) -> torch.Tensor:
        """Unit directions of emotions 1..6, shape [6, 2]."""
        return unit_directions(self.weight)

    def anchors(self) -> torch.Tensor:
        return torch.cat([self.weight.new_zeros(1, 2), self.directions()], 0)

    def angles(self) -> torch.Tensor:
        """theta_c of emotions 1..6 in radians, [0, 2 pi)."""
        return xy_to_polar(self.directions())[0]

    def distribution(self, z: torch.Tensor) -> torch.Tensor:
        return linear_distribution(z, self.directions())

    def intensity_of(self, z: torch.Tensor | tuple[float, ...], emotion: str | int) -> float:
        """The radius of code ``z`` (clipped to 1): the intensity of whichever sector it is in."""
        emotion_index(emotion)
        return float(torch.linalg.vector_norm(torch.as_tensor(z, dtype=torch.float32)).clamp(0.0, 1.0))

    def at_intensity(self, z: torch.Tensor | tuple[float, ...], emotion: str | int, intensity: float) -> torch.Tensor:
        """Code ``z`` moved along its own ray to radius ``intensity`` (at the centre, where a point
        has no direction: ``emotion``'s direction)."""
        z = torch.as_tensor(z, dtype=torch.float32)
        r = float(torch.linalg.vector_norm(z))
        if r < 1e-6:
            return self.code(emotion, intensity)
        return z / r * number(intensity, "intensity", (0.0, 1.0))

    def project(self, z) -> tuple[float, ...]:
        v = self._finite(z)
        r = float(np.hypot(*v))
        return tuple(float(c) for c in (v / r if r > 1 else v))

    def border(self, theta: np.ndarray) -> np.ndarray:
        return np.ones_like(np.asarray(theta, dtype=np.float64))

    def guides(self) -> list[Guide]:
        """Dotted intensity rings (labelled in the widest gap between directions), each emotion's
        direction from the centre to the rim (labelled), and neutral at the centre."""
        d = self.directions().detach().cpu().double().numpy()
        angles = np.sort(np.arctan2(d[:, 1], d[:, 0]) % (2 * math.pi))
        gaps = np.diff(np.append(angles, angles[0] + 2 * math.pi))
        free = self.edge(angles[gaps.argmax()] + gaps.max() / 2)[None]
        out = [Guide(f"intensity {r:.0%}", r * self.outline(180), "#3c3c3c", width=1, dash="dot", opacity=0.45)
               for r in INTENSITY_RINGS]
        out += [Guide(f"{r:.0%}", r * free, "#555555", text=f"{r:.0%}") for r in (*INTENSITY_RINGS, 1.0)]
        out += [Guide(EMOTIONS[c], np.stack([np.zeros(2), v]), COLORS[c], width=3, marker=9, label=True,
                      hover=f"{EMOTIONS[c]} direction, θ = {math.degrees(math.atan2(v[1], v[0])) % 360:.0f}°")
                for c, v in enumerate(d, start=1)]
        out.append(Guide(EMOTIONS[NEUTRAL], np.zeros((1, 2)), COLORS[NEUTRAL], marker=10, text=EMOTIONS[NEUTRAL],
                         hover=f"{EMOTIONS[NEUTRAL]} (intensity 0)"))
        return out

    def search_grid(self) -> torch.Tensor:
        """Radii step 0.05 and angles step 2 pi / 21 (paper, Sec. 5.3), the centre once."""
        rho = torch.arange(1, 21) * 0.05
        theta = torch.arange(21) * (2 * math.pi / 21)
        ring = polar_to_xy(theta[None, :].expand(20, -1), rho[:, None].expand(-1, 21)).reshape(-1, 2)
        return torch.cat([torch.zeros(1, 2), ring])

    def fed_codes(self, label_freq: np.ndarray, n: int, gen: torch.Generator, noise: float) -> torch.Tensor:
        """GANmut's FED codes ignore the labels: theta and rho uniform (every expression of the disc)."""
        return self.sample(n, gen)

    def describe(self) -> dict:
        ang = self.angles().detach().tolist()
        return {
            name: {"theta_deg": round(math.degrees(t), 2), "direction": [round(v, 4) for v in d]}
            for name, t, d in zip(EMOTIONS[1:], ang, self.directions().detach().tolist())
        }


class GaussianSpace(Space):
    """GGANmut: one Gaussian mode per emotion in [-1, 1]^2, mu = tanh(w), Sigma = R diag(|a|) R^T."""

    kind = "gaussian"
    domain = "the square [-1, 1]^2"
    fed_uniform = True

    def __init__(self) -> None:
        super().__init__()
        bound = math.sqrt(0.5)  # PyTorch's default init for a 2-input layer (supplement, Sec. 3)
        self.w = nn.Parameter(torch.empty(N_EMOTIONS, 2).uniform_(-bound, bound))
        self.angle = nn.Parameter(torch.zeros(N_EMOTIONS))
        self.axes = nn.Parameter(torch.ones(N_EMOTIONS, 2))

    def means(self) -> torch.Tensor:
        return torch.tanh(self.w)

    def covariances(self) -> torch.Tensor:
        return covariance(self.angle, self.axes)

    def anchors(self) -> torch.Tensor:
        return self.means()

    def place_anchors(self, anchors: torch.Tensor, variance: float | None = None) -> None:
        """Each mode's mean at its row of ``anchors`` [7, 2], clipped to |coordinate| <= MODE_LIMIT; given
        ``variance`` (at least AXIS_MIN), each covariance ``variance`` * I, so that no mode starts over another's mean."""
        if tuple(anchors.shape) != (N_EMOTIONS, 2):
            raise ValueError(f"anchors must be [{N_EMOTIONS}, 2], got {list(anchors.shape)}")
        if variance is not None and not (math.isfinite(variance) and variance >= AXIS_MIN):
            raise ValueError(f"variance must be a number of at least {AXIS_MIN}, got {variance}")
        with torch.no_grad():
            self.w.copy_(torch.atanh(anchors.to(self.w).clamp(-MODE_LIMIT, MODE_LIMIT)))
            if variance is not None:
                self.angle.zero_()
                self.axes.fill_(variance)

    def distribution(self, z: torch.Tensor) -> torch.Tensor:
        return label_distribution(z, self.means(), self.covariances())

    def project(self, z) -> tuple[float, ...]:
        return tuple(float(c) for c in np.clip(self._finite(z), -1.0, 1.0))

    def border(self, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        return 1.0 / np.maximum(np.abs(np.cos(theta)), np.abs(np.sin(theta)))

    def guides(self) -> list[Guide]:
        """Each mode's 1-sigma (solid) and 2-sigma (dashed) covariance ellipse, cut where it leaves the
        square, and the modes (labelled)."""
        out = []
        for c, (mu, cov) in enumerate(zip(self.means().detach().cpu().double().numpy(),
                                          self.covariances().detach().cpu().double().numpy())):
            for k, dash in ((1, "solid"), (2, "dash")):
                e = ellipse(mu, cov, k)
                e[~self.inside(e, tol=0.0)] = np.nan
                out.append(Guide(f"{EMOTIONS[c]} {k}σ", e, COLORS[c], width=2 if k == 1 else 1.2, dash=dash))
        return out + super().guides()

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """Uniform in the square (the supplement's second FED setting)."""
        return torch.rand(n, 2, generator=gen) * 2 - 1

    def fed_codes(self, label_freq: np.ndarray, n: int, gen: torch.Generator, noise: float) -> torch.Tensor:
        """The mode of a label drawn from ``label_freq`` plus N(0, noise^2), clipped to the square."""
        modes = self.anchors().detach().cpu()[draw_labels(label_freq, n, gen)]
        return (modes + noise * torch.randn(n, 2, generator=gen)).clamp(-1, 1)

    def display_codes(self) -> tuple[torch.Tensor, np.ndarray]:
        """A 5 x 5 grid over the square."""
        v = torch.linspace(-1, 1, 5)
        codes = torch.cartesian_prod(v, v)
        return codes, codes.numpy()

    def describe(self) -> dict:
        return {
            name: {
                "mean": [round(v, 4) for v in m],
                "angle_deg": round(math.degrees(a), 2),
                "axes": [round(abs(v), 4) for v in s],
            }
            for name, m, a, s in zip(
                EMOTIONS, self.means().detach().tolist(), self.angle.detach().tolist(), self.axes.detach().tolist()
            )
        }


class CategoricalSpace(Space):
    """StarGAN baseline: one-hot codes, no learned parameters; ``code`` interpolates the one-hots."""

    kind = "stargan"
    domain = "one-hot mixtures (7 non-negative numbers summing to 1)"
    dim = N_EMOTIONS
    continuous = False

    def anchors(self) -> torch.Tensor:
        return torch.eye(N_EMOTIONS)

    def distribution(self, z: torch.Tensor) -> torch.Tensor:
        z = z.clamp_min(0)
        return z / z.sum(-1, keepdim=True).clamp_min(1e-12)

    def contains(self, z: torch.Tensor, tol: float = 1e-6) -> bool:
        z = torch.as_tensor(z, dtype=torch.float32)
        return bool((z >= -tol).all() and abs(float(z.sum()) - 1) <= 1e-3)

    def project(self, z) -> tuple[float, ...]:
        v = np.clip(self._finite(z), 0.0, None)
        total = float(v.sum())
        if total == 0:
            raise ValueError("a StarGAN code needs at least one positive share")
        return tuple(float(c) for c in v / total)

    def rings(self, radii: Sequence[float], n_directions: int) -> tuple[list[tuple[float, ...]], list[tuple[int, float]]]:
        """The six non-neutral emotions at intensities ``radii`` (``n_directions`` does not apply)."""
        angles = [2 * math.pi * k / (N_EMOTIONS - 1) for k in range(N_EMOTIONS - 1)]
        places = [(j, t) for j in range(len(radii)) for t in angles]
        codes = [tuple(float(v) for v in self.code(k + 1, radii[j]).tolist()) for j in range(len(radii)) for k in range(N_EMOTIONS - 1)]
        return codes, places

    def search_grid(self) -> torch.Tensor:
        return torch.eye(N_EMOTIONS)

    def display_codes(self) -> tuple[torch.Tensor, np.ndarray]:
        """The seven one-hots, neutral in the centre and the others on a hexagon."""
        angles = np.pi / 2 - np.arange(N_EMOTIONS - 1) * (2 * np.pi / (N_EMOTIONS - 1))
        pos = np.concatenate([np.zeros((1, 2)), np.stack([np.cos(angles), np.sin(angles)], -1)])
        return torch.eye(N_EMOTIONS), pos

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return torch.eye(N_EMOTIONS)[torch.randint(N_EMOTIONS, (n,), generator=gen)]

    def describe(self) -> dict:
        return {"codes": "one-hot over " + ", ".join(EMOTIONS)}


SPACES: dict[str, type[Space]] = {cls.kind: cls for cls in (LinearSpace, GaussianSpace, CategoricalSpace)}


def make_space(kind: str) -> Space:
    """A fresh space of the given parametrisation: 'linear', 'gaussian' or 'stargan'."""
    try:
        return SPACES[kind]()
    except KeyError:
        raise ValueError(f"unknown parametrisation {kind!r}; choose one of: {', '.join(SPACES)}") from None
