"""Each loss of training.losses on inputs whose value can be worked out by hand."""
from __future__ import annotations

import math

import pytest
import torch

from training import losses as L


def test_wgan_terms():
    real, fake = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [2.0]])
    assert L.d_adv_loss(real, fake, "wgan").item() == pytest.approx(1 - 2)  # E[D(fake)] - E[D(real)]
    assert L.g_adv_loss(fake, "wgan").item() == pytest.approx(-1)


def test_logistic_terms():
    zeros = torch.zeros(4, 1, 2, 2)
    assert L.d_adv_loss(zeros, zeros, "logistic").item() == pytest.approx(2 * math.log(2))
    big = torch.full((2, 1), 30.0)
    assert L.d_adv_loss(big, -big, "logistic").item() == pytest.approx(0, abs=1e-6)  # confident, correct D
    assert L.g_adv_loss(-big, "logistic").item() == pytest.approx(30, rel=1e-6)  # G fully rejected


def _linear_critic(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """D(x) = <w, x> per sample: its input gradient is w everywhere."""
    return (x * w).flatten(1).sum(1)


def test_gradient_penalty_of_a_linear_critic():
    w = torch.zeros(1, 1, 2, 2)
    w[0, 0, 0, 0], w[0, 0, 1, 1] = 3.0, 4.0  # ||w|| = 5
    w.requires_grad_(True)
    x_hat = torch.randn(3, 1, 2, 2, requires_grad=True)
    gp = L.gradient_penalty(_linear_critic(x_hat, w), x_hat)
    assert gp.item() == pytest.approx((5 - 1) ** 2)
    gp.backward()  # differentiable (create_graph) so it trains D: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    assert torch.allclose(w.grad, 8 / 5 * w.detach())
    unit = w.detach() / 5
    assert L.gradient_penalty(_linear_critic(x_hat, unit), x_hat).item() == pytest.approx(0, abs=1e-10)


def test_r1_of_a_linear_critic():
    w = torch.full((1, 1, 2, 2), 0.5)  # ||w||^2 = 1
    x = torch.randn(2, 1, 2, 2, requires_grad=True)
    assert L.r1_penalty(_linear_critic(x, 3 * w), x).item() == pytest.approx(0.5 * 9)
    # a PatchGAN map of 4 identical linear scores: its per-image logit (the mean) has gradient 3 w
    patches = _linear_critic(x, 3 * w).view(2, 1, 1, 1).expand(2, 1, 2, 2)
    assert L.r1_penalty(patches, x).item() == pytest.approx(0.5 * 9)


def test_classification_is_cross_entropy():
    logits = torch.zeros(5, 7)
    assert L.cls_loss(logits, torch.arange(5)).item() == pytest.approx(math.log(7))
    logits[:, 2] = 100
    assert L.cls_loss(logits, torch.full((5,), 2)).item() == pytest.approx(0, abs=1e-6)


def test_weights_scale_each_sample_and_keep_the_batch_mean():
    """``weight`` (``loss.neutral_weight`` for neutral targets) scales a sample's cross-entropy; the mean is
    still over the whole batch, so weight 1 is the plain loss and weight 0 drops a sample without
    raising the others."""
    logits = torch.zeros(4, 7)
    logits[0, 0] = logits[2, 3] = 2.0
    target = torch.tensor([0, 1, 3, 0])
    ce = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    w = torch.tensor([2.0, 1.0, 1.0, 0.0])
    assert L.cls_loss(logits, target, torch.ones(4)).item() == pytest.approx(L.cls_loss(logits, target).item())
    assert L.cls_loss(logits, target, w).item() == pytest.approx(float((2 * ce[0] + ce[1] + ce[2]) / 4))
    # the guide's loss weighs alike (no blur, no shift: the classifier sees the fakes as they are)
    fakes, gen = torch.randn(4, 1, 8, 8), torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 7))
    assert L.guide_loss(net, fakes, target, 1, 0, gen, w).item() == pytest.approx(L.cls_loss(net(fakes), target, w).item())


def test_neutral_identity_averages_the_change_of_the_neutral_targets_only():
    """``loss.lambda_neutral_id``'s term: mean |G(x, c) - x| over the samples whose target is neutral, 0 for
    a batch without one, and no gradient reaches the other samples' fakes."""
    x = torch.zeros(3, 1, 2, 2)
    fake = torch.stack([torch.full((1, 2, 2), v) for v in (0.5, 1.0, -2.0)]).requires_grad_(True)
    neutral = torch.tensor([True, False, True])
    loss = L.neutral_identity_loss(x, fake, neutral)
    assert loss.item() == pytest.approx((0.5 + 2.0) / 2)
    loss.backward()
    assert fake.grad[1].abs().sum() == 0 and fake.grad[0].abs().sum() > 0 and fake.grad[2].abs().sum() > 0
    assert L.neutral_identity_loss(x, fake, torch.zeros(3, dtype=torch.bool)).item() == 0


