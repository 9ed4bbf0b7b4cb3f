# The two set-up commands of the README: `make demo` (the main job) and `make test`.
PY ?= python3
# The official HMRC/EU schemas inbound answers are validated against, as their publishers ship them.
export EATA_OFFICIAL_SCHEMAS ?= $(abspath ../shared/standards)

.PHONY: setup demo test lint

setup:
	./scripts/setup.sh

demo: setup  # KEEP=1 leaves the gateway and its console running until Ctrl-C
	$(PY) -m devtools.demo $(if $(filter-out 0,$(KEEP)),--keep,)

test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q -p no:cacheprovider

lint:
	$(PY) -m ruff check . && $(PY) -m ruff format --check .
