"""Search what you stored: a plain FAISS index out of a model folder, and its search.

:func:`build_index` writes the index (``faiss.read_index`` opens it, no embreduce needed)
with its ids and a sidecar; :class:`SearchIndex` loads and searches it (texts or vectors);
:func:`evaluate_index` scores it on queries and qrels as the study does.
"""

from __future__ import annotations

from embreduce.lazy import lazy_exports

_WHERE = {
    "IndexFiles": "embreduce.search.build",
    "SearchIndex": "embreduce.search.index",
    "build_index": "embreduce.search.build",
    "evaluate_index": "embreduce.search.evaluate",
    "faiss_chain": "embreduce.search.build",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _WHERE)
