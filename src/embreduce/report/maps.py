"""Sentence maps: every point of a set of embeddings, placed by PCA, t-SNE or UMAP.

``write_map`` does in one call what the usual notebook does in a dozen cells: reduce the
vectors with each method, colour the points by a metadata column or by k-means clusters,
and write one offline page with a scatter per method. Hovering a point lists its nearest
neighbours in the *original* space, and each title gives the map's trustworthiness, so
a reader can see when the picture is lying.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from embreduce.exceptions import InputError
from embreduce.outputs import check_output_file
from embreduce.progress import progress_bar
from embreduce.report.charts import scatter_map_figure, similarity_heatmap_figure
from embreduce.report.page import (
    escape_label,
    figure_json,
    notes_section,
    render_page,
    write_page,
)
from embreduce.report.study_report import method_name
from embreduce.validation import check_vectors

N_NEIGHBOURS = 5
"""Nearest neighbours listed when hovering a point."""
TRUST_K = 10
"""Neighbours used for each map's trustworthiness (fewer for tiny inputs)."""
TRUST_MAX_ROWS = 5_000
"""Above this many points the trustworthiness is estimated from a seeded sample of rows."""
TRUST_SAMPLE_ROWS = 2_000
"""Rows of that sample, in :data:`TRUST_BATCHES` batches that give its ± (1.96 x SE)."""
TRUST_BATCHES = 10
TRUST_BLOCK_ELEMENTS = 1 << 24
"""Similarities held at once for a sampled batch (64 MiB a space): a whole batch at 100k."""
NEIGHBOURS_EXACT_MAX = 20_000
"""Up to this many points the hover neighbours are exact; above, an approximate search
(:func:`embreduce.metrics.neighbours.approximate_neighbours`) whose recall is measured."""
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
_DEFAULT_PERPLEXITY = 30.0
_DEFAULT_N_NEIGHBORS = 15


@dataclass
class SentenceMap:
    """One reduction of the vectors to 2 or 3 dimensions.

    Attributes
    ----------
    method : str
    coords : ndarray of shape (n, dims)
    trustworthiness : float
    k : int
        Neighbours used for the trustworthiness.
    sampled_rows : int or None
        Rows the trustworthiness was estimated from, when not all of them.
    margin : float or None
        The estimate's ± (1.96 standard errors), when sampled.
    params : dict
        Parameters handed to :func:`embreduce.reducers.make_reducer`.
    seconds : float
    graph : ndarray of shape (n, m) or None
        The nearest-neighbour graph the reducer built in the original space (UMAP's),
        row ``i`` listing ``i``'s neighbours; the hover search reuses it.
    """

    method: str
    coords: NDArray[np.float32]
    trustworthiness: float
    k: int
    sampled_rows: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    margin: float | None = None
    graph: NDArray[np.int64] | None = None


def map_params(method: str, n: int, dims: int) -> tuple[dict[str, Any], list[str]]:
    """Parameters that ``method`` can use on ``n`` points, and a note for each change.

    t-SNE's perplexity must stay below the number of points (we use at most
    ``(n - 1) / 3``, the usual rule), UMAP's ``n_neighbors`` at most ``n - 1``, and
    UMAP's spectral start needs more points than a handful.

    Examples
    --------
    >>> map_params("tsne", 4, 2)
    ({'perplexity': 1.0}, ['t-SNE: perplexity 1 instead of 30, the most 4 points allow'])
    >>> map_params("umap", 1000, 2)
    ({}, [])
    """
    if method == "tsne":
        limit = max(1.0, math.floor((n - 1) / 3))
        if limit < _DEFAULT_PERPLEXITY:
            note = (
                f"t-SNE: perplexity {limit:g} instead of {_DEFAULT_PERPLEXITY:g}, "
                f"the most {n} points allow"
            )
            return {"perplexity": float(limit)}, [note]
    if method == "umap":
        params: dict[str, Any] = {}
        notes = []
        if n - 1 < _DEFAULT_N_NEIGHBORS:
            params["n_neighbors"] = max(2, n - 1)
            allowed = params["n_neighbors"]
            notes.append(
                f"UMAP: n_neighbors {allowed} instead of {_DEFAULT_N_NEIGHBORS}, "
                f"the most {n} points allow"
            )
        if n <= dims + 8:  # too few points for a spectral start: it fails and warns
            params["init"] = "random"
            notes.append(f"UMAP: random start (a spectral start needs more than {n} points)")
        return params, notes
    return {}, []


