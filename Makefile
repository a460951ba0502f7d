# Two commands do all set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test test-fast test-sqlite test-postgres test-e2e chromium nginx screenshots lint format lock clean audit

$(STAMP): requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $(STAMP)

run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo
	@echo "  Create an administrator, in a second terminal while this one serves:"
	@echo "      $(FLASK) create-admin you@example.org"
	@echo "  Emails (confirmation links) are saved under instance/outbox/ and printed below."
	@echo "  Serving on http://$(HOST):$(PORT) (with the job worker beside it; Ctrl-C stops both)"
	@echo
	RUN_HOST=$(HOST) RUN_PORT=$(PORT) $(BIN)/honcho -f Procfile.dev start

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) audit
	$(MAKE) test-sqlite
	$(MAKE) test-postgres
	$(MAKE) test-e2e

# The quick loop while working: lint, then the unit suites on SQLite (no PostgreSQL, no browser).
test-fast: lint test-sqlite

test-sqlite: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -n 2 -m "not e2e"

test-postgres: $(STAMP) nginx
	HYPOTHESIS_PROFILE=ci TEST_DATABASE=postgresql TEST_POSTGRES_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest -n 2 -m "not e2e"

# The browser suite (tests/e2e): gunicorn, loopback SMTP, the stand-in Stripe, Chromium.
test-e2e: $(STAMP) chromium
	$(BIN)/pytest -m e2e tests/e2e

# Debian's Chromium drives the browser suite (Playwright cannot download browsers here).
chromium:
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium; \
	}

# Debian's nginx fronts `make cluster` and the cross-instance tests (tests/test_cluster.py).
nginx:
	@command -v /usr/sbin/nginx >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y nginx; \
	}

# docs/screenshots/*.png from the demo content, for the README.
screenshots: $(STAMP) chromium
	$(BIN)/python -m tests.e2e.screenshots docs/screenshots

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Known vulnerabilities in the locked dependencies (pip-audit; policy in scripts/audit.py and
# SECURITY.md): one with a fixed release fails. AUDIT_STRICT=1 also fails on unaudited packages.
audit: $(STAMP)
	$(BIN)/python scripts/audit.py requirements.lock requirements-dev.lock

# Regenerate the lock files after changing pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -o requirements.lock
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

# Benchmarks (issues 8 and 11, scripts in bench/): PostgreSQL on 127.0.0.1:5432 (user postgres);
# a throwaway database `membership_bench` is created and dropped at the end. Prints a table and
# writes bench/results.json; about 12 minutes. wrk comes from Debian's package.
BENCH_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
.PHONY: bench wrk
bench: $(STAMP) wrk
	BENCH_POSTGRES_URL=$(BENCH_POSTGRES_URL) $(BIN)/python bench/run.py

wrk:
	@command -v wrk >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y wrk; \
	}

# Mutation testing (issue 15): mutmut on the money and access rules ([tool.mutmut] in
# pyproject.toml), niced, two workers; then the score per module. Not part of `make test`.
# Each mutant runs the tests that reached its function, narrowed to its module's own suites,
# rule tests first (MUTATION_TESTS in tests/conftest.py), up to the first failure.
# Results stay in mutants/ (ignored): a second run only tests mutants not judged yet.
.PHONY: mutation coverage
mutation: $(STAMP)
	nice -n 10 $(BIN)/mutmut run --max-children 2
	$(BIN)/python tools/mutation_report.py --save-kills

# Branch coverage of the unit suites (not e2e) on SQLite, per package.
coverage: $(STAMP)
	$(BIN)/coverage erase
	HYPOTHESIS_PROFILE=dev $(BIN)/coverage run -m pytest -q -p no:xdist -p no:cacheprovider -m "not e2e"
	$(BIN)/coverage json -q -o coverage.json
	$(BIN)/python tools/coverage_report.py coverage.json

# Flame graphs (py-spy) of the signed-in article page, an anonymous cache miss and a comment POST,
# on a small copy of the bench dataset: bench/profiles/$(PROFILE_LABEL)-*.svg and *.txt.
PROFILE_LABEL ?= after
.PHONY: profile
profile: $(STAMP)
	PROFILE_LABEL=$(PROFILE_LABEL) BENCH_POSTGRES_URL=$(BENCH_POSTGRES_URL) $(BIN)/python bench/flames.py
# Several instances behind a real load balancer (deploy/): 3 gunicorn instances on :8101-8103,
# nginx on :8100, one job worker, on the local PostgreSQL (database membership_cluster, created
# and migrated) and Redis (keys and queue prefixed membership-cluster). Foreground; Ctrl-C stops
# everything, as does `make cluster-stop` from another terminal.
.PHONY: cluster cluster-stop
cluster: $(STAMP) nginx
	deploy/cluster.sh

cluster-stop:
	@if [ -f run/cluster/honcho.pid ] && kill -0 $$(cat run/cluster/honcho.pid) 2>/dev/null; then \
		kill -TERM $$(cat run/cluster/honcho.pid) && echo "Cluster stopping."; \
	else echo "No cluster running."; fi

# Steady mixed load through nginx against `make cluster` (tests/drills/soak.py): RSS growth of
# the gunicorn workers, database connections, error rate and p99 per minute. Not in `make test`.
MINUTES ?= 30
.PHONY: soak
soak: $(STAMP)
	$(BIN)/python -m tests.drills.soak --minutes $(MINUTES)

# Fault drills (tests/drills/drills.py, README "make drills"): the cluster of `make cluster` with
# fault proxies in front of PostgreSQL, Redis, a loopback SMTP server and the stand-in Stripe,
# under steady load; cuts each in turn, SIGKILLs an instance, checks the data and prints a table.
# About 9 minutes; not part of `make test`. Exit status 1 if a drill found a problem.
.PHONY: drills
drills: $(STAMP) nginx
	$(BIN)/python -m tests.drills.drills
