"""Maps of embeddings as numbers: 2-D/3-D layouts by PCA, t-SNE or UMAP, each with its
trustworthiness, the points' nearest neighbours in the original space, and k-means clusters.

No HTML here: :mod:`embreduce.report.maps` draws these on a page. A Python user who wants a
map's neighbours or its trust calls :func:`compute_maps`, :func:`map_neighbours` and
:func:`cluster_labels` directly.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embreduce.exceptions import InputError
from embreduce.progress import progress_bar
from embreduce.reducers.spec import get_spec
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
            notes.append(f"{get_spec(method).display_name}: {text}")
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
