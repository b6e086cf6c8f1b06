"""What the commands print: tables of distributions and of a study's candidates."""

from __future__ import annotations

from typing import Any

from embreduce.cli.app import (
    console,
)


def print_distribution(title: str, dist: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=True, header_style="bold")
    for key in ("n", "n_pairs", "mean", "std", "q01", "q05", "q50", "q95", "q99"):
        table.add_column(key, justify="right")
    table.add_row(
        f"{dist['n']:,}",
        f"{dist['n_pairs']:,}" + (" (sampled)" if dist.get("sampled") else ""),
        *(f"{dist[k]:.4f}" for k in ("mean", "std", "q01", "q05", "q50", "q95", "q99")),
    )
    console.print(table)


def print_study_header(data: Any, items: Any, settings: Any) -> None:
    console.print(
        f"Study of [bold]{len(data):,}[/] vectors x {data.dim} dims"
        + (f" ({data.info['model']})" if data.info.get("model") else "")
        + f": {', '.join(settings.methods)} at {', '.join(map(str, settings.dims))} dims"
        + f", {', '.join(map(str, settings.bits))} bits"
    )
    if items is not None and items.n_blank:
        console.print(f"{items.n_blank} blank line(s) dropped.")


def print_study(result: Any, top: int = 25) -> None:
    from rich.table import Table

    from embreduce.study import recall_column

    k = result.settings.k
    ranked = result.ranked()  # the recommendation's order; the references last
    by = {
        "pairs": "your pairs' Spearman",
        "cosine": "cosine rank agreement",
        "retrieval": "search on the selection queries",
    }[result.rank_by]
    table = Table(title=f"Held-out candidates, best first by {by}", header_style="bold")
    columns = ["method", "dim", "bits", "bytes", "spearman", f"recall@{k}", "mean", "std"]
    if result.rank_by == "pairs":
        columns += ["pairs", "retained"]
    task = result.retrieval
    if task is not None:  # figures of the confirmation queries, which the choice never saw
        oversample = [o for o in task.oversample if o > 1]
        columns += [task.primary.replace("_at_", "@"), "kept", *(f"kept x{o}" for o in oversample)]
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
        if task is not None:
            judged = r.get("retrieval_retained") not in (None, "")
            keys = ["retrieval_retained", *(f"retrieval_retained_x{o}" for o in oversample)]
            cells += (
                [f"{r[task.primary]:.4f}", *(f"{r[key]:.1%}" for key in keys)]
                if judged
                else ["–"] * (1 + len(keys))
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
            if str(rec.get("codec") or "").startswith("faiss"):
                what = f"{rec['bytes']}-byte FAISS codes"
            console.print(
                f"Apply it: embreduce compress VECTORS -m {folder} -o OUT.parquet writes the "
                f"recommended {what}; embreduce export {folder} -o FOLDER carries them.",
                highlight=False,
            )
            if getattr(result, "retrieval", None) is not None:
                console.print(
                    f"Search it: embreduce index VECTORS --study {result.output_dir} -o "
                    'corpus.faiss, then embreduce search corpus.faiss "a query".',
                    highlight=False,
                )
