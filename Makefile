# sotto — build, test and install. `make help` lists the targets.
#
# One static library per layer (base, storage, crypto, net, voice, core, tui, cli), linked into
# build/sotto and the test binary build/sotto-tests. Objects and dependency files live under
# $(BUILD); nothing is written into the source tree.

CXX      ?= g++
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
JOBS     ?= 2
# Extra compiler/linker flags, e.g. the sanitizers for `make asan`.
SANITIZE ?=
OPT      ?= -O2
# Line tables only: backtraces and gdb's `bt` keep file:line, and the build is a third faster.
DEBUG    ?= -g1
# The tests' own code (not the libraries they test) is built for compile speed: about half the
# time of -O2 per file, and most of the build is Catch2 test files.
TEST_OPT ?= -Og
# The compiler goes through ccache when it is installed (`make deps` installs Debian's): a
# rebuild of sources already compiled once, after `make clean`, a branch switch or a touched
# header that changes nothing, comes from its cache. Without ccache, or with CCACHE=, the
# compiler runs directly. A first build on a fresh machine gains nothing from it.
CCACHE   ?= $(shell command -v ccache 2>/dev/null)

# Debian packages the build, the tests and `make run` need. `make deps` installs the missing ones.
DEB_PACKAGES := g++ make pkgconf libsqlcipher-dev libsignal-protocol-c-dev libsodium-dev \
                libssl-dev catch2 libcli11-dev nlohmann-json3-dev libzmq3-dev \
                cppzmq-dev libprotobuf-dev protobuf-compiler libopus-dev libogg-dev \
                portaudio19-dev libncurses-dev libtomlplusplus-dev alsa-utils espeak-ng sox tmux \
                iproute2 procps strace clang-14 libclang-rt-14-dev ccache opus-tools jackd2

# pkg-config module -> Debian package, for the "missing library" message.
PKG_MODULES := sqlcipher:libsqlcipher-dev libsignal-protocol-c:libsignal-protocol-c-dev \
               libsodium:libsodium-dev openssl:libssl-dev catch2:catch2 libzmq:libzmq3-dev \
               protobuf-lite:libprotobuf-dev opus:libopus-dev ogg:libogg-dev \
               portaudio-2.0:portaudio19-dev
# The terminal UI's curses, kept apart: its pkg-config flags (-D_XOPEN_SOURCE=600) are for
# tui/terminal.cpp only, the one file that includes curses.h.
UI_PKG := ncursesw:libncurses-dev
HEADER_DEPS := CLI/CLI.hpp:libcli11-dev nlohmann/json.hpp:nlohmann-json3-dev \
               toml++/toml.h:libtomlplusplus-dev

PKG_NAMES := $(foreach m,$(PKG_MODULES),$(firstword $(subst :, ,$(m))))
PKG_CFLAGS := $(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(PKG_NAMES) 2>/dev/null))
PKG_LIBS := $(shell pkg-config --libs $(PKG_NAMES) 2>/dev/null)

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wpedantic
CXXFLAGS := -std=c++20 $(OPT) $(DEBUG) $(WARNINGS) -MMD -MP -Iinclude -I. -I$(BUILD)/gen $(PKG_CFLAGS) \
            -fstack-protector-strong -D_FORTIFY_SOURCE=2 $(SANITIZE)
LDFLAGS  := $(SANITIZE) -pthread
NCURSES_CFLAGS := $(patsubst -I%,-isystem %,$(shell pkg-config --cflags ncursesw 2>/dev/null))
LDLIBS   := $(PKG_LIBS) $(shell pkg-config --libs ncursesw 2>/dev/null)

PROTO := src/net/proto/sotto.proto
PROTO_CC := $(BUILD)/gen/sotto.pb.cc
PROTO_H := $(BUILD)/gen/sotto.pb.h

