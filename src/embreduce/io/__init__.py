"""Vectors and texts in and out: npy, npz, parquet, csv/tsv and plain text.

One module a format (:mod:`~embreduce.io.npy`, :mod:`~embreduce.io.npz`,
:mod:`~embreduce.io.parquet`, :mod:`~embreduce.io.tables` for CSV/TSV,
:mod:`~embreduce.io.texts`, :mod:`~embreduce.io.pairs`), each holding how the format is read
and written, whole or streamed; :mod:`~embreduce.io.vectors` picks the format by suffix.
Every writer goes through :func:`embreduce.outputs.atomic_write`, so a failed run never
leaves a half file. Every reader returns an :class:`EmbeddingSet` (vectors + optional texts
and metadata) or, for inputs that hold texts to embed, a :class:`TextItems`.
"""

from embreduce.io.columns import CODES_COLUMN, TEXT_COLUMN, VECTOR_COLUMN
from embreduce.io.embedding_set import EmbeddingSet
from embreduce.io.info import parquet_info, write_json
from embreduce.io.npz import npz_labels, npz_text_array
from embreduce.io.pairs import LabelledPairs, read_pairs
from embreduce.io.parquet import (
    ROW_GROUP_ROWS,
    arrow_to_vectors,
    codes_to_arrow,
    find_vector_column,
    read_parquet_schema,
    vector_field,
    vectors_to_arrow,
)
from embreduce.io.sinks import open_sink
from embreduce.io.source import VectorSource
from embreduce.io.texts import TextItems, holds_vectors, read_items
from embreduce.io.vectors import VECTOR_SUFFIXES, load_vectors, open_source, save_vectors

__all__ = [
    "CODES_COLUMN",
    "ROW_GROUP_ROWS",
    "TEXT_COLUMN",
    "VECTOR_COLUMN",
    "VECTOR_SUFFIXES",
    "EmbeddingSet",
    "LabelledPairs",
    "TextItems",
    "VectorSource",
    "arrow_to_vectors",
    "codes_to_arrow",
    "find_vector_column",
    "holds_vectors",
    "load_vectors",
    "npz_labels",
    "npz_text_array",
    "open_sink",
    "open_source",
    "parquet_info",
    "read_items",
    "read_pairs",
    "read_parquet_schema",
    "save_vectors",
    "vector_field",
    "vectors_to_arrow",
    "write_json",
]
