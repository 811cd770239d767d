# pnyx developer entry points. `make test` is what CI runs (through .ci/run).
PYTHON ?= python3
VENV   ?= .venv
DATA   ?= .pnyx-demo
STAMP  := $(VENV)/.pnyx-installed
BIN    := $(VENV)/bin
PG     := deploy/postgres-test.sh
SLURM  := deploy/slurm/dev-cluster.sh
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv demo lint fmt test system-deps pg-start pg-stop slurm-start slurm-stop clean \
	native native-clean

help:
	@echo "make venv      create $(VENV) and install pnyx with dev extras"
	@echo "make demo      fill $(DATA) with a demo facility (then: $(BIN)/pnyx up --data $(DATA))"
	@echo "make lint      ruff check + ruff format --check + mypy + lint-imports"
	@echo "make fmt       ruff format + ruff check --fix"
	@echo "make test      install missing Debian packages, lint, start PostgreSQL, run pytest"
	@echo "make native    compile the scheduling core and simulator engine with mypyc (faster)"
	@echo "make native-clean  remove the compiled modules (run the sources again)"
	@echo "make pg-stop   stop the throwaway PostgreSQL"
	@echo "make slurm-stop  stop the Slurm test clusters (deploy/slurm/dev-cluster.sh)"
	@echo "make clean     remove $(VENV), caches and $(DATA)"

venv: $(STAMP)

# Re-install only when pyproject.toml changes (or the venv is new).
$(STAMP): pyproject.toml
	@test -x $(BIN)/pip || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "could not create $(VENV): on Debian, apt-get install python3-venv" >&2; exit 1; }
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $@

demo: venv
	$(BIN)/pnyx demo --data $(DATA)
	@echo
	@echo "Demo data is in $(DATA). Serve it with:"
	@echo "    $(BIN)/pnyx up --data $(DATA)"
	@echo "then open http://127.0.0.1:8000/"

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: venv
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# PostgreSQL stays up after the run (throwaway cluster); `make pg-stop` stops it.
# A PNYX_TEST_PG_URL already in the environment is used as is (no server started).
system-deps:
	@bash deploy/system-deps.sh

# The Slurm test clusters stay up too (`make slurm-stop`); a PNYX_SLURM_CONF already in the
# environment names another cluster and none is started.
test: system-deps venv lint
	@url="$${PNYX_TEST_PG_URL:-$$($(PG) start)}" && \
	  echo "PNYX_TEST_PG_URL=$$url" && \
	  if [ -z "$${PNYX_SLURM_CONF:-}" ]; then $(SLURM) start && eval "$$($(SLURM) env)"; fi && \
	  PNYX_TEST_PG_URL="$$url" $(BIN)/python -m pytest -q $(PYTEST_ARGS)

pg-start:
	@$(PG) start

pg-stop:
	@$(PG) stop

slurm-start:
	@$(SLURM) start

slurm-stop:
	@$(SLURM) stop

# The native build: the same sources compiled by mypyc into extension modules next to them
# (setup.py lists them); importing pnyx refuses them once a source is newer.
native: venv
	PNYX_NATIVE=1 $(BIN)/python setup.py -q build_ext --inplace --force
	@$(BIN)/python -c "import pnyx.native as n; b = n.build_name(); print('pnyx build:', b); \
	  raise SystemExit(b != 'native')"

native-clean:
	rm -f src/pnyx/sched/*.so src/pnyx/sim/*.so src/pnyx_native__mypyc*.so

clean: native-clean
	rm -rf $(VENV) $(DATA) build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache \
	  .hypothesis .import_linter_cache
	find src tests bench -name __pycache__ -type d -prune -exec rm -rf {} +
