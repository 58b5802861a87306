"""Plotly figures of a learned 2-D space: the clickable emotion wheel; the emotion mix of a point.

plotly is imported inside the functions that build figures, so ``import ganmut`` never needs it.

The wheel (:func:`wheel_figure`) is drawn in the space's own coordinates (x to the right, y up),
so a click's data coordinates are the code to edit to:

- linear (GANmut): the unit disc, neutral at the centre, one learned direction per emotion,
  dotted intensity rings at 25/50/75 %, the disc tinted by the emotion of its sector with the
  colour fading to neutral grey towards the centre (the mix is neutral 1 - rho and the sector's
  emotion rho);
- Gaussian (GGANmut): the square [-1, 1]^2, each emotion's mode with its 1-sigma and 2-sigma
  covariance ellipses, the square tinted by the dominant emotion of the label distribution, more
  opaque where it is more confident.

Emotion labels (:func:`label_layout`) sit outside the domain, beside the rim point in their
direction (Gaussian: a dotted leader runs from the mode to it), spread apart so that no two
overlap on a wheel as small as :data:`MIN_SCALE` pixels per unit, in dark text of at least
:data:`MIN_CONTRAST` contrast on white. ``layout.meta.margin`` says how many pixels they need
beyond the domain on each axis, so that a page can size the axes to fit them.

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
"""Name of the trace that marks ``wheel_figure``'s point (the app draws its own marker over the plot)."""
HOVER = "mix"
"""Name of the invisible heatmap trace that carries the hover texts."""
WHEEL_KINDS = ("linear", "gaussian")
HOVER_GRID = 41
BACKGROUND_PX = 256
RINGS = (0.25, 0.5, 0.75)
MIN_SHOWN = 0.01
LABEL_FONT_PX = 13
LABEL_GAP_PX = 14
"""From the domain's edge to a label: clear of a marker (17 px across) on the edge."""
MIN_SCALE = 80.0
"""Pixels per unit of the smallest wheel the labels are spread for (a phone)."""
MIN_CONTRAST = 4.5


def _check_2d(space: Space) -> None:
    if space.kind not in WHEEL_KINDS:
        raise ValueError(f"a {space.kind} space has no 2-D wheel; only linear and Gaussian spaces do")


def _rgb(hex_color: str) -> np.ndarray:
    h = hex_color.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


PALETTE = np.stack([_rgb(c) for c in COLORS])


def _luminance(rgb: np.ndarray) -> float:
    c = np.asarray(rgb, dtype=np.float64) / 255
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(c @ [0.2126, 0.7152, 0.0722])


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two '#rrggbb' colours (1 to 21)."""
    la, lb = sorted((_luminance(_rgb(a)), _luminance(_rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color(color: str, background: str = "#ffffff", ratio: float = MIN_CONTRAST) -> str:
    """``color`` darkened just enough to reach ``ratio`` contrast on ``background``."""
    rgb = _rgb(color)
    for k in np.linspace(1.0, 0.0, 101):
        out = "#" + "".join(f"{int(round(v)):02x}" for v in rgb * k)
        if contrast(out, background) >= ratio:
            return out
    return "#000000"


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


def _edge_point(kind: str, theta: float) -> np.ndarray:
    """Where the ray from the origin at angle ``theta`` leaves the domain."""
    d = np.array([math.cos(theta), math.sin(theta)])
    return d if kind == "linear" else d / np.abs(d).max()


def _label_box(kind: str, theta: float, text: str, scale: float) -> tuple[np.ndarray, tuple[str, str], np.ndarray]:
    """(the label's anchor point, plotly's (xanchor, yanchor), its box [x0, y0, x1, y1]) in data
    units at ``scale`` pixels per unit: the box starts LABEL_GAP_PX outside the edge point and grows outwards."""
    c, s = math.cos(theta), math.sin(theta)
    anchor = _edge_point(kind, theta) + LABEL_GAP_PX / scale * np.array([c, s])
    xa = "left" if c > 0.38 else "right" if c < -0.38 else "center"
    ya = "bottom" if s > 0.38 else "top" if s < -0.38 else "middle"
    w = (0.62 * LABEL_FONT_PX * len(text) + 10) / scale
    h = (1.3 * LABEL_FONT_PX + 6) / scale
    x0 = anchor[0] - {"left": 0, "center": w / 2, "right": w}[xa]
    y0 = anchor[1] - {"bottom": 0, "middle": h / 2, "top": h}[ya]
    return anchor, (xa, ya), np.array([x0, y0, x0 + w, y0 + h])


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def label_layout(space: Space, scale: float = MIN_SCALE) -> list[dict]:
    """Where each emotion's label goes: one dict per labelled emotion (linear: the six
    directions; Gaussian: the seven modes) with ``emotion``, ``target`` (the direction's rim point
    or the mode), ``theta`` (the label's angle, moved from the target's as little as keeps the
    labels apart at ``scale`` pixels per unit), ``anchor``, ``xanchor``, ``yanchor`` and ``box``."""
    _check_2d(space)
    if space.kind == "linear":
        emotions = list(range(1, len(EMOTIONS)))
        targets = space.directions().detach().cpu().double().numpy()
    else:
        emotions = list(range(len(EMOTIONS)))
        targets = space.means().detach().cpu().double().numpy()
    theta = np.array([math.atan2(y, x) if math.hypot(x, y) > 1e-6 else -math.pi / 2 for x, y in targets])
    names = [EMOTIONS[e] for e in emotions]
    step = math.radians(0.5)
    for _ in range(2000):  # push overlapping neighbours apart, half a degree at a time
        boxes = [_label_box(space.kind, t, n, scale)[2] for t, n in zip(theta, names)]
        moved = False
        for i in range(len(theta)):
            for j in range(i + 1, len(theta)):
                if _overlap(boxes[i], boxes[j]):
                    d = math.remainder(theta[j] - theta[i], 2 * math.pi)
                    sign = 1.0 if d >= 0 else -1.0
                    theta[i] -= sign * step
                    theta[j] += sign * step
                    moved = True
        if not moved:
            break
    out = []
    for e, t, n, target in zip(emotions, theta, names, targets):
        anchor, (xa, ya), box = _label_box(space.kind, float(t), n, scale)
        out.append(dict(emotion=n, color=COLORS[e], target=target, theta=float(t), anchor=anchor,
                        xanchor=xa, yanchor=ya, box=box))
    return out


def _label_annotations(labels: list[dict]) -> list[dict]:
    """Plotly annotations of :func:`label_layout`: dark text on white, framed in the emotion's colour."""
    return [dict(
        x=float(lab["anchor"][0]), y=float(lab["anchor"][1]), xref="x", yref="y", showarrow=False,
        text=f"<b>{lab['emotion']}</b>", xanchor=lab["xanchor"], yanchor=lab["yanchor"], name=f"label {lab['emotion']}",
        font=dict(size=LABEL_FONT_PX, color=text_color(lab["color"])), bgcolor="rgba(255,255,255,0.92)",
        bordercolor=lab["color"], borderwidth=1.5, borderpad=2,
    ) for lab in labels]


