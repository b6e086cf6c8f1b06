"""The demo study against the same work by hand, alternating in one run (issue 22).

Each case is a fresh process, timed as a whole (wall time, and peak RSS from
``resource.getrusage``): ``embreduce study`` with ``make demo``'s settings, then
``benchmarks/by_hand_study.py``, alternating ``--runs`` times; then ``embreduce report`` of
the study's folder alone. With ``--busy`` the same runs go beside a niced one-thread busy
loop (a neighbour on one of the cores); with ``--busy faiss``, beside a niced FAISS search
on every core (OpenMP threads that spin). Printed: each case's median and range, and the
ratios of the medians.

Run::

    .venv/bin/python benchmarks/bench_study.py              # quiet machine, 3 runs each
    .venv/bin/python benchmarks/bench_study.py --busy
    .venv/bin/python benchmarks/bench_study.py --busy faiss
    .venv/bin/python benchmarks/bench_study.py --sentences 10000   # the 10k-sentence study
    .venv/bin/python benchmarks/bench_study.py --sentences 10000 --profile   # where it goes
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = Path("out/bench_study")
BIN = Path(sys.executable).parent
DEMO = [
    *("--words", "512", "--methods", "pca,svd,random,truncate,encoder"),
    *("--dims", "16,32,64,128,256", "--bits", "32,8,4,1", "--holdout", "0.2", "--seed", "0"),
]
CASES = {
    "embreduce study": [
        str(BIN / "embreduce"),
        "study",
        *DEMO,
        "-o",
        str(OUT / "ours"),
        "--overwrite",
        "--quiet",
    ],  # fmt: skip
    "by hand": [sys.executable, "benchmarks/by_hand_study.py", str(OUT / "by-hand")],
    "embreduce report": [str(BIN / "embreduce"), "report", str(OUT / "ours")],
}


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one command run to its end."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


FAISS_JOB = """
import faiss, numpy as np
faiss.omp_set_num_threads({threads})
X = np.random.default_rng(0).standard_normal((200_000, 128)).astype(np.float32)
index = faiss.IndexFlatIP(128)
index.add(X)
while True:
    index.search(X[:2000], 10)
"""


def busy_loop(kind: str = "loop") -> subprocess.Popen:
    """A niced neighbour: a one-thread busy loop, or a FAISS search on every core."""
    code = "while True: pass" if kind == "loop" else FAISS_JOB.format(threads=os.cpu_count())
    return subprocess.Popen(["nice", "-n", "10", sys.executable, "-c", code])


STSB = Path("../shared/data/stsb")


def sentences_file(n: int) -> Path:
    """The first ``n`` distinct sentences of the STS Benchmark's train and dev pairs."""
    import csv

    seen: dict[str, None] = {}
    for name in ("train.tsv", "dev.tsv"):
        with open(STSB / name, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                for text in (row["sentence1"], row["sentence2"]):
                    seen.setdefault(" ".join(text.split()), None)
    texts = [t for t in seen if t][:n]
    if len(texts) < n:
        raise SystemExit(f"the STS Benchmark has {len(texts):,} distinct sentences, not {n:,}")
    path = OUT / f"sentences-{n}.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


def sentences_study(n: int) -> None:
    """The study of ``n`` sentences against the same work by hand, once each, with the
    study's phases (:func:`phases`)."""
    texts = sentences_file(n)
    ours = OUT / f"ours-{n}"
    settings = [arg for arg in DEMO if arg not in ("--words", "512")]
    study = [str(BIN / "embreduce"), "study", str(texts), *settings, "-o", str(ours)]
    by_hand = [sys.executable, "benchmarks/by_hand_study.py", str(OUT / f"by-hand-{n}"), str(texts)]
    seconds = {}
    for name, command in (("embreduce study", [*study, "--overwrite", "--quiet"]),
                          ("by hand", by_hand)):  # fmt: skip
        seconds[name], _ = timed(command)
        print(f"{name:16s} {seconds[name]:7.1f} s", flush=True)
    print(f"\n{n:,} sentences; study / by hand: "
          f"{seconds['embreduce study'] / seconds['by hand']:.2f}x")  # fmt: skip
    phases(ours, seconds["embreduce study"])


def profile_study(n: int, top: int = 25) -> None:
    """The study of ``n`` sentences alone, under cProfile: the embreduce functions that
    take the most time, cumulative (cProfile's overhead makes every figure larger)."""
    import pstats

    texts = sentences_file(n)
    settings = [arg for arg in DEMO if arg not in ("--words", "512")]
    stats_file = OUT / f"profile-{n}.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "embreduce.cli",
               "study", str(texts), *settings, "-o", str(OUT / f"profiled-{n}"), "--overwrite",
               "--quiet"]  # fmt: skip
    seconds, _ = timed(command)
    print(f"study of {n:,} sentences under cProfile: {seconds:.1f} s")
    stats = pstats.Stats(str(stats_file))
    rows = []
    for (path, line, name), (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "embreduce" in path and not name.startswith("<"):
            short = path.split("embreduce/", 1)[-1]
            rows.append((cumulative, calls, f"{short}:{line} {name}"))
    for cumulative, calls, where in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative:8.1f} s  {calls:8d} calls  {where}")


