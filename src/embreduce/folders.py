"""One format for a fitted object saved in a folder: a JSON config and named arrays.

Reducers (``config.json`` + ``model.safetensors``) and codecs (``codec.json`` +
``codec.safetensors``) are both saved this way. Nothing is pickled: the config is JSON and
the arrays are safetensors, so loading runs no code.

Every config carries ``format_version`` (the folder format, :data:`FORMAT_VERSION`), the
``kind`` of object and the ``embreduce_version`` that wrote it. A reader accepts any
top-level key it does not know (a later embreduce may record more), refuses a format
version it does not know, and checks the keys it needs. What the object's own parameters
allow is the object's business: a parameter a reader does not know is refused by name
with the version that wrote it (see :func:`check_params`), since ignoring it could change
what the object computes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from embreduce.exceptions import InputError, ModelNotFoundError

FORMAT_VERSION = 1
"""The folder format this embreduce writes and reads."""


def new_config(kind: str, **fields: Any) -> dict[str, Any]:
    """A config's common head (format version, kind, writer's version), then ``fields``."""
    from embreduce import __version__

    return {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "embreduce_version": __version__,
        **fields,
    }


def config_text(config: dict[str, Any]) -> str:
    """The config as the indented JSON text written to disk (numpy scalars as numbers)."""
    try:
        return json.dumps(config, indent=2, allow_nan=True, default=_json_scalar) + "\n"
    except TypeError as exc:
        raise InputError(f"cannot save the config as JSON: {exc}") from None


def write_arrays(path: Path, arrays: dict[str, NDArray[Any]], kind: str) -> None:
    """Write named arrays to ``path`` as safetensors (C order), tagged with ``kind``."""
    from safetensors.numpy import save_file

    save_file(
        {k: np.ascontiguousarray(v) for k, v in arrays.items()},
        str(path),
        metadata={"format": kind},
    )


def read_config(
    folder: Path, name: str, *, what: str, required: Iterable[str] = ()
) -> dict[str, Any]:
    """Read and check a folder's JSON config.

    Parameters
    ----------
    folder : Path
        The saved object's folder.
    name : str
        The config's file name (``config.json``, ``codec.json``).
    what : str
        What the folder holds, for messages ("reducer", "codec").
    required : iterable of str
        Keys the config must have; others are accepted as they are.

    Raises
    ------
    ModelNotFoundError
        The folder or the config is missing.
    InputError
        Not a JSON object, an unknown format version, a missing key.
    """
    path = folder / name
    if not folder.is_dir():
        raise ModelNotFoundError(f"no {what} saved at {folder}: the folder does not exist")
    if not path.is_file():
        raise ModelNotFoundError(f"no {what} saved in {folder}: {name} is missing")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as JSON ({exc})") from None
    if not isinstance(config, dict):
        raise InputError(f"{path}: expected a JSON object")
    missing = [key for key in required if key not in config]
    if missing:
        raise InputError(f"{path}: missing key(s) {', '.join(missing)}")
    if config.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"{path}: format_version {config.get('format_version')!r} is not supported "
            f"(this embreduce reads version {FORMAT_VERSION})"
        )
    if not isinstance(config.get("params", {}), dict):
        raise InputError(f"{path}: 'params' must be an object")
    return config


def positive_int(config: dict[str, Any], key: str, path: Path) -> int:
    """``config[key]`` if it is a positive integer, else a one-line :class:`InputError`."""
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{path}: {key} must be a positive integer, got {value!r}")
    return value


def read_arrays(folder: Path, name: str, *, what: str) -> dict[str, NDArray[Any]]:
    """Read a folder's safetensors arrays, or a one-line error."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = folder / name
    if not path.is_file():
        raise ModelNotFoundError(f"no {what} saved in {folder}: {name} is missing")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as safetensors ({exc})") from None


def check_params(params: dict[str, Any], accepted: Iterable[str], config: dict, path: Path) -> None:
    """Refuse parameters this embreduce does not know, naming the version that wrote them."""
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InputError(
            f"{path}: unknown parameter(s) {', '.join(unknown)} (written by embreduce "
            f"{config.get('embreduce_version', '?')}); upgrade embreduce to read it"
        )


def _json_scalar(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")
