# Quick start: `make demo` and `make test`. Both create or update .venv through `make setup`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel of torch 2.13.0 lies on this machine's disk; an unpinned torch would pull a CUDA build.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.boltzlab-installed

.PHONY: setup test demo bench bench-setup fashion-mnist clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -n 2 tests
	$(BIN)/boltzlab reproduce --all --quick --no-progress --out runs/reproduce-quick

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

clean:
	rm -rf demo-output .pytest_cache build *.egg-info src/*.egg-info
