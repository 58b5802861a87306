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


def labels_of(fig) -> dict:
    return {a.text.replace("<b>", "").replace("</b>", ""): a for a in fig.layout.annotations}


def test_linear_wheel_draws_each_learned_direction(linear):
    fig = wheel.wheel_figure(linear, point=(0.3, -0.2))
    traces = by_name(fig)
    labels = labels_of(fig)
    directions = linear.directions().detach().numpy()
    for c, name in enumerate(EMOTIONS[1:]):
        t = traces[name]
        assert np.allclose([t.x[-1], t.y[-1]], directions[c], atol=1e-6)  # the unit direction, ending at the rim
        assert t.line.color == COLORS[c + 1] and labels[name].bordercolor == COLORS[c + 1]
    assert set(labels) == set(EMOTIONS[1:])
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
    labels = labels_of(fig)
    assert set(labels) == set(EMOTIONS)
    for c, name in enumerate(EMOTIONS):
        assert np.allclose([traces[name].x[0], traces[name].y[0]], means[c], atol=1e-6)
        leader = traces[f"{name} leader"]  # from the mode to the label's place on the border
        assert np.allclose([leader.x[0], leader.y[0]], means[c]) and max(abs(leader.x[1]), abs(leader.y[1])) == pytest.approx(1)
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


def test_mix_of_a_point(linear, gaussian):
    d = linear.directions().detach().numpy()[2]  # surprise
    assert np.allclose(wheel.mix_at(linear, 0.6 * d), [0.4, 0, 0, 0.6, 0, 0, 0], atol=1e-6)
    assert wheel.mix_text(wheel.mix_at(linear, 0.6 * d)) == "surprise 60% · neutral 40%"
    z = (0.2, -0.1)
    p = wheel.mix_at(gaussian, z)
    assert np.allclose(p, gaussian.distribution(torch.tensor([z])).detach().numpy()[0], atol=1e-6)
    assert math.isclose(sum(p), 1.0, abs_tol=1e-6)


@pytest.mark.parametrize("kind", ["linear", "gaussian"])
def test_labels_sit_outside_the_domain_apart_and_readable(kind, linear, gaussian):
    space = linear if kind == "linear" else gaussian
    labels = wheel.label_layout(space)
    boxes = np.array([lab["box"] for lab in labels])
    for lab, (x0, y0, x1, y1) in zip(labels, boxes):
        nearest = np.clip([0.0, 0.0], [x0, y0], [x1, y1])  # the box's point nearest the centre
        gap = wheel.LABEL_GAP_PX / wheel.MIN_SCALE * 0.99
        if kind == "linear":
            assert np.hypot(*nearest) >= 1 + gap * 0.7, lab["emotion"]  # beyond the rim, clear of a marker on it
        else:
            assert np.abs(nearest).max() >= 1 + gap * 0.7, lab["emotion"]  # outside the square
        assert wheel.contrast(wheel.text_color(lab["color"]), "#ffffff") >= wheel.MIN_CONTRAST
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (labels[i]["emotion"], labels[j]["emotion"])
    if kind == "linear":  # the directions of the tiny checkpoint are 60 degrees apart: no label had to move
        targets = np.array([lab["target"] for lab in labels])
        assert np.allclose([lab["theta"] for lab in labels], np.arctan2(targets[:, 1], targets[:, 0]))
    fig = wheel.wheel_figure(space)
    margin = fig.layout.meta["margin"]
    assert margin["x"] >= 8 and margin["y"] >= 8
    assert fig.layout.xaxis.range[1] == pytest.approx(1 + max(margin.values()) / wheel.MIN_SCALE)


def test_crowded_labels_are_spread_apart():
    from ganmut.spaces import make_space

    space = make_space("gaussian")
    with torch.no_grad():  # every mode on nearly the same ray: the labels must fan out
        space.w.copy_(torch.atanh(torch.tensor([[0.5 + 0.01 * k, 0.02 * k] for k in range(7)])))
    labels = wheel.label_layout(space)
    boxes = [lab["box"] for lab in labels]
    for i in range(7):
        for j in range(i + 1, 7):
            a, b = boxes[i], boxes[j]
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
    assert np.ptp([lab["theta"] for lab in labels]) > 0.3


def test_text_colour_keeps_the_hue_and_reaches_the_contrast():
    assert wheel.contrast("#ffffff", "#000000") == pytest.approx(21)
    yellow = COLORS[1]
    assert wheel.contrast(yellow, "#ffffff") < wheel.MIN_CONTRAST  # the emotion colour itself is too light on white
    dark = wheel.text_color(yellow)
    assert wheel.contrast(dark, "#ffffff") >= wheel.MIN_CONTRAST
    r, g, b = (int(dark[k:k + 2], 16) for k in (1, 3, 5))
    assert r > g > b  # still a yellow-brown, not black
    assert wheel.text_color("#222222") == "#222222"
