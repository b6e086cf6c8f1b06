"""Maps at the sizes people have: ``embreduce map`` against plotly by hand (issue 14).

For each size (default 20,000 and 100,000 clustered unit vectors of 384 dims) and method,
in each of ``--runs`` runs (default 3), alternating: ``write_map`` (hover neighbours,
trustworthiness, the page) and the same map by hand (scikit-learn PCA or umap-learn, then
``plotly.express.scatter`` with the texts as hover and ``write_html``). Each case runs in a
fresh process, so peak RSS is its own.
Reported for each measure, the median and range over the runs: wall time, peak RSS, HTML
size, and the time headless Chromium takes from navigation to the plot being drawn.

Targets: 100k with PCA within 10x of by hand; UMAP within 1.3x; rendering within 2x.

Run::

    .venv/bin/python benchmarks/bench_map.py                 # 20k and 100k, pca
    .venv/bin/python benchmarks/bench_map.py --methods umap --sizes 20000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

OUT = Path("out/bench_map")


def vectors(n: int, d: int = 384, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, d))
    X = centres[rng.integers(0, 40, n)] + 0.9 * rng.normal(size=(n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def case(kind: str, method: str, n: int) -> dict:
    """One case, in this process: build the page, return wall time and the file."""
    X = vectors(n)
    texts = [f"sentence number {i}" for i in range(n)]
    out = OUT / f"{kind}-{method}-{n}.html"
    OUT.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if kind == "embreduce":
        from embreduce.report import write_map

        write_map(X, texts, methods=[method], output=out, overwrite=True)
    else:
        import plotly.express as px

        if method == "pca":
            from sklearn.decomposition import PCA

            coords = PCA(2, random_state=0).fit_transform(X)
        else:
            import umap

            coords = umap.UMAP(random_state=0, metric="cosine").fit_transform(X)
        fig = px.scatter(x=coords[:, 0], y=coords[:, 1], hover_name=texts, render_mode="webgl")
        fig.write_html(out)
    wall = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"kind": kind, "method": method, "n": n, "wall_s": round(wall, 2),
            "peak_rss_mib": round(rss), "html_mib": round(out.stat().st_size / 2**20, 2),
            "page": str(out)}  # fmt: skip


def render_seconds(page: str) -> float:
    """Headless Chromium: navigation to the first plot drawn (a .main-svg in the page)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        tab = browser.new_page()
        start = time.perf_counter()
        tab.goto(Path(page).resolve().as_uri())
        tab.wait_for_selector(".main-svg", timeout=300_000)
        tab.wait_for_function("document.querySelector('.plot-container') !== null")
        seconds = time.perf_counter() - start
        browser.close()
    return round(seconds, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[20_000, 100_000])
    parser.add_argument("--methods", nargs="+", default=["pca"])
    parser.add_argument("--runs", type=int, default=3, help="runs of each case (median, range)")
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # a child process: one case, its result as JSON
        print(json.dumps(case(args.case[0], args.case[1], int(args.case[2]))))
        return
    results = []
    for n in args.sizes:
        for method in args.methods:
            runs: dict[str, list[dict]] = {"by-hand": [], "embreduce": []}
            for _ in range(args.runs):  # alternating, so drift in the machine hits both
                for kind in runs:
                    cmd = [sys.executable, __file__, "--case", kind, method, str(n)]
                    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                    result = json.loads(out.strip().splitlines()[-1])
                    result["render_s"] = render_seconds(result["page"])
                    runs[kind].append(result)
                    print(json.dumps(result), flush=True)
            summary = {kind: summarise(rs) for kind, rs in runs.items()}
            ratio = summary["embreduce"]["wall_s"][0] / summary["by-hand"]["wall_s"][0]
            render = summary["embreduce"]["render_s"][0] / summary["by-hand"]["render_s"][0]
            row = {"n": n, "method": method, **summary, "wall_ratio": round(ratio, 2),
                   "render_ratio": round(render, 2)}  # fmt: skip
            results.append(row)
            print(json.dumps(row), flush=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))


def summarise(runs: list[dict]) -> dict:
    """Median and (min, max) of each measure over the runs."""
    import statistics

    keys = ("wall_s", "peak_rss_mib", "html_mib", "render_s")
    return {
        key: (statistics.median(r[key] for r in runs), min(r[key] for r in runs),
              max(r[key] for r in runs))
        for key in keys
    }  # fmt: skip


if __name__ == "__main__":
    main()
