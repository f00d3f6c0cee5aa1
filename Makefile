# Parley: parleyd (server), parley (client), parley tests.
# `make` builds, `make run` starts the server, `make test` runs every test.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(PREFIX)/etc
DOCDIR ?= $(PREFIX)/share/doc/parley
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
CC ?= cc
PYTHON ?= /usr/bin/python3

# Debian packages the build and the tests need, as pkg-config name=package.
PKGS := libedit=libedit-dev cmocka=libcmocka-dev openssl=libssl-dev sqlite3=libsqlite3-dev \
	libsodium=libsodium-dev hiredis=libhiredis-dev libpq=libpq-dev
DEB_PACKAGES := libedit-dev libcmocka-dev libssl-dev libsqlite3-dev libsodium-dev libhiredis-dev redis-server libpq-dev postgresql uthash-dev pkg-config python3-pytest netcat-openbsd tmux irssi openssl \
	python3-pytest-xdist python3-pytest-timeout python3-ecdsa python3-filelock python3-websockets \
	python3-cryptography faketime prometheus mandoc systemd

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Isrc $(WARN) -MMD -MP
LDLIBS_SERVER = -lm -pthread $$(pkg-config --libs openssl sqlite3 libsodium hiredis libpq)

ifdef SANITIZE
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
BUILD := build/sanitize
# The sanitized binaries live apart, so `make sanitize` leaves the release
# ones in place; the tests are told where (PARLEY_BIN).
BIN := build/sanitize/bin
else
BUILD := build/release
BIN := .
endif