def test_texture_prices_fine_change_and_leaves_smooth_change_free():
    """``loss.lambda_texture``'s term: |h - box3(h)| of the change h = fake - x. A uniform change costs nothing,
    nor does a linear ramp away from the border; a one-pixel checkerboard of amplitude a costs 8a/9 inside."""
    x = torch.randn(2, 1, 12, 12)
    assert L.texture_loss(x, x + 0.3).item() == pytest.approx(0, abs=1e-6)
    ramp = torch.arange(12.0).view(1, 1, 12, 1).expand(2, 1, 12, 12) * 0.01
    h = L.texture_loss(x, x + ramp)  # mean over the whole map: only the first and last rows differ from their box
    assert 0 < h.item() < 0.01 * 2 / 12
    board = (torch.arange(12).view(12, 1) + torch.arange(12)).remainder(2).float().mul(2).sub(1) * 0.1
    fake = (x + board).requires_grad_(True)
    cost = L.texture_loss(x, fake)
    assert cost.item() > 0.1 * 8 / 9 * (10 / 12) ** 2  # the interior alone
    cost.backward()
    assert fake.grad.abs().sum() > 0


def test_info_is_squared_euclidean_distance():
    coor = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    assert L.info_loss(coor, torch.zeros(2, 2)).item() == pytest.approx((1 + 4 + 0) / 2)


def test_rho_loss_masks_codes_within_tau():
    logits = torch.zeros(2, 7)
    logits[:, 1] = math.log(3)  # softmax max = 3 / (3 + 6) = 1/3
    rho = torch.tensor([0.1, 1 / 3 + 0.5])
    # first sample has rho <= tau (TAU, the default): contributes 0 but counts in the mean (paper eq. 7)
    assert L.rho_loss(logits, rho).item() == pytest.approx(0.25 / 2)
    assert L.rho_loss(logits, rho, tau=0.05).item() == pytest.approx(((1 / 3 - 0.1) ** 2 + 0.25) / 2)


def test_rec_loss_is_mean_absolute_error():
    x = torch.zeros(2, 1, 2, 2)
    y = torch.tensor([1.0, -1.0, 0.0, 2.0]).view(1, 1, 2, 2).expand(2, -1, -1, -1)
    assert L.rec_loss(x, y).item() == pytest.approx(1.0)


def test_symmetric_kl():
    p = torch.tensor([[0.5, 0.5]])
    q_logits = torch.log(torch.tensor([[0.9, 0.1]]))
    # sum_c (p - q)(log p - log q) = -0.4 ln(5/9) + 0.4 ln 5 = 0.4 ln 9
    assert L.symmetric_kl(p, q_logits).item() == pytest.approx(0.4 * math.log(9), rel=1e-5)
    assert L.symmetric_kl(p, torch.zeros(1, 2)).item() == pytest.approx(0, abs=1e-7)
    # symmetric in its two distributions
    p2 = torch.tensor([[0.9, 0.1]])
    assert L.symmetric_kl(p2, torch.log(p)).item() == pytest.approx(L.symmetric_kl(p, torch.log(p2)).item(), rel=1e-5)


def test_symmetric_kl_moves_the_target_distribution():
    """The Gaussian space learns through p_z: the divergence must pass gradients to p."""
    p = torch.tensor([[0.7, 0.3]], requires_grad=True)
    L.symmetric_kl(p, torch.zeros(1, 2)).backward()
    assert p.grad is not None and p.grad[0, 0] > 0 > p.grad[0, 1]


def test_template_prices_only_the_change_every_face_shares():
    """``loss.lambda_template``'s term: |mean over the batch of h| per pixel, h = fake - x. Changes that cancel
    over the batch cost nothing, however large; the same pattern added to every face costs its full size."""
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    pattern = torch.linspace(-0.2, 0.2, 64).reshape(1, 1, 8, 8)
    assert L.template_loss(x, x + pattern).item() == pytest.approx(pattern.abs().mean().item(), rel=1e-5)
    opposite = torch.cat([pattern, -pattern, 2 * pattern, -2 * pattern])
    assert L.template_loss(x, x + opposite).item() == pytest.approx(0, abs=1e-6)
    assert L.template_loss(x, x + opposite + pattern).item() == pytest.approx(pattern.abs().mean().item(), rel=1e-4)
