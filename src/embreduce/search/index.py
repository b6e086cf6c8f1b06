"""Searching an index that :func:`~embreduce.search.build_index` wrote."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embreduce.exceptions import InputError, ParameterError
from embreduce.metrics.retrieval import order_hits, rescore
from embreduce.search.build import sidecar_paths
from embreduce.validation import unit_float32

PathLike = str | os.PathLike[str]


@dataclass
class SearchIndex:
    """A FAISS index of a corpus, its ids and texts, and what it was made from.

    Attributes
    ----------
    index : faiss.Index
        ``IndexPreTransform``: the reducer's ``LinearTransform``, normalisation, the codec's
        index; its ids are the corpus rows.
    ids : list of str
        The corpus ids, by row.
    texts : list of str or None
    facts : dict
        The sidecar JSON (embedding model, reducer, codec, study, digest).
    refine : ndarray or None
        The unit input vectors, memory-mapped, when the index keeps them for re-scoring.
    """

    index: Any
    ids: list[str]
    texts: list[str] | None
    facts: dict[str, Any]
    refine: np.ndarray | None = None
    path: Path | None = None
    _embedder: Any = field(default=None, repr=False)

    @classmethod
    def load(cls, path: PathLike) -> SearchIndex:
        """Open an index and its sidecars, checking that they belong together.

        Raises
        ------
        InputError
            A file that is not a FAISS index, a missing sidecar, or files of another build
            (the index's digest or row count differs from what the sidecar records).
        """
        import faiss
        import pyarrow.parquet as pq

        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such index file")
        ids_path, json_path, refine_path = sidecar_paths(path)
        for needed in (ids_path, json_path):
            if not needed.is_file():
                raise InputError(f"{path}: its sidecar {needed.name} is missing")
        try:
            facts = json.loads(json_path.read_text("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InputError(f"{json_path}: not valid JSON") from None
        if not isinstance(facts, dict) or facts.get("format") != "embreduce-faiss-index":
            raise InputError(f"{json_path}: not an embreduce index sidecar")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != facts.get("index_sha256"):
            raise InputError(
                f"{path}: the index is not the one {json_path.name} describes (another build "
                "or a changed file); rebuild it with `embreduce index`"
            )
        try:
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError:
            raise InputError(f"{path}: not a FAISS index") from None
        table = pq.read_table(ids_path)
        ids = [str(i) for i in table.column("id").to_pylist()]
        texts = table.column("text").to_pylist() if "text" in table.column_names else None
        if len(ids) != index.ntotal or facts.get("n") != index.ntotal:
            raise InputError(
                f"{path}: {index.ntotal:,} vectors indexed but {len(ids):,} ids beside it"
            )
        refine = None
        if facts.get("refine", "none") != "none":
            if not refine_path.is_file():
                raise InputError(f"{path}: its re-scoring vectors {refine_path.name} are missing")
            refine = np.load(refine_path, mmap_mode="r")
            if refine.shape != (index.ntotal, facts["input_dim"]):
                raise InputError(f"{refine_path}: {refine.shape} does not match the index")
        return cls(index, ids, texts, facts, refine, path)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def query_vectors(
        self, queries: Sequence[str] | np.ndarray, *, model: str | None = None
    ) -> np.ndarray:
        """Float query vectors: ``queries`` as they are, or texts embedded with the index's
        model. ``model`` (the model vectors record) must be the index's when both are known."""
        from embreduce.validation import check_vectors

        recorded = self.facts.get("embedding_model")
        if isinstance(queries, np.ndarray):
            if model and recorded and model != recorded:
                raise InputError(
                    f"the queries were embedded with {model}, the index's corpus with {recorded}"
                )
            Q = check_vectors(queries, name="queries", allow_zero=False)
        else:
            texts = [str(t) for t in queries]
            if not texts or not all(t.strip() for t in texts):
                raise InputError("give at least one query, and no empty one")
            Q = self._embed(texts)
        if Q.shape[1] != self.facts["input_dim"]:
            raise InputError(
                f"the queries have {Q.shape[1]} dims, the index takes {self.facts['input_dim']}"
            )
        return np.ascontiguousarray(Q, dtype=np.float32)

    def _embed(self, texts: list[str]) -> np.ndarray:
        if self._embedder is None:
            from embreduce.embedding import Embedder

            self._embedder = Embedder(model=self.facts.get("embedding_model"))
        return self._embedder.encode(texts, normalize=self.facts.get("normalized_input", False))

    def search(
        self,
        queries: Sequence[str] | np.ndarray,
        k: int = 10,
        *,
        oversample: int = 1,
        exclude: Sequence[str | None] | None = None,
        model: str | None = None,
        nprobe: int | None = None,
    ) -> tuple[list[list[str]], np.ndarray]:
        """The ``k`` best corpus ids of each query, and their scores, best first.

        Parameters
        ----------
        queries : texts, or array of shape (n, input_dim)
        k : int
        oversample : int
            With the index's re-scoring vectors, the first pass keeps ``k x oversample`` hits
            and re-scores them by the cosine with the float query.
        exclude : sequence, optional
            Per query, a corpus id never to return (its own, BEIR's rule), or None.
        nprobe : int, optional
            Inverted lists a query visits (an index built with ``ivf``); default the index's.

        Ties are broken by the lower corpus row, as the study breaks them.
        """
        rows, scores = self.search_rows(
            self.query_vectors(queries, model=model),
            k,
            oversample=oversample,
            exclude=exclude,
            nprobe=nprobe,
        )
        return [[self.ids[r] for r in row] for row in rows], scores

    def search_rows(
        self,
        Q: np.ndarray,
        k: int,
        *,
        oversample: int = 1,
        exclude: Sequence[str | None] | None = None,
        nprobe: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search` on query vectors, returning corpus rows."""
        from embreduce.validation import check_int

        k = check_int(k, "k", low=1)
        oversample = check_int(oversample, "oversample", low=1)
        if oversample > 1 and self.refine is None:
            raise ParameterError(
                "oversample > 1 re-scores with the index's float vectors: build it with "
                "--refine float16 or float32"
            )
        self.set_nprobe(nprobe)
        drop = self._exclude_rows(exclude, len(Q))
        available = len(self) - int(drop is not None and bool((drop >= 0).any()))
        if k > available:
            raise InputError(f"k={k} is more than the {available:,} documents the index can return")
        wanted = min(k * oversample + (drop is not None), len(self))
        rows, scores = self._search_with_ties(Q, wanted, drop)
        if oversample > 1:
            kept = rows[:, : k * oversample]  # read from disk: only these rows
            return rescore(kept, unit_float32(Q), self.refine, k, return_scores=True)
        return rows[:, :k], scores[:, :k]

    def _search_with_ties(
        self, Q: np.ndarray, wanted: int, drop: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """FAISS's best ``wanted`` hits a query, in the study's order (score, then row).

        One hit more is fetched: where it ties with the last one wanted, FAISS may have
        cut a tie arbitrarily, and those queries are searched again deeper until the tie
        is whole (documents with equal codes, duplicates say, tie)."""
        depth = min(wanted + 1, len(self))
        scores, rows = self._faiss_search(Q, depth)
        while depth < len(self):
            tied = np.flatnonzero(scores[:, -1] == scores[:, wanted - 1])
            if not len(tied):
                break
            depth = min(2 * depth + 16, len(self))
            more_scores, more_rows = self._faiss_search(Q[tied], depth)
            scores = np.pad(scores, ((0, 0), (0, depth - scores.shape[1])), constant_values=-np.inf)
            rows = np.pad(rows, ((0, 0), (0, depth - rows.shape[1])), constant_values=-1)
            scores[tied], rows[tied] = more_scores, more_rows
        return _order(rows, scores, drop)

    def _faiss_search(self, Q: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """FAISS's search, its distances as scores: an L2 index's squared distance ``d``
        between unit vectors is the score ``1 - d / 2`` (the cosine when a code is exact)."""
        import faiss

        scores, rows = self.index.search(Q, depth)
        if self.index.metric_type == faiss.METRIC_L2:
            scores = 1 - scores / 2
        return scores, rows

    def set_nprobe(self, nprobe: int | None) -> None:
        """Inverted lists a query visits from now on (an index built with ``ivf``); None
        leaves it as it is."""
        import faiss

        from embreduce.validation import check_int

        if nprobe is None:
            return
        ivf = faiss.try_extract_index_ivf(self.index)
        if ivf is None:
            raise ParameterError("nprobe applies to an index built with --ivf")
        ivf.nprobe = check_int(nprobe, "nprobe", low=1)

    def _exclude_rows(self, exclude: Sequence[str | None] | None, n: int) -> np.ndarray | None:
        if exclude is None:
            return None
        if len(exclude) != n:
            raise InputError(f"{len(exclude)} ids to exclude for {n} queries")
        row = {d: i for i, d in enumerate(self.ids)}
        return np.array([row.get(e, -1) if e is not None else -1 for e in exclude], np.int64)


def _order(
    rows: np.ndarray, scores: np.ndarray, drop: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Drop the excluded rows (and FAISS's -1 padding), then order by score, ties by row."""
    scores = scores.astype(np.float32, copy=True)
    if drop is not None:
        scores[rows == drop[:, None]] = -np.inf
    scores[rows < 0] = -np.inf
    return order_hits(rows, scores)
