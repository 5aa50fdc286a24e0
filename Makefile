# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARTIFY := $(VENV)/bin/artify
STAMP := $(VENV)/.installed
DEMO_PRECISION ?= fp32

.PHONY: install demo test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: $(STAMP)
	$(ARTIFY) stylize artify_stream/samples demo-out --side-by-side --overwrite --size 480 --precision $(DEMO_PRECISION)
	@echo "demo-out/ holds photo | cartoon pictures and the cartoonized clip (audio kept)"

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) demo-out .pytest_cache
