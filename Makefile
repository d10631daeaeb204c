# pg_vigil: `make demo` runs the main job, `make test` runs every test tier.
# Both install what they need (apt packages, cargo-pgrx) and are safe to run again.

SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c
PG_CONFIG   ?= /usr/lib/postgresql/15/bin/pg_config
PGRX_VER    := 0.18.1
# Clusters live outside the work tree: the postgres user must be able to reach them.
TMP         ?= /tmp/pg_vigil
CLUSTER     := pg_test_config/cluster.sh
REGRESS_PORT ?= 55401
DEMO_PORT   ?= 55402
BENCH_PORT  ?= 55403
# A coordinator and three data nodes (tests/nodes): this port and the next three.
NODES_PORT  ?= 55431
# Great Expectations' own cases (tests/ge) that must agree: all applicable ones but those the
# README lists as deliberate differences.
GE_MIN_AGREE := 384
PG_REGRESS  := $(shell $(PG_CONFIG) --pkglibdir 2>/dev/null)/pgxs/src/test/regress/pg_regress
REGRESS_TESTS := $(sort $(basename $(notdir $(wildcard tests/sql/*.sql))))
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: bench-alerts setup build install test test-core test-pg test-regress demo bench clean

setup:
	@bash pg_test_config/setup.sh

build: setup
	cargo build --release

# Also the install scripts of earlier releases (sql/releases), so that a database can be
# created at one and updated (and the upgrade test can).
install: setup
	cargo pgrx install --release --pg-config $(PG_CONFIG)
	install -m 644 sql/releases/pg_vigil--*.sql "$$($(PG_CONFIG) --sharedir)/extension/"

## Tier 1: the pure-Rust core (rules, profiles, drift math), plain cargo test.
test-core: setup
	mkdir -p $(TMP)/logs
	cargo test --lib -- rules:: profile:: drift:: report:: remote:: 2>&1 | tee $(TMP)/logs/1-core.log

## Tier 2: #[pg_test] trigger and SPI tests in a pgrx-managed cluster run as postgres.
test-pg: setup
	rm -rf $(TMP)/pgrx && mkdir -p $(TMP)/pgrx && chmod 755 $(TMP) && chown postgres:postgres $(TMP)/pgrx
	mkdir -p $(TMP)/logs
	cargo pgrx test pg15 --runas postgres --pgdata $(TMP)/pgrx/data 2>&1 | tee $(TMP)/logs/2-pg.log

## Tier 3: SQL regression suites (tests/sql, tests/expected) against a throwaway cluster.
test-regress: install
	mkdir -p $(TMP)/logs
	$(CLUSTER) start $(TMP)/regress $(REGRESS_PORT)
	psql -h $(TMP)/regress -p $(REGRESS_PORT) -U postgres -qc "CREATE DATABASE vigil_regress" postgres
	rm -rf tests/results; \
	$(PG_REGRESS) --use-existing --host=$(TMP)/regress --port=$(REGRESS_PORT) --user=postgres \
	  --inputdir=tests --outputdir=tests --dbname=vigil_regress $(REGRESS_TESTS) 2>&1 | tee $(TMP)/logs/3-regress.log; \
	status=$$?; \
	if [ $$status -eq 0 ]; then \
	  bash tests/concurrency/run.sh $(TMP)/regress $(REGRESS_PORT) vigil_regress 2>&1 | tee $(TMP)/logs/4-concurrency.log; \
	  status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
	  bash tests/live/run.sh $(TMP)/regress $(REGRESS_PORT) vigil_regress 2>&1 | tee $(TMP)/logs/5-live.log; \
	  status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
	  bash tests/standby/run.sh $(TMP)/regress $(REGRESS_PORT) vigil_regress 2>&1 | tee $(TMP)/logs/6-standby.log; \
	  status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
	  bash tests/upgrade/run.sh $(TMP)/regress $(REGRESS_PORT) 2>&1 | tee $(TMP)/logs/7-upgrade.log; \
	  status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
	  TMP=$(TMP) bash tests/dump/run.sh $(REGRESS_PORT) 2>&1 | grep -v '^NOTICE:' | tee $(TMP)/logs/8-dump.log; \
	  status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
	  psql -h $(TMP)/regress -p $(REGRESS_PORT) -U postgres -qc "CREATE DATABASE vigil_ge" postgres && \
	  python3 tests/ge/run.py $(TMP)/regress $(REGRESS_PORT) vigil_ge --min-agree $(GE_MIN_AGREE) 2>&1 | tee $(TMP)/logs/10-ge.log; \
	  status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
	  psql -h $(TMP)/regress -p $(REGRESS_PORT) -U postgres -qc "CREATE DATABASE vigil_suggest" postgres && \
	  psql -X -q -v ON_ERROR_STOP=1 -h $(TMP)/regress -p $(REGRESS_PORT) -U postgres -d vigil_suggest \
	    -c "CREATE EXTENSION pg_vigil" -f tests/suggest/run.sql 2>&1 | tee $(TMP)/logs/11-suggest.log; \
	  status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
	  psql -h $(TMP)/regress -p $(REGRESS_PORT) -U postgres -qc "CREATE DATABASE vigil_interop" postgres && \
	  python3 tests/interop/run.py $(TMP)/regress $(REGRESS_PORT) vigil_interop 2>&1 | tee $(TMP)/logs/12-interop.log; \
	  status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
	  TMP=$(TMP) bash tests/report/run.sh $(TMP)/regress $(REGRESS_PORT) 2>&1 | tee $(TMP)/logs/13-report.log; \
	  status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
	  TMP=$(TMP) bash tests/worker/run.sh $(REGRESS_PORT) 2>&1 | tee $(TMP)/logs/9-worker.log; \
	  status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
	  bash tests/nodes/run.sh $(TMP)/nodes $(NODES_PORT) 2>&1 | tee $(TMP)/logs/14-nodes.log; \
	  status=$$?; \
	fi; \
	$(CLUSTER) stop $(TMP)/regress; \
	if [ $$status -ne 0 ]; then cat tests/regression.diffs 2>/dev/null | head -200; fi; exit $$status

test: test-core test-pg test-regress
	@bash pg_test_config/summary.sh $(TMP)/logs

demo: install
	@bash demo/run.sh $(TMP)/demo $(DEMO_PORT)

bench: install
	@bash bench/run.sh $(TMP)/bench $(BENCH_PORT)

# Alert quality alone (a throwaway cluster; SEEDS="1 2 3" by default).
bench-alerts: install
	$(CLUSTER) start $(TMP)/alerts $(BENCH_PORT)
	bash bench/alerts.sh $(TMP)/alerts $(BENCH_PORT) "$(or $(SEEDS),1 2 3 4 5)" "$(or $(FEEDS),weather pizza births)"; status=$$?; $(CLUSTER) stop $(TMP)/alerts; exit $$status

clean:
	-$(CLUSTER) stop $(TMP)/regress
	-$(CLUSTER) stop $(TMP)/demo
	-$(CLUSTER) stop $(TMP)/bench
	-$(CLUSTER) stop $(TMP)/alerts
	rm -rf $(TMP) tests/results tests/regression.*
	cargo clean
