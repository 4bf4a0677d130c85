# Two commands matter: `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UNO_VENV  := .venv-uno
UNO_STAMP := $(UNO_VENV)/.installed

.PHONY: demo test lint system-deps install bench clean

# After the demo run, its agency is served on http://127.0.0.1:8000 (Ctrl+C stops it; SERVE=no
# skips it). Steps run inline there, so an approval converts at once without `vanthu worker`.
SERVE ?= yes
demo: install
	rm -rf demo-agency
	$(BIN)/vanthu demo --dir demo-agency
ifneq ($(SERVE),no)
	VANTHU_HOME=$(CURDIR)/demo-agency VANTHU_STEPS_RUNNER=inline \
		$(BIN)/vanthu serve --insecure-cookies
endif

test: install lint
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: install
	$(BIN)/python -m bench

install: system-deps $(STAMP) $(UNO_STAMP)

system-deps:
	bash scripts/install-system-deps.sh

# Pinned versions come from requirements.lock; the project itself installs without resolving again.
$(STAMP): requirements.lock requirements-nodeps.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# unoserver, the warm LibreOffice (engine/core/office.py), runs under Debian's python3, the one
# that imports python3-uno; its own venv sees the system's packages.
$(UNO_STAMP): requirements-uno.lock
	test -x $(UNO_VENV)/bin/python || /usr/bin/python3 -m venv --system-site-packages $(UNO_VENV)
	$(UNO_VENV)/bin/pip install -q --disable-pip-version-check -r requirements-uno.lock
	touch $(UNO_STAMP)

# Re-pin after changing dependencies in pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q -e '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) $(UNO_VENV) demo-agency bench/out
