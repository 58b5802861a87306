"""Space math against hand-computed values."""
import math

import numpy as np
import pytest
import torch

from ganmut.emotions import EMOTIONS, NEUTRAL, emotion_index, mix_vector
from ganmut.geometry import (
    covariance,
    expected_anchor,
    label_distribution,
    linear_distribution,
    mahalanobis_sq,
    polar_to_xy,
    xy_to_polar,
)
from ganmut.spaces import CategoricalSpace, GaussianSpace, LinearSpace, make_space


def test_emotion_names_and_aliases():
    assert EMOTIONS == ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger")
    assert emotion_index("Angry") == 6 and emotion_index("surprised") == 3 and emotion_index(2) == 2
    with pytest.raises(ValueError, match="choose one of"):
        emotion_index("bored")


@pytest.mark.parametrize(
    "theta,rho,xy",
    [(0.0, 1.0, (1.0, 0.0)), (math.pi / 2, 0.5, (0.0, 0.5)), (math.pi, 2.0, (-2.0, 0.0)), (math.pi / 4, math.sqrt(2), (1.0, 1.0))],
)
def test_polar_cartesian(theta, rho, xy):
    assert torch.allclose(polar_to_xy(theta, rho), torch.tensor(xy), atol=1e-6)
    t, r = xy_to_polar(torch.tensor(xy))
    assert abs(float(r) - rho) < 1e-6 and abs(float(t) - theta) < 1e-6


def test_polar_angle_range():
    t, _ = xy_to_polar(torch.tensor([0.0, -1.0]))
    assert abs(float(t) - 3 * math.pi / 2) < 1e-6


def test_linear_space_directions_and_code():
    s = LinearSpace()
    with torch.no_grad():
        s.weight.copy_(torch.tensor([[3.0, 4.0], [0, 2], [-1, 0], [0, -5], [1, 1], [2, -2]]))
    d = s.directions()
    assert torch.allclose(d[0], torch.tensor([0.6, 0.8]))
    assert torch.allclose(torch.linalg.vector_norm(d, dim=1), torch.ones(6))
    assert torch.allclose(s.code("happy", 0.5), torch.tensor([0.3, 0.4]))
    assert torch.allclose(s.code("neutral", 1.0), torch.zeros(2))
    assert torch.allclose(s.code("sad", 0.0), torch.zeros(2))
    assert torch.allclose(s.code("sad", 1.0), torch.tensor([0.0, 1.0]))
    assert abs(float(s.angles().detach()[2]) - math.pi) < 1e-6  # surprise points along -x
    with pytest.raises(ValueError):
        s.code("happy", 1.5)
    assert s.contains(torch.tensor([0.6, 0.8])) and not s.contains(torch.tensor([0.9, 0.9]))


def test_linear_distribution_hand_values():
    dirs = torch.tensor([[1.0, 0], [0, 1], [-1, 0], [0, -1], [0.6, 0.8], [-0.6, 0.8]])
    p = linear_distribution(torch.tensor([[0.7, 0.0], [0.0, 0.0], [0.0, -2.0]]), dirs)
    assert torch.allclose(p[0], torch.tensor([0.3, 0.7, 0, 0, 0, 0, 0]))
    assert torch.allclose(p[1, 0], torch.tensor(1.0))
    assert torch.allclose(p[2], torch.tensor([0.0, 0, 0, 0, 1, 0, 0]))  # rho clipped to 1, fear
    assert torch.allclose(p.sum(-1), torch.ones(3))


def test_linear_init_is_the_papers():
    s = LinearSpace()
    assert s.weight.abs().max() <= 1e-4 * math.sqrt(1 / 6)


def test_covariance_and_mahalanobis_hand_values():
    sigma = covariance(torch.tensor([0.0, math.pi / 2]), torch.tensor([[4.0, 1.0], [4.0, 1.0]]))
    assert torch.allclose(sigma[0], torch.tensor([[4.0, 0], [0, 1]]), atol=1e-6)
    assert torch.allclose(sigma[1], torch.tensor([[1.0, 0], [0, 4]]), atol=1e-6)
    mu = torch.zeros(2, 2)
    d2 = mahalanobis_sq(torch.tensor([[2.0, 0.0]]), mu, sigma)
    assert torch.allclose(d2, torch.tensor([[1.0, 4.0]]), atol=1e-5)  # 2^2/4 and 2^2/1


