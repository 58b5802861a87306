"""A new parametrisation is one :class:`~ganmut.spaces.Space` subclass registered in ``SPACES``: this toy
space (a hexagon, fixed anchors) is built by ``make_space`` and drawn by the wheel, the gamut grid and the
evaluation report, none of which names it."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from ganmut import spaces, wheel
from ganmut.canvas import wheel_canvas
from ganmut.emotions import EMOTIONS, N_EMOTIONS

APOTHEM = math.cos(math.pi / 6)


class HexagonSpace(spaces.Space):
    """Neutral at the centre, the six emotions at the corners of the regular hexagon inscribed in the unit
    circle; a code's mix is the softmax of minus 4 times its squared distances to them."""

    kind = "hexagon"
    domain = "the regular hexagon with corners at 0, 60, ..., 300 degrees on the unit circle"

    def anchors(self) -> torch.Tensor:
        a = torch.arange(N_EMOTIONS - 1) * (math.pi / 3)
        return torch.cat([torch.zeros(1, 2), torch.stack([a.cos(), a.sin()], -1)])

    def distribution(self, z: torch.Tensor) -> torch.Tensor:
        return torch.softmax(-4 * torch.cdist(z, self.anchors()).pow(2), -1)

    def border(self, theta: np.ndarray) -> np.ndarray:
        return APOTHEM / np.cos(np.remainder(theta, math.pi / 3) - math.pi / 6)

    def project(self, z) -> tuple[float, ...]:
        v = self._finite(z)
        limit = float(self.border(math.atan2(v[1], v[0])))
        return tuple(float(c) for c in v * min(1.0, limit / max(float(np.hypot(*v)), 1e-12)))

    def describe(self) -> dict:
        return {}


@pytest.fixture
def hexagon(monkeypatch):
    monkeypatch.setitem(spaces.SPACES, HexagonSpace.kind, HexagonSpace)
    return spaces.make_space("hexagon")


def test_a_registered_space_is_drawn_without_other_changes(hexagon, tmp_path):
    assert isinstance(hexagon, HexagonSpace)
    assert hexagon.contains(hexagon.anchors()[1]) and not hexagon.contains(torch.tensor([0.0, 0.95]))
    assert hexagon.project((0.0, 2.0)) == pytest.approx((0.0, APOTHEM))

    fig = wheel.wheel_figure(hexagon, point=(0.2, 0.1))
    traces = {t.name: t for t in fig.data}
    boundary = np.stack([traces["boundary"].x, traces["boundary"].y], -1).astype(float)
    assert hexagon.inside(boundary).all() and np.hypot(*boundary.T).max() == pytest.approx(1, abs=1e-3)
    assert {a.text.replace("<b>", "").replace("</b>", "") for a in fig.layout.annotations} == set(EMOTIONS)
    assert not any(hexagon.inside(lab["anchor"]) for lab in wheel.label_layout(hexagon))  # labels outside
    assert "neutral leader" in traces  # from the centre to its label at the edge
    hover = traces[wheel.HOVER]
    i, j = 25, 30
    assert wheel.mix_text(wheel.mix_at(hexagon, (hover.x[j], hover.y[i]))) in hover.text[i][j]
    rgba = wheel.background_rgba(hexagon, size=64)
    assert rgba[0, 0, 3] == 0 and rgba[32, 32, 3] > 0  # transparent outside the hexagon
    json.loads(wheel.figure_json(fig))

    codes, places = hexagon.rings((0.5, 1.0), 12)
    assert all(hexagon.contains(torch.tensor(c)) for c in codes)
    assert not hexagon.inside(1.01 * np.array(codes[12:])).any()  # the outer ring on the border
    names = ["input"] + [EMOTIONS[hexagon.dominant(torch.tensor(c))[0]] for c in codes]
    canvas = wheel_canvas([Image.new("RGB", (24, 24), "gray")] * len(names), places, names, 24)
    assert canvas.size[0] == canvas.size[1] > 5 * 24

    from training import report

    report.plot_space(hexagon, tmp_path / "space.png")
    assert Image.open(tmp_path / "space.png").size[0] > 0
