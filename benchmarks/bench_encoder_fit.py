"""Fit time, peak memory and transform throughput of CosineSimilarityEncoder.

Cases (each runs in its own process, so its peak resident memory is its own):

- ``minilm-128``: the 20,480 MiniLM word vectors (384-d) -> 128, default parameters.
- ``llm-1024``: 20,000 random vectors shaped like a causal LM's hidden states (2048-d: a
  large shared direction, a few outlier dimensions, low-rank structure and noise) -> 1024.
- ``transform``: vectors per second through ``transform`` of a fitted 384 -> 128 encoder,
  and through its linear map as one float32 matmul.

Run::

    .venv/bin/python benchmarks/bench_encoder_fit.py                  # all cases
    .venv/bin/python benchmarks/bench_encoder_fit.py --case llm-1024 --max-epochs 5
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_quality import word_vectors

CASES = ("minilm-128", "llm-1024", "transform")


def llm_like(n: int = 20000, d: int = 2048, seed: int = 0) -> np.ndarray:
    """Random vectors with the anisotropy of causal-LM hidden states."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=d)
    basis = rng.normal(size=(64, d)) / np.sqrt(d)
    X = 8.0 * shared + rng.normal(size=(n, 64)) * np.geomspace(20, 1, 64) @ basis * 10
    X += rng.normal(size=(n, d))
    X[:, rng.choice(d, 4, replace=False)] += rng.normal(50, 10, size=(n, 4))
    return X.astype(np.float32)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run_case(case: str, max_epochs: int | None, device: str = "cpu") -> dict:
    from embreduce import CosineSimilarityEncoder
    from embreduce.reducers import linear_map

    params = {"random_state": 0, "device": device}
    if max_epochs is not None:
        params["max_epochs"] = max_epochs
    if case == "minilm-128":
        X = word_vectors()
        k = 128
    elif case == "llm-1024":
        X = llm_like()
        k = 1024
    else:
        X = word_vectors()
        # throughput does not depend on how well it was trained: two epochs are enough
        enc = CosineSimilarityEncoder(128, **{**params, "max_epochs": 2}).fit(X)
        big = np.tile(X, (5, 1))  # 102,400 vectors
        start = time.perf_counter()
        enc.transform(big)
        t_transform = time.perf_counter() - start
        W, b = linear_map(enc)
        W32 = W.astype(np.float32)
        start = time.perf_counter()
        _ = big @ W32 + b.astype(np.float32)
        t_matmul = time.perf_counter() - start
        return {
            "case": case,
            "n": len(big),
            "transform_vectors_per_s": round(len(big) / t_transform),
            "linear_map_float32_vectors_per_s": round(len(big) / t_matmul),
            "peak_rss_mib": round(peak_rss_mib()),
        }
    before = peak_rss_mib()
    start = time.perf_counter()
    enc = CosineSimilarityEncoder(k, **params).fit(X)
    return {
        "case": case,
        "device": enc.training_summary_["device"],
        "shape": list(X.shape),
        "n_components": k,
        "fit_s": round(time.perf_counter() - start, 1),
        "epochs": enc.n_iter_,
        "steps": enc.n_steps_,
        "best_epoch": enc.best_epoch_,
        "init_validation_loss": enc.init_validation_loss_,
        "best_validation_loss": enc.training_summary_["best_validation_loss"],
        "peak_rss_mib": round(peak_rss_mib()),
        "rss_before_fit_mib": round(before),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES)
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--device", default="cpu", help="where the encoder trains")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.max_epochs, args.device)), flush=True)
        return
    for case in CASES:
        cmd = [sys.executable, __file__, "--case", case, "--device", args.device]
        if args.max_epochs is not None:
            cmd += ["--max-epochs", str(args.max_epochs)]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
