# `make demo` runs the main example, `make test` the whole test suite; both set up what is missing:
# a virtual environment in .venv with tinygraph and its extras (the compile backends jax, numba and
# onnxruntime, and the benchmark's peers), and Graphviz's `dot` program.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch. PyPI's torch is the CUDA build, which pulls gigabytes of nvidia-* packages;
# PyTorch's CPU index has 2.13.0+cpu, which pip prefers (a higher version than PyPI's 2.13.0). Where
# that index can't be reached (CI, offline mirrors), pip goes on with its configured sources; the short
# timeout keeps an unreachable index from stalling the set-up.
TORCH       ?= torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
STAMP  := $(VENV)/.installed

.PHONY: demo test pytest lint diagrams bench bench-models dot setup clean

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
	$(BIN)/python examples/draw_resnet.py --out docs/images

bench: setup
	$(BIN)/python benchmarks/run.py

bench-models: setup
	$(BIN)/python benchmarks/models.py

setup: $(STAMP) dot

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --extra-index-url $(TORCH_INDEX) --timeout 10 --retries 1 "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev,torch,onnx,jax,numba,bench,arrays,dask]"
	@$(BIN)/python -c "import torch; torch.version.cuda and print('note: this is the CUDA build of torch: $(TORCH_INDEX) was unreachable')"
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
