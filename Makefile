# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test lint browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first: the CPU build on local disk. Left to pip's resolver it pulls a CUDA build.
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium; install it where it is missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) browser lint
	$(BIN)/pytest -q

# The reference workload: the 512 most frequent English words, all-MiniLM-L6-v2 (384-d).
demo: $(STAMP)
	$(BIN)/embreduce study --words 512 --methods pca,svd,random,truncate,encoder \
	    --dims 16,32,64,128,256 --bits 32,8,4,1 --holdout 0.2 --seed 0 \
	    -o out/demo --overwrite

clean:
	rm -rf out .pytest_cache .ruff_cache