def phases(folder: Path, wall: float) -> None:
    """Where a study's ``wall`` seconds went: start-up and embedding (before the study's
    clock starts), each reducer's fits (its rows' ``fit_seconds``), and the rest."""
    import csv
    import json

    record = json.loads((folder / "study.json").read_text("utf-8"))
    fits: dict[str, dict[tuple[str, str], float]] = {}
    with open(folder / "results.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):  # one fit a method x dim, repeated on its rows
            cell = fits.setdefault(row["method"], {})
            key = (row["dim"], row["split"])
            cell[key] = max(cell.get(key, 0.0), float(row["fit_seconds"] or 0))
    elapsed = float(record["elapsed_seconds"])
    print(f"  start-up and embedding {wall - elapsed:7.1f} s")
    fitted = 0.0
    for method, cells in fits.items():
        seconds = sum(v for (_, split), v in cells.items() if split == "train")
        fitted += seconds
        if seconds >= 0.05:
            print(f"  {method:20s} fits {seconds:7.1f} s")
    print(f"  codecs, metrics, files, report {elapsed - fitted:7.1f} s")
    for note in record.get("notes", []):
        print(f"  note: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--sentences",
        type=int,
        help="instead: a study of this many STS Benchmark sentences (default candidates) "
        "against the same work by hand, once each, with the study's phases",
    )
    parser.add_argument(
        "--busy",
        nargs="?",
        const="loop",
        choices=("loop", "faiss"),
        help="beside a niced neighbour: a one-thread busy loop (default) or a FAISS search "
        "on every core",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="with --sentences: the study alone under cProfile, its costliest functions",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.sentences and args.profile:
        profile_study(args.sentences)
        return
    if args.sentences:
        sentences_study(args.sentences)
        return
    neighbour = busy_loop(args.busy) if args.busy else None
    times: dict[str, list[float]] = {name: [] for name in CASES}
    try:
        timed(CASES["embreduce study"])  # a first run for the caches (numba, the OS's files)
        for run in range(args.runs):
            for name in ("embreduce study", "by hand", "embreduce report"):
                seconds, _ = timed(CASES[name])
                times[name].append(seconds)
                print(f"run {run + 1}: {name:16s} {seconds:6.2f} s", flush=True)
    finally:
        if neighbour is not None:
            neighbour.kill()
    median = {name: statistics.median(v) for name, v in times.items()}
    print(f"\nmachine: {os.cpu_count()} cores; busy neighbour: {args.busy}; runs: {args.runs}")
    for name, values in times.items():
        print(f"{name:16s} median {median[name]:6.2f} s  [{min(values):.2f}-{max(values):.2f}]")
    print(f"study / by hand: {median['embreduce study'] / median['by hand']:.2f}x")
    print(f"report / by hand: {median['embreduce report'] / median['by hand']:.2f}x")


if __name__ == "__main__":
    main()
