"""Provenance (``info``) stored with vectors, and JSON written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from embreduce.exceptions import InputError
from embreduce.outputs import atomic_write

INFO_KEY = b"embreduce"
"""The key of embreduce's provenance in a Parquet schema's metadata."""


def write_json(
    path: str | os.PathLike[str], obj: Any, *, overwrite: bool = True, indent: int | None = 2
) -> Path:
    """Write ``obj`` as JSON (indented unless ``indent=None``), atomically (replacing a file
    there unless not ``overwrite``: a run's own files, such as ``study.json``, are rewritten
    as it goes)."""
    compact = (",", ":") if indent is None else None
    text = json.dumps(obj, indent=indent, default=json_default, separators=compact)
    with atomic_write(path, overwrite=overwrite) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return Path(path)


def json_default(obj: Any) -> Any:
    """numpy values, arrays and paths as JSON values (``json.dumps``' ``default``)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def info_json(info: dict[str, Any]) -> str:
    """``info`` as a JSON string: the one encoding every format stores it in."""
    return json.dumps(info, default=json_default)


def npz_info(value: np.ndarray, source: str) -> dict[str, Any]:
    """The ``info`` member of an ``.npz``: a JSON object, or a one-line error."""
    try:
        info = json.loads(str(value))
    except ValueError:
        raise InputError(f"{source}: 'info' is not JSON") from None
    if not isinstance(info, dict):
        raise InputError(f"{source}: 'info' is not a JSON object")
    return info


def check_not_codes(source: str, info: dict[str, Any], has_codes: bool) -> None:
    """Refuse a file of packed codes (what ``compress --bits`` writes) where vectors are
    expected: read as floats, its bytes would pass for a vector of another dimension.

    Raises
    ------
    InputError
        ``has_codes``; the message names the codec recorded in ``info`` and how to decode.
    """
    if not has_codes:
        return
    reducer = info.get("reducer") if isinstance(info.get("reducer"), dict) else {}
    codec = reducer.get("codec") if isinstance(reducer.get("codec"), dict) else {}
    what = "packed codes"
    if "bits" in codec and "bytes_per_vector" in codec:
        what = f"{codec['bits']}-bit codes ({codec['bytes_per_vector']} B a vector)"
    raise InputError(
        f"{source}: holds {what} written by `embreduce compress --bits`, not vectors; decode "
        "them first (Compressor.load(MODEL, bits=N).decode(codes) in Python), or give the "
        "vectors they were made from"
    )


def parquet_info(schema: Any) -> dict[str, Any]:
    """The embreduce provenance stored in a Parquet schema, or ``{}``."""
    raw = (schema.metadata or {}).get(INFO_KEY)
    return json.loads(raw) if raw else {}
