"""Nothing lost, never a traceback: every writing command against bad output places.

Each case runs the real command through Typer's CliRunner and checks the same things:
the exit code, one line of error and no traceback, every file that was there before
byte-identical, nothing at the output path, and no temporary file left anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from embreduce.cli import app
from embreduce.io import save_vectors
from embreduce.outputs import TEMP_MARK
from embreduce.reducers import make_reducer, save_reducer

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the hash of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def assert_one_line_error(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    return lines[0]


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if TEMP_MARK in p.name or "embreduce-probe" in p.name]


# ----------------------------------------------------------------------------- the world


@pytest.fixture(scope="session")
def study_template(tmp_path_factory) -> Path:
    from embreduce.io import EmbeddingSet
    from embreduce.study import run_study

    X = np.random.default_rng(0).normal(size=(150, 8)).astype(np.float32)
    folder = tmp_path_factory.mktemp("study") / "study"
    run_study(EmbeddingSet(X), folder, methods=["pca"], dims=[2], limit=False, show_progress=False)
    return folder


@pytest.fixture
def world(tmp_path, study_template) -> Path:
    """Inputs of every command: vectors, texts, a saved reducer, a dataset and a study."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 8)).astype(np.float32)
    np.save(tmp_path / "in.npy", X)
    (tmp_path / "in.txt").write_text("a cat\na dog\na bird\n", encoding="utf-8")
    save_reducer(make_reducer("pca", 4).fit(X), tmp_path / "models" / "pca-4", method="pca")
    minilm_sized = rng.normal(size=(20, 384)).astype(np.float32)
    save_reducer(make_reducer("pca", 4).fit(minilm_sized), tmp_path / "minilm-pca-4", method="pca")
    for i in range(2):
        save_vectors(tmp_path / "dataset" / f"part.{i}.parquet", X[i * 30 : (i + 1) * 30])
    shutil.copytree(study_template, tmp_path / "study")
    return tmp_path


# how each writing command is run, given its output; file outputs first
FILE_COMMANDS = {
    "embed": lambda w, out: ("embed", w / "in.txt", "-o", out, "-q", "--device", "cpu"),
    "map": lambda w, out: ("map", w / "in.npy", "--methods", "pca", "-o", out, "-q"),
    "report": lambda w, out: ("report", w / "study", "-o", out),
    "compress": lambda w, out: ("compress", w / "in.npy", "-m", w / "models/pca-4", "-o", out),
}
SUFFIX = {"embed": ".npy", "map": ".html", "report": ".html", "compress": ".npy"}
FOLDER_COMMANDS = {
    "compress-dask": lambda w, out: (
        *("compress", w / "dataset", "-m", w / "models/pca-4", "-o", out),
        *("--engine", "dask", "--workers", "1", "-q"),
    ),
    "export": lambda w, out: ("export", w / "models/pca-4", "-o", out),
    "study": lambda w, out: (
        *("study", w / "in.npy", "--methods", "pca", "--dims", "2", "--no-limit"),
        *("--no-report", "-q", "-o", out),
    ),
}


