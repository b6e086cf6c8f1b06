"""The threads a study runs on: BLAS, torch and FAISS chosen once, for the whole run."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

SMALL_ROWS = 4096
"""Up to this many training vectors, the study's BLAS calls run on one thread."""


@contextlib.contextmanager
def thread_limits(n_rows: int, threads: int | None) -> Iterator[None]:
    """Hold BLAS to one thread for a study of ``n_rows`` up to :data:`SMALL_ROWS` (else to
    ``threads``, default every core), and torch to ``threads``, for the block's length.

    FAISS's OpenMP pool (when FAISS is loaded) is set to ``threads`` first; FAISS's own
    OpenBLAS is built on that pool, so the BLAS limit then holds it, and FAISS's loops, to
    one thread for a small study as well."""
    from threadpoolctl import threadpool_limits

    from embreduce.validation import check_int

    threads = check_int(threads, "threads", low=1) if threads is not None else os.cpu_count() or 1
    blas = 1 if n_rows <= SMALL_ROWS else threads
    torch = sys.modules.get("torch")  # set only if loaded: the encoder loads it when it fits
    faiss = sys.modules.get("faiss")
    before = torch.get_num_threads() if torch is not None else None
    faiss_before = faiss.omp_get_max_threads() if faiss is not None else None
    try:
        if faiss is not None:  # first: FAISS's OpenBLAS follows OpenMP, then the BLAS limit
            faiss.omp_set_num_threads(threads)
        with threadpool_limits(limits=blas, user_api="blas"):
            if torch is not None:
                torch.set_num_threads(threads)
            yield
    finally:
        if torch is not None and before is not None:
            torch.set_num_threads(before)
        if faiss is not None and faiss_before is not None:
            faiss.omp_set_num_threads(faiss_before)