LAYERS := base storage crypto net voice core tui cli
src_of = $(shell find $(1) -name '*.cpp' 2>/dev/null | sort)
base_SRC    := $(call src_of,src/base)
storage_SRC := $(call src_of,storage)
crypto_SRC  := $(call src_of,src/crypto)
net_SRC     := $(call src_of,src/net) $(PROTO_CC)
voice_SRC   := $(call src_of,src/voice)
core_SRC    := $(call src_of,src/core)
tui_SRC     := $(call src_of,tui)
cli_SRC     := $(filter-out src/cli/main.cpp,$(call src_of,src/cli))
TEST_SRC    := $(shell find tests -name '*.cpp' -not -path 'tests/bench/*' -not -path 'tests/fuzz/*' \
                 -not -path 'tests/scale/main.cpp' | sort)
BENCH_SRC   := $(call src_of,tests/bench) tests/support/temp_dir.cpp tests/support/profiles.cpp \
               tests/support/test_node.cpp tests/support/process.cpp tests/support/speech.cpp \
               tests/support/channel_lab.cpp tests/support/profile_node.cpp
# The scale harness's phases are in the test binary too (the [scale] test runs a short variant);
# its main() is the program `make scale` runs.
SCALE_SRC   := $(call src_of,tests/scale) tests/support/daemon.cpp tests/support/process.cpp \
               tests/support/temp_dir.cpp tests/support/proc_probe.cpp

obj_of = $(patsubst %.cc,$(BUILD)/obj/%.o,$(patsubst %.cpp,$(BUILD)/obj/%.o,$(1)))
# Link order: a layer before the layers it uses.
LIBS := $(foreach l,cli tui core voice net crypto storage base,$(BUILD)/lib/libsotto_$(l).a)

