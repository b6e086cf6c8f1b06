"""Output paths: checked before any work, written atomically, never over what a run did not make.

The rule, for every command and library function that writes:

- an output never replaces one of the run's inputs;
- an existing output *file* is replaced only when ``overwrite`` is given; the one
  exception is a study's own ``report.html``, regenerated in its folder by ``report``;
- an existing output *folder* must be empty unless ``overwrite`` is given, and even then
  only the files the run writes are replaced: nothing else in the folder is touched;
- everything is first written under a temporary name beside the output, starting with
  ``.<name>.embreduce-tmp-<pid>-``, and put into place at the end. Without ``overwrite``
  that last step never replaces a file: if another run wrote the same output meanwhile,
  this one fails with "already exists" and the other's file stays. A run killed with
  ``kill -9`` can leave a temporary file; the next run to the same output removes the ones
  whose process has ended.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from embreduce.exceptions import OutputError, ParameterError

TEMP_MARK = ".embreduce-tmp-"
"""What every temporary name carries, after ``.<output name>``."""

PAGE_GENERATOR = "embreduce"
"""The ``<meta name="generator">`` of embreduce's pages; such a page may be regenerated."""

PathLike = str | os.PathLike[str]


def umask() -> int:
    """The process's umask, read without changing it for long."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _inside(child: Path, parent: Path) -> bool:
    child, parent = child.resolve(), parent.resolve()
    return child != parent and parent in child.parents


def _existing_ancestor(folder: Path) -> Path:
    folder = folder.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_writable_folder(folder: PathLike) -> None:
    """Raise :class:`OutputError` unless files can be created in ``folder`` (made if missing).

    A probe file is created and removed in the nearest folder that exists, so a read-only
    folder, a read-only mount or a parent that is a regular file is found before any work.
    """
    folder = Path(folder)
    base = _existing_ancestor(folder)
    if not base.is_dir():
        raise OutputError(f"cannot create {folder}: {base} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".embreduce-probe-{os.getpid()}-", dir=base)
    except OSError as exc:
        raise OutputError(f"cannot write in {base}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)


def is_embreduce_page(path: PathLike) -> bool:
    """Tell whether ``path`` is an HTML page written by embreduce (its generator tag)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return f'<meta name="generator" content="{PAGE_GENERATOR}"'.encode() in head


def check_output_file(
    path: PathLike,
    *,
    suffixes: Sequence[str],
    inputs: Iterable[PathLike | None] = (),
    overwrite: bool = False,
) -> Path:
    """Check an output file before any work; return it as a :class:`~pathlib.Path`.

    Parameters
    ----------
    path : path-like
        The file the run will write.
    suffixes : sequence of str
        The suffixes (lower case, with the dot) the run can write.
    inputs : iterable of path-like
        The files and folders the run reads; the output may not be one of them.
    overwrite : bool
        Allow replacing an existing file (never an input).

    Raises
    ------
    ParameterError
        A suffix not in ``suffixes``.
    OutputError
        An input, a folder, an existing file without ``overwrite``, or a
        place where no file can be created.
    """
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ParameterError(
            f"cannot write '{path.name}': the output must end in {', '.join(suffixes)}"
        )
    for source in inputs:
        if source is not None and Path(source).exists() and _same(path, Path(source)):
            raise OutputError(f"{path}: is an input of this run; write the output elsewhere")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name ending in {suffixes[0]}")
    if path.exists() and not overwrite:
        raise OutputError(
            f"{path}: already exists; pass --overwrite (overwrite=True) to replace it"
        )
    check_writable_folder(path.parent)
    return path


