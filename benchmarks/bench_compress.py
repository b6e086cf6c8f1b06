"""Throughput and peak memory of ``embreduce compress`` against a bare numpy matmul.

1. Writes N x D float32 unit vectors (with an ``id`` column) to Parquet the way embreduce
   writes them (a non-null fixed-size-list ``embedding`` column of non-null floats, snappy,
   no dictionary or statistics on the vectors; ``--nullable`` declares column and items
   nullable instead, as pandas and most other writers do), in row groups of up to 65,536
   rows: one file for the single-process path and a folder of equal partitions for
   ``--engine dask``; and the same rows as one ``.npy``.
2. Fits the linear encoder (``encoder``, K dims) on a 20,000-row sample and saves it.
3. Baseline: ``X @ W`` over all N rows held in memory (the data already loaded, float32,
   numpy's BLAS on every core).
4. Runs ``compress`` (file in, file out, default ``n_jobs`` = every core) in a new child
   process each time and reads its own timing (the data work, after loading the reducer)
   and its peak RSS (``VmHWM``); then ``compress_dataset`` (``--engine dask``) on a local
   cluster of 2 worker processes, where the peak RSS is summed over the whole process tree
   (client with the scheduler, nannies, workers), sampled every 50 ms.
5. Two references that explain the result: reading the Parquet file with compress's
   one-thread reader and doing nothing else, and ``compress`` from ``.npy`` to ``.npy``
   (no Parquet decoding or encoding at all).

Every measurement runs ``--repeat`` times (default 3); the median is reported with the
range, because a small shared VM moves single runs by +-30 %.

Run:  .venv/bin/python benchmarks/bench_compress.py [--rows 1000000] [--dim 384] [--k 128]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SINGLE = """
import json, sys
from embreduce.compress import compress
r = compress(sys.argv[1], sys.argv[2], sys.argv[3])
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork + exec
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak = int(status.split()[0]) * 1024
print(json.dumps({"seconds": r.seconds, "rows": r.n_rows, "peak_rss": peak}))
"""

DASK = """
import json, sys, time
from distributed import Client, LocalCluster
from embreduce.dask_engine import compress_dataset
if __name__ == "__main__":
    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \\
            Client(cluster) as client:
        startup = time.perf_counter() - start
        r = compress_dataset(sys.argv[1], sys.argv[2], sys.argv[3], client=client)
    print(json.dumps({"seconds": r.seconds, "startup": startup, "rows": r.n_rows}))
"""


def write_inputs(
    folder: Path, n: int, d: int, partitions: int, seed: int, nullable: bool = False
) -> None:
    """One Parquet file and a folder of ``partitions`` files holding the same rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from embreduce.io import vector_field, vectors_to_arrow

    rng = np.random.default_rng(seed)
    group = 65_536
    bounds = np.linspace(0, n, partitions + 1).astype(int)
    (folder / "dataset").mkdir()
    single = None
    for p in range(partitions):
        part = None
        for start in range(bounds[p], bounds[p + 1], group):
            stop = min(start + group, bounds[p + 1])
            X = rng.normal(size=(stop - start, d)).astype(np.float32)
            X /= np.linalg.norm(X, axis=1, keepdims=True)
            column = vectors_to_arrow(X)
            field = vector_field("embedding", column)
            if nullable:
                column = column.cast(pa.list_(pa.float32(), d))
                field = pa.field("embedding", column.type)
            schema = pa.schema([pa.field("id", pa.int64()), field])
            table = pa.Table.from_arrays([pa.array(np.arange(start, stop)), column], schema=schema)
            options = {"use_dictionary": ["id"], "write_statistics": ["id"]}  # as embreduce
            if single is None:
                single = pq.ParquetWriter(folder / "vectors.parquet", schema, **options)
            if part is None:
                part = pq.ParquetWriter(folder / "dataset" / f"part.{p}.parquet", schema, **options)
            single.write_table(table)
            part.write_table(table)
        part.close()
    single.close()


def fit_encoder(folder: Path, d: int, k: int, seed: int) -> Path:
    import pyarrow.parquet as pq

    from embreduce.io import arrow_to_vectors
    from embreduce.reducers import make_reducer, save_reducer

    with pq.ParquetFile(folder / "vectors.parquet") as pf:
        sample = arrow_to_vectors(next(pf.iter_batches(batch_size=20_000)).column("embedding"))
    encoder = make_reducer("encoder", k, random_state=seed, max_epochs=5, device="cpu")
    return save_reducer(encoder.fit(sample), folder / f"encoder-{k}", method="encoder")


def _spread(rates: list[float]) -> str:
    return f"{statistics.median(rates):>10,.0f} ({min(rates):,.0f} - {max(rates):,.0f})"


