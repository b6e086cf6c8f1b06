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
themselves (names, shapes, finite values, and what the family's ``check_state`` asks: for
the scalar codec a positive step between levels and an orthogonal rotation). A codec
folder records its family's registry name, so any registered codec loads the same way.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from embreduce.codecs.base import Codec, codec_id, get_codec_spec
from embreduce.codecs.scalar import (
    ROTATED_MAX_BITS,
    QuantizationCodec,
    check_bits,
    check_rotation,
)
from embreduce.exceptions import InputError, ModelNotFoundError, ParameterError
from embreduce.folders import (
    FORMAT_VERSION,
    check_params,
    config_text,
    new_config,
    positive_int,
    read_arrays,
    read_config,
    write_arrays,
)
from embreduce.outputs import PathLike, atomic_write, check_output_file
from embreduce.params import check_fitted

CODEC_CONFIG = "codec.json"
CODEC_WEIGHTS = "codec.safetensors"
CODEC_FORMAT_VERSION = FORMAT_VERSION
MODEL_WEIGHTS = "model.safetensors"
"""The reducer's weights file in a model folder (see :mod:`embreduce.reducers.persistence`)."""


def codec_folder(bits: int, rotation: str | None = None) -> str:
    """A scalar codec's folder in a model folder: ``codec-4bit``, ``codec-2bit-itq``."""
    return "codec-" + QuantizationCodec(bits=bits, rotation=rotation).folder_id


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
    codec: Codec,
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
    codec : Codec
        A fitted codec of a registered family.
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
    check_fitted(codec, "n_features_in_")
    get_codec_spec(codec.codec_name)  # only a registered codec can be read back
    folder = Path(folder)
    config_path = check_output_file(folder / CODEC_CONFIG, suffixes=(".json",), overwrite=overwrite)
    weights_path = check_output_file(
        folder / CODEC_WEIGHTS, suffixes=(".safetensors",), overwrite=overwrite
    )
    arrays = {
        k: np.ascontiguousarray(v, np.uint8 if k in codec.byte_arrays else np.float32)
        for k, v in codec.get_state().items()
    }
    config = new_config(
        "codec",
        codec=codec.codec_name,
        id=codec_id(codec),
        params=codec.get_params(),
        n_features_in=int(codec.n_features_in_),
        bytes_per_vector=codec.bytes_per_vector(),
        arrays={k: list(v.shape) for k, v in arrays.items()},
        compare=codec.compare,
        model_sha256=model_sha256,
    )
    with atomic_write(weights_path, overwrite=overwrite) as tmp:
        write_arrays(tmp, arrays, "embreduce-codec")
    with atomic_write(config_path, overwrite=overwrite) as tmp:
        tmp.write_text(config_text(config), encoding="utf-8")
    return config_path


def has_codec(folder: PathLike) -> bool:
    """Tell whether ``folder`` holds a saved codec (its ``codec.json``)."""
    return (Path(folder) / CODEC_CONFIG).is_file()


def load_codec(folder: PathLike) -> Codec:
    """Read a codec written by :func:`save_codec`, checking what it reads.

    The codec's family is looked up in the registry by the name its config records.

    Raises
    ------
    ModelNotFoundError
        No codec in ``folder``.
    InputError
        The JSON or the arrays are malformed or do not agree: an unknown family or
        parameter, missing or extra arrays, wrong shapes, NaN or infinite values, arrays
        that no fit gives (see the family's ``check_state``).

    Examples
    --------
    >>> load_codec("no/such/folder")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    embreduce.exceptions.ModelNotFoundError: no codec saved at no/such/folder: the folder ...
    """
    return _load_codec(Path(folder))[0]


