"""The per-dimension scalar codec, ours: :class:`QuantizationCodec`, registered as ``scalar``.

A :class:`QuantizationCodec` learns a per-dimension range (or, at 1 bit, a per-dimension
median) with :meth:`~QuantizationCodec.fit`, then :meth:`~QuantizationCodec.encode` turns
float vectors into packed ``uint8`` codes of ``ceil(k * bits / 8)`` bytes a vector and
:meth:`~QuantizationCodec.decode` turns the codes back into float32 vectors.

=====  ===============================================================================
bits   code
=====  ===============================================================================
32     float32, little-endian (4 bytes a dimension; decoding is exact)
16     float16, little-endian; a value beyond float16's ±65504 is refused
8      uniform levels between each dimension's low and high (one byte a dimension)
4      uniform levels, two codes a byte
2      uniform levels, four codes a byte
1      above or below each dimension's training median, eight codes a byte;
       decoded to -1/+1, so the cosine of two decoded vectors is ``1 - 2 * hamming / k``
=====  ===============================================================================

Codes are packed most significant bits first: the first dimension of a vector is in the
high bits of its first byte (at 1 bit this is :func:`numpy.packbits`' order, the same as
sentence-transformers' ``quantize_embeddings(..., precision="ubinary")`` of the centred
vectors). Values outside the calibrated range **saturate** at the first or last level;
they never wrap.

Similarity is the cosine of the **decoded** vectors. Scoring the raw integer codes
instead distorts every dimension's scale: the codes of a narrow dimension weigh as much
as those of a wide one, and their offset from zero adds a shared component to every
vector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embreduce.choices import BITS, ROTATED_MAX_BITS, ROTATIONS
from embreduce.codecs.base import Codec, CodecSpec, register_codec
from embreduce.exceptions import InputError, ParameterError
from embreduce.params import check_fitted
from embreduce.validation import check_int, check_vectors

CALIBRATIONS = ("quantile", "minmax")
"""How a codec sets each dimension's range at 8, 4 and 2 bits."""

ONE_BIT_LEVELS = ("sign", "centroid")
"""What a 1-bit code decodes to: -1/+1, or each side's mean on the training vectors."""


ITQ_ITERATIONS = 50


ORTHOGONAL_TOLERANCE = 1e-3
"""How far a loaded ``rotation_.T @ rotation_`` may be from the identity (float32 rounding)."""

_STATE = ("low_", "step_", "threshold_", "rotation_", "center_")
_BLOCK_ROWS = 16384  # rows encoded or decoded at a time: memory stays flat
_FLOAT16_MAX = float(np.finfo(np.float16).max)


def check_bits(bits: Any, *, name: str = "bits") -> int:
    """Return ``bits`` as an int if it is one of :data:`BITS`, else raise one line.

    Parameters
    ----------
    bits : int
        Bits a dimension.
    name : str
        The parameter's name in the message.

    Raises
    ------
    ParameterError
        ``bits`` is not one of 32, 16, 8, 4, 2, 1.

    Examples
    --------
    >>> check_bits(4)
    4
    >>> check_bits(3)
    Traceback (most recent call last):
    ...
    embreduce.exceptions.ParameterError: bits=3 is not allowed: use one of 32, 16, 8, 4, 2, 1
    """
    allowed = ", ".join(str(b) for b in BITS)
    if isinstance(bits, str) and bits.strip().isdigit():
        bits = int(bits.strip())
    if isinstance(bits, (bool, np.bool_)) or not isinstance(bits, (int, np.integer)):
        raise ParameterError(f"{name}={bits!r} is not allowed: use one of {allowed}")
    if int(bits) not in BITS:
        raise ParameterError(f"{name}={bits} is not allowed: use one of {allowed}")
    return int(bits)


def check_rotation(rotation: Any, *, name: str = "rotation") -> str | None:
    """Return ``rotation`` if it is None or one of :data:`ROTATIONS`, else raise one line.

    Examples
    --------
    >>> check_rotation("itq")
    'itq'
    >>> check_rotation("pca")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    embreduce.exceptions.ParameterError: rotation='pca' is not allowed: use None or one of ...
    """
    if rotation is not None and rotation not in ROTATIONS:
        raise ParameterError(
            f"{name}={rotation!r} is not allowed: use None or one of " + ", ".join(ROTATIONS)
        )
    return rotation


