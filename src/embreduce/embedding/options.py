"""How to embed, bundled once (:class:`EmbeddingOptions`), and the jobs built on it.

Every command that embeds texts (``embed``, ``study``, ``map``) takes the same options;
a Python caller builds the same object and gets what the command gets:
:meth:`EmbeddingOptions.embed_file` is ``embreduce embed``, :meth:`EmbeddingOptions.load`
is how ``study`` and ``map`` read "vectors or texts".
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embreduce.choices import EMBEDDING_DEFAULTS
from embreduce.embedding.models import DEFAULT_MODEL

_D = EMBEDDING_DEFAULTS


@dataclass(frozen=True)
class EmbeddingOptions:
    """What to embed and how: the input's texts, the model and the way it is run.

    Parameters
    ----------
    words : int, optional
        Embed the N most frequent English words (wordfreq) instead of a file.
    text_column : str, optional
        The column of the texts in a CSV/TSV/Parquet input.
    model : str, optional
        Hub id or local folder; default all-MiniLM-L6-v2, packaged, offline.
    backend : {"sentence-transformers", "hf"}
    pooling : {"mean", "last"}
        ``hf`` backend: how hidden states are pooled.
    layer : int
        ``hf`` backend: the hidden state to pool (-1 = the last layer).
    batch_size : int
    device : {"auto", "cpu", "cuda"}
    dtype : {"float32", "float16", "bfloat16"}, optional
        The model's weights.
    normalize : bool
        Scale the vectors to unit length.
    """

    words: int | None = _D["words"]
    text_column: str | None = _D["text_column"]
    model: str | None = _D["model"]
    backend: str = _D["backend"]
    pooling: str = _D["pooling"]
    layer: int = _D["layer"]
    batch_size: int = _D["batch_size"]
    device: str = _D["device"]
    dtype: str | None = _D["dtype"]
    normalize: bool = _D["normalize"]

    def like(self, data: Any) -> EmbeddingOptions:
        """These options for texts that go with ``data`` (an ``EmbeddingSet``): its model and
        normalisation, unless these options name a model or normalise; never ``words``."""
        import dataclasses

        return dataclasses.replace(
            self,
            model=self.model or data.info.get("model"),
            normalize=self.normalize or bool(data.info.get("normalized")),
            words=None,
        )

    @property
    def model_name(self) -> str:
        """The model these options embed with (the default when none is given)."""
        return self.model or DEFAULT_MODEL

    def embedder(self) -> Any:
        """The :class:`~embreduce.embedding.Embedder` these options describe."""
        from embreduce.embedding import Embedder

        return Embedder(
            model=self.model,
            backend=self.backend,
            device=self.device,
            dtype=self.dtype,
            pooling=self.pooling,
            layer=self.layer,
        )

    def load(
        self,
        path: str | os.PathLike[str] | None,
        *,
        words: bool = True,
        show_progress: bool = False,
        check_count: Callable[[int], None] | None = None,
    ) -> tuple[Any, Any]:
        """Vectors from ``path`` (or the top ``words``), embedding texts only if given texts.

        ``check_count`` sees the number of texts before they are embedded; ``words=False``
        ignores :attr:`words` (an evaluation file). Returns ``(EmbeddingSet, TextItems or
        None)``, as :func:`~embreduce.embedding.load_or_embed`.
        """
        from embreduce.embedding import load_or_embed

        return load_or_embed(
            path,
            check_count=check_count,
            words=self.words if words else None,
            text_column=self.text_column,
            embedder=self.embedder,  # built only when texts must be embedded
            batch_size=self.batch_size,
            normalize=self.normalize,
            show_progress=show_progress,
        )

    def embed_file(
        self,
        path: str | os.PathLike[str] | None,
        output: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        show_progress: bool = False,
    ) -> tuple[Any, Any]:
        """``embreduce embed``: read texts, embed them, write the vectors atomically.

        The output is checked before any text is embedded. Returns ``(EmbeddingSet,
        TextItems)``.
        """
        from embreduce.embedding import embed_items, text_items
        from embreduce.io import VECTOR_SUFFIXES, save_vectors
        from embreduce.outputs import check_output_file

        check_output_file(output, suffixes=VECTOR_SUFFIXES, inputs=[path], overwrite=overwrite)
        items = text_items(path, words=self.words, text_column=self.text_column)
        data = embed_items(
            items,
            self.embedder(),
            batch_size=self.batch_size,
            normalize=self.normalize,
            show_progress=show_progress,
        )
        save_vectors(Path(output), data, overwrite=overwrite)
        return data, items
