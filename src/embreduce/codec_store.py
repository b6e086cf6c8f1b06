"""Codecs on disk: one codec a folder, and the codecs that belong to a saved model.

A codec folder holds ``codec.json`` + ``codec.safetensors`` (:func:`save_codec`,
:func:`load_codec`). Inside a model folder written by ``embreduce study``, each precision
has its own folder (``codec-4bit/``, ``codec-2bit-itq/``, see :func:`codec_folder`) and
the model folder itself may hold the default codec, the one ``compress`` uses without
``--bits``.

A codec is calibrated on one fitted reducer's output: used with another fit its codes are
wrong while looking right. So a codec saved for a model records the SHA-256 of that model's
``model.safetensors`` (:func:`save_model_codec`), and :func:`load_model_codec`, which
``compress``, ``export`` and the Dask engine all use, refuses a codec whose model is not
the one beside it, a codec of another precision or rotation than its folder says, and one
whose width is not the model's output dimension. :func:`load_codec` checks the arrays
themselves (finite, a positive step between levels, an orthogonal rotation).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.utils.validation import check_is_fitted

from embreduce.codecs import QuantizationCodec, check_bits, check_rotation
from embreduce.exceptions import InputError, ModelNotFoundError, ParameterError
from embreduce.outputs import PathLike, atomic_write, check_output_file

CODEC_CONFIG = "codec.json"
CODEC_WEIGHTS = "codec.safetensors"
CODEC_FORMAT_VERSION = 1
MODEL_WEIGHTS = "model.safetensors"
"""The reducer's weights file in a model folder (see :mod:`embreduce.reducers.persistence`)."""

ROTATED_MAX_BITS = 4
"""The study tries codec rotations at this many bits a dimension and fewer."""

ORTHOGONAL_TOLERANCE = 1e-3
"""How far ``rotation_.T @ rotation_`` may be from the identity (float32 rounding)."""


def codec_folder(bits: int, rotation: str | None = None) -> str:
    """The folder of a study's codec inside a model folder: ``codec-4bit``, ``codec-2bit-itq``."""
    return f"codec-{bits}bit" + (f"-{rotation}" if rotation else "")


def model_digest(directory: PathLike) -> str:
    """The SHA-256 (hex) of a model folder's ``model.safetensors``: which fit it holds.

    Raises
    ------
    ModelNotFoundError
        The folder has no ``model.safetensors``.
    """
    path = Path(directory) / MODEL_WEIGHTS
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise ModelNotFoundError(f"no reducer saved at {directory}: {exc.strerror}") from None
    return digest.hexdigest()


# ---------------------------------------------------------------------- one codec folder


