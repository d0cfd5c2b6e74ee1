# Two commands do everything on a fresh machine with Python 3.11:
#   make book   create .venv if missing, execute every notebook, build the HTML book
#   make test   create .venv if missing, run the whole test suite (what CI runs)

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTEST_WORKERS ?= 2
# Keep each kernel on one thread while two pytest workers share two cores.
TEST_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TYING_PROGRESS=0 PYDEVD_DISABLE_FILE_VALIDATION=1

.PHONY: env vendor book pdf serve test test-fast lint exercises grade chromium clean

env: $(STAMP) _vendor/VERSIONS.json

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and alone: the CPU wheel, so nothing later pulls a CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

vendor: _vendor/VERSIONS.json
_vendor/VERSIONS.json: tools/vendor_js.py
	$(BIN)/python tools/vendor_js.py

# TYING_PROGRESS=0: progress bars stay silent, so no page carries widget state
# (the static book ships no widget manager; see book/_ext/tying_book.py).
book: env
	TYING_PROGRESS=0 $(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo ""
	@echo "The book is built. Open file://$(CURDIR)/_build/html/index.html"
	@echo "or serve it with: make serve   (then http://127.0.0.1:8000)"

# The PDF edition, printed offline from the built pages by Debian's Chromium
# (tools/build_pdf.py): _build/html/parameter-tying.pdf, linked from the home page.
pdf: book chromium
	$(BIN)/python tools/build_pdf.py _build/html

serve:
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory _build/html 8000

# Headless Chromium for the browser tests (Debian/Ubuntu; never a downloaded browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core; }

# The whole suite keeps both cores busy from start to end:
#  - the reader's-stack check runs every notebook alone on Colab's stack, on one
#    core from the start, while the project's venv is still being set up (its
#    report is printed at the end);
#  - on the other core the book is built from clean (every notebook executed
#    once, warnings are errors); as soon as it is built, pytest starts on two
#    workers, sharing the cores with the rest of the reader's-stack check:
#    unit tests, the grader, and headless Chromium on the pages of that build
#    (TYING_BUILT_BOOK), the PDF included.  Tests are dealt out a file at a
#    time (--dist loadfile), so a file's expensive fixtures are set up once.
TEST_BOOK := _build/test-book
test:
	rm -rf $(TEST_BOOK) && mkdir -p $(TEST_BOOK)
	@echo "the reader's-stack check starts now (log: $(TEST_BOOK)/reader-check.log); the book builds beside it"
	{ python3 tools/reader_check.py --python $(PYTHON) --torch "$(TORCH)" --jobs 1 \
	    > $(TEST_BOOK)/reader-check.log 2>&1; echo $$? > $(TEST_BOOK)/reader-check.rc; } & \
	$(MAKE) --no-print-directory env chromium || { wait; exit 1; }; \
	$(TEST_ENV) $(BIN)/jupyter-book build . --path-output $(TEST_BOOK) \
	    --warningiserror --nitpick --keep-going > $(TEST_BOOK)/build.log 2>&1; \
	echo $$? > $(TEST_BOOK)/build.rc; \
	echo "book build exit status: $$(cat $(TEST_BOOK)/build.rc) (log: $(TEST_BOOK)/build.log)"; \
	$(TEST_ENV) TYING_BUILT_BOOK=$(CURDIR)/$(TEST_BOOK) $(BIN)/python -m pytest \
	  -n $(PYTEST_WORKERS) --dist loadfile tests; status=$$?; \
	wait; echo "reader's-stack check ($(TEST_BOOK)/reader-check.log):"; \
	cat $(TEST_BOOK)/reader-check.log; reader=$$(cat $(TEST_BOOK)/reader-check.rc); \
	echo "pytest exit status: $$status; reader's-stack check exit status: $$reader"; \
	test $$status -eq 0 && test "$$reader" = 0

# The reader's-stack check: build the wheel, install it into a throw-away venv
# with Colab's packages (ipywidgets 7.7.1, numpy 2.0, ...), check that this
# changed nothing else, then run every notebook alone in an empty folder.
# For the full Colab-like run: make reader-check PYTHON=python3.12 TORCH=torch==2.9.1
# (PYTHON is the reader's interpreter here; the script itself needs only the standard library).
TORCH ?= torch==2.13.0
reader-check:
	python3 tools/reader_check.py --python $(PYTHON) --torch "$(TORCH)" --jobs $(PYTEST_WORKERS)

# Library tests only (seconds): handy while editing lib/.
test-fast: env
	$(TEST_ENV) $(BIN)/python -m pytest tests -m "not slow" -q

lint: env
	$(BIN)/ruff check lib tests tools
	$(BIN)/ruff format --check lib tests tools

# Regenerate the student notebooks in exercises/ from their single source in solutions/.
exercises: env
	$(BIN)/python -m tying.grading.generate

# Grade notebooks from the command line: make grade NB="submissions/*.ipynb", or a folder,
# make grade NB=submissions/ (writes gradebook.csv and feedback/; see book/grading.md).
# Grading runs the submissions' code with your permissions: isolate other people's work.
grade: env
	$(BIN)/python -m tying.grade $(or $(NB),$(error set NB, e.g. make grade NB=submissions/)) $(ARGS)

clean:
	rm -rf _build .pytest_cache
