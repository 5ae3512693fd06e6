# speech2video: `make demo` and `make test` set up everything they need on a fresh machine.
PYTHON     ?= python3
VENV       ?= .venv
# The CPU wheel of torch; GPU users override, e.g. TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
TORCH_SPEC ?= torch==2.13.0
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := espeak-ng libespeak-ng1
BROWSER_PACKAGES := chromium chromium-driver
# speech2video.data.synthtalk.festival.SYSTEM_PACKAGES: Festival and its voices of recorded people
FESTIVAL_PACKAGES := festival festvox-czech-dita festvox-czech-machac festvox-czech-krb festvox-czech-ph \
	festvox-suopuhe-lj festvox-suopuhe-mv festvox-ca-ona-hts festvox-ru festvox-kallpc16k festvox-kdlpc16k \
	festvox-us-slt-hts

.PHONY: install system-deps test demo clean

install: $(STAMP)

# Re-runs only when the package metadata changes: a second `make install` installs nothing.
$(STAMP): setup.cfg pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install $(TORCH_SPEC)
	$(BIN)/pip install -e ".[dev]"
	touch $(STAMP)

# Debian packages: espeak-ng (the SynthTalk voices, required); optional, where they cannot be installed the
# tests that need them are skipped and say why: headless Chromium and its driver (the Space's browser test),
# Festival and its voices (SynthTalk's lips corpus of recorded voices, benchmarks/unseen_voices.py).
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $$missing \
	  || { echo "error: could not install$$missing (apt-get install$$missing)"; exit 1; }; \
	fi
	@missing=""; for p in $(BROWSER_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $$missing; } \
	  || echo "warning: could not install$$missing: the Space's browser test will be skipped"; \
	fi
	@missing=""; for p in $(FESTIVAL_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends $$missing; } \
	  || echo "warning: could not install$$missing: the Festival tests will be skipped"; \
	fi

test: install system-deps
	$(BIN)/python -m pytest

# A talking face from the bundled example voice (SynthTalk, unseen speaker) with the embedded default model.
demo: install
	mkdir -p outputs
	$(BIN)/speech2video generate examples/audio/synthtalk_happy.wav -o outputs/demo.mp4 --overwrite

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
