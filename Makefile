# Two entry points, each doing all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vaekit-installed
FMNIST := /usr/share/datasets/fashion-mnist
DEMO_DIR := runs/demo

.PHONY: demo test lint data clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# Fashion-MNIST comes from Debian's dataset-fashion-mnist; without apt or root, vaekit
# falls back to scikit-learn's digits for the demo and skips the Fashion-MNIST tests.
# The explorer's browser tests drive Debian's chromium (Playwright's own browser download is
# not used); without it they skip.
data:
	@if [ ! -d $(FMNIST) ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
		|| echo "note: could not install dataset-fashion-mnist; using digits"; \
	fi
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "note: could not install chromium; the explorer's browser tests will skip"; \
	fi

demo: $(STAMP) data
	rm -rf $(DEMO_DIR)
	@if [ -d $(FMNIST) ]; then set -- fashion-mnist 10; else set -- digits 30; fi; \
	echo "demo: canonical MLP VAE on $$1 for $$2 epochs"; \
	$(BIN)/vaekit train --data $$1 --binarize dynamic --arch mlp --hidden-dims 400 \
		--latent-dim 20 --batch-size 128 --lr 1e-3 --epochs $$2 --out $(DEMO_DIR)
	$(BIN)/vaekit eval $(DEMO_DIR) --split test --iw-samples 100 --limit 2000 --save
	$(BIN)/vaekit eval $(DEMO_DIR) --split test
	$(BIN)/vaekit interpolate $(DEMO_DIR) --pair 0 1 --steps 10 --out $(DEMO_DIR)/interpolation.png
	$(BIN)/vaekit report $(DEMO_DIR)
	@echo "demo: pictures, report.md and report.html in $(DEMO_DIR)/"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

test: $(STAMP) data lint
	$(BIN)/python -m pytest --durations=25

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
