# The two commands a newcomer needs. Each does its own set-up on a fresh
# Debian machine: installs missing packages, configures, builds.
#   make run   - build, create a demo salon database if none exists, serve it
#   make test  - build and run every test (plain build, then ASan+UBSan build),
#                then the threaded tests in a ThreadSanitizer build
#   make fuzz  - run each libFuzzer target for FUZZ_SECONDS (tests/fuzz/README.md)

BUILD      ?= build
BUILD_SAN  ?= build-san
BUILD_TSAN ?= build-tsan
DB         ?= demo/kartoteka.db
LISTEN     ?= 127.0.0.1:8080
JOBS       ?= $(shell nproc)
# warnings are errors in `make test` (so in CI), not in a user's `make build`
WERROR     ?= OFF
test test-plain test-san test-tsan: WERROR = ON
DEB_PKGS   := build-essential cmake pkg-config libwebsockets-dev libsqlite3-dev \
              libmsgpack-dev libsodium-dev libcmocka-dev libjansson-dev sqlite3 \
              python3 python3-websockets python3-msgpack python3-nacl
# portal accounts and mail: SMTP through libcurl; a real SMTP server in tests
DEB_PKGS   += libcurl4-openssl-dev python3-aiosmtpd
# the event loop: libuv's epoll loop under libwebsockets, through its uv plugin
DEB_PKGS   += libuv1-dev libwebsockets-evlib-uv
# local times and dates (ICU); client lists from other salon software (libcsv;
# phone numbers to E.164 with libphonenumber)
DEB_PKGS   += libicu-dev libcsv-dev libphonenumber-dev
# only for the web portal's tests (make test-plain, deps-test): Debian's chromium
# driven by playwright-core from npm (tests/browser/package-lock.json); node and
# npm from Debian unless some node is there. make run does not need them.
TEST_PKGS  := chromium systemd man-db $(if $(shell command -v node),,nodejs)$(if $(shell command -v npm),, npm)
BROWSER_JS := tests/browser
# TLS: OpenSSL (the one libwebsockets uses) for certificates; the openssl
# command makes the tests' throw-away CA
DEB_PKGS   += libssl-dev openssl
# systemd: readiness and reload notices (sd_notify), the journal; Prometheus'
# own text parser checks /metrics in the tests
DEB_PKGS   += libsystemd-dev python3-prometheus-client

.PHONY: run test deps deps-test build build-san test-plain test-san bench clean fuzz build-tsan test-tsan install deb

# apt-get install the Debian packages of $(1) that are not installed yet
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(DEB_PKGS))

deps-test: deps
	$(call install_missing,$(TEST_PKGS))
	@# playwright-core at the locked version: again when the lock file is newer than the install
	@if [ ! -f $(BROWSER_JS)/node_modules/.package-lock.json ] || \
	    [ $(BROWSER_JS)/package-lock.json -nt $(BROWSER_JS)/node_modules/.package-lock.json ]; then \
	  echo "installing the browser tests' npm packages (npm ci in $(BROWSER_JS))"; \
	  cd $(BROWSER_JS) && npm ci --no-audit --no-fund --loglevel=error; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKT_EGRESS_CHECK=OFF -DKT_WERROR=$(WERROR) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-san: deps
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DKT_SANITIZE=ON -DKT_EGRESS_CHECK=ON -DKT_WERROR=$(WERROR) >/dev/null
	cmake --build $(BUILD_SAN) -j $(JOBS)

# only what TSAN_TESTS run (the servers, the reference client, five unit tests)
TSAN_TARGETS := kartoteka-server kartoteka-server-faults kartoteka-client test_threads test_walbuf test_keyring test_workq test_sendpool
build-tsan: deps
	cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=Debug -DKT_TSAN=ON -DKT_EGRESS_CHECK=OFF -DKT_WERROR=$(WERROR) >/dev/null
	cmake --build $(BUILD_TSAN) -j $(JOBS) --target $(TSAN_TARGETS)

run: build
	@mkdir -p $(dir $(DB))
	@if [ ! -f $(DB) ]; then \
	  ./$(BUILD)/server/kartoteka-server init --db $(DB) --demo --seed 1 | tee $(dir $(DB))/demo-accounts.txt; \
	  chmod 600 $(dir $(DB))/demo-accounts.txt; \
	  echo "demo sign-ins saved in $(dir $(DB))demo-accounts.txt"; \
	fi
	@echo "open http://$(LISTEN)/ for the clients' portal, http://$(LISTEN)/desk for the salon's tablets"
	./$(BUILD)/server/kartoteka-server serve --db $(DB) --listen $(LISTEN)

# Install (PREFIX, default /usr/local; DESTDIR for a staging root):
#   make install PREFIX=/usr DESTDIR=/tmp/root
# see packaging/CMakeLists.txt for what goes where.
PREFIX     ?= /usr/local
install: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD) -j $(JOBS) --target kartoteka-server kartoteka-client kartoteka-client-shared
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

