"""Plotly figures of a learned 2-D space: the clickable emotion wheel; the emotion mix of a point.

plotly is imported inside the functions that build figures, so ``import ganmut`` never needs it.

The wheel (:func:`wheel_figure`) is drawn in the space's own coordinates (x to the right, y up),
so a click's data coordinates are the code to edit to. It draws whatever 2-D space it is given
from what the space says of itself (:mod:`ganmut.spaces`): the domain's outline, the background
tint of each point's mix (``Space.tint``), and the space's guides (``Space.guides``: linear,
the learned directions and intensity rings; Gaussian, the modes and their covariance ellipses).

Emotion labels (:func:`label_layout`) sit outside the domain, beside the edge point in the
direction of the guide they name (a dotted leader runs to it from a guide inside the domain),
spread apart so that no two overlap on a wheel as small as :data:`MIN_SCALE` pixels per unit, in
dark text of at least :data:`MIN_CONTRAST` contrast on white. ``layout.meta.margin`` says how
many pixels they need beyond the domain on each axis, so that a page can size the axes to fit them.

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

from .emotions import EMOTIONS
from .spaces import Guide, Space

if TYPE_CHECKING:
    import plotly.graph_objects as go

MARKER = "current"
"""Name of the trace that marks ``wheel_figure``'s point (the app draws its own marker over the plot)."""
HOVER = "mix"
"""Name of the invisible heatmap trace that carries the hover texts."""
HOVER_GRID = 41
BACKGROUND_PX = 256
MIN_SHOWN = 0.01
LABEL_FONT_PX = 13
LABEL_GAP_PX = 14
"""From the domain's edge to a label: clear of a marker (17 px across) on the edge."""
MIN_SCALE = 80.0
"""Pixels per unit of the smallest wheel the labels are spread for (a phone)."""
MIN_CONTRAST = 4.5


def _check_2d(space: Space) -> None:
    if space.dim != 2:
        raise ValueError(f"a {space.kind} space has no 2-D wheel; only 2-D spaces do")


