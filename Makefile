# Every target sets up what it needs: a fresh clone only needs Python >= 3.9.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test
# The demo needs only babyapi and its local server: a small venv of its own, no test tools.
DEMO_VENV := .venv-demo
DEMO_PY := $(DEMO_VENV)/bin/python
DEMO_STAMP := $(DEMO_VENV)/.installed-server

.PHONY: test test-min-deps lint typecheck unit demo bench docs clean drills interop

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

test: $(STAMP) lint typecheck
	$(PY) -m pytest

# The suite at the lowest versions pyproject.toml allows for every direct dependency (httpx,
# aiohttp, the server and otel extras, the test tools): a version range is a promise, and this
# keeps it. uv (from PyPI) resolves the lowest direct versions; a venv of its own.
MIN_VENV := .venv-min
MIN_PY := $(MIN_VENV)/bin/python
MIN_STAMP := $(MIN_VENV)/.installed-lowest

$(MIN_STAMP): pyproject.toml
	rm -rf $(MIN_VENV)
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_PY) -m pip install -q uv
	$(MIN_VENV)/bin/uv pip install -q --python $(MIN_PY) --resolution lowest-direct -e '.[test]'
	touch $(MIN_STAMP)

test-min-deps: $(MIN_STAMP)
	$(MIN_VENV)/bin/uv pip list --python $(MIN_PY) 2>/dev/null | grep -iE '^(httpx|aiohttp|anyio|starlette|uvicorn|httptools|opentelemetry-api|tqdm|ray|pydantic|pytest|hypothesis) '
	# Not here: tests/bench compares peers, not our floors; Ray 2.40 leaves its log files and
	# worker processes open at shutdown, which the suite's ResourceWarning-as-error rule rejects.
	$(MIN_PY) -m pytest --ignore=tests/bench --ignore=tests/batch/test_ray.py

drills: $(STAMP)
	$(PY) -m pytest tests/drills -m drill

lint: $(STAMP)
	$(PY) -m ruff check src tests examples benchmarks interop
	$(PY) -m ruff format --check src tests examples benchmarks interop

typecheck: $(STAMP)
	$(PY) -m mypy
	$(PY) -m mypy --strict --warn-unused-ignores tests/typing
	$(VENV)/bin/basedpyright

$(DEMO_PY):
	$(PYTHON) -m venv $(DEMO_VENV)

$(DEMO_STAMP): pyproject.toml | $(DEMO_PY)
	$(DEMO_PY) -m pip install -q -e '.[server]'
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(DEMO_PY) examples/demo.py

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[test,bench]'
	$(PY) -m pytest tests/bench -m bench
	$(PY) benchmarks/run.py
	$(PY) benchmarks/bench_batch.py

docs: $(STAMP)
	$(PY) -m pip install -q -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# Real servers (llama.cpp's llama-server, vLLM CPU) built once into ~/.cache/babyapi/interop,
# started on loopback, tested by tests/interop, stopped; writes docs/compatibility.md.
# INTEROP_ARGS="--servers vllm -- -k stream" narrows a run (after --: pytest arguments).
interop: $(STAMP)
	$(PY) -m interop $(INTEROP_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_VENV) $(MIN_VENV) site .mypy_cache .ruff_cache .pytest_cache
