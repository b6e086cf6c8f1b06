"""The top-level package: light to import, with the main names at hand."""

from __future__ import annotations

import subprocess
import sys

import embreduce


def test_import_is_light():
    code = "import sys, embreduce; print('torch' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_every_exported_name_resolves():
    for name in embreduce.__all__:
        assert getattr(embreduce, name) is not None
    from embreduce.reducers.encoder import CosineSimilarityEncoder

    assert embreduce.CosineSimilarityEncoder is CosineSimilarityEncoder
    assert callable(embreduce.embed)


def test_version_is_the_one_in_pyproject():
    import re
    from pathlib import Path

    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    declared = re.search(r'^version = "([^"]+)"', pyproject.read_text(), re.MULTILINE)
    assert embreduce.__version__ == declared.group(1)
    assert embreduce.__version__ != "0.0.0"  # the fallback when the package is not installed
