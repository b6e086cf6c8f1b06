"""Sentence maps: every point of a set of embeddings, placed by PCA, t-SNE or UMAP.

``write_map`` does in one call what the usual notebook does in a dozen cells: reduce the
vectors with each method, colour the points by a metadata column or by k-means clusters,
and write one offline page with a scatter per method. Hovering a point lists its nearest
neighbours in the *original* space, and each title gives the map's trustworthiness, so
a reader can see when the picture is lying.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from embreduce.exceptions import InputError
from embreduce.maps import (
    TRUST_MAX_ROWS,
    SentenceMap,
    cluster_labels,
    compute_maps,
    map_neighbours,
    nearest_neighbours,
)
from embreduce.outputs import check_output_file
from embreduce.progress import progress_bar
from embreduce.report.map_charts import scatter_map_figure, similarity_heatmap_figure
from embreduce.report.names import method_name
from embreduce.report.page import (
    escape_label,
    figure_json,
    notes_section,
    render_page,
    write_page,
)
from embreduce.validation import check_vectors

LABEL_MAX_POINTS = {2: 12, 3: 8}
"""Up to this many points (per map dimension), texts are written beside the points;
above, on hover only."""
HEATMAP_MAX_POINTS = 50
"""Up to this many points, the page also shows the labelled cosine-similarity matrix."""
WEBGL_MIN_POINTS = 5_000
"""From this many points, 2-D maps are drawn with WebGL."""
MAX_CATEGORIES = 30
"""A numeric colour column with more distinct values than this gets a colour scale."""
HOVER_CHARS = 90
TICK_CHARS = 32
POINT_LABEL_CHARS = 28


@dataclass
class Colouring:
    """How points are coloured: groups (one trace each) or a colour scale."""

    groups: list[tuple[str, NDArray[np.int64]]]
    values: NDArray[np.float64] | None = None
    title: str = ""


def colouring(
    n: int,
    *,
    color_by: str | None,
    clusters: int | None,
    metadata: pd.DataFrame | None,
    X: NDArray[np.float32],
    seed: int,
    notes: list[str],
) -> Colouring:
    """Group the points by a metadata column or by k-means clusters (or not at all)."""
    everyone = [("all points", np.arange(n))]
    if color_by is not None and clusters is not None:
        raise InputError("colour by a column or by clusters, not both")
    if clusters is not None:
        if clusters < 1:
            raise InputError(f"--clusters must be at least 1, got {clusters}")
        if clusters > n:
            notes.append(f"{clusters} clusters asked for, {n} points: using {n}")
            clusters = n
        labels = cluster_labels(X, clusters, seed=seed)
        groups = [(f"cluster {c + 1}", np.flatnonzero(labels == c)) for c in range(clusters)]
        return Colouring([g for g in groups if len(g[1])], title="k-means cluster")
    if color_by is None:
        return Colouring(everyone)
    if metadata is None or color_by not in metadata.columns:
        have = ", ".join(map(str, metadata.columns)) if metadata is not None else "none"
        raise InputError(f"no metadata column '{color_by}' to colour by (columns: {have})")
    column = metadata[color_by].reset_index(drop=True)
    title = escape_label(color_by, max_chars=TICK_CHARS)
    if pd.api.types.is_numeric_dtype(column) and column.nunique() > MAX_CATEGORIES:
        values = column.to_numpy(dtype=np.float64)
        if np.isnan(values).any():
            notes.append(f"'{color_by}' has missing values: those points are grey")
        return Colouring(everyone, values=values, title=title)
    keys = column.astype(object).where(column.notna(), "(missing)").astype(str)
    groups = [
        (escape_label(key, max_chars=TICK_CHARS), np.flatnonzero((keys == key).to_numpy()))
        for key in sorted(keys.unique(), key=_natural)
    ]
    return Colouring(groups, title=title)


def _natural(key: str) -> tuple[int, float | str]:
    try:
        return 0, float(key)
    except ValueError:
        return 1, key


def _map_title(m: SentenceMap) -> tuple[str, str]:
    approx = "≈" if m.sampled_rows else ""
    margin = f" ± {m.margin:.3f}" if m.margin is not None else ""
    title = f"{method_name(m.method)} · trustworthiness {approx}{m.trustworthiness:.3f}{margin}"
    parts = [f"k={m.k}"]
    if m.sampled_rows:
        parts.append(f"estimated from {m.sampled_rows:,} rows")
    parts += [
        f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}"
        for key, value in m.params.items()
    ]
    parts.append(f"{m.seconds:.1f} s")
    return escape_label(title), escape_label(" · ".join(parts))


def map_data(
    X: NDArray[np.float32],
    labels: list[str],
    maps: list[SentenceMap],
    colour: Colouring,
    *,
    neighbours: tuple[NDArray[np.int64], NDArray[np.float32]] | None = None,
) -> dict[str, Any]:
    """What the map page's script needs: hover data (held once) and one figure per map.

    ``neighbours`` are the hover neighbours (:func:`map_neighbours`); default exact.
    """
    from embreduce.report.charts import house_template

    n = len(X)
    neighbours, sims = neighbours if neighbours is not None else nearest_neighbours(X)
    point_labels = (
        [escape_label(t, max_chars=POINT_LABEL_CHARS) for t in labels]
        if n <= LABEL_MAX_POINTS[maps[0].coords.shape[1]]
        else None
    )
    figures = []
    for m in maps:
        title, subtitle = _map_title(m)
        fig = scatter_map_figure(
            m.coords,
            colour.groups,
            title=title,
            subtitle=subtitle,
            axis_name=method_name(m.method),
            point_labels=point_labels,
            color_values=colour.values,
            color_title=colour.title,
            webgl=n >= WEBGL_MIN_POINTS,
        )
        figures.append({"id": f"map-{m.method}", "method": m.method, "figure": figure_json(fig)})
    single = len(colour.groups) == 1
    heatmap = None
    if n <= HEATMAP_MAX_POINTS:
        from embreduce.metrics.blocks import unit_rows

        U = unit_rows(X)
        heat = similarity_heatmap_figure(
            U @ U.T,
            [escape_label(t, max_chars=HOVER_CHARS) for t in labels],
            short_labels=[escape_label(t, max_chars=TICK_CHARS if n <= 20 else 20) for t in labels],
        )
        heatmap = figure_json(heat)
    return {
        "template": house_template().to_plotly_json(),
        "labels": [escape_label(t, max_chars=HOVER_CHARS) for t in labels],
        # compact: little-endian int32 indices and int16 cosines x 10,000, row-major
        "k": int(neighbours.shape[1]),
        "neighbours": _base64(neighbours.astype("<i4")),
        "sims": _base64(np.round(np.clip(sims, -1, 1) * 10_000).astype("<i2")),
        "groups": None if single else [g[1].tolist() for g in colour.groups],
        "maps": figures,
        "heatmap": heatmap,
    }


def _base64(array: NDArray[Any]) -> str:
    import base64

    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def write_map(
    vectors: ArrayLike,
    texts: Sequence[str] | None = None,
    *,
    methods: Sequence[str] = ("pca", "tsne", "umap"),
    dims: int = 2,
    color_by: str | None = None,
    clusters: int | None = None,
    output: str | os.PathLike[str] = "map.html",
    seed: int = 0,
    metadata: pd.DataFrame | None = None,
    title: str | None = None,
    overwrite: bool = False,
    show_progress: bool = False,
) -> Path:
    """Write an offline page with one interactive map of the vectors per method.

    Parameters
    ----------
    vectors : array-like of shape (n, d)
        The embeddings (at least 3).
    texts : sequence of str, optional
        One label per vector, shown beside the points (up to 12 points, 8 in 3-D), on
        hover, and in the similarity heatmap (up to 50 points). Default: row numbers.
    methods : sequence of str
        Reducers, one map each: ``pca``, ``tsne``, ``umap``, or any name of
        :func:`embreduce.reducers.available_reducers`.
    dims : {2, 3}
        2 for flat maps, 3 for rotatable 3-D scatters.
    color_by : str, optional
        A column of ``metadata`` to colour by: groups for labels and small integers, a
        colour scale for other numbers.
    clusters : int, optional
        Colour by this many k-means clusters of the original vectors instead.
    output : path-like
        The page to write (atomically).
    seed : int
        Seeds the reducers, the clustering and any sampling.
    metadata : pandas.DataFrame, optional
        One row per vector.
    title : str, optional
        Page title; default names the number of points.
    overwrite : bool
        Replace an existing file at ``output``, a page embreduce wrote included (without
        it such a file is refused). Checked before any work.
    show_progress : bool
        One progress bar for each stage: reducing, trustworthiness, neighbours, page.

    Returns
    -------
    pathlib.Path
        The page. Tiny inputs work: perplexity and ``n_neighbors`` are lowered to what
        the data allows, and the page says so in a note.

    Examples
    --------
    >>> import tempfile
    >>> X = np.random.default_rng(0).normal(size=(20, 8))
    >>> folder = tempfile.mkdtemp()
    >>> write_map(X, methods=["pca"], output=f"{folder}/map.html")
    PosixPath('.../map.html')
    """
    check_output_file(output, suffixes=(".html",), overwrite=overwrite)
    X = check_vectors(vectors, name="vectors", min_rows=3, allow_zero=False)
    n = len(X)
    labels = [str(t) for t in texts] if texts is not None else [f"row {i}" for i in range(n)]
    if len(labels) != n:
        raise InputError(f"{len(labels)} texts for {n} vectors")
    if metadata is not None and len(metadata) != n:
        raise InputError(f"{len(metadata)} metadata rows for {n} vectors")
    notes: list[str] = []
    colour = colouring(
        n, color_by=color_by, clusters=clusters, metadata=metadata, X=X, seed=seed, notes=notes
    )
    maps, map_notes = compute_maps(
        X, methods=methods, dims=dims, seed=seed, show_progress=show_progress
    )
    notes = map_notes + notes
    if n > LABEL_MAX_POINTS[dims]:
        notes.append(f"{n:,} points: texts are shown on hover only")
    with progress_bar("Neighbours", 1, enabled=show_progress) as bar:
        graph = next((m.graph for m in maps if m.graph is not None), None)
        idx, sims, note = map_neighbours(X, seed=seed, graph=graph)
        bar.advance(1)
    notes += [note] if note else []
    if maps[0].sampled_rows:
        notes.append(
            f"trustworthiness: estimated from {maps[0].sampled_rows:,} seeded rows above "
            f"{TRUST_MAX_ROWS:,} points (± is 1.96 standard errors)"
        )
    with progress_bar("Page", 1, enabled=show_progress) as bar:
        data = map_data(X, labels, maps, colour, neighbours=(idx, sims))
        bar.advance(1)
    page_title = title or f"Map of {n:,} embeddings"
    subtitle = [f"{n:,} vectors of {X.shape[1]} dimensions"]
    subtitle.append(", ".join(method_name(m) for m in dict.fromkeys(methods)))
    if color_by is not None:
        subtitle.append(f"colour: {color_by}")
    elif clusters is not None:
        subtitle.append(f"colour: {len(colour.groups)} k-means clusters")
    heatmap = (
        '<section class="card" id="similarity"><h2>Cosine similarity</h2>'
        '<div class="chart heatmap" id="heatmap"></div></section>'
    )
    text = render_page(
        "map.html",
        title=escape_label(page_title),
        subtitle=escape_label(" · ".join(subtitle)),
        data=data,
        script="map.js",
        slots={"notes": notes_section(notes), "heatmap": heatmap if data["heatmap"] else ""},
    )
    return write_page(output, text, overwrite=overwrite)
