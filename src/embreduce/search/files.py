"""Index and search from files, as ``embreduce index`` and ``embreduce search`` run them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from embreduce.exceptions import InputError, ParameterError
from embreduce.search.index import SearchIndex

PathLike = str | os.PathLike[str]


def recommended_model(
    model: PathLike | None, study: PathLike | None, codec: str | None
) -> tuple[Path, str | None, dict[str, Any] | None]:
    """``(model folder, codec folder id, study facts)``: the model given, or a study's
    recommended model with its recommended codec (``codec`` overrides it)."""
    if (model is None) == (study is None):
        raise ParameterError("give a model folder (--model) or a study folder (--study), one")
    if model is not None:
        return Path(model), codec, None
    from embreduce.codecs import codec_from_id
    from embreduce.study.results import load_study

    record = load_study(study)["study"]
    data = record.get("data") or {}
    rec = record.get("recommendation")
    if not rec or not rec.get("model"):
        raise InputError(f"{study}: the study saved no recommended model (was it finished?)")
    if codec is None and rec.get("codec"):
        chosen = codec_from_id(rec["codec"])
        codec = "none" if getattr(chosen, "lossless", False) else chosen.folder_id
    facts = {"folder": str(study), "recommendation": rec.get("reason"), "model": data.get("model")}
    return Path(study) / rec["model"], codec, facts


def read_queries(path: PathLike, found: SearchIndex) -> tuple[list[str], Any]:
    """``(ids, vectors)`` of a queries file: vectors with ids, or texts embedded with the
    index's model."""
    from embreduce.io.retrieval import read_queries as read_file

    ids, queries = read_file(path)
    if isinstance(queries, list):
        return ids, found.query_vectors(queries)
    return ids, found.query_vectors(queries.vectors, model=queries.info.get("model"))


def run_queries(
    found: SearchIndex,
    queries: PathLike,
    qrels: PathLike | None = None,
    *,
    k: int = 10,
    oversample: int = 1,
    drop_self: bool = True,
    output: PathLike | None = None,
    overwrite: bool = False,
) -> list[str]:
    """Search a file of queries; write their hits (JSONL) and score them against qrels.

    Returns the lines to print.
    """
    from embreduce.outputs import atomic_write, check_output_file

    if output is not None:
        check_output_file(
            output, suffixes=(".jsonl",), inputs=[queries, qrels], overwrite=overwrite
        )
    judged = None
    if qrels is not None:
        from embreduce.io.retrieval import read_qrels

        judged = read_qrels(qrels)
    ids, Q = read_queries(queries, found)
    lines = [f"{len(ids):,} queries against {len(found):,} documents"]
    if output is not None:
        exclude = [q if drop_self else None for q in ids]
        hits, scores = found.search(Q, k, oversample=oversample, exclude=exclude)
        with atomic_write(output, overwrite=overwrite) as tmp:
            with open(tmp, "w", encoding="utf-8") as fh:
                for q, row, vals in zip(ids, hits, scores, strict=True):
                    for rank, (doc, score) in enumerate(zip(row, vals, strict=True), 1):
                        record = {"query_id": q, "rank": rank, "doc_id": doc, "score": float(score)}
                        fh.write(json.dumps(record) + "\n")
        lines.append(f"Wrote {output}")
    if judged is not None:
        from embreduce.search.evaluate import evaluate_index

        scores = evaluate_index(found, ids, Q, judged, oversample=oversample, drop_self=drop_self)
        lines.append(
            f"nDCG@10 {scores['ndcg_at_10']:.4f}, recall@100 {scores['recall_at_100']:.4f} "
            f"over {scores['queries']:,} judged queries"
            + (f" (re-scored x{oversample})" if oversample > 1 else "")
        )
    return lines
