"""``compress --bits 4`` of 1,000,000 x 384 ``.npy`` rows with a PCA-64 model, against NumPy
by hand (issue 22): memory-mapped read, the matmul with the centring as a bias, 4-bit levels,
packed high nibble first, memory-mapped write. The codes must be equal.

Run::

    .venv/bin/python benchmarks/bench_compress_codes.py setup      # the input and the model
    farm-bench -n 3 --timeout 600 \\
        --vs ".venv/bin/python benchmarks/bench_compress_codes.py by-hand" \\
        -- .venv/bin/embreduce compress out/bench_codes/in.npy -m out/bench_codes/pca-64 \\
        --bits 4 -o out/bench_codes/ours.npy --overwrite -q
    .venv/bin/python benchmarks/bench_compress_codes.py check      # equal codes
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUT = Path("out/bench_codes")
ROWS, DIM, K = 1_000_000, 384, 64
BLOCK = 65_536


def setup() -> None:
    from embreduce.codecs import QuantizationCodec, save_model_codec
    from embreduce.reducers import make_reducer, save_reducer

    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    X = np.lib.format.open_memmap(OUT / "in.npy", mode="w+", dtype=np.float32, shape=(ROWS, DIM))
    for start in range(0, ROWS, BLOCK):
        block = rng.normal(size=(min(BLOCK, ROWS - start), DIM)).astype(np.float32)
        X[start : start + len(block)] = block * np.geomspace(3, 0.1, DIM, dtype=np.float32)
    X.flush()
    sample = np.asarray(X[:20_000])
    pca = make_reducer("pca", K).fit(sample)
    model = save_reducer(pca, OUT / "pca-64", overwrite=True)
    save_model_codec(model, QuantizationCodec(bits=4).fit(pca.transform(sample)))


def by_hand() -> None:
    from safetensors.numpy import load_file

    weights = load_file(str(OUT / "pca-64" / "model.safetensors"))
    codec = load_file(str(OUT / "pca-64" / "codec-4bit" / "codec.safetensors"))
    W = weights["components_"].T.astype(np.float32)
    b = (-weights["mean_"] @ weights["components_"].T).astype(np.float32)
    low, step = codec["low_"], codec["step_"]
    X = np.load(OUT / "in.npy", mmap_mode="r")
    out = np.lib.format.open_memmap(OUT / "by-hand.npy", mode="w+", dtype=np.uint8,
                                    shape=(len(X), K // 2))  # fmt: skip
    for start in range(0, len(X), BLOCK):
        reduced = X[start : start + BLOCK] @ W + b
        # the codec's arithmetic (float64 between the levels), so the codes are equal
        levels = np.clip(np.rint((reduced.astype(np.float64) - low) / step), 0, 15)
        levels = levels.astype(np.uint8)
        out[start : start + len(levels)] = (levels[:, 0::2] << 4) | levels[:, 1::2]
    out.flush()


def check() -> None:
    ours, theirs = np.load(OUT / "ours.npy"), np.load(OUT / "by-hand.npy")
    differ = np.count_nonzero(ours != theirs)
    print(f"codes: {ours.shape} vs {theirs.shape}; bytes that differ: {differ:,}")


if __name__ == "__main__":
    {"setup": setup, "by-hand": by_hand, "check": check}[sys.argv[1]]()