def test_mahalanobis_takes_a_bf16_covariance_and_answers_in_fp32():
    """CUDA autocast runs the covariance's ``@`` in bf16, and ``linalg.solve`` then gets mixed dtypes (a crash at
    GGANmut's first G step): the space's maths must run in fp32 whatever dtypes it is handed."""
    sigma = covariance(torch.tensor([0.3, 1.2]), torch.tensor([[0.5, 0.2], [0.3, 0.9]]))
    mu, z = torch.tensor([[0.1, -0.2], [0.5, 0.4]]), torch.tensor([[0.7, -0.1], [0.0, 0.3]])
    exact = mahalanobis_sq(z, mu, sigma)
    mixed = mahalanobis_sq(z, mu.bfloat16(), sigma.bfloat16())
    assert mixed.dtype == torch.float32
    assert torch.allclose(mixed, exact, rtol=2e-2)
    assert label_distribution(z.bfloat16(), mu, sigma.bfloat16()).dtype == torch.float32


def test_gaussian_space_is_fp32_under_autocast():
    s = GaussianSpace()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        sigma, p = s.covariances(), s.distribution(torch.rand(5, 2) * 2 - 1)
    assert sigma.dtype == p.dtype == torch.float32
    assert torch.allclose(p.sum(-1), torch.ones(5), atol=1e-5)


def test_label_distribution_sums_to_one_and_peaks_at_modes():
    s = GaussianSpace()
    with torch.no_grad():
        ang = torch.arange(7) * 2 * math.pi / 7
        s.w.copy_(torch.atanh(0.7 * torch.stack([ang.cos(), ang.sin()], -1)))
        s.axes.fill_(0.05)
    grid = torch.rand(100, 2) * 2 - 1
    assert torch.allclose(s.distribution(grid).sum(-1), torch.ones(100), atol=1e-5)
    p_modes = s.distribution(s.means())
    assert torch.equal(p_modes.argmax(-1), torch.arange(7))
    # with identity covariances the distribution is a softmax of -||z - mu||^2: check one value by hand
    mu = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    p = label_distribution(torch.tensor([0.5, 0.0]), mu, torch.eye(2).expand(2, 2, 2))
    assert torch.allclose(p, torch.tensor([0.5, 0.5]))
    p = label_distribution(torch.tensor([0.0, 0.0]), mu, torch.eye(2).expand(2, 2, 2))
    assert torch.allclose(p, torch.tensor([1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1))]))


def test_gaussian_code_endpoints_and_init():
    s = GaussianSpace()
    assert torch.equal(s.angle, torch.zeros(7)) and torch.equal(s.axes, torch.ones(7, 2))
    assert (s.w.abs() <= math.sqrt(0.5)).all()
    mu = s.means().detach()
    assert torch.allclose(s.code("anger", 0.0), mu[0])
    assert torch.allclose(s.code("anger", 1.0), mu[6])
    assert torch.allclose(s.code("anger", 0.5), (mu[0] + mu[6]) / 2)
    assert s.contains(mu[3]) and not s.contains(torch.tensor([1.2, 0.0]))


def test_linear_controls_of_a_point_keep_its_ray():
    s = LinearSpace()
    with torch.no_grad():
        s.weight.copy_(torch.tensor([[1.0, 0], [0, 1], [-1, 0], [0, -1], [1, 1], [1, -1]]))
    z = (0.14, 0.48)  # between sad (+y) and disgust (+x +y), nearer sad; radius 0.5
    assert EMOTIONS[s.nearest_emotion(z)] == "sad"
    assert s.intensity_of(z, "sad") == pytest.approx(0.5) and s.intensity_of(z, "anger") == pytest.approx(0.5)
    assert torch.allclose(s.at_intensity(z, "sad", 1.0), torch.tensor([0.28, 0.96]))  # the same ray, not sad's direction
    assert torch.allclose(s.at_intensity(z, "sad", 0.25), torch.tensor([0.07, 0.24]))
    assert torch.allclose(s.at_intensity((0.0, 0.0), "surprise", 0.5), torch.tensor([-0.5, 0.0]))  # no ray: the emotion's
    assert s.intensity_of((3.0, 4.0), "happy") == 1.0
    with pytest.raises(ValueError):
        s.at_intensity(z, "sad", 1.2)


