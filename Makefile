# algorun build. `make` builds build/algorun and build/libalgorun.a; `make help` lists targets.
# Sources are found by wildcard: a new .c file under core/, io/, algorithms/ or container/ needs
# no edit here, nor does a new tests/unit/test_<name>.c (it must define test_suite_<name>).

CC       ?= gcc
BUILD    ?= build
V        ?= 0
# CI (CI=true) turns warnings into errors.
WERROR   ?= $(if $(filter true,$(CI)),1,0)
PYTHON   ?= /usr/bin/python3
OPENBLAS_PC := /usr/lib/x86_64-linux-gnu/openblas-openmp/pkgconfig
PKGS     := libprotobuf-c libmicrohttpd libcjson libarchive zlib sqlite3 libcurl

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
        -Wundef -Wdouble-promotion -Wfloat-conversion -Wimplicit-fallthrough
ifeq ($(WERROR),1)
WARN += -Werror
endif

PKG_CFLAGS := $(shell PKG_CONFIG_PATH=$(OPENBLAS_PC) pkg-config --cflags openblas $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell PKG_CONFIG_PATH=$(OPENBLAS_PC) pkg-config --libs openblas $(PKGS) 2>/dev/null)
# Pin the OpenMP build of OpenBLAS at run time too, whatever libopenblas.so.0 points at.
BLAS_RPATH := -Wl,-rpath,$(shell PKG_CONFIG_PATH=$(OPENBLAS_PC) pkg-config --variable=libdir openblas 2>/dev/null)

OPT      := -O2 -g
SANITIZE :=
ifeq ($(CONFIG),asan)
OPT      := -O1 -g -fno-omit-frame-pointer
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
endif
ifeq ($(NATIVE),1)
OPT += -march=native
endif

