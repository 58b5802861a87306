"""Code sampling (S_c / S_r), augmentation and on-device batch sampling."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganmut.emotions import N_EMOTIONS, NEUTRAL
from ganmut.spaces import TAU, make_space
from training.augment import augment
from ganmut.images import to_model_input
from training.config import AugmentConfig, LossConfig
from training.data import DeviceData
from training.pack import Pack
from training.losses import symmetric_kl
from training.recipes import cycle_codes, identity_codes, recipe, sample_codes


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _spread_linear():
    space = make_space("linear")
    with torch.no_grad():
        a = torch.arange(6) * (2 * math.pi / 6)
        space.weight.copy_(torch.stack([a.cos(), a.sin()], -1) * 1e-4)
    return space


def test_linear_s_c_lies_on_the_learned_directions():
    space = _spread_linear()
    labels = torch.tensor([1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0, 1, 2] * 4)
    codes = sample_codes(space, 64, 36, labels, _gen(), noise_std=0.0, tau=TAU)
    assert codes.z.shape == (64, 2) and codes.target.shape == (36,) and codes.rho.shape == (64,)
    z_c, rho_c, lab = codes.z[:36], codes.rho[:36], labels[:36]
    assert torch.allclose(z_c.norm(dim=1), rho_c, atol=1e-6)
    emo = lab != NEUTRAL
    expected = rho_c[emo, None] * space.directions()[lab[emo] - 1]
    assert torch.allclose(z_c[emo], expected, atol=1e-6)
    # neutral targets stay within tau; low-rho emotion codes are classified as neutral (paper, Sec. 4.1)
    assert (rho_c[~emo] <= TAU).all()
    assert torch.equal(codes.target, torch.where(rho_c > TAU, lab, torch.zeros_like(lab)))


def test_linear_radii_and_noise_statistics():
    space = _spread_linear()
    labels = torch.ones(4000, dtype=torch.long)  # all happy
    codes = sample_codes(space, 8000, 4000, labels, _gen(1), noise_std=0.1, tau=TAU)
    rho_c, rho_r = codes.rho[:4000], codes.rho[4000:]
    assert abs(rho_c.mean().item() - 0.5) < 0.02 and abs(rho_r.mean().item() - 0.5) < 0.02  # U[0, 1]
    assert torch.allclose(codes.z[4000:].norm(dim=1), rho_r, atol=1e-5)  # S_r: no noise, rho = |z|
    resid = codes.z[:4000] - rho_c[:, None] * space.directions()[0]
    assert abs(resid.std().item() - 0.1) < 0.01  # N(0, 0.1^2) per coordinate
    theta = torch.atan2(codes.z[4000:, 1], codes.z[4000:, 0])
    assert theta.min() < -3.0 and theta.max() > 3.0  # all directions


def test_linear_codes_carry_gradients_to_the_directions():
    space = make_space("linear")
    codes = sample_codes(space, 16, 9, torch.tensor([1, 2, 3, 4, 5, 6, 1, 2, 3] + [0] * 7), _gen(), 0.1, 0.0)
    codes.z.sum().backward()
    assert space.weight.grad is not None and space.weight.grad.abs().sum() > 0


def test_gaussian_s_c_at_the_modes_and_s_r_uniform():
    torch.manual_seed(0)
    space = make_space("gaussian")
    codes = sample_codes(space, 2000, 14, torch.zeros(2000, dtype=torch.long), _gen(), noise_std=0.0)
    assert torch.equal(codes.target, torch.arange(14) % N_EMOTIONS)
    assert torch.allclose(codes.z[:14], torch.tanh(space.w)[codes.target])
    z_r = codes.z[14:]
    assert z_r.abs().max() <= 1 and z_r.min() < -0.95 and z_r.max() > 0.95
    assert abs(z_r.mean().item()) < 0.05
    assert codes.rho is None
    codes.z.sum().backward()
    assert space.w.grad.abs().sum() > 0


def test_gaussian_divergence_covers_the_modes_only_with_div_modes():
    """``loss.div_modes``: the symmetric KL runs over the whole batch (the official code), or over S_r alone,
    so that S_c's codes at the modes answer only to their classification target."""
    torch.manual_seed(0)
    space = make_space("gaussian")
    codes = sample_codes(space, 32, 14, torch.zeros(32, dtype=torch.long), _gen(), noise_std=0.05)
    logits = torch.randn(32, N_EMOTIONS)
    terms = recipe("gaussian").g_terms
    p = space.distribution(codes.z)
    everywhere = terms(space, logits, codes, LossConfig(lambda_div=2.0), TAU)["div"]
    on_s_r = terms(space, logits, codes, LossConfig(lambda_div=2.0, div_modes=False), TAU)["div"]
    assert everywhere.item() == pytest.approx(2 * symmetric_kl(p, logits).item(), rel=1e-5)
    assert on_s_r.item() == pytest.approx(2 * symmetric_kl(p[14:], logits[14:]).item(), rel=1e-5)
    assert on_s_r.item() != pytest.approx(everywhere.item(), rel=1e-3)
    all_s_c = sample_codes(space, 14, 14, torch.zeros(14, dtype=torch.long), _gen(), noise_std=0.05)
    assert terms(space, logits[:14], all_s_c, LossConfig(div_modes=False), TAU) == {}  # no S_r: no term, not a NaN