def check_refused(world: Path, args: tuple, output: Path, code: int = 1) -> str:
    before = snapshot(world)
    existed = output.exists()
    line = assert_one_line_error(invoke(*args), code)
    assert snapshot(world) == before
    assert output.exists() == existed
    assert temp_files(world) == []
    return line


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def read_only_folder(path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:  # permissions stop a normal user
        path.mkdir()
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
    else:  # root passes permissions by: a read-only mount stops it
        with tmpfs(path, "ro,size=1m") as folder:
            yield folder


def fill(folder: Path) -> None:
    """Fill a small tmpfs up to its last byte."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (4096, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------- file outputs


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_an_existing_file_is_never_replaced_without_overwrite(world, command):
    out = world / f"mine{SUFFIX[command]}"
    out.write_bytes(b"the user's own file")
    line = check_refused(world, FILE_COMMANDS[command](world, out), out)
    assert "already exists" in line and "--overwrite" in line
    assert out.read_bytes() == b"the user's own file"


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_an_existing_folder_as_the_output_file_is_refused(world, command):
    out = world / f"folder{SUFFIX[command]}"
    out.mkdir()
    (out / "keep.txt").write_text("keep")
    line = check_refused(world, FILE_COMMANDS[command](world, out), out)
    assert "is a folder" in line


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_a_parent_that_is_a_file_is_refused(world, command):
    (world / "afile").write_text("x")
    out = world / "afile" / f"out{SUFFIX[command]}"
    line = check_refused(world, FILE_COMMANDS[command](world, out), out)
    assert "is a file, not a folder" in line


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_a_read_only_folder_is_found_before_any_work(world, command):
    with read_only_folder(world / "ro") as folder:
        out = folder / f"out{SUFFIX[command]}"
        line = check_refused(world, FILE_COMMANDS[command](world, out), out)
    assert "cannot write in" in line and "Read-only file system" in line or "ermission" in line


@pytest.mark.parametrize("command", ["map", "report", "compress"])
def test_a_full_disk_leaves_no_half_file(world, command):
    with tmpfs(world / "full", "size=64k") as folder:
        fill(folder)
        out = folder / f"out{SUFFIX[command]}"
        line = check_refused(world, FILE_COMMANDS[command](world, out), out)
    assert "no space left on the device" in line
    assert TEMP_MARK not in line  # names the output, not the temporary file


@pytest.mark.parametrize(
    ("command", "target", "code"),
    [
        ("map", "in.npy", 2),  # 1. a page over the vectors: refused by suffix
        ("map", "in.txt", 2),
        ("report", "study/study.json", 2),  # 2. a page over the study itself
        ("compress", "in.npy", 1),
        ("embed", "in.txt", 2),
    ],
)
def test_an_input_is_never_overwritten(world, command, target, code):
    out = world / target
    for extra in ((), ("--overwrite",)):
        check_refused(world, (*FILE_COMMANDS[command](world, out), *extra), out, code)


def test_embed_refuses_its_input_even_when_the_suffix_fits(world):
    texts = world / "texts.parquet"
    save_vectors(texts, np.eye(3, dtype=np.float32), texts=["a", "b", "c"])
    args = ("embed", texts, "-o", texts, "-q", "--device", "cpu", "--overwrite")
    line = check_refused(world, args, texts)
    assert "is an input of this run" in line


@pytest.mark.parametrize("command", ["map", "compress"])
def test_overwrite_replaces_a_file_but_leaves_the_rest(world, command):
    out = world / f"mine{SUFFIX[command]}"
    out.write_bytes(b"old")
    before = snapshot(world)
    result = invoke(*FILE_COMMANDS[command](world, out), "--overwrite")
    assert result.exit_code == 0, result.output
    after = snapshot(world)
    assert after.pop(out.name) != before.pop(out.name)
    assert after == before


def test_report_regenerates_its_own_page_without_overwrite(world):
    first = invoke("report", world / "study")
    assert first.exit_code == 0, first.output
    page = world / "study" / "report.html"
    page.write_text(page.read_text(encoding="utf-8") + "<!-- old -->", encoding="utf-8")
    again = invoke("report", world / "study")
    assert again.exit_code == 0, again.output
    assert "<!-- old -->" not in page.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- folder outputs


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_a_non_empty_folder_is_refused_and_kept(world, command):
    out = world / "out"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"photo")
    line = check_refused(world, FOLDER_COMMANDS[command](world, out), out)
    assert "not empty" in line and "--overwrite" in line


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_a_file_where_the_folder_should_be_is_refused(world, command):
    out = world / "out"
    out.write_text("a file")
    line = check_refused(world, FOLDER_COMMANDS[command](world, out), out)
    assert "is a file, not a folder" in line


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_a_read_only_place_is_refused_for_folders(world, command):
    with read_only_folder(world / "ro") as folder:
        out = folder / "out"
        check_refused(world, FOLDER_COMMANDS[command](world, out), out)


@pytest.mark.parametrize(
    ("command", "target"),
    [
        ("compress-dask", "dataset"),  # 3. the input folder itself
        ("compress-dask", "."),  # 3. the parent of the input folder
        ("export", "models/pca-4"),  # 4. the reducer itself
        ("export", "models"),  # 4. the reducer's parent
    ],
)
def test_a_folder_output_never_mixes_with_its_input(world, command, target):
    out = (world / target).resolve()
    for extra in ((), ("--overwrite",)):
        line = check_refused(world, (*FOLDER_COMMANDS[command](world, out), *extra), out)
        assert "would mix with the input" in line


def test_export_with_overwrite_keeps_what_it_did_not_write(world):
    out = world / "exported"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"photo")
    result = invoke("export", world / "minilm-pca-4", "-o", out, "--overwrite")
    assert result.exit_code == 0, result.output
    assert (out / "holiday.jpg").read_bytes() == b"photo"
    assert (out / "modules.json").is_file()
    assert temp_files(world) == []


def test_study_with_overwrite_rewrites_its_files_and_keeps_the_rest(world):
    out = world / "again"
    args = FOLDER_COMMANDS["study"](world, out)
    assert invoke(*args).exit_code == 0
    (out / "notes.txt").write_text("mine")
    refused = invoke(*args)
    assert refused.exit_code == 1 and "--overwrite" in refused.output
    before = (out / "study.json").stat().st_mtime_ns
    result = invoke(*args, "--overwrite")
    assert result.exit_code == 0, result.output
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "study.json").stat().st_mtime_ns > before
    assert temp_files(world) == []


def test_dask_with_overwrite_replaces_only_its_partitions(world):
    out = world / "small"
    out.mkdir()
    (out / "part.0.parquet").write_bytes(b"stale")
    (out / "notes.txt").write_text("mine")
    args = FOLDER_COMMANDS["compress-dask"](world, out)
    result = invoke(*args, "--overwrite")
    assert result.exit_code == 0, result.output
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == [
        "notes.txt",
        "part.0.parquet",
        "part.1.parquet",
    ]
    assert (out / "part.0.parquet").read_bytes()[:4] == b"PAR1"


# ----------------------------------------------------------------------------- temp files


def test_stale_temp_files_of_killed_runs_are_removed_by_the_next_run(world):
    out = world / "small.npy"
    proc = subprocess.Popen(["true"])  # a process that has ended: its pid is free
    proc.wait()
    stale = world / f".small.npy{TEMP_MARK}{proc.pid}-abc.npy"
    stale.write_bytes(b"x" * 1000)
    live = world / f".small.npy{TEMP_MARK}{os.getpid()}-def.npy"  # a run still going
    live.write_bytes(b"y")
    result = invoke(*FILE_COMMANDS["compress"](world, out))
    assert result.exit_code == 0, result.output
    assert not stale.exists()
    assert live.exists()
    live.unlink()


def test_sigterm_during_compress_leaves_no_temp_file(tmp_path):
    """A real process, killed with SIGTERM while it writes: no output, no temp file."""
    import signal
    import sys
    import time

    X = np.random.default_rng(0).normal(size=(400_000, 64)).astype(np.float32)
    np.save(tmp_path / "big.npy", X)
    save_reducer(make_reducer("pca", 8).fit(X[:1000]), tmp_path / "pca", method="pca")
    out = tmp_path / "small.parquet"
    proc = subprocess.Popen(
        [sys.executable, "-m", "embreduce.cli", "compress", str(tmp_path / "big.npy")]
        + ["-m", str(tmp_path / "pca"), "-o", str(out), "-q", "--jobs", "1"],
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not temp_files(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if proc.poll() is not None:  # a crash, or a machine fast enough to need a larger input
        pytest.fail(f"compress ended before it could be interrupted: {proc.stderr.read()}")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "Traceback" not in err.decode()
    assert not out.exists()
    assert temp_files(tmp_path) == []


# ----------------------------------------------------------------------------- bad inputs


def write_npz(path: Path, **arrays) -> Path:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def bad_inputs(world: Path) -> dict[str, Path]:
    """Files that once ended in a traceback or in a silently wrong output."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    X = np.random.default_rng(2).normal(size=(200, 8)).astype(np.float32)
    (world / "noise.parquet").write_bytes(os.urandom(2000))
    words = pa.array([["a", "b"]] * 200, type=pa.list_(pa.string()))
    pq.write_table(pa.table({"tokens": words}), world / "strings.parquet")
    return {
        "noise": world / "noise.parquet",
        "strings": world / "strings.parquet",
        "info": write_npz(world / "info.npz", vectors=X, info=np.asarray("{not json")),
        "short-texts": write_npz(world / "short.npz", vectors=X, texts=np.asarray(["a", "b"])),
        "complex": np.save(world / "complex.npy", X.astype(np.complex64)) or world / "complex.npy",
    }


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("noise", "noise.parquet: not a readable Parquet file"),
        ("strings", "column .tokens. holds lists or records, not texts|no list column of vectors"),
        ("info", "info.npz: 'info' is not JSON"),
        ("short-texts", "short.npz: 'texts' holds 2 value\\(s\\) for 200 vectors"),
        ("complex", "complex numbers"),
    ],
)
@pytest.mark.parametrize("command", ["map", "study", "compress"])
def test_bad_input_files_get_one_line(world, command, case, message):
    source = bad_inputs(world)[case]
    out = world / {"map": "out.html", "study": "out", "compress": "out.npy"}[command]
    args = {
        "map": ("map", source, "--methods", "pca", "-o", out, "-q"),
        "study": ("study", source, "--methods", "pca", "--dims", "2", "-o", out, "-q"),
        "compress": ("compress", source, "-m", world / "models/pca-4", "-o", out, "-q"),
    }[command]
    line = check_refused(world, args, out)
    assert re.search(message, line), line
    assert line.count(source.name) <= 1  # the file is named once, not twice


