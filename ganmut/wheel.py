"""Plotly figures of a learned 2-D space: the clickable emotion wheel and the emotion-mix bars.

plotly is imported inside the functions that build figures, so ``import ganmut`` never needs it.

The wheel (:func:`wheel_figure`) is drawn in the space's own coordinates (x to the right, y up),
so a click's data coordinates are the code to edit to:

- linear (GANmut): the unit disc, neutral at the centre, one labelled learned direction per
  emotion, dotted intensity rings at 25/50/75 %, the disc tinted by the emotion of its sector
  with the colour fading to neutral grey towards the centre (the mix is neutral 1 - rho and the
  sector's emotion rho);
- Gaussian (GGANmut): the square [-1, 1]^2, each emotion's mode with its 1-sigma and 2-sigma
  covariance ellipses and its label, the square tinted by the dominant emotion of the label
  distribution, more opaque where it is more confident.

Hovering anywhere shows the emotion mix there (an invisible heatmap carries one hover text per
cell). A click outside the space is projected onto its border: the wheel is a
picker, so a click just beside the disc means "the edge of the disc in that direction"
(:meth:`ganmut.spaces.Space.project`).
"""
from __future__ import annotations

import base64
import io
import json
import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from .emotions import COLORS, EMOTIONS, NEUTRAL
from .spaces import Space

if TYPE_CHECKING:
    import plotly.graph_objects as go

MARKER = "current"
"""Name of the trace that marks the current point (the app's JavaScript moves it by name)."""
HOVER = "mix"
"""Name of the invisible heatmap trace that carries the hover texts."""
AXIS_RANGE = {"linear": 1.32, "gaussian": 1.12}
"""Half-width of the visible axes per parametrisation (room for labels beyond the domain)."""
HOVER_GRID = 41
BACKGROUND_PX = 256
RINGS = (0.25, 0.5, 0.75)
MIN_SHOWN = 0.01


def _check_2d(space: Space) -> None:
    if space.kind not in AXIS_RANGE:
        raise ValueError(f"a {space.kind} space has no 2-D wheel; only linear and Gaussian spaces do")


def _rgb(hex_color: str) -> np.ndarray:
    h = hex_color.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


PALETTE = np.stack([_rgb(c) for c in COLORS])


# --------------------------------------------------------------------------- geometry
def _inside(space: Space, xy: np.ndarray) -> np.ndarray:
    if space.kind == "linear":
        return np.hypot(xy[..., 0], xy[..., 1]) <= 1.0
    return (np.abs(xy) <= 1.0).all(-1)


