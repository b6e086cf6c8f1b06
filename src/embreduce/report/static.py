"""Charts as PNG or SVG files, for papers and slides.

Rendering uses Kaleido 1.x (from PyPI), which drives a Chrome or Chromium already on
the machine through the DevTools protocol and the plotly.js bundled with ``plotly``:
nothing is downloaded, so it works offline. Kaleido finds the browser on ``PATH``
(Debian: ``apt-get install chromium``) or at ``$BROWSER_PATH``. We chose it over the
alternatives because it draws exactly what the interactive page draws (same plotly.js),
and the tests already need Chromium.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from embreduce.exceptions import EmbreduceError, InputError

_CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def find_browser() -> str | None:
    """The Chrome/Chromium that Kaleido will use: ``$BROWSER_PATH``, ``PATH``, or None."""
    env = os.environ.get("BROWSER_PATH")
    if env and os.access(env, os.X_OK):
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in _CHROMIUM_PATHS if os.access(p, os.X_OK)), None)


def write_images(
    figures: Mapping[str, Any],
    folder: str | os.PathLike[str],
    fmt: Literal["png", "svg"],
    *,
    sizes: Mapping[str, tuple[int, int]] | None = None,
    scale: float = 2.0,
) -> list[Path]:
    """Render Plotly figures to ``folder/<name>.<fmt>``, every file written atomically.

    Parameters
    ----------
    figures : mapping of str to plotly Figure
        File stem to figure.
    folder : path-like
        Created if missing.
    fmt : {"png", "svg"}
    sizes : mapping of str to (width, height), optional
        Pixel size per stem; default 900 x 520.
    scale : float
        PNG pixel density (2 gives sharp images on slides); ignored for SVG.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``figures``.

    Raises
    ------
    EmbreduceError
        No Chrome/Chromium was found, or rendering failed.
    """
    if fmt not in ("png", "svg"):
        raise InputError(f"image format must be png or svg, got {fmt!r}")
    browser = find_browser()
    if browser is None:
        raise EmbreduceError(
            "static images need Chrome or Chromium: install it (Debian: apt-get install "
            "chromium) or set BROWSER_PATH"
        )
    import plotly.io as pio

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = list(figures)
    sizes = sizes or {}
    tmp_dir = Path(tempfile.mkdtemp(prefix=".images.", dir=folder))
    try:
        tmp_paths = [tmp_dir / f"{name}.{fmt}" for name in names]
        os.environ.setdefault("BROWSER_PATH", browser)
        try:
            pio.write_images(
                [figures[n] for n in names],
                tmp_paths,
                format=fmt,
                width=[sizes.get(n, (900, 520))[0] for n in names],
                height=[sizes.get(n, (900, 520))[1] for n in names],
                scale=scale if fmt == "png" else 1,
            )
        except Exception as exc:  # kaleido raises its own types, and RuntimeError
            raise EmbreduceError(f"could not render images with {browser}: {exc}") from exc
        written = []
        for name, tmp in zip(names, tmp_paths, strict=True):
            target = folder / f"{name}.{fmt}"
            os.replace(tmp, target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