# The Debian package, $(BUILD)/kartoteka_VERSION_ARCH.deb (CPack; Depends
# from dpkg-shlibdeps, needs dpkg-dev): installs into /usr, /etc/kartoteka
# and systemd's directories. Install with: sudo apt install ./$(BUILD)/kartoteka_*.deb
deb: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
	cmake --build $(BUILD) -j $(JOBS) --target kartoteka-server kartoteka-client kartoteka-client-shared
	cd $(BUILD) && cpack -G DEB --config CPackConfig.cmake
	@ls -1 $(BUILD)/kartoteka_*.deb

# deps-test first: the browser tests are registered when cmake finds node.
# Every server the tests start also writes its stderr to $(TEST_LOGS) (the
# harnesses, when KT_TEST_LOG_DIR is set); tests/check_logs.py then looks for
# the demo data's names, e-mail addresses, phones and passwords in them.
TEST_LOGS := $(abspath $(BUILD))/test-logs
test-plain: deps-test build
	@rm -rf $(TEST_LOGS) && mkdir -p $(TEST_LOGS)
	cd $(BUILD) && KT_TEST_LOG_DIR=$(TEST_LOGS) ctest --output-on-failure -j 2; rc=$$?; \
	cd $(CURDIR) && /usr/bin/python3 tests/check_logs.py $(BUILD)/server/kartoteka-server $(TEST_LOGS) || rc=1; \
	exit $$rc

# three at a time: most of a test's time is a server and its clients waiting on
# each other (sockets, fsync, Argon2id in the sign-in worker), so two at a time
# leave a core idle for much of this stage
test-san: build-san
	cd $(BUILD_SAN) && ctest --output-on-failure -j 3

# ThreadSanitizer over the tests where the server's threads meet: the writer,
# WAL sync and checkpointer (push, crash, storage), the sign-in workers (auth),
# the export and portal/mail workers (erasure, portal), the outbox worker for mail
# and SMS with its journal (delivery), fan-out from the writer
# to the loop (live, revoke), the fan-out's sender threads (fanout_threads,
# unit_test_sendpool), the reference client's page applier thread
# (client_protocol). A report from any process (server, admin, unit
# test) is written to $(BUILD_TSAN)/tsan/ and fails the stage; tests/tsan.supp
# holds only races inside libraries that are not instrumented. setarch -R:
# gcc 12's TSan cannot map its shadow under a kernel with 32 random mmap bits.
TSAN_TESTS ?= ^(unit_test_(threads|walbuf|keyring|workq|sendpool)|client_protocol|integration_(push|auth|crash|storage|portal|erasure|live|revoke|delivery|lifecycle|fanout_threads))$$
TSAN_LOGS  := $(abspath $(BUILD_TSAN))/tsan
TSAN_OPTS  := halt_on_error=1 exitcode=66 second_deadlock_stack=1 \
              suppressions=$(CURDIR)/tests/tsan.supp log_path=$(TSAN_LOGS)/report
