"""What scoring FAISS's residual quantizer by L2 costs at search time.

The study and ``embreduce index`` score FAISS codes by L2 (``1 - |q - x|^2 / 2``); for the
residual quantizer FAISS then needs each code's norm, which it computes from the codebooks'
cross products (``ST_norm_from_LUT``: exact, no extra bytes, but about ``M^2 / 2`` look-ups a
code instead of ``M``), or stores it beside the code. This times one search of a BEIR
set's judged queries against its corpus in an ``IndexResidualQuantizer`` (RQ16x8 fitted on
the corpus with ``embreduce.codecs.FaissCodec``) with each of FAISS's ways to score, and
the nDCG@10 share each keeps. ``embreduce index`` stores each norm as a float by default
(``--rq-norm``).

Run::

    .venv/bin/python benchmarks/bench_rq_search.py ../shared/data/arguana
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import faiss
import numpy as np
from beir_vectors import load_judged

from embreduce.codecs import FaissCodec
from embreduce.metrics.retrieval import ndcg_at_k, order_hits, search

AQ = faiss.AdditiveQuantizer
WAYS = (
    ("inner product, look-up tables (ST_LUT_nonorm)", faiss.METRIC_INNER_PRODUCT, "ST_LUT_nonorm"),
    ("L2, norms from the codebooks (ST_norm_from_LUT)", faiss.METRIC_L2, "ST_norm_from_LUT"),
    ("L2, every code decoded (ST_decompress)", faiss.METRIC_L2, "ST_decompress"),
    ("L2, each norm stored as a float (ST_norm_float, +4 B)", faiss.METRIC_L2, "ST_norm_float"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--qrels", default="qrels/test.tsv")
    parser.add_argument("--nbytes", type=int, default=16)
    args = parser.parse_args()
    faiss.omp_set_num_threads(2)
    X, Q, judged = load_judged(args.data, args.qrels)
    reference = ndcg_at_k(search(Q, X, 10, exclude=judged.exclude)[0], judged, 10).mean()
    codec = FaissCodec("rq", args.nbytes).fit(X)
    print(f"{len(X):,} codes of RQ{args.nbytes}x8, {len(Q):,} queries, k = 11 (one is dropped)")
    for name, metric, search_type in WAYS:
        owner = faiss.deserialize_index(codec.index_)  # keeps the C++ object alive
        index = faiss.downcast_index(owner)
        index.metric_type = metric
        index.rq.search_type = getattr(AQ, search_type)
        index.rq.set_derived_values()  # as embreduce index does: a stored norm adds bytes
        index.code_size = index.rq.code_size
        index.add(X)
        start = time.perf_counter()
        D, rows = index.search(Q, 11)
        seconds = time.perf_counter() - start
        scores = -D if metric == faiss.METRIC_L2 else D
        scores[rows == judged.exclude[:, None]] = -np.inf
        rows, _ = order_hits(rows, scores.astype(np.float32))
        share = ndcg_at_k(rows[:, :10], judged, 10).mean() / reference
        per_code = seconds / (len(Q) * len(X)) * 1e9
        print(f"{name:50s} {seconds:6.2f} s ({per_code:5.1f} ns a code)  nDCG@10 {share:.1%}")


if __name__ == "__main__":
    main()