def test_an_npz_with_object_texts_is_refused(world):
    X = np.ones((3, 8), np.float32)
    source = write_npz(world / "obj.npz", vectors=X, texts=np.array(["a", 1, None], dtype=object))
    out = world / "out.npy"
    line = check_refused(world, ("compress", source, "-m", world / "models/pca-4", "-o", out), out)
    assert "cannot be read without pickle" in line


def test_compress_refuses_a_text_column_as_vectors(world):
    source = world / "texts.parquet"
    save_vectors(source, np.ones((3, 8), np.float32), texts=["a", "b", "c"])
    out = world / "out.parquet"
    args = ("compress", source, "-m", world / "models/pca-4", "-o", out, "--vector-column", "text")
    line = check_refused(world, args, out)
    assert "column 'text' holds string, not lists of numbers" in line


@pytest.mark.parametrize("command", ["compress", "export"])
def test_a_saved_encoder_with_an_unknown_activation_is_refused(world, command):
    import json

    from embreduce.reducers import CosineSimilarityEncoder

    X = np.random.default_rng(0).normal(size=(40, 384)).astype(np.float32)
    model = CosineSimilarityEncoder(4, hidden_layers=(8,), max_epochs=2, random_state=0)
    folder = model.fit(X).save(world / "mlp")
    config = json.loads((folder / "config.json").read_text())
    config["params"]["activation"] = "sparkle"
    (folder / "config.json").write_text(json.dumps(config))
    np.save(world / "in384.npy", X)
    out = world / ("out.npy" if command == "compress" else "exported")
    args = {
        "compress": ("compress", world / "in384.npy", "-m", folder, "-o", out),
        "export": ("export", folder, "-o", out),
    }[command]
    line = check_refused(world, args, out)
    assert "bad params in config.json" in line and "activation" in line


