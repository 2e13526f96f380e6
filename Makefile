# SPDX-License-Identifier: Apache-2.0
# Top-level entry points; CMake does the building. See README.md.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
VALGRIND_BUILD ?= build-valgrind
TSAN_BUILD ?= build-tsan
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local

.PHONY: all deps browser-deps build run check test asan valgrind tsan format-check cppcheck layers \
	layers-calls docs-check bench fuzz fuzz-smoke soak install uninstall deb clean

all: build

deps:
	@./scripts/deps.sh

# What the dashboard's tests need (tests/browser): Chromium, node, npm and the pinned
# npm packages. Only the test targets ask for them, so `make run` installs no browser.
browser-deps:
	@TT_DEPS_BROWSER=1 ./scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@./scripts/run.sh $(BUILD)/tradetrail

test: build browser-deps
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTT_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@# The load suites (crash loop, hostile clients, disk full, the bench's smoke runs)
	@# measure the server under load and run once, in the normal build, as do the package
	@# tests (test_deb packages the build it is given: a package of a sanitized build tests
	@# nothing more; test_deb_fresh is about 2 minutes of debootstrap); everything else
	@# runs under ASan+UBSan too.
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) \
	  -E '^(e2e/test_(crashloop|hostile|diskfull|deb|deb_fresh)|bench/.*)$$'

# valgrind memcheck over every unit program and the e2e suites (the load suites excepted), in a
# Debug build of its own; VG_JOBS=2 runs two programs at a time. Long: see docs/TESTING.md.
valgrind:
	@./scripts/deps.sh valgrind
	@VG_BUILD_DIR=$(VALGRIND_BUILD) ./scripts/valgrind.sh

# ThreadSanitizer over the server's threads: the e2e scripts that start `tradetrail serve`.
tsan: deps
	@TSAN_BUILD_DIR=$(TSAN_BUILD) ./scripts/tsan.sh

format-check: deps
	@./scripts/format-check.sh

# Static analysis (cppcheck) of src/, cli/, server/; false positives in
# scripts/cppcheck-suppressions.txt, each with its reason.
cppcheck: deps
	@./scripts/cppcheck.sh

# The layering check (docs/ARCHITECTURE.md): lower layers never include higher ones, the
# front ends include only tradetrail.h, src/util and front/, each library behind one file.
# layers-calls checks the calls between the library's object files the same way.
layers:
	@./scripts/check-layers.sh

layers-calls: build
	@./scripts/check-layers.sh --objects $(BUILD)

# docs/ARCHITECTURE.md's "SPEC rule -> file:function" table cites functions that exist.
docs-check:
	@./scripts/check-arch-table.py

# A bounded fuzz run of every target (15 s each, two at a time) is part of the check;
# `make fuzz` is the long run.
fuzz-smoke: deps
	@TT_FUZZ_BUILD_DIR=$(FUZZ_BUILD) ./fuzz/run.sh -j 2 15

check: format-check cppcheck layers docs-check build browser-deps layers-calls asan fuzz-smoke
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: deps browser-deps
	@cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DTT_TESTS=OFF >/dev/null
	@cmake --build build-release -j $(JOBS)
	@./bench/run.sh build-release

fuzz: deps
	@TT_FUZZ_BUILD_DIR=$(FUZZ_BUILD) ./fuzz/run.sh -j $(JOBS) 300

# The long crash loop (hundreds of SIGKILLs under load); SOAK_KILLS, SOAK_SEED to vary it.
soak: build
	@TT_BIN=$(BUILD)/tradetrail TT_BUILD_DIR=$(BUILD) TT_SOURCE_DIR=$(CURDIR) \
	  python3 tests/soak/crashloop.py --kills $${SOAK_KILLS:-300} --seed $${SOAK_SEED:-$$(date +%s)}

# PREFIX is set at configure time, not only at install time: the pkg-config file, the
# systemd units and the server's dashboard path name the installed locations. DESTDIR
# stages the tree elsewhere (packages). uninstall removes what install_manifest.txt lists.
install: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD)

uninstall:
	@DESTDIR=$(DESTDIR) ./scripts/uninstall.sh $(BUILD)

# A Debian package of this build (installed under /usr), written into $(BUILD).
deb: build
	@./scripts/package-deb.sh $(BUILD) $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-release $(FUZZ_BUILD) $(VALGRIND_BUILD) $(TSAN_BUILD)
