# `make demo` runs the main example, `make test` the whole test suite; both set up what is missing:
# a virtual environment in .venv with tinygraph and its extras (the compile backends jax, numba and
# onnxruntime, and the benchmark's peers), and Graphviz's `dot` program.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch; a bare `torch` requirement would pull gigabytes of CUDA packages.
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: demo test pytest lint diagrams bench dot setup clean

demo: setup
	$(BIN)/python examples/forward_pass.py

test: setup lint pytest

pytest: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/python -m ruff check tinygraph tests examples benchmarks
	$(BIN)/python -m mypy --strict tinygraph
	cd $(CURDIR) && $(BIN)/lint-imports

diagrams: setup
	$(BIN)/python examples/draw_network.py --out docs/images

bench: setup
	$(BIN)/python benchmarks/run.py

setup: $(STAMP) dot

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev,torch,onnx,jax,numba,bench]"
	touch $(STAMP)

dot:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz; \
	  else \
	    echo "Graphviz's 'dot' program is missing: install it (apt-get install graphviz," \
	         "brew install graphviz, conda install graphviz, or https://graphviz.org/download/)"; \
	    exit 1; \
	  fi; }

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
