# Targets the README and CI use. Everything installs into .venv from the package registries.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 2

SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install browser run demo serve ingest test test-slow lint bench eval clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## Debian's Chromium (the browser tests drive it through Playwright; no browser is downloaded) and a CJK font.
browser:
	@dpkg -s chromium fonts-wqy-zenhei >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-wqy-zenhei; }

## The main job on embedded defaults (SQLite + indexes/ under STUDY_HUB_HOME, default: this folder):
## ingest the shipped corpus and queue its indexing, serve the site on http://$(HOST):$(PORT)/ with the job
## worker beside it: keyword search answers as soon as the keyword index is in (seconds), search by meaning
## joins by itself once the worker has encoded the passages.
run: install
	$(BIN)/study-hub ingest corpus --no-wait
	$(BIN)/study-hub serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

## The district programme ready to show (set up as `make run`): the demo loads the shipped corpus into an empty
## store and builds its keyword index, creates the special action's organisation, a dozen accounts with one-time
## passwords (printed once), a reading list drafted from a topic and two sessions; then the site is served.
## It refuses a database that has users: `make demo DEMO_FLAGS=--force` adds the demo anyway.
DEMO_FLAGS ?=
demo: install
	$(BIN)/study-hub demo --host $(HOST) --port $(PORT) $(DEMO_FLAGS)
	$(BIN)/study-hub serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

serve: install
	$(BIN)/study-hub serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

## Ingest and index in the foreground (both indexes built before the command returns).
ingest: install
	$(BIN)/study-hub ingest corpus

## Lint, then the whole test suite on SQLite, then again with every store in PostgreSQL (127.0.0.1:5432;
## the unit tests touch no database, the sqlite_only ones are about SQLite itself). Chromium for the pages.
## The converted model and the shared corpus's vectors are kept in test-output/ between the two runs (and
## between runs here): the retrieval floors encode the whole shared corpus once, not twice.
test: export STUDY_HUB_TEST_MODELS_DIR ?= $(CURDIR)/test-output/models
test: export STUDY_HUB_TEST_VECTOR_CACHE ?= $(CURDIR)/test-output/vector-cache
test: install browser
	$(BIN)/ruff check study_hub tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest
	STUDY_HUB_TEST_BACKEND=postgres $(BIN)/python -m pytest -m "not slow and not sqlite_only" \
	  tests/integration tests/faults tests/e2e tests/eval

## Every test, including any marked slow (none are now: the retrieval floors run in `make test`).
test-slow: install browser
	$(BIN)/python -m pytest -m "slow or not slow"

lint: install
	$(BIN)/ruff check study_hub tests benchmarks
	$(BIN)/lint-imports

bench: install
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/web.py

## The scale benchmark (an hour on two cores): corpora of 50 k, 200 k and 1 M passages recombined from the
## shared corpus's sentences (its vectors come from the evaluation run), keyword engines side by side, hybrid
## search with exact and approximate vectors.
SCALE = $(CURDIR)/test-output/scale
bench-scale: install
	$(BIN)/python benchmarks/eval_retrieval.py --set policy --modes keyword
	for n in 50000 200000 1000000; do $(BIN)/python benchmarks/scale_corpus.py --passages $$n --out $(SCALE)-$$n; done
	$(BIN)/python benchmarks/ann.py --corpus $(SCALE)-200000
	$(BIN)/python benchmarks/scale.py --corpus $(SCALE)-50000 --engines tantivy,whoosh
	$(BIN)/python benchmarks/scale.py --corpus $(SCALE)-200000 --engines tantivy,whoosh --hybrid
	$(BIN)/python benchmarks/scale.py --corpus $(SCALE)-1000000 --engines tantivy --hybrid

## Retrieval quality on the development set (needs `make ingest` first).
eval: install
	$(BIN)/study-hub search --queries ../shared/eval/policy/dev.jsonl > /tmp/study_hub_run.jsonl
	$(BIN)/python ../shared/eval/score.py --qrels ../shared/eval/policy/dev.jsonl --run /tmp/study_hub_run.jsonl

clean:
	rm -rf $(VENV) study_hub.sqlite3* indexes/*/ vectors/ test-output/
