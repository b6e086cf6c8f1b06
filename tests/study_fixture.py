"""A small, realistic study folder for report tests, in the format ``embreduce study`` writes.

Vectors are random clusters; the reductions are PCA and a Gaussian random projection
fitted with scikit-learn here, so the histograms and metrics are real numbers of real
reductions, computed in well under a second.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"
"""A label that would run script if the page put it into HTML unescaped."""

COS_EDGES = np.linspace(-1.0, 1.0, 201)
DIFF_EDGES = np.linspace(-1.0, 1.0, 401)
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


def _cosines(X: np.ndarray) -> np.ndarray:
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    i, j = np.triu_indices(len(X), k=1)
    return (U @ U.T)[i, j]


def _recall(X: np.ndarray, Y: np.ndarray, k: int = 10) -> float:
    def knn(Z: np.ndarray) -> np.ndarray:
        U = Z / np.linalg.norm(Z, axis=1, keepdims=True)
        S = U @ U.T
        np.fill_diagonal(S, -np.inf)
        return np.argsort(-S, axis=1)[:, :k]

    a, b = knn(X), knn(Y)
    return float(np.mean([len(set(r) & set(s)) / k for r, s in zip(a, b, strict=True)]))


def _stats(diff: np.ndarray) -> dict[str, float]:
    q = np.quantile(diff, [0.01, 0.05, 0.5, 0.95, 0.99])
    return {
        "mean": float(diff.mean()),
        "std": float(diff.std()),
        "mse": float(np.mean(diff**2)),
        "mae": float(np.mean(np.abs(diff))),
        **{f"q{p:02d}": float(v) for p, v in zip((1, 5, 50, 95, 99), q, strict=True)},
    }


def _row(method: str, dim: int, split: str, X: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    from scipy.stats import spearmanr
    from sklearn.manifold import trustworthiness

    cos_x, cos_y = _cosines(X), _cosines(Y)
    diff = cos_x - cos_y
    return {
        "method": method,
        "dim": dim,
        "split": split,
        **_stats(diff),
        "spearman": float(spearmanr(cos_x, cos_y).statistic),
        "recall_at_10": _recall(X, Y),
        "trustworthiness": float(trustworthiness(X, Y, n_neighbors=5, metric="cosine")),
        "n_pairs": int(len(diff)),
        "fit_seconds": 0.01 * dim,
        "transform_seconds": 0.001 * dim,
        "hist_reduced": np.histogram(cos_y, COS_EDGES)[0].tolist(),
        "hist_diff": np.histogram(diff, DIFF_EDGES)[0].tolist(),
    }


def _base(X: np.ndarray) -> dict[str, Any]:
    cos = _cosines(X)
    q = np.quantile(cos, [0.01, 0.05, 0.5, 0.95, 0.99])
    return {
        "n": len(X),
        "n_pairs": int(len(cos)),
        "sampled": False,
        "mean": float(cos.mean()),
        "std": float(cos.std()),
        **{f"q{p:02d}": float(v) for p, v in zip((1, 5, 50, 95, 99), q, strict=True)},
        "hist": np.histogram(cos, COS_EDGES)[0].tolist(),
    }


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

    (folder / "results.json").write_text(json.dumps({"rows": rows}))
    with open(folder / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    base = {"cos_edges": COS_EDGES.tolist(), "diff_edges": DIFF_EDGES.tolist()}
    base.update({split: _base(S) for split, S in splits.items()})
    (folder / "base_distribution.json").write_text(json.dumps(base))
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
