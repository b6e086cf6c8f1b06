"""Fixed-bin histograms that stream over billions of values, and quantiles read from them."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: Histogram bin edges for cosine similarities: 200 bins of width 0.01 on [-1, 1].
COS_EDGES: NDArray[np.float64] = np.linspace(-1.0, 1.0, 201)
#: Histogram bin edges for differences ``cos_original - cos_reduced``: 400 bins of width
#: 0.005 on [-1, 1]. Differences can reach +-2; those beyond +-1 are counted in the end bins.
DIFF_EDGES: NDArray[np.float64] = np.linspace(-1.0, 1.0, 401)


def scratch_buffer(owner: object, name: str, shape: tuple[int, ...], dtype: np.dtype) -> NDArray:
    """A C-contiguous array of ``shape`` in a flat buffer kept on ``owner`` and reused.

    Reusing one buffer per role avoids a fresh allocation (and its page faults) for
    every block of similarities.
    """
    size = int(np.prod(shape))
    buf = getattr(owner, name, None)
    if buf is None or buf.size < size or buf.dtype != dtype:
        buf = np.empty(size, dtype=dtype)
        setattr(owner, name, buf)
    return buf[:size].reshape(shape)


class FineHistogram:
    """Counts of values in ``n_bins`` equal bins on ``[lo, hi]``, plus 1 % padding each side.

    Bin indices are computed with one multiply-add in the values' own float type and
    a truncating cast, then counted with :func:`numpy.bincount` (several times faster than
    :func:`numpy.histogram`). A value within float rounding (about 1e-7 relative) of a bin
    edge may be counted in the neighbouring bin. Values beyond the padding are counted in
    the first or last bin.
    """

    def __init__(self, lo: float, hi: float, n_bins: int) -> None:
        self.lo, self.hi, self.n_bins = float(lo), float(hi), int(n_bins)
        self.width = (self.hi - self.lo) / self.n_bins
        self.pad = max(1, self.n_bins // 100)
        self.total = self.n_bins + 2 * self.pad
        self.scale = 1.0 / self.width
        self.offset = self.pad - self.lo * self.scale
        self.counts = np.zeros(self.total, dtype=np.int64)

    def add(self, values: NDArray[np.floating]) -> None:
        """Count ``values`` (any shape, float32 or float64)."""
        if values.size == 0:
            return
        t = scratch_buffer(self, "_t", values.shape, values.dtype)
        np.multiply(values, values.dtype.type(self.scale), out=t)
        t += t.dtype.type(self.offset)
        idx = scratch_buffer(self, "_idx", values.shape, np.intp)
        np.copyto(idx, t, casting="unsafe")  # truncation is floor here: t >= 0 in range
        flat = idx.reshape(-1)
        try:
            counts = np.bincount(flat, minlength=self.total)
        except ValueError:  # a value far below lo: clip, as promised
            counts = np.bincount(np.clip(flat, 0, None), minlength=self.total)
        if counts.size > self.total:  # values far above hi
            counts[self.total - 1] += counts[self.total :].sum()
            counts = counts[: self.total]
        self.counts += counts

    def coarse(self, edges: NDArray[np.float64]) -> list[int]:
        """Counts over ``edges`` (uniform, aligned to the fine bins); outliers in end bins."""
        ratio = round((edges[1] - edges[0]) / self.width)
        first = round((edges[0] - self.lo) / self.width)  # fine bins from lo to edges[0]
        n_coarse = len(edges) - 1
        target = np.clip((np.arange(self.total) - self.pad - first) // ratio, 0, n_coarse - 1)
        return np.bincount(target, weights=self.counts, minlength=n_coarse).astype(int).tolist()

    def quantiles(self, qs: NDArray[np.float64]) -> NDArray[np.float64]:
        """Quantiles (numpy's default "linear" method) read from the counts.

        Each order statistic is placed inside the bin that holds it, so the error is at
        most one bin width (``self.width``) for values inside ``[lo, hi]`` and its padding.
        """
        cum = np.cumsum(self.counts)
        n = int(cum[-1])
        h = (n - 1) * np.asarray(qs, dtype=np.float64)
        k0 = np.floor(h).astype(np.int64)
        k1 = np.minimum(k0 + 1, n - 1)
        return self._order_statistic(cum, k0) + (h - k0) * (
            self._order_statistic(cum, k1) - self._order_statistic(cum, k0)
        )

    def _order_statistic(self, cum: NDArray[np.int64], k: NDArray[np.int64]) -> NDArray:
        b = np.searchsorted(cum, k, side="right")
        before = np.where(b > 0, cum[np.maximum(b - 1, 0)], 0)
        inside = (k - before + 0.5) / self.counts[b]
        return self.lo + (b - self.pad + inside) * self.width
