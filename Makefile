# make book   set up (venv, packages, data), execute every chapter, render the HTML book (CPU, offline)
# make test   the same, then the tests (they read the executed chapters and the rendered book)
PYTHON ?= python3
PROFILE ?= ci
# The CPU build of torch; on a machine whose pip has no such build, `make TORCH=torch ...`.
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup data book test models clean

setup: $(VENV)/.installed data

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "$(TORCH)" -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

data:
	@scripts/install_data.sh

book: setup
	$(BIN)/python scripts/build_book.py --profile $(PROFILE)

test: book
	$(BIN)/python -m pytest -q

# Train (or find) the committed `ci` models; commit data/models afterwards.
models: setup
	$(BIN)/python -m difflab.zoo ci

clean:
	rm -rf _build
