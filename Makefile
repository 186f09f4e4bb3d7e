# Two commands for a fresh clone:  `make run` (the main job) and `make test` (the test suite).
# Both create .venv when missing and install the pinned CPU build of torch before the project,
# because a bare `torch` requirement would pull a multi-GB CUDA build.
# Elsewhere, pass the CPU index:  make run TORCH_INDEX=https://download.pytorch.org/whl/cpu

PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
TORCH_INDEX ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast _browser lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==$(TORCH_VERSION) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -q -e ".[dev,mpnet]"
	touch $(STAMP)

# The main job: check the corpus, train the default model on the shorter schedule of
# configs/quick.yaml (the full quality run, `stance train --config configs/default.yaml`, takes
# longer than the 15 minutes `make run` may use on 2 CPU cores), compare it with the baselines on
# the test split and on whole gold articles, score the sample articles and write the HTML report.
RUN_CONFIG ?= configs/quick.yaml
RUN_NAME ?= quick
run: $(STAMP)
	$(BIN)/stance validate annotations/
	$(BIN)/stance stats annotations/ --brief
	$(BIN)/stance train --config $(RUN_CONFIG)
	$(BIN)/stance evaluate --config $(RUN_CONFIG)
	$(BIN)/stance predict --model models/$(RUN_NAME)/model-best annotations/sources \
		--output outputs/sample/passages.jsonl --overwrite --show 60
	$(BIN)/stance report outputs/sample/passages.jsonl --output outputs/sample/report.html
	@echo "make run trained the short schedule of $(RUN_CONFIG); the full quality run is:"
	@echo "  $(BIN)/stance train --config configs/default.yaml && $(BIN)/stance evaluate --config configs/default.yaml"

# The browser tests drive Debian's chromium; install it when missing (needs root, as in CI).
test: $(STAMP)
	$(MAKE) --no-print-directory _browser
	$(BIN)/python -m pytest

# The quick loop: everything but the slow tests (real-model training, Ray, browser).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

_browser:
	command -v chromium >/dev/null 2>&1 || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "warning: could not install chromium; browser tests will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests
	$(BIN)/ruff format --check pipeline tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