def test_a_scheduler_that_is_not_an_address_gets_one_line(world):
    out = world / "small"
    args = FOLDER_COMMANDS["compress-dask"](world, out)
    line = check_refused(world, (*args, "--scheduler", "not a url"), out)
    assert "cannot reach the Dask scheduler at not a url" in line


def test_normalize_does_not_overflow_on_large_values(world):
    X = np.random.default_rng(3).normal(size=(50, 8)) * 1e20
    np.save(world / "large.npy", X.astype(np.float32))
    out = world / "small.npy"
    result = invoke("compress", world / "large.npy", "-m", world / "models/pca-4", "-o", out)
    assert result.exit_code == 0, result.output
    result = invoke(
        *("compress", world / "large.npy", "-m", world / "models/pca-4", "-o", out),
        *("--normalize", "--overwrite"),
    )
    assert result.exit_code == 0, result.output
    norms = np.linalg.norm(np.load(out).astype(np.float64), axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


def test_values_beyond_float32_are_called_too_large_not_nan(world):
    X = np.ones((5, 8))
    X[3, 2] = 1e300
    np.save(world / "huge.npy", X)
    out = world / "small.npy"
    args = ("compress", world / "huge.npy", "-m", world / "models/pca-4", "-o", out)
    line = check_refused(world, args, out)
    assert "row 3 holds values too large for float32" in line
    line = check_refused(world, ("map", world / "huge.npy", "-o", world / "m.html"), out)
    assert "row 3 holds values too large for float32" in line


def test_float16_overflow_is_an_error_not_inf(world):
    X = np.random.default_rng(3).normal(size=(50, 8)).astype(np.float32) * 1e6
    np.save(world / "big.npy", X)
    out = world / "small.npy"
    args = ("compress", world / "big.npy", "-m", world / "models/pca-4", "-o", out)
    line = check_refused(world, (*args, "--dtype", "float16"), out)
    assert "compressed float16 vector overflows" in line


def test_embed_of_one_text_writes_it(world):
    (world / "one.txt").write_text("\ufeffa single line\n", encoding="utf-8")
    out = world / "one.parquet"
    result = invoke("embed", world / "one.txt", "-o", out, "-q", "--device", "cpu")
    assert result.exit_code == 0, result.output
    from embreduce.io import load_vectors

    assert load_vectors(out).texts == ["a single line"]  # no BOM in the first text


def test_npz_refuses_texts_it_cannot_keep(tmp_path):
    from embreduce.exceptions import InputError

    with pytest.raises(InputError, match="text 1 ends in a NUL character"):
        save_vectors(tmp_path / "v.npz", np.eye(2, dtype=np.float32), texts=["a", "b\0"])
    assert list(tmp_path.iterdir()) == []


def test_embed_without_input_names_what_to_give(world):
    line = check_refused(world, ("embed", "-o", world / "v.npy"), world / "v.npy", code=2)
    assert "no input: give an input file" in line and "not both" not in line


def test_a_truncated_npy_names_the_file_once(world):
    data = (world / "in.npy").read_bytes()
    (world / "trunc.npy").write_bytes(data[: len(data) // 2])
    line = check_refused(world, ("compress", world / "trunc.npy", "-m", world / "models/pca-4",
                                 "-o", world / "o.npy"), world / "o.npy")  # fmt: skip
    assert line.count("trunc.npy") == 1 and "ends before row" in line
