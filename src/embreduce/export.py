"""Put a saved reducer inside a sentence-transformers model folder.

The exported folder holds the base model's modules unchanged, then the reducer as
sentence-transformers' own ``Dense`` modules (with their bias, so PCA's centring is
kept), then a ``Normalize`` module if asked. ``SentenceTransformer(folder).encode(texts)``
returns the reduced vectors; loading it needs sentence-transformers only.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from embreduce.exceptions import InputError, ModelNotFoundError, OutputError, ParameterError
from embreduce.outputs import atomic_directory, check_output_folder
from embreduce.reducers import load_reducer
from embreduce.reducers.encoder_training import TORCH_ACTIVATIONS
from embreduce.reducers.persistence import output_dim, reducer_config
from embreduce.reducers.spec import all_specs, spec_of

_MODULE_TYPE = "sentence_transformers.models.{}"
# The legacy import path: every sentence-transformers release from 2.x on resolves it.

_SKIP_FILES = {"README.md", ".gitattributes"}


SCORE_TEXT = {
    "cosine": "the cosine of these",
    "l2": "1 - |q - v|^2 / 2 for a unit query q (FAISS's L2 search)",
    "inner product": "the inner product with these",
}
"""How the exported README tells a reader to score a query, for each codec similarity
(:data:`embreduce.codecs.SIMILARITIES`)."""


def _st_modules() -> tuple[Any, Any]:
    """sentence-transformers' ``Dense`` and ``Normalize``, from where this release keeps them."""
    try:  # 5.x and later; the old path still works there but warns
        from sentence_transformers.sentence_transformer.modules import Dense, Normalize
    except ImportError:
        from sentence_transformers.models import Dense, Normalize
    return Dense, Normalize


def reducer_modules(reducer: Any, *, method: str | None = None) -> list[Any]:
    """The reducer as sentence-transformers modules: ``Dense`` layers, maybe a ``Normalize``.

    A linear reducer (PCA, SVD, random projection, truncation, the linear encoder) is one
    ``Dense`` with no activation whose bias carries any centring (PCA: ``-mean @ W``); a
    truncation to every dimension (the identity a study saves for its ``original``
    candidates) is no module at all. The
    MLP encoder, which scales its input to unit length first, is a ``Normalize`` then one
    ``Dense`` per layer, with its activation on all but the last.

    Raises
    ------
    InputError
        A reducer with no closed form as ``Dense`` layers (UMAP, t-SNE).
    """
    import torch

    Dense, Normalize = _st_modules()
    spec = spec_of(reducer)
    if spec is None or spec.dense is None:
        name = method or type(reducer).__name__
        exportable = [s.name for s in all_specs() if s.dense is not None]
        raise InputError(
            f"cannot export the {name} reducer: only {', '.join(exportable[:-1])} and "
            f"{exportable[-1]} become sentence-transformers Dense layers"
        )
    check_is_fitted(reducer)
    if spec.name == "truncate" and reducer.n_components == reducer.n_features_in_:
        return []  # the identity (a study's "original" candidates): nothing to add
    stack = spec.dense(reducer)
    modules: list[Any] = [Normalize()] if stack.normalize_input else []
    layers = [
        (w, b, None if act is None else getattr(torch.nn, TORCH_ACTIVATIONS[act])())
        for w, b, act in stack.layers
    ]
    for weight, bias, activation in layers:
        weight = np.asarray(weight, dtype=np.float32)
        out_features, in_features = weight.shape
        bias = np.zeros(out_features, np.float32) if bias is None else bias
        modules.append(
            Dense(
                in_features,
                out_features,
                bias=True,
                activation_function=activation,
                init_weight=torch.tensor(np.ascontiguousarray(weight)),
                init_bias=torch.tensor(np.asarray(bias, dtype=np.float32).reshape(-1)),
            )
        )
    return modules


