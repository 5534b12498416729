# ICMM Registry: the two commands of the README (make run, make test) and the rest.
# Every target installs what it needs on Debian when run as root, or says exactly what to install.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CONFIG ?= debug
HOST ?= 127.0.0.1
PORT ?= 8080
DB ?= ./var/icmm.sqlite
SWIFT ?= swift
VENV := .build-venv

# System packages: build and run, then what the tests and the benchmarks add.
RUN_PACKAGES := libmicrohttpd-dev libsqlite3-dev libpq-dev pkg-config
TEST_PACKAGES := python3-venv chromium openssl gnutls-bin curl postgresql
BENCH_PACKAGES := wrk hyperfine time gcc valgrind binutils curl openssl python3 r-base-core r-cran-survival r-cran-jsonlite postgresql

define ensure_packages
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    echo "Installing system packages with sudo:$$missing"; \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "Missing system packages:$$missing"; \
	    echo "Install them with:  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
	@command -v $(SWIFT) >/dev/null 2>&1 || { echo "No Swift toolchain on PATH: install Swift 6 (https://www.swift.org/install/linux/)."; exit 1; }
endef

.PHONY: help deps test-deps build run migrate demo demo-load test test-suites openapi-check fhir-check contract bench clean

help:
	@echo "make run     build, migrate and serve on $(HOST):$(PORT) with the SQLite file $(DB)"
	@echo "make test    build and run the whole test suite, validate openapi.yaml and fuzz it (schemathesis)"
	@echo "make bench   benchmarks (HTTP throughput vs bare C, survival engine vs R, ...)"
	@echo "make demo    the dashboard on the synthetic demo cohort (temporary database, analyst key in the printed URL)"
	@echo "make demo-load  load the synthetic demo cohort into $(DB)"
	@echo "Variables: CONFIG=debug|release PORT=8080 HOST=127.0.0.1 DB=./var/icmm.sqlite"

deps:
	$(call ensure_packages,$(RUN_PACKAGES))

test-deps: deps
	$(call ensure_packages,$(TEST_PACKAGES))

build: deps
	$(SWIFT) build -c $(CONFIG) --product icmm

ICMM = "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/icmm"

run: build
	@echo ""
	@echo "ICMM Registry on http://$(HOST):$(PORT)  (database: $(DB); stop with Ctrl-C)"
	@echo "  curl http://$(HOST):$(PORT)/healthz"
	@echo "Demo (synthetic GIMEMA-shaped cohort) and dashboard, from another terminal:"
	@echo "  $$($(SWIFT) build -c $(CONFIG) --show-bin-path)/icmm demo --db $(DB)"
	@echo "  $$($(SWIFT) build -c $(CONFIG) --show-bin-path)/icmm keys create --site DEMO --role analyst --db $(DB)"
	@echo "  then open http://$(HOST):$(PORT)/dashboard and paste the key"
	@echo ""
	$(ICMM) serve --host $(HOST) --port $(PORT) --db $(DB)

migrate: build
	$(ICMM) migrate --db $(DB)

# The dashboard one command away: a temporary database (removed on exit) with the 50 synthetic
# cases and an analyst key; the URL carries the key in its fragment (#key=...), which the browser
# never sends to the server and the page takes out of the address bar at once.
demo: build
	@set -euo pipefail; icmm=$(ICMM); dir=$$(mktemp -d "$${TMPDIR:-/tmp}/icmm-demo.XXXXXX"); \
	trap 'rm -rf "$$dir"' EXIT; db="$$dir/icmm.sqlite"; \
	"$$icmm" demo --db "$$db" >/dev/null; \
	key=$$("$$icmm" keys create --site DEMO --role analyst --db "$$db" | sed -n 's/.*"key" *: *"\([^"]*\)".*/\1/p'); \
	[ -n "$$key" ] || { echo "make demo: could not create an analyst key" >&2; exit 1; }; \
	echo ""; \
	echo "ICMM Registry demo: 50 synthetic cases (not patients) in a temporary database ($$db)."; \
	echo "Open the dashboard (the analyst key is in the fragment, after #):"; \
	echo ""; echo "  http://$(HOST):$(PORT)/dashboard#key=$$key"; echo ""; \
	echo "Stop with Ctrl-C; the temporary database is removed."; echo ""; \
	"$$icmm" serve --host $(HOST) --port $(PORT) --db "$$db"

