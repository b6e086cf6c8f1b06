"""A plain FAISS index out of a model folder: :func:`build_index`.

The index is what a study judged, in FAISS's own objects, so that a FAISS user reads it
with ``faiss.read_index`` and searches float queries with no embreduce installed:

- the reducer as a ``LinearTransform`` (``y = A x + b``: every linear reducer, PCA's centring
  as the bias), then a ``NormalizationTransform`` (the study scores unit vectors);
- the codec as the FAISS index that stores the same codes: a FAISS codec's own trained
  index (PQ, OPQ, RQ, LSQ, SQ), or ``IndexFlatIP`` for float32 vectors. A codec
  index searches by L2, as the study scored it: a FAISS user
  gets squared distances ``d``, and ``embreduce search`` reports ``1 - d / 2`` (the cosine
  when a code is exact);
- FAISS's own sequential ids, the corpus rows (``<index>.ids.parquet`` maps them to your
  ids): an ``IndexIDMap`` would add 8 bytes a vector, and ``IndexIDMap2`` its reverse map
  (tens of bytes more), to codes of 8 or 16 bytes.

Our per-dimension scalar codes (8, 4, 2, 1 bits) are scored as the cosine of their decoded
vectors, which no FAISS index computes exactly: they are refused with what to use instead
(a study with ``--faiss sq8,sq4``, or float32), never approximated silently. So is RaBitQ:
FAISS's RaBitQ search estimates the inner product its own way, not from the decoded codes
the study judged.

Beside the index: ``<index>.ids.parquet`` (row, id, text) and ``<index>.json`` (embedding
model, reducer, codec, the study it came from, the SHA-256 of the index file).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embreduce.exceptions import InputError, ParameterError
from embreduce.validation import unit_float32

PathLike = str | os.PathLike[str]
RQ_NORMS = ("float", "codebooks")
"""Where a residual code's norm comes from in an L2 search: stored beside the code as a
float (4 bytes more, look-up-table speed), or computed from the codebooks (no extra bytes,
about 20x the scan time; ``benchmarks/bench_rq_search.py``)."""
REFINE = ("none", "float16", "float32")
"""What an index keeps for re-scoring: nothing, or the unit input vectors (on disk)."""
INDEX_SUFFIXES = (".faiss", ".index")


@dataclass(frozen=True)
class IndexFiles:
    """The files :func:`build_index` wrote."""

    index: Path
    ids: Path
    sidecar: Path
    refine: Path | None
    n: int
    facts: dict[str, Any]


def sidecar_paths(index: PathLike) -> tuple[Path, Path, Path]:
    """``(ids.parquet, json, refine.npy)`` beside ``index``."""
    index = Path(index)
    stem = index.with_suffix("")
    return (
        stem.with_name(stem.name + ".ids.parquet"),
        index.with_name(index.name + ".json"),
        stem.with_name(stem.name + ".refine.npy"),
    )


def faiss_chain(
    model_dir: PathLike, codec: str | None = None, *, rq_norm: str = "float"
) -> tuple[Any, dict[str, Any]]:
    """The empty FAISS index of a model folder and its codec, and what it is made of.

    Parameters
    ----------
    model_dir : path-like
        A model folder (``embreduce study`` saves one per candidate).
    codec : str, optional
        A codec folder id saved beside the model (``"faiss-rq16"``); default the model's
        default codec, or float32 when it has none.
    rq_norm : {"float", "codebooks"}
        A residual quantizer's norms for the L2 search (:data:`RQ_NORMS`); the codes are
        the codec's either way, with ``"float"`` each followed by its decoded norm.

    Raises
    ------
    InputError
        A reducer that is not linear, or a codec with no exact FAISS form.
    """
    import faiss

    from embreduce.codecs import FaissCodec, load_model_codec
    from embreduce.reducers.linear import linear_pair, load_saved
    from embreduce.reducers.persistence import reducer_config

    if rq_norm not in RQ_NORMS:
        raise ParameterError(f"rq_norm must be one of {', '.join(RQ_NORMS)}, got {rq_norm!r}")
    model_dir = Path(model_dir)
    mapping = linear_pair(load_saved(model_dir))
    method = reducer_config(model_dir).get("method")
    if mapping is None:
        raise InputError(
            f"{model_dir}: the {method} reducer is not linear; a FAISS index holds "
            "linear reducers only (pca, svd, random, truncate, encoder)"
        )
    W, b = mapping
    d_in, k = W.shape
    transform = faiss.LinearTransform(int(d_in), int(k), True)
    faiss.copy_array_to_vector(np.ascontiguousarray(W.T, np.float32).ravel(), transform.A)
    faiss.copy_array_to_vector(np.asarray(b, np.float32), transform.b)
    transform.is_trained = True
    fitted = load_model_codec(model_dir, codec=codec)
    if fitted is None:
        inner, codec_name = faiss.IndexFlatIP(int(k)), "float32"
    elif isinstance(fitted, FaissCodec) and fitted.quantizer == "rabitq":
        raise InputError(
            f"{model_dir}: FAISS's RaBitQ search estimates each score its own way, not from "
            "the decoded codes the study judged (their top 10s differ); build from another "
            "FAISS codec (pq, opq, rq, sq8, sq4) or from float32 (--codec none)"
        )
    elif isinstance(fitted, FaissCodec):
        inner = faiss.deserialize_index(np.ascontiguousarray(fitted.index_, np.uint8))
        codec_name = fitted.folder_id
        _set_rq_norm(inner, rq_norm)
    elif getattr(fitted, "lossless", False):
        inner, codec_name = faiss.IndexFlatIP(int(k)), "float32"
    else:
        raise InputError(
            f"{model_dir}: the {fitted.folder_id} codec has no exact FAISS form (its codes "
            "are scored as the cosine of their decoded vectors); build from float32 "
            "(--codec none) or from a FAISS codec (a study with --faiss sq8,sq4,pq,rq)"
        )
    chain = faiss.IndexPreTransform(inner)
    chain.prepend_transform(faiss.NormalizationTransform(int(k), 2.0))
    if not (d_in == k and np.array_equal(W, np.eye(k)) and not np.any(b)):
        chain.prepend_transform(transform)  # the identity (original-<d>) needs none
    index = chain
    facts = {
        "reducer": method,
        "model_dir": str(model_dir),
        "input_dim": int(d_in),
        "dim": int(k),
        "codec": codec_name,
        "codec_id": None if fitted is None else fitted.describe()["id"],
        "bytes_per_vector": int(inner.sa_code_size()),
        "code_bytes": None if fitted is None else int(fitted.bytes_per_vector()),
        "metric": "l2" if inner.metric_type == faiss.METRIC_L2 else "inner product",
        "score": "1 - d / 2 of FAISS's squared L2 distance d between unit vectors"
        if inner.metric_type == faiss.METRIC_L2
        else "FAISS's inner product (the cosine for float32)",
    }
    return index, facts


def _set_rq_norm(index: Any, rq_norm: str) -> None:
    """A residual quantizer's L2 index keeps each code's norm as a float (``"float"``), or
    computes it from the codebooks (``"codebooks"``, how the codec was fitted; a codec
    fitted for another metric was refused when it was loaded)."""
    import faiss

    inner = faiss.downcast_index(index)
    if rq_norm == "codebooks" or not isinstance(inner, faiss.IndexResidualQuantizer):
        return
    inner.rq.search_type = faiss.AdditiveQuantizer.ST_norm_float
    inner.rq.set_derived_values()  # the code grows by the norm's 32 bits
    inner.code_size = inner.rq.code_size


def _row_ids(labels: Any, start: int, n: int) -> tuple[list[str], list[str] | None]:
    from embreduce.io.retrieval import ID_COLUMNS

    names = [] if labels is None else labels.column_names
    column = next((c for c in ID_COLUMNS if c in names), None)
    ids = (
        [str(v) for v in labels.column(column).to_pylist()]
        if column
        else [str(i) for i in range(start, start + n)]
    )
    texts = labels.column("text").to_pylist() if labels is not None and "text" in names else None
    return ids, texts


def build_index(
    corpus: PathLike,
    model_dir: PathLike,
    output: PathLike,
    *,
    codec: str | None = None,
    refine: str = "none",
    batch_rows: int = 65_536,
    study: dict[str, Any] | None = None,
    embedding_model: str | None = None,
    ivf: int | None = None,
    rq_norm: str = "float",
    engine: str = "local",
    scheduler: str | None = None,
    workers: int = 2,
    overwrite: bool = False,
    show_progress: bool = False,
) -> IndexFiles:
    """Encode a corpus into a plain FAISS index, streaming, with its sidecars.

    Parameters
    ----------
    corpus : path-like
        Vectors (``.npy``/``.npz``/``.parquet``), read ``batch_rows`` at a time; or texts
        (BEIR's ``corpus.jsonl``, a table with a ``text`` column, a ``.txt``), embedded
        with ``embedding_model`` first (in memory). An id column (``_id``, ``id``,
        ``ids``...) names the rows, else their numbers do.
    model_dir : path-like
        The model folder (see :func:`faiss_chain`).
    output : path-like
        The index file (``.faiss``); its sidecars go beside it.
    codec : str, optional
        A codec folder id; ``"none"`` for float32.
    refine : {"none", "float16", "float32"}
        Keep the unit input vectors (``<index>.refine.npy``) to re-score candidates with.
    study : dict, optional
        The study the model came from (recorded in the sidecar).
    embedding_model : str, optional
        The model that embeds a corpus of texts (default all-MiniLM-L6-v2).
    ivf : int, optional
        Inverted lists over the same codes (see :mod:`embreduce.search.ivf`): the coarse
        quantizer is trained on the first ``batch_rows`` corpus vectors.
    rq_norm : {"float", "codebooks"}
        A residual code's norm for the L2 search: stored beside it (4 bytes a vector more,
        about 20x faster to search) or computed from the codebooks (see :data:`RQ_NORMS`).
    engine : {"local", "dask"}
        ``"dask"``: ``corpus`` is a folder of Parquet partitions, each encoded by a task on
        a Dask cluster (``scheduler``'s, or a local one of ``workers`` processes), the
        shards merged in partition order (see :mod:`embreduce.search.dask_index`).

    Returns
    -------
    IndexFiles
    """
    import faiss

    from embreduce.io.retrieval import check_ids
    from embreduce.outputs import atomic_write

    ivf, (output, ids_path, json_path, refine_path) = _check_settings(
        corpus, output, ivf, refine, overwrite
    )
    index, facts = faiss_chain(model_dir, None if codec == "none" else codec, rq_norm=rq_norm)
    if engine not in ("local", "dask"):
        raise ParameterError(f"engine must be local or dask, got {engine!r}")
    if engine == "local":
        source = _open_corpus(corpus, embedding_model, show_progress)
        if source.dim != facts["input_dim"]:
            source.close()
            raise InputError(
                f"{corpus}: {source.dim}-d vectors, but the model takes {facts['input_dim']}-d"
            )
    with contextlib.ExitStack() as stack:  # every file lands, or none does
        tmp_index, tmp_ids, tmp_json = (
            stack.enter_context(atomic_write(p, overwrite=overwrite))
            for p in (output, ids_path, json_path)
        )
        keep = None  # (temporary path, dtype) of the re-scoring vectors
        if refine != "none":
            keep = (
                stack.enter_context(atomic_write(refine_path, overwrite=overwrite)),
                np.float16 if refine == "float16" else np.float32,
            )
        if engine == "dask":
            from embreduce.search.dask_index import encode_dataset

            encoded = encode_dataset(
                corpus, index, facts["input_dim"], ivf=ivf, refine=keep, scheduler=scheduler,
                n_workers=workers, show_progress=show_progress,
            )  # fmt: skip
        else:
            stack.callback(source.close)
            refine_file = None
            if keep is not None:
                refine_file = np.lib.format.open_memmap(
                    keep[0], mode="w+", dtype=keep[1], shape=(source.n_rows, source.dim)
                )
            encoded = encode_source(
                source, index, ivf=ivf, batch_rows=batch_rows, refine=refine_file,
                show_progress=show_progress,
            )  # fmt: skip
            del refine_file  # flushed and closed before its temporary file is renamed
        check_ids(encoded.ids, f"{corpus} ids")
        faiss.write_index(encoded.index, str(tmp_index))
        _write_ids(tmp_ids, encoded.ids, encoded.texts)
        facts.update(
            {
                "format": "embreduce-faiss-index",
                "version": 1,
                "n": len(encoded.ids),
                "embedding_model": encoded.info.get("model"),
                "normalized_input": bool(encoded.info.get("normalized", False)),
                "refine": refine,
                "ivf": ivf,
                "study": study,
                "index_sha256": hashlib.sha256(Path(tmp_index).read_bytes()).hexdigest(),
                "faiss": faiss.__version__,
            }
        )
        Path(tmp_json).write_text(json.dumps(facts, indent=2), encoding="utf-8")
    return IndexFiles(
        output,
        ids_path,
        json_path,
        refine_path if refine != "none" else None,
        len(encoded.ids),
        facts,
    )


ADD_ROWS = 8_192
"""Rows handed to FAISS's ``add`` at once: a product quantizer's encoding holds a distance
table of ``rows x M x 256`` floats (1 GiB for 65,536 rows of PQ16), so it gets them in
smaller pieces than the corpus is read in."""


@dataclass
class Encoded:
    """A filled index with the ids and texts of its rows, and the vectors' provenance."""

    index: Any
    ids: list[str]
    texts: list[str] | None
    info: dict[str, Any]


def encode_source(
    source: Any,
    index: Any,
    *,
    ivf: int | None = None,
    batch_rows: int = 65_536,
    refine: np.ndarray | None = None,
    first_row: int = 0,
    show_progress: bool = False,
) -> Encoded:
    """Add a vector source to an empty index, ``batch_rows`` at a time; with ``ivf``, the
    first batch trains the inverted lists' centroids; ``refine`` gets the unit vectors."""
    from embreduce.progress import progress_bar

    ids: list[str] = []
    texts: list[str] | None = []
    start, lists = 0, ivf
    with progress_bar("Index", source.n_rows, enabled=show_progress) as bar:
        for vectors, labels in source.chunks(batch_rows):
            X = _checked(vectors, source.path, start)
            if lists:
                from embreduce.search.ivf import with_inverted_lists

                index, lists = with_inverted_lists(index, ivf, X), None
            chunk_ids, chunk_texts = _row_ids(labels, first_row + start, len(X))
            ids += chunk_ids
            texts = (
                texts + [str(t) for t in chunk_texts] if texts is not None and chunk_texts else None
            )
            for s in range(0, len(X), ADD_ROWS):  # FAISS numbers the rows in order
                index.add(X[s : s + ADD_ROWS])
            if refine is not None:
                refine[start : start + len(X)] = unit_float32(X)
            start += len(X)
            bar.advance(len(X))
    if refine is not None:
        refine.flush()
    return Encoded(index, ids, texts, dict(source.info))


def _check_settings(
    corpus: PathLike, output: PathLike, ivf: int | None, refine: str, overwrite: bool
) -> tuple[int | None, tuple[Path, Path, Path, Path]]:
    """Check ``ivf``, ``refine`` and every output file before any work: ``(ivf, (index,
    ids, json, refine paths))``."""
    from embreduce.outputs import check_output_file
    from embreduce.validation import check_int

    if ivf is not None:
        ivf = check_int(ivf, "ivf", low=1)
    if refine not in REFINE:
        raise ParameterError(f"refine must be one of {', '.join(REFINE)}, got {refine!r}")
    output = check_output_file(
        output, suffixes=INDEX_SUFFIXES, inputs=[corpus], overwrite=overwrite
    )
    ids_path, json_path, refine_path = sidecar_paths(output)
    for path in (ids_path, json_path) + ((refine_path,) if refine != "none" else ()):
        check_output_file(path, suffixes=(path.suffix,), inputs=[corpus], overwrite=overwrite)
    return ivf, (output, ids_path, json_path, refine_path)


def _open_corpus(corpus: PathLike, model: str | None, show_progress: bool) -> Any:
    """A vector source over the corpus: its vectors, or its texts embedded now."""
    from embreduce.io import holds_vectors, open_source
    from embreduce.io.source import in_memory_source

    if holds_vectors(corpus):
        return open_source(corpus)
    from embreduce.embedding import Embedder, embed_items, text_items

    data = embed_items(text_items(corpus), Embedder(model=model), show_progress=show_progress)
    return in_memory_source(Path(corpus), data)


def _checked(vectors: Any, corpus: PathLike, start: int) -> np.ndarray:
    from embreduce.validation import check_vectors

    try:
        return check_vectors(vectors, name=str(corpus), allow_zero=False)
    except InputError as exc:
        raise InputError(f"{exc} (in the rows from {start:,})") from None


def _write_ids(path: PathLike, ids: Sequence[str], texts: Sequence[str] | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {"row": pa.array(np.arange(len(ids), dtype=np.int64)), "id": pa.array(ids)}
    if texts is not None and len(texts) == len(ids):
        columns["text"] = pa.array(texts, type=pa.string())
    pq.write_table(pa.table(columns), path)
