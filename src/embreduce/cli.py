"""The ``embreduce`` command line: a thin shell over the library.

Each command parses its options, calls one library function and prints the outcome.
Errors meant for users print as one line (exit 1; 2 for bad usage); ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import enum
import functools
import inspect
import os
import signal
import sys
import threading
import typing
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from embreduce import __version__
from embreduce.exceptions import EmbreduceError, ParameterError

app = typer.Typer(
    help="See and shrink text embeddings while keeping their cosine similarities.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output (CI logs, files) gets a wide table instead of Rich's 80 columns.
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True)
_state = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])


def _version(value: bool) -> None:
    if value:
        console.print(f"embreduce {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    _state["debug"] = debug
    # Quiet the libraries' own bars and warnings; ours are drawn with Rich.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if not debug:  # numpy's overflow/divide notes are not for users; errors say what is wrong
        warnings.filterwarnings("ignore", category=RuntimeWarning)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM ends a run like Ctrl-C: temporary files are removed on the way out.
        signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def user_errors(func: F) -> F:
    """Print :class:`EmbreduceError`, file-system errors (and Ctrl-C) as one line and exit 1
    (2 for a :class:`ParameterError`), unless --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from embreduce.outputs import describe_os_error

        try:
            return func(*args, **kwargs)
        except (EmbreduceError, OSError) as exc:
            if _state["debug"]:
                raise
            text = describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
            err_console.print(
                f"[bold red]Error:[/] {_one_line(text)}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(2 if isinstance(exc, ParameterError) else 1) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]Interrupted.[/]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


# ----------------------------------------------------------------------------- shared options

ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Hub id or local folder. Default: all-MiniLM-L6-v2, packaged, works offline.",
    ),
]
BackendOpt = Annotated[
    str,
    typer.Option("--backend", help="sentence-transformers, or hf for the hidden states of any LM."),
]
BatchOpt = Annotated[int, typer.Option("--batch-size", help="Texts per batch.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]
DtypeOpt = Annotated[
    str | None, typer.Option("--dtype", help="Model weights: float32, float16 or bfloat16.")
]
NormalizeOpt = Annotated[
    bool, typer.Option("--normalize/--no-normalize", help="Scale vectors to unit length.")
]
PoolingOpt = Annotated[str, typer.Option("--pooling", help="hf backend: mean or last token.")]
LayerOpt = Annotated[
    int, typer.Option("--layer", help="hf backend: hidden state to pool (-1 = last layer).")
]
TextColumnOpt = Annotated[
    str | None,
    typer.Option("--text-column", help="Column with the texts in CSV/TSV/Parquet input."),
]
WordsOpt = Annotated[
    int | None,
    typer.Option("--words", help="Use the N most frequent English words (wordfreq) as input."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace an existing output file, or write into a non-empty output folder "
        "(only the files this command writes are replaced; inputs never are).",
    ),
]


@dataclass(frozen=True)
class EmbeddingOptions:
    """The options every command that embeds texts shares, bundled once.

    :func:`embedding_options` adds them to a command and hands the command one of these.
    """

    words: int | None = None
    text_column: str | None = None
    model: str | None = None
    backend: str = "sentence-transformers"
    pooling: str = "mean"
    layer: int = -1
    batch_size: int = 64
    device: str = "auto"
    dtype: str | None = None
    normalize: bool = False

    def embedder(self) -> Any:
        """The :class:`~embreduce.embedding.Embedder` these options describe."""
        from embreduce.embedding import Embedder

        return Embedder(
            model=self.model,
            backend=self.backend,
            device=self.device,
            dtype=self.dtype,
            pooling=self.pooling,
            layer=self.layer,
        )

    def load(
        self,
        path: Path | None,
        *,
        words: bool = True,
        quiet: bool = False,
        check_count: Callable[[int], None] | None = None,
    ) -> Any:
        """Vectors from ``path`` (or the top ``words``), embedding texts only if given texts;
        ``check_count`` sees the number of texts before they are embedded."""
        from embreduce.embedding import load_or_embed

        return load_or_embed(
            path,
            check_count=check_count,
            words=self.words if words else None,
            text_column=self.text_column,
            embedder=self.embedder,  # built only when texts must be embedded
            batch_size=self.batch_size,
            normalize=self.normalize,
            show_progress=not quiet,
        )


_EMBEDDING_PARAMETERS = {
    "words": (WordsOpt, None),
    "text_column": (TextColumnOpt, None),
    "model": (ModelOpt, None),
    "backend": (BackendOpt, "sentence-transformers"),
    "pooling": (PoolingOpt, "mean"),
    "layer": (LayerOpt, -1),
    "batch_size": (BatchOpt, 64),
    "device": (DeviceOpt, "auto"),
    "dtype": (DtypeOpt, None),
    "normalize": (NormalizeOpt, False),
}


def embedding_options(func: F) -> F:
    """Give a command the shared embedding options, as one ``embedding`` argument.

    The options appear in the command's ``--help`` after its own; the command receives an
    :class:`EmbeddingOptions` built from them by keyword.
    """
    signature = inspect.signature(func)
    own = [p for name, p in signature.parameters.items() if name != "embedding"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint)
        for name, (hint, default) in _EMBEDDING_PARAMETERS.items()
    ]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        options = EmbeddingOptions(**{name: kwargs.pop(name) for name in _EMBEDDING_PARAMETERS})
        return func(*args, embedding=options, **kwargs)

    hints = typing.get_type_hints(func, include_extras=True)
    hints.pop("embedding", None)
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(annotation=hints.get(p.name, p.annotation)) for p in own] + added
    )
    wrapper.__annotations__ = {
        **{name: hint for name, hint in hints.items()},
        **{name: hint for name, (hint, _) in _EMBEDDING_PARAMETERS.items()},
    }
    return wrapper  # type: ignore[return-value]


