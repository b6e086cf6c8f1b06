"""Throughput of ``embreduce embed`` against a plain ``SentenceTransformer.encode``.

Both run in this process on the same loaded model and the same texts (the 2,560 most
frequent English words), alternating, for several rounds. The embreduce side goes
through the same code as the CLI (``embed_items`` with its progress bar on).

Run:  HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_embed.py [--rounds 5] [--words 2560]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from embreduce.embedding import Embedder, embed_items, top_words
from embreduce.io import TextItems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--words", type=int, default=2560)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    texts = top_words(args.words)
    embedder = Embedder(device=args.device)
    plain_model = embedder._model  # the very same SentenceTransformer object
    plain_model.encode(texts[:256], batch_size=args.batch_size)  # warm up

    ours, plain = [], []
    for _ in range(args.rounds):
        start = time.perf_counter()
        plain_model.encode(texts, batch_size=args.batch_size, show_progress_bar=False)
        plain.append(len(texts) / (time.perf_counter() - start))
        start = time.perf_counter()
        embed_items(TextItems(texts), embedder, batch_size=args.batch_size, show_progress=True)
        ours.append(len(texts) / (time.perf_counter() - start))

    med_ours, med_plain = statistics.median(ours), statistics.median(plain)
    print(
        f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"device {args.device}, torch {torch.__version__}"
    )
    print(f"texts: {len(texts)} words, batch size {args.batch_size}, rounds {args.rounds}")
    print(
        f"plain SentenceTransformer.encode: median {med_plain:,.0f} texts/s "
        f"(rounds: {', '.join(f'{x:,.0f}' for x in plain)})"
    )
    print(
        f"embreduce embed:                  median {med_ours:,.0f} texts/s "
        f"(rounds: {', '.join(f'{x:,.0f}' for x in ours)})"
    )
    print(f"ratio embreduce / plain: {med_ours / med_plain:.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()
