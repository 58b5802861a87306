import pytest
import torch

from ganmut.generator import Generator, GeneratorConfig


@pytest.mark.parametrize("upsample,output", [("resize", "attention"), ("transposed", "direct"), ("resize", "residual")])
def test_shapes_range_and_batch_independence(upsample, output):
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(image_size=32, channels=1, conv_dim=8, n_res=1, upsample=upsample, output=output))
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    z = torch.randn(3, 2)
    y = g(x, z)
    assert y.shape == x.shape and y.abs().max() <= 1
    # an edit never depends on the rest of the batch, and eval == train (no running statistics)
    g.eval()
    assert torch.allclose(g(x[:1], z[:1]), y[:1], atol=1e-5)
    assert not torch.allclose(g(x[:1], z[1:2]), y[:1])  # the code matters


def test_residual_output_is_the_identity_when_the_head_is_zero():
    g = Generator(GeneratorConfig(image_size=32, channels=1, conv_dim=8, n_res=1, output="residual"))
    torch.nn.init.zeros_(g.head.weight)
    x = torch.rand(2, 1, 32, 32) * 1.8 - 0.9
    assert torch.allclose(g(x, torch.randn(2, 2)), x, atol=1e-5)


def test_paper_size_parameter_count():
    g = Generator(GeneratorConfig(image_size=128, channels=3, upsample="transposed", output="direct"))
    n = sum(p.numel() for p in g.parameters())
    assert 8.3e6 < n < 8.5e6  # the official StarGAN/GANmut generator has about 8.4 M


def test_config_validation():
    with pytest.raises(ValueError, match="upsample"):
        GeneratorConfig(upsample="bicubic")
    with pytest.raises(ValueError, match="output must be one of direct, attention, residual"):
        GeneratorConfig(output="mask")
    with pytest.raises(ValueError, match="unknown generator settings"):
        GeneratorConfig.from_dict({"image_size": 64, "depth": 3})


def test_nearest_upsampling_matches_torch():
    from ganmut.generator import NearestUp2

    x = torch.randn(2, 3, 5, 7)
    assert torch.equal(NearestUp2()(x), torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"))
