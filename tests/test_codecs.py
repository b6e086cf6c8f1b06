"""Codecs: packed codes of every precision, saturation, one query = a batch row, save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embreduce.codecs import (
    BITS,
    QuantizationCodec,
    bytes_per_vector,
    check_bits,
    load_codec,
    pack_codes,
    save_codec,
    unpack_codes,
)
from embreduce.exceptions import InputError, ModelNotFoundError, OutputError, ParameterError


def vectors(n: int = 200, k: int = 7, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, k)) * rng.uniform(0.1, 3, size=k) + rng.normal(size=k)).astype(
        np.float32
    )


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("k", [1, 7, 16, 33])
def test_codes_are_packed_bytes(bits, k):
    X = vectors(k=k)
    codec = QuantizationCodec(bits=bits).fit(X)
    codes = codec.encode(X)
    assert codes.dtype == np.uint8
    assert codes.shape == (len(X), -(-k * bits // 8)) == (len(X), bytes_per_vector(k, bits))
    assert codec.bytes_per_vector() == codes.shape[1]
    decoded = codec.decode(codes)
    assert decoded.dtype == np.float32 and decoded.shape == X.shape
    if bits > 1:  # decoded values are levels, and encode to themselves
        np.testing.assert_array_equal(codec.encode(decoded), codes)


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_levels_are_within_half_a_step_inside_the_range(bits):
    X = vectors()
    codec = QuantizationCodec(bits=bits, calibration="minmax").fit(X)
    error = np.abs(codec.quantize(X) - X)
    assert (error <= codec.step_ / 2 + 1e-5).all()
    levels = np.unique(unpack_codes(codec.encode(X), bits, X.shape[1]))
    assert levels.min() == 0 and levels.max() == 2**bits - 1  # the whole range is used


def test_float_precisions_round_trip():
    X = vectors()
    np.testing.assert_array_equal(QuantizationCodec(bits=32).fit(X).quantize(X), X)
    half = QuantizationCodec(bits=16).fit(X).quantize(X)
    np.testing.assert_allclose(half, X, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("bits", BITS)
def test_values_beyond_the_range_saturate_never_wrap(bits):
    X = vectors()
    codec = QuantizationCodec(bits=bits).fit(X)
    top, bottom = codec.quantize(X).max(axis=0), codec.quantize(X).min(axis=0)
    far = np.stack([X.max(axis=0) + 1e5, X.min(axis=0) - 1e5]).astype(np.float32)
    if bits == 16:  # float16 cannot hold them: refused, never saturated silently
        with pytest.raises(InputError, match=r"row 0: a value beyond float16's range"):
            codec.encode(far)
        return
    decoded = codec.quantize(far)
    if bits == 32:
        np.testing.assert_array_equal(decoded, far)
    else:
        np.testing.assert_array_equal(decoded[0], top)
        np.testing.assert_array_equal(decoded[1], bottom)


@pytest.mark.parametrize("bits", BITS)
def test_one_row_is_encoded_as_in_a_batch(bits):
    X = vectors()
    codec = QuantizationCodec(bits=bits).fit(X)
    batch = codec.encode(X)
    for row in (0, 57, len(X) - 1):
        np.testing.assert_array_equal(codec.encode(X[row : row + 1])[0], batch[row])


def test_one_bit_thresholds_at_the_training_median_and_decodes_to_signs():
    X = vectors(k=9)
    codec = QuantizationCodec(bits=1).fit(X)
    np.testing.assert_allclose(codec.threshold_, np.median(X, axis=0))
    decoded = codec.quantize(X)
    np.testing.assert_array_equal(decoded, np.where(X > np.median(X, axis=0), 1.0, -1.0))
    a, b = decoded[0], decoded[1]
    hamming = np.count_nonzero(a != b)
    cosine = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    assert cosine == pytest.approx(1 - 2 * hamming / 9)


def test_one_bit_centroids_are_each_sides_training_mean():
    X = vectors(n=101, k=3)
    codec = QuantizationCodec(bits=1, one_bit="centroid").fit(X)
    above = X[:, 0] > np.median(X[:, 0])
    decoded = codec.quantize(X)[:, 0]
    np.testing.assert_allclose(decoded[above], X[above, 0].mean(), rtol=1e-5)
    np.testing.assert_allclose(decoded[~above], X[~above, 0].mean(), rtol=1e-5)


def test_one_bit_equals_sentence_transformers_ubinary_of_the_centred_vectors():
    try:  # sentence-transformers 5.x's path; the old one warns
        from sentence_transformers.util.quantization import quantize_embeddings
    except ImportError:
        from sentence_transformers.quantization import quantize_embeddings

    X = vectors(k=20)
    codec = QuantizationCodec(bits=1).fit(X)
    theirs = quantize_embeddings(X - codec.threshold_, precision="ubinary")
    np.testing.assert_array_equal(codec.encode(X), theirs)


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
@pytest.mark.parametrize("k", [1, 3, 5, 8, 13])
def test_pack_and_unpack_are_inverse(bits, k):
    codes = np.random.default_rng(k).integers(0, 2**bits, size=(4, k), dtype=np.uint8)
    packed = pack_codes(codes, bits)
    assert packed.shape == (4, bytes_per_vector(k, bits))
    np.testing.assert_array_equal(unpack_codes(packed, bits, k), codes)


def test_the_first_dimension_is_in_the_high_bits():
    codes = np.array([[3, 0, 1, 2, 1]], np.uint8)
    assert pack_codes(codes, 2).tolist() == [[0b11000110, 0b01000000]]
    assert pack_codes(codes[:, :3], 4).tolist() == [[0x30, 0x10]]


@pytest.mark.parametrize("bad", [3, 0, 64, "8x", 8.0, True, None])
def test_bits_not_in_the_list_give_one_line(bad):
    with pytest.raises(ParameterError) as info:
        QuantizationCodec(bits=bad).fit(vectors())
    message = str(info.value)
    assert "\n" not in message and message.startswith("bits=") and "32, 16, 8, 4, 2, 1" in message
    with pytest.raises(ParameterError):
        check_bits(bad)


@pytest.mark.parametrize(
    "params",
    [
        {"calibration": "median"},
        {"quantile": 0.5},
        {"quantile": -0.1},
        {"one_bit": "zero"},
        {"rotation": "pca"},
        {"rotation": "random", "bits": 16},
        {"random_state": -1},
    ],
)
def test_other_bad_params_name_the_parameter(params):
    with pytest.raises(ParameterError, match=next(iter(params))):
        QuantizationCodec(**params).fit(vectors())


def test_wrong_widths_and_types_are_refused():
    codec = QuantizationCodec(bits=4).fit(vectors(k=7))
    with pytest.raises(InputError, match="X: 6 dimensions a row, but the codec was fitted for 7"):
        codec.encode(vectors(k=6))
    with pytest.raises(InputError, match="codes: 3 bytes a row"):
        codec.decode(np.zeros((2, 3), np.uint8))
    with pytest.raises(InputError, match="uint8"):
        codec.decode(np.zeros((2, 4), np.int64))
    with pytest.raises(InputError, match="NaN"):
        codec.encode(np.full((1, 7), np.nan))


def test_quantile_calibration_narrows_the_range():
    X = vectors(n=1000)
    wide = QuantizationCodec(bits=2, calibration="minmax").fit(X)
    narrow = QuantizationCodec(bits=2, quantile=0.05).fit(X)
    assert (narrow.step_ < wide.step_).all()
    np.testing.assert_allclose(narrow.low_, np.quantile(X, 0.05, axis=0), rtol=1e-5)


@pytest.mark.parametrize("bits", BITS)
def test_save_and_load_give_the_same_codes(tmp_path, bits):
    X = vectors(k=11)
    codec = QuantizationCodec(bits=bits, one_bit="centroid").fit(X)
    (tmp_path / "config.json").write_text("{}")  # a reducer's file beside it stays
    save_codec(tmp_path, codec)
    back = load_codec(tmp_path)
    assert back.get_params() == codec.get_params()
    np.testing.assert_array_equal(back.encode(X), codec.encode(X))
    np.testing.assert_array_equal(back.decode(codec.encode(X)), codec.quantize(X))
    assert (tmp_path / "config.json").read_text() == "{}"
    config = json.loads((tmp_path / "codec.json").read_text())
    assert config["bytes_per_vector"] == bytes_per_vector(11, bits)


def test_save_refuses_to_replace_a_codec_without_overwrite(tmp_path):
    codec = QuantizationCodec(bits=4).fit(vectors())
    save_codec(tmp_path, codec)
    with pytest.raises(OutputError, match="overwrite"):
        save_codec(tmp_path, QuantizationCodec(bits=1).fit(vectors()))
    assert load_codec(tmp_path).bits == 4
    save_codec(tmp_path, QuantizationCodec(bits=1).fit(vectors()), overwrite=True)
    assert load_codec(tmp_path).bits == 1


def test_load_checks_what_it_reads(tmp_path):
    with pytest.raises(ModelNotFoundError, match="codec.json is missing"):
        load_codec(tmp_path)
    save_codec(tmp_path, QuantizationCodec(bits=4).fit(vectors(k=5)))
    config = json.loads((tmp_path / "codec.json").read_text())
    config["n_features_in"] = 6
    (tmp_path / "codec.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="low_ must have shape 6, got 5"):
        load_codec(tmp_path)
    config["n_features_in"], config["params"]["bits"] = 5, 3
    (tmp_path / "codec.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="bits=3"):
        load_codec(tmp_path)
    (tmp_path / "codec.safetensors").write_bytes(b"not safetensors")
    config["params"]["bits"] = 4
    (tmp_path / "codec.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="safetensors"):
        load_codec(tmp_path)


def test_unfitted_codec_cannot_encode():
    from embreduce.params import NotFittedError

    with pytest.raises(NotFittedError):
        QuantizationCodec().encode(vectors())


@pytest.mark.parametrize("rotation", ["random", "itq"])
@pytest.mark.parametrize("bits", [8, 4, 2, 1])
def test_a_rotated_codec_rotates_orthogonally_and_back(tmp_path, rotation, bits):
    X = vectors(n=300, k=9)
    codec = QuantizationCodec(bits=bits, rotation=rotation, random_state=3).fit(X)
    R = codec.rotation_
    np.testing.assert_allclose(R @ R.T, np.eye(9), atol=1e-5)
    expected_center = np.median(X, axis=0) if rotation == "itq" else np.zeros(9)
    np.testing.assert_allclose(codec.center_, expected_center, atol=1e-6)
    # the codes are those of the plain codec on the rotated vectors
    plain = QuantizationCodec(bits=bits).fit((X - codec.center_) @ R)
    np.testing.assert_array_equal(codec.encode(X), plain.encode((X - codec.center_) @ R))
    # decoding rotates back: the cosines are those of the rotated codes
    decoded = codec.quantize(X)
    np.testing.assert_allclose(decoded @ R, plain.quantize((X - codec.center_) @ R), atol=1e-5)
    np.testing.assert_array_equal(codec.encode(X[:1]), codec.encode(X)[:1])  # one row alike
    save_codec(tmp_path, codec)
    back = load_codec(tmp_path)
    assert back.rotation == rotation
    np.testing.assert_array_equal(back.encode(X), codec.encode(X))


def test_a_random_rotation_spreads_unbalanced_dimensions_for_one_bit_codes():
    rng = np.random.default_rng(0)
    scales = np.array([8.0, 4.0, 2.0, 1.0, 0.5, 0.25, 0.1, 0.05])  # like PCA's components
    X = rng.normal(size=(3000, 8)) * scales
    test = rng.normal(size=(400, 8)) * scales

    def cosine_error(codec):
        Z, T = codec.fit(X).quantize(test), test
        Zn = Z / np.linalg.norm(Z, axis=1, keepdims=True)
        Tn = T / np.linalg.norm(T, axis=1, keepdims=True)
        return np.mean((Zn @ Zn.T - Tn @ Tn.T) ** 2)

    plain = cosine_error(QuantizationCodec(bits=1))
    rotated = cosine_error(QuantizationCodec(bits=1, rotation="random"))
    assert rotated < plain


@pytest.mark.parametrize("bits", [4, 2])
@pytest.mark.parametrize("k", [1, 3, 5, 8, 65])
def test_packing_by_shifts_is_the_bit_plane_packing(bits, k):
    codes = np.random.default_rng(k).integers(0, 2**bits, size=(40, k)).astype(np.uint8)
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint8)  # the plain computation
    planes = ((codes[:, :, None] >> shifts) & 1).reshape(len(codes), -1)
    np.testing.assert_array_equal(pack_codes(codes, bits), np.packbits(planes, axis=1))
    np.testing.assert_array_equal(unpack_codes(pack_codes(codes, bits), bits, k), codes)
