# Quick start: `make demo` and `make test`. Both create or update .venv through `make setup`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel of torch 2.13.0 lies on this machine's disk; an unpinned torch would pull a CUDA build.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.boltzlab-installed

.PHONY: setup test demo bench bench-setup fashion-mnist bench-fashion-mnist hmmer-examples docs examples clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

test: setup hmmer-examples
	$(BIN)/python -m pytest -n 2 tests
	$(BIN)/boltzlab reproduce --all --quick --no-progress --out runs/reproduce-quick

# The API reference (mkdocs.yml: the notes in docs/ and docs/api/ from the docstrings); fails on any warning.
DOCS_STAMP := $(VENV)/.boltzlab-docs-installed

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(BIN)/python -m mkdocs build --strict --clean -f mkdocs.yml -d site

# Every script of examples/ with --quick (tests/test_examples.py runs them too, within `make test`).
examples: setup
	$(BIN)/python -m pytest -n 2 tests/test_examples.py

# Pfam seed alignments (Debian hmmer-examples) for the real-alignment reader tests: installed when missing
# where apt-get may run (as root, or in CI through sudo); elsewhere those tests skip, in CI they fail.
PFAM_DIR := /usr/share/doc/hmmer/examples/tutorial

hmmer-examples:
	@if [ ! -e $(PFAM_DIR)/fn3.sto ] && [ ! -e $(PFAM_DIR)/fn3.sto.gz ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q hmmer-examples; \
	  elif [ -n "$${CI:-}" ] && command -v sudo >/dev/null; then \
	    sudo -n apt-get update -q && sudo -n apt-get install -y -q hmmer-examples; \
	  else echo "hmmer-examples is not installed (needs root): the Pfam reader tests will skip"; fi; \
	fi

demo: setup
	$(BIN)/boltzlab demo --out demo-output

# Peers (rbms, scikit-learn, netket) live in their own environment, never as dependencies of the package.
BENCH_VENV ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.bench-installed

bench-setup: $(BENCH_STAMP)

$(BENCH_STAMP): pyproject.toml Makefile benchmarks/requirements.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q "$(TORCH_SPEC)"
	$(BENCH_VENV)/bin/python -m pip install -q -r benchmarks/requirements.txt
	$(BENCH_VENV)/bin/python -m pip install -q -e .
	touch $(BENCH_STAMP)

bench: bench-setup
	$(BENCH_VENV)/bin/python benchmarks/run_all.py --out benchmarks/results

# Full Fashion-MNIST (60,000 + 10,000 images) for experiments at data-set scale; tests never need it.
fashion-mnist:
	test -d /usr/share/datasets/fashion-mnist || (apt-get update && apt-get install -y dataset-fashion-mnist)

# Trains on the full Fashion-MNIST from its IDX files (memory-mapped, streamed) and on a 1,000-image
# subset; reports seconds per epoch and peak memory of both (benchmarks/results/fashion_mnist.json).
bench-fashion-mnist: setup fashion-mnist
	$(BIN)/python benchmarks/fashion_mnist.py --out benchmarks/results

clean:
	rm -rf demo-output .pytest_cache build site *.egg-info src/*.egg-info
