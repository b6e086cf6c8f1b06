"""What every codec is (:class:`Codec`) and the registry of codecs (:class:`CodecSpec`).

A codec turns float vectors into rows of bytes and back, FAISS's quantizer interface in
scikit-learn's clothes (its parameter contract, :class:`embreduce.params.Parameters`, taken
without importing scikit-learn, so that loading a codec stays fast): ``fit`` on training
vectors, ``encode`` to ``uint8`` rows of ``bytes_per_vector()`` bytes, ``decode`` to
float32, and how two codes are compared (``compare``: the cosine of the decoded vectors,
or Hamming for binary codes). Its fitted state is named float arrays, saved with
:mod:`embreduce.folders`; its parameters are plain values, so a codec's registry name and
parameters (:func:`codec_id`) rebuild it.

Adding a codec is one class and one :func:`register_codec` call: the study's grid, the
model folders, ``compress --codec``, ``export`` and the Dask engine all read the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embreduce.exceptions import InputError, ParameterError
from embreduce.params import Parameters, check_fitted

COMPARISONS = ("cosine", "hamming")
"""How codes are compared: the cosine of the decoded vectors, or Hamming (1-bit codes)."""

SIMILARITIES = ("cosine", "l2", "inner product")
"""How a search scores a float query against a code (:attr:`Codec.similarity`)."""


class Codec(Parameters):
    """The interface of every codec; subclasses fill in the five methods marked below.

    Attributes
    ----------
    codec_name : str
        The registry name (class attribute).
    n_features_in_ : int
        Dimensions of the vectors, set by ``fit``.
    """

    codec_name: ClassVar[str] = ""
    state_arrays: ClassVar[tuple[str, ...]] = ()
    """The names of the fitted arrays a codec may hold (saved with it)."""
    byte_arrays: ClassVar[tuple[str, ...]] = ()
    """Those of :attr:`state_arrays` saved as raw ``uint8`` bytes, not float32 (a FAISS
    index's own serialization)."""

    # ------------------------------------------------------------ to fill in

    def fit(self, X: ArrayLike, y: Any = None) -> Codec:
        """Learn from training vectors ``X``; set ``n_features_in_``; return ``self``."""
        raise NotImplementedError

    def encode(self, X: ArrayLike) -> NDArray[np.uint8]:
        """Vectors -> ``uint8`` rows of :meth:`bytes_per_vector` bytes, each row on its own."""
        raise NotImplementedError

    def decode(self, codes: ArrayLike) -> NDArray[np.float32]:
        """``uint8`` rows -> float32 vectors of ``n_features_in_`` dimensions."""
        raise NotImplementedError

    def bytes_per_vector(self) -> int:
        """Bytes one encoded vector takes."""
        raise NotImplementedError

    def check_state(self, where: str) -> None:
        """Refuse, as :class:`InputError`, loaded arrays that no fit gives (default: none)."""

    # ------------------------------------------------------------ shared

    @property
    def compare(self) -> str:
        """How two codes are compared: ``"cosine"`` of the decoded vectors, or ``"hamming"``."""
        return "cosine"

    @property
    def similarity(self) -> str:
        """How a search scores a float query ``q`` (unit length) against a code decoding to
        ``x``: ``"cosine"`` of ``q`` and ``x`` (the default), ``"l2"``, ``1 - |q - x|^2 / 2``
        (FAISS's L2 search of unit vectors: the cosine when ``x`` is exact, and it charges
        a code whose decoded norm is off), or ``"inner product"``, ``q . x``."""
        return "cosine"

    @property
    def cosine_grid(self) -> int | None:
        """``k`` when every cosine of two decoded vectors is a multiple of ``1 / k``."""
        return None

    @property
    def folder_id(self) -> str:
        """The codec's name inside a model folder, ``codec-<folder_id>/``; default its id."""
        return codec_id(self)

    @property
    def candidate_suffix(self) -> str:
        """What the study appends to the method's name for this codec's rows (``+itq``)."""
        return ""

    def quantize(self, X: ArrayLike) -> NDArray[np.float32]:
        """``decode(encode(X))``: the vectors as a reader of the codes sees them."""
        return self.decode(self.encode(X))

    def get_state(self) -> dict[str, NDArray[np.float32]]:
        """The fitted arrays to save (those of :attr:`state_arrays` that are set)."""
        return {name: getattr(self, name) for name in self.state_arrays if hasattr(self, name)}

    def expected_arrays(self) -> dict[str, tuple[int, ...]]:
        """The arrays a fitted codec of these parameters holds, with their shapes."""
        check_fitted(self, "n_features_in_")
        return {name: tuple(v.shape) for name, v in self.get_state().items()}

    def describe(self) -> dict[str, Any]:
        """The codec as provenance: its id, bytes a vector, dimensions and parameters."""
        check_fitted(self, "n_features_in_")
        return {
            "codec": self.codec_name,
            "id": codec_id(self),
            **({"bits": int(self.bits)} if hasattr(self, "bits") else {}),
            "bytes_per_vector": self.bytes_per_vector(),
            "n_features_in": int(self.n_features_in_),
            "params": self.get_params(),
            "compare": self.compare,
        }

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "n_features_in_")


