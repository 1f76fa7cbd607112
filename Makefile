# rnn-sweep: `make sweep` runs the default sweep, `make test` the test suite.
# Both create .venv and install on first use, from the lock of exact versions (LOCK);
# `make lock` regenerates the lock from the ranges in pyproject.toml.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
SPACE  ?= search_spaces/imdb_rnn.yaml
ARGS   ?=
# Exact versions (with hashes) of the runtime dependencies plus the dev and mlflow extras, for Python 3.11
# on Linux x86_64. pyproject.toml keeps the ranges for installs into an environment of your own.
LOCK   ?= requirements/lock.txt
# The tool that writes LOCK; installed into $(VENV) by `make lock` when missing.
UV_VERSION ?= 0.13.9
# Extra `uv pip compile` options for `make lock`, e.g. LOCK_ARGS=--upgrade (all to the newest
# allowed) or LOCK_ARGS="--upgrade-package keras"; without them the pins already in LOCK are kept.
LOCK_ARGS  ?=
# The prepared IMDB beside the checkout, when there is one and TFDS_DATA_DIR points nowhere
# else; without it tfds uses ~/tensorflow_datasets, and a sweep downloads IMDB there once.
SHARED_TFDS := $(abspath ../shared/tensorflow_datasets)
ifneq ($(wildcard $(SHARED_TFDS)),)
export TFDS_DATA_DIR ?= $(SHARED_TFDS)
endif
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install lock sweep test test-fast test-battery lint bench clean

# A fresh .venv whenever the lock or pyproject.toml changes, so that it holds exactly the lock.
$(BIN)/sweep: pyproject.toml $(LOCK)
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

install: $(BIN)/sweep

lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m uv --version 2>/dev/null | grep -qx 'uv $(UV_VERSION)' \
		|| $(BIN)/pip install --quiet 'uv==$(UV_VERSION)'
	@mkdir -p $(dir $(LOCK))
	@# Through a copy (uv keeps the pins it finds in its output file), replacing LOCK only when
	@# it changes: a new LOCK rebuilds .venv on the next install.
	@if [ -f $(LOCK) ]; then cp $(LOCK) $(LOCK).tmp; else rm -f $(LOCK).tmp; fi
	$(BIN)/python -m uv pip compile pyproject.toml --extra dev --extra mlflow \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		--generate-hashes --custom-compile-command 'make lock' \
		--quiet $(LOCK_ARGS) -o $(LOCK).tmp
	@if cmp -s $(LOCK).tmp $(LOCK); then rm $(LOCK).tmp; echo "$(LOCK): unchanged"; \
	else mv $(LOCK).tmp $(LOCK); echo "$(LOCK): written"; fi

sweep: install
	@echo "The default space: up to 20 trials of up to 3 epochs, about 1 to 4 minutes each on a 2-core CPU" \
	      "(the first, the best configuration known, ends after about 3 minutes); ARGS='--max-time 15m' sets a budget."
	$(BIN)/sweep run $(SPACE) $(ARGS)

# CI's suite (.ci/run): every test but the battery (pyproject.toml's addopts, -m 'not battery').
test: install
	$(BIN)/pytest -q $(ARGS)

# The inner loop: the unit tests that train nothing beyond a few seconds (no slow, IMDB or
# battery tests); the results, plots and confirm tests read the checked-in tests/data/small_run.
test-fast: install
	$(BIN)/pytest -q -m "not slow and not imdb and not battery" tests/unit $(ARGS)

# The long tail that `make test` leaves out (tests marked battery; each names the test that
# proves its promise in CI): every algorithm x kill point, every kind of write on a full disk,
# the slower twins of CI's real-process tests. Run it whenever you touch what it covers.
test-battery: install
	$(BIN)/pytest -q -m battery $(ARGS)

# Re-runs examples/seed_question.ipynb in place and stores its outputs (IMDB samples: minutes on
# a CPU), from a fresh examples/results/ so that it trains rather than resumes.
notebook: install
	rm -rf examples/results
	$(BIN)/python examples/execute.py examples/seed_question.ipynb

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy sweep

bench: install
	$(BIN)/python bench/pipeline.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
