"""A study from files, as ``embreduce study`` runs it: the inputs read, checked, embedded.

:func:`study_files` is the whole command but its printing: a Python caller gets the same
checks in the same order (settings and output first, texts counted before any is
embedded), the same embedded pairs and the same provenance in ``study.json``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embreduce.choices import DEFAULT_PAIR_COLUMNS
from embreduce.embedding.options import EmbeddingOptions
from embreduce.exceptions import ParameterError
from embreduce.outputs import check_output_folder
from embreduce.study.pairs import PairVectors, embed_study_pairs
from embreduce.study.run import StudyResult, run_study
from embreduce.study.settings import StudySettings

PathLike = str | os.PathLike[str]


@dataclass
class StudyFiles:
    """What :func:`study_files` read and embedded, beside the study's result.

    Attributes
    ----------
    data, eval_data : EmbeddingSet
        The study's vectors (and the user's held-out ones, if given).
    items : TextItems or None
        The texts, when the vectors were embedded here.
    pair_model : str or None
        The model the labelled pairs were embedded with.
    notes : list of str
        What the caller should tell the user (e.g. which model embedded the pairs).
    """

    data: Any
    items: Any
    eval_data: Any = None
    pairs: PairVectors | None = None
    pair_model: str | None = None
    queries: Any = None
    notes: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)
    inputs: list[Any] = field(default_factory=list)


def parse_pair_columns(columns: str | tuple[str, ...]) -> tuple[str, str, str]:
    """``"text1,text2,score"`` (or a 3-tuple) as three column names, or a one-line error.

    Examples
    --------
    >>> parse_pair_columns("a, b ,score")
    ('a', 'b', 'score')
    """
    names = [c.strip() for c in columns.split(",")] if isinstance(columns, str) else columns
    if len(names) != 3 or not all(names):
        raise ParameterError(
            "--pair-columns: give three column names, first text, second text and score "
            f"(e.g. sentence1,sentence2,score), got {columns!r}"
        )
    return names[0], names[1], names[2]


def study_record(
    input_path: PathLike | None,
    options: EmbeddingOptions,
    data: Any,
    *,
    eval_path: PathLike | None = None,
    pairs_path: PathLike | None = None,
    queries_path: PathLike | None = None,
    qrels_path: PathLike | None = None,
) -> dict[str, Any]:
    """The provenance ``study.json`` keeps about the inputs (its ``settings`` record)."""
    return {
        "input": str(input_path) if input_path else f"wordfreq top {options.words}",
        "eval": str(eval_path) if eval_path else None,
        "pairs_file": str(pairs_path) if pairs_path else None,
        "queries_file": str(queries_path) if queries_path else None,
        "qrels_file": str(qrels_path) if qrels_path else None,
        "model": data.info.get("model"),
    }


def load_study_files(
    input_path: PathLike | None,
    output: PathLike,
    settings: StudySettings,
    options: EmbeddingOptions | None = None,
    *,
    eval_path: PathLike | None = None,
    pairs_path: PathLike | None = None,
    pair_columns: str | tuple[str, ...] = DEFAULT_PAIR_COLUMNS,
    queries_path: PathLike | None = None,
    qrels_path: PathLike | None = None,
    overwrite: bool = False,
    show_progress: bool = False,
) -> StudyFiles:
    """Read (and embed, for texts) a study's inputs, checking everything that can be
    checked before the first text is embedded: the output folder, the pairs file and its
    columns, and that the texts are enough for the split and ``k``."""
    from embreduce.io import read_pairs

    options = options or EmbeddingOptions()
    inputs = [input_path, eval_path, pairs_path, queries_path, qrels_path]
    check_output_folder(output, inputs=inputs, overwrite=overwrite)
    if qrels_path is not None and queries_path is None:
        raise ParameterError("qrels judge queries: give the queries too (--queries FILE)")
    qrels = None
    if qrels_path is not None:  # read before anything is embedded: a bad file stops here
        from embreduce.io.retrieval import read_qrels

        qrels = read_qrels(qrels_path)
    labelled = None
    if pairs_path is not None:
        text1, text2, score = parse_pair_columns(pair_columns)
        labelled = read_pairs(pairs_path, text1=text1, text2=text2, score=score)
    if input_path is None and options.words is None:
        raise ParameterError("give the vectors or texts to study (a file), or words=N (--words)")
    # texts are counted before they are embedded: too few for the split or k stops here
    count = functools.partial(settings.check_rows, "train") if eval_path else settings.check_split
    data, items = options.load(input_path, show_progress=show_progress, check_count=count)
    files = StudyFiles(data, items, inputs=inputs)
    files.record = study_record(
        input_path,
        options,
        data,
        eval_path=eval_path,
        pairs_path=pairs_path,
        queries_path=queries_path,
        qrels_path=qrels_path,
    )
    if eval_path is not None:
        files.eval_data = options.load(
            eval_path,
            words=False,
            show_progress=show_progress,
            check_count=functools.partial(settings.check_rows, "eval"),
        )[0]
    if labelled is not None:
        files.pairs, files.pair_model, notes = embed_study_pairs(
            labelled, data, options, show_progress=show_progress
        )
        files.notes += notes
    if queries_path is not None:
        from embreduce.study.retrieval import load_study_queries

        queries, notes = load_study_queries(
            queries_path, data, options, show_progress=show_progress
        )
        files.queries = dataclasses.replace(queries, qrels=qrels)
        files.notes += notes
    return files


def study_files(
    input_path: PathLike | None,
    output: PathLike,
    settings: StudySettings | None = None,
    options: EmbeddingOptions | None = None,
    *,
    eval_path: PathLike | None = None,
    pairs_path: PathLike | None = None,
    pair_columns: str | tuple[str, ...] = DEFAULT_PAIR_COLUMNS,
    queries_path: PathLike | None = None,
    qrels_path: PathLike | None = None,
    overwrite: bool = False,
    show_progress: bool = False,
    threads: int | None = None,
) -> tuple[StudyResult, StudyFiles]:
    """``embreduce study`` in Python: read the inputs, then :func:`run_study` them.

    Parameters
    ----------
    input_path : path-like, optional
        Vectors (``.npy``/``.npz``/``.parquet``/``.csv``) or texts; None with
        ``options.words``.
    output : path-like
        The study folder.
    settings : StudySettings, optional
    options : EmbeddingOptions, optional
        How texts (and labelled pairs) are embedded.
    eval_path, pairs_path : path-like, optional
        The user's held-out vectors or texts; labelled pairs.
    queries_path, qrels_path : path-like, optional
        The user's queries (texts or vectors with ids) and relevance judgements (see
        :mod:`embreduce.study.retrieval`).
    pair_columns : str or tuple of str
        The pairs' first text, second text and score columns.
    overwrite : bool
    show_progress : bool
    threads : int, optional
        See :func:`run_study`.

    Returns
    -------
    (StudyResult, StudyFiles)
    """
    settings = settings or StudySettings()
    options = options or EmbeddingOptions()
    files = load_study_files(
        input_path,
        output,
        settings,
        options,
        eval_path=eval_path,
        pairs_path=pairs_path,
        pair_columns=pair_columns,
        queries_path=queries_path,
        qrels_path=qrels_path,
        overwrite=overwrite,
        show_progress=show_progress,
    )
    result = run_study_files(
        files, output, settings, overwrite=overwrite, show_progress=show_progress, threads=threads
    )
    return result, files


def run_study_files(
    files: StudyFiles,
    output: PathLike,
    settings: StudySettings,
    *,
    overwrite: bool = False,
    show_progress: bool = False,
    threads: int | None = None,
) -> StudyResult:
    """:func:`run_study` on what :func:`load_study_files` read, recording where it came from."""
    return run_study(
        files.data,
        Path(output),
        settings,
        eval_data=files.eval_data,
        pairs=files.pairs,
        queries=files.queries,
        record=files.record,
        save_input=files.items is not None,
        inputs=files.inputs,
        overwrite=overwrite,
        show_progress=show_progress,
        threads=threads,
    )
