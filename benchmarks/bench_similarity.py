"""How a float query should score FAISS codes: inner product, cosine or L2 of the decoded.

Each FAISS codec (``embreduce.codecs.FaissCodec``) is fitted on all of a BEIR set's corpus
vectors (no labels), the corpus is encoded and decoded, and every judged query searches the
decoded corpus three ways: the inner product ``q . x``, the cosine of ``x``, and FAISS's L2
search of unit vectors ``1 - |q - x|^2 / 2`` (what the study and ``embreduce index`` use
since this benchmark). Printed: the share of float32 nDCG@10 each keeps, over all judged
queries (a document whose id is the query's own is not a hit).

Run::

    .venv/bin/python benchmarks/bench_similarity.py ../shared/data/arguana --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from beir_vectors import load_judged

from embreduce.codecs import FaissCodec
from embreduce.metrics.retrieval import l2_bias, ndcg_at_k, search

CODECS = [("pq", 16), ("opq", 16), ("rq", 16), ("rq", 8), ("sq4", None), ("rabitq", None)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a BEIR folder with corpus-minilm.npz")
    parser.add_argument("--qrels", default="qrels/test.tsv")
    parser.add_argument(
        "--seeds", default="0", help="comma-separated seeds of the k-means of PQ, OPQ and RQ"
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    X, Q, judged = load_judged(args.data, args.qrels)
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)

    def ndcg(C: np.ndarray, bias: np.ndarray | None = None) -> float:
        hits = search(Q, C, 10, exclude=judged.exclude, bias=bias)[0]
        return float(ndcg_at_k(hits, judged, 10).mean())

    reference = ndcg(X)
    print(f"{len(X):,} corpus vectors, {len(Q):,} judged queries; float32 nDCG@10 {reference:.4f}")
    header = ("codec", "seed", "B", "train s", "inner product", "cosine", "L2")
    print("{:10s} {:>4s} {:>4s} {:>8s} {:>14s} {:>8s} {:>8s}".format(*header))
    runs = [(q, m, seed) for q, m in CODECS for seed in (seeds if m else seeds[:1])]
    for quantizer, nbytes, seed in runs:
        codec = FaissCodec(quantizer, nbytes, random_state=seed)
        start = time.perf_counter()
        codec.fit(X)
        seconds = time.perf_counter() - start
        decoded = codec.decode(codec.encode(X))
        unit = decoded / np.linalg.norm(decoded, axis=1, keepdims=True)
        shares = [
            ndcg(decoded) / reference,
            ndcg(unit) / reference,
            ndcg(decoded, l2_bias(decoded)) / reference,
        ]
        name = quantizer + (str(nbytes) if nbytes else "")
        print(
            f"{name:10s} {seed:4d} {codec.bytes_per_vector():4d} {seconds:8.1f} "
            + " ".join(f"{s:13.1%}" if i == 0 else f"{s:8.1%}" for i, s in enumerate(shares)),
            flush=True,
        )


if __name__ == "__main__":
    main()