def _grid(n: int, extent: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """n cell centres along each axis of [-extent, extent] and the [n, n, 2] points (row 0 at the bottom)."""
    c = (np.arange(n) + 0.5) / n * 2 * extent - extent
    xx, yy = np.meshgrid(c, c)
    return c, np.stack([xx, yy], -1)


def _distribution(space: Space, xy: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        z = torch.as_tensor(xy.reshape(-1, 2), dtype=torch.float32)
        return space.distribution(z).reshape(*xy.shape[:-1], len(EMOTIONS)).cpu().double().numpy()


def mix_at(space: Space, z: Sequence[float]) -> np.ndarray:
    """The emotion mix (7 shares summing to 1) of one code."""
    return _distribution(space, np.asarray(z, dtype=np.float64).reshape(1, -1))[0]


def mix_text(p: Sequence[float], limit: int = 3) -> str:
    """'happy 62% · neutral 38%': the largest shares of a mix, at most ``limit``, those >= 1 %."""
    p = np.asarray(p, dtype=np.float64)
    order = [int(i) for i in np.argsort(-p, kind="stable")[:limit] if p[i] >= MIN_SHOWN]
    return " · ".join(f"{EMOTIONS[i]} {100 * p[i]:.0f}%" for i in order)


def ellipse(mean: Sequence[float], cov: np.ndarray, k: float, n: int = 72) -> np.ndarray:
    """[n + 1, 2] closed outline of {z : (z - mean)^T cov^-1 (z - mean) = k^2}."""
    vals, vecs = np.linalg.eigh(np.asarray(cov, dtype=np.float64))
    t = np.linspace(0, 2 * math.pi, n + 1)
    circle = np.stack([np.cos(t), np.sin(t)], -1)
    return np.asarray(mean, dtype=np.float64) + k * circle @ (vecs * np.sqrt(np.clip(vals, 0, None))).T


# --------------------------------------------------------------------------- background
def background_rgba(space: Space, size: int = BACKGROUND_PX) -> np.ndarray:
    """[size, size, 4] uint8 tint of [-1, 1]^2, row 0 at the top (image order); transparent outside the domain."""
    _check_2d(space)
    _, xy = _grid(size)
    xy = xy[::-1]  # image rows run downwards
    p = _distribution(space, xy)
    if space.kind == "linear":
        rgb = p @ PALETTE  # grey (neutral 1 - rho) blended with the sector's colour (rho)
        alpha = np.full(p.shape[:-1], 0.55)
    else:
        top = p.argmax(-1)
        conf = p.max(-1)
        rgb = PALETTE[top]
        alpha = 0.12 + 0.6 * np.clip((conf - 1 / len(EMOTIONS)) / (1 - 1 / len(EMOTIONS)), 0, 1)
    alpha = np.where(_inside(space, xy), alpha, 0.0)
    return np.concatenate([rgb, 255 * alpha[..., None]], -1).round().clip(0, 255).astype(np.uint8)


def _png_data_uri(rgba: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# --------------------------------------------------------------------------- figures
def _hover_trace(space: Space, n: int = HOVER_GRID) -> "go.Heatmap":
    import plotly.graph_objects as go

    c, xy = _grid(n)
    p = _distribution(space, xy)
    inside = _inside(space, xy)
    text = [
        [
            f"({xy[i, j, 0]:+.2f}, {xy[i, j, 1]:+.2f})<br>" + (mix_text(p[i, j]) if inside[i, j] else "outside: a click snaps to the edge")
            for j in range(n)
        ]
        for i in range(n)
    ]
    return go.Heatmap(
        x=c.round(4), y=c.round(4), z=np.zeros((n, n), dtype=np.int8), text=text, name=HOVER,
        hovertemplate="%{text}<extra></extra>", showscale=False, hoverongaps=True,
        colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
    )


def _marker_trace(point: Sequence[float] | None) -> "go.Scatter":
    import plotly.graph_objects as go

    xs, ys = ([float(point[0])], [float(point[1])]) if point is not None else ([], [])
    return go.Scatter(
        x=xs, y=ys, name=MARKER, mode="markers", hoverinfo="skip",
        marker=dict(size=17, color="rgba(255,255,255,0.9)", symbol="circle-dot", line=dict(width=3, color="#111")),
    )


def _linear_traces(space: Space) -> list:
    import plotly.graph_objects as go

    traces = []
    t = np.linspace(0, 2 * math.pi, 181)
    directions = space.directions().detach().cpu().double().numpy()
    angles = np.sort(np.arctan2(directions[:, 1], directions[:, 0]) % (2 * math.pi))
    gaps = np.diff(np.append(angles, angles[0] + 2 * math.pi))
    free = angles[gaps.argmax()] + gaps.max() / 2  # label the rings where no direction is drawn
    for r in RINGS:
        traces.append(go.Scatter(
            x=r * np.cos(t), y=r * np.sin(t), mode="lines", name=f"intensity {r:.0%}", hoverinfo="skip",
            line=dict(color="rgba(60,60,60,0.45)", width=1, dash="dot"),
        ))
    traces.append(go.Scatter(
        x=[r * math.cos(free) for r in (*RINGS, 1.0)], y=[r * math.sin(free) for r in (*RINGS, 1.0)],
        mode="text", text=[f"{r:.0%}" for r in (*RINGS, 1.0)], name="intensity labels", hoverinfo="skip",
        textfont=dict(size=10, color="#555"),
    ))
    traces.append(go.Scatter(x=np.cos(t), y=np.sin(t), mode="lines", name="boundary", hoverinfo="skip",
                             line=dict(color="#333", width=2)))
    for c, (dx, dy) in enumerate(directions, start=1):
        deg = math.degrees(math.atan2(dy, dx)) % 360
        traces.append(go.Scatter(
            x=[0.0, dx, 1.15 * dx], y=[0.0, dy, 1.15 * dy], mode="lines+markers+text", name=EMOTIONS[c],
            text=["", "", f"<b>{EMOTIONS[c]}</b>"], textposition="middle center",
            textfont=dict(size=14, color=COLORS[c]), line=dict(color=COLORS[c], width=3),
            marker=dict(size=[0, 9, 0], color=COLORS[c]),
            hovertemplate=f"<b>{EMOTIONS[c]}</b> direction, θ = {deg:.0f}°<extra></extra>",
        ))
    traces.append(go.Scatter(
        x=[0.0], y=[0.0], mode="markers+text", name=EMOTIONS[NEUTRAL], text=[f"<b>{EMOTIONS[NEUTRAL]}</b>"],
        textposition="bottom center", textfont=dict(size=12, color="#444"),
        marker=dict(size=10, color=COLORS[NEUTRAL], line=dict(width=1, color="#333")),
        hovertemplate="<b>neutral</b> (intensity 0)<extra></extra>",
    ))
    return traces


def _gaussian_traces(space: Space) -> list:
    import plotly.graph_objects as go

    means = space.means().detach().cpu().double().numpy()
    covs = space.covariances().detach().cpu().double().numpy()
    traces = [go.Scatter(x=[-1, 1, 1, -1, -1], y=[-1, -1, 1, 1, -1], mode="lines", name="boundary",
                         hoverinfo="skip", line=dict(color="#333", width=2))]
    for c, (mu, cov) in enumerate(zip(means, covs)):
        for k, dash in ((1, "solid"), (2, "dash")):
            e = ellipse(mu, cov, k)
            e[(np.abs(e) > 1).any(1)] = np.nan  # the space is [-1, 1]^2: break the outline where it leaves
            traces.append(go.Scatter(
                x=e[:, 0], y=e[:, 1], mode="lines", name=f"{EMOTIONS[c]} {k}σ", hoverinfo="skip",
                line=dict(color=COLORS[c], width=2 if k == 1 else 1.2, dash=dash),
            ))
    for c, mu in enumerate(means):
        traces.append(go.Scatter(
            x=[mu[0]], y=[mu[1]], mode="markers+text", name=EMOTIONS[c], text=[f"<b>{EMOTIONS[c]}</b>"],
            textposition="top center", textfont=dict(size=14, color=COLORS[c]),
            marker=dict(size=10, color=COLORS[c], line=dict(width=1, color="#222")),
            hovertemplate=f"<b>{EMOTIONS[c]}</b> mode, μ = ({mu[0]:+.2f}, {mu[1]:+.2f})<extra></extra>",
        ))
    return traces


def wheel_figure(space: Space, point: Sequence[float] | None = None, height: int | None = None) -> "go.Figure":
    """The clickable wheel of a linear or Gaussian space, with a marker at ``point`` (none if None).

    Axes are fixed (no zoom or pan, equal scale) and ``layout.clickanywhere`` is on, so a click on
    empty space fires ``plotly_click`` with the data coordinates in ``xvals`` / ``yvals``. Without
    ``height`` the figure takes its container's size (keep the container square).
    """
    import plotly.graph_objects as go

    _check_2d(space)
    lim = AXIS_RANGE[space.kind]
    traces = [_hover_trace(space)]
    traces += _linear_traces(space) if space.kind == "linear" else _gaussian_traces(space)
    traces.append(_marker_trace(point))
    axis = dict(range=[-lim, lim], fixedrange=True, showgrid=False, zeroline=False, showticklabels=False,
                ticks="", showline=False, constrain="domain")
    fig = go.Figure(traces)
    fig.update_layout(
        height=height, autosize=True, margin=dict(l=8, r=8, t=8, b=8), showlegend=False,
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", dragmode=False, hovermode="closest",
        clickanywhere=True, xaxis=axis, yaxis=dict(axis, scaleanchor="x", scaleratio=1),
        hoverlabel=dict(bgcolor="white", font_size=13), meta=dict(kind=space.kind, marker=MARKER),
        images=[dict(source=_png_data_uri(background_rgba(space)), xref="x", yref="y", x=-1, y=1, sizex=2, sizey=2,
                     sizing="stretch", layer="below")],
    )
    return fig


def figure_json(fig: "go.Figure") -> str:
    """JSON of a figure plus the plotly.js config the app uses (static axes, no mode bar)."""
    spec = json.loads(fig.to_json())
    spec["config"] = {"displayModeBar": False, "responsive": True, "scrollZoom": False, "doubleClick": False}
    return json.dumps(spec, separators=(",", ":"))


def mix_figure(space: Space, z: Sequence[float], height: int = 260) -> "go.Figure":
    """Bar chart of the emotion mix of code ``z`` (Gaussian: label distribution; linear: neutral
    1 - rho and the sector's emotion rho), one bar per emotion in the emotion colours."""
    import plotly.graph_objects as go

    p = mix_at(space, z)
    fig = go.Figure(go.Bar(
        x=list(EMOTIONS), y=p, marker_color=list(COLORS), text=[f"{v:.0%}" if v >= MIN_SHOWN else "" for v in p],
        textposition="outside", hovertemplate="%{x}: %{y:.1%}<extra></extra>",
    ))
    zs = ", ".join(f"{v:+.2f}" for v in z)
    fig.update_layout(
        height=height, margin=dict(l=40, r=10, t=36, b=30), title=dict(text=f"Emotion mix at ({zs})", font_size=14),
        yaxis=dict(range=[0, 1.15], tickformat=".0%", fixedrange=True), xaxis=dict(fixedrange=True),
        plot_bgcolor="white", paper_bgcolor="rgba(0,0,0,0)", showlegend=False,
    )
    return fig


# --------------------------------------------------------------------------- paths