def _label_margin(labels: list[dict], scale: float = MIN_SCALE) -> dict[str, int]:
    """Pixels the labels reach beyond the domain's half-width 1, per axis (at least 8)."""
    box = np.array([lab["box"] for lab in labels])
    x = max(8.0, (np.abs(box[:, [0, 2]]).max() - 1) * scale)
    y = max(8.0, (np.abs(box[:, [1, 3]]).max() - 1) * scale)
    return {"x": int(math.ceil(x)), "y": int(math.ceil(y))}


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
            x=[0.0, dx], y=[0.0, dy], mode="lines+markers", name=EMOTIONS[c], line=dict(color=COLORS[c], width=3),
            marker=dict(size=[0, 9], color=COLORS[c], line=dict(width=1, color="#222")),
            hovertemplate=f"<b>{EMOTIONS[c]}</b> direction, θ = {deg:.0f}°<extra></extra>",
        ))
    traces.append(go.Scatter(
        x=[0.0], y=[0.0], mode="markers+text", name=EMOTIONS[NEUTRAL], text=[f"<b>{EMOTIONS[NEUTRAL]}</b>"],
        textposition="bottom center", textfont=dict(size=12, color="#333"),
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
    for lab in label_layout(space):
        edge = _edge_point("gaussian", lab["theta"])
        traces.append(go.Scatter(
            x=[lab["target"][0], edge[0]], y=[lab["target"][1], edge[1]], mode="lines", name=f"{lab['emotion']} leader",
            hoverinfo="skip", line=dict(color=text_color(lab["color"], ratio=3.0), width=1, dash="dot"),
        ))
    for c, mu in enumerate(means):
        traces.append(go.Scatter(
            x=[mu[0]], y=[mu[1]], mode="markers", name=EMOTIONS[c],
            marker=dict(size=10, color=COLORS[c], line=dict(width=1, color="#222")),
            hovertemplate=f"<b>{EMOTIONS[c]}</b> mode, μ = ({mu[0]:+.2f}, {mu[1]:+.2f})<extra></extra>",
        ))
    return traces


def wheel_figure(space: Space, point: Sequence[float] | None = None, height: int | None = None) -> "go.Figure":
    """The clickable wheel of a linear or Gaussian space, with a marker at ``point`` (none if None).

    Axes are fixed (no zoom or pan, equal scale) and ``layout.clickanywhere`` is on, so a click on
    empty space fires ``plotly_click``. Without ``height`` the figure takes its container's size;
    the axis ranges fit the labels on a square plot of ``MIN_SCALE`` pixels per unit, and a page
    may widen them to its own size with ``layout.meta.margin`` (pixels the labels need beyond
    the domain on each axis).
    """
    import plotly.graph_objects as go

    _check_2d(space)
    labels = label_layout(space)
    margin = _label_margin(labels)
    lim = 1 + max(margin.values()) / MIN_SCALE
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
        hoverlabel=dict(bgcolor="white", font_size=13), meta=dict(kind=space.kind, margin=margin, font=LABEL_FONT_PX),
        annotations=_label_annotations(labels),
        images=[dict(source=_png_data_uri(background_rgba(space)), xref="x", yref="y", x=-1, y=1, sizex=2, sizey=2,
                     sizing="stretch", layer="below")],
    )
    return fig


def figure_json(fig: "go.Figure") -> str:
    """JSON of a figure plus the plotly.js config the app uses (static axes, no mode bar)."""
    spec = json.loads(fig.to_json())
    spec["config"] = {"displayModeBar": False, "responsive": True, "scrollZoom": False, "doubleClick": False}
    return json.dumps(spec, separators=(",", ":"))


# --------------------------------------------------------------------------- paths
