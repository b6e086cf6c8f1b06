"""Threads that overlap reading, transforming and writing chunks, in bounded memory.

:func:`prefetch` reads ahead in a thread, :class:`WriteBehind` writes behind in one, and
:class:`Workers` runs tasks on several threads with a one-thread BLAS each, handing the
results back in order. File reads and writes, Parquet decoding and matrix products
release the GIL, so these run side by side.
"""

from __future__ import annotations

import collections
import contextlib
import queue
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

from numpy.typing import NDArray


def prefetch(chunks: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Read the next chunks in a thread while this one is reduced and written.

    Parquet decoding and file reads release the GIL, so reading overlaps the matrix
    product and the writing; ``depth`` bounds how many chunks wait in memory.
    """
    done = object()
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the consumer has gone

    def work() -> None:
        try:
            for item in chunks:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # release the open file in this thread, not at garbage collection

    thread = threading.Thread(target=work, name="embreduce-read", daemon=True)
    thread.start()
    try:
        while (item := slots.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


class WriteBehind:
    """Hand chunks to ``sink.write`` in a thread, so encoding the output overlaps the next
    chunk's reading and matrix product (pyarrow and file writes release the GIL)."""

    def __init__(self, sink: Any, depth: int = 2) -> None:
        self.sink = sink
        self.error: BaseException | None = None
        self.closed = False
        self.slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.thread = threading.Thread(target=self._work, name="embreduce-write", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while (item := self.slots.get()) is not None:
            if self.error is None:  # after a failure, drain the queue so nobody blocks
                try:
                    self.sink.write(*item)
                except BaseException as exc:
                    self.error = exc

    def write(self, vectors: NDArray[Any], labels: Any) -> None:
        if self.error is not None:
            raise self.error
        self.slots.put((vectors, labels))

    def close(self) -> None:
        """Wait for the queued chunks and close the sink; raise the first write error."""
        if self.closed:
            return
        self.closed = True
        self.slots.put(None)
        self.thread.join()
        self.sink.close()
        if self.error is not None:
            raise self.error


class Workers:
    """Run tasks on ``n_jobs`` threads, each with a one-thread BLAS, and hand the results
    back in order.

    File reads and writes, Parquet decoding and the matrix product release the GIL, so
    ``n_jobs`` chunks are worked on at once; one BLAS thread per chunk keeps the BLAS
    pool's spinning threads from fighting the other threads for the same cores. At most
    ``2 * n_jobs`` tasks are in flight, so memory stays flat.
    """

    def __init__(self, n_jobs: int) -> None:
        self.n_jobs = max(1, n_jobs)
        self._stack = ExitStack()
        self.pool: Any = None
        if self.n_jobs > 1:
            from concurrent.futures import ThreadPoolExecutor

            from threadpoolctl import threadpool_limits

            self._stack.enter_context(threadpool_limits(limits=1, user_api="blas"))
            self.pool = self._stack.enter_context(ThreadPoolExecutor(self.n_jobs))

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def map(self, fn: Any, items: Iterator[tuple[Any, ...]]) -> Iterator[Any]:
        """``fn(*item)`` for every item, in order; on an error the queued tasks are dropped."""
        if self.pool is None:
            for item in items:
                yield fn(*item)
            return
        pending: collections.deque[Any] = collections.deque()
        try:
            for item in items:
                pending.append(self.pool.submit(fn, *item))
                if len(pending) >= 2 * self.n_jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
            for future in pending:  # let running tasks end before the files close
                if not future.cancelled():
                    with contextlib.suppress(BaseException):
                        future.result()
