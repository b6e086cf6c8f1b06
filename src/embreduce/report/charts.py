"""Plotly figures for the study report: distributions of cosine similarity and metric curves.

Every figure here is plain Plotly, built from numbers the study already wrote, so the same
function draws the interactive report and the ``--static`` images. Labels reaching a
figure are escaped by the caller (:func:`embreduce.report.page.escape_label`).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike, NDArray
from plotly.subplots import make_subplots

# Okabe & Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#000000",
    "#F0E442",
)
ORIGINAL_COLOR = "#4D4D4D"
REDUCED_COLOR = "#E69F00"
DIFF_COLOR = "#0072B2"
LIMIT_COLOR = "#000000"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

ChartKind = Literal["base", "diff", "both"]
CHART_KINDS: tuple[ChartKind, ...] = ("base", "diff", "both")
CHART_TITLES = {
    "base": "Pairwise cosine similarity",
    "diff": "Difference of cosine similarity",
    "both": "Similarities and their difference",
}


def house_template() -> go.layout.Template:
    """The layout every embreduce figure starts from: white, readable, colour-blind safe."""
    template = go.layout.Template()
    template.layout = go.Layout(
        font={"family": FONT, "size": 13, "color": "#222"},
        colorway=list(PALETTE),
        paper_bgcolor="white",
        plot_bgcolor="white",
        hoverlabel={"font": {"family": FONT}, "align": "left"},
        xaxis={"showline": True, "linecolor": "#888", "gridcolor": "#eee", "zeroline": False},
        yaxis={"showline": True, "linecolor": "#888", "gridcolor": "#eee", "zeroline": False},
        legend={"bgcolor": "rgba(255,255,255,0.8)"},
    )
    return template


def histogram_density(
    counts: ArrayLike, edges: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Turn histogram counts into (bin centres, probability density).

    Densities, unlike counts, compare across samples of different sizes and across the
    narrower bins of the difference histogram.
    """
    counts = np.asarray(counts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if len(edges) != len(counts) + 1:
        raise ValueError(f"{len(counts)} histogram counts need {len(counts) + 1} edges")
    widths = np.diff(edges)
    total = counts.sum()
    density = counts / (total * widths) if total > 0 else np.zeros_like(counts)
    return (edges[:-1] + edges[1:]) / 2, density


def populated_range(
    hists: Sequence[tuple[ArrayLike, ArrayLike]], *, tail: float = 5e-4
) -> tuple[float, float]:
    """The x-range that holds all but ``tail`` of every histogram's mass, padded a little."""
    lows, highs = [], []
    for counts, edges in hists:
        counts = np.asarray(counts, dtype=np.float64)
        edges = np.asarray(edges, dtype=np.float64)
        if counts.sum() <= 0:
            continue
        cdf = np.cumsum(counts) / counts.sum()
        lows.append(edges[int(np.searchsorted(cdf, tail))])
        highs.append(edges[int(np.searchsorted(cdf, 1 - tail)) + 1])
    if not lows:
        return -1.0, 1.0
    lo, hi = min(lows), max(highs)
    pad = max(0.02, 0.06 * (hi - lo))
    return max(-1.0, lo - pad), min(1.0, hi + pad)


@dataclass(frozen=True)
class TraceSpec:
    """What one density trace of a distribution chart shows."""

    counts: Any
    edges: Any
    name: str
    color: str
    opacity: float = 0.3

    def same(self, other: TraceSpec) -> bool:
        """True when both draw the same trace."""
        if (self.name, self.color, self.opacity) != (other.name, other.color, other.opacity):
            return False
        return np.array_equal(self.counts, other.counts) and np.array_equal(self.edges, other.edges)


def distribution_traces(
    kind: ChartKind,
    *,
    cos_edges: ArrayLike,
    diff_edges: ArrayLike,
    original_hist: ArrayLike,
    reduced_hist: ArrayLike,
    diff_hist: ArrayLike,
    original_label: str,
    reduced_label: str,
) -> list[TraceSpec]:
    """The traces of :func:`distribution_figure`, as data (no plotly objects)."""
    if kind not in CHART_KINDS:
        raise ValueError(f"kind must be one of {CHART_KINDS}, got {kind!r}")
    specs = []
    if kind in ("base", "both"):
        specs.append(TraceSpec(original_hist, cos_edges, original_label, ORIGINAL_COLOR))
        specs.append(TraceSpec(reduced_hist, cos_edges, reduced_label, REDUCED_COLOR))
    if kind in ("diff", "both"):
        name = f"difference: original − {reduced_label}"
        specs.append(TraceSpec(diff_hist, diff_edges, name, DIFF_COLOR, 0.25))
    return specs


def density_patch(spec: TraceSpec) -> dict[str, Any]:
    """A trace's ``y`` (float32 typed array), ``name`` and ``hovertemplate`` as the page
    patches them into a chart of the same kind (see ``study_report.figure_patch``)."""
    _, y = histogram_density(spec.counts, spec.edges)
    y32 = np.round(y, 5).astype("<f4")
    return {
        "y": {"dtype": "f4", "bdata": base64.b64encode(y32.tobytes()).decode("ascii")},
        "name": spec.name,
        "hovertemplate": _hover(spec.name),
    }


def _hover(name: str) -> str:
    return f"{name}<br>cos %{{x:.3f}}: density %{{y:.3f}}<extra></extra>"


def _density_trace(
    counts: ArrayLike, edges: ArrayLike, *, name: str, color: str, opacity: float = 0.3
) -> go.Scatter:
    x, y = histogram_density(counts, edges)
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return go.Scatter(
        x=np.round(x, 5),
        y=np.round(y, 5),
        name=name,
        mode="lines",
        line={"shape": "hvh", "width": 1.6, "color": color},
        fill="tozeroy",
        fillcolor=f"rgba({r},{g},{b},{opacity})",
        hovertemplate=_hover(name),
    )


def distribution_figure(
    kind: ChartKind,
    *,
    cos_edges: ArrayLike,
    diff_edges: ArrayLike,
    original_hist: ArrayLike,
    reduced_hist: ArrayLike,
    diff_hist: ArrayLike,
    original_label: str,
    reduced_label: str,
    subtitle: str = "",
) -> go.Figure:
    """One of the study's three charts for one candidate.

    Parameters
    ----------
    kind : {"base", "diff", "both"}
        ``base``: pairwise cosine similarity of the original vectors and of the reduced
        ones; ``diff``: ``cos_original - cos_reduced``; ``both``: all three at once.
    cos_edges, diff_edges : array-like
        Histogram edges, as the study wrote them.
    original_hist, reduced_hist, diff_hist : array-like of int
        Histogram counts over those edges.
    original_label, reduced_label : str
        Escaped names of the two vector sets, e.g. ``"original 384-d"``, ``"PCA 64-d"``.
    subtitle : str
        Escaped line under the title (the split, the numbers of pairs, key statistics).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    specs = distribution_traces(
        kind,
        cos_edges=cos_edges,
        diff_edges=diff_edges,
        original_hist=original_hist,
        reduced_hist=reduced_hist,
        diff_hist=diff_hist,
        original_label=original_label,
        reduced_label=reduced_label,
    )
    traces = [_density_trace(s.counts, s.edges, name=s.name, color=s.color, opacity=s.opacity)
              for s in specs]  # fmt: skip
    ranges = [(s.counts, s.edges) for s in specs]
    x_title = {
        "base": "pairwise cosine similarity",
        "diff": "cos_original − cos_reduced",
        "both": "cosine similarity, or its difference",
    }[kind]
    fig = go.Figure(traces)
    fig.update_layout(
        template=house_template(),
        title={"text": CHART_TITLES[kind], "subtitle": {"text": subtitle}, "x": 0.01},
        xaxis={"title": {"text": x_title}, "range": populated_range(ranges)},
        yaxis={"title": {"text": "density"}, "rangemode": "tozero"},
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom"},
        margin={"l": 64, "r": 24, "t": 110, "b": 56},
        hovermode="closest",
    )
    if kind in ("diff", "both"):
        fig.add_vline(x=0, line={"color": "#888", "width": 1, "dash": "dot"})
    return fig


def curve_metrics(k: int = 10) -> tuple[tuple[str, str], ...]:
    """The ``(results column, panel title)`` pairs of the metric curves, for recall@``k``."""
    return (
        ("mse", "MSE of cosine similarity<br>(lower is better)"),
        ("std", "std of the difference<br>(lower is better)"),
        (f"recall_at_{k}", f"recall@{k}<br>(higher is better)"),
    )


CURVE_METRICS = curve_metrics(10)


def metric_curves_figure(
    rows: Sequence[dict[str, Any]],
    *,
    methods: Sequence[str],
    labels: dict[str, str],
    recommended: tuple[str, int] | None = None,
    subtitle: str = "",
    k: int = 10,
) -> go.Figure:
    """Metric against dimension, one line per method, the ``limit`` rows dashed.

    Parameters
    ----------
    rows : sequence of dict
        Result rows of one split, with ``method``, ``dim`` and the metrics in
        :func:`curve_metrics`.
    methods : sequence of str
        The methods to draw, in legend order; ``"limit"`` is drawn as a reference.
    labels : dict
        Escaped display name per method.
    recommended : (method, dim), optional
        Marked with a star on every panel.
    subtitle : str
        Escaped line under the title.
    k : int
        The study's neighbours: which recall column to draw.
    """
    metrics = curve_metrics(k)
    fig = make_subplots(
        rows=1,
        cols=len(metrics),
        subplot_titles=[title for _, title in metrics],
        horizontal_spacing=0.08,
    )
    dims = sorted({int(r["dim"]) for r in rows})
    for m_index, method in enumerate(methods):
        mine = sorted((r for r in rows if r["method"] == method), key=lambda r: int(r["dim"]))
        if not mine:
            continue
        is_limit = method == "limit"
        color = LIMIT_COLOR if is_limit else PALETTE[m_index % (len(PALETTE) - 2)]
        for col, (metric, _) in enumerate(metrics, start=1):
            values = [finite_number(r.get(metric)) for r in mine]
            fig.add_trace(
                go.Scatter(
                    x=[int(r["dim"]) for r in mine],
                    y=values,
                    name=labels.get(method, method),
                    legendgroup=method,
                    showlegend=col == 1,
                    mode="lines+markers",
                    line={"color": color, "width": 2, "dash": "dash" if is_limit else "solid"},
                    marker={"size": 7, "symbol": "diamond-open" if is_limit else "circle"},
                    hovertemplate=(
                        f"{labels.get(method, method)} %{{x}}-d<br>{metric}: %{{y:.4g}}"
                        "<extra></extra>"
                    ),
                ),
                row=1,
                col=col,
            )
    if recommended is not None:
        _mark_recommended(fig, rows, recommended, metrics)
    fig.update_xaxes(
        type="log",
        tickvals=dims,
        ticktext=[str(d) for d in dims],
        title={"text": "dimension"},
    )
    return _panels_layout(fig, "Metrics by dimension", subtitle)


def _panels_layout(fig: go.Figure, title: str, subtitle: str) -> go.Figure:
    """The house layout of a row of metric panels with the legend on the right."""
    fig.update_layout(
        template=house_template(),
        title={"text": title, "subtitle": {"text": subtitle}, "x": 0.01},
        legend={"x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
        margin={"l": 56, "r": 24, "t": 128, "b": 60},
        hovermode="closest",
    )
    fig.update_annotations(font={"size": 13})
    return fig


def _mark_recommended(
    fig: go.Figure,
    rows: Sequence[dict[str, Any]],
    recommended: tuple[str, int],
    metrics: Sequence[tuple[str, str]],
) -> None:
    method, dim = recommended
    row = next((r for r in rows if r["method"] == method and int(r["dim"]) == dim), None)
    if row is None:
        return
    for col, (metric, _) in enumerate(metrics, start=1):
        fig.add_trace(
            go.Scatter(
                x=[dim],
                y=[finite_number(row.get(metric))],
                name="recommended",
                legendgroup="recommended",
                showlegend=col == 1,
                mode="markers",
                marker={"symbol": "star", "size": 16, "color": "#D55E00", "line": {"width": 1}},
                hovertemplate=f"recommended<br>{metric}: %{{y:.4g}}<extra></extra>",
            ),
            row=1,
            col=col,
        )


def finite_number(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, not a number, NaN or infinite."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


# ----------------------------------------------------------------------------- sentence maps

MAP_PALETTE = PALETTE[:6] + ("#999999", "#882255", "#44AA99", "#332288", "#DDCC77", "#AA4499")
"""Colours for categories: Okabe & Ito first, then Tol's muted set; they cycle beyond 12."""


def pareto_front(
    points: Sequence[tuple[float, float]], *, higher_is_better: bool = True
) -> list[int]:
    """Indices of the points no other point beats at the same or a smaller size.

    ``points`` are ``(size, quality)``; the front is returned by increasing size.

    Examples
    --------
    >>> pareto_front([(8, 0.5), (16, 0.4), (32, 0.9), (4, 0.1)])
    [3, 0, 2]
    """
    order = sorted(
        range(len(points)), key=lambda i: (points[i][0], -_sign(higher_is_better) * points[i][1])
    )
    front, best = [], -math.inf
    for i in order:
        value = _sign(higher_is_better) * points[i][1]
        if value > best:
            front.append(i)
            best = value
    return front


def _sign(higher_is_better: bool) -> int:
    return 1 if higher_is_better else -1


def bytes_figure(
    rows: Sequence[dict[str, Any]],
    *,
    metrics: Sequence[tuple[str, str]],
    labels: dict[str, str],
    recommended: dict[str, Any] | None = None,
    subtitle: str = "",
) -> go.Figure:
    """Quality against bytes a vector (log x): every candidate a point, the front joined.

    Parameters
    ----------
    rows : sequence of dict
        Result rows of one split with ``method``, ``dim``, ``bits``, ``bytes`` and the
        ``metrics``.
    metrics : sequence of (column, title)
        One panel each; a column named ``std`` is lower-is-better, the others higher.
    labels : dict
        Escaped display name per method.
    recommended : dict, optional
        The recommended row, starred on every panel.
    subtitle : str
        Escaped line under the title.
    """
    fig = make_subplots(
        rows=1, cols=len(metrics), subplot_titles=[t for _, t in metrics], horizontal_spacing=0.08
    )
    methods = list(dict.fromkeys(r["method"] for r in rows))
    for col, (metric, _) in enumerate(metrics, start=1):
        usable = [r for r in rows if finite_number(r.get(metric)) is not None]
        for m_index, method in enumerate(methods):
            mine = [r for r in usable if r["method"] == method]
            if mine:
                fig.add_trace(
                    _bytes_points(
                        mine,
                        metric,
                        labels.get(method, method),
                        PALETTE[m_index % len(PALETTE)],
                        col == 1,
                    ),
                    row=1,
                    col=col,
                )
        higher = metric != "std"
        front = [
            usable[i]
            for i in pareto_front(
                [(float(r["bytes"]), float(r[metric])) for r in usable], higher_is_better=higher
            )
        ]
        fig.add_trace(
            go.Scatter(
                x=[r["bytes"] for r in front],
                y=[r[metric] for r in front],
                mode="lines",
                name="best at each size",
                legendgroup="front",
                showlegend=col == 1,
                line={"color": "#444", "width": 1.5, "dash": "dot", "shape": "hv"},
                hoverinfo="skip",
            ),
            row=1,
            col=col,
        )
        if recommended is not None and finite_number(recommended.get(metric)) is not None:
            fig.add_trace(
                go.Scatter(
                    x=[recommended["bytes"]],
                    y=[recommended[metric]],
                    mode="markers",
                    name="recommended",
                    legendgroup="recommended",
                    showlegend=col == 1,
                    marker={"symbol": "star", "size": 18, "color": "#D55E00", "line": {"width": 1}},
                    hovertemplate="recommended<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(type="log", title={"text": "bytes a vector"})
    return _panels_layout(fig, "Quality against bytes a vector", subtitle)


def _bytes_points(
    rows: Sequence[dict[str, Any]], metric: str, label: str, color: str, legend: bool
) -> go.Scatter:
    return go.Scatter(
        x=[r["bytes"] for r in rows],
        y=[r[metric] for r in rows],
        customdata=[[int(r["dim"]), float(r["bits"])] for r in rows],
        name=label,
        legendgroup=label,
        showlegend=legend,
        mode="markers",
        marker={"color": color, "size": 8, "opacity": 0.85},
        hovertemplate=(
            f"{label}-%{{customdata[0]}} at %{{customdata[1]:.3g}} bits<br>%{{x:,}} bytes"
            f"<br>{metric}: %{{y:.4g}}<extra></extra>"
        ),
    )
