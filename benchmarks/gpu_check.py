"""Check and time the GPU paths: the encoder's training and the HF embedding backend.

Run on a machine with a CUDA GPU:  PYTHONPATH=src python benchmarks/gpu_check.py
It prints the device each part used, fit times on the GPU and the CPU, peak GPU memory,
and checks that a text's vector from the HF backend does not depend on its batch on the GPU.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
import torch

from embreduce import CosineSimilarityEncoder


def lm_like(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Vectors shaped like an LM's: a few large shared directions plus a low-rank body."""
    rng = np.random.default_rng(seed)
    body = rng.normal(size=(n, 64)) @ rng.normal(size=(64, d)) / 8
    return (body + 0.3 * rng.normal(size=(n, d)) + 2.0).astype(np.float32)


def fit_time(X: np.ndarray, k: int, device: str) -> tuple[float, CosineSimilarityEncoder]:
    enc = CosineSimilarityEncoder(k, device=device, random_state=0, max_epochs=30)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    enc.fit(X)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, enc


def main() -> None:
    print(f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}")
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    for n, d, k in [(20_000, 384, 128), (20_000, 2048, 1024)]:
        X = lm_like(n, d)
        for device in ("cuda", "cpu"):
            seconds, enc = fit_time(X, k, device)
            peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else float("nan")
            summary = enc.training_summary_
            print(
                f"{n} x {d} -> {k} on {summary['device']}: fit {seconds:.1f} s, "
                f"{summary.get('epochs', '?')} epochs, peak GPU memory {peak:.0f} MiB"
            )
        auto = CosineSimilarityEncoder(16, max_epochs=1, random_state=0).fit(X[:2000])
        print(f"device='auto' trained on: {auto.training_summary_['device']}")
        start = time.perf_counter()
        enc.transform(X)
        print(f"transform {n / (time.perf_counter() - start):,.0f} vectors/s (last model)")

    # The HF backend on the GPU: a tiny random Llama, alone vs in a padded batch.
    from embreduce.embedding import Embedder
    from embreduce.testing import build_tiny_llama

    folder = build_tiny_llama(tempfile.mkdtemp(), hidden_size=64)
    embedder = Embedder(folder, backend="hf", device="auto")
    texts = ["def f(x): return x", "a", "the quick brown fox jumps over the lazy dog"]
    batched = embedder.encode(texts, batch_size=3)
    worst = max(
        float(np.abs(embedder.encode([t])[0] - batched[i]).max()) for i, t in enumerate(texts)
    )
    print(f"HF backend on {embedder.device}: max |alone - batched| = {worst:.2e}")
    if worst > BATCH_TOLERANCE:
        raise SystemExit(
            f"FAIL: a text's vector depends on its batch (max difference {worst:.2e} > "
            f"{BATCH_TOLERANCE:.0e}): padding or the attention mask leaks between texts"
        )
    print(f"OK: batch independent within {BATCH_TOLERANCE:.0e}")


BATCH_TOLERANCE = 1e-3
"""Largest difference allowed between a text embedded alone and in a padded batch (float
kernels differ between batch shapes on a GPU, by far less than this)."""


if __name__ == "__main__":
    main()
