# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench fatigue clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's metadata changes (editable install).
$(STAMP): pyproject.toml tests/plc/peers/package-lock.json | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	@# node-opcua: an independent OPC UA peer for the interoperability tests (they skip without npm)
	if command -v npm >/dev/null; then npm ci --prefix tests/plc/peers --silent --no-audit --no-fund; \
	else echo "npm not found: the node-opcua peer tests will be skipped"; fi
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/simengine run

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/simengine bench

fatigue: $(STAMP)
	$(BIN)/simengine fatigue

clean:
	rm -rf $(VENV) results/run results/bench .pytest_cache
