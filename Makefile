# peerlog: one command sets everything up from nothing.
#   make test   virtual environment, install, lint, type check, the whole test suite
#   make demo   a virtual environment of its own with what peerlog needs to run (no
#               development tools), a demo placement on SQLite
#   make bench  the benchmark suite (BENCH_ARGS="--size large" for the 10x run)
#   make lrs    ralph's learning record store, for the xAPI tests and benchmark
#   make oidc   the OpenID Connect provider (npm's oidc-provider) the sign-on tests use

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# "strict" editable mode links each file of the package into build/: an edited file is
# seen at once, a new or removed one only after a reinstall. So the install depends on
# pyproject.toml and on the list of files (rewritten only when it changes), not on
# every edit.
FILE_LIST := build/peerlog-files.txt
$(shell mkdir -p build && find src projections cli web -type f -not -name '*.pyc' -not -name '*.mo' 2>/dev/null | sort > $(FILE_LIST).new && (cmp -s $(FILE_LIST).new $(FILE_LIST) || mv $(FILE_LIST).new $(FILE_LIST)); rm -f $(FILE_LIST).new)
SOURCES := $(FILE_LIST) pyproject.toml
PYTEST_ARGS ?=
# The texts people read: gettext catalogs (Babel). `make messages` extracts the messages
# of the code and templates into the template and merges it into each language's .po
# (committed); every install compiles the .po files into the .mo files read at run time.
LOCALES := src/peerlog/locale
CATALOGS := $(wildcard $(LOCALES)/*/LC_MESSAGES/peerlog.po)
COMPILED := $(CATALOGS:.po=.mo)
# ralph (a learning record store) pins older FastAPI, click and uvicorn than peerlog:
# it gets a virtual environment of its own, which the tests start it from.
LRS_VENV ?= .venv-lrs
LRS_STAMP := $(LRS_VENV)/.installed
RALPH := ralph-malph[cli,lrs]==5.1.0
BENCH_ARGS ?=
# The demo's environment: peerlog and what it needs to run, none of the development
# tools; installed as a wheel (no editable links), again whenever a source file changes.
DEMO_VENV ?= .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed
DEMO_SOURCES := $(shell find src projections cli web -type f -not -name '*.pyc' 2>/dev/null) pyproject.toml
# The single sign-on tests sign in through a real OpenID Connect provider: npm's
# oidc-provider, installed from its lockfile into tests/oidc/node_modules.
OIDC_DIR := tests/oidc
OIDC_STAMP := $(OIDC_DIR)/node_modules/.installed

.PHONY: install messages lrs oidc test lint typecheck pytest demo bench clean

$(STAMP): $(SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The catalogs are compiled before the install links the package's files.
	$(BIN)/python -m pip install --quiet "babel>=2.16,<3"
	$(if $(CATALOGS),$(BIN)/pybabel -q compile --domain peerlog --directory $(LOCALES) >/dev/null)
	# "strict" editable mode maps projections/ and cli/ into the peerlog package
	# for every tool, mypy included.
	$(BIN)/python -m pip install --quiet -e ".[dev]" --config-settings editable_mode=strict
	touch $(STAMP)

install: $(STAMP) $(COMPILED)

# A changed catalog is compiled again (the installed package links the .mo file).
%.mo: %.po
	$(BIN)/pybabel -q compile --domain peerlog --input-file $< --output-file $@ >/dev/null

messages: install
	test -n "$(CATALOGS)"
	$(BIN)/pybabel -q extract --mapping-file babel.cfg --keywords N_ --keywords lazy --keywords ngettext_noop:1,2 --keywords lazy_plural:1,2 \
		--no-location --sort-output --project peerlog --copyright-holder "the peerlog authors" \
		--msgid-bugs-address "" --output-file $(LOCALES)/peerlog.pot .
	$(BIN)/pybabel -q update --domain peerlog --input-file $(LOCALES)/peerlog.pot \
		--output-dir $(LOCALES) --no-fuzzy-matching --ignore-obsolete
	# No extraction date in the committed catalogs: they change only when a message does.
	sed -i '/^"POT-Creation-Date: /d' $(CATALOGS)
	$(BIN)/pybabel -q compile --domain peerlog --directory $(LOCALES)

# ralph's lrs extra leaves out requests, which its command line needs.
$(LRS_STAMP):
	test -x $(LRS_VENV)/bin/python || $(PYTHON) -m venv $(LRS_VENV)
	$(LRS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LRS_VENV)/bin/python -m pip install --quiet "$(RALPH)" requests
	touch $(LRS_STAMP)

lrs: $(LRS_STAMP)

$(OIDC_STAMP): $(OIDC_DIR)/package.json $(OIDC_DIR)/package-lock.json
	cd $(OIDC_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(OIDC_STAMP)

oidc: $(OIDC_STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy -p peerlog
	$(BIN)/mypy tests
	$(BIN)/mypy benchmarks

pytest: install lrs oidc
	PEERLOG_TEST_RALPH="$(abspath $(LRS_VENV))/bin/ralph" $(BIN)/pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck pytest

$(DEMO_STAMP): $(DEMO_SOURCES)
	test -x $(DEMO_VENV)/bin/python || $(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet --upgrade pip
	# The wheel carries the compiled catalogs: compile them first (Babel is one of
	# peerlog's own dependencies).
	$(DEMO_VENV)/bin/python -m pip install --quiet "babel>=2.16,<3"
	$(if $(CATALOGS),$(DEMO_VENV)/bin/pybabel -q compile --domain peerlog --directory $(LOCALES) >/dev/null)
	$(DEMO_VENV)/bin/python -m pip install --quiet --no-warn-script-location .
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/peerlog demo

bench: install lrs
	PEERLOG_TEST_RALPH="$(abspath $(LRS_VENV))/bin/ralph" $(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(LRS_VENV) $(DEMO_VENV) $(OIDC_DIR)/node_modules build .pytest_cache .mypy_cache .ruff_cache .hypothesis
