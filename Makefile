# One entry point per job. `make book` builds the HTML book at cpu scale; `make test` runs the tests at ci scale.
# Both create the virtual environment first if it is missing.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
# Scale of the book build: ci | cpu | paper (REPLICATION_SCALE=paper make book works too).
SCALE  ?= $(or $(REPLICATION_SCALE),cpu)
# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-m 'not book'".
PYTEST_ARGS ?=

JB_BUILD = $(VENV)/bin/jupyter-book build . --config _config.yml --toc book/_toc.yml --warningiserror --keep-going

.PHONY: setup book test bench clean distclean

setup: $(VENV)/.installed

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstalled only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	touch $@

# jupyter-cache keys executed notebooks on their code, not on REPLICATION_SCALE, so a build at another
# scale starts from an empty _build (the scale of the last build is kept in _build/.scale).
book: setup
	@case "$(SCALE)" in ci|cpu|paper) ;; *) echo "SCALE must be ci, cpu or paper, not '$(SCALE)'"; exit 2;; esac
	@if [ -d _build ] && [ "$$(cat _build/.scale 2>/dev/null)" != "$(SCALE)" ]; then \
		echo "Scale changed to $(SCALE): removing _build"; rm -rf _build; fi
	@mkdir -p _build && echo "$(SCALE)" > _build/.scale
	@touch notebooks/99_scorecard.ipynb  # the scorecard is re-read (after the chapters) on every build
	REPLICATION_SCALE=$(SCALE) REPLICATION_QUIET=1 $(JB_BUILD)
	@echo "The book ($(SCALE) scale) is at file://$(CURDIR)/_build/html/index.html"

test: setup
	REPLICATION_SCALE=ci OMP_NUM_THREADS=1 $(PY) -m pytest --nbval --nbval-current-env $(PYTEST_ARGS)

bench: setup
	@for f in benchmarks/*.py; do \
		[ -e "$$f" ] || continue; \
		echo "== $$f"; $(PY) "$$f" || exit 1; \
	done

clean:
	rm -rf _build .pytest_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

# Also removes the virtual environment and the results cache (expensive to recompute).
distclean: clean
	rm -rf $(VENV) _cache
