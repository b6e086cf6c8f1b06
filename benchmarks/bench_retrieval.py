"""Codes for search: a retrieval study of a BEIR folder, timed, and its frontier by bytes.

Issue 23's benchmark. Runs ``embreduce study CORPUS --queries Q --qrels R`` under
``/usr/bin/time -v`` (wall time and peak memory of the whole process), then reads its
``results.csv`` and prints, for each budget (bytes a vector), the candidate the study would
choose there (best on the *selection* half of the queries) with the share of float32 nDCG@10
it keeps on the *confirmation* half (queries the choice never saw): first pass, and
re-scored with the float32 vectors at each oversample factor. A second table picks on the
selection half's re-scored figures.

Every reducer and codec is fitted on corpus vectors only (the study's training split of the
corpus); the queries and qrels only judge.

Run::

    .venv/bin/python benchmarks/bench_retrieval.py ../shared/data/arguana --qrels qrels/test.tsv
    .venv/bin/python benchmarks/bench_retrieval.py ../shared/data/stsb-retrieval \\
        --qrels qrels/train.tsv

With ``corpus-minilm.npz`` / ``queries-test-minilm.npz`` in the folder (ArguAna's), those
vectors are used; otherwise the study embeds ``corpus.jsonl`` and ``queries.jsonl`` with
all-MiniLM-L6-v2. Results go to ``out/bench_retrieval/<folder name>/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import time
from pathlib import Path

BUDGETS = (8, 16, 32, 64, 128)


def run_study(folder: Path, args: argparse.Namespace, out: Path) -> dict[str, float]:
    corpus = folder / "corpus-minilm.npz"
    queries = folder / "queries-test-minilm.npz"
    if not (corpus.exists() and queries.exists()):
        corpus, queries = folder / "corpus.jsonl", folder / "queries.jsonl"
    cmd = [sys.executable, "-m", "embreduce.cli", "study", str(corpus)]
    cmd += ["--queries", str(queries), "--qrels", str(folder / args.qrels)]
    cmd += ["--methods", args.methods, "--dims", args.dims, "--bits", args.bits]
    cmd += ["--faiss", args.faiss, "--budgets", args.budgets, "--no-limit", "--quiet"]
    cmd += ["-o", str(out), "--overwrite", "--no-report"]
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=_env(), check=False
    )
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"study failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return {"wall_seconds": round(wall, 1), "max_rss_mib": int(rss.group(1)) // 1024 if rss else 0}


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def frontier(rows: list[dict[str, str]], key: str, oversample: list[int]) -> list[dict]:
    """Per budget: the row best on the selection half by ``key``, with its confirmed figures."""
    out = []
    for budget in BUDGETS:
        fit = [r for r in rows if int(r["bytes"]) <= budget and r.get(key)]
        if not fit:
            continue
        pick = max(fit, key=lambda r: (float(r[key]), -int(r["bytes"])))
        entry = {
            "budget": budget,
            "candidate": f"{pick['method']}-{pick['dim']} {pick['codec']}",
            "bytes": int(pick["bytes"]),
            "selection": float(pick[key]),
            "confirmed": float(pick["retrieval_retained"]),
            "symmetric": float(pick["retrieval_retained_symmetric"]),
        }
        for o in oversample:
            entry[f"x{o}"] = float(pick[f"retrieval_retained_x{o}"])
        out.append(entry)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a BEIR folder (corpus, queries, qrels)")
    parser.add_argument("--qrels", default="qrels/test.tsv", help="relative to the folder")
    parser.add_argument("--methods", default="pca")
    parser.add_argument("--dims", default="128,256")
    parser.add_argument("--bits", default="32,8,4,1")
    parser.add_argument("--faiss", default="pq,opq,rq")
    parser.add_argument("--budgets", default="8,16,32")
    parser.add_argument("--name", default="", help="a suffix for the output folder")
    args = parser.parse_args()
    out = Path("out/bench_retrieval") / (args.folder.resolve().name + args.name)
    run = run_study(args.folder, args, out)
    with open(out / "results.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "eval" and r.get("ndcg_at_10")]
    study = json.loads((out / "study.json").read_text("utf-8"))
    task = study["settings"]["retrieval"]
    oversample = [o for o in task["oversample"] if o > 1]
    candidates = [r for r in rows if not (r["method"] == "original" and r["bits"] == "32")]
    result = {
        **run,
        "queries": {k: task[k] for k in ("select_queries", "confirm_queries")},
        "float32_ndcg_at_10": task["float32"],
        "candidates": len(candidates),
        "first_pass": frontier(candidates, "select_retrieval_retained", oversample),
        "rescored_x4": frontier(candidates, "select_retrieval_retained_x4", oversample),
        "recommendation": study["recommendation"]["reason"],
    }
    (out / "bench.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"{run['wall_seconds']} s, {run['max_rss_mib']} MiB peak, {len(candidates)} candidates")
    print(f"float32 nDCG@10: {task['float32']}")
    tables = (("chosen on the first pass", "first_pass"), ("chosen at x4", "rescored_x4"))
    for title, table in tables:
        print(f"\n{title} (selection half -> confirmation half)")
        print("| budget | candidate | B | selection | confirmed | symmetric | x2 | x4 | x10 |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for e in result[table]:
            cells = [
                e["budget"],
                e["candidate"],
                e["bytes"],
                *(
                    f"{e[k]:.1%}"
                    for k in ("selection", "confirmed", "symmetric", "x2", "x4", "x10")
                ),
            ]
            print("| " + " | ".join(map(str, cells)) + " |")
    print("\n" + result["recommendation"])


if __name__ == "__main__":
    main()
