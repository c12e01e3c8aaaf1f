# The two commands of the README: `make run` (set up and start the bot) and `make test` (set up and test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
KNOWLEDGE ?= knowledge

.PHONY: run test install install-dev lint bench bench-peers eval clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Installs are stamped with pyproject.toml so a second run does not reinstall.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev,scale]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Build (or bring up to date) the knowledge index, then start the Discord bot with DISCORD_TOKEN, else the console.
run: install
	$(BIN)/mlbot ingest $(KNOWLEDGE) --prune
	@if [ -n "$$DISCORD_TOKEN" ]; then $(BIN)/mlbot run; else $(BIN)/mlbot console; fi

lint: install-dev
	$(BIN)/ruff check bot tests evals

test: install-dev
	$(BIN)/ruff check bot tests evals
	$(BIN)/python -m pytest -q

# Speed, memory and quality goals live here, never in `make test`.
bench: install-dev
	$(PY) evals/run_benchmarks.py ask scope discord

# mlbot scope against dabl, lazypredict and FLAML (each in its own venv under evals/.peers/): 1-2 hours.
bench-peers: install-dev
	$(PY) evals/run_benchmarks.py peers

eval: install
	$(BIN)/mlbot ingest $(KNOWLEDGE) --prune
	$(BIN)/mlbot eval retrieval
	$(BIN)/mlbot eval answers

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