def _rgb(hex_color: str) -> np.ndarray:
    h = hex_color.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


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
def _grid(n: int, extent: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """n cell centres along each axis of [-extent, extent] and the [n, n, 2] points (row 0 at the bottom)."""
    c = (np.arange(n) + 0.5) / n * 2 * extent - extent
    xx, yy = np.meshgrid(c, c)
    return c, np.stack([xx, yy], -1)


def mix_at(space: Space, z: Sequence[float]) -> np.ndarray:
    """The emotion mix (7 shares summing to 1) of one code."""
    return space.mix(np.asarray(z, dtype=np.float64).reshape(1, -1))[0]


def mix_text(p: Sequence[float], limit: int = 3) -> str:
    """'happy 62% · neutral 38%': the largest shares of a mix, at most ``limit``, those >= 1 %."""
    p = np.asarray(p, dtype=np.float64)
    order = [int(i) for i in np.argsort(-p, kind="stable")[:limit] if p[i] >= MIN_SHOWN]
    return " · ".join(f"{EMOTIONS[i]} {100 * p[i]:.0f}%" for i in order)


# --------------------------------------------------------------------------- background
def background_rgba(space: Space, size: int = BACKGROUND_PX) -> np.ndarray:
    """[size, size, 4] uint8 tint of [-1, 1]^2 (``Space.tint``), row 0 at the top (image order)."""
    _check_2d(space)
    _, xy = _grid(size)
    return (255 * space.tint(xy[::-1])).round().clip(0, 255).astype(np.uint8)  # image rows run downwards


def _png_data_uri(rgba: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# --------------------------------------------------------------------------- figures
def _hover_trace(space: Space, n: int = HOVER_GRID) -> "go.Heatmap":
    import plotly.graph_objects as go

    c, xy = _grid(n)
    p = space.mix(xy)
    inside = space.inside(xy)
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


def _label_box(edge: np.ndarray, theta: float, text: str, scale: float) -> tuple[np.ndarray, tuple[str, str], np.ndarray]:
    """(the label's anchor point, plotly's (xanchor, yanchor), its box [x0, y0, x1, y1]) in data units at
    ``scale`` pixels per unit: the box starts LABEL_GAP_PX outside ``edge``, the domain's edge point in
    direction ``theta``, and grows outwards."""
    c, s = math.cos(theta), math.sin(theta)
    anchor = edge + LABEL_GAP_PX / scale * np.array([c, s])
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
    """Where each emotion's label goes: one dict per labelled guide of the space (linear: the six
    directions; Gaussian: the seven modes) with ``emotion``, ``color``, ``target`` (the guide's
    last point: the direction's rim point or the mode), ``theta`` (the label's angle, moved from the
    target's as little as keeps the labels apart at ``scale`` pixels per unit), ``edge`` (the
    domain's edge point at that angle), ``anchor``, ``xanchor``, ``yanchor`` and ``box``."""
    _check_2d(space)
    marks = [g for g in space.guides() if g.label]
    targets = np.array([g.xy[-1] for g in marks], dtype=np.float64).reshape(-1, 2)
    theta = np.array([math.atan2(y, x) if math.hypot(x, y) > 1e-6 else -math.pi / 2 for x, y in targets])
    names = [g.name for g in marks]
    step = math.radians(0.5)
    for _ in range(2000):  # push overlapping neighbours apart, half a degree at a time
        boxes = [_label_box(e, t, n, scale)[2] for e, t, n in zip(space.edge(theta), theta, names)]
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
    for g, t, edge, target in zip(marks, theta, space.edge(theta), targets):
        anchor, (xa, ya), box = _label_box(edge, float(t), g.name, scale)
        out.append(dict(emotion=g.name, color=g.color, target=target, theta=float(t), edge=edge, anchor=anchor,
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
    box = np.array([lab["box"] for lab in labels]).reshape(-1, 4)
    x = max(8.0, (np.abs(box[:, [0, 2]]).max(initial=1.0) - 1) * scale)
    y = max(8.0, (np.abs(box[:, [1, 3]]).max(initial=1.0) - 1) * scale)
    return {"x": int(math.ceil(x)), "y": int(math.ceil(y))}


def _marker_trace(point: Sequence[float] | None) -> "go.Scatter":
    import plotly.graph_objects as go

    xs, ys = ([float(point[0])], [float(point[1])]) if point is not None else ([], [])
    return go.Scatter(
        x=xs, y=ys, name=MARKER, mode="markers", hoverinfo="skip",
        marker=dict(size=17, color="rgba(255,255,255,0.9)", symbol="circle-dot", line=dict(width=3, color="#111")),
    )


def _guide_trace(g: Guide) -> "go.Scatter":
    """A plotly trace of one guide of a space (see :class:`ganmut.spaces.Guide`)."""
    import plotly.graph_objects as go

    n = len(g.xy)
    mode = "+".join(m for m, on in (("lines", g.width > 0), ("markers", g.marker > 0), ("text", bool(g.text))) if on)
    x, y = np.round(g.xy, 6).T.tolist()  # plain JSON arrays, which the page reads back from the plot
    return go.Scatter(
        x=x, y=y, mode=mode, name=g.name, opacity=g.opacity,
        line=dict(color=g.color, width=g.width, dash=g.dash),
        marker=dict(size=[0] * (n - 1) + [g.marker], color=g.color, line=dict(width=1, color="#222")),
        text=[""] * (n - 1) + [g.text], textposition="bottom center" if g.marker else "middle center",
        textfont=dict(size=11, color="#333"),
        hoverinfo="skip" if not g.hover else None, hovertemplate=f"{g.hover}<extra></extra>" if g.hover else None,
    )


def _leader_traces(labels: list[dict]) -> list:
    """A dotted line from each label's target to its edge point, where the target is not already there."""
    import plotly.graph_objects as go

    return [go.Scatter(
        x=[lab["target"][0], lab["edge"][0]], y=[lab["target"][1], lab["edge"][1]], mode="lines", name=f"{lab['emotion']} leader",
        hoverinfo="skip", line=dict(color=text_color(lab["color"], ratio=3.0), width=1, dash="dot"),
    ) for lab in labels if np.hypot(*(lab["edge"] - lab["target"])) > 1e-3]


def wheel_figure(space: Space, point: Sequence[float] | None = None, height: int | None = None) -> "go.Figure":
    """The clickable wheel of a 2-D space, with a marker at ``point`` (none if None).

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
    outline = space.outline()
    traces = [_hover_trace(space), go.Scatter(x=outline[:, 0], y=outline[:, 1], mode="lines", name="boundary",
                                              hoverinfo="skip", line=dict(color="#333", width=2))]
    traces += _leader_traces(labels) + [_guide_trace(g) for g in space.guides()] + [_marker_trace(point)]
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