BIN       := $(BUILD)/sotto
TEST_BIN  := $(BUILD)/sotto-tests
BENCH_BIN := $(BUILD)/sotto-bench
SCALE_BIN := $(BUILD)/sotto-scale
MIGRATIONS := $(sort $(wildcard storage/migrations/*.sql))
MIGRATIONS_INC := $(BUILD)/gen/sotto_migrations.inc

.PHONY: all deps check-libs check-includes run test adversarial asan tsan bench scale fuzz fmt install uninstall man help clean
.DEFAULT_GOAL := all

all: check-libs $(BIN) $(TEST_BIN)

help:
	@echo "sotto make targets:"
	@echo "  make            build build/sotto and the test binary build/sotto-tests"
	@echo "  make deps       install missing Debian packages (apt-get; sudo when not root)"
	@echo "  make run        deps + build + start sotto (ARGS='...' passes arguments)"
	@echo "  make test       deps + check-includes + build + run every test"
	@echo "  make check-includes  fail on an #include that runs up a layer (tools/check_includes.sh)"
	@echo "  make adversarial  the adversarial suite alone (also part of make test; SOTTO_SOAK=1 for long runs)"
	@echo "  make asan       the tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	@echo "  make tsan       the tests under ThreadSanitizer (TESTS='[tag]' narrows them)"
	@echo "  make bench      build with optimisation and print figures as 'name value unit'"
	@echo "                  (BENCH_REPEAT=N: median and range of N runs; BENCH_ARGS=--markdown)"
	@echo "  make scale      N daemons (N=40) in network namespaces with real discovery: figures"
	@echo "                  as 'name value unit', checked against issue 23's limits (root)"
	@echo "  make fuzz       libFuzzer (clang-14) on every parser, FUZZ_SECONDS=60 each"
	@echo "  make fmt        clang-format every source file"
	@echo "  make install    install binary, man pages and shell completion (PREFIX=$(PREFIX), DESTDIR=...)"
	@echo "  make uninstall  remove what install put there"
	@echo "  make clean      remove build/"
	@echo "  make deb        a reproducible sotto_VERSION_amd64.deb (debian/), checked by lintian"
	@echo "  make deb-repro  two clean builds in different places and times: byte-identical .debs"
	@echo "  make bundle     the offline bundle: the .deb, its dependencies, index, SHA256SUMS, install.sh"
	@echo "  make bundle-test  install the bundle in a minimal Debian 12 root with no network (minutes)"
	@echo "  make units      systemd-analyze verify and security on the service units"
	@echo "  make man-lint   mandoc -T lint on every man page"

# jackd2 (the JACK server the real-audio tests start) asks whether to raise realtime limits; the
# answer is preseeded "no", so the install never stops at a prompt and changes no system limits.
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	echo "deps: installing$$missing"; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	echo "jackd2 jackd/tweak_rt_limits boolean false" | $$sudo debconf-set-selections && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing

check-libs:
	@ok=1; \
	for m in $(PKG_MODULES) $(UI_PKG); do \
	  mod=$${m%%:*}; pkg=$${m#*:}; \
	  pkg-config --exists "$$mod" 2>/dev/null || { echo "missing library $$mod: install the Debian package $$pkg (or run 'make deps')" >&2; ok=0; }; \
	done; \
	for h in $(HEADER_DEPS); do \
	  hdr=$${h%%:*}; pkg=$${h#*:}; \
	  [ -f "/usr/include/$$hdr" ] || { echo "missing header $$hdr: install the Debian package $$pkg (or run 'make deps')" >&2; ok=0; }; \
	done; \
	[ $$ok -eq 1 ]

run: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	$(BIN) $(ARGS)

# As root, `make deps` has just installed every package the tests need and the tests can make
# network namespaces: a test that would skip for a missing prerequisite fails instead
# (tests/support/skip.h). Not as root, such tests skip, and tests/run.sh names them.
REQUIRE_PREREQUISITES = SOTTO_REQUIRE_PREREQUISITES=$$([ "$$(id -u)" -eq 0 ] && echo 1 || echo 0)

# The layer graph, written down in tools/check_includes.sh; seconds, so it runs before the build.
check-includes:
	@tools/check_includes.sh

test: deps check-includes
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@$(REQUIRE_PREREQUISITES) tests/run.sh $(TEST_BIN)

adversarial: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@$(REQUIRE_PREREQUISITES) tests/run.sh $(TEST_BIN) '[adversarial]'

TESTS ?=
asan:
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build/asan OPT=-O1 \
	  SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  SOTTO_TEST_TIMEOUT=$${SOTTO_TEST_TIMEOUT:-3600} tests/run.sh build/asan/sotto-tests $(TESTS)

tsan:
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build/tsan OPT=-O1 SANITIZE="-fsanitize=thread" all
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp \
	  SOTTO_TEST_TIMEOUT=$${SOTTO_TEST_TIMEOUT:-3600} tests/run.sh build/tsan/sotto-tests $(TESTS)

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.cpp,%,$(wildcard tests/fuzz/fuzz_*.cpp))
fuzz: check-libs
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build/fuzz CXX=clang++-14 OPT=-O1 \
	  SANITIZE="-fsanitize=fuzzer-no-link,address,undefined" \
	  $(foreach t,$(FUZZ_TARGETS),build/fuzz/fuzz_$(t))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
	    build/fuzz/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# The targets' checks live in tests/support, where the corpus test (make test) runs them too.
# Parsers are below the front ends, so the fuzz build skips the tui and cli libraries.
FUZZ_SUPPORT := tests/support/fuzz_targets.cpp
FUZZ_LIBS := $(filter-out %/libsotto_cli.a %/libsotto_tui.a,$(LIBS))
build/fuzz/fuzz_%: $(call obj_of,tests/fuzz/fuzz_%.cpp $(FUZZ_SUPPORT)) $(FUZZ_LIBS)
	@echo "  LD   $@"
	@$(CXX) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# BENCH_REPEAT=N: N runs, each figure's median and range (tests/bench/report.h); make itself
# takes no --repeat. BENCH_ARGS: more arguments, e.g. figure names or --markdown.
BENCH_REPEAT ?= 1
BENCH_ARGS ?=
bench: check-libs
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build/bench OPT="-O2 -DNDEBUG" build/bench/sotto-bench build/bench/sotto
	@build/bench/sotto-bench --repeat $(BENCH_REPEAT) $(BENCH_ARGS)

# N daemons in network namespaces on one bridge (tests/scale/scale_run.h, doc/performance.md,
# Scale); needs root. Built in $(BUILD), like the daemons it measures. SCALE_ARGS: more
# arguments, e.g. --idle-window-s 30 or --parallel 2.
N ?= 40
SCALE_ARGS ?=
scale: check-libs
	@$(MAKE) --no-print-directory -j$(JOBS) $(BIN) $(SCALE_BIN)
	@$(SCALE_BIN) --nodes $(N) --check $(SCALE_ARGS)

fmt:
	clang-format -i $$(find include src storage tui tests -name '*.h' -o -name '*.cpp')

man: man/sotto.1
	@man -l --warnings -E UTF-8 man/sotto.1 >/dev/null

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/sotto
	install -m 0644 man/sotto.1 $(DESTDIR)$(PREFIX)/share/man/man1/sotto.1
	install -m 0644 man/sotto.toml.5 $(DESTDIR)$(PREFIX)/share/man/man5/sotto.toml.5
	install -m 0644 man/sotto-security.7 $(DESTDIR)$(PREFIX)/share/man/man7/sotto-security.7
	install -m 0644 packaging/completion/bash/sotto $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sotto
	install -m 0644 packaging/completion/zsh/_sotto $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_sotto

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/sotto $(DESTDIR)$(PREFIX)/share/man/man1/sotto.1 \
	  $(DESTDIR)$(PREFIX)/share/man/man5/sotto.toml.5 $(DESTDIR)$(PREFIX)/share/man/man7/sotto-security.7 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sotto \
	  $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_sotto

clean:
	rm -rf build

# --- rules -------------------------------------------------------------------------------------

$(MIGRATIONS_INC): $(MIGRATIONS) tools/embed_migrations.sh
	@mkdir -p $(dir $@)
	@tools/embed_migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(call obj_of,storage/migrations.cpp): $(MIGRATIONS_INC)

$(PROTO_CC) $(PROTO_H) &: $(PROTO)
	@mkdir -p $(BUILD)/gen
	@echo "  PROTOC $<"
	@protoc --proto_path=$(dir $(PROTO)) --cpp_out=$(BUILD)/gen $(PROTO)

# Everything that may include the generated header waits for it.
$(call obj_of,$(net_SRC) $(core_SRC) $(tui_SRC) $(cli_SRC) $(TEST_SRC) $(BENCH_SRC) $(SCALE_SRC) \
  src/cli/main.cpp \
  $(wildcard tests/fuzz/*.cpp)): | $(PROTO_H)

# Keep the fuzz targets' objects between runs.
.SECONDARY: $(call obj_of,$(wildcard tests/fuzz/*.cpp) $(FUZZ_SUPPORT))

# Generated code is not ours: compile it without our warning set.
$(BUILD)/obj/$(BUILD)/gen/sotto.pb.o: $(PROTO_CC)
	@mkdir -p $(dir $@)
	@echo "  CXX  $<"
	@$(CCACHE) $(CXX) -std=c++20 $(OPT) $(DEBUG) -MMD -MP -I$(BUILD)/gen $(PKG_CFLAGS) $(SANITIZE) -c $< -o $@

# GCC 12 reports a false maybe-uninitialized inside libstdc++'s <regex>, which Catch2's runner
# uses, when sanitizers are on; it is not our code.
$(call obj_of,tests/main.cpp): CXXFLAGS += -Wno-maybe-uninitialized

$(call obj_of,tui/terminal.cpp): CXXFLAGS += $(NCURSES_CFLAGS)

# The bench shares some support files with the tests; those keep the bench's optimisation.
$(call obj_of,$(filter-out $(BENCH_SRC),$(TEST_SRC))): CXXFLAGS += $(TEST_OPT)

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	@echo "  CXX  $<"
	@$(CCACHE) $(CXX) $(CXXFLAGS) -c $< -o $@

define layer_rule
$(BUILD)/lib/libsotto_$(1).a: $(call obj_of,$($(1)_SRC))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	@ar rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call layer_rule,$(l))))

$(BIN): $(call obj_of,src/cli/main.cpp) $(LIBS)
	@echo "  LD   $@"
	@$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(TEST_BIN): $(call obj_of,$(TEST_SRC)) $(LIBS)
	@echo "  LD   $@"
	@$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BENCH_BIN): $(call obj_of,$(BENCH_SRC)) $(LIBS)
	@echo "  LD   $@"
	@$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(SCALE_BIN): $(call obj_of,$(SCALE_SRC)) $(LIBS)
	@echo "  LD   $@"
	@$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# --- packaging: the .deb, the offline bundle, their checks (doc/install.md) ---------------------
# debian/rules hands Debian's build flags (hardening, -ffile-prefix-map) to the build through
# these two; a plain `make` leaves them empty.
PACKAGE_CXXFLAGS ?=
PACKAGE_LDFLAGS ?=
CXXFLAGS += $(PACKAGE_CXXFLAGS)
LDFLAGS += $(PACKAGE_LDFLAGS)
# The generated protobuf code has a compile rule of its own, without CXXFLAGS, whose command line
# ends in SANITIZE: Debian's flags reach it that way (without -ffile-prefix-map its line table
# would name the build directory, and two builds in two places would differ).
$(BUILD)/obj/$(BUILD)/gen/sotto.pb.o: SANITIZE += $(PACKAGE_CXXFLAGS)
# The man-page lint in `make test` (tests/unit/packaging_test.cpp).
DEB_PACKAGES += mandoc
# What `make deb`, `make bundle` and `make bundle-test` need beyond `make deps`.
PACKAGING_PACKAGES := debhelper dpkg-dev lintian apt-utils debootstrap mandoc systemd bash-completion
VERSION := $(shell dpkg-parsechangelog -l debian/changelog -SVersion 2>/dev/null)
DEB_DIR := $(BUILD)/deb
DEB := $(DEB_DIR)/sotto_$(VERSION)_amd64.deb
BUNDLE_DIR := $(BUILD)/bundle

.PHONY: packaging-deps deb lintian deb-repro units bundle bundle-test man-lint

packaging-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(DEB_PACKAGES) $(PACKAGING_PACKAGES)"

deb: packaging-deps
	@packaging/build-deb.sh $(DEB_DIR)
	@$(MAKE) --no-print-directory lintian

# No error and no warning; the overrides in debian/ say why each one is there.
lintian:
	lintian --fail-on error,warning --display-info $(DEB)

# Opt-in (two full builds): two clean clones of HEAD in different directories, built one after
# the other under different umasks, time zones and locales, must give byte-identical .debs.
deb-repro: packaging-deps
	@packaging/check-reproducible.sh

# The units as systemd reads them, and their exposure (doc/install.md).
units: $(DEB)
	@packaging/check-units.sh $(DEB)

man-lint:
	@mandoc -T lint -W warning man/*.[1-8] && echo "man-lint: clean"

bundle: deb
	@packaging/make-bundle.sh $(DEB) $(BUNDLE_DIR)

# Opt-in (minutes): a minimal Debian 12 root (debootstrap, cached in build/bundle-test/), entered
# in a network namespace that has only lo; install.sh, then sotto in it.
bundle-test: bundle
	@packaging/bundle-test.sh $(BUNDLE_DIR)/sotto-offline-$(VERSION).tar
