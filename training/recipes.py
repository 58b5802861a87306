"""Each parametrisation's training recipe: how the conditional codes of a batch are drawn (paper Sec.
4.1-4.2, supplement Sec. 3), its extra loss terms for G, and its default settings.

A batch of size n is split into S_c (the first ``n_c`` samples, which get a classification target)
and S_r (the remaining ``n_r``, free to encode expressions no basic label describes):

- linear (GANmut): S_c draws a target c from the data's label distribution (c =d c') and a radius
  rho ~ U[0, 1]; the code is rho * v_c + N(0, noise_std^2). Following the paper's text ("as long as
  rho < tau, D should classify y with the neutral expression"), a non-neutral target drawn with
  rho <= tau is classified as neutral; a neutral target gets rho ~ U[0, tau] in a random direction
  (the official code does the same for neutral, but draws non-neutral rho from U[tau, 1]).
  S_r draws theta ~ U[0, 2 pi], rho ~ U[0, 1] (uniform in radius, as the paper writes; not in area).
- Gaussian (GGANmut): S_c sits at the modes mu_c (+ small noise, clipped to [-1, 1]^2), the
  targets cycling through the 7 emotions so every mode is trained in every batch (the official code
  conditions its first 7 samples on the 7 modes); S_r is uniform in [-1, 1]^2.
- StarGAN: every sample is in S_c with a one-hot code of a target drawn from the label distribution.

Codes of S_c depend on the space's parameters, so the losses of G move the learned directions/modes.
Each parametrisation registers its sampler and its extra G loss terms (linear: the intensity loss;
Gaussian: the symmetric KL) with :func:`register`: a new space needs its class and one registration.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple, Protocol

import torch

from ganmut.emotions import N_EMOTIONS, NEUTRAL
from ganmut.geometry import polar_to_xy
from ganmut.spaces import TAU, GaussianSpace, LinearSpace, Space

from .losses import rho_loss, symmetric_kl

class LossWeights(Protocol):
    """The loss settings a recipe's G terms read (:class:`training.config.LossConfig` has them; the config reads
    the recipes' defaults, so the recipes name only what they use)."""

    lambda_rho: float
    lambda_div: float
    div_modes: bool


class Codes(NamedTuple):
    z: torch.Tensor  # [n, dim] codes fed to G
    target: torch.Tensor  # [n_c] long: classification targets of S_c = z[:n_c]
    rho: torch.Tensor | None  # [n] intended radius of each code (linear only; for the rho loss)


def _uniform(n: int, gen: torch.Generator, device, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=device) * (high - low) + low


SampleFn = Callable[[Space, int, int, torch.Tensor, torch.Generator, float, float], Codes]
GTermsFn = Callable[[Space, torch.Tensor, Codes, LossWeights, float], dict]


@dataclass(frozen=True)
class Recipe:
    """What training needs to know of a parametrisation beyond its :class:`~ganmut.spaces.Space`:
    how a batch's codes are drawn, the extra G loss terms of its codes (from D's class logits), and
    the defaults of its loss and sampling settings (what a config leaves unset)."""

    sample: SampleFn
    g_terms: GTermsFn
    defaults: dict[str, float]


RECIPES: dict[str, Recipe] = {}


def register(kind: str, sample: SampleFn, g_terms: GTermsFn = lambda space, logits, codes, lo, tau: {},
             defaults: dict[str, float] | None = None) -> None:
    """Make a parametrisation trainable: its code sampler, its extra G loss terms, and the defaults
    of its settings (``lambda_cls``, ``nc_fraction``, ``noise_std``)."""
    RECIPES[kind] = Recipe(sample, g_terms, dict(defaults or {}))


def recipe(kind: str | Space) -> Recipe:
    """The recipe of a space (or of a kind of space)."""
    kind = kind if isinstance(kind, str) else kind.kind
    try:
        return RECIPES[kind]
    except KeyError:
        raise ValueError(f"no training recipe for a {kind} space; register one in training.recipes") from None


def sample_codes(
    space: Space,
    n: int,
    n_c: int,
    labels: torch.Tensor,
    gen: torch.Generator,
    noise_std: float = 0.1,
    tau: float = TAU,
) -> Codes:
    """Draw the codes of one batch of ``n`` images, S_c first.

    ``labels`` are ``n`` target labels drawn from the data (so c =d c'); the linear space uses the
    first ``n_c``, StarGAN all of them, the Gaussian space none (it cycles through the modes).
    """
    return recipe(space).sample(space, n, min(n_c, n), labels, gen, noise_std, tau)


