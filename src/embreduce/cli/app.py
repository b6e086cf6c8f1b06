"""The ``embreduce`` Typer app: its global options, and user errors as one line.

Errors meant for users print as one line (exit 1; 2 for bad usage); ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

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
        from embreduce import __version__

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


def main() -> None:
    """Entry point of the ``embreduce`` console script."""
    app()
