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

# `make results CHAPTER=05`: one chapter; RESUME=1 keeps the runs already stored (see scripts/make_results.py).
CHAPTER ?=
RESUME  ?=
RESULTS_ARGS = --scale $(SCALE) $(foreach c,$(CHAPTER),--chapter $(c)) $(if $(RESUME),--resume)
# `make results-check CHAPTER=05 SAMPLE=5 RECORD=1`: 5 entries per kind recomputed; the outcome appended to results/checks.csv.
SAMPLE  ?=
RECORD  ?=
CHECK_ARGS = --scale $(SCALE) $(foreach c,$(CHAPTER),--chapter $(c)) $(if $(SAMPLE),--sample $(SAMPLE)) $(if $(RECORD),--record)
# The cpu book reads committed results and never trains: a missing or stale one stops the build.
RESULTS_MODE = $(if $(filter cpu,$(SCALE)),require,auto)

.PHONY: claims-diff lint format setup corpus book test bench clean distclean results results-check browser check-html lab

setup: $(VENV)/.installed corpus

# WordNet 3.0, the text of chapter 11 (Debian's wordnet-base, about 6.5 MB; read from /usr/share/wordnet).
# Skipped when it is there; apt-get (with sudo when not root) otherwise, and a clear error if that fails.
WORDNET := /usr/share/wordnet/data.noun
corpus:
	@if [ -f $(WORDNET) ]; then exit 0; fi; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	echo "Installing WordNet 3.0 (Debian's wordnet-base) for chapter 11 with apt-get"; \
	{ $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
		wordnet-base; } || { echo "make corpus: could not install wordnet-base with apt-get; chapter 11 needs WordNet 3.0's"; \
		echo "  data.* files in /usr/share/wordnet (sudo apt-get install wordnet-base), or a folder given as data_dir"; exit 1; }; \
	[ -f $(WORDNET) ] || { echo "make corpus: wordnet-base is installed but $(WORDNET) is missing"; exit 1; }

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstalled only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	touch $@

# jupyter-cache keys executed notebooks on their code, not on REPLICATION_SCALE, the package or the committed
# results, so a build at another scale, or after replication/ or results/ changed, starts from an empty _build
# (the scale and a hash of those files at the last build are kept in _build/.scale and _build/.inputs).
INPUTS_HASH = find replication results -type f \( -name '*.py' -o -name '*.yaml' -o -name '*.csv' -o -name '*.json' \) \
	-print0 | LC_ALL=C sort -z | xargs -0 sha1sum | sha1sum | cut -c1-16
book: setup
	@case "$(SCALE)" in ci|cpu|paper) ;; *) echo "SCALE must be ci, cpu or paper, not '$(SCALE)'"; exit 2;; esac
	@if [ -d _build ] && [ "$$(cat _build/.scale 2>/dev/null)" != "$(SCALE)" ]; then \
		echo "Scale changed to $(SCALE): removing _build"; rm -rf _build; fi
	@h=$$($(INPUTS_HASH)); if [ -d _build ] && [ "$$(cat _build/.inputs 2>/dev/null)" != "$$h" ]; then \
		echo "replication/ or results/ changed since the last build: removing _build"; rm -rf _build; fi; \
		mkdir -p _build && echo "$$h" > _build/.inputs
	@mkdir -p _build && echo "$(SCALE)" > _build/.scale
	@touch notebooks/10_vision_sensitivity.ipynb notebooks/98_status.ipynb notebooks/99_scorecard.ipynb  # re-read (after the pages whose claims they gather) on every build
	REPLICATION_SCALE=$(SCALE) REPLICATION_RESULTS=$(RESULTS_MODE) REPLICATION_QUIET=1 $(JB_BUILD)
	@echo "The book ($(SCALE) scale) is at file://$(CURDIR)/_build/html/index.html"

# Recompute the committed results under results/$(SCALE)/ (all chapters, or CHAPTER=05) and rewrite them.
results: setup
	$(PY) scripts/make_results.py $(RESULTS_ARGS)

# Recompute into a temporary folder and judge it against the committed results: verdicts, and differences
# against the seed-to-seed spread (nothing is rewritten but the record, with RECORD=1).
results-check: setup
	$(PY) scripts/make_results.py --check $(CHECK_ARGS)

# `make claims-diff BEFORE=<claims root>`: every claim this checkout's last book build recorded (_cache/claims) against
# those of another build (e.g. a copy of another checkout's _cache/claims), chapter by chapter; lists what changed.
BEFORE ?=
claims-diff: setup
	@test -n "$(BEFORE)" || { echo "BEFORE: give the claims root of the other build, e.g. BEFORE=/tmp/old/_cache/claims"; exit 2; }
	@$(PY) -c "import sys; from replication.report.recheck import scorecard_changes as f; \
		d = f(sys.argv[1], '_cache/claims', sys.argv[2]); c = d[d[['changed', 'measured_changed', 'note_changed']].any(axis=1)]; \
		print(f'{len(d)} claims, {len(c)} changed'); print(c.to_string(index=False) if len(c) else '')" "$(BEFORE)" "$(SCALE)"

# Lint and format check (ruff, configured in pyproject.toml); `make format` rewrites the files.
LINTED = replication tests scripts benchmarks
lint: setup
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

format: setup
	$(VENV)/bin/ruff format $(LINTED)
	$(VENV)/bin/ruff check --fix $(LINTED)

test: setup
	REPLICATION_SCALE=ci OMP_NUM_THREADS=1 $(PY) -m pytest --nbval --nbval-current-env $(PYTEST_ARGS)

# The edit loop: the tests under tests/ that take under 5 s each (no notebook runs, no book build), in under 3 minutes.
.PHONY: test-fast
test-fast: setup
	REPLICATION_SCALE=ci OMP_NUM_THREADS=1 $(PY) -m pytest tests -m "not slow and not book" $(PYTEST_ARGS)

# Headless Chromium and its driver for `make check-html` (Debian packages; needs root or sudo).
# `make lab`: JupyterLab on the chapters, to edit them (loopback only; LAB_PORT=8888). Saving keeps the .py and
# the .ipynb paired and saves no outputs (scripts/jupyter_lab_config.py). Chapters read the committed results
# as the book build does; a change that needs new runs stops first and says how many, and roughly how long.
LAB_PORT ?= 8888
lab: setup
	REPLICATION_SCALE=$(SCALE) REPLICATION_RESULTS=$(RESULTS_MODE) $(VENV)/bin/jupyter lab \
		--config=scripts/jupyter_lab_config.py --ServerApp.root_dir=$(CURDIR) --ServerApp.port=$(LAB_PORT)

browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	echo "Installing chromium and chromium-driver with apt-get"; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver

# Open every page of the built book in headless Chromium: console errors, images, MathJax, internal links;
# full-page screenshots (1280 px wide) go to _build/screenshots/. Checks the book as built: run `make book` first.
# Extra arguments, e.g. make check-html CHECK_HTML_ARGS="--ignore-console THEBE_JS_URL" (see --help).
check-html: setup browser
	@[ -f _build/html/index.html ] || { echo "check-html: no built book in _build/html: run \`make book\` first"; exit 2; }
	$(PY) scripts/check_html.py --html _build/html --screenshots _build/screenshots $(CHECK_HTML_ARGS)

# The benchmark suite (about 10 minutes on 2 cores); make bench BENCH_ARGS="--quick --json" for the short run.
bench: setup
	$(PY) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf _build .pytest_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

# Also removes the virtual environment and the results cache (expensive to recompute).
distclean: clean
	rm -rf $(VENV) _cache
