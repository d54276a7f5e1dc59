# docpipe build.  `make` builds release binaries into bin/; `make check` also
# builds an ASan+UBSan variant and runs every test against both.
#
# Sources are discovered, not listed: src/lib/*.c is the internal library,
# src/<stage>/main.c is a stage's entry point and every other src/<stage>/*.c
# is that stage's testable logic (linked into unit tests too).

STAGES    := $(patsubst src/%/main.c,%,$(wildcard src/*/main.c))
V         ?= release
B         := build/$(V)

CC        ?= cc
WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-missing-field-initializers
CFLAGS_release := -O2 -g -D_FORTIFY_SOURCE=2
CFLAGS_asan    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                  -fno-sanitize-recover=all
LDFLAGS_asan   := -fsanitize=address,undefined
# ThreadSanitizer (`make V=tsan all`, not part of `make check`): data races
# between a stage's threads; `tests/run tsan -- NAME...` runs tests on it.
CFLAGS_tsan    := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
LDFLAGS_tsan   := -fsanitize=thread
PKGS      := libzmq libcurl libpq md4c libxxhash libcrypto libxml-2.0 libzip libmagic \
             libmicrohttpd
# Compiled against, never linked: docpipe-chunk opens poppler-glib on its
# first PDF (src/chunk/poppler_dl.h: the library and its ~40 dependencies
# were more than half of every chunk process's start-up).
DLOPEN_PKGS := poppler-glib
CPPFLAGS  := -D_GNU_SOURCE -Isrc/lib $(shell pkg-config --cflags $(PKGS) $(DLOPEN_PKGS) 2>/dev/null)
CFLAGS    := -std=c11 -pthread $(WARN) $(CFLAGS_$(V))
# -ldl: dlopen is in libdl before glibc 2.34 (--as-needed drops it after).
LDLIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ljq -lstemmer -lpthread -lm -ldl
# --as-needed: every binary links every PKGS library it uses, no more (the
# document format libraries end up in docpipe-chunk, libmicrohttpd in
# docpipe-hub).
LDFLAGS   := -pthread -Wl,--as-needed $(LDFLAGS_$(V))

# A newcomer's plain `make` on a machine without the dev packages should say
# what is missing and how to get it, not fail deep inside a compile.  Goals
# that install or only clean skip the check (check/demo/bench run deps first,
# then build in a sub-make, which checks).
NO_BUILD_GOALS := deps check tsan-check demo demo-stop bench clean faults eval
ifneq ($(filter-out $(NO_BUILD_GOALS),$(or $(MAKECMDGOALS),all)),)
MISSING_DEPS := $(shell for p in $(PKGS) $(DLOPEN_PKGS); do pkg-config --exists $$p 2>/dev/null || echo $$p; done; \
	echo '\#include <jv.h>' | $(CC) -E -x c - >/dev/null 2>&1 || echo jq; \
	echo '\#include <libstemmer.h>' | $(CC) -E -x c - >/dev/null 2>&1 || echo libstemmer)
ifneq ($(strip $(MISSING_DEPS)),)
$(error missing build dependencies ($(strip $(MISSING_DEPS))): run 'make deps' as root, which installs the Debian packages (scripts/install-deps), or the README's first commands)
endif
# The name docpipe-chunk dlopens: the SONAME of the libpoppler-glib.so the
# linker would take (pkg-config's libdir), the library these headers belong
# to.  Read at build time, not written in the source: a Debian upgrade to a
# new SONAME (.so.8 to .so.9) changes the file, which rebuilds poppler_dl.o
# with the new name; a name in the source would go on asking for the old
# one, and every PDF would fail.  A binary built for a library that is
# gone fails each PDF naming it.
POPPLER_SO := $(shell pkg-config --variable=libdir poppler-glib 2>/dev/null)/libpoppler-glib.so
POPPLER_SONAME := $(shell readelf -d $(POPPLER_SO) 2>/dev/null | sed -n 's/.*(SONAME).*\[\(libpoppler-glib\.so\.[0-9]*\)\]/\1/p')
ifeq ($(POPPLER_SONAME),)
$(error cannot read the SONAME of $(POPPLER_SO) with readelf (binutils))
endif
endif

LIB_SRC   := $(wildcard src/lib/*.c)
LIB_OBJ   := $(LIB_SRC:src/%.c=$(B)/%.o)
LIB_A     := $(B)/libdocpipe.a
STAGE_A    = $(B)/$(1)/lib$(1).a
STAGE_LIBS := $(foreach s,$(STAGES),$(call STAGE_A,$(s)))
BINDIR_release := bin
BINDIR_asan    := $(B)/bin
BINDIR_tsan    := $(B)/bin
BINDIR    := $(BINDIR_$(V))
BINS      := $(STAGES:%=$(BINDIR)/docpipe-%)
TEST_SRC  := $(wildcard tests/unit/test_*.c)
TESTS     := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps check tsan-check demo demo-stop clean unit-tests bench eval fuzz faults poppler-soname
all: $(BINS) $(TESTS)

deps:
	@scripts/install-deps

$(B)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/chunk/poppler_dl.o: CPPFLAGS += -DCHUNK_POPPLER_SONAME='"$(POPPLER_SONAME)"'
$(B)/chunk/poppler_dl.o: $(POPPLER_SO)

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# A tool that reuses other stages' logic names them in src/<tool>/uses.mk,
# e.g. "USES_plan := summarize embed store": their archives are linked in.
include $(wildcard src/*/uses.mk)

define stage_rules
$(call STAGE_A,$(1)): $(patsubst src/%.c,$(B)/%.o,$(filter-out src/$(1)/main.c,$(wildcard src/$(1)/*.c)))
	@mkdir -p $$(@D)
	@rm -f $$@
	ar rcs $$@ $$^
$(BINDIR)/docpipe-$(1): $(B)/$(1)/main.o $(call STAGE_A,$(1)) $(foreach u,$(USES_$(1)),$(call STAGE_A,$(u))) $(LIB_A)
	@mkdir -p $$(@D)
	$(CC) $(LDFLAGS) -o $$@ $$^ $(LDLIBS)
endef
$(foreach s,$(STAGES),$(eval $(call stage_rules,$(s))))

$(B)/tests/%: tests/unit/%.c $(STAGE_LIBS) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< $(STAGE_LIBS) $(LIB_A) $(LDLIBS)

# make check: install what is missing, build both variants, run every test
# against both.  The runner prints TAP and a closing "N passed, N failed".
# The builds use every core (the release build: 73 s serial, 32 s with -j2 here).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# The unit test programs also run under ThreadSanitizer (V=tsan, tsan:unit:
# about a minute with its build): the races between a stage's threads
# (docs/RELIABILITY.md, "ThreadSanitizer over docpipe"); `tests/run tsan --
# NAME...` runs integration tests so too (minutes each pass: not in check).
check: deps
	$(MAKE) -j$(JOBS) V=release all
	$(MAKE) -j$(JOBS) V=asan all
	$(MAKE) -j$(JOBS) V=tsan all
	tests/run release asan tsan:unit

# make tsan-check: the unit tests under ThreadSanitizer alone.
tsan-check: deps
	$(MAKE) -j$(JOBS) V=tsan all
	tests/run tsan:unit

demo: deps
	$(MAKE) -j$(JOBS) V=release all
	scripts/demo

# Stops the PostgreSQL that make demo leaves running for queries.
demo-stop:
	scripts/demo stop

bench: deps
	$(MAKE) V=release all
	bench/run

# Chunk quality against LangChain's splitters (bench/chunk-quality/README.md).
eval: deps
	$(MAKE) V=release all
	bench/chunk-quality/run

# make faults: the fault suite (docs/RELIABILITY.md), minutes long, as root;
# its fastest cases also run in make check (tests/integration/fault_*.sh).
faults: deps
	$(MAKE) V=release all
	tests/faults/run

clean:
	rm -rf build $(BINS)

# For tests/fuzz/run-fuzz.sh, which compiles src/chunk with clang itself.
poppler-soname:
	@echo $(POPPLER_SONAME)

-include $(shell find build -name '*.d' 2>/dev/null)
