# Hazina: two commands. `make run` starts the platform on an embedded SQLite database with a
# seeded demo; `make test` runs the full suite. Both create .venv from requirements.lock if needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck check bench eval lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/hazina serve --database var/hazina.sqlite3

test: $(STAMP)
	$(BIN)/python -m pytest --cov --cov-report=term $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

check: lint typecheck test

bench: $(STAMP)
	$(BIN)/python bench/ledger.py

# Credit scoring on the shared public datasets (docs/credit.md): hold-out + 5-fold CV, both
# model families, calibration PNGs into docs/credit/.
eval: $(STAMP)
	mkdir -p var
	$(BIN)/python bench/credit.py --plots docs/credit --output var/credit-evaluation.json

# pytest-cov asks for coverage[toml]; pip 23 (Python 3.11's bundled pip) in --require-hashes
# mode only accepts that extra when the lock pins it by the same name, so the lock says so.
lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock
	sed -i 's/^coverage==/coverage[toml]==/' requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