def codec_id(codec: Codec) -> str:
    """The registry name, ``bits`` and the parameters that differ from their defaults:
    enough to rebuild the codec (:func:`codec_from_id`), e.g. ``scalar:bits=4,rotation=itq``.

    Examples
    --------
    >>> from embreduce.codecs import QuantizationCodec
    >>> codec_id(QuantizationCodec(bits=2, rotation="itq"))
    'scalar:bits=2,rotation=itq'
    """
    defaults = type(codec)().get_params()
    changed = {k: v for k, v in codec.get_params().items() if v != defaults.get(k) or k == "bits"}
    return codec.codec_name + (
        ":" + ",".join(f"{k}={v}" for k, v in sorted(changed.items())) if changed else ""
    )


def codec_from_id(text: str) -> Codec:
    """Rebuild an unfitted codec from :func:`codec_id`'s text.

    Examples
    --------
    >>> codec_from_id("scalar:bits=4,rotation=itq")
    QuantizationCodec(bits=4, rotation='itq')
    """
    name, _, rest = text.partition(":")
    spec = get_codec_spec(name)
    params: dict[str, Any] = {}
    defaults = spec.factory().get_params()
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if key not in defaults:
            raise ParameterError(f"codec {text!r}: {name} takes no parameter {key!r}")
        params[key] = _parse_value(value)
    return spec.factory(**params)


def _parse_value(text: str) -> Any:
    if text == "None":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


@dataclass(frozen=True)
class CodecSpec:
    """One codec family, declared once.

    Attributes
    ----------
    name : str
        The registry name, saved in every codec folder (``"scalar"``).
    factory : type
        The :class:`Codec` subclass; ``factory(**params)`` builds an unfitted one.
    grid : callable
        ``(bits, rotations) -> list of unfitted codecs``: what a study tries for the
        precisions and rotations it was given (``rotations`` is empty for the ``original``
        candidates). Return ``[]`` to take no part in studies.
    aliases : tuple of str
        Older names of the family found in saved folders.
    sized_grid : callable, optional
        ``(dim, budgets, quantizers) -> list of unfitted codecs``: a family sized in bytes
        a vector (FAISS's) returns the codecs of ``quantizers`` that fit ``budgets`` at
        ``dim`` dimensions.
    """

    name: str
    factory: type[Codec]
    grid: Callable[[Sequence[int], Sequence[str]], list[Codec]]
    aliases: tuple[str, ...] = ()
    sized_grid: Callable[[int, Sequence[int], Sequence[str]], list[Codec]] | None = None


_CODECS: dict[str, CodecSpec] = {}


def register_codec(spec: CodecSpec) -> CodecSpec:
    """Add a codec family to the registry; a name may be registered once."""
    for name in (spec.name, *spec.aliases):
        if name in _CODECS:
            raise ValueError(f"a codec named {name!r} is already registered")
    if spec.factory.codec_name != spec.name:
        raise ValueError(f"{spec.factory.__name__}.codec_name must be {spec.name!r}")
    for name in (spec.name, *spec.aliases):
        _CODECS[name] = spec
    return spec


def unregister_codec(name: str) -> None:
    """Remove a codec family (and its aliases) from the registry."""
    spec = _CODECS.get(name)
    for key in [k for k, v in _CODECS.items() if v is spec]:
        del _CODECS[key]


def get_codec_spec(name: str) -> CodecSpec:
    """The spec of a codec family by name (or alias); one line listing the names if none."""
    if name not in _CODECS:
        raise InputError(f"unknown codec {name!r}; known: {', '.join(available_codecs())}")
    return _CODECS[name]


def available_codecs() -> list[str]:
    """The registered codec families, in registration order (aliases left out)."""
    return list(dict.fromkeys(spec.name for spec in _CODECS.values()))


def study_grid(
    bits: Sequence[int],
    rotations: Sequence[str],
    *,
    dim: int | None = None,
    budgets: Sequence[int] = (),
    quantizers: Sequence[str] = (),
) -> list[Codec]:
    """Every registered family's codecs for a study's precisions and rotations, then
    those sized in bytes a vector (``budgets``) for ``quantizers`` at ``dim``, in order."""
    out: list[Codec] = []
    for name in available_codecs():
        out += _CODECS[name].grid(bits, rotations)
    if dim is not None and budgets and quantizers:
        for name in available_codecs():
            sized = _CODECS[name].sized_grid
            out += sized(dim, budgets, quantizers) if sized is not None else []
    return out
