"""Shared fixtures: offline mode, the packaged model, and a tiny causal LM built here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def minilm():
    """The packaged all-MiniLM-L6-v2, loaded once for the whole session."""
    from embreduce.embedding import Embedder

    return Embedder(device="cpu")


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random LlamaForCausalLM with a BPE tokenizer trained here, saved to disk."""
    from embreduce.testing import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that opens a page in Chromium ``browser`` (``-m "not browser"``)."""
    for item in items:
        if "open_page" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