def _print_distribution(title: str, dist: dict[str, Any]) -> None:
    table = Table(title=title, show_header=True, header_style="bold")
    for key in ("n", "n_pairs", "mean", "std", "q01", "q05", "q50", "q95", "q99"):
        table.add_column(key, justify="right")
    table.add_row(
        f"{dist['n']:,}",
        f"{dist['n_pairs']:,}" + (" (sampled)" if dist.get("sampled") else ""),
        *(f"{dist[k]:.4f}" for k in ("mean", "std", "q01", "q05", "q50", "q95", "q99")),
    )
    console.print(table)


# ----------------------------------------------------------------------------- commands


@app.command()
@user_errors
@embedding_options
def embed(
    input_path: Annotated[
        Path | None,
        typer.Argument(
            metavar="INPUT",
            help="Texts: .txt (one per line), or .csv/.tsv/.parquet with a text column.",
        ),
    ] = None,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Where to write: .npy, .npz or .parquet."),
    ] = Path("embeddings.parquet"),
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    *,
    embedding: EmbeddingOptions,
) -> None:
    """Embed texts and write the vectors, with a summary of their cosine similarities.

    Examples:

      embreduce embed --words 512 -o words.parquet

      embreduce embed sentences.txt -o sentences.npz

      embreduce embed code.csv --text-column snippet --backend hf
      --model deepseek-ai/deepseek-coder-1.3b-base -o code.parquet
    """
    from embreduce.embedding import embed_items, text_items
    from embreduce.io import VECTOR_SUFFIXES, save_vectors
    from embreduce.metrics import base_distribution
    from embreduce.outputs import check_output_file

    # before minutes of embedding: the output must be writable and not an input
    check_output_file(output, suffixes=VECTOR_SUFFIXES, inputs=[input_path], overwrite=overwrite)
    items = text_items(input_path, words=embedding.words, text_column=embedding.text_column)
    data = embed_items(
        items,
        embedding.embedder(),
        batch_size=embedding.batch_size,
        normalize=embedding.normalize,
        show_progress=not quiet,
    )
    save_vectors(output, data, overwrite=overwrite)
    console.print(
        f"Embedded [bold]{len(data):,}[/] texts with {data.info['model']} "
        f"-> [bold]{data.dim}[/] dims in {data.info['seconds']:.1f} s; "
        f"{items.n_blank} blank line(s) dropped. Wrote {output}"
    )
    if len(data) > 1:
        _print_distribution("Pairwise cosine similarity", base_distribution(data.vectors))


