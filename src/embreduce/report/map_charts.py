"""The figures of a map page: one scatter a layout, and the labelled similarity heatmap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray

from embreduce.report.charts import MAP_PALETTE, house_template


def marker_size(n: int) -> int:
    """Point size that keeps ``n`` points readable without hiding each other."""
    return 10 if n <= 100 else 7 if n <= 2_000 else 4 if n <= 20_000 else 2


def _map_trace(
    coords: NDArray[np.float32],
    g_index: int,
    name: str,
    idx: NDArray[np.int64],
    legend: bool,
    point_labels: Sequence[str] | None,
    color_values: NDArray[np.floating] | None,
    color_title: str,
    webgl: bool,
) -> Any:
    """One group's trace of :func:`scatter_map_figure`."""
    n, dims = coords.shape
    three_d = dims == 3
    size = marker_size(n)
    marker: dict[str, Any] = {"size": size if not three_d else max(2, size - 4)}
    if color_values is not None:
        marker.update(
            color=np.asarray(color_values)[idx],
            colorscale="Viridis",
            showscale=True,
            colorbar={"title": {"text": color_title}, "thickness": 14},
        )
    else:
        marker["color"] = MAP_PALETTE[g_index % len(MAP_PALETTE)]
    if n > 2_000:
        marker["opacity"] = 0.7
    common: dict[str, Any] = {
        "name": name,
        "marker": marker,
        "hovertemplate": "%{hovertext}<extra></extra>",
        "showlegend": legend,
    }
    if point_labels is not None:
        common.update(
            mode="markers+text",
            text=[point_labels[i] for i in idx],
            textposition="top center" if three_d else _inward(coords[idx, 0], coords[:, 0]),
            textfont={"size": 11, "color": "#333"},
        )
    else:
        common["mode"] = "markers"
    if three_d:
        return go.Scatter3d(x=coords[idx, 0], y=coords[idx, 1], z=coords[idx, 2], **common)
    else:
        cls = go.Scattergl if webgl else go.Scatter
        if not webgl and point_labels is not None:
            common["cliponaxis"] = False
        return cls(x=coords[idx, 0], y=coords[idx, 1], **common)


def scatter_map_figure(
    coords: NDArray[np.floating],
    groups: Sequence[tuple[str, NDArray[np.int64]]],
    *,
    title: str,
    subtitle: str = "",
    axis_name: str,
    point_labels: Sequence[str] | None = None,
    color_values: NDArray[np.floating] | None = None,
    color_title: str = "",
    webgl: bool = False,
) -> go.Figure:
    """A 2-D or 3-D scatter of one reduction, one trace per group of points.

    Parameters
    ----------
    coords : ndarray of shape (n, 2) or (n, 3)
    groups : sequence of (name, row indices)
        One trace each (a legend entry when there are several); names are escaped.
    title, subtitle : str
        Escaped.
    axis_name : str
        Axes are titled ``"<axis_name> 1"``, ``"<axis_name> 2"``...
    point_labels : sequence of str, optional
        Escaped short labels drawn beside each point (small maps only).
    color_values : ndarray of shape (n,), optional
        A number per point, drawn with a colour scale (one group only).
    color_title : str
        Escaped colour-bar title.
    webgl : bool
        Draw 2-D maps with WebGL (``scattergl``), for many points.

    Returns
    -------
    plotly.graph_objects.Figure
        Hover text is left empty: the page fills it from data it holds once.
    """
    coords = np.asarray(coords, dtype=np.float32)
    n, dims = coords.shape
    three_d = dims == 3
    traces = [
        _map_trace(
            coords,
            g_index,
            name,
            idx,
            len(groups) > 1,
            point_labels,
            color_values,
            color_title,
            webgl,
        )  # fmt: skip
        for g_index, (name, idx) in enumerate(groups)
    ]
    fig = go.Figure(traces)
    axis_titles = [f"{axis_name} {i}" for i in range(1, dims + 1)]
    fig.update_layout(
        template=house_template(),
        title={"text": title, "subtitle": {"text": subtitle}, "x": 0.02},
        margin={"l": 56, "r": 24, "t": 88, "b": 52},
        legend={
            "orientation": "h",
            "itemsizing": "constant",  # readable legend symbols even for tiny points
            "x": 0,
            "xanchor": "left",
            "yref": "container",
            "y": 0,
            "yanchor": "bottom",
        },
        hovermode="closest",
        hoverlabel={"bgcolor": "white"},
    )
    if three_d:
        fig.update_layout(
            scene={
                "xaxis": {"title": {"text": axis_titles[0]}},
                "yaxis": {"title": {"text": axis_titles[1]}},
                "zaxis": {"title": {"text": axis_titles[2]}},
                # A step back from Plotly's default view keeps the tick labels in the box.
                "camera": {"eye": {"x": 1.55, "y": 1.55, "z": 1.15}},
            },
            margin={"l": 0, "r": 0, "t": 88, "b": 0},
        )
    else:
        pad = 0.08 if point_labels is not None else 0.04
        fig.update_xaxes(title={"text": axis_titles[0]}, range=_padded(coords[:, 0], pad))
        fig.update_yaxes(title={"text": axis_titles[1]}, range=_padded(coords[:, 1], pad / 2))
        if len(groups) > 1:
            fig.update_layout(margin={"b": 104})
    return fig


