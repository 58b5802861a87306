"""The warp output (ganmut.motion): its identity start, the warp, the gain, the mouth's hard region, the
fold measure, and the generator and training terms built on it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganmut import motion as M
from ganmut.generator import Generator, GeneratorConfig
from training.losses import flow_smoothness_loss, fold_loss


def _faces(n: int = 3, size: int = 48) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, size, size, generator=gen) * 2 - 1


def _motion(b: int = 3, size: int = 48, flow: float = 0.0, g: int = 12) -> M.Motion:
    return M.Motion(torch.full((b, 2, g, g), flow), torch.zeros(b, 1, 12, 12), torch.zeros(b, 1, size, size),
                    torch.zeros(b, 1, size, size))


def test_zero_motion_is_the_identity():
    x = _faces()
    assert torch.allclose(M.render(x, _motion()), x, atol=1e-6)


def test_a_uniform_flow_moves_the_face_by_whole_pixels():
    x = _faces()
    shift = 3 / 48  # three pixels to the right: the edit at p shows the input at p + 3 px
    out = M.render(x, M.Motion(
        torch.stack([torch.full((3, 12, 12), shift), torch.zeros(3, 12, 12)], 1), torch.zeros(3, 1, 12, 12),
        torch.zeros(3, 1, 48, 48), torch.zeros(3, 1, 48, 48)))
    assert torch.allclose(out[..., :, :-3], x[..., :, 3:], atol=1e-5)
    assert torch.allclose(out[..., :, -3:], x[..., :, -1:].expand(-1, -1, -1, 3), atol=1e-5)  # the border replicated


def test_the_gain_scales_intensity_and_the_mouth_composites_only_where_alpha_is():
    x = _faces()
    m = _motion()
    m.log_gain = torch.full_like(m.log_gain, np.log(0.5))
    out = M.render(x, m)
    assert torch.allclose((out + 1) / 2, (x + 1) / 4, atol=1e-6)  # a ratio of intensities
    m = _motion()
    m.alpha[:, :, 30:40, 20:28] = 1.0
    m.content = torch.ones_like(m.content)
    out = M.render(x, m)
    assert (out[:, :, 30:40, 20:28] == 1).all()
    keep = torch.ones(48, 48, dtype=torch.bool)
    keep[30:40, 20:28] = False
    assert torch.allclose(out[..., keep], x[..., keep], atol=1e-6)


def test_mouth_region_covers_the_mouth_and_not_the_eyes_or_nose():
    r = M.mouth_region(48)[0, 0]
    px = lambda fx, fy: float(r[int(fy * 48), int(fx * 48)])  # noqa: E731
    assert px(*M.MOUTH_CENTRE) == 1.0
    from ganmut.align import FER2013_TEMPLATE

    for eye_or_nose in FER2013_TEMPLATE[:3]:
        assert px(*eye_or_nose) == 0.0
    assert 0.05 < float(r.mean()) < 0.2  # a tenth of the crop, about


def test_jacobian_and_fold_loss_see_folds_and_nothing_else():
    g = 12
    zero = torch.zeros(1, 2, g, g)
    assert torch.allclose(M.jacobian_det(zero), torch.ones(1, g - 1, g - 1))
    assert fold_loss(zero) == 0 and flow_smoothness_loss(zero) < 1e-2
    xs = (torch.arange(g) + 0.5) / g
    fold = torch.zeros(1, 2, g, g)
    fold[:, 0] = (-1.5 * xs)[None, :].expand(g, g)  # p + flow(p) runs backwards along x: folded
    assert (M.jacobian_det(fold) < 0).all() and fold_loss(fold) > 0.25
    stretch = torch.zeros(1, 2, g, g)
    stretch[:, 0] = (0.5 * xs)[None, :].expand(g, g)
    assert torch.allclose(M.jacobian_det(stretch), torch.full((1, g - 1, g - 1), 1.5), atol=1e-5)
    assert fold_loss(stretch) == 0 and flow_smoothness_loss(stretch) > flow_smoothness_loss(zero)


def test_a_warp_generator_starts_as_the_identity_and_stays_bounded():
    cfg = GeneratorConfig(image_size=48, channels=1, conv_dim=8, n_res=1, output="warp")
    g = Generator(cfg)
    x, z = _faces(), torch.randn(3, 2)
    out, motion = g(x, z, return_aux=True)
    assert motion.flow.shape == (3, 2, 12, 12) and motion.log_gain.shape == (3, 1, 12, 12)
    assert float((out - x).abs().max()) < 0.01  # only the mouth's barely-alive opacity
    assert float(motion.flow.abs().max()) == 0 and float(motion.log_gain.abs().max()) == 0
    torch.nn.init.normal_(g.head.weight, std=5.0)  # any head: the motion stays inside its bounds
    out, motion = g(x, z, return_aux=True)
    assert float(motion.flow.abs().max()) <= M.FLOW_LIMIT + 1e-6 and float(motion.log_gain.abs().max()) <= M.GAIN_LIMIT + 1e-6
    outside = M.mouth_region(48)[0, 0] == 0
    assert float(motion.alpha[..., outside].abs().max()) == 0  # no new pixels outside the mouth region
    assert out.min() >= -1 and out.max() <= 1
    with pytest.raises(ValueError, match="predicts no motion"):
        Generator(GeneratorConfig(image_size=48, conv_dim=8, n_res=1, output="residual")).motion(x, z)
    with pytest.raises(ValueError, match="flow_grid"):
        GeneratorConfig(image_size=48, output="warp", flow_grid=1)


def test_unfold_scales_a_folding_flow_just_enough_and_leaves_the_rest():
    g = 12
    xs = (torch.arange(g) + 0.5) / g
    fold = torch.zeros(2, 2, g, g)
    fold[0, 0] = (-1.5 * xs)[None, :].expand(g, g)  # folds: det J = -0.5
    fold[1, 0] = (0.3 * xs)[None, :].expand(g, g)  # a stretch: left alone
    out = M.unfold(fold)
    assert torch.equal(out[1], fold[1])
    det = M.jacobian_det(out[:1])
    assert float(det.min()) >= M.FOLD_MARGIN and float(det.min()) < M.FOLD_MARGIN + 0.01  # no more than needed
    assert torch.allclose(out[0] / out[0, 0].abs().max(), fold[0] / fold[0, 0].abs().max())  # the same direction