def _int_list(value: str, option: str) -> list[int]:
    try:
        out = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated integers, got '{value}'", param_hint=option
        ) from None
    if not out or min(out) < 1:
        raise typer.BadParameter(f"expected positive integers, got '{value}'", param_hint=option)
    return out


def _print_study_header(data: Any, items: Any, settings: Any) -> None:
    console.print(
        f"Study of [bold]{len(data):,}[/] vectors x {data.dim} dims"
        + (f" ({data.info['model']})" if data.info.get("model") else "")
        + f": {', '.join(settings.methods)} at {', '.join(map(str, settings.dims))} dims"
        + f", {', '.join(map(str, settings.bits))} bits"
    )
    if items is not None and items.n_blank:
        console.print(f"{items.n_blank} blank line(s) dropped.")


def _read_pairs(path: Path, columns: str) -> Any:
    from embreduce.io import read_pairs

    names = [c.strip() for c in columns.split(",")]
    if len(names) != 3 or not all(names):
        raise ParameterError(
            f"--pair-columns: give three column names, first text, second text and score "
            f"(e.g. sentence1,sentence2,score), got {columns!r}"
        )
    return read_pairs(path, text1=names[0], text2=names[1], score=names[2])


def _embed_pairs(pairs: Any, data: Any, embedding: EmbeddingOptions, quiet: bool) -> Any:
    """The pairs embedded like the study's vectors: their model, their normalisation."""
    import dataclasses

    from embreduce.embedding.models import DEFAULT_MODEL
    from embreduce.study import embed_pairs

    model = embedding.model or data.info.get("model")
    normalize = embedding.normalize or bool(data.info.get("normalized"))
    options = dataclasses.replace(embedding, model=model, normalize=normalize)
    if model is None:  # vectors made elsewhere (.npy, say) do not say which model made them
        err_console.print(
            f"[yellow]Note:[/] the study's vectors do not record their model; the pairs are "
            f"embedded with the default {DEFAULT_MODEL}. If the vectors came from another "
            "model, pass it with --model.",
            highlight=False,
        )
    if not quiet:
        console.print(
            f"Embedding {len(pairs):,} labelled pairs from {pairs.source} with "
            f"{model or DEFAULT_MODEL}"
        )
    return embed_pairs(
        pairs,
        options.embedder(),
        batch_size=options.batch_size,
        normalize=normalize,
        show_progress=not quiet,
    )


def _print_study(result: Any, top: int = 25) -> None:
    from embreduce.study import recall_column

    k = result.settings.k
    ranked = result.ranked()  # the recommendation's order; the references last
    by = "your pairs' Spearman" if result.rank_by == "pairs" else "cosine rank agreement"
    table = Table(title=f"Held-out candidates, best first by {by}", header_style="bold")
    columns = ["method", "dim", "bits", "bytes", "spearman", f"recall@{k}", "mean", "std"]
    if result.rank_by == "pairs":
        columns += ["pairs", "retained"]
    for col in columns:
        table.add_column(col, justify="left" if col == "method" else "right")
    shown = ranked[:top] + [r for r in ranked[top:] if r["method"] in ("original", "limit")]
    for r in shown:
        cells = [r["method"], str(r["dim"]), str(r["bits"]), f"{r['bytes']:,}"]
        cells += [f"{r['spearman']:.4f}", f"{r[recall_column(k)]:.3f}"]
        cells += [f"{r['mean']:+.4f}", f"{r['std']:.4f}"]
        if result.rank_by == "pairs":
            judged = r.get("pairs_spearman") is not None  # not the limit rows
            cells += (
                [f"{r['pairs_spearman']:.1f}", f"{r['pairs_retained']:.1%}"]
                if judged
                else ["–"] * 2
            )
        table.add_row(*cells)
    console.print(table)
    if len(ranked) > len(shown):
        console.print(f"{len(ranked) - len(shown)} more candidates in results.csv.")
    for note in result.notes:
        console.print(f"[yellow]Note:[/] {note}", highlight=False)
    rec = result.recommendation
    if rec:
        console.print(f"[bold green]Recommendation:[/] {rec['reason']}")
        if rec.get("model") and result.output_dir is not None:
            folder = result.output_dir / rec["model"]
            what = f"{rec['bits']}-bit codes" if rec["bits"] < 32 else "float32 vectors"
            console.print(
                f"Apply it: embreduce compress VECTORS -m {folder} -o OUT.parquet writes the "
                f"recommended {what}; embreduce export {folder} -o FOLDER carries them.",
                highlight=False,
            )


