"""``embreduce compress`` and ``embreduce export``: a saved model applied to vectors, or
put inside a sentence-transformers model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from embreduce.cli.app import app, console, user_errors
from embreduce.cli.options import (
    CodeBitsOpt,
    CodecIdOpt,
    CodeRotationOpt,
    CompressOutputOpt,
    Engine,
    EngineOpt,
    JobsOpt,
    ModelDirOpt,
    NormalizeOpt,
    OutputDtype,
    OutputDtypeOpt,
    OverwriteOpt,
    QuietOpt,
    Rotation,
    SchedulerOpt,
    VectorColumnOpt,
    VectorsArg,
    WorkersOpt,
)


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