def _inward(x: NDArray[np.floating], all_x: NDArray[np.floating]) -> list[str]:
    """Label positions that run towards the middle, so labels stay inside the plot."""
    middle = (float(np.min(all_x)) + float(np.max(all_x))) / 2
    return ["top right" if value < middle else "top left" for value in x]


def _padded(values: NDArray[np.floating], pad: float) -> list[float]:
    lo, hi = float(np.min(values)), float(np.max(values))
    span = hi - lo or 1.0
    return [lo - pad * span, hi + pad * span]


def similarity_heatmap_figure(
    similarities: NDArray[np.floating], labels: Sequence[str], *, short_labels: Sequence[str]
) -> go.Figure:
    """The cosine-similarity matrix of a few items, labelled on both axes.

    Parameters
    ----------
    similarities : ndarray of shape (n, n)
    labels : sequence of str
        Escaped full labels, for hover.
    short_labels : sequence of str
        Escaped shortened labels, for the ticks.
    """
    S = np.asarray(similarities, dtype=np.float64)
    n = len(S)
    off = S[~np.eye(n, dtype=bool)] if n > 1 else S.ravel()
    hover = [
        [f"{labels[i]}<br>{labels[j]}<br>cosine {S[i, j]:.3f}" for j in range(n)] for i in range(n)
    ]
    ticks = {"tickmode": "array", "tickvals": list(range(n)), "ticktext": list(short_labels)}
    cell = 60 if n <= 8 else 36 if n <= 20 else 18
    fig = go.Figure(
        go.Heatmap(
            z=np.round(S, 4),
            x=list(range(n)),
            y=list(range(n)),
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            colorscale="Viridis",
            zmin=float(off.min()),
            zmax=1.0,
            colorbar={"title": {"text": "cosine"}, "thickness": 14},
            texttemplate="%{z:.2f}" if n <= 16 else None,
            xgap=1,
            ygap=1,
        )
    )
    fig.update_layout(
        template=house_template(),
        title={"text": "Cosine similarity in the original space", "x": 0.01},
        xaxis={**ticks, "tickangle": -45, "showgrid": False, "automargin": True},
        yaxis={
            **ticks,
            "autorange": "reversed",
            "showgrid": False,
            "automargin": True,
            "scaleanchor": "x",  # square cells
            "constrain": "domain",
        },
        xaxis_constrain="domain",
        margin={"l": 40, "r": 24, "t": 60, "b": 40},
        # Sized to the cells, so the colour bar sits beside the matrix, not across the page.
        height=220 + n * cell,
        width=min(1240, 420 + n * cell),
        font={"size": 12 if n <= 20 else 10},
    )
    return fig
