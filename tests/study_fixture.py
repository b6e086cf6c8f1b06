"""A small, realistic study folder for report tests, in the format ``embreduce study`` writes.

Vectors are random clusters; the reductions are PCA and a Gaussian random projection
fitted with scikit-learn here, and measured with :mod:`embreduce.metrics`, so the
histograms and metrics are the real numbers of real reductions. The ``limit`` rows are the
best rank-``dim`` approximation (SVD), a cheap stand-in for the optimised limit.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"
"""A label that would run script if the page put it into HTML unescaped."""

FIELDS = (
    "method dim split mean std mse mae q01 q05 q50 q95 q99 spearman recall_at_10 "
    "trustworthiness n_pairs fit_seconds transform_seconds"
).split()


def clustered_vectors(n: int, d: int, *, clusters: int = 6, seed: int = 0) -> np.ndarray:
    """Unit vectors around a few random centres, like sentence embeddings of a few topics."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d))
    X = centres[rng.integers(0, clusters, n)] + 0.8 * rng.normal(size=(n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def _row(method: str, dim: int, split: str, X: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    from embreduce.metrics import similarity_metrics

    metrics = similarity_metrics(X, Y, k=10, seed=0)
    return {"method": method, "dim": dim, "split": split, **metrics,
            "fit_seconds": 0.01 * dim, "transform_seconds": 0.001 * dim}  # fmt: skip


def write_study_dir(
    folder: Path,
    *,
    n: int = 200,
    d: int = 48,
    dims: tuple[int, ...] = (4, 8, 16, 32),
    seed: int = 0,
    reason: str = "lowest MSE within 10 % of the best, at the smallest dimension",
    model: str = "all-MiniLM-L6-v2",
) -> Path:
    """Write ``results.csv``, ``results.json``, ``base_distribution.json`` and ``study.json``."""
    from sklearn.decomposition import PCA
    from sklearn.random_projection import GaussianRandomProjection

    from embreduce.metrics import COS_EDGES, DIFF_EDGES, base_distribution

    folder.mkdir(parents=True, exist_ok=True)
    X = clustered_vectors(n, d, seed=seed)
    n_eval = n // 5
    splits = {"train": X[n_eval:], "eval": X[:n_eval]}
    rows = []
    for method, make in (
        ("pca", lambda k: PCA(k, random_state=seed)),
        ("random", lambda k: GaussianRandomProjection(k, random_state=seed)),
    ):
        for dim in dims:
            reducer = make(dim).fit(splits["train"])
            for split, S in splits.items():
                rows.append(_row(method, dim, split, S, reducer.transform(S)))
    for dim in dims:  # the reference: the best linear map onto `dim` dims of the eval set
        E = splits["eval"]
        U, s, _ = np.linalg.svd(E, full_matrices=False)
        rows.append(_row("limit", dim, "eval", E, U[:, :dim] * s[:dim]))

    (folder / "results.json").write_text(json.dumps({"rows": rows}, default=_plain))
    with open(folder / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    base = {"cos_edges": COS_EDGES.tolist(), "diff_edges": DIFF_EDGES.tolist()}
    base.update({split: base_distribution(S, seed=seed) for split, S in splits.items()})
    (folder / "base_distribution.json").write_text(json.dumps(base, default=_plain))
    study = {
        "settings": {
            "input": "texts/news.csv",
            "model": model,
            "methods": ["pca", "random"],
            "dims": list(dims),
            "holdout": 0.2,
            "seed": seed,
            "max_pairs": None,
            "k": 10,
        },
        "data": {
            "n": n,
            "dim": d,
            "n_train": n - n_eval,
            "n_eval": n_eval,
            "n_pairs_eval": base["eval"]["n_pairs"],
        },
        "versions": {"embreduce": "0.1.0", "python": "3.11", "numpy": np.__version__},
        "recommendation": {"method": "pca", "dim": dims[max(0, len(dims) - 2)], "reason": reason},
        "notes": ["dim 512 skipped: above the input dimension 48"],
        "elapsed_seconds": 83.4,
        "started": "2026-11-22T21:00:00+00:00",
    }
    (folder / "study.json").write_text(json.dumps(study))
    return folder


def _plain(obj: Any) -> Any:
    return obj.tolist() if isinstance(obj, (np.ndarray, np.generic)) else str(obj)
