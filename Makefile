# Two commands on a fresh machine: `make run` and `make test`.
VENV   ?= .venv
BIN    := $(VENV)/bin
PY_VERSION_OF = $(shell $(1) -c 'import platform; print(platform.python_version())' 2>/dev/null)

# PYTHON= chooses the interpreter; without it an existing environment keeps its own.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(if $(wildcard $(BIN)/python),$(BIN)/python,python3)
endif
PY_VERSION := $(call PY_VERSION_OF,$(PYTHON))
ifeq ($(PY_VERSION),)
$(error PYTHON=$(PYTHON): no such Python interpreter (try `make run PYTHON=python3`))
endif
# The stamp names the interpreter's version, so another PYTHON= rebuilds the environment.
STAMP  := $(VENV)/.installed-$(PY_VERSION)

.PHONY: run test bench fatigue clean

# Reinstall only when the project's metadata or the interpreter changes (editable install).
$(STAMP): pyproject.toml tests/plc/peers/package-lock.json
	@if [ "$(call PY_VERSION_OF,$(BIN)/python)" != "$(PY_VERSION)" ]; then \
		echo "making $(VENV) with $(PYTHON) (Python $(PY_VERSION))"; \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet --upgrade pip; \
	fi
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	@# node-opcua and Microsoft's DTDL parser: independent peers for the tests (they skip without npm)
	if command -v npm >/dev/null; then npm ci --prefix tests/plc/peers --silent --no-audit --no-fund; \
	else echo "npm not found: the node-opcua peer tests will be skipped"; fi
	rm -f $(VENV)/.installed*
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/simengine run

# One test process per core (2 to 4): most tests wait on servers, subprocesses and pools. Each file's tests
# stay in one process (--dist loadfile), so module fixtures (a served PLC, a recorded trace) are built once.
test: $(STAMP)
	$(BIN)/python -m pytest -q --numprocesses=auto --maxprocesses=4 --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench,wombat]"
	$(BIN)/simengine bench

fatigue: $(STAMP)
	$(BIN)/simengine fatigue

clean:
	rm -rf $(VENV) results/run results/bench .pytest_cache