def test_gaussian_controls_of_a_point_follow_the_emotion_path():
    s = GaussianSpace()
    with torch.no_grad():
        s.w.copy_(torch.atanh(torch.tensor([[0.0, -0.2], [0.8, 0.0], [0.0, 0.8], [-0.8, 0.0], [-0.6, -0.6], [0.6, -0.6], [0.4, 0.6]])))
    mu = s.means().detach()
    z = (0.5, 0.1)  # nearest non-neutral mode: happy
    assert EMOTIONS[s.nearest_emotion(z)] == "happy"
    d = mu[1] - mu[0]
    expected = float((torch.tensor(z) - mu[0]) @ d / (d @ d))
    assert s.intensity_of(z, "happy") == pytest.approx(expected, abs=1e-6)
    assert s.intensity_of(mu[1], "happy") == pytest.approx(1.0) and s.intensity_of(mu[0], "happy") == pytest.approx(0.0)
    assert s.intensity_of((-1.0, 0.0), "happy") == 0.0  # clipped to the path
    assert torch.allclose(s.at_intensity(z, "happy", 0.5), s.code("happy", 0.5))


def test_categorical_baseline():
    s = CategoricalSpace()
    assert torch.allclose(s.code("sad", 0.25), torch.tensor([0.75, 0, 0.25, 0, 0, 0, 0]))
    assert s.dominant(s.code("fear"))[0] == 4


def test_make_space():
    assert make_space("gaussian").kind == "gaussian"
    with pytest.raises(ValueError, match="linear"):
        make_space("spherical")


def test_search_grids():
    lin = make_space("linear").search_grid()
    norms = lin.norm(dim=-1)
    assert lin.shape == (421, 2) and norms.max() <= 1 + 1e-6
    np.testing.assert_allclose(np.unique(norms.numpy().round(4)), np.round(np.arange(21) * 0.05, 4))
    gau = make_space("gaussian").search_grid()
    assert gau.shape == (441, 2) and gau.min() == -1 and gau.max() == 1
    assert torch.equal(make_space("stargan").search_grid(), torch.eye(7))


def test_fed_codes_per_space():
    gen = torch.Generator().manual_seed(0)
    only_fear = np.eye(7)[4]
    lin = make_space("linear").fed_codes(only_fear, 500, gen, 0.1)
    assert lin.norm(dim=-1).max() <= 1 and lin.norm(dim=-1).min() < 0.1  # uniform in (theta, rho)
    space = make_space("gaussian")
    gau = space.fed_codes(only_fear, 500, gen, 0.1)
    assert torch.allclose(gau.mean(0), space.anchors()[4].detach().clamp(-1, 1), atol=0.03)
    assert gau.abs().max() <= 1
    star = make_space("stargan").fed_codes(only_fear, 5, gen, 0.1)
    assert torch.equal(star, torch.eye(7)[[4] * 5])


def test_each_space_knows_its_domain_projection_and_border():
    lin, gau, star = make_space("linear"), make_space("gaussian"), make_space("stargan")
    assert lin.project((3.0, 4.0)) == pytest.approx((0.6, 0.8)) and lin.project((0.1, 0.2)) == pytest.approx((0.1, 0.2))
    assert gau.project((2.0, -0.5)) == (1.0, -0.5)
    assert star.project([2, 0, 0, 2, 0, 0, -1]) == pytest.approx((0.5, 0, 0, 0.5, 0, 0, 0))
    with pytest.raises(ValueError, match="finite numbers"):
        lin.project((float("nan"), 0.0))
    assert gau.at(1.0, math.pi / 4) == pytest.approx((1.0, 1.0)) and lin.at(0.5, math.pi / 2) == pytest.approx((0.0, 0.5))
    for space in (lin, gau):
        assert all(space.contains(p, tol=1e-6) for p in space.outline(64))
        gen = torch.Generator().manual_seed(0)
        assert all(space.contains(z) for z in space.sample(200, gen))
    with pytest.raises(NotImplementedError, match="not drawn in 2-D"):
        star.outline()
    assert "unit disc" in lin.domain and "[-1, 1]^2" in gau.domain and "one-hot" in star.domain


def test_paths_through_the_space():
    space = make_space("gaussian")
    ramp = space.ramp("happy", steps=5)
    assert len(ramp) == 8 and ramp[0] == pytest.approx(tuple(space.code("neutral").tolist()))
    assert ramp[4] == pytest.approx(tuple(space.anchors()[1].tolist()))
    tour = space.tour(steps_per_leg=3)
    anchors = space.anchors()[1:].detach().double()
    starts = torch.tensor(tour[::3], dtype=torch.float64)
    assert len(tour) == 18 and (torch.cdist(starts, anchors).min(1).values < 1e-6).all()  # every leg starts at an anchor
    assert len({int(i) for i in torch.cdist(starts, anchors).argmin(1)}) == 6
    codes, places = make_space("stargan").rings((0.5, 1.0), n_directions=99)  # StarGAN: the six emotions
    assert len(codes) == len(places) == 12 and all(abs(sum(c) - 1) < 1e-6 for c in codes)


