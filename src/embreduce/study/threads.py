"""The threads a study runs on: BLAS, torch and FAISS chosen once, for the whole run, and
the cells run side by side when that pays."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

SMALL_ROWS = 4096
"""Up to this many training vectors, the study's BLAS calls run on one thread, and its cells
run side by side, one a thread."""


@contextlib.contextmanager
def thread_limits(n_rows: int, threads: int | None) -> Iterator[int]:
    """Set the threads of BLAS, torch and FAISS for a study of ``n_rows`` training vectors,
    for the block's length; yield how many cells to run at once.

    Up to :data:`SMALL_ROWS` rows, fits and similarity strips are faster on one BLAS thread,
    so each of ``threads`` cells (default: every core) runs at once, each with BLAS, torch
    and FAISS on one thread: ``threads`` threads in all, never a pool on top of a pool.
    Above, one cell at a time, BLAS, torch and FAISS on ``threads`` each (they run one
    after the other). FAISS's OpenMP pool (when FAISS is loaded) is set first; FAISS's own
    OpenBLAS is built on that pool, so the BLAS limit then holds it as well."""
    from threadpoolctl import threadpool_limits

    from embreduce.validation import check_int

    threads = check_int(threads, "threads", low=1) if threads is not None else os.cpu_count() or 1
    jobs = threads if n_rows <= SMALL_ROWS else 1
    per_job = max(1, threads // jobs)
    blas = 1 if n_rows <= SMALL_ROWS else threads
    torch = sys.modules.get("torch")  # set only if loaded: the encoder loads it when it fits
    faiss = sys.modules.get("faiss")
    before = torch.get_num_threads() if torch is not None else None
    faiss_before = faiss.omp_get_max_threads() if faiss is not None else None
    try:
        if faiss is not None:  # first: FAISS's OpenBLAS follows OpenMP, then the BLAS limit
            faiss.omp_set_num_threads(per_job)
        with threadpool_limits(limits=blas, user_api="blas"):
            if torch is not None:
                torch.set_num_threads(per_job)
            yield jobs
    finally:
        if torch is not None and before is not None:
            torch.set_num_threads(before)
        if faiss is not None and faiss_before is not None:
            faiss.omp_set_num_threads(faiss_before)


def run_side_by_side(
    work: Callable[[Any], Any], items: Sequence[Any], jobs: int
) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, work(item))`` for every item as it finishes, up to ``jobs`` at once.

    With one job the items run in order in the calling thread. With more, they run on a
    pool of threads (NumPy, BLAS, torch and FAISS release the GIL while they compute). When
    one raises, the items not yet started are cancelled, those running are finished and
    yielded, then the error propagates; Ctrl-C cancels the items not yet started and waits
    for the running ones.
    """
    if jobs <= 1 or len(items) <= 1:
        for index, item in enumerate(items):
            yield index, work(item)
        return
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="embreduce-cell")
    error: BaseException | None = None
    try:
        pending = {pool.submit(work, item): index for index, item in enumerate(items)}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=pending.__getitem__):
                index = pending.pop(future)
                if future.exception() is None:
                    yield index, future.result()
                elif error is None:  # the first error: start nothing more
                    error = future.exception()
                    pending = {f: i for f, i in pending.items() if not f.cancel()}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if error is not None:
        raise error
