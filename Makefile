# Two commands do all the set-up on a fresh machine:
#   make serve   create .venv, install, build and serve the site on http://127.0.0.1:8000
#   make test    the same set-up, then the whole test suite
# Everything else here is a helper those two call, or a maintainer's shortcut.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# PyTorch is only a test reference. The CPU wheel on disk keeps it small;
# `pip install torch` from the index would pull gigabytes of CUDA.
TORCH_WHEEL := $(firstword $(wildcard /opt/wheels/torch-*+cpu-*.whl))
# rotary-embedding-torch is the test reference for runnable/rope.py. Installed
# after torch with --no-deps: it asks for torch>=2.4, which pip would otherwise
# satisfy from the index (a CUDA build) if no torch were there yet.
TORCH_REFERENCES := requirements/torch-references.txt

# Thread pools fighting over two cores make timings and CI erratic.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
# Material for MkDocs prints an end-of-life banner (support ends May 2027) on
# every build; it is tracked in the project notes, not needed on each run.
export NO_MKDOCS_2_WARNING ?= 1

.PHONY: serve test test-matrix build install lock torch browser npm linkcheck bench clean help

help:
	@echo "make serve      set up and serve the site on http://127.0.0.1:8000"
	@echo "make test       set up and run the whole test suite"
	@echo "make build      build the site into site/ (strict)"
	@echo "make linkcheck  check every link in the catalog and the pages"
	@echo "make bench      run the benchmarks in bench/ and print their figures"
	@echo "make test-matrix  the runnable/ tests under every OpenBLAS kernel, 5 seeds, tolerances / 10"
	@echo "make lock       refresh $(LOCK) from pyproject.toml (after changing a dependency)"

# The install is reproducible: every package comes from the lock, pinned and
# checked against its hashes (pip-tools' pip-compile --generate-hashes; see
# `make lock`). The lock is compiled for one Python (its header says which);
# on another one, the install resolves pyproject.toml afresh and says so.
LOCK        := requirements/test.txt
LOCK_PYTHON := $(shell sed -n 's/.*pip-compile with Python \([0-9][0-9.]*\).*/\1/p' $(LOCK))
PIP_TOOLS   := pip-tools==7.6.2

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	@if [ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" = "$(LOCK_PYTHON)" ]; then \
		echo "Installing from $(LOCK) (pinned, hash-checked)"; \
		$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK) && \
		$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . ; \
	else \
		echo "*** $(LOCK) is locked for Python $(LOCK_PYTHON); this is another Python, so the install ***"; \
		echo "*** resolves pyproject.toml afresh (not pinned). CI uses Python $(LOCK_PYTHON).            ***"; \
		$(BIN)/python -m pip install --quiet -e '.[test]'; \
	fi
	@# A dependency added to pyproject.toml but not to the lock shows up here, not as an ImportError later.
	$(BIN)/python -m pip check
	touch $@

install: $(STAMP)

# Recompile the lock from pyproject.toml, with hashes, for this Python: pins
# already in the lock are kept and what pyproject.toml added is resolved
# (UPGRADE=1 moves everything to the newest versions its ranges allow).
# pip-tools runs from its own venv, so the project's install never depends
# on it. Needs the package index.
lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet "$(PIP_TOOLS)"
	.venv-lock/bin/pip-compile --quiet $(if $(UPGRADE),--upgrade) --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --all-build-deps --extra test \
		--output-file $(LOCK) pyproject.toml
	@echo "$(LOCK) refreshed; commit it with the pyproject.toml change that needed it."

serve: install
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

build: install
	$(BIN)/mkdocs build --strict

test: install torch browser npm
	$(BIN)/python -m pytest

# Not part of `make test` (about 15 minutes): proves the numerical tests hold on
# any machine. See tests/matrix.py.
test-matrix: install torch
	$(BIN)/python tests/matrix.py

linkcheck: install
	$(BIN)/learnpath check-links

bench: install torch
	$(BIN)/python bench/site_build.py
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/linkcheck.py
	$(BIN)/python bench/numpy_vs_torch.py
	$(BIN)/python bench/bpe.py
	$(BIN)/python bench/generate.py

torch: install
	@if $(BIN)/python -c 'import torch' 2>/dev/null; then :; \
	elif [ -n "$(TORCH_WHEEL)" ]; then \
		echo "Installing PyTorch (CPU) from $(TORCH_WHEEL)"; \
		$(BIN)/python -m pip install --quiet "$(TORCH_WHEEL)"; \
	else \
		echo "*** No CPU torch wheel in /opt/wheels: the PyTorch parity tests will SKIP. ***"; \
		echo "*** Install a CPU build of torch into $(VENV) to run them.                   ***"; \
	fi
	@if $(BIN)/python -c 'import torch' 2>/dev/null && ! $(BIN)/python -c 'import rotary_embedding_torch' 2>/dev/null; then \
		echo "Installing $(TORCH_REFERENCES) (test references for runnable/rope.py)"; \
		$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r $(TORCH_REFERENCES); \
	fi

browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's Chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "*** /usr/bin/chromium is missing and we are not root: browser tests will SKIP. ***"; \
		echo "*** Run 'sudo apt-get install chromium' to run them.                           ***"; \
	fi

# Test-only JavaScript (axe-core for the accessibility tests; iframe-worker to
# check the copy the site ships): exactly the versions in package-lock.json.
# Never part of the site, and `make serve` does not need it.
NPM_STAMP := node_modules/.installed

$(NPM_STAMP): package.json package-lock.json
	@if ! command -v npm >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's npm for the accessibility tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	fi
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "*** npm is missing and we are not root: the accessibility tests will SKIP  ***"; \
		echo "*** (FAIL under REQUIRE_BROWSER=1). Run 'sudo apt-get install npm' to run them. ***"; \
	fi

npm: $(NPM_STAMP)

clean:
	rm -rf $(VENV) .venv-lock site .pytest_cache .hypothesis node_modules .cache