HAPPY_READING = {"neutral": 0.05, "happy": 0.8, "sad": 0.04, "surprise": 0.05, "fear": 0.02, "disgust": 0.02, "anger": 0.02}
NEUTRAL_READING = [0.9, 0.02, 0.02, 0.02, 0.01, 0.01, 0.02]


def _spread_spaces() -> tuple[LinearSpace, GaussianSpace]:
    """A linear space with the six directions 60 degrees apart, and a Gaussian one with neutral's mode at
    (0.1, -0.2) and the others on a ring of 0.7 around the origin, each of spread 0.05."""
    lin, gau = LinearSpace(), GaussianSpace()
    angles = torch.arange(6) * (math.pi / 3)
    ring = torch.stack([angles.cos(), angles.sin()], -1)
    with torch.no_grad():
        lin.weight.copy_(ring * 3.0)  # any length: the directions are normalised
        gau.w.copy_(torch.atanh(torch.cat([torch.tensor([[0.1, -0.2]]), 0.7 * ring])))
        gau.axes.fill_(0.05)
    return lin, gau


def test_the_point_of_a_reading_averages_the_anchors_by_hand():
    anchors = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [0.6, 0.8], [-0.6, 0.8]])
    p = torch.tensor([0.2, 0.5, 0.3, 0.0, 0.0, 0.0, 0.0])
    assert torch.allclose(expected_anchor(p, anchors), torch.tensor([0.5, 0.3]))
    opposed = torch.tensor([0.0, 0.5, 0.0, 0.5, 0.0, 0.0, 0.0])  # happy and surprise pull apart: no intensity
    assert torch.allclose(expected_anchor(opposed, anchors), torch.zeros(2))
    assert expected_anchor(torch.stack([p, opposed]), anchors).shape == (2, 2)


def test_a_happy_reading_lands_in_the_happy_sector_of_both_spaces():
    lin, gau = _spread_spaces()
    z = lin.point_of(HAPPY_READING)
    assert lin.nearest_emotion(z) == EMOTIONS.index("happy")
    rho = math.hypot(*z)
    assert 0.7 < rho <= 1 - HAPPY_READING["neutral"] + 1e-6  # the intensity follows the distance from neutral
    g = gau.point_of(HAPPY_READING)
    assert gau.dominant(torch.tensor(g))[0] == EMOTIONS.index("happy") and gau.nearest_emotion(g) == EMOTIONS.index("happy")


def test_a_neutral_reading_lands_at_neutral():
    lin, gau = _spread_spaces()
    assert math.hypot(*lin.point_of(NEUTRAL_READING)) < 0.1
    g = torch.tensor(gau.point_of(NEUTRAL_READING))
    assert float(torch.linalg.vector_norm(g - gau.means()[NEUTRAL].detach())) < 0.1
    assert gau.dominant(g)[0] == NEUTRAL


def test_a_reading_of_neutral_and_one_emotion_is_the_mix_of_its_linear_point():
    lin, _ = _spread_spaces()
    for c in range(1, 7):
        reading = [0.0] * 7
        reading[NEUTRAL], reading[c] = 0.35, 0.65
        z = torch.tensor(lin.point_of(reading))
        assert torch.allclose(lin.distribution(z[None])[0], torch.tensor(reading), atol=1e-5)
    star = make_space("stargan")
    assert star.point_of(HAPPY_READING) == pytest.approx(tuple(mix_vector(HAPPY_READING)))


@pytest.mark.parametrize("reading,message", [
    ({"bored": 1.0}, "unknown emotion 'bored'"),
    ([0.5, 0.5], "an emotion mix is 7 numbers"),
    ({"happy": -0.1}, "the share of happy must be a number in"),
    ([0.0] * 7, "positive, finite sum"),
    ([float("nan")] + [0.1] * 6, "the share of neutral must be a number"),
])
def test_a_bad_reading_gets_one_line(reading, message):
    with pytest.raises(ValueError, match=message) as err:
        make_space("linear").point_of(reading)
    assert "\n" not in str(err.value)
    assert mix_vector({"Happiness": 2.0, "neutral": 2.0}) == [0.5, 0.5, 0, 0, 0, 0, 0]  # aliases, scaled to 1
