# The two set-up commands of the README: `make demo` (the main job) and `make test`.
PY ?= python3
# The official HMRC/EU schemas inbound answers are validated against, as their publishers ship them.
export EATA_OFFICIAL_SCHEMAS ?= $(abspath ../shared/standards)

.PHONY: setup demo test test-fast lint bench

setup:
	./scripts/setup.sh

demo: setup  # KEEP=1 leaves the gateway and its console running until Ctrl-C
	$(PY) -m devtools.demo $(if $(filter-out 0,$(KEEP)),--keep,)

test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy  # [tool.mypy] in pyproject.toml: strict on the pure core, basic elsewhere
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow"
	$(PY) -m pytest -q -p no:cacheprovider -m slow

lint:
	$(PY) -m ruff check . && $(PY) -m ruff format --check . && $(PY) -m mypy

test-fast:  # the fast lane alone, while working (make test runs it and then the slow lane)
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow"

bench: setup  # every benchmark of issue 16 in turn, on a quiet machine (~8 min); figures in benchmarks/README.md
	$(PY) benchmarks/signing.py
	$(PY) benchmarks/mapping.py --top 0
	$(PY) benchmarks/coldstart.py
	$(PY) benchmarks/chain.py --messages 500
	$(PY) benchmarks/relay.py --messages 3000
