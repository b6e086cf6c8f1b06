"""embreduce: see and shrink text embeddings while keeping their cosine similarities.

Heavy dependencies (torch, transformers) load only when the names that need them are
first used, so ``import embreduce`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("embreduce")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0"


_LAZY = {
    "embed": "embreduce.embedding",
    "Embedder": "embreduce.embedding",
    "EmbeddingSet": "embreduce.io",
    "load_vectors": "embreduce.io",
    "save_vectors": "embreduce.io",
    "CosineSimilarityEncoder": "embreduce.reducers.encoder",
    "make_reducer": "embreduce.reducers",
    "load_reducer": "embreduce.reducers",
    "save_reducer": "embreduce.reducers",
    "run_study": "embreduce.study",
    "similarity_metrics": "embreduce.metrics",
    "write_report": "embreduce.report",
    "write_map": "embreduce.report",
    "Compressor": "embreduce.compress",
    "export_model": "embreduce.export",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read from the package metadata when first asked (28 ms)
        globals()["__version__"] = value = _version()
        return value
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'embreduce' has no attribute '{name}'")