def bytes_per_vector(n_dims: int, bits: int) -> int:
    """Bytes one packed vector of ``n_dims`` dimensions takes: ``ceil(n_dims * bits / 8)``.

    Examples
    --------
    >>> bytes_per_vector(384, 1), bytes_per_vector(5, 4), bytes_per_vector(64, 32)
    (48, 3, 256)
    """
    return math.ceil(int(n_dims) * check_bits(bits) / 8)


class QuantizationCodec(Codec):
    """Per-dimension scalar quantization to packed bytes, calibrated on training vectors.

    Parameters
    ----------
    bits : {32, 16, 8, 4, 2, 1}, default=8
        Bits a dimension.
    calibration : {"quantile", "minmax"}, default="quantile"
        At 8, 4 and 2 bits, each dimension's range: from its ``quantile`` to its
        ``1 - quantile`` training quantile, or from its minimum to its maximum.
    quantile : float or None, default=None
        The tail left outside the range with ``calibration="quantile"``, in [0, 0.5).
        None takes the value measured best for the precision (see ``DEFAULT_QUANTILE``).
    one_bit : {"sign", "centroid"}, default="sign"
        At 1 bit, decode to -1/+1 (cosine = ``1 - 2 * hamming / k``), or to the mean of
        each dimension's training values below and above its median.
    rotation : {None, "random", "itq"}, default=None
        At 8 bits or fewer, rotate the vectors before quantizing: ``"random"``, a seeded
        random orthogonal matrix (it spreads the variance of PCA/SVD outputs over every
        dimension); ``"itq"``, that matrix refined by iterative quantization (Gong &
        Lazebnik) on the vectors minus their training median. Decoding rotates back, so
        the decoded vectors approximate the input (minus that median with ``"itq"``) and
        the cosines are those of the rotated codes. See BENCHMARKS.md for when it helps.
    random_state : int, default=0
        Seeds the rotation.

    Attributes
    ----------
    n_features_in_ : int
        Dimensions of the vectors.
    low_ : ndarray of shape (n_features_in_,)
        The value code 0 decodes to (integer precisions only).
    step_ : ndarray of shape (n_features_in_,)
        The distance between two consecutive levels (integer precisions only).
    threshold_ : ndarray of shape (n_features_in_,)
        The training median each dimension is compared with (1 bit only).
    rotation_ : ndarray of shape (n_features_in_, n_features_in_)
        The orthogonal matrix applied before quantizing (with ``rotation`` only).
    center_ : ndarray of shape (n_features_in_,)
        What is subtracted before rotating: the training median (``"itq"``) or zeros.

    See Also
    --------
    save_codec, load_codec : Keep a fitted codec in a model folder.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 6)).astype(np.float32)
    >>> codec = QuantizationCodec(bits=4).fit(X)
    >>> codes = codec.encode(X[:2])
    >>> codes.shape, codes.dtype
    ((2, 3), dtype('uint8'))
    >>> codec.decode(codes).shape
    (2, 6)
    """

    DEFAULT_QUANTILE = {8: 0.0, 4: 0.001, 2: 0.02}
    """The tail per precision; measured on STS-B (see BENCHMARKS.md)."""

    codec_name = "scalar"
    state_arrays = _STATE

    def __init__(
        self,
        bits: int = 8,
        *,
        calibration: str = "quantile",
        quantile: float | None = None,
        one_bit: str = "sign",
        rotation: str | None = None,
        random_state: int = 0,
    ) -> None:
        self.bits = bits
        self.calibration = calibration
        self.quantile = quantile
        self.one_bit = one_bit
        self.rotation = rotation
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting

    def fit(self, X: ArrayLike, y: Any = None) -> QuantizationCodec:
        """Learn each dimension's range (or median at 1 bit) from the training vectors ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors, e.g. the reduced vectors the reducer was fitted on.
        y : ignored

        Returns
        -------
        QuantizationCodec
            The fitted codec.
        """
        bits = self._check_params()
        X = check_vectors(X, name="X")
        self.n_features_in_ = X.shape[1]
        for name in _STATE:
            self.__dict__.pop(name, None)
        if self.rotation is not None:
            self._fit_rotation(X)
            X = self._rotate(X)
        if bits == 1:
            self._fit_one_bit(X)
        elif bits <= 8:
            self._fit_levels(X, bits)
        return self

    def _check_params(self) -> int:
        bits = check_bits(self.bits)
        if self.calibration not in CALIBRATIONS:
            raise ParameterError(
                f"calibration={self.calibration!r} is not allowed: use one of "
                + ", ".join(CALIBRATIONS)
            )
        if self.one_bit not in ONE_BIT_LEVELS:
            raise ParameterError(
                f"one_bit={self.one_bit!r} is not allowed: use one of " + ", ".join(ONE_BIT_LEVELS)
            )
        if check_rotation(self.rotation) is not None and bits > 8:
            raise ParameterError(f"rotation applies to 8 bits or fewer, not {bits}")
        check_int(self.random_state, "random_state", low=0)
        q = self.quantile
        if q is not None and (
            isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q < 0.5
        ):
            raise ParameterError(f"quantile={q!r} is not allowed: use a number in [0, 0.5)")
        return bits

    def _fit_rotation(self, X: NDArray[np.float32]) -> None:
        k = X.shape[1]
        rng = np.random.default_rng(self.random_state)
        q, r = np.linalg.qr(rng.normal(size=(k, k)))
        R = q * np.sign(np.diag(r))  # a uniformly random orthogonal matrix
        X64 = X.astype(np.float64)
        if self.rotation == "itq":
            center = np.median(X64, axis=0)
            V = X64 - center
            for _ in range(ITQ_ITERATIONS):  # rotate V towards its own sign pattern
                U, _, Wt = np.linalg.svd(V.T @ np.sign(V @ R))
                R = U @ Wt
        else:
            center = np.zeros(k)
        self.rotation_ = R.astype(np.float32)
        self.center_ = center.astype(np.float32)

    def _rotate(self, X: NDArray[np.float32]) -> NDArray[np.float32]:
        return ((X - self.center_) @ self.rotation_).astype(np.float32)

    def _fit_levels(self, X: NDArray[np.float32], bits: int) -> None:
        q = self.quantile if self.quantile is not None else self.DEFAULT_QUANTILE[bits]
        if self.calibration == "minmax" or q == 0:
            low, high = X.min(axis=0), X.max(axis=0)
        else:
            low, high = np.quantile(X.astype(np.float64), [q, 1 - q], axis=0)
        levels = 2**bits - 1
        span = np.asarray(high, np.float64) - np.asarray(low, np.float64)
        self.low_ = np.asarray(low, np.float32)
        # a constant dimension keeps one level; step 1 avoids dividing by zero
        self.step_ = np.where(span > 0, span / levels, 1.0).astype(np.float32)

    def _fit_one_bit(self, X: NDArray[np.float32]) -> None:
        self.threshold_ = np.median(X, axis=0).astype(np.float32)
        if self.one_bit == "sign":
            self.low_ = np.full(X.shape[1], -1.0, np.float32)
            self.step_ = np.full(X.shape[1], 2.0, np.float32)
            return
        above = X > self.threshold_
        count_above = above.sum(axis=0)
        mean_above = np.where(above, X, 0).sum(axis=0) / np.maximum(count_above, 1)
        # a constant dimension has nothing above its median: both sides decode to it
        mean_above = np.where(count_above > 0, mean_above, self.threshold_)
        mean_below = np.where(above, 0, X).sum(axis=0) / np.maximum(len(X) - count_above, 1)
        self.low_ = mean_below.astype(np.float32)
        self.step_ = (mean_above - mean_below).astype(np.float32)

    # ------------------------------------------------------------------ coding

    def bytes_per_vector(self, n_dims: int | None = None) -> int:
        """Bytes one encoded vector takes (``n_dims`` defaults to the fitted dimension)."""
        if n_dims is None:
            check_fitted(self, "n_features_in_")
            n_dims = self.n_features_in_
        return bytes_per_vector(n_dims, self.bits)

    def encode(self, X: ArrayLike) -> NDArray[np.uint8]:
        """Encode vectors into packed codes, one row of ``bytes_per_vector()`` bytes each.

        Every row is encoded on its own: one query gives the same bytes as in a batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)

        Returns
        -------
        ndarray of uint8, shape (n_samples, ceil(n_features_in_ * bits / 8))
        """
        check_fitted(self, "n_features_in_")
        X = check_vectors(X, name="X")
        self._check_width(X.shape[1], "X", "dimensions")
        out = np.empty((X.shape[0], self.bytes_per_vector()), np.uint8)
        for start in range(0, X.shape[0], _BLOCK_ROWS):
            block = X[start : start + _BLOCK_ROWS]
            if hasattr(self, "rotation_"):
                block = self._rotate(block)
            if int(self.bits) == 16:
                _check_float16_range(block, start)
            out[start : start + len(block)] = self._encode_block(block)
        return out

    def decode(self, codes: ArrayLike) -> NDArray[np.float32]:
        """Turn packed codes back into float32 vectors.

        Parameters
        ----------
        codes : ndarray of uint8, shape (n_samples, bytes_per_vector())

        Returns
        -------
        ndarray of float32, shape (n_samples, n_features_in_)
        """
        check_fitted(self, "n_features_in_")
        codes = np.asarray(codes)
        if codes.dtype != np.uint8 or codes.ndim != 2:
            raise InputError(
                f"codes: expected a 2-D uint8 array, got {codes.dtype} of shape {codes.shape}"
            )
        self._check_width(codes.shape[1], "codes", "bytes")
        out = np.empty((codes.shape[0], self.n_features_in_), np.float32)
        for start in range(0, codes.shape[0], _BLOCK_ROWS):
            block = np.ascontiguousarray(codes[start : start + _BLOCK_ROWS])
            decoded = self._decode_block(block)
            if hasattr(self, "rotation_"):  # back to the input's axes: cosines unchanged
                decoded = decoded @ self.rotation_.T
            out[start : start + len(block)] = decoded
        return out

    @property
    def cosine_grid(self) -> int | None:
        """``k`` when every cosine of two decoded vectors is a multiple of ``1 / k``, else None.

        At 1 bit with ``one_bit="sign"`` the cosine is ``1 - 2 * hamming / k``: ties are
        exact, and a cosine computed in floats (after a rotation back, say) is rounded to
        this grid before ranking, so float rounding does not break them.
        """
        check_fitted(self, "n_features_in_")
        if int(self.bits) == 1 and self.one_bit == "sign":
            return int(self.n_features_in_)
        return None

    @property
    def compare(self) -> str:
        """``"hamming"`` for 1-bit sign codes, else ``"cosine"`` of the decoded vectors."""
        return "hamming" if self.cosine_grid is not None else "cosine"

    @property
    def lossless(self) -> bool:
        """True at 32 bits: the codes are the float32 vectors themselves."""
        return int(self.bits) == 32

    @property
    def folder_id(self) -> str:
        """``4bit``, ``2bit-itq``: the codec's folder in a model is ``codec-<folder_id>``."""
        return f"{int(self.bits)}bit" + (f"-{self.rotation}" if self.rotation else "")

    @property
    def candidate_suffix(self) -> str:
        """``+itq`` for a rotated codec: its study rows are a candidate of their own."""
        return f"+{self.rotation}" if self.rotation else ""

    def check_state(self, where: str) -> None:
        """Refuse arrays that a fit never gives and that would collapse or distort the codes."""
        bits = int(self.bits)
        if 2 <= bits <= 8 and not (self.step_ > 0).all():
            raise InputError(f"{where}: step_ must be positive (the distance between two levels)")
        if (
            bits == 1
            and self.one_bit == "sign"
            and not ((self.low_ == -1).all() and (self.step_ == 2).all())
        ):
            raise InputError(f"{where}: a 1-bit sign codec decodes to -1/+1 (low_ -1, step_ 2)")
        if bits == 1 and not (self.step_ >= 0).all():
            raise InputError(f"{where}: step_ must not be negative (the side above the median)")
        if self.rotation is not None:
            R = self.rotation_.astype(np.float64)
            error = np.abs(R.T @ R - np.eye(len(R))).max()
            if error > ORTHOGONAL_TOLERANCE:
                raise InputError(
                    f"{where}: rotation_ is not orthogonal (R.T @ R is {error:.3g} from the "
                    "identity)"
                )

    def expected_arrays(self) -> dict[str, tuple[int, ...]]:
        """The arrays a fitted codec of these parameters holds, with their shapes."""
        bits, k = self._check_params(), self.n_features_in_
        names = [] if bits > 8 else ["low_", "step_"] + (["threshold_"] if bits == 1 else [])
        names += ["rotation_", "center_"] if self.rotation is not None else []
        return {name: (k, k) if name == "rotation_" else (k,) for name in names}

    def _check_width(self, width: int, name: str, unit: str) -> None:
        expected = self.n_features_in_ if unit == "dimensions" else self.bytes_per_vector()
        if width != expected:
            raise InputError(
                f"{name}: {width} {unit} a row, but the codec was fitted for {expected} "
                f"({self.n_features_in_} dimensions at {self.bits} bits)"
            )

    def _encode_block(self, X: NDArray[np.float32]) -> NDArray[np.uint8]:
        bits = int(self.bits)
        if bits == 32:
            return X.astype("<f4").view(np.uint8)
        if bits == 16:
            return X.astype("<f2").view(np.uint8)  # the range is checked in encode
        if bits == 1:
            return np.packbits(X > self.threshold_, axis=1)
        levels = 2**bits - 1
        scaled = (X.astype(np.float64) - self.low_) / self.step_
        codes = np.clip(np.rint(scaled), 0, levels).astype(np.uint8)  # saturate, never wrap
        return pack_codes(codes, bits)

    def _decode_block(self, codes: NDArray[np.uint8]) -> NDArray[np.float32]:
        bits, k = int(self.bits), self.n_features_in_
        if bits == 32:
            return codes.view("<f4").astype(np.float32)
        if bits == 16:
            return codes.view("<f2").astype(np.float32)
        values = unpack_codes(codes, bits, k)
        return (self.low_ + values * self.step_).astype(np.float32)