def _reduce(
    method: str, X: NDArray[np.float32], dims: int, seed: int
) -> tuple[NDArray[np.float32], dict, list, NDArray[np.int64] | None]:
    from embreduce.reducers import make_reducer

    params, notes = map_params(method, len(X), dims)
    reducer = make_reducer(method, dims, random_state=seed, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        coords = reducer.fit_transform(X)
    seen = set()
    for w in caught:  # one short note per distinct library warning, not a storm
        text = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
        if issubclass(w.category, UserWarning) and text and text not in seen:
            seen.add(text)
            notes.append(f"{method_name(method)}: {text}")
    # umap-learn keeps the k-NN graph it searched (rows include the point itself)
    graph = getattr(reducer, "_knn_indices", None)
    graph = np.asarray(graph, dtype=np.int64) if isinstance(graph, np.ndarray) else None
    return np.asarray(coords, dtype=np.float32), params, notes, graph


def map_trustworthiness(
    X: NDArray[np.floating], coords: NDArray[np.floating], *, seed: int = 0
) -> tuple[float, int, int | None, float | None]:
    """Trustworthiness of a map: ``(value, k, rows sampled or None, ± or None)``.

    ``k`` is :data:`TRUST_K`, or less when there are too few points. Up to
    :data:`TRUST_MAX_ROWS` points it is exact. Above, it is an unbiased estimate from
    :data:`TRUST_SAMPLE_ROWS` seeded rows (each still ranked against every point), taken in
    :data:`TRUST_BATCHES` batches whose spread gives the ± (1.96 standard errors).
    """
    return maps_trustworthiness(X, [coords], seed=seed)[0]


def maps_trustworthiness(
    X: NDArray[np.floating], maps: list[NDArray[np.floating]], *, seed: int = 0
) -> list[tuple[float, int, int | None, float | None]]:
    """:func:`map_trustworthiness` of several maps of ``X``, sharing the original-space work.

    Above :data:`TRUST_MAX_ROWS` points, each sampled row's similarities to every point are
    computed once for all the maps.
    """
    from embreduce.metrics import trustworthiness
    from embreduce.metrics.blocks import unit_rows
    from embreduce.metrics.neighbours import sampled_trustworthiness

    n = len(X)
    k = min(TRUST_K, (n - 1) // 2)
    if n <= TRUST_MAX_ROWS:
        return [(float(trustworthiness(X, coords, k=k)), k, None, None) for coords in maps]
    U = unit_rows(X).astype(np.float32)
    units = [unit_rows(coords, name="reduced").astype(np.float32) for coords in maps]
    rows = np.random.default_rng(seed).choice(n, TRUST_SAMPLE_ROWS, replace=False)
    batches = [np.sort(batch) for batch in np.array_split(rows, TRUST_BATCHES)]
    block = max(16, min(TRUST_SAMPLE_ROWS // TRUST_BATCHES, TRUST_BLOCK_ELEMENTS // n))
    values = sampled_trustworthiness(U, units, k, batches, block_size=block)
    results = []
    for per_batch in values:
        margin = 1.96 * float(np.std(per_batch, ddof=1)) / np.sqrt(len(per_batch))
        results.append((float(np.mean(per_batch)), k, TRUST_SAMPLE_ROWS, margin))
    return results


NEIGHBOURS_RECALL = 0.95
"""The approximate search probes 8 cells, or 32 when its recall on the checked rows is less."""
NEIGHBOURS_CHECK_ROWS = 1_000
"""Rows whose exact neighbours measure the approximate search's recall."""


def map_neighbours(
    X: ArrayLike,
    k: int = N_NEIGHBOURS,
    *,
    exact_max: int = NEIGHBOURS_EXACT_MAX,
    seed: int = 0,
    graph: NDArray[np.int64] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float32], str | None]:
    """The hover neighbours: exact up to ``exact_max`` points, approximate above.

    Above ``exact_max``, a neighbour ``graph`` the reducer already built (UMAP's) is used
    when its recall reaches :data:`NEIGHBOURS_RECALL`; otherwise a cell search.

    Returns ``(indices, cosines, note)``; the note, for the approximate search, gives its
    recall@k against the exact neighbours on a seeded sample of points.
    """
    from embreduce.metrics.blocks import unit_rows
    from embreduce.metrics.neighbours import CellIndex, exact_sample, sample_recall

    if len(X) <= exact_max:
        idx, sims = nearest_neighbours(X, k)
        return idx, sims, None
    U = unit_rows(X).astype(np.float32)
    k = min(k, len(U) - 1)
    rows, exact = exact_sample(U, k, NEIGHBOURS_CHECK_ROWS, seed)
    how = "UMAP's neighbour graph"
    recall = 0.0
    if graph is not None and graph.ndim == 2 and len(graph) == len(U) and graph.shape[1] > k:
        idx, sims = graph_neighbours(U, graph, k)
        recall = sample_recall(idx, rows, exact)
    if recall < NEIGHBOURS_RECALL:
        how = "approximate"
        index = CellIndex(U, seed=seed)
        for n_probe in (8, 32):  # widen the search once if it misses the target
            idx, sims = index.search(k, n_probe=n_probe)
            recall = sample_recall(idx, rows, exact)
            if recall >= NEIGHBOURS_RECALL:
                break
    note = (
        f"hover neighbours: {how} above {exact_max:,} points, recall@{k} "
        f"{recall:.3f} on {len(rows):,} checked points"
    )
    return idx, sims, note


def graph_neighbours(
    U: NDArray[np.float32], graph: NDArray[np.int64], k: int
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """The ``k`` most cosine-similar of each row's ``graph`` neighbours (itself left out)."""
    n = len(U)
    idx = np.empty((n, k), np.int64)
    sims = np.empty((n, k), np.float32)
    for s in range(0, n, 8192):
        G = graph[s : s + 8192]
        rows = np.arange(s, s + len(G))
        S = np.einsum("id,ijd->ij", U[rows], U[np.clip(G, 0, n - 1)])
        S[(G == rows[:, None]) | (G < 0)] = -np.inf  # itself, and umap-learn's -1 padding
        order = np.argsort(-S, axis=1, kind="stable")[:, :k]
        idx[rows] = np.take_along_axis(G, order, axis=1)
        sims[rows] = np.take_along_axis(S, order, axis=1)
    return idx, sims


def nearest_neighbours(
    X: ArrayLike, k: int = N_NEIGHBOURS
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Each row's ``k`` most cosine-similar other rows, most similar first, and their cosines.

    Exact, in blocks of rows (memory ``O(block x n)``).

    Examples
    --------
    >>> idx, sims = nearest_neighbours([[1, 0], [1, 0.1], [0, 1]], k=1)
    >>> idx.ravel().tolist()
    [1, 0, 1]
    """
    from embreduce.metrics.blocks import cosine_strips, resolve_block_size, unit_rows
    from embreduce.metrics.neighbours import top_k

    U = unit_rows(X).astype(np.float32)
    n = len(U)
    k = min(k, n - 1)
    idx = np.empty((n, k), dtype=np.int64)
    sims = np.empty((n, k), dtype=np.float32)
    bs = resolve_block_size(None, n)
    for i0, (S,) in cosine_strips([U], bs, full=True):
        h = len(S)
        S[np.arange(h), np.arange(i0, i0 + h)] = -np.inf
        top, _ = top_k(S, k)
        vals = np.take_along_axis(S, top, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        idx[i0 : i0 + h] = np.take_along_axis(top, order, axis=1)
        sims[i0 : i0 + h] = np.take_along_axis(vals, order, axis=1)
    return idx, sims


def cluster_labels(X: ArrayLike, n_clusters: int, *, seed: int = 0) -> NDArray[np.int64]:
    """k-means clusters of the unit-length vectors (so, by cosine), numbered from 0."""
    from sklearn.cluster import KMeans

    from embreduce.metrics.blocks import unit_rows

    U = unit_rows(X)
    return KMeans(n_clusters=n_clusters, random_state=seed, n_init="auto").fit_predict(U)


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


def compute_maps(
    vectors: ArrayLike,
    *,
    methods: Sequence[str] = ("pca", "tsne", "umap"),
    dims: int = 2,
    seed: int = 0,
    show_progress: bool = False,
) -> tuple[list[SentenceMap], list[str]]:
    """Reduce ``vectors`` with each method; return the maps and notes on what was adjusted.

    Parameters
    ----------
    vectors : array-like of shape (n, d)
        At least 3 rows.
    methods : sequence of str
        Reducer names (see :func:`embreduce.reducers.available_reducers`).
    dims : {2, 3}
    seed : int
    show_progress : bool
        A progress bar for each stage: reducing (one step a method), then trustworthiness.

    Returns
    -------
    (list of SentenceMap, list of str)
    """
    if dims not in (2, 3):
        raise InputError(f"--dims must be 2 or 3 for a map, got {dims}")
    if not methods:
        raise InputError("give at least one method")
    X = check_vectors(vectors, name="vectors", min_rows=3, allow_zero=False)
    if X.shape[1] < dims:
        raise InputError(f"{X.shape[1]}-dimensional vectors cannot be mapped to {dims} dims")
    maps, notes = [], []
    methods = list(dict.fromkeys(methods))
    with progress_bar("Reducing", len(methods), enabled=show_progress) as bar:
        reduced = _reduce_all(X, methods, dims, seed, notes, bar)
    with progress_bar("Trustworthiness", 1, enabled=show_progress) as bar:
        trusts = maps_trustworthiness(X, [r[1] for r in reduced], seed=seed)
        bar.advance(1)
    for (method, coords, params, seconds, graph), trust in zip(reduced, trusts, strict=True):
        value, k, sampled, margin = trust
        maps.append(SentenceMap(method, coords, value, k, sampled, params, seconds, margin, graph))
    if maps and maps[0].k < TRUST_K:
        notes.append(f"trustworthiness uses k={maps[0].k}: {len(X)} points allow no more")
    return maps, notes


def _reduce_all(
    X: NDArray[np.float32],
    methods: list[str],
    dims: int,
    seed: int,
    notes: list[str],
    bar: Any,
) -> list[tuple[str, NDArray[np.float32], dict, float, NDArray[np.int64] | None]]:
    """Each method's ``(method, coords, params, seconds, graph)``, one step of ``bar`` each."""
    reduced = []
    for method in methods:
        start = time.perf_counter()
        coords, params, method_notes, graph = _reduce(method, X, dims, seed)
        notes += method_notes
        reduced.append((method, coords, params, time.perf_counter() - start, graph))
        bar.advance(1)
    return reduced


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