def bare_matmul(folder: Path, model: Path, rounds: int = 3) -> list[float]:
    """Rows/s of ``X @ W`` over every row, the data already in memory, ``rounds`` times."""
    import pyarrow.parquet as pq

    from embreduce.io import arrow_to_vectors
    from embreduce.reducers import linear_map, load_reducer

    W = np.ascontiguousarray(linear_map(load_reducer(model))[0], dtype=np.float32)
    X = arrow_to_vectors(pq.read_table(folder / "vectors.parquet").column("embedding"))
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        X @ W
        rates.append(len(X) / (time.perf_counter() - start))
    return rates


def read_only(folder: Path) -> float:
    """Rows/s of reading the Parquet file the way compress does, doing nothing with it."""
    from embreduce.compress import default_chunk_rows
    from embreduce.io import open_source

    source = open_source(folder / "vectors.parquet")
    start = time.perf_counter()
    for _vectors, _labels in source.chunks(default_chunk_rows(source.dim)):
        pass
    return source.n_rows / (time.perf_counter() - start)


def write_npy(folder: Path) -> Path:
    """The same vectors as one ``.npy`` file, copied a chunk at a time."""
    from embreduce.io import open_source

    source = open_source(folder / "vectors.parquet")
    path = folder / "vectors.npy"
    out = np.lib.format.open_memmap(path, "w+", np.float32, (source.n_rows, source.dim))
    start = 0
    for vectors, _ in source.chunks(65_536):
        out[start : start + len(vectors)] = vectors
        start += len(vectors)
    out.flush()
    del out
    return path


def run_child(code: str, args: list[str]) -> tuple[dict, float, int]:
    """Run ``code`` in a child; return its JSON, its wall time and the tree's peak RSS.

    Dirty pages of earlier steps are flushed first, so that the kernel's write-back of
    one step's output does not take CPU from the next step.
    """
    import psutil

    os.sync()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    parent, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, _ = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"child failed with exit code {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1]), wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--k", type=int, default=128)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None, help="Default: a temp folder.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs of each measurement.")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument(
        "--nullable", action="store_true", help="Input vectors declared nullable (pandas-style)."
    )
    parser.add_argument("--prepare-only", action="store_true", help="Write inputs, then stop.")
    args = parser.parse_args()

    folder = args.workdir or Path(tempfile.mkdtemp(prefix="bench-compress-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        start = time.perf_counter()
        model = folder / f"encoder-{args.k}"
        if not model.is_dir():  # a --workdir from an earlier run is reused as it is
            write_inputs(folder, args.rows, args.dim, args.partitions, args.seed, args.nullable)
            model = fit_encoder(folder, args.dim, args.k, args.seed)
            write_npy(folder)
        print(f"inputs and encoder ready in {time.perf_counter() - start:.0f} s ({folder})")
        if args.prepare_only:
            return
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
              f"{platform.python_version()}, numpy {np.__version__}, load average "
              f"{os.getloadavg()[0]:.1f}")  # fmt: skip
        print(f"data: {args.rows:,} x {args.dim} float32 -> {args.k} (linear encoder)")
        print(f"each figure: the median of {args.repeat} runs (min - max), each in a new process")
        baseline = bare_matmul(folder, model, args.repeat)
        print(f"bare numpy matmul, in memory:  {_spread(baseline)} rows/s")
        base = statistics.median(baseline)
        ceiling = [read_only(folder) for _ in range(args.repeat)]
        print(f"reading the Parquet file only, one thread: {_spread(ceiling)} rows/s")

        runs = {
            "compress Parquet -> Parquet": ("vectors.parquet", "out.parquet"),
            "compress .npy -> .npy": ("vectors.npy", "out.npy"),
        }
        for label, (source, target) in runs.items():
            results = [
                run_child(SINGLE, [str(folder / source), str(model), str(folder / target)])
                for _ in range(args.repeat)
            ]
            rates = [r["rows"] / r["seconds"] for r, _, _ in results]
            startup = statistics.median(wall - r["seconds"] for r, wall, _ in results)
            peak = max(r["peak_rss"] for r, _, _ in results)
            print(
                f"{label}: {_spread(rates)} rows/s, {statistics.median(rates) / base:.0%} of "
                f"the matmul (target >= 50%); {startup:.1f} s of start-up on top; peak RSS "
                f"{peak / 2**20:,.0f} MiB (target <= 1024 MiB)"
            )
        if not args.skip_dask:
            results = [
                run_child(DASK, [str(folder / "dataset"), str(model), str(folder / "out-dataset")])
                for _ in range(args.repeat)
            ]
            rates = [r["rows"] / r["seconds"] for r, _, _ in results]
            startup = statistics.median(r["startup"] for r, _, _ in results)
            peak = max(p for _, _, p in results)
            print(
                f"compress --engine dask, 2 workers, {args.partitions} partitions: "
                f"{_spread(rates)} rows/s, {statistics.median(rates) / base:.0%} of the matmul, "
                f"after a {startup:.1f} s cluster start; peak RSS of the process tree "
                f"{peak / 2**20:,.0f} MiB"
            )
        after = bare_matmul(folder, model, args.repeat)
        print(f"bare numpy matmul again, after: {_spread(after)} rows/s")
    finally:
        if args.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