def _check_float16_range(X: NDArray[np.float32], offset: int) -> None:
    """Refuse a value float16 cannot hold, naming its row (it would saturate silently)."""
    big = np.abs(X) > _FLOAT16_MAX
    if big.any():
        row = int(np.flatnonzero(big.any(axis=1))[0])
        raise InputError(
            f"row {offset + row}: a value beyond float16's range (±65504) cannot be coded at "
            "16 bits; use 32 bits or scale the vectors"
        )


def pack_codes(codes: NDArray[np.uint8], bits: int) -> NDArray[np.uint8]:
    """Pack integer codes below ``2**bits`` into bytes, most significant bits first.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n, k)
    bits : {8, 4, 2, 1}

    Returns
    -------
    ndarray of uint8, shape (n, ceil(k * bits / 8))

    Examples
    --------
    >>> pack_codes(np.array([[1, 2, 3]], np.uint8), 4)
    array([[18, 48]], dtype=uint8)
    """
    if bits == 8:
        return np.ascontiguousarray(codes, np.uint8)
    if bits == 1:
        return np.packbits(codes.astype(bool), axis=1)
    if bits in (4, 2):  # whole codes a byte: shift them into place, first one highest
        per = 8 // bits
        n, k = codes.shape
        padded = codes if k % per == 0 else np.pad(codes, ((0, 0), (0, per - k % per)))
        out = np.zeros((n, padded.shape[1] // per), np.uint8)
        for i in range(per):
            out |= padded[:, i::per] << np.uint8(bits * (per - 1 - i))
        return out
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint8)
    planes = (codes[:, :, None] >> shifts) & 1  # (n, k, bits), high bit first
    return np.packbits(planes.reshape(len(codes), -1), axis=1)


def unpack_codes(packed: NDArray[np.uint8], bits: int, k: int) -> NDArray[np.uint8]:
    """Inverse of :func:`pack_codes`: the ``k`` integer codes of every row.

    Examples
    --------
    >>> unpack_codes(np.array([[18, 48]], np.uint8), 4, 3)
    array([[1, 2, 3]], dtype=uint8)
    """
    if bits == 8:
        return packed[:, :k]
    flat = np.unpackbits(packed, axis=1, count=k * bits)
    if bits == 1:
        return flat
    weights = (1 << np.arange(bits - 1, -1, -1)).astype(np.uint8)
    return (flat.reshape(len(packed), k, bits) * weights).sum(axis=2, dtype=np.uint8)


def _scalar_grid(bits: Sequence[int], rotations: Sequence[str]) -> list[Codec]:
    """Each precision, then its rotated codecs at :data:`ROTATED_MAX_BITS` bits and fewer."""
    out: list[Codec] = []
    for b in bits:
        out.append(QuantizationCodec(bits=b))
        if b <= ROTATED_MAX_BITS:
            out += [QuantizationCodec(bits=b, rotation=r) for r in rotations]
    return out


register_codec(CodecSpec("scalar", QuantizationCodec, _scalar_grid, aliases=("quantization",)))