def check_output_folder(
    path: PathLike,
    *,
    inputs: Iterable[PathLike | None] = (),
    overwrite: bool = False,
) -> Path:
    """Check an output folder before any work; return it as a :class:`~pathlib.Path`.

    The folder must not exist, or be empty; with ``overwrite`` an existing folder is
    written into, and only the files the run writes replace files of the same name.
    It may not be, hold, or lie inside one of the run's inputs.

    Raises
    ------
    OutputError
        A file where the folder should be, an input, a non-empty folder without
        ``overwrite``, or a place where nothing can be created.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: is a file, not a folder; give a folder name")
    for source in inputs:
        if source is None or not Path(source).exists():
            continue
        source = Path(source)
        if _same(path, source) or _inside(path, source) or _inside(source, path):
            raise OutputError(
                f"{path}: the output folder would mix with the input {source}; write it elsewhere"
            )
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise OutputError(
            f"{path}: the folder exists and is not empty; choose a new folder, or pass "
            "--overwrite (overwrite=True) to write into it (only files embreduce writes "
            "are replaced)"
        )
    check_writable_folder(path)
    return path


# --------------------------------------------------------------------------- temp files


def _temp_prefix(path: Path) -> str:
    return f".{path.name}{TEMP_MARK}{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(path: PathLike) -> list[Path]:
    """Remove the temporary files and folders that killed runs left beside ``path``.

    Only names made by :func:`atomic_write`/:func:`atomic_directory` for this very output
    are considered, and only those whose process is no longer running.

    Returns
    -------
    list of pathlib.Path
        What was removed.
    """
    path = Path(path)
    removed = []
    pattern = f".{glob.escape(path.name)}{TEMP_MARK}*"
    for stale in path.parent.glob(pattern):
        pid_text = stale.name[len(f".{path.name}{TEMP_MARK}") :].split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale)
            else:
                stale.unlink()
            removed.append(stale)
    return removed


_WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def _output_error(exc: OSError, path: Path, tmp: Path) -> OutputError | None:
    """The error of a failed write as one line naming the output, or None if not a write."""
    where = str(exc.filename or "")
    if exc.errno not in _WRITE_ERRORS and not (where and where.startswith(str(tmp))):
        return None  # e.g. an input that could not be read: not about the output
    what = "no space left on the device" if exc.errno == errno.ENOSPC else exc.strerror
    return OutputError(f"{path}: {what or exc}")


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    """Put the finished ``tmp`` at ``path``; without ``overwrite`` never over a file."""
    if overwrite:
        os.replace(tmp, path)
        return
    exists = OutputError(
        f"{path}: already exists (another run wrote it while this one ran); it was left as "
        "it is: pass --overwrite (overwrite=True) to replace it"
    )
    try:
        os.link(tmp, path)  # fails if path exists: no window for another writer
    except FileExistsError:
        raise exists from None
    except OSError:  # a file system without hard links: the nearest safe thing
        if os.path.lexists(path):
            raise exists from None
        os.replace(tmp, path)


@contextlib.contextmanager
def atomic_write(path: PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; put it at ``path`` only on success.

    The temporary name keeps the suffix, so writers that look at it still work. On any
    error the temporary file is removed and ``path`` is left as it was; an error of the
    write itself (a full disk, say) is raised as :class:`OutputError` naming ``path``.
    Callers check the output first (:func:`check_output_file`). Without ``overwrite`` a
    file that appeared at ``path`` while the run wrote (another run) is never replaced:
    :class:`OutputError` says it already exists.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_write(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes 0600; give the usual mode
        _publish(tmp, path, overwrite)
    except OSError as exc:
        error = _output_error(exc, path, tmp)
        if error is None:
            raise
        raise error from None
    finally:
        tmp.unlink(missing_ok=True)


def _usual_modes(folder: Path) -> None:
    mask = umask()
    os.chmod(folder, 0o777 & ~mask)  # mkdtemp makes 0700
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o777 & ~mask)
        for name in files:  # safetensors writes 0600
            os.chmod(os.path.join(root, name), 0o666 & ~mask)


def _merge_into(tmp: Path, path: Path) -> None:
    """Move every file of ``tmp`` to the same place under ``path``; leave the rest alone."""
    for root, _dirs, files in os.walk(tmp):
        for name in files:
            source = Path(root) / name
            target = path / source.relative_to(tmp)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                raise OutputError(f"{target}: is a folder; embreduce would write a file there")
            os.replace(source, target)


@contextlib.contextmanager
def atomic_directory(path: PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; move it into place only on success.

    A new or empty ``path`` is replaced by the finished folder in one rename, so a reader
    never sees a folder with one file and not the other. With ``overwrite``, an existing
    folder gets the finished files one by one, each replacing a file of the same name,
    and keeps everything else it holds. Without it, a non-empty folder is refused.
    """
    path = Path(path)
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise OutputError(f"{path}: the folder exists and is not empty")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), dir=path.parent))
    try:
        yield tmp
        _usual_modes(tmp)
        if path.is_dir() and any(path.iterdir()):
            _merge_into(tmp, path)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.rmdir()  # empty: the finished folder takes its place
            try:
                os.replace(tmp, path)
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                raise OutputError(
                    f"{path}: another run wrote this folder while this one ran; it was left "
                    "as it is"
                ) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def describe_os_error(exc: OSError) -> str:
    """One line for an :class:`OSError` met while reading or writing files."""
    where = str(exc.filename or "")
    name = os.path.basename(where)
    if TEMP_MARK in name:  # name the output, not the temporary file beside it
        where = os.path.join(os.path.dirname(where), name[1 : name.index(TEMP_MARK)])
    if exc.errno == errno.ENOSPC:
        what = "no space left on the device"
    else:
        what = exc.strerror or str(exc)
    return f"{where}: {what}" if where else what