test-tsan: build-tsan
	@rm -rf $(TSAN_LOGS) && mkdir -p $(TSAN_LOGS)
	@norand=$$(setarch $$(uname -m) -R true 2>/dev/null && echo "setarch $$(uname -m) -R"); \
	cd $(BUILD_TSAN) && TSAN_OPTIONS="$(TSAN_OPTS)" $$norand ctest --output-on-failure -j 2 -R '$(TSAN_TESTS)'; \
	rc=$$?; \
	if [ -n "$$(ls $(TSAN_LOGS))" ]; then cat $(TSAN_LOGS)/*; echo "test-tsan: ThreadSanitizer reports above"; exit 1; fi; \
	exit $$rc

# the whole suite in a normal build, again under ASan+UBSan (LeakSanitizer on),
# then the threaded tests under ThreadSanitizer
test: test-plain test-san test-tsan

bench: build
	./$(BUILD)/tests/bench/kt-bench-snapshot ./$(BUILD)/server/kartoteka-server 5
	./$(BUILD)/tests/bench/kt-bench-propagation ./$(BUILD)/server/kartoteka-server 100 200
	./$(BUILD)/tests/bench/kt-bench-import ./$(BUILD)/server/kartoteka-server 50000

# Pushed mutations (about 10 s): 20 devices x 30 batches x 100 edits,
# durable, with a 21st device timing single mutations meanwhile.
.PHONY: bench-push
bench-push: build
	./$(BUILD)/tests/bench/kt-bench-push ./$(BUILD)/server/kartoteka-server 20 30 100

# The outbox (about 6 minutes, not part of `make bench`): mails/s to a local
# SMTP sink and server CPU per mail, then push and propagation p99 without
# and with an outbox draining OUTBOX_RATE (600) mails/s (docs/benchmarks.md, "Messages").
.PHONY: bench-outbox
bench-outbox: build
	tests/bench/bench_outbox.sh $(BUILD)

# Retention (about 2 minutes, not part of `make bench`): a simulated year of a
# busy two-branch salon, 1,000 edits a day, with the 90-day window and then
# without retention (RETENTION_BASE_DAYS, 365); docs/benchmarks.md "Retention".
RETENTION_BASE_DAYS ?= 365
.PHONY: bench-retention
bench-retention: build
	./$(BUILD)/tests/bench/kt-bench-retention ./$(BUILD)/server/kartoteka-server $(BUILD)/bench-retention 365 1000 90
	./$(BUILD)/tests/bench/kt-bench-retention ./$(BUILD)/server/kartoteka-server $(BUILD)/bench-retention $(RETENTION_BASE_DAYS) 1000 0

# The message planner (about a minute): 20 branches with 200,000 appointments,
# then 10,000 new bookings and 10,000 moves, with and without planning.
.PHONY: bench-planner
bench-planner: build
	./$(BUILD)/tests/bench/kt-bench-planner ./$(BUILD)/server/kartoteka-server

# The client portal in Chromium (about 30 s, not part of `make bench`): a
# client with 200 appointments, the list shown online and offline, the first
# load's bytes; PORTAL_RUNS runs (median, min-max).
PORTAL_RUNS ?= 5
.PHONY: bench-portal
bench-portal: build
	node tests/bench/bench_portal.mjs ./$(BUILD)/server/kartoteka-server $(PORTAL_RUNS)

# The salon's tablet app (/desk) in Chromium with 5,000 clients and 10,000
# appointments (about a minute, not part of `make bench`): the first snapshot
# into IndexedDB, a cold open to today's calendar, client search per keystroke;
# DESK_RUNS runs (median, min-max). The data is made by kt-bench-desk-data and
# cached in $(BUILD)/bench-desk/ for the day.
DESK_RUNS ?= 5
.PHONY: bench-desk
bench-desk: build
	node tests/bench/bench_desk.mjs ./$(BUILD)/server/kartoteka-server $(DESK_RUNS)

# Side by side with PouchDB (about a minute, not part of `make bench`): the
# owner's first sync (kt-bench-snapshot) and PouchDB's replication from an
# in-memory express-pouchdb server into an in-memory PouchDB, same records,
# COMPARE_ROUNDS alternated rounds; rates, CPU per row, the ratio. npm ci of
# tests/bench/pouchdb (its package-lock.json) here only.
COMPARE_ROUNDS ?= 3
.PHONY: bench-compare
bench-compare: build
	tests/bench/bench_compare.sh $(BUILD) $(COMPARE_ROUNDS)

# Load and soak (several minutes, not part of `make bench`):
# 10,000 devices, latency over 20 locations, reconnect storm, 100 first
# snapshots. LOAD_ARGS="--soak 3600" for the hour-long soak.
.PHONY: bench-load
bench-load: build
	./$(BUILD)/tests/bench/kt-bench-load ./$(BUILD)/server/kartoteka-server $(LOAD_ARGS)

# Rights changes (about 2 minutes, not part of `make bench`): a
# stylist's move between branches at 2,000 devices, and server CPU per
# one-location change from 100 to 2,000 devices. RIGHTS_ARGS="--only moves".
.PHONY: bench-rights
bench-rights: build
	./$(BUILD)/tests/bench/kt-bench-rights ./$(BUILD)/server/kartoteka-server $(RIGHTS_ARGS)

# libFuzzer needs clang; Debian ships libFuzzer in libclang-rt-14-dev. Each
# target runs on a copy of its corpus (new finds stay in corpus-work/, never
# in the committed tests/fuzz/corpus/); crashes go to artifacts/.
BUILD_FUZZ   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= proto client session import
FUZZ_FLAGS   ?= -max_len=8192 -rss_limit_mb=2048 -dict=tests/fuzz/kartoteka.dict
FUZZ_PKGS    := clang libclang-rt-14-dev

fuzz: deps
	@missing=""; for p in $(FUZZ_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	CC=clang CXX=clang++ cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKT_FUZZ=ON >/dev/null
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target kartoteka-server $(addprefix fuzz_,$(FUZZ_TARGETS))
	@failed=""; for t in $(FUZZ_TARGETS); do \
	  work=$(BUILD_FUZZ)/corpus-work/$$t; log=$(BUILD_FUZZ)/fuzz_$$t.log; \
	  mkdir -p $$work $(BUILD_FUZZ)/artifacts; \
	  cp -n tests/fuzz/corpus/$$t/* $$work/; \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s on $$work (log: $$log)"; \
	  ./$(BUILD_FUZZ)/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(FUZZ_FLAGS) \
	    -artifact_prefix=$(BUILD_FUZZ)/artifacts/$$t- $$work >$$log 2>&1 || failed="$$failed $$t"; \
	  awk -v t=$$t '/number_of_executed_units/ {n = $$2} /average_exec_per_sec/ {r = $$2} \
	    END {printf "fuzz_%s: %s executions, %s per second\n", t, n, r}' $$log; \
	done; \
	if [ -n "$$failed" ]; then \
	  echo "fuzz: FAILED:$$failed (inputs in $(BUILD_FUZZ)/artifacts/, traces in the logs)"; exit 1; \
	fi

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_TSAN)
