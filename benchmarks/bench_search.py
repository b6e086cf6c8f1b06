"""Search what you stored at a million vectors: memory, latency and build, against FAISS.

Issue 24's benchmark. Draws ``--n`` (default 1,000,000) 384-d unit vectors from a Gaussian
with the mean and covariance of real all-MiniLM-L6-v2 vectors (ArguAna's corpus, or the
STS Benchmark's sentences; speed and memory carry over to real data, recall does not),
saves the identity model (``original-384``) with a FAISS ``PQ16x8`` codec fitted on a 20,000
vector sample, then, in one process:

- ``build``: ``embreduce.search.build_index`` of the ``.npy`` (streaming, 65,536 rows a
  batch, with ``--refine float16``), and FAISS's own ``add`` of the same vectors, in the same
  batches, to the same empty index;
- ``memory``: the index file against ``IndexFlatIP``'s 4 x 384 bytes a vector;
- ``latency``: one query at a time (100 queries) and a batch of 1,000, for ``IndexFlatIP``
  and our index through plain FAISS (``faiss.read_index``) and through ``SearchIndex``, in
  three alternating rounds (medians);
- ``rescore``: the same with ``--refine float16`` and ``oversample=4``;
- ``ivf``: ``--ivf 1024`` over the same codes, batch QPS at ``nprobe`` 4, 16 and 64 against
  ``IndexFlatIP``, and the share of the flat code index's own top 10 it keeps;
- ``text_query``: one text query through ``SearchIndex.search`` against the same model's
  ``encode`` plus plain FAISS's ``search`` (medians of 20).

The peak resident memory of the whole process is printed by ``/usr/bin/time -v`` when the
script runs under it; ``cli_build`` runs ``embreduce index`` in a process of its own and
samples its anonymous resident memory (the input's memory-mapped pages left out). Run::

    /usr/bin/time -v .venv/bin/python benchmarks/bench_search.py --n 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

OUT = Path("out/bench_search")


def real_vectors() -> np.ndarray:
    for path in ("../shared/data/arguana/corpus-minilm.npz",):
        if Path(path).exists():
            return np.load(path)["vectors"].astype(np.float64)
    raise SystemExit("needs ../shared/data/arguana/corpus-minilm.npz for the covariance")


def draw(n: int, path: Path, seed: int = 0) -> None:
    """``n`` unit vectors with the real vectors' mean and covariance, written in blocks."""
    X = real_vectors()
    mean, chol = X.mean(0), np.linalg.cholesky(np.cov(X.T) + 1e-9 * np.eye(X.shape[1]))
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, X.shape[1]))
    for s in range(0, n, 100_000):
        block = mean + rng.standard_normal((min(100_000, n - s), X.shape[1])) @ chol.T
        out[s : s + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    out.flush()


def timed(fn, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    import faiss

    from embreduce.codecs import FaissCodec, save_model_codec
    from embreduce.reducers import make_reducer, save_reducer
    from embreduce.search import SearchIndex, build_index

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--nlist", type=int, default=1024, help="inverted lists for --ivf")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = OUT / f"corpus-{args.n}.npy"
    if not data.exists():
        draw(args.n, data)
    X = np.load(data, mmap_mode="r")
    sample = np.asarray(X[:: max(1, args.n // 20_000)], np.float32)
    model = OUT / "original-384"
    if not model.exists():
        reducer = make_reducer("truncate", 384).fit(sample)
        save_reducer(reducer, model)
        save_model_codec(model, FaissCodec("pq", 16).fit(sample))
    Q = np.asarray(draw_queries(X, 1000), np.float32)
    result: dict = {"n": args.n}

    index_path = OUT / "pq16.faiss"
    for p in OUT.glob("pq16*"):
        p.unlink()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = timed(lambda: build_index(data, model, index_path, codec="faiss-pq16", refine="float16"))
    result["build_seconds"] = round(t, 2)
    result["build_peak_rss_growth_mib"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
    ) // 1024
    import sys

    cli = [sys.executable, "-m", "embreduce.cli", "index", str(data), "-m", str(model)]
    cli += ["--codec", "faiss-pq16", "-o", str(OUT / "cli.faiss"), "--overwrite", "-q"]
    seconds, anon = anonymous_peak(cli)
    result["cli_build"] = {"seconds": round(seconds, 2), "peak_anonymous_rss_mib": anon}
    found = SearchIndex.load(index_path)
    plain = faiss.read_index(str(index_path))
    from embreduce.search import faiss_chain

    codec_index = faiss_chain(model, "faiss-pq16")[0]  # the same chain, empty: FAISS's add

    def faiss_add() -> None:
        for s in range(0, args.n, 65_536):
            codec_index.add(np.asarray(X[s : s + 65_536], np.float32))

    result["faiss_add_seconds"] = round(timed(faiss_add), 2)
    result["index_file_mib"] = round(index_path.stat().st_size / 2**20, 1)
    result["flat_mib"] = round(args.n * 384 * 4 / 2**20, 1)

    flat = faiss.IndexFlatIP(384)
    for s in range(0, args.n, 65_536):
        flat.add(np.asarray(X[s : s + 65_536], np.float32))
    one = Q[:100]
    searches = {
        "flat": lambda q: flat.search(q, 10),
        "faiss_read_index": lambda q: plain.search(q, 10),
        "embreduce": lambda q: found.search_rows(q, 10),
        "embreduce_rescore_x4": lambda q: found.search_rows(q, 10, oversample=4),
    }
    singles: dict[str, list[float]] = {name: [] for name in searches}
    batches: dict[str, list[float]] = {name: [] for name in searches}
    for _ in range(3):  # rounds alternate the searches; each figure is the median round
        for name, fn in searches.items():
            t = timed(lambda fn=fn: [fn(one[i : i + 1]) for i in range(len(one))]) / len(one)
            singles[name].append(t)
            batches[name].append(timed(lambda fn=fn: fn(Q)))
    for name in searches:
        result[name] = {
            "single_ms": round(1000 * float(np.median(singles[name])), 2),
            "batch_qps": round(len(Q) / float(np.median(batches[name])), 1),
        }
    exact = flat.search(Q, 10)[1]
    for name, fn in {
        "codes": lambda: found.search_rows(Q, 10)[0],
        "rescored_x4": lambda: found.search_rows(Q, 10, oversample=4)[0],
    }.items():
        got = fn()
        result[f"recall10_{name}"] = round(
            float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, exact, strict=True)])), 4
        )
    result["ivf"] = inverted_lists(data, model, Q, found, flat, args.nlist)
    result["text_query"] = text_query(found)
    (OUT / "bench.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return round(
        float(np.mean([len(set(x) & set(y)) / len(y) for x, y in zip(a, b, strict=True)])), 4
    )


def inverted_lists(data: Path, model: Path, Q: np.ndarray, flat_codes, flat, nlist: int) -> dict:
    """``--ivf nlist`` over the same PQ16 codes: batch QPS at several ``nprobe`` against
    ``IndexFlatIP``, and the share of the flat code index's own top 10 kept."""
    from embreduce.search import SearchIndex, build_index

    path = OUT / f"ivf{nlist}.faiss"
    for p in OUT.glob(f"ivf{nlist}*"):
        p.unlink()
    seconds = timed(lambda: build_index(data, model, path, codec="faiss-pq16", ivf=nlist))
    found = SearchIndex.load(path)
    reference = flat_codes.search_rows(Q, 10)[0]
    flat_qps = len(Q) / timed(lambda: flat.search(Q, 10))
    out: dict = {"nlist": nlist, "build_seconds": round(seconds, 2), "flat_qps": round(flat_qps, 1)}
    for nprobe in (4, 16, 64):
        found.set_nprobe(nprobe)
        rows = found.search_rows(Q, 10)[0]
        qps = len(Q) / timed(lambda: found.search_rows(Q, 10), repeat=3)
        out[f"nprobe{nprobe}"] = {
            "batch_qps": round(qps, 1),
            "x_flat": round(qps / flat_qps, 2),
            "top10_of_flat_codes": overlap(rows, reference),
        }
    return out


def text_query(found) -> dict:
    """One text query: embedding plus plain FAISS's search, against ``SearchIndex.search``."""
    import faiss

    from embreduce.embedding import Embedder

    embedder = Embedder()
    text = ["how do the rules of a debate decide who wins"]
    plain = faiss.read_index(str(found.path))
    embedder.encode(text)  # load the model's weights first
    found.search(text, 10)
    by_hand, ours = [], []
    for _ in range(20):
        by_hand.append(timed(lambda: plain.search(embedder.encode(text), 10)))
        ours.append(timed(lambda: found.search(text, 10)))
    hand_ms, ours_ms = 1000 * float(np.median(by_hand)), 1000 * float(np.median(ours))
    return {"by_hand_ms": round(hand_ms, 2), "search_ms": round(ours_ms, 2),
            "ratio": round(ours_ms / hand_ms, 2)}  # fmt: skip


def anonymous_peak(cmd: list[str]) -> tuple[float, int]:
    """Run ``cmd``; return its wall seconds and the peak of its anonymous resident memory
    (``RssAnon`` in ``/proc/PID/status``, sampled every 20 ms): memory the process owns,
    without the pages of the files it maps (its input, its memory-mapped outputs)."""
    import subprocess

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.02)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return time.perf_counter() - start, peak // 1024


def draw_queries(X: np.ndarray, n: int) -> np.ndarray:
    """Queries near corpus rows (a corpus row plus noise), unit length."""
    rng = np.random.default_rng(1)
    rows = np.sort(rng.choice(len(X), n, replace=False))
    Q = np.asarray(X[rows], np.float64) + 0.05 * rng.standard_normal((n, X.shape[1]))
    return Q / np.linalg.norm(Q, axis=1, keepdims=True)


if __name__ == "__main__":
    main()