# The demo cohort into $(DB) (what `make demo` did before it served the dashboard itself).
demo-load: build
	$(ICMM) demo --db $(DB)

# The OpenAPI contract is checked with openapi-spec-validator (PyPI) in a private virtualenv.
$(VENV)/bin/openapi-spec-validator:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check "openapi-spec-validator>=0.7,<1"

openapi-check: test-deps $(VENV)/bin/openapi-spec-validator
	$(VENV)/bin/openapi-spec-validator openapi.yaml

# Contract fuzzing (SECURITY.md, issue #12): schemathesis, pinned, in its own private virtualenv.
SCHEMATHESIS_VENV := .build-schemathesis
$(SCHEMATHESIS_VENV)/bin/schemathesis:
	python3 -m venv $(SCHEMATHESIS_VENV)
	$(SCHEMATHESIS_VENV)/bin/pip install --quiet --disable-pip-version-check "schemathesis==4.32.5"

contract: test-deps $(SCHEMATHESIS_VENV)/bin/schemathesis
	SCHEMATHESIS=$(SCHEMATHESIS_VENV)/bin/schemathesis bash Tests/contract/run.sh

# Every Bundle and OperationOutcome the FHIR route tests kept (ICMM_FHIR_OUTPUT) and the hand-written
# fixture Bundles are validated against FHIR R4 4.0.1 with fhir.resources 6.4.0 (PyPI; the last release
# whose default models are R4, not R4B) in a private virtualenv.
FHIR_VENV := .build-venv-fhir
FHIR_OUTPUT := .build/fhir-outputs

$(FHIR_VENV)/.installed:
	python3 -m venv $(FHIR_VENV)
	$(FHIR_VENV)/bin/pip install --quiet --disable-pip-version-check "fhir.resources==6.4.0" "pydantic==1.10.27"
	touch $@

fhir-check: test-deps $(FHIR_VENV)/.installed
	$(FHIR_VENV)/bin/python Tests/FHIRTests/Fixtures/validate_r4.py $(FHIR_OUTPUT) Tests/FHIRTests/Fixtures/*.json

test: test-deps openapi-check $(FHIR_VENV)/.installed
	$(SWIFT) build --build-tests
	rm -rf $(FHIR_OUTPUT)
	# The suites run against SQLite and PostgreSQL: a throwaway cluster (initdb in a temporary folder,
	# free port, deleted at the end even on failure) unless ICMM_TEST_POSTGRES_URL names one already.
	bash Tests/support/with-postgres.sh $(MAKE) --no-print-directory test-suites
	$(MAKE) fhir-check
	# Contract fuzzing (schemathesis, fixed seed, one worker): a few minutes.
	$(MAKE) contract

# What `make test` runs with ICMM_TEST_POSTGRES_URL set (alone it needs that variable from the caller).
test-suites:
	@[ -n "$$ICMM_TEST_POSTGRES_URL" ] || { echo "test-suites: ICMM_TEST_POSTGRES_URL is not set (run make test)"; exit 1; }
	ICMM_FHIR_OUTPUT="$(CURDIR)/$(FHIR_OUTPUT)" $(SWIFT) test --skip ServerLifecycleTests
	# It counts the whole process's threads and descriptors: alone, so that no other suite's server
	# is counted with it.
	$(SWIFT) test --skip-build --filter ServerLifecycleTests

bench: deps
	$(call ensure_packages,$(BENCH_PACKAGES))
	$(SWIFT) build -c release --product icmm
	@for script in benchmarks/*/run.sh; do echo "== $$script"; bash "$$script" || exit 1; done

clean:
	rm -rf .build $(VENV) $(FHIR_VENV) $(SCHEMATHESIS_VENV) benchmarks/out
