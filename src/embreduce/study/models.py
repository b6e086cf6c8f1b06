"""Saving what a study fits: each candidate's model folder and its codecs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embreduce.exceptions import EmbreduceError
from embreduce.study.candidates import model_folder

if TYPE_CHECKING:
    from embreduce.study.run import _Run


def _save_default_codec(run: _Run) -> None:
    """Give the recommended model its recommended codec (what compress uses by default);
    a lossless pick (float32) gets none: compress then writes float32 vectors."""
    from embreduce.codecs import codec_from_id, load_model_codec, save_model_codec

    rec = run.record.get("recommendation")
    if not rec or rec.get("model") is None or not rec.get("codec"):
        return
    if getattr(codec_from_id(rec["codec"]), "lossless", False):
        return
    model = run.output_dir / rec["model"]
    codec = load_model_codec(model, codec=codec_from_id(rec["codec"]).folder_id)
    save_model_codec(model, codec, default=True)


def _identity(train: np.ndarray) -> Any:
    from embreduce.reducers import make_reducer

    return make_reducer("truncate", train.shape[1]).fit(train)


def _save_model(run: _Run, reducer: Any, method: str, dim: int) -> Path | None:
    """Save a fitted reducer under ``models/<method>-<dim>/``; drop the codecs of any fit
    saved there before (they were calibrated on another model's output)."""
    from embreduce.codecs import remove_model_codecs
    from embreduce.reducers import save_reducer

    folder = run.output_dir / model_folder(method, dim)
    try:
        save_reducer(
            reducer,
            folder,
            overwrite=True,  # the study's own folder, checked before the run
            extra={**run.info, "candidate": method},
        )
    except EmbreduceError as exc:
        run.notes.append(f"{method}-{dim} not saved: {exc}")
        return None
    remove_model_codecs(folder)
    return folder
