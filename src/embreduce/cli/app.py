"""The ``embreduce`` Typer app: its global options, and user errors as one line.

Errors meant for users print as one line (exit 1; 2 for bad usage); ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from difflib import get_close_matches
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from embreduce.exceptions import EmbreduceError, ParameterError

# Each command: the module that registers it, and the first line of its docstring, in the
# order --help lists them. A command's module is imported only when the command runs (or
# shows its own --help); `embreduce --help` lists these lines without building a command.
COMMANDS: dict[str, tuple[str, str]] = {
    "embed": (
        "embreduce.cli.embed_command",
        "Embed texts and write the vectors, with a summary of their cosine similarities.",
    ),
    "study": (
        "embreduce.cli.study_command",
        "Fit every method x dim x bits, measure how well each keeps the cosines, recommend one.",
    ),
    "compress": (
        "embreduce.cli.compress_commands",
        "Compress vectors with a saved reducer, streaming, in flat memory.",
    ),
    "export": (
        "embreduce.cli.compress_commands",
        "Write a sentence-transformers model that outputs the reduced vectors.",
    ),
    "index": (
        "embreduce.cli.search_commands",
        "Encode a corpus (vectors, or texts embedded first) into a plain FAISS index.",
    ),
    "search": (
        "embreduce.cli.search_commands",
        "Search an index with a query text, or a file of queries (scored with --qrels).",
    ),
    "report": (
        "embreduce.cli.pages",
        "Write the study's report.html: one offline page with its charts and table.",
    ),
    "map": (
        "embreduce.cli.pages",
        "Draw interactive maps of the vectors (PCA, t-SNE, UMAP), with texts on hover.",
    ),
}


class LazyCommands(TyperGroup):
    """A Typer group that builds a command only when it is used.

    Typer turns every registered command and its options into a Click command before it
    parses anything; with eight commands and ~80 options that was most of the time
    ``embreduce --help`` took beyond a bare Typer app. Here the group's own help lists
    :data:`COMMANDS`; a command's module is imported, and the command built, when it runs.
    """

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(dict.fromkeys([*COMMANDS, *self.commands]))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        module, summary = COMMANDS[cmd_name]
        if self._listing:
            return TyperCommand(name=cmd_name, help=summary)
        importlib.import_module(module)
        from typer.main import get_command_from_info, get_command_name

        for info in app.registered_commands:
            name = info.name or get_command_name(info.callback.__name__)  # type: ignore[union-attr]
            if name == cmd_name:
                command = get_command_from_info(
                    info,
                    pretty_exceptions_short=app.pretty_exceptions_short,
                    rich_markup_mode=app.rich_markup_mode,
                )
                self.commands[cmd_name] = command
                return command
        raise RuntimeError(f"{module} does not register the command {cmd_name!r}")

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return self._click_resolve_command(ctx, args)
        except Exception as exc:  # Click's UsageError: suggest the closest command name
            message = getattr(exc, "message", None)
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if message is not None and matches:
                suggestions = ", ".join(repr(m) for m in matches)
                exc.message = f"{message.rstrip('.')}. Did you mean {suggestions}?"  # type: ignore[attr-defined]
            raise


app = typer.Typer(
    cls=LazyCommands,
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
