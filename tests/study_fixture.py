"""A small study folder for report tests, written by a real :func:`run_study`.

Vectors are random clusters; the study fits PCA and a Gaussian random projection on them
and writes its files exactly as ``embreduce study`` does, so the report tests read the real
file format. Only the recommendation's reason can be replaced, to check that the page
escapes a hostile label.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"
"""A label that would run script if the page put it into HTML unescaped."""


def clustered_vectors(n: int, d: int, *, clusters: int = 6, seed: int = 0) -> np.ndarray:
    """Unit vectors around a few random centres, like sentence embeddings of a few topics."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d))
    X = centres[rng.integers(0, clusters, n)] + 0.8 * rng.normal(size=(n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def write_study_dir(
    folder: Path,
    *,
    n: int = 200,
    d: int = 48,
    dims: tuple[int, ...] = (4, 8, 16, 32),
    seed: int = 0,
    reason: str | None = None,
    model: str = "all-MiniLM-L6-v2",
    bits: tuple[int, ...] = (32, 8, 4, 1),
) -> Path:
    """Run a small study of PCA and random projection into ``folder``; return it.

    ``reason`` replaces the recommendation's reason in ``study.json`` (to test escaping).
    """
    from embreduce.io import EmbeddingSet
    from embreduce.study import run_study

    data = EmbeddingSet(clustered_vectors(n, d, seed=seed), info={"model": model})
    run_study(
        data,
        folder,
        methods=["pca", "random"],
        dims=[*dims, 512],  # 512 > d: a real "skipped" note
        holdout=0.2,
        bits=bits,
        seed=seed,
        save_models=False,
        record={"input": "texts/news.csv", "model": model},
        show_progress=False,
    )
    if reason is not None:
        study = json.loads((folder / "study.json").read_text("utf-8"))
        study["recommendation"]["reason"] = reason
        (folder / "study.json").write_text(json.dumps(study), encoding="utf-8")
    return folder
