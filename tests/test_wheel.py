"""The Plotly wheel and mix figures of both tiny checkpoints, and click-coordinate handling."""
from __future__ import annotations

import base64
import io
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from ganmut import wheel
from ganmut.checkpoint import load_checkpoint
from ganmut.emotions import COLORS, EMOTIONS


@pytest.fixture(scope="module")
def linear(linear_ckpt):
    return load_checkpoint(linear_ckpt).space


@pytest.fixture(scope="module")
def gaussian(gaussian_ckpt):
    return load_checkpoint(gaussian_ckpt).space


def by_name(fig) -> dict:
    return {t.name: t for t in fig.data}


def test_linear_wheel_draws_each_learned_direction(linear):
    fig = wheel.wheel_figure(linear, point=(0.3, -0.2))
    traces = by_name(fig)
    directions = linear.directions().detach().numpy()
    for c, name in enumerate(EMOTIONS[1:]):
        t = traces[name]
        assert np.allclose([t.x[1], t.y[1]], directions[c], atol=1e-6)  # the unit direction itself
        assert name in t.text[-1] and t.line.color == COLORS[c + 1]
    assert "neutral" in traces["neutral"].text[0] and (traces["neutral"].x[0], traces["neutral"].y[0]) == (0, 0)
    assert {"intensity 25%", "intensity 50%", "intensity 75%", "boundary"} <= set(traces)
    r = np.hypot(traces["boundary"].x, traces["boundary"].y)
    assert np.allclose(r, 1.0)
    assert (traces[wheel.MARKER].x, traces[wheel.MARKER].y) == ((0.3,), (-0.2,))
    assert fig.layout.clickanywhere is True and fig.layout.xaxis.fixedrange and fig.layout.yaxis.scaleanchor == "x"


def test_gaussian_wheel_draws_each_mode_with_its_ellipses(gaussian):
    fig = wheel.wheel_figure(gaussian)
    traces = by_name(fig)
    means = gaussian.means().detach().numpy()
    covs = gaussian.covariances().detach().numpy()
    for c, name in enumerate(EMOTIONS):
        assert np.allclose([traces[name].x[0], traces[name].y[0]], means[c], atol=1e-6)
        assert name in traces[name].text[0]
        for k in (1, 2):
            e = np.stack([traces[f"{name} {k}σ"].x, traces[f"{name} {k}σ"].y], -1).astype(float)
            inside = ~np.isnan(e).any(1)
            assert np.all(np.abs(e[inside]) <= 1) and (inside.any() or k == 2)  # drawn only inside the space
            assert np.isnan(e[~inside]).all()
            d = e[inside] - means[c]
            maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(covs[c]), d)
            assert np.allclose(maha, k * k, atol=1e-4)  # every drawn point at Mahalanobis distance k
    assert traces[wheel.MARKER].x == ()  # no point chosen yet: no marker


@pytest.mark.parametrize("kind", ["linear", "gaussian"])
def test_background_and_hover_grid(kind, linear, gaussian):
    space = linear if kind == "linear" else gaussian
    fig = wheel.wheel_figure(space)
    hover = by_name(fig)[wheel.HOVER]
    assert np.asarray(hover.z).shape == (wheel.HOVER_GRID, wheel.HOVER_GRID)
    assert len(hover.text) == wheel.HOVER_GRID and all(len(row) == wheel.HOVER_GRID for row in hover.text)
    # the hover text of a cell is the mix of the cell's centre
    i, j = 27, 9
    z = (hover.x[j], hover.y[i])
    assert wheel.mix_text(wheel.mix_at(space, z)) in hover.text[i][j]
    img = fig.layout.images[0]
    png = Image.open(io.BytesIO(base64.b64decode(img.source.split(",", 1)[1])))
    assert png.mode == "RGBA" and png.size == (wheel.BACKGROUND_PX, wheel.BACKGROUND_PX)
    assert (img.x, img.y, img.sizex, img.sizey, img.layer) == (-1, 1, 2, 2, "below")
    rgba = np.asarray(png)
    if kind == "linear":  # transparent outside the unit disc, tinted inside
        assert rgba[0, 0, 3] == 0 and rgba[128, 128, 3] > 0
    else:
        assert (rgba[..., 3] > 0).all()
    json.loads(wheel.figure_json(fig))  # serialisable for the browser


def test_linear_hover_and_tint_follow_the_learned_sectors(linear):
    d = linear.directions().detach().numpy()
    for c in range(6):
        p = wheel.mix_at(linear, 0.8 * d[c])
        assert wheel.mix_text(p).startswith(f"{EMOTIONS[c + 1]} 80%")
        assert "neutral 20%" in wheel.mix_text(p)
    rgba = wheel.background_rgba(linear, size=101)
    row, col = 50 - round(0.8 * d[0, 1] * 50), 50 + round(0.8 * d[0, 0] * 50)
    expected = 0.8 * np.array([int(COLORS[1][k:k + 2], 16) for k in (1, 3, 5)]) + 0.2 * np.array([0x9E, 0x9E, 0x9E])
    assert np.abs(rgba[row, col, :3].astype(float) - expected).max() <= 12


def test_gaussian_tint_is_the_dominant_emotion(gaussian):
    means = gaussian.means().detach().numpy()
    rgba = wheel.background_rgba(gaussian, size=200)
    for c, (mx, my) in enumerate(means):
        top, _ = gaussian.dominant(torch.tensor([mx, my]))
        row, col = int((1 - my) / 2 * 199), int((mx + 1) / 2 * 199)
        px = tuple(int(v) for v in rgba[row, col, :3])
        assert px == tuple(int(COLORS[top][k:k + 2], 16) for k in (1, 3, 5))


def test_clicks_outside_the_space_are_projected_onto_its_border(linear, gaussian):
    assert linear.project((0.3, -0.4)) == (0.3, -0.4)
    x, y = linear.project((3.0, 4.0))
    assert math.isclose(x, 0.6) and math.isclose(y, 0.8) and linear.contains(torch.tensor([x, y]))
    assert gaussian.project((1.2, -0.5)) == (1.0, -0.5)
    assert gaussian.project((-1.3, 1.1)) == (-1.0, 1.0)
    with pytest.raises(ValueError, match="finite numbers"):
        linear.project((float("nan"), 0.0))


def test_stargan_has_no_wheel():
    from ganmut.spaces import make_space

    with pytest.raises(ValueError, match="no 2-D wheel"):
        wheel.wheel_figure(make_space("stargan"))


def test_mix_figure_bars(linear, gaussian):
    d = linear.directions().detach().numpy()[2]  # surprise
    bars = wheel.mix_figure(linear, 0.6 * d).data[0]
    assert list(bars.x) == list(EMOTIONS) and list(bars.marker.color) == list(COLORS)
    assert np.allclose(bars.y, [0.4, 0, 0, 0.6, 0, 0, 0], atol=1e-6)
    z = (0.2, -0.1)
    bars = wheel.mix_figure(gaussian, z).data[0]
    assert np.allclose(bars.y, gaussian.distribution(torch.tensor([z])).detach().numpy()[0], atol=1e-6)
    assert math.isclose(sum(bars.y), 1.0, abs_tol=1e-6)
