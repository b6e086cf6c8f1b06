"""Vectors and texts in and out: npy, npz, parquet, csv/tsv and plain text.

One module a format (:mod:`~embreduce.io.npy`, :mod:`~embreduce.io.npz`,
:mod:`~embreduce.io.parquet`, :mod:`~embreduce.io.tables` for CSV/TSV,
:mod:`~embreduce.io.texts`, :mod:`~embreduce.io.pairs`), each holding how the format is read
and written, whole or streamed; :mod:`~embreduce.io.vectors` picks the format by suffix.
Every writer goes through :func:`embreduce.outputs.atomic_write`, so a failed run never
leaves a half file. Every reader returns an :class:`EmbeddingSet` (vectors + optional texts
and metadata) or, for inputs that hold texts to embed, a :class:`TextItems`.

The names below are imported on first use (PEP 562): reading or writing ``.npy`` loads
neither pandas nor pyarrow (0.5 s), which the tables and Parquet need.
"""

from __future__ import annotations

from embreduce.lazy import lazy_exports

_WHERE = {
    "CODES_COLUMN": "embreduce.io.columns",
    "EmbeddingSet": "embreduce.io.embedding_set",
    "LabelledPairs": "embreduce.io.pairs",
    "ROW_GROUP_ROWS": "embreduce.io.parquet",
    "TEXT_COLUMN": "embreduce.io.columns",
    "TextItems": "embreduce.io.texts",
    "VECTOR_COLUMN": "embreduce.io.columns",
    "VECTOR_SUFFIXES": "embreduce.io.vectors",
    "VectorSource": "embreduce.io.source",
    "arrow_to_vectors": "embreduce.io.parquet",
    "codes_to_arrow": "embreduce.io.parquet",
    "find_vector_column": "embreduce.io.parquet",
    "holds_vectors": "embreduce.io.texts",
    "load_vectors": "embreduce.io.vectors",
    "npz_labels": "embreduce.io.npz",
    "npz_text_array": "embreduce.io.npz",
    "open_sink": "embreduce.io.sinks",
    "open_source": "embreduce.io.vectors",
    "parquet_info": "embreduce.io.info",
    "read_items": "embreduce.io.texts",
    "read_pairs": "embreduce.io.pairs",
    "read_parquet_schema": "embreduce.io.parquet",
    "save_vectors": "embreduce.io.vectors",
    "vector_field": "embreduce.io.parquet",
    "vectors_to_arrow": "embreduce.io.parquet",
    "write_json": "embreduce.io.info",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _WHERE)