# A folder per layer (README, "Layout"), main.c at the top.
SERVER_SRC := $(sort $(shell find src -name '*.c'))
SERVER_LIB_SRC := $(filter-out src/main.c,$(SERVER_SRC))
CLIENT_SRC := $(wildcard client/*.c)
BENCH_SRC := $(wildcard bench/parley-bench/*.c)
STORE_BENCH_SRC := $(wildcard bench/store-bench/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)

# The web client (web/) is built into parleyd: tools/embed turns its files
# into one C file.
WEB_FILES := $(sort $(wildcard web/*))
WEB_GEN := build/gen/web_assets.c

SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/web_assets.o
SERVER_LIB_OBJ := $(SERVER_LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/web_assets.o
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(BUILD)/%.o)
BENCH_OBJ := $(BENCH_SRC:%.c=$(BUILD)/%.o)
# The store's benchmark links the store and what it stands on, no more
# (not history.c nor rooms.c, the hub's observers: the glue above the store).
STORE_BENCH_OBJ := $(STORE_BENCH_SRC:%.c=$(BUILD)/%.o) \
	$(filter-out $(BUILD)/src/store/history.o $(BUILD)/src/store/rooms.o,$(filter $(BUILD)/src/store/%,$(SERVER_LIB_OBJ))) \
	$(BUILD)/src/base/buf.o $(BUILD)/src/base/clock.o $(BUILD)/src/base/histogram.o $(BUILD)/src/base/log.o $(BUILD)/src/base/text.o $(BUILD)/src/base/worker.o $(BUILD)/src/chat/msgid.o
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all run test unit integration sanitize install uninstall docs clean deps browser-deps \
	tool-deps

all: deps $(BIN)/parleyd $(BIN)/parley $(BIN)/parley-bench $(BIN)/parley-ceiling $(BIN)/naive-w4 $(BIN)/store-bench

# Checks each library with pkg-config; names the missing Debian package and,
# when run as root, installs it.
deps:
	@missing=""; \
	for p in $(PKGS); do \
		pkg-config --exists $${p%%=*} 2>/dev/null || missing="$$missing $${p#*=}"; \
	done; \
	[ -f /usr/include/uthash.h ] || missing="$$missing uthash-dev"; \
	command -v pkg-config >/dev/null || missing="$$missing pkg-config"; \
	if [ -n "$$missing" ]; then \
		echo "make: missing Debian packages:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then \
			echo "make: installing them (apt-get install$$missing)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
		else \
			echo "make: run as root, or: sudo apt-get install$$missing"; exit 1; \
		fi; \
	fi

$(BIN)/parleyd: $(SERVER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SERVER)

$(BIN)/parley: $(CLIENT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $$(pkg-config --libs libedit openssl)

# The load generator (bench/parley-bench): no libraries but libm.
$(BIN)/parley-bench: $(BENCH_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lm

# This machine's ceiling for the bench workloads (bench/ceiling.c): a
# minimal IRC broadcaster, one file, no libraries. bench/compare runs it first.
$(BIN)/parley-ceiling: $(BUILD)/bench/ceiling.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

# W4 as a simple independent load generator does it (bench/naive-w4.c):
# one source address, a pool of threads with blocking sockets.
$(BIN)/naive-w4: $(BUILD)/bench/naive-w4.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -pthread

# The store alone (bench/store-bench): `./store-bench --help`.
$(BIN)/store-bench: $(STORE_BENCH_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lm -pthread $$(pkg-config --libs sqlite3 libpq)

$(BUILD)/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/client/%.o: client/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $$(pkg-config --cflags libedit openssl) -c -o $@ $<

$(BUILD)/src/%.o: src/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $$(pkg-config --cflags sqlite3 libpq) -c -o $@ $<

build/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -o $@ $<

$(WEB_GEN): build/tools/embed $(WEB_FILES)
	@mkdir -p $(dir $@)
	build/tools/embed $@ $(WEB_FILES)

$(BUILD)/gen/web_assets.o: $(WEB_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(SERVER_LIB_OBJ) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $$(pkg-config --cflags cmocka libpq) $(LDFLAGS) -o $@ $< $(SERVER_LIB_OBJ) $$(pkg-config --libs cmocka) $(LDLIBS_SERVER)

# A self-signed certificate for `make run`'s TLS listeners, made once.
TLS_DIR := build/tls
$(TLS_DIR)/parley.crt:
	@mkdir -p $(TLS_DIR)
	@command -v openssl >/dev/null || { echo "make: installing openssl"; apt-get install -y -qq openssl >/dev/null; }
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
		-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
		-keyout $(TLS_DIR)/parley.key -out $@ 2>/dev/null
	@echo "make: made a self-signed certificate, $@"

run: all $(TLS_DIR)/parley.crt
	./parleyd --listen 127.0.0.1:7000 --listen 127.0.0.1:7443 tls \
		--irc-listen 127.0.0.1:6667 --irc-listen 127.0.0.1:6697 tls \
		--web-listen 127.0.0.1:8080 --web-listen 127.0.0.1:8443 tls \
		--tls-cert $(TLS_DIR)/parley.crt --tls-key $(TLS_DIR)/parley.key \
		--data-dir ./parley-data

# A redis-server and three nodes of a cluster on loopback ports (printed),
# until Ctrl-C: tools/run-cluster.
.PHONY: run-cluster
run-cluster: all
	tools/run-cluster $(ARGS)

# Each unit binary is a target of its own, so `make -j2 test` runs two at
# once; what one printed comes out whole when it ends. The store's tests
# (test_store*) run against both backends: SQLite, and a throwaway
# PostgreSQL that tests/integration/pgtmp.py starts around them (and
# which they need: PARLEY_TOOLS=required).
UNIT_RUN := $(UNIT_BIN:%=%.run)
.PHONY: $(UNIT_RUN)
unit: $(UNIT_RUN)
$(UNIT_RUN): %.run: % tool-deps
	@$(if $(findstring /test_store,$*),PARLEY_TOOLS=required $(PYTHON) tests/integration/pgtmp.py --) $* >$*.log 2>&1; \
		rc=$$?; echo "== $*"; cat $*.log; exit $$rc

# `make test` runs every test, the browser's and irssi's too, so none may
# skip for want of its tools: they are installed first (as root), and
# PARLEY_TOOLS=required turns such a skip into a failure.
# TEST_JOBS pytest workers (pytest-xdist) share the suite; TEST_JOBS=0 runs
# it in one process. Four on two cores: most tests wait on sockets, not on
# a CPU. Tests marked xdist_group("name") run on one worker, one after
# the other (the browser's: two Chromiums at once miss their page loads),
# and start first (conftest.py).
TEST_JOBS ?= 4
integration: all browser-deps tool-deps
	@$(PYTHON) -c 'import pytest, xdist' 2>/dev/null || $(MAKE) --no-print-directory deps-test
	PARLEY_BIN=$(BIN) PARLEY_TOOLS=required $(PYTHON) -m pytest -q -n $(TEST_JOBS) --dist loadgroup tests/integration

# The tests' commands, as command=Debian package: irssi, and tmux that
# drives it and parley (the terminal tests); promtool, the metrics test's
# checker; mandoc, which lints the manuals, and systemd-analyze, which
# verifies the unit (test_service.py); redis-server, the cluster tests' Redis;
# pg_ctlcluster, which stands for PostgreSQL's server (its initdb and
# postgres are not on PATH), for the throwaway database of the store's
# tests (tests/integration/pgtmp.py).
TEST_TOOLS := irssi=irssi tmux=tmux promtool=prometheus mandoc=mandoc systemd-analyze=systemd \
	redis-server=redis-server pg_ctlcluster=postgresql
tool-deps:
	@missing=""; for t in $(TEST_TOOLS); do command -v $${t%%=*} >/dev/null || missing="$$missing $${t#*=}"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "make: the tests need: sudo apt-get install$$missing"; exit 1; fi; \
		echo "make: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

# The browser test's tools: Debian's Chromium, Node.js (the machine's, or
# Debian's) and playwright-core from npm, pinned by package-lock.json.
browser-deps:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null || [ ! -x /usr/bin/chromium ]; then \
		want="chromium"; command -v node >/dev/null && command -v npm >/dev/null || want="$$want nodejs npm"; \
		if [ "$$(id -u)" != 0 ]; then echo "make: the browser test needs: sudo apt-get install $$want"; exit 1; fi; \
		echo "make: installing $$want"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$want >/dev/null || exit 1; \
	fi
	@[ -d tests/browser/node_modules/playwright-core ] && [ -d tests/browser/node_modules/axe-core ] || \
		npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

deps-test:
	@echo "make: installing the test tools (apt-get install $(DEB_PACKAGES))"
	@apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_PACKAGES) >/dev/null

# The unit tests, then the integration tests: one after the other even
# under -j, which each of them uses inside.
test:
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration

# Builds everything with ASan and UBSan (into build/sanitize; the release
# binaries are left alone) and runs every test: `make sanitize`.
sanitize:
	$(MAKE) SANITIZE=1 test

# The binaries, the manuals, the systemd unit and the example config
# (docs/ and README, "Running as a service"). The unit and the manuals
# name the installed paths: /usr/local in them becomes PREFIX's. The
# example config goes to DOCDIR, and to SYSCONFDIR/parley/parleyd.conf
# (which the unit reads) only when there is none: an edited one stays.
INSTALL_PATHS := sed -e 's|/usr/local/bin|$(BINDIR)|g' -e 's|/usr/local/etc|$(SYSCONFDIR)|g' \
	-e 's|/usr/local/lib/systemd/system|$(SYSTEMDDIR)|g'
MANUALS := man/parley.1 man/parleyd.conf.5 man/parleyd.8
install: $(BIN)/parleyd $(BIN)/parley
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(SYSCONFDIR)/parley $(foreach s,1 5 8,$(DESTDIR)$(MANDIR)/man$(s))
	install -m 755 $(BIN)/parleyd $(BIN)/parley $(DESTDIR)$(BINDIR)/
	for m in $(MANUALS); do \
		$(INSTALL_PATHS) $$m > $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m#man/} || exit 1; done
	$(INSTALL_PATHS) contrib/parleyd.service > $(DESTDIR)$(SYSTEMDDIR)/parleyd.service
	install -m 644 contrib/parleyd.conf $(DESTDIR)$(DOCDIR)/parleyd.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/parley/parleyd.conf ] || \
		install -m 644 contrib/parleyd.conf $(DESTDIR)$(SYSCONFDIR)/parley/parleyd.conf

# What install put there; the config file too, unless it was edited.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/parleyd $(DESTDIR)$(BINDIR)/parley \
		$(DESTDIR)$(MANDIR)/man1/parley.1 $(DESTDIR)$(MANDIR)/man5/parleyd.conf.5 \
		$(DESTDIR)$(MANDIR)/man8/parleyd.8 $(DESTDIR)$(SYSTEMDDIR)/parleyd.service \
		$(DESTDIR)$(DOCDIR)/parleyd.conf
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null
	! cmp -s contrib/parleyd.conf $(DESTDIR)$(SYSCONFDIR)/parley/parleyd.conf || \
		rm -f $(DESTDIR)$(SYSCONFDIR)/parley/parleyd.conf
	-rmdir $(DESTDIR)$(SYSCONFDIR)/parley 2>/dev/null

# contrib/parleyd.conf and the options of man/parleyd.conf.5 are made from
# the option table (tools/options-doc); test_docs.py fails when they drift.
docs: $(BIN)/parleyd
	$(PYTHON) tools/options-doc --parleyd $(BIN)/parleyd write

clean:
	rm -rf build parleyd parley parley-bench parley-ceiling naive-w4 store-bench

-include $(shell find build -name '*.d' 2>/dev/null)

# libFuzzer targets, one per parser and one for the whole server
# (fuzz_server), each run for FUZZ_SECONDS (clang). The server's files are
# compiled once for all of them.
FUZZ_SECONDS ?= 30
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_LIB := $(SERVER_LIB_SRC)
FUZZ_OBJ := $(FUZZ_LIB:%.c=build/fuzz/obj/%.o) build/fuzz/obj/gen/web_assets.o
# Named only in a pattern rule, they would count as intermediate and be
# deleted after each run, so every `make fuzz` rebuilt them all.
.SECONDARY: $(FUZZ_OBJ)
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Isrc -fsanitize=fuzzer-no-link,address,undefined

build/fuzz/obj/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $$(pkg-config --cflags sqlite3 libpq) -MMD -MP -c -o $@ $<

build/fuzz/obj/gen/web_assets.o: $(WEB_GEN)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c -o $@ $<

build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< $(FUZZ_OBJ) -lm -pthread -lssl -lcrypto $$(pkg-config --libs sqlite3 libsodium hiredis libpq)

# irctest, the IRC conformance suite (MIT; github.com/progval/irctest), run
# against parleyd through tests/irctest/parley_controller.py on the
# selection the big servers are compared on. It is not vendored: CI finds
# it in ../shared/irctest beside the clone; a git worktree looks beside
# the main checkout; IRCTEST_DIR=... names another copy. Its folder may be
# read-only: nothing is written there.
IRCTEST_DIR ?= $(firstword $(wildcard $(abspath ../shared/irctest) \
	$(abspath $(shell git rev-parse --git-common-dir 2>/dev/null)/../../shared/irctest)))
IRCTEST_MARKERS ?= not implementation-specific and not deprecated and not strict
# Tests left out, each for a reason docs/irc-conformance.md gives.
IRCTEST_DESELECT ?= $(foreach t,PersistsAcrossReconnect PropagatedToOtherSessions,irctest/server_tests/read_marker.py::ReadMarkerServiceTestCase::testReadMarker$(t))
# Four workers on two cores: irctest waits on sockets far more than it computes.
IRCTEST_JOBS ?= 4
IRCTEST_ARGS ?=
IRCTEST_PACKAGES := python3-pytest python3-pytest-xdist python3-pytest-timeout python3-ecdsa \
	python3-filelock python3-websockets python3-cryptography faketime openssl

.PHONY: irctest
irctest: all
	@if [ -z "$(IRCTEST_DIR)" ] || [ ! -f "$(IRCTEST_DIR)/conftest.py" ]; then \
		echo "make: irctest not found (looked in ../shared/irctest); set IRCTEST_DIR=/path/to/irctest"; exit 1; fi
	@$(PYTHON) -c 'import xdist, pytest_timeout, ecdsa, filelock' 2>/dev/null || { \
		if [ "$$(id -u)" != 0 ]; then echo "make: irctest needs: sudo apt-get install $(IRCTEST_PACKAGES)"; exit 1; fi; \
		echo "make: installing $(IRCTEST_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(IRCTEST_PACKAGES) >/dev/null || exit 1; }
	cd $(IRCTEST_DIR) && PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$(CURDIR)/tests/irctest:$(IRCTEST_DIR) \
		PARLEYD=$(abspath $(BIN))/parleyd $(PYTHON) -m pytest -p no:cacheprovider -q \
		-n $(IRCTEST_JOBS) --timeout 120 --controller parley_controller \
		-m '$(IRCTEST_MARKERS)' $(IRCTEST_DESELECT:%=--deselect '%') $(IRCTEST_ARGS)

# The same against a parleyd built with ASan and UBSan (CI runs this one:
# it checks all the plain run does, and memory errors besides).
.PHONY: irctest-sanitize
irctest-sanitize:
	$(MAKE) SANITIZE=1 irctest

# Side-by-side comparison with ngIRCd and InspIRCd (installed from Debian if
# missing): writes bench/results/<date>.md, .json and .png. Not a test.
# `make bench BENCH_ARGS=--quick` for a short smoke run.
.PHONY: bench
bench: all
	$(PYTHON) bench/compare $(BENCH_ARGS)

# Same-run A/B of two parleyd builds or configurations (bench/README.md):
# `make bench-ab A=/tmp/old/parleyd AB_ARGS='--pairs 3 --b-args "--sendq 65536"'`.
# A and B default to ./parleyd. Writes bench/results/<date>-ab.md and .json.
.PHONY: bench-ab
bench-ab: all
	$(PYTHON) bench/ab $(if $(A),--a $(A)) $(if $(B),--b $(B)) $(AB_ARGS)

# Each target runs FUZZ_SECONDS as a make target of its own: `make -j2
# fuzz` runs two at once, each on a core, for the same time each. A
# target with seeds in tests/fuzz/seeds/<target>/ starts from them (read
# only; what it finds goes to build/fuzz/corpus).
FUZZ_RUN := $(FUZZ_BIN:%=%.run)
.PHONY: fuzz $(FUZZ_RUN)
fuzz: $(FUZZ_RUN)
$(FUZZ_RUN): %.run: %
	@mkdir -p build/fuzz/corpus/$(notdir $*)
	@if ! $* -max_total_time=$(FUZZ_SECONDS) -max_len=9000 \
		build/fuzz/corpus/$(notdir $*) $(wildcard tests/fuzz/seeds/$(notdir $*)) >$*.log 2>&1; then \
		echo "== $* ($(FUZZ_SECONDS)s) failed:"; tail -40 $*.log; exit 1; fi; \
	echo "== $* ($(FUZZ_SECONDS)s): $$(tail -1 $*.log)"