def save_codec(
    folder: PathLike,
    codec: QuantizationCodec,
    *,
    overwrite: bool = False,
    model_sha256: str | None = None,
) -> Path:
    """Write a fitted codec into ``folder`` as ``codec.json`` + ``codec.safetensors``.

    The folder's other files are left alone. The arrays are written first and the JSON
    last, each atomically, so a reader that finds the JSON finds the arrays it describes.

    Parameters
    ----------
    folder : path-like
        Where to write (created if missing).
    codec : QuantizationCodec
        A fitted codec.
    overwrite : bool
        Replace a codec already saved there.
    model_sha256 : str, optional
        The digest of the model the codec was calibrated for (:func:`model_digest`);
        :func:`save_model_codec` sets it.

    Returns
    -------
    Path
        The path of ``codec.json``.

    Raises
    ------
    OutputError
        A codec is already there without ``overwrite``, or the folder cannot be written.
    """
    from safetensors.numpy import save_file

    from embreduce import __version__

    check_is_fitted(codec, "n_features_in_")
    folder = Path(folder)
    config_path = check_output_file(folder / CODEC_CONFIG, suffixes=(".json",), overwrite=overwrite)
    weights_path = check_output_file(
        folder / CODEC_WEIGHTS, suffixes=(".safetensors",), overwrite=overwrite
    )
    arrays = {k: np.ascontiguousarray(v, np.float32) for k, v in codec._get_state().items()}
    config = {
        "format_version": CODEC_FORMAT_VERSION,
        "codec": "quantization",
        "embreduce_version": __version__,
        "params": codec.get_params(),
        "n_features_in": int(codec.n_features_in_),
        "bytes_per_vector": codec.bytes_per_vector(),
        "arrays": {k: list(v.shape) for k, v in arrays.items()},
        "packing": "most significant bits first; 32/16 bits: little-endian floats",
        "similarity": "cosine of the decoded vectors",
        "model_sha256": model_sha256,
    }
    with atomic_write(weights_path, overwrite=True) as tmp:
        save_file(arrays, str(tmp), metadata={"format": "embreduce-codec"})
    with atomic_write(config_path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return config_path


def has_codec(folder: PathLike) -> bool:
    """Tell whether ``folder`` holds a saved codec (its ``codec.json``)."""
    return (Path(folder) / CODEC_CONFIG).is_file()


def load_codec(folder: PathLike) -> QuantizationCodec:
    """Read a codec written by :func:`save_codec`, checking what it reads.

    Raises
    ------
    ModelNotFoundError
        No codec in ``folder``.
    InputError
        The JSON or the arrays are malformed or do not agree: missing or extra arrays,
        wrong shapes, NaN or infinite values, levels that do not step upwards, a rotation
        that is not orthogonal.

    Examples
    --------
    >>> load_codec("no/such/folder")
    Traceback (most recent call last):
    ...
    embreduce.exceptions.ModelNotFoundError: no codec saved in no/such/folder: codec.json is missing
    """
    return _load_codec(Path(folder))[0]


def _load_codec(folder: Path) -> tuple[QuantizationCodec, dict[str, Any]]:
    config = _read_codec_config(folder)
    try:
        codec = QuantizationCodec(**config["params"])
        bits = codec._check_params()
    except (TypeError, ParameterError) as exc:
        raise InputError(f"{folder / CODEC_CONFIG}: bad params: {exc}") from None
    k = config["n_features_in"]
    arrays = _read_codec_arrays(folder)
    expected = [] if bits > 8 else ["low_", "step_"] + (["threshold_"] if bits == 1 else [])
    expected += ["rotation_", "center_"] if codec.rotation is not None else []
    where = folder / CODEC_WEIGHTS
    if sorted(arrays) != sorted(expected):
        raise InputError(f"{where}: holds {sorted(arrays)}, expected {expected} for {bits} bits")
    for name, value in arrays.items():
        shape = (k, k) if name == "rotation_" else (k,)
        if value.shape != shape:
            raise InputError(
                f"{where}: {name} must have shape {' x '.join(map(str, shape))}, "
                f"got {' x '.join(map(str, value.shape))}"
            )
        if not np.isfinite(value).all():
            raise InputError(f"{where}: {name} holds NaN or infinite values")
        setattr(codec, name, value.astype(np.float32))
    codec.n_features_in_ = k
    _check_state(codec, where)
    return codec, config


def _check_state(codec: QuantizationCodec, where: Path) -> None:
    """Refuse arrays that a fit never gives and that would collapse or distort the codes."""
    bits = int(codec.bits)
    if 2 <= bits <= 8 and not (codec.step_ > 0).all():
        raise InputError(f"{where}: step_ must be positive (the distance between two levels)")
    if (
        bits == 1
        and codec.one_bit == "sign"
        and not ((codec.low_ == -1).all() and (codec.step_ == 2).all())
    ):
        raise InputError(f"{where}: a 1-bit sign codec decodes to -1/+1 (low_ -1, step_ 2)")
    if bits == 1 and not (codec.step_ >= 0).all():
        raise InputError(f"{where}: step_ must not be negative (the side above the median)")
    if codec.rotation is not None:
        R = codec.rotation_.astype(np.float64)
        error = np.abs(R.T @ R - np.eye(len(R))).max()
        if error > ORTHOGONAL_TOLERANCE:
            raise InputError(
                f"{where}: rotation_ is not orthogonal (R.T @ R is {error:.3g} from the identity)"
            )


def _read_codec_config(folder: Path) -> dict[str, Any]:
    path = folder / CODEC_CONFIG
    if not path.is_file():
        raise ModelNotFoundError(f"no codec saved in {folder}: {CODEC_CONFIG} is missing")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as JSON ({exc})") from None
    if not isinstance(config, dict) or not isinstance(config.get("params"), dict):
        raise InputError(f"{path}: expected an object with 'params'")
    if config.get("format_version") != CODEC_FORMAT_VERSION:
        raise InputError(
            f"{path}: format_version {config.get('format_version')!r} is not supported "
            f"(this embreduce reads version {CODEC_FORMAT_VERSION})"
        )
    k = config.get("n_features_in")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(f"{path}: n_features_in must be a positive integer, got {k!r}")
    return config


def _read_codec_arrays(folder: Path) -> dict[str, NDArray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = folder / CODEC_WEIGHTS
    if not path.is_file():
        raise ModelNotFoundError(f"no codec saved in {folder}: {CODEC_WEIGHTS} is missing")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as safetensors ({exc})") from None


# ---------------------------------------------------------------------- a model's codecs


def save_model_codec(
    model_dir: PathLike, codec: QuantizationCodec, *, default: bool = False
) -> Path:
    """Save a codec fitted on a saved model's output beside it, recording which model.

    Parameters
    ----------
    model_dir : path-like
        A model folder (``config.json`` + ``model.safetensors``).
    codec : QuantizationCodec
        Fitted on what that model outputs.
    default : bool
        Write it as the model's default codec (``codec.json`` in the model folder, used
        by ``compress`` without ``--bits``) instead of into ``codec-<bits>bit[-rot]/``.
        A codec already there is replaced: the model folder is the caller's.

    Returns
    -------
    Path
        The path of the ``codec.json`` written.
    """
    model_dir = Path(model_dir)
    folder = model_dir if default else model_dir / codec_folder(codec.bits, codec.rotation)
    return save_codec(folder, codec, overwrite=True, model_sha256=model_digest(model_dir))


def remove_model_codecs(model_dir: PathLike) -> list[Path]:
    """Remove the codecs saved beside a model: a refit makes every one of them stale.

    Only embreduce's codec files are removed (``codec.json`` and ``codec.safetensors``, in
    the model folder and in its ``codec-*bit*`` folders); a codec folder left empty goes
    too, one holding anything else stays.

    Returns
    -------
    list of Path
        The files and folders removed.
    """
    model_dir = Path(model_dir)
    removed = []
    for folder in [model_dir, *sorted(model_dir.glob("codec-*bit*"))]:
        if not folder.is_dir() or folder.is_symlink():
            continue
        for name in (CODEC_CONFIG, CODEC_WEIGHTS):
            path = folder / name
            if path.is_file():
                path.unlink()
                removed.append(path)
        if folder != model_dir and not any(folder.iterdir()):
            shutil.rmtree(folder)
            removed.append(folder)
    return removed


def _saved_codecs(directory: Path) -> list[str]:
    names = [
        p.name[len("codec-") :].replace("bit", "", 1)
        for p in directory.glob("codec-*bit*")
        if has_codec(p)
    ]
    return sorted(names, key=lambda name: (len(name.split("-")), int(name.split("-")[0]), name))


def load_model_codec(
    directory: PathLike, bits: int | None = None, rotation: str | None = None
) -> QuantizationCodec | None:
    """The codec saved with a model for ``bits`` (and ``rotation``), its default, or None.

    Without ``bits``, the model's default codec (``codec.json`` in its folder) or None for
    float32 vectors; ``rotation`` then must be None. ``bits=32`` is None (float32);
    ``bits=16`` needs no calibration and is fitted to the model's width when none was saved.
    Every codec returned is fitted and checked against the model beside it.

    Raises
    ------
    ParameterError
        ``bits`` not in 32, 16, 8, 4, 2, 1; a ``rotation`` not in ``ROTATIONS``, without
        ``bits``, or above :data:`ROTATED_MAX_BITS` when none was saved.
    ModelNotFoundError
        No such codec was saved with the model (the message lists those that were).
    InputError
        A codec that does not belong to this model (saved for another fit, or by an
        embreduce that did not record its model), whose precision or rotation is not what
        its folder says, or whose width is not the model's output dimension.
    """
    directory = Path(directory)
    check_rotation(rotation)
    if bits is None:
        if rotation is not None:
            raise ParameterError("rotation: give bits too (codec-<bits>bit-<rotation>)")
        if not has_codec(directory):
            return None
        return _checked_model_codec(directory, directory, None, None)
    bits = check_bits(bits)
    if bits == 32 and rotation is None:
        return None
    folder = directory / codec_folder(bits, rotation)
    if has_codec(folder):
        return _checked_model_codec(directory, folder, bits, rotation)
    if bits == 16 and rotation is None:  # float16 needs no calibration: fitted to its width
        width = _model_width(directory)
        return QuantizationCodec(bits=16).fit(np.ones((1, width), np.float32))
    if rotation is not None and bits > ROTATED_MAX_BITS:
        raise ParameterError(
            f"rotation: the study tries rotations at {ROTATED_MAX_BITS} bits and fewer, so "
            f"no {bits}-bit {rotation} codec is saved; use --bits {ROTATED_MAX_BITS} or fewer"
        )
    flag = f"--bits {bits}" + (f" --rotations {rotation}" if rotation else "")
    kind = f"{bits}-bit" + (f" {rotation}" if rotation else "")
    raise ModelNotFoundError(
        f"{directory}: no {kind} codec was saved with this model (saved: "
        f"{', '.join(_saved_codecs(directory)) or 'none'}); run `embreduce study` with {flag}"
    )


def _model_width(directory: Path) -> int:
    from embreduce.reducers.persistence import reducer_config

    width = reducer_config(directory).get("n_components")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ModelNotFoundError(f"no reducer saved at {directory}: config.json is unreadable")
    return width


def _checked_model_codec(
    directory: Path, folder: Path, bits: int | None, rotation: str | None
) -> QuantizationCodec:
    """A codec of a model folder, refused unless it belongs to that model and folder."""
    codec, config = _load_codec(folder)
    where = folder / CODEC_CONFIG
    if bits is not None and (int(codec.bits), codec.rotation) != (bits, rotation):
        found = f"{codec.bits}-bit" + (f" {codec.rotation}" if codec.rotation else "")
        wanted = f"{bits}-bit" + (f" {rotation}" if rotation else "")
        raise InputError(f"{where}: holds a {found} codec, not the {wanted} one its folder names")
    width = _model_width(directory)
    if codec.n_features_in_ != width:
        raise InputError(
            f"{where}: the codec codes {codec.n_features_in_}-d vectors, the model in "
            f"{directory} gives {width}"
        )
    recorded = config.get("model_sha256")
    if recorded is None:
        raise InputError(
            f"{where}: does not record which model it was calibrated for (saved by an older "
            "embreduce, or with save_codec); re-run `embreduce study`, or save it with "
            "save_model_codec"
        )
    if recorded != model_digest(directory):
        raise InputError(
            f"{where}: was calibrated for another fit of this model (its model.safetensors "
            "has changed since); re-run `embreduce study` to calibrate it again"
        )
    return codec