def test_stargan_codes_are_one_hot_targets():
    labels = torch.tensor([3, 0, 6, 2])
    codes = sample_codes(make_space("stargan"), 4, 4, labels, _gen())
    assert torch.equal(codes.z, torch.eye(7)[labels]) and torch.equal(codes.target, labels)


def test_cycle_codes():
    labels = torch.tensor([1, 5])
    assert torch.equal(cycle_codes(make_space("stargan"), labels, None), torch.eye(7)[labels])
    coor = torch.randn(2, 2, requires_grad=True)
    back = cycle_codes(make_space("linear"), labels, coor)
    assert torch.equal(back, coor) and not back.requires_grad  # D_coor(x), detached, untouched


def test_identity_codes_put_neutral_faces_at_the_neutral_anchor():
    """``loss.id_neutral_anchor``: faces labelled neutral take the space's neutral anchor (the Gaussian's
    learned mode, detached), the others keep their own code; off, every face keeps its own code."""
    space = make_space("gaussian")
    labels = torch.tensor([NEUTRAL, 1, NEUTRAL, 6])
    own = torch.randn(4, 2)
    assert identity_codes(space, labels, own, False) is own
    at = identity_codes(space, labels, own, True)
    mode = space.anchors()[NEUTRAL]
    assert torch.equal(at[0], mode.detach()) and torch.equal(at[2], mode.detach()) and not at.requires_grad
    assert torch.equal(at[1], own[1]) and torch.equal(at[3], own[3])
    assert torch.equal(identity_codes(make_space("linear"), labels, own, True)[0], torch.zeros(2))  # the origin


# --------------------------------------------------------------------------- augmentation
def _faces(n: int = 6, size: int = 48) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    return torch.randint(0, 256, (n, 1, size, size), generator=g, dtype=torch.uint8)


def test_model_input_range_and_channels():
    x = torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2)
    assert torch.equal(to_model_input(x, channels=1), torch.tensor([-1.0, 1.0]).view(1, 1, 1, 2))
    assert to_model_input(x, channels=3).shape == (1, 3, 1, 2)
    rgb = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    assert torch.allclose(to_model_input(rgb, channels=1), torch.ones(1, 1, 2, 2))


def test_identity_augmentation_is_a_plain_resize():
    x = _faces()
    off = AugmentConfig(flip=False, rotate_deg=0, translate=0, zoom_min=1, zoom_max=1)
    assert torch.allclose(augment(x, 48, 1, off, _gen()), to_model_input(x, channels=1), atol=1e-5)
    up = augment(x, 64, 1, off, _gen())
    ref = torch.nn.functional.interpolate(to_model_input(x, channels=1), size=64, mode="bilinear", align_corners=False)
    assert torch.allclose(up, ref, atol=1e-5) and torch.allclose(to_model_input(x, 64, 1), ref, atol=1e-5)


def test_flip_only_mirrors_some_images():
    x = _faces(32)
    flip = AugmentConfig(flip=True, rotate_deg=0, translate=0, zoom_min=1, zoom_max=1)
    y, ref = augment(x, 48, 1, flip, _gen()), to_model_input(x, channels=1)
    same = [(torch.allclose(a, b, atol=1e-5), torch.allclose(a, b.flip(-1), atol=1e-5)) for a, b in zip(y, ref)]
    assert all(s or f for s, f in same)
    assert 4 < sum(f for _, f in same) < 28


def test_augmentation_is_seeded_bounded_and_changes_images():
    x, cfg = _faces(), AugmentConfig()
    a, b = augment(x, 64, 1, cfg, _gen(5)), augment(x, 64, 1, cfg, _gen(5))
    assert torch.equal(a, b) and a.shape == (6, 1, 64, 64)
    assert a.min() >= -1 and a.max() <= 1
    assert not torch.allclose(a, to_model_input(x, 64, 1), atol=1e-2)
    assert not torch.equal(a, augment(x, 64, 1, cfg, _gen(6)))


# --------------------------------------------------------------------------- data
def test_device_data_sampling():
    labels = np.repeat(np.arange(7), 3)
    images = np.repeat(labels.astype(np.uint8)[:, None, None, None] * 30, 48, 2).repeat(48, 3)
    data = DeviceData(Pack(images, labels, {}), torch.device("cpu"))
    x, y, votes = data.sample(64, _gen(0))
    assert x.dtype == torch.uint8 and x.shape == (64, 1, 48, 48)
    assert torch.equal(x[:, 0, 0, 0].long(), y * 30)  # images stay paired with their labels
    assert torch.equal(votes.argmax(1), y)  # and with their label distributions
    x2, y2, _ = data.sample(64, _gen(0))
    assert torch.equal(x, x2) and torch.equal(y, y2)
    fixed_x, fixed_y = data.fixed(7)
    assert torch.equal(fixed_y, torch.arange(7)) and torch.equal(fixed_x[:, 0, 0, 0].long(), fixed_y * 30)
    with pytest.raises(ValueError):
        DeviceData(Pack(images[:0], labels[:0], {}), torch.device("cpu"))
