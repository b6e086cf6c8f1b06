"""FAISS's quantizers as codecs of the family: :class:`FaissCodec`, registered as ``faiss``.

One class covers FAISS's standalone codecs, each built with ``faiss.index_factory`` and
used through FAISS's own ``sa_encode`` / ``sa_decode``:

==========  ====================  ==========================================================
quantizer   FAISS factory         bytes a vector
==========  ====================  ==========================================================
``pq``      ``PQ{m}x8``           ``m`` (``nbytes``; the dimension must be a multiple of it)
``opq``     ``OPQ{m},PQ{m}x8``    ``m``, after a learned rotation
``rq``      ``RQ{m}x8``           ``m``, residual quantizer with beam search (``beam``)
``lsq``     ``LSQ{m}x8``          ``m``, additive quantizer (local search; slow to encode)
``sq8``     ``SQ8``               the dimension (per-dimension ranges from quantiles)
``sq4``     ``SQ4``               half the dimension
``rabitq``  ``RaBitQ``            one bit a dimension plus FAISS's per-vector factors
==========  ====================  ==========================================================

Every vector is scaled to unit length before it is trained on or encoded. A search scores a
unit float query ``q`` against a code decoding to ``x`` as FAISS's L2 search does,
``1 - |q - x|^2 / 2`` (:attr:`FaissCodec.similarity`: the cosine when ``x`` is exact), for
every quantizer but RaBitQ, whose FAISS search estimates the inner product. The inner
product of decoded vectors would favour codes whose decoded norm came out large: on BEIR
ArguAna (all-MiniLM-L6-v2) RQ16x8 keeps 95.3-96.6 % of float32 nDCG@10 scored that way and
97.4-99.1 % scored by L2, PQ16x8 73-75 % and 77-78 % (``benchmarks/bench_similarity.py``).
The residual quantizer computes the norm of a code from its codebooks (``ST_norm_from_LUT``:
exact, no extra bytes; ``embreduce index`` stores it beside the code instead, for speed);
LSQ decodes each code to search (exact, slow).

The fitted index is kept as FAISS's own serialization (``faiss.serialize_index``: FAISS's
format, not pickle) in one ``uint8`` array, ``index_``, which the codec folder's
safetensors file holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embreduce.choices import FAISS_QUANTIZERS
from embreduce.codecs import scalar as _scalar  # noqa: F401  (registered first: the default)
from embreduce.codecs.base import Codec, CodecSpec, register_codec
from embreduce.exceptions import InputError, ParameterError
from embreduce.params import check_fitted
from embreduce.validation import check_int, check_vectors
from embreduce.validation import unit_float32 as _unit_rows

QUANTIZERS = FAISS_QUANTIZERS
"""The FAISS quantizers :class:`FaissCodec` offers."""
SIZED = ("pq", "opq", "rq", "lsq")
"""Quantizers whose size is a parameter (``nbytes``: one 8-bit code a byte)."""
DEFAULT_TRAIN_ROWS = 10_000
"""Training vectors a FAISS codec uses at most (a seeded sample of the rows given)."""


class FaissCodec(Codec):
    """A FAISS quantizer as a codec: fit, encode to ``uint8`` rows, decode to float32.

    Parameters
    ----------
    quantizer : {"pq", "opq", "rq", "lsq", "sq8", "sq4", "rabitq"}
        Which FAISS quantizer (see the module's table).
    nbytes : int, optional
        Bytes a vector for ``pq``, ``opq``, ``rq`` and ``lsq`` (one 8-bit code each); the
        others take their size from the dimension and must leave it None.
    beam : int
        The residual quantizer's beam width, at training and encoding (``rq`` only).
    train_rows : int
        Train on a seeded sample of at most this many vectors (FAISS's RQ takes minutes
        on ten thousand); every row is encoded.
    random_state : int
        Seeds the sample and FAISS's k-means.

    Attributes
    ----------
    index_ : ndarray of uint8
        The fitted FAISS index, serialized by FAISS.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> codec = FaissCodec("sq8").fit(X)
    >>> codec.encode(X).shape, codec.bytes_per_vector()
    ((300, 16), 16)
    """

    codec_name: ClassVar[str] = "faiss"
    state_arrays: ClassVar[tuple[str, ...]] = ("index_",)
    byte_arrays: ClassVar[tuple[str, ...]] = ("index_",)

    def __init__(
        self,
        quantizer: str = "pq",
        nbytes: int | None = None,
        *,
        beam: int = 5,
        train_rows: int = DEFAULT_TRAIN_ROWS,
        random_state: int = 0,
    ) -> None:
        self.quantizer = quantizer
        self.nbytes = nbytes
        self.beam = beam
        self.train_rows = train_rows
        self.random_state = random_state

    # ------------------------------------------------------------------ parameters

    def _check_params(self) -> None:
        if self.quantizer not in QUANTIZERS:
            raise ParameterError(
                f"quantizer={self.quantizer!r} is not a FAISS codec; use one of "
                + ", ".join(QUANTIZERS)
            )
        if self.quantizer in SIZED:
            if self.nbytes is None:
                raise ParameterError(f"nbytes: a {self.quantizer} codec needs its size in bytes")
            check_int(self.nbytes, "nbytes", low=1)
        elif self.nbytes is not None:
            raise ParameterError(f"nbytes: a {self.quantizer} codec takes its size from the dims")
        check_int(self.beam, "beam", low=1)
        check_int(self.train_rows, "train_rows", low=1)

    def factory(self, dim: int) -> str:
        """The ``faiss.index_factory`` string of this codec for ``dim``-d vectors."""
        self._check_params()
        m = self.nbytes
        if self.quantizer in ("pq", "opq") and dim % m:
            raise ParameterError(
                f"a {self.quantizer}{m} codec splits the vector into {m} parts: {dim} dims "
                f"are not a multiple of {m}"
            )
        return {
            "pq": f"PQ{m}x8",
            "opq": f"OPQ{m},PQ{m}x8",
            "rq": f"RQ{m}x8",
            "lsq": f"LSQ{m}x8",
            "sq8": "SQ8",
            "sq4": "SQ4",
            "rabitq": "RaBitQ",
        }[self.quantizer]

    @property
    def similarity(self) -> str:
        """``"l2"`` (FAISS's L2 search of unit vectors), ``"inner product"`` for RaBitQ."""
        return "inner product" if self.quantizer == "rabitq" else "l2"

    def metric(self) -> int:
        """The FAISS metric this codec's index is built for (see :attr:`similarity`)."""
        import faiss

        return faiss.METRIC_L2 if self.similarity == "l2" else faiss.METRIC_INNER_PRODUCT

    @property
    def folder_id(self) -> str:
        """``pq16``, ``opq16``, ``rq8``, ``sq8``, ``rabitq``: the codec's folder is
        ``codec-faiss-<this>/`` (beam and sample size are in its config)."""
        return "faiss-" + self.quantizer + (str(self.nbytes) if self.quantizer in SIZED else "")

    @property
    def candidate_suffix(self) -> str:
        """The study's rows of this codec are named ``<method>+<folder id>``."""
        return "+" + self.folder_id.removeprefix("faiss-")

    # ------------------------------------------------------------------ the codec

    def fit(self, X: ArrayLike, y: Any = None) -> FaissCodec:
        """Train the FAISS quantizer on (a sample of) the unit-length rows of ``X``."""
        import faiss

        X = _unit_rows(check_vectors(X, name="X", allow_zero=False, min_rows=2))
        dim = X.shape[1]
        index = faiss.index_factory(dim, self.factory(dim), self.metric())
        _quiet_clustering(index, self.beam, self.random_state)
        if len(X) > self.train_rows:
            rows = np.random.default_rng(self.random_state).choice(
                len(X), self.train_rows, replace=False
            )
            X = X[np.sort(rows)]
        if self.quantizer in SIZED and len(X) < 256:
            raise InputError(
                f"a {self.quantizer} codec learns 256 centroids a code: {len(X)} training "
                "vectors are too few (give at least 256)"
            )
        index.train(X)
        self.index_ = np.frombuffer(faiss.serialize_index(index), dtype=np.uint8).copy()
        self._index = index
        self.n_features_in_ = dim
        return self

    def encode(self, X: ArrayLike) -> NDArray[np.uint8]:
        """Vectors -> FAISS codes (``sa_encode`` of the unit-length rows)."""
        index = self._faiss_index()
        X = check_vectors(X, name="X", allow_zero=False)
        if X.shape[1] != self.n_features_in_:
            raise InputError(
                f"X has {X.shape[1]} dims, but the codec was fitted for {self.n_features_in_}"
            )
        return index.sa_encode(_unit_rows(X))

    def decode(self, codes: ArrayLike) -> NDArray[np.float32]:
        """FAISS codes -> float32 vectors (``sa_decode``), about unit length."""
        index = self._faiss_index()
        codes = np.asarray(codes)
        width = self.bytes_per_vector()
        if codes.dtype != np.uint8 or codes.ndim != 2 or codes.shape[1] != width:
            raise InputError(
                f"codes must be uint8 rows of {width} bytes, got {codes.dtype} of shape "
                f"{' x '.join(map(str, codes.shape))}"
            )
        return np.ascontiguousarray(index.sa_decode(np.ascontiguousarray(codes)), np.float32)

    def bytes_per_vector(self) -> int:
        """Bytes one code takes: FAISS's ``sa_code_size()``."""
        return int(self._faiss_index().sa_code_size())

    def expected_arrays(self) -> dict[str, tuple[int, ...]]:
        """One array, ``index_``: FAISS's serialization, of any length (``-1``)."""
        self._check_params()
        return {"index_": (-1,)}

    def check_state(self, where: str) -> None:
        """Refuse an ``index_`` FAISS cannot read, or one of another kind or width."""
        import faiss

        try:
            index = faiss.deserialize_index(np.ascontiguousarray(self.index_, np.uint8))
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
            raise InputError(f"{where}: index_ is not a FAISS index ({first})") from None
        if index.d != self.n_features_in_ or not index.is_trained:
            raise InputError(
                f"{where}: index_ is a {'trained' if index.is_trained else 'untrained'} "
                f"{index.d}-d index, not the trained {self.n_features_in_}-d one its config says"
            )
        made = faiss.index_factory(index.d, self.factory(index.d), self.metric())
        if type(faiss.downcast_index(index)) is not type(made) or (
            index.sa_code_size() != made.sa_code_size()
        ):
            raise InputError(f"{where}: index_ is not a {self.factory(index.d)} index")
        if index.metric_type != made.metric_type:
            raise InputError(
                f"{where}: index_ was fitted for another similarity (an earlier embreduce "
                f"scored FAISS codes by the inner product); fit it again (re-run the study)"
            )
        self._index = index

    def _faiss_index(self) -> Any:
        check_fitted(self, "index_")
        if getattr(self, "_index", None) is None:
            import faiss

            self._index = faiss.deserialize_index(np.ascontiguousarray(self.index_, np.uint8))
        return self._index

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_index", None)  # the FAISS object is rebuilt from index_
        return state


def _quiet_clustering(index: Any, beam: int, seed: int) -> None:
    """Seed FAISS's k-means, set the beam, skip polysemous training, and let it cluster
    small samples without its "please provide at least ..." warning on every sub-quantizer."""
    import faiss

    inner = faiss.downcast_index(index)
    rotation = None
    if isinstance(inner, faiss.IndexPreTransform):
        rotation = faiss.downcast_VectorTransform(inner.chain.at(0))
        inner = faiss.downcast_index(inner.index)
    if isinstance(rotation, faiss.OPQMatrix):
        rotation.pq = inner.pq  # OPQ trains this PQ, with the settings below
    if hasattr(inner, "do_polysemous_training"):
        # index_factory asks for it; it only reorders the codes for Hamming filtering, and
        # takes seconds even on a few hundred vectors
        inner.do_polysemous_training = False
    for name in ("pq", "rq", "lsq"):
        part = getattr(inner, name, None)
        if part is None:
            continue
        if hasattr(part, "max_beam_size"):
            part.max_beam_size = int(beam)
        if name == "rq" and index.metric_type == faiss.METRIC_L2:
            # a code's norm from the codebooks' cross products: exact, no extra bytes, and
            # kept by FAISS's serialization (its LSQ drops them: LSQ decodes to search)
            part.search_type = faiss.AdditiveQuantizer.ST_norm_from_LUT
        cp = getattr(part, "cp", None)
        if cp is not None:
            cp.min_points_per_centroid = 1
            cp.seed = int(seed)
    sq = getattr(inner, "sq", None)
    if sq is not None:
        sq.rangestat = faiss.ScalarQuantizer.RS_quantiles
        sq.rangestat_arg = 0.001


def faiss_grid(dim: int, budgets: Sequence[int], quantizers: Sequence[str]) -> list[FaissCodec]:
    """The FAISS codecs of ``quantizers`` that fit ``budgets`` (bytes a vector) at ``dim``.

    Sized quantizers take each budget as their size (``pq`` and ``opq`` where it divides
    ``dim``); ``sq8``, ``sq4`` and ``rabitq`` are in when their size is within the largest
    budget.

    Examples
    --------
    >>> [c.folder_id for c in faiss_grid(64, [8, 16, 64], ["pq", "sq8", "sq4"])]
    ['faiss-pq8', 'faiss-pq16', 'faiss-pq64', 'faiss-sq8', 'faiss-sq4']
    """
    out: list[FaissCodec] = []
    largest = max(budgets)
    for quantizer in quantizers:
        if quantizer in SIZED:
            for b in sorted(budgets):
                if b <= dim and not (quantizer in ("pq", "opq") and dim % b):
                    out.append(FaissCodec(quantizer, b))
            continue
        size = {"sq8": dim, "sq4": (dim + 1) // 2, "rabitq": (dim + 7) // 8 + 8}[quantizer]
        if size <= largest:
            out.append(FaissCodec(quantizer))
    return out


register_codec(CodecSpec("faiss", FaissCodec, lambda bits, rotations: [], sized_grid=faiss_grid))