def _linear(space: LinearSpace, n: int, n_c: int, labels: torch.Tensor, gen: torch.Generator, noise_std: float, tau: float) -> Codes:
    device = labels.device
    target = labels[:n_c]
    neutral = target == NEUTRAL
    rho_c = torch.where(neutral, _uniform(n_c, gen, device, 0, tau), _uniform(n_c, gen, device))
    random_dir = polar_to_xy(_uniform(n_c, gen, device, 0, 2 * math.pi), torch.ones(n_c, device=device))
    dirs = space.directions()[(target - 1).clamp_min(0)]
    dirs = torch.where(neutral.unsqueeze(-1), random_dir, dirs)
    noise = torch.randn(n_c, 2, generator=gen, device=device) * noise_std
    z_c = rho_c.unsqueeze(-1) * dirs + noise
    target = torch.where(rho_c > tau, target, torch.full_like(target, NEUTRAL))
    rho_r = _uniform(n - n_c, gen, device)
    z_r = polar_to_xy(_uniform(n - n_c, gen, device, 0, 2 * math.pi), rho_r)
    return Codes(torch.cat([z_c, z_r]), target, torch.cat([rho_c, rho_r]))


def _linear_terms(space: Space, logits: torch.Tensor, codes: Codes, lo: LossWeights, tau: float) -> dict:
    return {"rho": lo.lambda_rho * rho_loss(logits, codes.rho, tau)}


def _gaussian(space: GaussianSpace, n: int, n_c: int, labels: torch.Tensor, gen: torch.Generator, noise_std: float, tau: float) -> Codes:
    device = labels.device
    target = torch.arange(n_c, device=device) % N_EMOTIONS
    noise = torch.randn(n_c, 2, generator=gen, device=device) * noise_std
    z_c = (space.means()[target] + noise).clamp(-1, 1)
    z_r = torch.rand(n - n_c, 2, generator=gen, device=device) * 2 - 1
    return Codes(torch.cat([z_c, z_r]), target, None)


def _gaussian_terms(space: Space, logits: torch.Tensor, codes: Codes, lo: LossWeights, tau: float) -> dict:
    """The symmetric KL (eq. 9) between each code's label distribution and D's reading of its fake: over the
    whole batch as the official code, or, without ``lo.div_modes``, over S_r only, so that S_c's codes at the
    modes answer to their classification target alone (eq. 10) and not also to the mix that the modes'
    learned covariances give them (no term then when the whole batch is S_c)."""
    first = 0 if lo.div_modes else codes.target.numel()
    z, logits = codes.z[first:], logits[first:]
    return {"div": lo.lambda_div * symmetric_kl(space.distribution(z.float()), logits)} if len(z) else {}


def _stargan(space: Space, n: int, n_c: int, labels: torch.Tensor, gen: torch.Generator, noise_std: float, tau: float) -> Codes:
    target = labels[:n]  # StarGAN: all of the batch is S_c
    return Codes(torch.nn.functional.one_hot(target, N_EMOTIONS).float(), target, None)


register("linear", _linear, _linear_terms, {"lambda_cls": 1.0, "nc_fraction": 9 / 16, "noise_std": 0.1})
register("gaussian", _gaussian, _gaussian_terms, {"lambda_cls": 0.5, "nc_fraction": 7 / 16, "noise_std": 0.05})
register("stargan", _stargan, defaults={"lambda_cls": 1.0, "nc_fraction": 1.0, "noise_std": 0.0})


def cycle_codes(space: Space, real_labels: torch.Tensor, real_coor: torch.Tensor | None) -> torch.Tensor:
    """The code that maps a fake back to its source in the cycle loss (eq. 8).

    GANmut/GGANmut: D_coor of the real image, detached (no noise, no overwritten codes: the official
    code's defect 2). StarGAN: the one-hot of the real label.
    """
    if real_coor is None:
        return torch.nn.functional.one_hot(real_labels, N_EMOTIONS).float()
    return real_coor.detach().float()


def identity_codes(space: Space, real_labels: torch.Tensor, own: torch.Tensor, neutral_anchor: bool) -> torch.Tensor:
    """The codes at which the identity term asks G(x, c) = x: each face's own code (:func:`cycle_codes`),
    or, with ``neutral_anchor``, the space's neutral anchor (detached) for the faces labelled neutral, so
    that the point the app calls neutral leaves a neutral face alone."""
    if not neutral_anchor:
        return own
    anchor = space.anchors()[NEUTRAL].detach().to(own)
    return torch.where((real_labels == NEUTRAL)[:, None], anchor, own)