def _load_codec(folder: Path) -> tuple[Codec, dict[str, Any]]:
    path = folder / CODEC_CONFIG
    config = read_config(folder, CODEC_CONFIG, what="codec", required=("params",))
    k = positive_int(config, "n_features_in", path)
    try:
        spec = get_codec_spec(str(config.get("codec", "scalar")))
        check_params(config["params"], spec.factory().get_params(), config, path)
        codec = spec.factory(**config["params"])
        if hasattr(codec, "_check_params"):
            codec._check_params()
    except (TypeError, ParameterError) as exc:
        raise InputError(f"{path}: bad params: {exc}") from None
    arrays = read_arrays(folder, CODEC_WEIGHTS, what="codec")
    where = folder / CODEC_WEIGHTS
    codec.n_features_in_ = k
    expected = codec.expected_arrays()
    if sorted(arrays) != sorted(expected):
        raise InputError(f"{where}: holds {sorted(arrays)}, expected {sorted(expected)}")
    for name, value in arrays.items():
        shape = expected[name]  # -1: any length
        if len(value.shape) != len(shape) or any(
            n != s and s != -1 for n, s in zip(value.shape, shape, strict=False)
        ):
            raise InputError(
                f"{where}: {name} must have shape {' x '.join(map(str, shape))}, "
                f"got {' x '.join(map(str, value.shape))}"
            )
        if name in codec.byte_arrays:
            if value.dtype != np.uint8:
                raise InputError(f"{where}: {name} must be uint8 bytes, got {value.dtype}")
            setattr(codec, name, value)
            continue
        if not np.isfinite(value).all():
            raise InputError(f"{where}: {name} holds NaN or infinite values")
        setattr(codec, name, value.astype(np.float32))
    codec.check_state(str(where))
    return codec, config


# ---------------------------------------------------------------------- a model's codecs


def save_model_codec(model_dir: PathLike, codec: Codec, *, default: bool = False) -> Path:
    """Save a codec fitted on a saved model's output beside it, recording which model.

    Parameters
    ----------
    model_dir : path-like
        A model folder (``config.json`` + ``model.safetensors``).
    codec : Codec
        Fitted on what that model outputs.
    default : bool
        Write it as the model's default codec (``codec.json`` in the model folder, used
        by ``compress`` without ``--bits``) instead of into ``codec-<folder_id>/``.
        A codec already there is replaced: the model folder is the caller's.

    Returns
    -------
    Path
        The path of the ``codec.json`` written.
    """
    model_dir = Path(model_dir)
    folder = model_dir if default else model_dir / f"codec-{codec.folder_id}"
    return save_codec(folder, codec, overwrite=True, model_sha256=model_digest(model_dir))


def _codec_folders(model_dir: Path) -> list[Path]:
    return sorted(p for p in model_dir.glob("codec-*") if p.is_dir() and not p.is_symlink())


def remove_model_codecs(model_dir: PathLike) -> list[Path]:
    """Remove the codecs saved beside a model: a refit makes every one of them stale.

    Only embreduce's codec files are removed (``codec.json`` and ``codec.safetensors``, in
    the model folder and in its ``codec-*`` folders); a codec folder left empty goes too,
    one holding anything else stays.

    Returns
    -------
    list of Path
        The files and folders removed.
    """
    model_dir = Path(model_dir)
    removed = []
    for folder in [model_dir, *_codec_folders(model_dir)]:
        for name in (CODEC_CONFIG, CODEC_WEIGHTS):
            path = folder / name
            if path.is_file():
                path.unlink()
                removed.append(path)
        if folder != model_dir and not any(folder.iterdir()):
            shutil.rmtree(folder)
            removed.append(folder)
    return removed


def saved_codecs(model_dir: PathLike) -> list[str]:
    """The folder ids of the codecs saved beside a model (``4bit``, ``1bit-itq``...)."""
    ids = [p.name[len("codec-") :] for p in _codec_folders(Path(model_dir)) if has_codec(p)]

    def order(name: str) -> tuple[int, int, str]:
        head = name.split("-")[0].removesuffix("bit")
        return (len(name.split("-")), int(head) if head.isdigit() else 1 << 30, name)

    return sorted(ids, key=order)