def export_model(
    reducer_dir: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    base: str | None = None,
    normalize: bool = False,
    bits: int | None = None,
    codec: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a sentence-transformers model folder: the base model, then the reducer.

    Parameters
    ----------
    reducer_dir : path-like
        A reducer saved by ``save_reducer`` (``embreduce study`` saves them under
        ``models/<method>-<dim>``).
    output : path-like
        The folder to write, atomically. It must not exist or be empty, unless
        ``overwrite``; it may not be, hold or lie inside the reducer folder.
    base : str, optional
        The embedding model: a hub id or a local folder. Default: the model recorded with
        the study's vectors (``config.json["extra"]["model"]``), else all-MiniLM-L6-v2.
        If the study's vectors were scaled to unit length after the model
        (``extra["normalized"]``) and the model does not end with ``Normalize``, one is
        put before the reducer, so the reducer sees what it was fitted on.
    normalize : bool
        Append a ``Normalize`` module, so the reduced vectors have unit length.
    bits : {32, 16, 8, 4, 2, 1}, optional
        Carry the codec of this precision saved beside the reducer into ``codec/``
        (``codec.json`` + ``codec.safetensors``) with a README section on getting the same
        codes; default: the precision saved with the model, if any. Not with ``normalize``
        (the codec is calibrated on the reducer's own output).
    codec : str, optional
        Carry any codec saved beside the reducer, by its folder id (``codec-<id>/``),
        instead of ``bits``.
    overwrite : bool
        Write into an existing folder: the files of the export replace files of the same
        name, and nothing else there is touched.

    Returns
    -------
    pathlib.Path
        The folder written.

    Raises
    ------
    ModelNotFoundError
        A reducer folder or base model that cannot be found or read.
    InputError
        A base model whose output dimension is not the reducer's input dimension, or a
        reducer that cannot be written as ``Dense`` layers.
    OutputError
        An output that is a file, a non-empty folder (without ``overwrite``), the reducer
        folder or a folder around it, or a place that cannot be written; checked first.

    Examples
    --------
    >>> export_model("out/demo/models/encoder-128", "my-minilm-128")  # doctest: +SKIP
    >>> from sentence_transformers import SentenceTransformer  # doctest: +SKIP
    >>> SentenceTransformer("my-minilm-128").encode(["a happy dog"]).shape  # doctest: +SKIP
    (1, 128)
    """
    from embreduce.codecs import load_model_codec, save_codec
    from embreduce.embedding.models import DEFAULT_MODEL

    reducer_dir = Path(reducer_dir)
    if not reducer_dir.is_dir():
        raise ModelNotFoundError(f"reducer '{reducer_dir}': no such folder")
    output = check_output_folder(
        output,
        inputs=[reducer_dir, base if base and Path(base).exists() else None],
        overwrite=overwrite,
    )
    reducer = load_reducer(reducer_dir)
    chosen = bits is not None or codec is not None
    codec = load_model_codec(reducer_dir, bits, codec=codec)
    if codec is not None and normalize:
        if chosen:
            raise ParameterError(
                "bits: the codec is calibrated on the reducer's output; export it without "
                "normalize (decode, then normalize)"
            )
        codec = None
    config = reducer_config(reducer_dir)
    extra = config.get("extra") or {}
    base = base or extra.get("model") or DEFAULT_MODEL
    modules = reducer_modules(reducer, method=config.get("method"))
    _, Normalize = _st_modules()
    if normalize:
        modules.append(Normalize())
    base_model, target = _load_base(base)
    # sentence-transformers 6 renamed get_sentence_embedding_dimension
    dimension = getattr(base_model, "get_embedding_dimension", None)
    dim = dimension() if dimension else base_model.get_sentence_embedding_dimension()
    if dim != reducer.n_features_in_:
        raise InputError(
            f"the base model {base} gives {dim}-d vectors, but the reducer in {reducer_dir} "
            f"expects {reducer.n_features_in_}; pass the model it was fitted on as base"
        )
    already_unit = isinstance(base_model[-1], Normalize) or (
        bool(modules) and isinstance(modules[0], Normalize)
    )
    if extra.get("normalized") and not already_unit:
        # the reducer was fitted on vectors scaled to unit length outside the model
        modules.insert(0, Normalize())
    with atomic_directory(output, overwrite=overwrite) as tmp:
        _copy_base(target, tmp, base_model, output)
        _append_modules(tmp, modules)
        _write_readme(tmp, output.name, base, reducer_dir, config, modules, reducer)
        if codec is not None:
            save_codec(tmp / "codec", codec)
            _write_codec_readme(tmp, output.name, codec)
    return output


def _copy_base(target: str, tmp: Path, base_model: Any, output: Path) -> None:
    """The base model's files into ``tmp``; a failed copy is one line naming the output."""
    if not (Path(target) / "modules.json").is_file():
        base_model.save(str(tmp), create_model_card=False)  # a hub model from the cache
        return
    try:
        shutil.copytree(
            target, tmp, dirs_exist_ok=True, ignore=lambda _d, names: _SKIP_FILES & set(names)
        )
    except shutil.Error as exc:  # one (source, destination, reason) per file that failed
        errors = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
        reason = str(errors[0][2]) if errors and len(errors[0]) == 3 else str(exc)[:200]
        if "No space left" in reason:
            reason = "no space left on the device"
        raise OutputError(
            f"{output}: cannot copy the base model ({len(errors) or 1} file(s) failed: {reason})"
        ) from None


def _load_base(base: str) -> tuple[Any, str]:
    from embreduce.embedding.models import resolve_model
    from embreduce.embedding.sentence import load_sentence_model

    target, _ = resolve_model(base)
    return load_sentence_model(base, device="cpu"), target


def _append_modules(folder: Path, modules: list[Any]) -> None:
    entries = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    for module in modules:
        idx = len(entries)
        name = type(module).__name__
        path = f"{idx}_{name}"
        (folder / path).mkdir()
        module.save(str(folder / path))
        entries.append(
            {"idx": idx, "name": str(idx), "path": path, "type": _MODULE_TYPE.format(name)}
        )
    (folder / "modules.json").write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")


def _write_readme(
    folder: Path,
    name: str,
    base: str,
    reducer_dir: Path,
    config: dict[str, Any],
    modules: list,
    reducer: Any,
) -> None:
    added = (
        ", ".join(
            f"Dense {m.in_features}->{m.out_features}"
            if hasattr(m, "out_features")
            else "Normalize"
            for m in modules
        )
        or "nothing (the reducer is the identity)"
    )
    dim = output_dim(reducer)
    text = (
        f"# {base} reduced to {dim} dimensions\n\n"
        f"Exported by embreduce from the reducer in `{reducer_dir}` "
        f"(method: {config.get('method', 'unknown')}): the modules of `{base}`, then "
        f"{added}.\n\n"
        "```python\n"
        "from sentence_transformers import SentenceTransformer\n\n"
        f'model = SentenceTransformer("{name}")\n'
        f"vectors = model.encode(texts)  # shape (len(texts), {dim})\n"
        "```\n"
    )
    (folder / "README.md").write_text(text, encoding="utf-8")


def _write_codec_readme(folder: Path, name: str, codec: Any) -> None:
    """The README's section on the codec: how to get the same codes, and how to compare."""
    from embreduce.codecs import codec_id

    size, bits = codec.bytes_per_vector(), getattr(codec, "bits", None)
    what = f"{bits} bits a dimension" if bits is not None else f"`{codec_id(codec)}`"
    score = SCORE_TEXT[codec.similarity]
    text = (
        f"\n## Codes: {what}, {size} bytes a vector\n\n"
        "`codec/` holds the codec embreduce calibrated on the study's training vectors "
        "(`codec.json` + `codec.safetensors`). Encode a query exactly like the corpus:\n\n"
        "```python\n"
        "from embreduce.codecs import load_codec\n\n"
        f'codec = load_codec("{name}/codec")\n'
        f"codes = codec.encode(model.encode(texts))  # uint8, shape (len(texts), {size})\n"
        f"vectors = codec.decode(codes)  # compare codes by {score}\n"
        "```\n"
    )
    if getattr(codec, "rotation", None) is not None:
        text += (
            "\nThe codec rotates the vectors before quantizing (`(x - center_) @ rotation_`, "
            "both in `codec.safetensors`); no plain library call gives the same codes.\n"
        )
    elif bits == 1:
        text += (
            "\nWithout embreduce, the same bits are sentence-transformers' "
            '`quantize_embeddings(embeddings - threshold, precision="ubinary")`, with '
            "`threshold` the codec's per-dimension training median (`threshold_` in "
            "`codec.safetensors`); the cosine of the decoded ±1 vectors is "
            "`1 - 2 * hamming / k`.\n"
        )
    elif bits == 8:
        text += (
            '\nsentence-transformers\' `quantize_embeddings(..., precision="uint8", '
            "ranges=...)` is close but not the same: it rounds down to a level where this "
            "codec rounds to the nearest one.\n"
        )
    with open(folder / "README.md", "a", encoding="utf-8") as fh:
        fh.write(text)
