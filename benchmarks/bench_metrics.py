"""Wall time and peak memory of exact all-pairs metrics, against the naive way and the floor.

Each case runs in its own child process, so its peak resident memory (``VmHWM``) is its
own. Cases:

- ``floor``: one BLAS matmul ``X @ X.T`` of the same size (float32, computed in row blocks
  into one reused buffer, so the time is the matmul's and the memory stays small).
- ``ours-base``: ``base_distribution(X)``: every pair, mean/std/quantiles/histogram.
- ``ours-pairs``: ``similarity_metrics(X, Y, k=None)``: every pair, all pair statistics.
- ``ours-all``: ``similarity_metrics(X, Y, k=10)``: the same plus recall@10 and
  trustworthiness over every row.
- ``naive-base``: ``S = sklearn cosine_similarity(X)`` (the full n x n float32 matrix),
  then numpy on it: float64 sums, ``np.histogram``, an in-place ``partition`` for the
  quantiles (each pair appears twice in S; the diagonal is removed arithmetically).
- ``naive-pairs``: the same on ``D = cosine_similarity(X) - cosine_similarity(Y)``.

X: n vectors of 384 dims (Gaussian with a decaying spectrum around a shared direction,
so that, as with sentence embeddings, cosine similarities are mostly positive); Y: X
projected on its top 128 right singular vectors (truncated SVD). The results of ours and
naive are printed side by side to check each other. With ``--repeat R`` the cases run R
times, interleaved, so that load from other processes hits them alike; take the minimum.

Run (one case at a time, or all):
    .venv/bin/python benchmarks/bench_metrics.py --n 20000 --cases floor ours-base ...
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CASES = ["floor", "ours-base", "ours-pairs", "ours-all", "naive-base", "naive-pairs"]
QS = [0.01, 0.05, 0.5, 0.95, 0.99]


def make_data(n: int, d: int = 384, k: int = 128, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Embedding-like vectors (decaying spectrum, shared direction) and their top-k SVD."""
    rng = np.random.default_rng(seed)
    spectrum = (1.0 + np.arange(d, dtype=np.float32) / 8) ** -0.75
    X = rng.standard_normal((n, d), dtype=np.float32) * spectrum
    X += 0.2 * rng.standard_normal(d, dtype=np.float32)  # a shared direction
    _, _, Vt = np.linalg.svd(X[: min(n, 20_000)].astype(np.float64), full_matrices=False)
    Y = (X @ Vt[:k].T.astype(np.float32)).astype(np.float32)  # truncated SVD, uncentred
    return X, Y


def floor(X: np.ndarray, _: np.ndarray) -> dict:
    n, block = X.shape[0], 1024
    buf = np.empty((block, n), dtype=np.float32)
    for i0 in range(0, n, block):
        h = min(block, n - i0)
        np.matmul(X[i0 : i0 + h], X.T, out=buf[:h])
    return {}


def naive_stats(S: np.ndarray, n: int, diag: np.ndarray, edges: np.ndarray) -> dict:
    """Pair statistics of a symmetric n x n matrix S with diagonal ``diag``, in numpy."""
    P = n * (n - 1) // 2
    total = float(S.sum(dtype=np.float64)) - float(diag.sum())
    sq = sum(float(np.square(S[i : i + 1024], dtype=np.float64).sum()) for i in range(0, n, 1024))
    sq -= float(np.square(diag, dtype=np.float64).sum())
    ab = sum(float(np.abs(S[i : i + 1024]).sum(dtype=np.float64)) for i in range(0, n, 1024))
    ab -= float(np.abs(diag).sum())
    mean = total / 2 / P
    hist = np.histogram(S, edges)[0] - np.histogram(diag, edges)[0]
    # each pair is twice in S: after removing the diagonal, the pair of rank m sits at 2m
    flat = S.reshape(-1)
    flat[np.arange(n) * (n + 1)] = np.inf  # diagonal to the end
    h = (P - 1) * np.array(QS)
    lo = np.floor(h).astype(np.int64)
    kth = np.unique(np.concatenate([2 * lo, 2 * np.minimum(lo + 1, P - 1)]))
    flat.partition(kth)
    v0, v1 = flat[2 * lo].astype(np.float64), flat[2 * np.minimum(lo + 1, P - 1)]
    q = v0 + (h - lo) * (v1 - v0)
    return {
        "mean": mean,
        "std": float(np.sqrt(sq / 2 / P - mean * mean)),
        "mae": ab / 2 / P,
        "q": q.tolist(),
        "hist": (hist // 2).tolist(),
    }


def naive_base(X: np.ndarray, _: np.ndarray) -> dict:
    from sklearn.metrics.pairwise import cosine_similarity

    from embreduce.metrics import COS_EDGES

    S = cosine_similarity(X)
    return naive_stats(S, len(X), np.diag(S).copy(), COS_EDGES)


def naive_pairs(X: np.ndarray, Y: np.ndarray) -> dict:
    from sklearn.metrics.pairwise import cosine_similarity

    D = cosine_similarity(X)
    D -= cosine_similarity(Y)
    from embreduce.metrics import DIFF_EDGES

    return naive_stats(D, len(X), np.diag(D).copy(), DIFF_EDGES)


def ours(kind: str):
    def run(X: np.ndarray, Y: np.ndarray) -> dict:
        from embreduce.metrics import base_distribution, similarity_metrics

        if kind == "base":
            r = base_distribution(X)
            hist = r["hist"]
        else:
            r = similarity_metrics(X, Y, k=10 if kind == "all" else None)
            hist = r["hist_diff"]
        out = {key: r.get(key) for key in ("mean", "std", "mae", "recall_at_10")}
        out["trustworthiness"] = r.get("trustworthiness")
        out["q"] = [r[f"q{int(q * 100):02d}"] for q in QS]
        out["hist_sum"] = sum(hist)
        return out

    return run


RUNNERS = {
    "floor": floor,
    "ours-base": ours("base"),
    "ours-pairs": ours("pairs"),
    "ours-all": ours("all"),
    "naive-base": naive_base,
    "naive-pairs": naive_pairs,
}


def data_file(n: int) -> Path:
    return Path(tempfile.gettempdir()) / f"embreduce-bench-metrics-{n}.npz"


def peak_rss_mib() -> float:
    """This process's peak resident memory. ``VmHWM`` is per address space, so unlike
    ``ru_maxrss`` (which Linux carries over from the parent through fork and exec) it
    counts only what the child itself used."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(case: str, n: int) -> None:
    with np.load(data_file(n)) as data:  # made by the parent: only X and Y count here
        X, Y = data["X"], data["Y"]
    before = peak_rss_mib()
    start = time.perf_counter()
    result = RUNNERS[case](X, Y)
    wall = time.perf_counter() - start
    peak = peak_rss_mib()
    print(
        json.dumps(
            {"case": case, "n": n, "wall_s": wall, "peak_rss_mib": peak}
            | {"rss_before_mib": before, "result": result}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[20_000])
    parser.add_argument("--cases", nargs="+", default=CASES, choices=CASES)  # may repeat
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n[0])
        return
    import torch

    print(
        f"# {platform.machine()}, {platform.python_version()}, numpy {np.__version__}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    for n in args.n:
        if not data_file(n).exists():
            X, Y = make_data(n)
            np.savez(data_file(n), X=X, Y=Y)
            del X, Y
        for case in [c for _ in range(args.repeat) for c in args.cases]:
            cmd = [sys.executable, __file__, "--child", case, "--n", str(n)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(json.dumps({"case": case, "n": n, "error": out.stderr[-2000:]}))
            else:
                print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
