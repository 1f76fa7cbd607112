# rnn-sweep: `make sweep` runs the default sweep, `make test` the test suite.
# Both create .venv and install on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
SPACE  ?= search_spaces/imdb_rnn.yaml
ARGS   ?=
# The offline IMDB beside the checkout, unless TFDS_DATA_DIR already points elsewhere.
export TFDS_DATA_DIR ?= $(abspath ../shared/tensorflow_datasets)
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install sweep test lint bench clean

$(BIN)/sweep: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/sweep

sweep: install
	$(BIN)/sweep run $(SPACE) $(ARGS)

test: install
	$(BIN)/pytest -q $(ARGS)

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/pipeline.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
