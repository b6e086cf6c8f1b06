"""Compress a partitioned Parquet dataset on a Dask cluster, one task per partition.

Each task runs the single-process streaming path (:func:`embreduce.compress.compress`) on
one input file and writes one output file of the same name, so the result is the
single-process result, file for file. The reducer travels to the workers once, as the
in-memory :class:`~embreduce.compress.Compressor` (its ``W`` and ``b`` arrays for linear
reducers); what is saved on disk stays JSON plus safetensors.

Workers must see the input and output folders at the same paths as the client (one
machine, or a shared file system).

Tasks are submitted with ``client.map`` rather than built with
``dask.dataframe.map_partitions``: a dataframe partition is held whole in a worker's
memory, while a task that streams its file keeps memory flat whatever the file's size.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embreduce.compress import Compressor, check_codes_column, compress
from embreduce.exceptions import EmbreduceError, InputError
from embreduce.io import open_source
from embreduce.outputs import atomic_directory, check_output_folder
from embreduce.progress import progress_bar
from embreduce.validation import check_int


@dataclass
class DatasetResult:
    """What :func:`compress_dataset` did.

    Attributes
    ----------
    path : pathlib.Path
        The output folder: one ``.parquet`` file per input partition, same names.
    n_partitions, n_rows, n_features_in, n_components : int
    seconds : float
        Wall time, cluster start-up included.
    scheduler : str
        The address of the scheduler that ran the tasks.
    codec : dict, optional
        The codec's description when codes were written.
    """

    path: Path
    n_partitions: int
    n_rows: int
    n_features_in: int
    n_components: int
    seconds: float
    scheduler: str
    codec: dict[str, Any] | None = None

    @property
    def rows_per_second(self) -> float:
        """Throughput of the whole run."""
        return self.n_rows / self.seconds if self.seconds > 0 else float("inf")


def list_partitions(directory: str | os.PathLike[str]) -> list[Path]:
    """The ``.parquet`` files of a dataset folder (subfolders too), in a stable order.

    Files whose names start with ``_`` or ``.`` (``_metadata``, temporary files) are left out.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(
            f"{directory}: no such folder (--engine dask reads a Parquet dataset folder)"
        )
    files = [
        p
        for p in directory.rglob("*.parquet")
        if p.is_file()
        and not any(part.startswith(("_", ".")) for part in p.relative_to(directory).parts)
    ]
    if not files:
        raise InputError(f"{directory}: no .parquet files found")
    return sorted(files, key=lambda p: _natural_key(p.relative_to(directory)))


def _natural_key(path: Path) -> list[Any]:
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]


def _compress_partition(
    source: str,
    output: str,
    compressor: Compressor,
    vector_column: str | None,
    chunk_rows: int | None,
) -> int:
    """The task run on a worker: compress one file; returns its row count."""
    result = compress(
        source,
        compressor,
        output,
        vector_column=vector_column,
        chunk_rows=chunk_rows,
        n_jobs=1,  # Dask runs one task per worker thread; workers get one BLAS thread
    )
    return result.n_rows


def compress_dataset(
    source: str | os.PathLike[str],
    model: str | os.PathLike[str] | Compressor,
    output: str | os.PathLike[str],
    *,
    scheduler: str | None = None,
    client: Any = None,
    n_workers: int = 2,
    dtype: str = "float32",
    normalize: bool = False,
    bits: int | None = None,
    rotation: str | None = None,
    codec: str | None = None,
    vector_column: str | None = None,
    chunk_rows: int | None = None,
    show_progress: bool = False,
    overwrite: bool = False,
) -> DatasetResult:
    """Compress every partition of a Parquet dataset folder with Dask.

    Parameters
    ----------
    source : path-like
        A folder of ``.parquet`` files (e.g. written by ``dask.dataframe.to_parquet``),
        each with a list column of vectors.
    model : path-like or Compressor
        A reducer folder saved by ``save_reducer``/``embreduce study``, or a Compressor.
    output : path-like
        The output folder, written atomically: one file per input partition, same
        relative paths and names. It must not exist or be empty, unless ``overwrite``;
        it may not be, hold or lie inside the input folder or the reducer folder.
    scheduler : str, optional
        Address of a running Dask scheduler, e.g. ``tcp://host:8786``. Default: start a
        local cluster for this call.
    client : distributed.Client, optional
        An open client to use instead (it is left open).
    n_workers : int
        Workers of the local cluster (one thread each), when neither ``scheduler`` nor
        ``client`` is given.
    dtype, normalize, bits, rotation, codec, vector_column, chunk_rows, show_progress
        As for :func:`embreduce.compress.compress`.
    overwrite : bool
        Write into an existing folder: each partition written replaces a file of the same
        name, and nothing else there is touched.

    Returns
    -------
    DatasetResult

    Raises
    ------
    InputError
        A partition whose dimension is not the reducer's (all are checked before any task
        runs), NaN values (the message names the file and the row), a scheduler that
        cannot be reached.
    """
    start = time.perf_counter()
    files = list_partitions(source)
    model_dir = None if isinstance(model, Compressor) else model
    output = check_output_folder(output, inputs=[source, model_dir], overwrite=overwrite)
    if not isinstance(model, Compressor):
        model = Compressor.load(
            model, dtype=dtype, normalize=normalize, bits=bits, rotation=rotation, codec=codec
        )
    source = Path(source)
    n_rows = {}
    for path in files:
        opened = open_source(path, vector_column=vector_column)
        model.check_dim(opened.dim, str(path.relative_to(source)))
        check_codes_column(opened, model, ".parquet")
        n_rows[path] = opened.n_rows
        opened.close()
    with ExitStack() as stack:
        client = client or stack.enter_context(_open_client(scheduler, n_workers))
        with atomic_directory(output, overwrite=overwrite) as tmp:
            _run(
                client, files, source, tmp, model, vector_column, chunk_rows, n_rows, show_progress
            )
        address = client.scheduler.address
    return DatasetResult(
        output,
        len(files),
        sum(n_rows.values()),
        model.n_features_in,
        model.n_components,
        time.perf_counter() - start,
        address,
        None if model.codec is None else model.codec.describe(),
    )


def _run(
    client: Any,
    files: list[Path],
    source: Path,
    tmp: Path,
    model: Compressor,
    vector_column: str | None,
    chunk_rows: int | None,
    n_rows: dict[Path, int],
    show_progress: bool,
) -> None:
    from distributed import as_completed

    outputs = [tmp / path.relative_to(source) for path in files]
    for out in outputs:
        out.parent.mkdir(parents=True, exist_ok=True)
    # hash=False: a fresh key every run. With content-hashed keys, a second run of the same
    # model on a shared scheduler can reuse a key the first run's client is releasing, and
    # its tasks then fail with "lost data".
    [shared] = client.scatter([model], broadcast=True, hash=False)
    futures = client.map(
        _compress_partition,
        [str(p) for p in files],
        [str(p) for p in outputs],
        compressor=shared,
        vector_column=vector_column,
        chunk_rows=chunk_rows,
        pure=False,
    )
    try:
        with progress_bar(
            "Compressing", sum(n_rows.values()), enabled=show_progress, unit="rows"
        ) as bar:
            for future in as_completed(futures):
                bar.advance(future.result())
    except EmbreduceError:
        client.cancel(futures)
        raise


@contextmanager
def _open_client(scheduler: str | None, n_workers: int) -> Iterator[Any]:
    """A client of the scheduler at ``scheduler``, or of a local cluster made for this call."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client
        return
    n_workers = check_int(n_workers, "n_workers", low=1)
    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, dashboard_address=None, silence_logs=50
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
