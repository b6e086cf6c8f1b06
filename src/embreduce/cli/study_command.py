"""``embreduce study``: the library's :func:`~embreduce.study.files.study_files`, printed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from embreduce.choices import (
    DEFAULT_BITS,
    DEFAULT_BUDGETS,
    DEFAULT_DIMS,
    DEFAULT_HOLDOUT,
    DEFAULT_K,
    DEFAULT_METHODS,
    DEFAULT_OVERSAMPLE,
    DEFAULT_PAIR_COLUMNS,
    DEFAULT_SEED,
    DEFAULT_TOLERANCE,
)
from embreduce.cli.app import app, console, err_console, user_errors
from embreduce.cli.options import (
    BitsOpt,
    BudgetOpt,
    BudgetsOpt,
    DimsOpt,
    EvalOpt,
    FaissOpt,
    HoldoutOpt,
    InputsOpt,
    KeepSelfOpt,
    KOpt,
    LimitOpt,
    MaxPairsOpt,
    MethodsOpt,
    OversampleOpt,
    OverwriteOpt,
    PairColumnsOpt,
    PairsOpt,
    QrelsOpt,
    QueriesOpt,
    QuietOpt,
    RankBy,
    RankByOpt,
    ReportOpt,
    RotationsOpt,
    SeedOpt,
    StudyOutputOpt,
    ThreadsOpt,
    ToleranceOpt,
    WeightsOpt,
    embedding_options,
    int_list,
    name_list,
)
from embreduce.cli.printing import print_distribution, print_study, print_study_header

if TYPE_CHECKING:
    from embreduce.embedding.options import EmbeddingOptions

_METHODS = ",".join(DEFAULT_METHODS)
_DIMS = ",".join(map(str, DEFAULT_DIMS))
_BITS = ",".join(map(str, DEFAULT_BITS))
_PAIR_COLUMNS = ",".join(DEFAULT_PAIR_COLUMNS)
_BUDGETS = ",".join(map(str, DEFAULT_BUDGETS))
_OVERSAMPLE = ",".join(map(str, DEFAULT_OVERSAMPLE))


@app.command()
@user_errors
@embedding_options
def study(
    input_path: InputsOpt = None,
    output: StudyOutputOpt = Path("out/study"),
    methods: MethodsOpt = _METHODS,
    dims: DimsOpt = _DIMS,
    bits: BitsOpt = _BITS,
    rotations: RotationsOpt = "",
    budget: BudgetOpt = None,
    holdout: HoldoutOpt = DEFAULT_HOLDOUT,
    eval_path: EvalOpt = None,
    seed: SeedOpt = DEFAULT_SEED,
    max_pairs: MaxPairsOpt = None,
    k: KOpt = DEFAULT_K,
    tolerance: ToleranceOpt = DEFAULT_TOLERANCE,
    limit: LimitOpt = True,
    report: ReportOpt = True,
    weights: WeightsOpt = None,
    pairs: PairsOpt = None,
    pair_columns: PairColumnsOpt = _PAIR_COLUMNS,
    rank_by: RankByOpt = None,
    queries: QueriesOpt = None,
    qrels: QrelsOpt = None,
    oversample: OversampleOpt = _OVERSAMPLE,
    faiss: FaissOpt = "",
    budgets: BudgetsOpt = _BUDGETS,
    drop_self: KeepSelfOpt = True,
    quiet: QuietOpt = False,
    overwrite: OverwriteOpt = False,
    threads: ThreadsOpt = None,
    *,
    embedding: EmbeddingOptions,
) -> None:
    """Fit every method x dim x bits, measure how well each keeps the cosines, recommend one.

    Example:

      embreduce study --words 512 --methods pca,svd,random,truncate,encoder
      --dims 16,32,64,128,256 --bits 32,8,4,1 --holdout 0.2 --seed 0 -o out/study

    Judged by search (BEIR layout), chosen on half the queries, reported on the other:

      embreduce study corpus.jsonl --queries queries.jsonl --qrels qrels/test.tsv
      --methods pca --dims 128,256 --faiss rq,pq --budgets 8,16,32 -o out/search
    """
    from embreduce.study.files import load_study_files, run_study_files
    from embreduce.study.settings import StudySettings

    # Every setting and the output folder are checked before anything is embedded.
    settings = StudySettings(
        methods=name_list(methods),
        dims=int_list(dims, "--dims"),
        bits=int_list(bits, "--bits"),
        rotations=name_list(rotations),
        budget=budget,
        holdout=holdout,
        seed=seed,
        max_pairs=max_pairs,
        k=k,
        limit=limit,
        tolerance=tolerance,
        weights=weights,
        rank_by=None if rank_by is None else RankBy(rank_by).value,
        quantizers=name_list(faiss),
        budgets=int_list(budgets, "--budgets"),
        oversample=int_list(oversample, "--oversample"),
        drop_self=drop_self,
    )
    files = load_study_files(
        input_path,
        output,
        settings,
        embedding,
        eval_path=eval_path,
        pairs_path=pairs,
        pair_columns=pair_columns,
        queries_path=queries,
        qrels_path=qrels,
        overwrite=overwrite,
        show_progress=not quiet,
    )
    print_study_header(files.data, files.items, settings)
    for note in files.notes:
        err_console.print(f"[yellow]Note:[/] {note}", highlight=False)
    if files.pair_model and not quiet:
        console.print(f"Labelled pairs from {pairs} embedded with {files.pair_model}")
    result = run_study_files(
        files, output, settings, overwrite=overwrite, show_progress=not quiet, threads=threads
    )
    print_distribution("Pairwise cosine similarity of the held-out vectors", result.base["eval"])
    print_study(result)
    console.print(f"Wrote {output}/results.csv, results.json, study.json and models/")
    if report:
        from embreduce.report import write_report

        console.print(f"Report: {write_report(output, overwrite=overwrite)}")
