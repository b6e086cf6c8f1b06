"""The command line, driven through Typer's CliRunner: exit codes, output, files written."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from embreduce.cli import app
from embreduce.io import load_vectors
from embreduce.report.page import escape_label

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


COMMANDS = {"embed", "study", "report", "compress", "export", "map", "index", "search"}


def test_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    panel = result.output.split("Commands")[1]
    listed = {line.strip("│ ").split()[0] for line in panel.splitlines() if line.startswith("│ ")}
    assert COMMANDS <= listed, listed


def test_help_lines_are_the_commands_own_docstrings():
    """--help lists the commands without building them; its lines must not drift."""
    import inspect

    import typer.main

    from embreduce.cli.app import COMMANDS as table
    from embreduce.cli.app import LazyCommands

    group = typer.main.get_command(app)
    assert isinstance(group, LazyCommands)
    assert set(table) == COMMANDS
    for name, (_, summary) in table.items():
        command = group.get_command(None, name)
        assert command.name == name
        first = inspect.cleandoc(command.help).split("\n\n")[0]
        assert " ".join(first.split()) == summary, name


def test_top_level_help_imports_no_command(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from embreduce.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('embreduce.cli.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = out.strip().splitlines()[-1]
    assert "study_command" not in loaded and "options" not in loaded, loaded


def test_a_misspelt_command_gets_a_suggestion():
    result = invoke("studdy")
    assert result.exit_code == 2
    assert "Did you mean 'study'" in result.output


# One test per command, on one small study of 60 words: exit code, output and files.


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "study"
    args = ["--methods", "pca", "--dims", "8", "--bits", "32,8", "--words", 60, "--k", 3]
    args += ["--no-limit"]
    result = invoke("study", *args, "-o", out, "--quiet", "--device", "cpu")
    assert result.exit_code == 0, result.output
    return out, result.output


def test_study_command(study_dir):
    out, output = study_dir
    assert re.search(r"Recommendation: \S+ at \d+ bits: [\d,]+ bytes a vector", output), output
    assert {"results.csv", "study.json", "report.html", "vectors.parquet"} <= {
        p.name for p in out.iterdir()
    }
    assert (out / "models" / "pca-8" / "config.json").is_file()


def test_report_command(study_dir, tmp_path):
    out, _ = study_dir
    page = tmp_path / "again.html"
    result = invoke("report", out, "-o", page)
    assert result.exit_code == 0, result.output
    assert f"Wrote {page}" in result.output
    rec = json.loads((out / "study.json").read_text())["recommendation"]
    assert f"{rec['method']}-{rec['dim']} at {rec['bits']} bits" in page.read_text("utf-8")


def test_compress_command(study_dir, tmp_path):
    out, _ = study_dir
    small = tmp_path / "small.npy"
    args = [out / "vectors.parquet", "--model", out / "models" / "pca-8", "-o", small]
    result = invoke("compress", *args, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Compressed 60 vectors 384 -> 8 dims (float32)")
    assert np.load(small).shape == (60, 8)
    codes = tmp_path / "codes.npy"
    result = invoke("compress", *args[:3], "-o", codes, "--bits", 8, "--quiet")
    assert result.exit_code == 0, result.output
    assert np.load(codes).dtype == np.uint8 and np.load(codes).shape == (60, 8)


def test_export_command(study_dir, tmp_path):
    out, _ = study_dir
    folder = tmp_path / "minilm-8"
    result = invoke("export", out / "models" / "pca-8", "-o", folder)
    assert result.exit_code == 0, result.output
    assert str(folder) in result.output
    assert (folder / "modules.json").is_file()


def test_map_command(study_dir, tmp_path):
    out, _ = study_dir
    page = tmp_path / "map.html"
    result = invoke("map", out / "vectors.parquet", "--methods", "pca", "-o", page, "--quiet")
    assert result.exit_code == 0, result.output
    assert f"Wrote {page}" in result.output
    # every one of the 60 words reaches the page's data (not plotly.js) as a hover label
    data = page.read_text("utf-8").split('<script type="application/json" id="page-data">')[1]
    data = data.split("</script>")[0]
    words = pq.read_table(out / "vectors.parquet").column("text").to_pylist()
    labels = [escape_label(w) for w in words]  # escaped before they reach the page
    assert len(words) == 60 and json.loads(data)["labels"] == labels


def test_embed_words_writes_parquet_and_prints_summary(tmp_path):
    out = tmp_path / "words.parquet"
    result = invoke("embed", "--words", 20, "-o", out, "--quiet", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "Embedded 20 texts" in result.output
    assert "Pairwise cosine similarity" in result.output
    data = load_vectors(out)
    assert data.vectors.shape == (20, 384)
    assert data.texts[:2] == ["the", "to"]
    assert data.info["model"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_embed_text_file_counts_blank_lines(tmp_path):
    src = tmp_path / "s.txt"
    src.write_text("That is a happy person\n\nToday is a sunny day\n \n", encoding="utf-8")
    out = tmp_path / "s.npz"
    result = invoke("embed", src, "-o", out, "-q", "--device", "cpu", "--normalize")
    assert result.exit_code == 0, result.output
    assert "2 blank line(s) dropped" in result.output
    data = load_vectors(out)
    assert data.texts == ["That is a happy person", "Today is a sunny day"]
    assert np.allclose(np.linalg.norm(data.vectors, axis=1), 1, atol=1e-5)


def test_embed_table_with_hf_backend(tmp_path, tiny_llama):
    src = tmp_path / "code.csv"
    src.write_text("snippet,lang\nimport numpy as np,py\nfor i in range(3): pass,py\n")
    out = tmp_path / "code.parquet"
    result = invoke(
        "embed",
        src,
        "--text-column",
        "snippet",
        "--backend",
        "hf",
        "--model",
        tiny_llama,
        "--pooling",
        "last",
        "-o",
        out,
        "-q",
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    data = load_vectors(out)
    assert data.vectors.shape == (2, 32)
    assert data.metadata["lang"].tolist() == ["py", "py"]
    assert data.info["pooling"] == "last"


@pytest.mark.parametrize(
    ("name", "content", "extra", "message"),
    [
        ("empty.txt", b"", [], "empty"),
        ("latin1.txt", b"caf\xe9\n", [], "not UTF-8"),
        ("t.csv", b"a,b\nx,y\n", ["--text-column", "sentence"], "no text column"),
        ("r.csv", b"text,b\nx,1\ny,2,3\n", [], "ragged"),
        ("ok.txt", b"hello\n", ["--model", "no-such-org/no-such-model"], "could not be loaded"),
    ],
)
def test_embed_bad_input_is_one_line_and_writes_nothing(tmp_path, name, content, extra, message):
    src = tmp_path / name
    src.write_bytes(content)
    out = tmp_path / "out" / "v.parquet"
    result = invoke("embed", src, "-o", out, "-q", "--device", "cpu", *extra)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_embed_usage_errors_exit_2(tmp_path):
    assert invoke("embed", "-o", tmp_path / "v.npy").exit_code == 2  # no input at all
    result = invoke("embed", "--words", 5, "-o", tmp_path / "v.txt")
    assert result.exit_code == 2
    assert not (tmp_path / "v.txt").exists()
