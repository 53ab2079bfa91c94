# posbot: `make run` runs `posbot run` (the web chat at http://127.0.0.1:8080/, every configured
# channel, the background work), `make chat` chats in the terminal, `make test` runs lint, types
# and tests.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# compiled modules are kept (some machines set PYTHONDONTWRITEBYTECODE): every posbot process a
# test starts would otherwise compile the project again
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run serve chat test lint typecheck pytest bench eval install browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/posbot run $(ARGS)

serve: run

chat: $(STAMP)
	$(BIN)/posbot chat $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# the browser tests drive Debian's Chromium (never a browser download); installed when missing
# and run as root, as on a fresh machine — elsewhere those tests say why they are skipped
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	      chromium chromium-driver fonts-wqy-zenhei; \
	  else echo "chromium is missing: the browser tests will be skipped"; fi; }

pytest: $(STAMP) browser
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache

# the understanding of free text measured on tests/understanding/*.tsv (last line JSON)
eval: $(STAMP)
	$(BIN)/python -m bot.understanding.evaluate $(ARGS)
