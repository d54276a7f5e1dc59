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
PKGS      := libzmq libcurl libpq md4c libxxhash libcrypto libxml-2.0 poppler-glib libzip libmagic
CPPFLAGS  := -D_GNU_SOURCE -Isrc/lib $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS    := -std=c11 -pthread $(WARN) $(CFLAGS_$(V))
LDLIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ljq -lpthread -lm
# --as-needed: only docpipe-chunk links the document format libraries.
LDFLAGS   := -pthread -Wl,--as-needed $(LDFLAGS_$(V))

LIB_SRC   := $(wildcard src/lib/*.c)
LIB_OBJ   := $(LIB_SRC:src/%.c=$(B)/%.o)
LIB_A     := $(B)/libdocpipe.a
STAGE_A    = $(B)/$(1)/lib$(1).a
STAGE_LIBS := $(foreach s,$(STAGES),$(call STAGE_A,$(s)))
BINDIR_release := bin
BINDIR_asan    := $(B)/bin
BINDIR    := $(BINDIR_$(V))
BINS      := $(STAGES:%=$(BINDIR)/docpipe-%)
TEST_SRC  := $(wildcard tests/unit/test_*.c)
TESTS     := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps check demo clean unit-tests bench fuzz
all: $(BINS) $(TESTS)

deps:
	@scripts/install-deps

$(B)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

define stage_rules
$(call STAGE_A,$(1)): $(patsubst src/%.c,$(B)/%.o,$(filter-out src/$(1)/main.c,$(wildcard src/$(1)/*.c)))
	@mkdir -p $$(@D)
	@rm -f $$@
	ar rcs $$@ $$^
$(BINDIR)/docpipe-$(1): $(B)/$(1)/main.o $(call STAGE_A,$(1)) $(LIB_A)
	@mkdir -p $$(@D)
	$(CC) $(LDFLAGS) -o $$@ $$^ $(LDLIBS)
endef
$(foreach s,$(STAGES),$(eval $(call stage_rules,$(s))))

$(B)/tests/%: tests/unit/%.c $(STAGE_LIBS) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< $(STAGE_LIBS) $(LIB_A) $(LDLIBS)

# make check: install what is missing, build both variants, run every test
# against both.  The runner prints TAP and a closing "N passed, N failed".
check: deps
	$(MAKE) V=release all
	$(MAKE) V=asan all
	tests/run

demo: deps
	$(MAKE) V=release all
	scripts/demo

bench: deps
	$(MAKE) V=release all
	bench/run

clean:
	rm -rf build $(BINS)

-include $(shell find build -name '*.d' 2>/dev/null)
