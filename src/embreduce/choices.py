"""The names and defaults the library accepts, in one light module (it imports nothing).

The library's modules take their choices and defaults from here, and so does the command
line, which can then build its ``--help`` without loading NumPy, scikit-learn or torch.
"""

from __future__ import annotations

BITS = (32, 16, 8, 4, 2, 1)
"""The precisions of the scalar codec, in bits a dimension."""
ROTATIONS = ("random", "itq")
"""Rotations a scalar codec can apply before quantizing (at 8 bits or fewer)."""
ROTATED_MAX_BITS = 4
"""The study tries codec rotations at this many bits a dimension and fewer."""
DTYPES = ("float32", "float16")
"""Types of the vectors ``compress`` writes."""
RANK_BY = ("pairs", "cosine", "retrieval")
"""What a study's recommendation can rank by."""

REDUCER_NAMES = {
    "pca": "PCA",
    "svd": "truncated SVD",
    "random": "random projection",
    "truncate": "truncation",
    "umap": "UMAP",
    "tsne": "t-SNE",
    "encoder": "cosine encoder",
    "encoder-mlp": "MLP cosine encoder",
}
"""Each reducer's display name (the registry's specs take theirs from here), so that a page
can name a method without loading the reducers."""

DEFAULT_METHODS = ("pca", "svd", "random", "truncate", "encoder")
DEFAULT_DIMS = (16, 32, 64, 128, 256, 512, 1024)
DEFAULT_BITS = (32, 8, 4, 1)
DEFAULT_HOLDOUT = 0.2
DEFAULT_SEED = 0
DEFAULT_K = 10
DEFAULT_TOLERANCE = 0.01
DEFAULT_BUDGETS = (8, 16, 32, 64, 128)
"""Bytes a vector the FAISS codecs of a study are sized for."""
FAISS_QUANTIZERS = ("pq", "opq", "rq", "lsq", "sq8", "sq4", "rabitq")
"""FAISS's quantizers a study can try (``embreduce.codecs.FaissCodec``)."""
DEFAULT_OVERSAMPLE = (1, 2, 4, 10)
"""Re-scoring factors a retrieval study tries; 1 is the first pass alone."""
DEFAULT_PAIR_COLUMNS = ("sentence1", "sentence2", "score")
"""The labelled pairs' columns by default: the STS Benchmark's layout."""

EMBEDDING_DEFAULTS = {
    "words": None,
    "text_column": None,
    "model": None,
    "backend": "sentence-transformers",
    "pooling": "mean",
    "layer": -1,
    "batch_size": 64,
    "device": "auto",
    "dtype": None,
    "normalize": False,
}
"""The fields of :class:`~embreduce.embedding.options.EmbeddingOptions` and their defaults."""
