"""Search quality of an index built from a study's candidate, through the command line.

Issue 24's quality check: ``embreduce index`` of ArguAna's corpus vectors with a model and
codec that ``bench_retrieval.py``'s study saved (``--refine float16``), then ``embreduce
search --queries --qrels`` at each ``--oversample``, against the float32 vectors' nDCG@10 on
the same queries (the study's ``float32`` record covers its halves; here all judged queries).
Then ``--ivf 64`` over the same codes: the share of the flat code index's top 10 that each
``nprobe`` keeps, on real (clustered) vectors.

Run (after ``bench_retrieval.py ../shared/data/arguana``)::

    .venv/bin/python benchmarks/bench_search_quality.py \\
        --model out/bench_retrieval/arguana/models/pca-256 --codec faiss-rq16
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from beir_vectors import load_judged

DATA = Path("../shared/data/arguana")
OUT = Path("out/bench_search_quality")


def run(*args: str) -> str:
    cmd = [sys.executable, "-m", "embreduce.cli", *args]
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def float_ndcg() -> float:
    from embreduce.metrics.retrieval import ndcg_at_k, search

    X, Q, judged = load_judged(DATA)
    hits = search(Q, X, 10, exclude=judged.exclude)
    return float(ndcg_at_k(hits[0], judged, 10).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--codec", required=True)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    index = OUT / "corpus.faiss"
    run("index", str(DATA / "corpus-minilm.npz"), "-m", args.model, "--codec", args.codec,
        "--refine", "float16", "-o", str(index), "--overwrite", "-q")  # fmt: skip
    reference = float_ndcg()
    print(f"float32 nDCG@10 (exact search, same rules): {reference:.4f}")
    study_figure(Path(args.model), args.codec)
    for oversample in (1, 2, 4):
        queries = ["--queries", str(DATA / "queries-test-minilm.npz")]
        qrels = ["--qrels", str(DATA / "qrels/test.tsv")]
        out = run("search", str(index), *queries, *qrels, "--oversample", str(oversample))
        ndcg = float(re.search(r"nDCG@10 ([0-9.]+)", out).group(1))
        print(f"oversample {oversample}: nDCG@10 {ndcg:.4f} = {ndcg / reference:.1%} of float32")
    inverted_lists(args.model, args.codec)


def study_figure(model: Path, codec: str) -> None:
    """The study's nDCG@10 for this candidate on all its judged queries: its two halves'
    figures (confirmation: ``ndcg_at_10``; selection: the retained share times the float32
    reference), weighted by their sizes."""
    import csv
    import json

    study = model.parent.parent
    method, dim = model.name.rsplit("-", 1)
    name = method + "+" + codec.removeprefix("faiss-")
    settings = json.loads((study / "study.json").read_text("utf-8"))["settings"]["retrieval"]
    with open(study / "results.csv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "eval" and r["dim"] == dim]
    row = next((r for r in rows if r["method"] == name), None)
    if row is None:
        print(f"(no {name}-{dim} row in {study}/results.csv)")
        return
    reference = settings["float32"]["select"]["ndcg_at_10"]
    n_select, n_confirm = settings["select_queries"], settings["confirm_queries"]
    select = float(row["select_retrieval_retained"]) * reference
    both = (n_select * select + n_confirm * float(row["ndcg_at_10"])) / (n_select + n_confirm)
    print(f"the study's nDCG@10 for {name}-{dim} on the same {n_select + n_confirm:,} queries: "
          f"{both:.6f}")  # fmt: skip


def inverted_lists(model: str, codec: str, nlist: int = 64) -> None:
    """``--ivf`` over the same codes on real, clustered vectors: the share of the flat code
    index's top 10 each ``nprobe`` keeps, and nDCG@10."""
    from embreduce.io.retrieval import read_qrels
    from embreduce.search import SearchIndex, build_index, evaluate_index

    flat = SearchIndex.load(OUT / "corpus.faiss")
    path = OUT / f"ivf{nlist}.faiss"
    for p in OUT.glob(f"ivf{nlist}*"):
        p.unlink()
    build_index(DATA / "corpus-minilm.npz", model, path, codec=codec, ivf=nlist)
    found = SearchIndex.load(path)
    queries = np.load(DATA / "queries-test-minilm.npz")
    Q, ids = queries["vectors"], list(queries["ids"])
    qrels = read_qrels(DATA / "qrels/test.tsv")
    start = time.perf_counter()
    reference = flat.search_rows(Q, 10)[0]
    print(f"flat code index: {time.perf_counter() - start:.2f} s for {len(Q):,} queries")
    print(f"--ivf {nlist} over the same codes ({len(flat):,} documents, {len(Q):,} queries)")
    for nprobe in (1, 4, 8, 16, nlist):
        found.set_nprobe(nprobe)
        start = time.perf_counter()
        rows = found.search_rows(Q, 10)[0]
        print(f"nprobe {nprobe:3d}: {time.perf_counter() - start:.2f} s")
        kept = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, reference, strict=True)])
        ndcg = evaluate_index(found, ids, Q, qrels)["ndcg_at_10"]
        print(f"nprobe {nprobe:3d} ({nprobe / nlist:.0%} of the lists): top 10 of the flat "
              f"codes kept {kept:.3f}, nDCG@10 {ndcg:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
