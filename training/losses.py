"""GANmut's losses as pure functions of tensors (paper Sec. 4, eqs. 3-10, supplement eqs. 12-17).

Conventions: ``src`` is the discriminator's PatchGAN map (any shape ``[B, ...]``), ``logits`` the
7 class logits, codes ``[B, dim]``. Every function returns a scalar averaged over the batch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ganmut.motion import jacobian_det
from ganmut.spaces import TAU


# --------------------------------------------------------------------------- adversarial
def d_adv_loss(real_src: torch.Tensor, fake_src: torch.Tensor, kind: str = "wgan") -> torch.Tensor:
    """D's adversarial loss. WGAN (eq. 3): E[D(fake)] - E[D(real)]; logistic: softplus(-D(real)) + softplus(D(fake))."""
    if kind == "wgan":
        return fake_src.mean() - real_src.mean()
    return F.softplus(-real_src).mean() + F.softplus(fake_src).mean()


def g_adv_loss(fake_src: torch.Tensor, kind: str = "wgan") -> torch.Tensor:
    """G's adversarial loss. WGAN: -E[D(fake)]; logistic (non-saturating): softplus(-D(fake))."""
    if kind == "wgan":
        return -fake_src.mean()
    return F.softplus(-fake_src).mean()


def _input_grad(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-sample input gradient of the summed outputs, flattened to ``[B, -1]``."""
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1)


def gradient_penalty(out: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: E[(||grad_x D(x_hat)||_2 - 1)^2]; ``out`` = D_src(x_hat), ``x_hat`` requires grad.

    As in StarGAN, D(x_hat) is the sum of a PatchGAN map's scores.
    """
    return (_input_grad(out, x_hat).norm(2, dim=1) - 1).pow(2).mean()


def r1_penalty(out: torch.Tensor, x_real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018, StarGAN v2): 0.5 E[||grad_x D(x)||^2] on real images.

    D(x) is the mean of a PatchGAN map, the per-image logit that the logistic loss averages (on a
    2x2 map the sum would weigh the penalty ~4x more, which starved D in short CPU runs).
    """
    per_image = out.reshape(out.size(0), -1).mean(1)
    return 0.5 * _input_grad(per_image, x_real).pow(2).sum(1).mean()


# --------------------------------------------------------------------------- conditional terms
def cls_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy -log D_cls(c | x): on real images with their labels (eq. 5), on S_c fakes with c (eqs. 4, 10).
    ``weight`` (one per sample) scales each sample's term; the mean is still over the batch."""
    ce = F.cross_entropy(logits.float(), target, reduction="none")
    return (ce if weight is None else ce * weight).mean()


def info_loss(coor: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Coordinate regression (eq. 6 / 12): E||D_coor(G(x, z)) - z||_2^2, summed over the code's dims."""
    return (coor.float() - z.float()).pow(2).sum(-1).mean()


def soft_cls_loss(logits: torch.Tensor, distribution: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against label distributions ``[B, 7]`` (FER+'s votes; a one-hot row gives :func:`cls_loss`):
    D's classification term on real faces learns what the annotators saw, not one noisy label."""
    return -(distribution.float() * torch.log_softmax(logits.float(), -1)).sum(-1).mean()


def rho_loss(logits: torch.Tensor, rho: torch.Tensor, tau: float = TAU) -> torch.Tensor:
    """Intensity loss (eq. 7): E[(max_c D_cls(c | G(x, z)) - rho)^2 * 1[rho > tau]].

    As in the paper, codes with rho <= tau contribute 0 (they still count in the mean); the official
    code instead pushes them towards neutral here. In this implementation the neutral region is
    taught by the classification loss of S_c (see :mod:`training.recipes`).
    """
    rho_hat = torch.softmax(logits.float(), -1).amax(-1)
    return ((rho_hat - rho).pow(2) * (rho > tau)).mean()


def rec_loss(x: torch.Tensor, x_rec: torch.Tensor) -> torch.Tensor:
    """Cycle loss (eq. 8): E||x - G(G(x, z), D_coor(x))||_1, mean absolute error per pixel (as StarGAN)."""
    return (x.float() - x_rec.float()).abs().mean()


def neutral_identity_loss(x: torch.Tensor, fake: torch.Tensor, is_neutral: torch.Tensor) -> torch.Tensor:
    """Mean |G(x, c) - x| per pixel over the samples whose target ``c`` is neutral (0 when a batch has none):
    the origin's edit changes the face only as much as neutralising its expression needs."""
    err = (x.float() - fake.float()).abs().mean((1, 2, 3))
    return (err * is_neutral).sum() / is_neutral.sum().clamp_min(1)


def texture_loss(x: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Mean |h - box3(h)| per pixel of the change ``h = G(x, z) - x``: the part of an edit finer than 3 px.

    An expression moves features over several pixels; a grid or speckle laid over the face (what fools a
    PatchGAN D or a classifier without being an expression) lives at one or two. Zero for a uniform change and,
    away from the border, for any locally linear one: it leaves smooth edits free and prices fine texture,
    which also counts in identity.
    """
    h = fake.float() - x.float()
    smooth = torch.nn.functional.avg_pool2d(h, 3, stride=1, padding=1, count_include_pad=False)
    return (h - smooth).abs().mean()


def template_loss(x: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Mean |E_x[h]| per pixel of the batch's average change ``h = G(x, z) - x`` at one code ``z``: the part of
    an edit that is the same pattern on every face.

    An expression edit depends on the face (a smile to close here, brows to lower there); a pattern added to
    every face alike is a universal perturbation that a classifier reads as the target, and that the identity
    figure pays for in full. Zero when the changes average out over the batch, so it prices only what they share.
    """
    return (fake.float() - x.float()).mean(0).abs().mean()


def symmetric_kl(p: torch.Tensor, logits: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """GGANmut's divergence (eq. 9): KL(p || q) + KL(q || p) with q = softmax(logits), summed over classes."""
    log_q = torch.log_softmax(logits.float(), -1)
    p = p.float()
    log_p = torch.log(p.clamp_min(eps))
    return ((p - log_q.exp()) * (log_p - log_q)).sum(-1).mean()


def mask_loss(mask: torch.Tensor) -> torch.Tensor:
    """GANimation's attention regulariser E[A]: the mask A weights the input image (``A x + (1 - A) C``),
    and without it A saturates to 1, where G is the identity: fakes then fool D and cycle perfectly
    and the gradients of the classification loss vanish through the saturated sigmoid."""
    return mask.float().mean()


# --------------------------------------------------------------------------- the warp output (ganmut.motion)
def flow_smoothness_loss(flow: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Charbonnier total variation of a flow grid ``[B, 2, g, g]`` in fractions of the side: the mean
    ``sqrt(d^2 + eps^2)`` of its differences between neighbouring cells, in strain (displacement per distance)."""
    g = flow.shape[-1]
    dx = (flow[..., :, 1:] - flow[..., :, :-1]).float() * g
    dy = (flow[..., 1:, :] - flow[..., :-1, :]).float() * g
    return (dx.pow(2) + eps ** 2).sqrt().mean() + (dy.pow(2) + eps ** 2).sqrt().mean()


def fold_loss(flow: torch.Tensor, margin: float = 0.25) -> torch.Tensor:
    """E max(0, margin - det J) over the flow grid: 0 for a warp that neither folds (det J <= 0) nor crushes a
    region to less than ``margin`` of its area."""
    return F.relu(margin - jacobian_det(flow.float())).mean()


# --------------------------------------------------------------------------- guide
def guide_loss(classifier: torch.nn.Module, fake: torch.Tensor, target: torch.Tensor, blur: int, shift: int,
               gen: torch.Generator, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy of a frozen ``classifier`` on ``fake`` against ``target`` (each sample's term scaled by
    ``weight``, as :func:`cls_loss`), after rolling the batch by one random offset in [-shift, shift] on each
    axis and a ``blur`` x ``blur`` box filter."""
    if shift > 0:
        dy, dx = torch.randint(-shift, shift + 1, (2,), generator=gen, device=gen.device).tolist()
        fake = torch.roll(fake, (dy, dx), dims=(2, 3))
    if blur > 1:
        fake = F.avg_pool2d(fake, blur, 1, blur // 2, count_include_pad=False)
    return cls_loss(classifier(fake), target, weight)