class OutputDtype(str, enum.Enum):
    """Types of compressed vectors."""

    float32 = "float32"
    float16 = "float16"


class Rotation(str, enum.Enum):
    """Rotations of a codec (see embreduce.codecs.ROTATIONS)."""

    random = "random"
    itq = "itq"


class RankBy(str, enum.Enum):
    """What the study's recommendation ranks by."""

    pairs = "pairs"
    cosine = "cosine"


class Engine(str, enum.Enum):
    """Where compress runs."""

    local = "local"
    dask = "dask"


# the study's own options
InputsOpt = Annotated[
    Path | None,
    typer.Argument(metavar="VECTORS_OR_TEXTS", help="Vectors (.npy/.npz/.parquet/.csv) or texts."),
]
StudyOutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Output folder.")]
MethodsOpt = Annotated[
    str, typer.Option("--methods", help="Comma-separated reducers, e.g. pca,svd,encoder.")
]
DimsOpt = Annotated[str, typer.Option("--dims", help="Comma-separated target dimensions.")]
BitsOpt = Annotated[
    str,
    typer.Option(
        "--bits", help="Comma-separated bits a dimension, crossed with --dims: 32,16,8,4,2,1."
    ),
]
RotationsOpt = Annotated[
    str,
    typer.Option(
        "--rotations",
        help="Codec rotations also tried at 4 bits and fewer, comma-separated: random, itq "
        "(candidates named e.g. pca+itq). Default: none.",
    ),
]
BudgetOpt = Annotated[
    int | None,
    typer.Option("--budget", help="Bytes a vector: recommend the best candidate within it."),
]
HoldoutOpt = Annotated[
    float, typer.Option("--holdout", help="Share of rows held out for evaluation.")
]
EvalOpt = Annotated[
    Path | None,
    typer.Option("--eval", help="Your own held-out vectors (or texts); replaces --holdout."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seeds the split, reducers, sampling.")]
MaxPairsOpt = Annotated[
    int | None,
    typer.Option("--max-pairs", help="Use a seeded sample of this many pairs, not all."),
]
KOpt = Annotated[int, typer.Option("--k", help="Neighbours for recall@k, trustworthiness.")]
ToleranceOpt = Annotated[
    float,
    typer.Option(
        "--tolerance",
        help="Share of quality the recommendation may give up for a smaller size "
        "(0.01 = one point).",
    ),
]
LimitOpt = Annotated[
    bool, typer.Option("--limit/--no-limit", help="Add the optimised 'limit' reference rows.")
]
ReportOpt = Annotated[
    bool, typer.Option("--report/--no-report", help="Write report.html at the end.")
]
PairsOpt = Annotated[
    Path | None,
    typer.Option(
        "--pairs",
        help="Your labelled pairs (CSV/TSV/Parquet: two texts and a score): every candidate "
        "is judged by the Spearman of its pair cosines against the scores.",
    ),
]
PairColumnsOpt = Annotated[
    str,
    typer.Option("--pair-columns", help="The pairs' columns: first text, second text, score."),
]
RankByOpt = Annotated[
    RankBy | None,
    typer.Option(
        "--rank-by", help="Rank by your pairs' Spearman (default with --pairs) or by cosines."
    ),
]
WeightsOpt = Annotated[
    str | None,
    typer.Option(
        "--weights",
        help="Train the encoders with a weight per vector: 'frequency' (each text's "
        "wordfreq frequency) or 'column:NAME' (a numeric metadata column).",
    ),
]


@app.command()
@user_errors
@embedding_options
def study(
    input_path: InputsOpt = None,
    output: StudyOutputOpt = Path("out/study"),
    methods: MethodsOpt = "pca,svd,random,truncate,encoder",
    dims: DimsOpt = "16,32,64,128,256,512,1024",
    bits: BitsOpt = "32,8,4,1",
    rotations: RotationsOpt = "",
    budget: BudgetOpt = None,
    holdout: HoldoutOpt = 0.2,
    eval_path: EvalOpt = None,
    seed: SeedOpt = 0,
    max_pairs: MaxPairsOpt = None,
    k: KOpt = 10,
    tolerance: ToleranceOpt = 0.01,
    limit: LimitOpt = True,
    report: ReportOpt = True,
    weights: WeightsOpt = None,
    pairs: PairsOpt = None,
    pair_columns: PairColumnsOpt = "sentence1,sentence2,score",
    rank_by: RankByOpt = None,
    quiet: QuietOpt = False,
    overwrite: OverwriteOpt = False,
    *,
    embedding: EmbeddingOptions,
) -> None:
    """Fit every method x dim x bits, measure how well each keeps the cosines, recommend one.

    Example:

      embreduce study --words 512 --methods pca,svd,random,truncate,encoder
      --dims 16,32,64,128,256 --bits 32,8,4,1 --holdout 0.2 --seed 0 -o out/study
    """
    from embreduce.outputs import check_output_folder
    from embreduce.study import StudySettings, run_study

    # Every setting and the output folder are checked before anything is embedded.
    settings = StudySettings(
        methods=[m.strip() for m in methods.split(",") if m.strip()],
        dims=_int_list(dims, "--dims"),
        bits=_int_list(bits, "--bits"),
        rotations=[r.strip() for r in rotations.split(",") if r.strip()],
        budget=budget,
        holdout=holdout,
        seed=seed,
        max_pairs=max_pairs,
        k=k,
        limit=limit,
        tolerance=tolerance,
        weights=weights,
        rank_by=None if rank_by is None else RankBy(rank_by).value,
    )
    inputs = [input_path, eval_path, pairs]
    check_output_folder(output, inputs=inputs, overwrite=overwrite)
    labelled = None if pairs is None else _read_pairs(pairs, pair_columns)
    if input_path is None and embedding.words is None:
        raise typer.BadParameter("give VECTORS_OR_TEXTS or --words N")
    # texts are counted before they are embedded: too few for the split or --k stops here
    count = functools.partial(settings.check_rows, "train") if eval_path else settings.check_split
    data, items = embedding.load(input_path, quiet=quiet, check_count=count)
    eval_data = (
        None
        if eval_path is None
        else embedding.load(
            eval_path,
            words=False,
            quiet=quiet,
            check_count=functools.partial(settings.check_rows, "eval"),
        )[0]
    )
    _print_study_header(data, items, settings)
    pair_vectors = None if labelled is None else _embed_pairs(labelled, data, embedding, quiet)
    result = run_study(
        data,
        output,
        settings,
        eval_data=eval_data,
        pairs=pair_vectors,
        record={
            "input": str(input_path) if input_path else f"wordfreq top {embedding.words}",
            "eval": str(eval_path) if eval_path else None,
            "pairs_file": str(pairs) if pairs else None,
            "model": data.info.get("model"),
        },
        save_input=items is not None,
        inputs=inputs,
        overwrite=overwrite,
        show_progress=not quiet,
    )
    _print_distribution("Pairwise cosine similarity of the held-out vectors", result.base["eval"])
    _print_study(result)
    console.print(f"Wrote {output}/results.csv, results.json, study.json and models/")
    if report:
        from embreduce.report import write_report

        console.print(f"Report: {write_report(output, overwrite=overwrite)}")


# compress's options
VectorsArg = Annotated[
    Path,
    typer.Argument(
        metavar="VECTORS",
        help="Vectors: .parquet, .npy or .npz; a folder of Parquet files with --engine dask.",
    ),
]
ModelDirOpt = Annotated[
    Path,
    typer.Option(
        "--model", "-m", help="A reducer saved by study, e.g. out/demo/models/encoder-128."
    ),
]
CompressOutputOpt = Annotated[
    Path,
    typer.Option(
        "--output", "-o", help="Where to write: .npy, .npz or .parquet; a folder with dask."
    ),
]
OutputDtypeOpt = Annotated[
    OutputDtype, typer.Option("--dtype", help="Compressed vectors: float32 or float16.")
]
CodeBitsOpt = Annotated[
    int | None,
    typer.Option(
        "--bits",
        help="Write packed codes of 16, 8, 4, 2 or 1 bits a dimension with the codec the "
        "study saved beside the model (32: float32). Default: the model's saved precision.",
    ),
]
CodeRotationOpt = Annotated[
    Rotation | None,
    typer.Option(
        "--rotation",
        help="With --bits: the rotated codec a study saved with --rotations (random, itq).",
    ),
]
CodecIdOpt = Annotated[
    str | None,
    typer.Option(
        "--codec",
        help="Write codes with any codec saved beside the model, by its folder id "
        "(codec-<id>/: 4bit, 2bit-itq, ...), instead of --bits.",
    ),
]
VectorColumnOpt = Annotated[
    str | None, typer.Option("--vector-column", help="Parquet list column with the vectors.")
]
EngineOpt = Annotated[
    Engine, typer.Option("--engine", help="local (one process, streaming) or dask.")
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler", help="Dask scheduler, e.g. tcp://host:8786; default a local cluster."
    ),
]
WorkersOpt = Annotated[int, typer.Option("--workers", help="Workers of the local Dask cluster.")]
JobsOpt = Annotated[
    int | None,
    typer.Option("--jobs", "-j", min=1, help="Threads for --engine local; default: every core."),
]


@app.command()
@user_errors
def compress(
    input_path: VectorsArg,
    reducer: ModelDirOpt,
    output: CompressOutputOpt,
    dtype: OutputDtypeOpt = "float32",
    normalize: NormalizeOpt = False,
    bits: CodeBitsOpt = None,
    rotation: CodeRotationOpt = None,
    codec: CodecIdOpt = None,
    vector_column: VectorColumnOpt = None,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = 2,
    jobs: JobsOpt = None,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Compress vectors with a saved reducer, streaming, in flat memory.

    Ids, texts and metadata columns pass through unchanged.

    Examples:

      embreduce compress vectors.parquet --model out/demo/models/encoder-128 -o small.parquet

      embreduce compress dataset/ --model out/demo/models/pca-128 -o small/ --engine dask
      --scheduler tcp://host:8786
    """
    from embreduce.compress import compress as compress_file

    dtype, engine = OutputDtype(dtype).value, Engine(engine).value
    if scheduler is not None and engine != "dask":
        raise typer.BadParameter("needs --engine dask", param_hint="--scheduler")
    if jobs is not None and engine != "local":
        raise typer.BadParameter("applies to --engine local; use --workers", param_hint="--jobs")
    opts = dict(dtype=dtype, normalize=normalize, bits=bits, vector_column=vector_column)
    opts["rotation"] = None if rotation is None else Rotation(rotation).value
    opts["codec"] = codec
    opts["overwrite"] = overwrite
    if engine == "dask":
        from embreduce.dask_engine import compress_dataset

        result = compress_dataset(
            input_path,
            reducer,
            output,
            scheduler=scheduler,
            n_workers=workers,
            show_progress=not quiet,
            **opts,
        )
        where = f"{result.n_partitions} partition(s) on {result.scheduler}"
    else:
        result = compress_file(
            input_path, reducer, output, n_jobs=jobs, show_progress=not quiet, **opts
        )
        where = "one process"
    written = result.codec  # the codec's description when codes were written
    kind = dtype
    if written is not None:
        name = f"{written['bits']}-bit" if "bits" in written else written["id"]
        kind = f"{name} codes, {written['bytes_per_vector']} B"
    console.print(
        f"Compressed [bold]{result.n_rows:,}[/] vectors {result.n_features_in} -> "
        f"[bold]{result.n_components}[/] dims ({kind}) in {result.seconds:.1f} s, "
        f"{result.rows_per_second:,.0f} rows/s, {where}. Wrote {output}"
    )


@app.command()
@user_errors
def export(
    reducer: Annotated[
        Path, typer.Argument(metavar="MODEL", help="A reducer saved by study (models/<m>-<d>).")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The sentence-transformers folder to write.")
    ],
    base: Annotated[
        str | None,
        typer.Option(
            "--base", help="Embedding model; default the one the study's vectors came from."
        ),
    ] = None,
    normalize: Annotated[
        bool,
        typer.Option("--normalize/--no-normalize", help="End with a Normalize module."),
    ] = False,
    bits: Annotated[
        int | None,
        typer.Option(
            "--bits",
            help="Carry the model's codec of this precision (codec/ and a README section); "
            "default the precision saved with the model, if any.",
        ),
    ] = None,
    codec: CodecIdOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Write a sentence-transformers model that outputs the reduced vectors.

    Example:

      embreduce export out/demo/models/encoder-128 -o my-minilm-128/
    """
    from embreduce.export import export_model

    path = export_model(
        reducer,
        output,
        base=base,
        normalize=normalize,
        bits=bits,
        codec=codec,
        overwrite=overwrite,
    )
    console.print(
        f"Wrote {path}. Load it with SentenceTransformer({str(path)!r}); "
        "no embreduce import needed."
    )


@app.command()
@user_errors
def report(
    study_dir: Annotated[
        Path, typer.Argument(metavar="STUDY_DIR", help="A folder written by `embreduce study`.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The page to write; default STUDY_DIR/report.html."),
    ] = None,
    static: Annotated[
        str | None,
        typer.Option("--static", help="Also write each chart as png or svg into figures/."),
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Write the study's report.html: one offline page with its charts and table.

    Example:

      embreduce report out/study --static svg
    """
    from embreduce.report import write_report

    path = write_report(
        study_dir,
        output=output,
        static=static,  # type: ignore[arg-type]
        overwrite=overwrite,
    )
    console.print(f"Wrote {path}")
    if static:
        console.print(f"Wrote the charts as {static} files in {path.parent / 'figures'}")


@app.command(name="map")
@user_errors
@embedding_options
def map_(
    input_path: Annotated[
        Path | None,
        typer.Argument(
            metavar="VECTORS_OR_TEXTS", help="Vectors (.npy/.npz/.parquet/.csv) or texts."
        ),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The page to write.")] = Path(
        "map.html"
    ),
    methods: Annotated[
        str, typer.Option("--methods", help="Comma-separated reducers, one map each.")
    ] = "pca,tsne,umap",
    dims: Annotated[
        int, typer.Option("--dims", min=2, max=3, help="2 for flat maps, 3 for rotatable ones.")
    ] = 2,
    color_by: Annotated[
        str | None, typer.Option("--color-by", help="Colour the points by this metadata column.")
    ] = None,
    clusters: Annotated[
        int | None,
        typer.Option("--clusters", min=1, help="Colour the points by K k-means clusters."),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Title of the page.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seeds the reducers and clustering.")] = 0,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    *,
    embedding: EmbeddingOptions,
) -> None:
    """Draw interactive maps of the vectors (PCA, t-SNE, UMAP), with texts on hover.

    Example:

      embreduce map sentences.txt --methods pca,tsne,umap --dims 2 -o map.html
    """
    from embreduce.outputs import check_output_file
    from embreduce.report import write_map

    # before any embedding: a page, not over an input, in a folder that can be written
    check_output_file(output, suffixes=(".html",), inputs=[input_path], overwrite=overwrite)

    data, _ = embedding.load(input_path, quiet=quiet)
    path = write_map(
        data.vectors,
        data.texts,
        methods=[m.strip() for m in methods.split(",") if m.strip()],
        dims=dims,
        color_by=color_by,
        clusters=clusters,
        output=output,
        seed=seed,
        metadata=data.metadata,
        title=title,
        overwrite=overwrite,
        show_progress=not quiet,
    )
    console.print(f"Wrote {path}")


def main() -> None:
    """Entry point of the ``embreduce`` console script."""
    app()


if __name__ == "__main__":
    main()
