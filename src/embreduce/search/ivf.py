"""Inverted lists over the same codes: ``index --ivf N``.

An IVF index narrows a search to the ``nprobe`` lists nearest the query. Built here with
``by_residual = False`` and the codec's own trained quantizer copied in, it stores exactly
the flat index's codes (one list number beside each): with ``nprobe`` = the number of lists
it returns what the flat index returns. The coarse quantizer is a spherical k-means of a
seeded sample of the corpus after the reducer and normalisation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embreduce.exceptions import InputError

DEFAULT_NPROBE = 16
"""Lists a query visits unless the search says otherwise."""
TRAIN_POINTS = 64
"""Sample vectors a list's centroid is trained on, at most (FAISS warns below 39)."""


def with_inverted_lists(chain: Any, nlist: int, sample: np.ndarray, seed: int = 0) -> Any:
    """``chain`` (an ``IndexPreTransform`` over a flat codec index) with its codec index
    replaced by inverted lists over the same codes, trained on ``sample`` (input vectors).

    Raises
    ------
    InputError
        A codec FAISS has no inverted lists for here (LSQ, RaBitQ), or too small a sample.
    """
    import faiss

    transforms = [chain.chain.at(i) for i in range(chain.chain.size())]
    inner = faiss.downcast_index(chain.index)
    if isinstance(inner, faiss.IndexPreTransform):  # OPQ: its rotation joins the chain
        transforms += [inner.chain.at(i) for i in range(inner.chain.size())]
        inner = faiss.downcast_index(inner.index)
    if len(sample) < nlist:
        raise InputError(f"--ivf {nlist}: needs at least {nlist} corpus vectors, has {len(sample)}")
    X = np.ascontiguousarray(sample, np.float32)
    for vt in transforms:
        X = vt.apply(X)
    d = X.shape[1]
    kmeans = faiss.Kmeans(d, nlist, niter=20, seed=seed, spherical=True, min_points_per_centroid=1)
    kmeans.train(X[: nlist * TRAIN_POINTS])
    metric = inner.metric_type  # the codec's (L2; float32 inner product)
    coarse = faiss.IndexFlat(d, metric)  # unit vectors: the same lists by either metric
    coarse.add(kmeans.centroids)
    if isinstance(inner, faiss.IndexFlat):
        ivf = faiss.IndexIVFFlat(coarse, d, nlist, metric)
    elif isinstance(inner, faiss.IndexPQ):
        ivf = faiss.IndexIVFPQ(coarse, d, nlist, inner.pq.M, inner.pq.nbits, metric)
        ivf.pq = inner.pq
    elif isinstance(inner, faiss.IndexResidualQuantizer):
        rq = inner.rq
        ivf = faiss.IndexIVFResidualQuantizer(
            coarse, d, nlist, rq.M, rq.nbits.at(0), metric, rq.search_type
        )
        ivf.rq = rq
    elif isinstance(inner, faiss.IndexScalarQuantizer):
        ivf = faiss.IndexIVFScalarQuantizer(coarse, d, nlist, inner.sq.qtype, metric, False)
        ivf.sq = inner.sq
    else:
        raise InputError(
            f"--ivf: no inverted lists for a {type(inner).__name__} here; use pq, opq, rq, "
            "sq8, sq4 or float32, or leave --ivf out"
        )
    ivf.by_residual = False  # the flat index's codes, not residuals from the centroids
    ivf.is_trained = True
    ivf.nprobe = DEFAULT_NPROBE
    out = faiss.IndexPreTransform(ivf)
    for vt in reversed(transforms):
        out.prepend_transform(vt)
    # a copy that owns all its parts (the ones above belong to objects that go away)
    return faiss.deserialize_index(faiss.serialize_index(out))