def load_model_codec(
    directory: PathLike,
    bits: int | None = None,
    rotation: str | None = None,
    *,
    codec: str | None = None,
) -> Codec | None:
    """The codec saved with a model: by ``codec`` (folder id), by ``bits`` (and
    ``rotation``) for the scalar family, or its default; None for float32 vectors.

    Without ``bits`` and ``codec``, the model's default codec (``codec.json`` in its folder)
    or None; ``rotation`` then must be None. ``bits=32`` is None (float32); ``bits=16``
    needs no calibration and is fitted to the model's width when none was saved. Every
    codec returned is fitted and checked against the model beside it.

    Parameters
    ----------
    directory : path-like
        A model folder.
    bits : {32, 16, 8, 4, 2, 1}, optional
        A scalar codec's precision (folder ``codec-<bits>bit[-<rotation>]``).
    rotation : {"random", "itq"}, optional
        With ``bits``: the rotated scalar codec.
    codec : str, optional
        Any saved codec by its folder id (``codec-<id>/``): ``"4bit"``, ``"2bit-itq"``, or
        another family's id; not with ``bits``.

    Raises
    ------
    ParameterError
        ``bits`` not in 32, 16, 8, 4, 2, 1; a ``rotation`` not in ``ROTATIONS``, without
        ``bits``, or above :data:`ROTATED_MAX_BITS` when none was saved; ``codec`` with
        ``bits``.
    ModelNotFoundError
        No such codec was saved with the model (the message lists those that were).
    InputError
        A codec that does not belong to this model (saved for another fit, or by an
        embreduce that did not record its model), that is not the codec its folder names,
        or whose width is not the model's output dimension.
    """
    directory = Path(directory)
    check_rotation(rotation)
    if codec is not None:
        if bits is not None or rotation is not None:
            raise ParameterError("codec: give the codec's folder id, or bits (and rotation)")
        return _model_codec_by_id(directory, str(codec))
    if bits is None:
        if rotation is not None:
            raise ParameterError("rotation: give bits too (codec-<bits>bit-<rotation>)")
        if not has_codec(directory):
            return None
        return _checked_model_codec(directory, directory, None)
    bits = check_bits(bits)
    if bits == 32 and rotation is None:
        return None
    folder_id = codec_folder(bits, rotation)[len("codec-") :]
    if has_codec(directory / f"codec-{folder_id}"):
        return _checked_model_codec(directory, directory / f"codec-{folder_id}", folder_id)
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
        f"{_listing(directory)}); run `embreduce study` with {flag}"
    )


def _listing(directory: Path) -> str:
    return ", ".join(i.replace("bit", "", 1) for i in saved_codecs(directory)) or "none"


def _model_codec_by_id(directory: Path, folder_id: str) -> Codec:
    folder = directory / f"codec-{folder_id}"
    if not has_codec(folder):
        saved = ", ".join(saved_codecs(directory)) or "none"
        raise ModelNotFoundError(
            f"{directory}: no codec {folder_id!r} was saved with this model (saved: {saved})"
        )
    return _checked_model_codec(directory, folder, folder_id)


def _model_width(directory: Path) -> int:
    from embreduce.reducers.persistence import reducer_config

    width = reducer_config(directory).get("n_components")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ModelNotFoundError(f"no reducer saved at {directory}: config.json is unreadable")
    return width


def _checked_model_codec(directory: Path, folder: Path, folder_id: str | None) -> Codec:
    """A codec of a model folder, refused unless it belongs to that model and folder."""
    codec, config = _load_codec(folder)
    where = folder / CODEC_CONFIG
    if folder_id is not None and codec.folder_id != folder_id:
        raise InputError(
            f"{where}: holds a {codec.folder_id} codec, not the {folder_id} one its folder names"
        )
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
