"""How well each reducer keeps cosine similarities of held-out words (issue 3's targets).

Reference data: all-MiniLM-L6-v2 vectors of the 20,480 most frequent English words
(wordfreq). Every reducer is fitted on the words ranked 2,561 to 20,480 and measured on two
held-out sets: the top 512 words and the words ranked 513 to 2,560. For each method and k:
mean and std of ``cos_original - cos_reduced`` over all held-out pairs, their MSE, and kNN
recall@10 (:func:`embreduce.metrics.similarity_metrics`), plus the fit time.

The encoders weigh each training word by its wordfreq frequency (``sample_weight``; pass
``--weights none`` for equal weights); the baselines take no weights.

Targets for the encoder: held-out MSE <= 0.5 x the best of pca/svd/random/truncate, and
recall@10 >= the best of them, at every k.

Run::

    .venv/bin/python benchmarks/bench_quality.py            # all k, writes out/bench_quality.json
    .venv/bin/python benchmarks/bench_quality.py --k 16 128 --methods svd encoder

The vectors are cached in ``out/bench_minilm_words_20480.npy`` (about a minute to embed).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from embreduce.metrics import similarity_metrics
from embreduce.reducers import make_reducer

CACHE = Path("out/bench_minilm_words_20480.npy")
N_WORDS = 20480
BASELINES = ("pca", "svd", "random", "truncate")
HELD_OUT = {"top 1-512": slice(0, 512), "513-2,560": slice(512, 2560)}
TRAIN = slice(2560, N_WORDS)
TRAIN_SETS = {"2561-20480": TRAIN, "513-2560": slice(512, 2560)}


def word_vectors() -> np.ndarray:
    """MiniLM vectors of the top 20,480 English words, embedded once and cached."""
    if CACHE.exists():
        return np.load(CACHE)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import embreduce
    from embreduce.embedding.corpora import top_words

    vectors = embreduce.embed(top_words(N_WORDS), device="cpu", batch_size=256)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.save(CACHE, vectors)
    return vectors


def word_frequencies() -> np.ndarray:
    """wordfreq's frequency of each of the top 20,480 words, in rank order."""
    from embreduce.embedding.corpora import top_words, word_frequencies

    return word_frequencies(top_words(N_WORDS))


def run(
    ks: list[int], methods: list[str], params: dict, weights: str, train: slice = TRAIN
) -> list[dict]:
    """Fit every method at every k on the training words; measure both held-out sets.

    With ``weights="frequency"`` the encoders weigh each training word by its corpus
    frequency (``sample_weight``); the baselines take no weights. ``train`` picks the
    training words (the issue's are ranks 2,561 to 20,480).
    """
    X = word_vectors()
    sample_weight = word_frequencies()[train] if weights == "frequency" else None
    rows = []
    for k in ks:
        for method in methods:
            encoder = method.startswith("encoder")
            extra = params if encoder else {}
            fit_params = {"sample_weight": sample_weight} if encoder else {}
            start = time.perf_counter()
            reducer = make_reducer(method, k, random_state=0, **extra)
            reducer.fit(X[train], **fit_params)
            fit_s = time.perf_counter() - start
            for name, part in HELD_OUT.items():
                m = similarity_metrics(X[part], reducer.transform(X[part]), k=10)
                rows.append(
                    {
                        "k": k,
                        "method": method,
                        "held_out": name,
                        "mean": m["mean"],
                        "std": m["std"],
                        "mse": m["mse"],
                        "recall_at_10": m["recall_at_10"],
                        "fit_s": round(fit_s, 2),
                        "epochs": getattr(reducer, "n_iter_", None),
                        "weights": weights if encoder else "none",
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows


def verdicts(rows: list[dict], method: str = "encoder") -> list[dict]:
    """Per k and held-out set: the encoder against 0.5 x best baseline MSE and best recall."""
    out = []
    for k in sorted({r["k"] for r in rows}):
        for name in HELD_OUT:
            here = [r for r in rows if r["k"] == k and r["held_out"] == name]
            base = [r for r in here if r["method"] in BASELINES]
            mine = [r for r in here if r["method"] == method]
            if not base or not mine:
                continue
            best_mse = min(r["mse"] for r in base)
            best_recall = max(r["recall_at_10"] for r in base)
            out.append(
                {
                    "k": k,
                    "held_out": name,
                    "mse": mine[0]["mse"],
                    "mse_target": 0.5 * best_mse,
                    "mse_met": mine[0]["mse"] <= 0.5 * best_mse,
                    "recall": mine[0]["recall_at_10"],
                    "recall_target": best_recall,
                    "recall_met": mine[0]["recall_at_10"] >= best_recall,
                }
            )
    return out


def markdown(rows: list[dict]) -> str:
    """One table per held-out set: MSE / recall@10 (mean +- std of the difference)."""
    lines = []
    methods = list(dict.fromkeys(r["method"] for r in rows))
    for name in HELD_OUT:
        lines += [f"\nHeld out: words {name}. Cell: MSE / recall@10 (mean, std of diff)\n"]
        lines.append("| k | " + " | ".join(methods) + " |")
        lines.append("|---" * (len(methods) + 1) + "|")
        for k in sorted({r["k"] for r in rows}):
            cells = []
            for method in methods:
                r = next(
                    (x for x in rows if (x["k"], x["method"], x["held_out"]) == (k, method, name)),
                    None,
                )
                cells.append(
                    "-"
                    if r is None
                    else f"{r['mse']:.3g} / {r['recall_at_10']:.3f} "
                    f"({r['mean']:+.3f}, {r['std']:.3f})"
                )
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--methods", nargs="+", default=[*BASELINES, "encoder"])
    parser.add_argument("--params", default="{}", help="JSON parameters for the encoders")
    parser.add_argument(
        "--weights",
        choices=["frequency", "none"],
        default="frequency",
        help="sample_weight of the encoders' training words (default: wordfreq frequency)",
    )
    parser.add_argument(
        "--train",
        choices=list(TRAIN_SETS),
        default="2561-20480",
        help="training words by rank; 513-2560 fits on the second held-out set itself, "
        "to see how far the top 512 can be reached from the nearest frequency band",
    )
    parser.add_argument("--out", default="out/bench_quality.json")
    args = parser.parse_args()
    rows = run(args.k, args.methods, json.loads(args.params), args.weights, TRAIN_SETS[args.train])
    result = {"rows": rows, "verdicts": verdicts(rows)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(rows))
    for v in result["verdicts"]:
        print(json.dumps(v))


if __name__ == "__main__":
    main()
