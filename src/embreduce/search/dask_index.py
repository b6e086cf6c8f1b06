"""``embreduce index --engine dask``: a partitioned Parquet corpus encoded on a Dask cluster.

Every partition is one task: it reads its file in batches into a copy of the same empty
index (FAISS's own serialization travels to the workers), and returns its filled shard with
its ids. The client merges the shards in partition order with FAISS's ``merge_from``
(inverted lists get their row offsets), so the index is the one a single process builds from
the partitions read in that order, byte for byte. Workers must see the partitions at the
paths the client sees (one machine, or a shared file system), as for ``compress``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from embreduce.exceptions import EmbreduceError, InputError
from embreduce.search.build import Encoded, encode_source


def _encode_partition(
    path: str, payload: np.ndarray, first_row: int, refine_path: str | None = None
) -> tuple[np.ndarray, list[str], Any]:
    """The task run on a worker: one partition into a copy of the empty index (rows without
    an id are numbered from ``first_row``, their place in the whole corpus); with
    ``refine_path``, its unit vectors into that ``.npy`` file's rows from ``first_row``."""
    import faiss

    from embreduce.io import open_source

    source = open_source(path)
    try:
        rows = None
        if refine_path is not None:
            whole = np.load(refine_path, mmap_mode="r+")
            rows = whole[first_row : first_row + source.n_rows]
        shard = encode_source(
            source, faiss.deserialize_index(payload), first_row=first_row, refine=rows
        )
        del rows
    finally:
        source.close()
    return faiss.serialize_index(shard.index), shard.ids, shard.texts


def encode_dataset(
    folder: str | os.PathLike[str],
    index: Any,
    input_dim: int,
    *,
    ivf: int | None = None,
    refine: tuple[Any, Any] | None = None,
    scheduler: str | None = None,
    n_workers: int = 2,
    show_progress: bool = False,
) -> Encoded:
    """Fill ``index`` (empty) with every partition of ``folder``, one Dask task each.

    Every partition's width is checked before any task runs; with ``ivf`` the first
    partition's first batch trains the inverted lists, on the client. With ``refine``,
    ``(path, dtype)``, the client creates that ``.npy`` file for every row and each task
    writes its partition's unit vectors into its rows (workers share the file system).
    """
    import faiss

    from embreduce.dask_engine import _open_client, list_partitions
    from embreduce.io import open_source
    from embreduce.progress import progress_bar

    files = list_partitions(folder)
    info: dict[str, Any] = {}
    starts, total = [], 0
    for i, path in enumerate(files):
        source = open_source(path)
        starts.append(total)
        total += source.n_rows
        if source.dim != input_dim:
            raise InputError(f"{path}: {source.dim}-d vectors, but the model takes {input_dim}-d")
        if i == 0:
            info = dict(source.info)
            if ivf:
                from embreduce.search.ivf import with_inverted_lists

                first, _ = next(source.chunks(65_536))
                index = with_inverted_lists(index, ivf, np.asarray(first, np.float32))
        source.close()
    refine_path = None
    if refine is not None:
        refine_path = str(refine[0])
        made = np.lib.format.open_memmap(
            refine_path, mode="w+", dtype=refine[1], shape=(total, input_dim)
        )
        del made  # the header and the file's size; the tasks fill the rows
    payload = faiss.serialize_index(index)
    with _open_client(scheduler, n_workers) as client:
        [shared] = client.scatter([payload], broadcast=True, hash=False)
        futures = client.map(
            _encode_partition, [str(p) for p in files], [shared] * len(files), starts,
            [refine_path] * len(files), pure=False,
        )  # fmt: skip
        try:
            with progress_bar("Index", len(files), enabled=show_progress, unit="files") as bar:
                shards = []
                for future in futures:  # in partition order
                    shards.append(future.result())
                    bar.advance(1)
        except EmbreduceError:
            client.cancel(futures)
            raise
    merged = faiss.deserialize_index(payload)
    ids: list[str] = []
    texts: list[str] | None = []
    for blob, shard_ids, shard_texts in shards:
        shard = faiss.deserialize_index(blob)
        # inverted lists keep each row's number: this shard's rows come after those merged
        merged.merge_from(shard, len(ids) if faiss.try_extract_index_ivf(merged) else 0)
        ids += shard_ids
        texts = texts + list(shard_texts) if texts is not None and shard_texts else None
    return Encoded(merged, ids, texts, info)