GEN      := $(BUILD)/gen
CPPFLAGS += -I. -I$(GEN) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
CFLAGS   := -std=c17 $(OPT) $(WARN) -fopenmp -pthread $(SANITIZE) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS  := -fopenmp -pthread $(SANITIZE) $(BLAS_RPATH) $(EXTRA_LDFLAGS)
LDLIBS   := $(PKG_LIBS) -lm

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC  := $(sort $(wildcard core/*.c io/*.c algorithms/*.c algorithms/*/*.c container/*.c))
LIB_SRC  := $(filter-out container/main.c,$(LIB_SRC))
PROTO    := $(wildcard io/*.proto)
GEN_SRC  := $(PROTO:io/%.proto=$(GEN)/io/%.pb-c.c)
GEN_HDR  := $(GEN_SRC:.c=.h)
OBJ_DIR  := $(BUILD)/obj
LIB_OBJ  := $(LIB_SRC:%.c=$(OBJ_DIR)/%.o) $(GEN_SRC:$(BUILD)/%.c=$(OBJ_DIR)/%.o)
MAIN_OBJ := $(OBJ_DIR)/container/main.o
TEST_SRC := $(sort $(wildcard tests/unit/*.c))
TEST_OBJ := $(TEST_SRC:%.c=$(OBJ_DIR)/%.o)
SUITES   := $(patsubst tests/unit/test_%.c,%,$(wildcard tests/unit/test_*.c))
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOLS    := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

LIB      := $(BUILD)/libalgorun.a
BIN      := $(BUILD)/algorun
UNIT     := $(BUILD)/unit-tests

.SECONDARY: $(GEN_SRC) $(GEN_HDR)

.PHONY: all test unit e2e asan lint format format-check clean deps demo bench bench-quick help tools \
        bench-progs images
all: $(BIN) $(LIB)

help:
	@echo "make [all]      build $(BIN) and $(LIB)"
	@echo "make test       install deps, run unit tests, then end-to-end tests (pytest)"
	@echo "make unit       unit tests only;  make e2e  end-to-end tests only"
	@echo "make asan       unit tests under AddressSanitizer + UBSan (build/asan/)"
	@echo "make demo       train, serve-style predict on bundled sample data"
	@echo "make bench      full benchmark against the references; bench-quick: < 3 min"
	@echo "make images     one Docker image per algorithm ID (needs a Docker engine)"
	@echo "make lint | format | format-check | clean;  V=1 verbose, WERROR=1, CC=clang"

deps:
	@scripts/install-deps.sh

# protoc-c output is a build product, never committed.
$(GEN)/io/%.pb-c.c $(GEN)/io/%.pb-c.h: io/%.proto
	@mkdir -p $(GEN)/io
	@echo "  PROTOC  $<"
	$(Q)protoc-c --c_out=$(GEN) $<

# Generated sources are compiled with relaxed warnings: we do not control their style.
$(OBJ_DIR)/gen/%.o: $(GEN)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) -std=c17 $(OPT) -fopenmp $(SANITIZE) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(OBJ_DIR)/%.o: %.c | $(GEN_HDR)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(MAIN_OBJ): CPPFLAGS += -DAR_BUILD_OPT="\"$(strip $(OPT) $(SANITIZE))\""

$(BIN): $(MAIN_OBJ) $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(LDLIBS)

# The suite table is generated from the test file names, so adding a suite edits nothing else.
$(BUILD)/gen/suites.h: $(wildcard tests/unit/test_*.c)
	@mkdir -p $(dir $@)
	$(Q)printf '%s\n' $(foreach s,$(SUITES),"AR_SUITE($(s))") > $@.tmp && \
	    (cmp -s $@.tmp $@ || mv $@.tmp $@); rm -f $@.tmp

# Test code compares floats with doubles all the time; the promotion is intended there.
$(OBJ_DIR)/tests/%.o: CFLAGS += -Wno-double-promotion
$(TEST_OBJ): $(BUILD)/gen/suites.h

$(UNIT): $(TEST_OBJ) $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tools/%: $(OBJ_DIR)/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

tools: $(TOOLS)

# Benchmark programs (benchmarks/*.c, run by benchmarks/run.py), linked like the tools.
BENCH_PROGS := $(BUILD)/bench-driver $(BUILD)/bench-ceiling $(BUILD)/bench-pbdecode \
               $(BUILD)/bench-spawn

$(BUILD)/bench-%: $(OBJ_DIR)/benchmarks/%.o $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

bench-progs: $(BENCH_PROGS)
.SECONDARY: $(BENCH_PROGS:$(BUILD)/bench-%=$(OBJ_DIR)/benchmarks/%.o)

unit: $(UNIT)
	$(UNIT)

e2e: $(BIN) $(TOOLS)
	ALGORUN_BIN=$(abspath $(BIN)) ALGORUN_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q tests/e2e

# The one test command: the README and .ci/run use exactly this. It installs what it needs,
# lints, builds with gcc (and clang, to keep both compilers working), runs the unit tests
# plain and under ASan+UBSan, then the end-to-end tests.
test: deps
	@scripts/lint.sh
	@$(MAKE) --no-print-directory format-check
	$(MAKE) --no-print-directory all tools $(UNIT)
	$(MAKE) --no-print-directory CC=clang BUILD=build/clang all
	$(UNIT)
	$(MAKE) --no-print-directory asan
	$(MAKE) --no-print-directory e2e

asan:
	$(MAKE) --no-print-directory BUILD=build/asan CONFIG=asan build/asan/unit-tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/asan/unit-tests

lint:
	@scripts/lint.sh

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run -Werror $(shell git ls-files '*.c' '*.h') && echo "format: ok"

demo: deps all
	@scripts/demo.sh

# BENCH_ARGS passes options through, e.g. make bench-quick BENCH_ARGS="--only parse --reps 3".
bench: all $(BENCH_PROGS)
	$(PYTHON) benchmarks/run.py --full $(BENCH_ARGS)

bench-quick: all $(BENCH_PROGS)
	$(PYTHON) benchmarks/run.py --quick $(BENCH_ARGS)

# One image per fixed algorithm ID (needs a Docker engine; this development machine has none).
IMAGES := xgboost:1.7-1 linear-learner:1 kmeans:1
images:
	@command -v docker >/dev/null && docker info >/dev/null 2>&1 || \
	    { echo "make images: no Docker engine here (docker info fails); build on a machine with one" >&2; exit 1; }
	$(foreach a,$(IMAGES),docker build -f container/Dockerfile --build-arg ALGORITHM=$(a) \
	    -t algorun-$(firstword $(subst :, ,$(a))):$(lastword $(subst :, ,$(a))) . &&) true

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
