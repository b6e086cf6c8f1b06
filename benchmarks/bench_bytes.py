"""Bytes, not dims: the best representation at each byte budget on the STS Benchmark.

Issue 13's benchmark. all-MiniLM-L6-v2 (384-d) vectors of the STS Benchmark's sentences;
every reducer and codec is fitted on the *train* sentences (no scores) and judged on the
*dev* pairs: Spearman x100 between the cosines of the decoded vectors and the human
scores, and its share of the full float32 384-d vectors' Spearman ("retained").

Candidates: the original vectors and every method x dim, each at every precision of
:mod:`embreduce.codecs` (calibrated on the train sentences), and at 4 bits and fewer also
with each codec rotation (``--rotations``, default random and ITQ). Alongside, in the same run:
sentence-transformers' ``quantize_embeddings`` (binary, 48 B; int8 with ranges from the
train sentences, 384 B) and FAISS ``index_factory`` codecs when ``faiss`` imports
(``pip install 'embreduce[bench]'``). For each budget it also reports recall@10 against the
exact float32 neighbours among the dev sentences, for our best candidate and for the best
"plain" way (truncate or SVD, then min/max uniform quantization, 1 bit at 0).

Targets: >= 99.0 % of the full Spearman at <= 32 B a vector, >= 97.5 % at <= 16 B; at every
budget, recall@10 at least the plain way's.

Run::

    .venv/bin/python benchmarks/bench_bytes.py --stsb ../shared/data/stsb

The embeddings are cached under ``out/bench_bytes/``; results go to
``out/bench_bytes/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from embreduce.codecs import QuantizationCodec, bytes_per_vector
from embreduce.io import read_pairs
from embreduce.metrics import recall_at_k
from embreduce.metrics.pairs import pairs_spearman
from embreduce.reducers import make_reducer

OUT = Path("out/bench_bytes")
BUDGETS = (8, 16, 32, 64, 128)


def embed_cached(name: str, texts: list[str]) -> np.ndarray:
    """MiniLM vectors of ``texts``, embedded once and cached as ``OUT/name.npy``."""
    path = OUT / f"{name}.npy"
    if path.exists():
        cached = np.load(path)
        if len(cached) == len(texts):
            return cached
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from embreduce.embedding import Embedder

    vectors = Embedder(device="cpu").encode(texts, batch_size=128, show_progress=True)
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def load(stsb: Path) -> dict:
    """Train sentences, dev pairs (as rows of the dev sentence array) and dev scores."""
    train = read_pairs(stsb / "train.tsv")
    dev = read_pairs(stsb / "dev.tsv")
    train_texts = list(dict.fromkeys(train.first + train.second))
    dev_texts = list(dict.fromkeys(dev.first + dev.second))
    row = {t: i for i, t in enumerate(dev_texts)}
    return {
        "train": embed_cached("train", train_texts),
        "dev": embed_cached("dev", dev_texts),
        "a": np.array([row[t] for t in dev.first]),
        "b": np.array([row[t] for t in dev.second]),
        "scores": dev.scores,
    }


def spearman(data: dict, dev: np.ndarray) -> float:
    return pairs_spearman(dev[data["a"]], dev[data["b"]], data["scores"])


def candidates(
    data: dict, methods: list[str], dims: list[int], bits: list[int], rotations: list[str]
) -> list[dict]:
    """Every method x dim x bits (and the original x bits), judged on the dev pairs.

    At 4 bits and fewer, each codec rotation in ``rotations`` is a candidate too.
    """
    train, dev = data["train"], data["dev"]
    sides = [("original", train.shape[1], None)]
    sides += [(m, d, None) for m in methods for d in dims if d < train.shape[1]]
    rows = []
    for method, dim, _ in sides:
        start = time.perf_counter()
        if method == "original":
            red_train, red_dev = train, dev
        else:
            params = {"device": "cpu"} if method.startswith("encoder") else {}
            reducer = make_reducer(method, dim, random_state=0, **params).fit(train)
            red_train, red_dev = reducer.transform(train), reducer.transform(dev)
        fit = time.perf_counter() - start
        for b in bits:
            for rotation in [None, *(rotations if b <= 4 else [])]:
                codec = QuantizationCodec(bits=b, rotation=rotation).fit(red_train)
                decoded = codec.quantize(red_dev)
                rows.append(
                    {
                        "method": method,
                        "dim": dim,
                        "bits": b,
                        "rotation": rotation,
                        "bytes": bytes_per_vector(dim, b),
                        "spearman": spearman(data, decoded),
                        "decoded": decoded,
                        "fit_seconds": round(fit, 2),
                    }
                )
        print(f"  {method}-{dim}: fitted in {fit:.1f} s", flush=True)
    return rows


def plain_candidates(data: dict, dims: list[int], bits: list[int]) -> list[dict]:
    """The plain way: truncate or SVD, min/max uniform levels, 1 bit at 0."""
    train, dev = data["train"], data["dev"]
    rows = []
    for method in ("truncate", "svd"):
        for dim in dims:
            reducer = make_reducer(method, dim).fit(train)
            red_train, red_dev = reducer.transform(train), reducer.transform(dev)
            for b in bits:
                if b == 1:
                    decoded = np.where(red_dev > 0, 1.0, -1.0).astype(np.float32)
                else:
                    codec = QuantizationCodec(bits=b, calibration="minmax").fit(red_train)
                    decoded = codec.quantize(red_dev)
                rows.append(
                    {
                        "method": f"plain {method}",
                        "dim": dim,
                        "bits": b,
                        "bytes": bytes_per_vector(dim, b),
                        "spearman": spearman(data, decoded),
                        "decoded": decoded,
                    }  # fmt: skip
                )
    return rows


def library_baselines(data: dict) -> list[dict]:
    """sentence-transformers' quantize_embeddings and FAISS codecs, as their users use them."""
    try:  # sentence-transformers 5.x's path; the old one warns
        from sentence_transformers.util.quantization import quantize_embeddings
    except ImportError:
        from sentence_transformers.quantization import quantize_embeddings

    train, dev = data["train"], data["dev"]
    rows = []
    binary = np.unpackbits(quantize_embeddings(dev, precision="ubinary"), axis=1)
    rows.append({"method": "st binary", "bytes": 48, "decoded": 2.0 * binary - 1.0})
    ranges = np.vstack([train.min(axis=0), train.max(axis=0)])
    int8 = quantize_embeddings(dev, precision="int8", ranges=ranges).astype(np.float32)
    rows.append({"method": "st int8 (raw codes)", "bytes": 384, "decoded": int8})
    try:
        import faiss
    except ImportError:
        print("  faiss is not installed: pip install 'embreduce[bench]' for the FAISS rows")
        return [dict(r, spearman=spearman(data, r["decoded"])) for r in rows]
    for spec in ("PQ16", "PQ32", "OPQ16,PQ16", "PCAR64,SQ4"):
        index = faiss.index_factory(train.shape[1], spec)
        index.train(np.ascontiguousarray(train, dtype=np.float32))
        codes = index.sa_encode(np.ascontiguousarray(dev, dtype=np.float32))
        decoded = index.sa_decode(codes)
        rows.append({"method": f"faiss {spec}", "bytes": codes.shape[1], "decoded": decoded})
    return [dict(r, spearman=spearman(data, r["decoded"])) for r in rows]


