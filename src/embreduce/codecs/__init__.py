"""Codecs: store each vector in a few bytes, calibrated once on training vectors.

One interface (:class:`Codec`: ``fit``, ``encode`` to ``uint8`` rows, ``decode`` to
float32, ``bytes_per_vector``, how codes are compared) and one registry of families
(:class:`CodecSpec`, :func:`register_codec`). Ours is the per-dimension scalar codec,
:class:`QuantizationCodec` (``scalar``), in :mod:`embreduce.codecs.scalar`; FAISS's product,
residual, additive, scalar and RaBitQ quantizers are :class:`FaissCodec` (``faiss``), in
:mod:`embreduce.codecs.faiss_codecs`. Codecs are saved
in folders by :mod:`embreduce.codecs.store`, beside the model they were calibrated for.
"""

from embreduce.codecs.base import (
    COMPARISONS,
    SIMILARITIES,
    Codec,
    CodecSpec,
    available_codecs,
    codec_from_id,
    codec_id,
    get_codec_spec,
    register_codec,
    study_grid,
    unregister_codec,
)
from embreduce.codecs.faiss_codecs import QUANTIZERS, FaissCodec, faiss_grid
from embreduce.codecs.scalar import (
    BITS,
    CALIBRATIONS,
    ITQ_ITERATIONS,
    ONE_BIT_LEVELS,
    ROTATED_MAX_BITS,
    ROTATIONS,
    QuantizationCodec,
    bytes_per_vector,
    check_bits,
    check_rotation,
    pack_codes,
    unpack_codes,
)
from embreduce.codecs.store import (
    CODEC_CONFIG,
    CODEC_FORMAT_VERSION,
    CODEC_WEIGHTS,
    codec_folder,
    has_codec,
    load_codec,
    load_model_codec,
    model_digest,
    remove_model_codecs,
    save_codec,
    save_model_codec,
    saved_codecs,
)

__all__ = [
    "BITS",
    "CALIBRATIONS",
    "CODEC_CONFIG",
    "CODEC_FORMAT_VERSION",
    "CODEC_WEIGHTS",
    "COMPARISONS",
    "ITQ_ITERATIONS",
    "ONE_BIT_LEVELS",
    "ROTATED_MAX_BITS",
    "ROTATIONS",
    "SIMILARITIES",
    "Codec",
    "FaissCodec",
    "QUANTIZERS",
    "faiss_grid",
    "CodecSpec",
    "QuantizationCodec",
    "available_codecs",
    "bytes_per_vector",
    "check_bits",
    "check_rotation",
    "codec_folder",
    "codec_from_id",
    "codec_id",
    "get_codec_spec",
    "has_codec",
    "load_codec",
    "load_model_codec",
    "model_digest",
    "pack_codes",
    "register_codec",
    "remove_model_codecs",
    "save_codec",
    "save_model_codec",
    "saved_codecs",
    "study_grid",
    "unpack_codes",
    "unregister_codec",
]