def name(row: dict) -> str:
    """``method-dim at bits bits (bytes B)``, and the codec's rotation if any."""
    rotated = f", {row['rotation']} rotation" if row.get("rotation") else ""
    return f"{row['method']}-{row['dim']} at {row['bits']} bits{rotated} ({row['bytes']} B)"


def frontier(rows: list[dict], data: dict, plain: list[dict], full: float) -> list[dict]:
    """For each budget: our best candidate by Spearman, its recall@10, the plain way's."""
    dev = data["dev"]
    out = []
    for budget in BUDGETS:
        ours = [
            r
            for r in rows
            if r["bytes"] <= budget and not (r["method"] == "original" and r["bits"] == 32)
        ]
        best = max(ours, key=lambda r: r["spearman"])
        simple = [r for r in plain if r["bytes"] <= budget]
        for r in [*ours, *simple]:
            r.setdefault("recall", recall_at_k(dev, r["decoded"], k=10))
        best_recall = max(ours, key=lambda r: r["recall"])
        plain_recall = max(simple, key=lambda r: r["recall"]) if simple else None
        out.append(
            {
                "budget": budget,
                "best": name(best),
                "retained": best["spearman"] / full,
                "spearman": best["spearman"],
                "recall_of_best": best["recall"],
                "best_recall": best_recall["recall"],
                "best_recall_by": name(best_recall),
                "plain_recall": None if plain_recall is None else plain_recall["recall"],
                "plain_recall_by": None if plain_recall is None else name(plain_recall),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stsb", type=Path, required=True, help="folder with train.tsv, dev.tsv")
    parser.add_argument(
        "--methods", nargs="+", default=["truncate", "pca", "svd", "random", "encoder"]
    )
    parser.add_argument("--dims", nargs="+", type=int, default=[16, 32, 64, 128, 256])
    parser.add_argument("--bits", nargs="+", type=int, default=[32, 16, 8, 4, 2, 1])
    parser.add_argument(
        "--rotations",
        nargs="*",
        default=["random", "itq"],
        help="codec rotations also tried at 4 bits and fewer (none: --rotations)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    data = load(args.stsb)
    full = spearman(data, data["dev"])
    print(f"full float32 384-d (1,536 B): Spearman {full:.2f} on {len(data['scores'])} dev pairs")
    rows = candidates(data, args.methods, args.dims, args.bits, args.rotations)
    plain = plain_candidates(data, [d for d in args.dims if d < 384] + [384], args.bits)
    libs = library_baselines(data)
    table = frontier(rows, data, plain, full)
    print("\nbudget  best candidate                          retained  recall@10 (best / plain)")
    for f in table:
        plain_recall = "-" if f["plain_recall"] is None else f"{f['plain_recall']:.3f}"
        print(f"{f['budget']:>5} B  {f['best']:<38} {f['retained']:7.2%}   "
              f"{f['best_recall']:.3f} / {plain_recall}")  # fmt: skip
    print("\nlibraries:")
    for r in libs:
        print(f"  {r['method']:<22} {r['bytes']:>4} B  retained {r['spearman'] / full:7.2%}")
    OUT.mkdir(parents=True, exist_ok=True)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "decoded"} for r in rs]  # noqa: E731
    result = {"full_spearman": full, "frontier": table, "candidates": strip(rows),
              "plain": strip(plain), "libraries": strip(libs),
              "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    (OUT / "results.json").write_text(json.dumps(result, indent=2, default=float))
    print(f"\nwrote {OUT / 'results.json'} in {result['seconds']} s")


if __name__ == "__main__":
    main()
