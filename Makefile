# toolformer.c — build with `make`; `make test` runs the unit tests, then the ASan/UBSan build of them.
CC      ?= cc
# -march=native where the compiler takes it (portable fallback otherwise)
NATIVE  := $(shell $(CC) -march=native -E -x c /dev/null >/dev/null 2>&1 && echo -march=native)
OPT     ?= -O3 $(NATIVE)
PKGS    := libcjson sqlite3 libexttextcat libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -fopenmp -Iinclude -Isrc $(PKG_CFLAGS) -MMD -MP
LDLIBS  += $(PKG_LIBS) -ldnnl -lm -lpthread
CRIT_LIBS := $(shell pkg-config --libs criterion)
# Open MPI (optional, on when found): data-parallel training and annotation across processes
# (docs/scaling.md). `make MPI=0` builds the single-process stand-in even when it is installed.
MPI     ?= $(if $(shell command -v mpicc 2>/dev/null || pkg-config --exists ompi-c 2>/dev/null && echo y),1,0)
ifeq ($(MPI),1)
MPI_CFLAGS := -DTF_HAVE_MPI $(shell mpicc --showme:compile 2>/dev/null || pkg-config --cflags ompi-c)
LDLIBS  += $(shell mpicc --showme:link 2>/dev/null || pkg-config --libs ompi-c)
endif
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
BENCH_SRC:= $(sort $(wildcard bench/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=build/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=build/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=build/obj/%.o)
ASAN_LIB_OBJ  := $(LIB_SRC:%.c=build/asan-obj/%.o)
ASAN_CLI_OBJ  := $(CLI_SRC:%.c=build/asan-obj/%.o)
ASAN_TEST_OBJ := $(TEST_SRC:%.c=build/asan-obj/%.o)
BENCH_BIN := $(BENCH_SRC:bench/%.c=build/bench/%)

.PHONY: all test test-browser test-fast test-asan bench clean fixtures demo setup fuzz fuzz-smoke valgrind
all: build/toolformer build/libtoolformer.a

build/libtoolformer.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	@echo "AR $@"
	@$(AR) rcs $@ $^

build/toolformer: $(CLI_OBJ) build/libtoolformer.a
	@echo "LD $@"
	@$(CC) $(CFLAGS) $(OPT) -o $@ $(CLI_OBJ) build/libtoolformer.a $(LDLIBS)

build/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "CC $<"
	@$(CC) $(CFLAGS) $(OPT) -c $< -o $@

build/asan-obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "CC (asan) $<"
	@$(CC) $(CFLAGS) -O1 -g $(SAN) -c $< -o $@

build/test_runner: $(TEST_OBJ) build/libtoolformer.a
	@mkdir -p $(@D)
	@echo "LD $@"
	@$(CC) $(CFLAGS) $(OPT) -o $@ $(TEST_OBJ) build/libtoolformer.a $(CRIT_LIBS) $(LDLIBS)

build/asan/toolformer: $(ASAN_CLI_OBJ) $(ASAN_LIB_OBJ)
	@mkdir -p $(@D)
	@echo "LD $@"
	@$(CC) $(CFLAGS) -g $(SAN) -o $@ $^ $(LDLIBS)

build/asan/test_runner: $(ASAN_TEST_OBJ) $(ASAN_LIB_OBJ)
	@mkdir -p $(@D)
	@echo "LD $@"
	@$(CC) $(CFLAGS) -g $(SAN) -o $@ $^ $(CRIT_LIBS) $(LDLIBS)

build/bench/%: bench/%.c build/libtoolformer.a
	@mkdir -p $(@D)
	@echo "LD $@"
	@$(CC) $(CFLAGS) $(OPT) -o $@ $< build/libtoolformer.a $(LDLIBS)

# The kernels never read errno after a math call; without it GCC can vectorise sqrtf (AdamW). Their
# loops use 512-bit vectors where the CPU has them (GCC's default is 256: GELU's backward took 1.8x).
build/obj/src/kernels/%.o build/asan-obj/src/kernels/%.o: CFLAGS += -fno-math-errno -mprefer-vector-width=512
# attention's register tiles are written as a += x * y: let GCC fuse them (ISO C mode keeps them apart)
build/obj/src/kernels/attention.o build/asan-obj/src/kernels/attention.o: CFLAGS += -ffp-contract=fast

# Only src/dist/dist.c sees MPI; it is rebuilt when the MPI choice changes (build/mpi.flags).
build/obj/src/dist/dist.o build/asan-obj/src/dist/dist.o: CFLAGS += $(MPI_CFLAGS)
build/obj/src/dist/dist.o build/asan-obj/src/dist/dist.o: build/mpi.flags
build/mpi.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(MPI_CFLAGS)' | cmp -s - $@ || echo '$(MPI_CFLAGS)' > $@
FORCE:

# libFuzzer targets (fuzz/fuzz_*.c, docs/reliability.md "Fuzzing"): clang with ASan + UBSan; the
# library is rebuilt with coverage instrumentation under build/fuzz-obj (MPI off: the stand-in).
FUZZ_CC     ?= clang
FUZZ_SRC    := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN    := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)
FUZZ_LIB_OBJ:= $(LIB_SRC:%.c=build/fuzz-obj/%.o)
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -fopenmp=libgomp -Iinclude -Isrc $(PKG_CFLAGS) -MMD -MP \
               -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -Wno-unknown-pragmas -Wno-unused-variable
# -fopenmp=libgomp: the library links gcc's OpenMP runtime, as oneDNN does; clang then ignores the
# pragmas (the fuzz build is serial). Its <omp.h> comes from libomp-14-dev (.ci/packages.txt).

build/fuzz-obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "CC (fuzz) $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/libtoolformer-fuzz.a: $(FUZZ_LIB_OBJ)
	@mkdir -p $(@D)
	@$(AR) rcs $@ $^

build/fuzz/fuzz_%: fuzz/fuzz_%.c build/fuzz/libtoolformer-fuzz.a
	@mkdir -p $(@D)
	@echo "LD $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libtoolformer-fuzz.a $(PKG_LIBS) -ldnnl -lm -lpthread

fuzz: $(FUZZ_BIN)

# Each target 30 s over its seed corpus, two at a time; fails on any crash (skipped, saying so,
# when clang's libFuzzer runtime is absent).
fuzz-smoke:
	fuzz/run.sh smoke

# Installs missing Debian/npm packages (quick when everything is there).
setup:
	scripts/setup.sh

# The README's test command. Tests find the CLI through TF_BIN; then the report page in headless
# Chromium (tests/browser/run_report.sh, about 30 s). Ends with the 30-second fuzz smoke.
test: setup
	$(MAKE) build/toolformer build/test_runner build/asan/toolformer build/asan/test_runner
	TF_BIN=build/toolformer ./build/test_runner $(TEST_ARGS)
	TF_BIN=build/toolformer tests/browser/run_report.sh
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp TF_BIN=build/asan/toolformer TF_ASAN=1 ./build/asan/test_runner $(TEST_ARGS)
	$(MAKE) fuzz-smoke

test-browser: build/toolformer
	TF_BIN=build/toolformer tests/browser/run_report.sh

test-fast: build/toolformer build/test_runner
	TF_BIN=build/toolformer ./build/test_runner $(TEST_ARGS)

bench: $(BENCH_BIN) build/toolformer

# Valgrind memcheck of the engine's tests (model, kernels, safetensors, optimizer and trainer suites):
# a build without -march=native (valgrind 3.19 does not decode AVX-512), one thread, one test at a
# time; definite leaks and memory errors fail it. Suppressions: tests/valgrind.supp. About 7
# CPU-minutes (docs/reliability.md).
VG_SUITES ?= @(engine_*|model_io|model_mapped|safetensors|sampler|config|train)/*
VG_LIB_OBJ  := $(LIB_SRC:%.c=build/vg-obj/%.o)
VG_TEST_OBJ := $(TEST_SRC:%.c=build/vg-obj/%.o)
build/vg-obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "CC (valgrind) $<"
	@$(CC) $(CFLAGS) -O1 -g -c $< -o $@

build/valgrind/test_runner: $(VG_TEST_OBJ) $(VG_LIB_OBJ)
	@mkdir -p $(@D)
	@echo "LD $@"
	@$(CC) $(CFLAGS) -g -o $@ $^ $(CRIT_LIBS) $(LDLIBS)

valgrind: build/valgrind/test_runner
	@command -v valgrind >/dev/null || { echo "valgrind is not installed (Debian: apt-get install valgrind)"; exit 1; }
	@rm -rf build/valgrind/logs && mkdir -p build/valgrind/logs
	@# Criterion runs each test in a child process whose valgrind verdict does not reach Criterion's:
	@# valgrind follows the children (one log each; the CLI and shell programs run natively), and the
	@# logs are checked afterwards.
	OMP_NUM_THREADS=1 valgrind --trace-children=yes --trace-children-skip='/bin/*,/usr/bin/*,*/toolformer' \
	    --log-file=build/valgrind/logs/%p.log --num-callers=30 --leak-check=full --show-leak-kinds=definite \
	    --errors-for-leak-kinds=definite --error-exitcode=1 --suppressions=tests/valgrind.supp \
	    ./build/valgrind/test_runner -j1 --filter '$(VG_SUITES)' $(TEST_ARGS)
	@bad=$$(grep -l 'ERROR SUMMARY: [1-9]' build/valgrind/logs/*.log); \
	if [ -n "$$bad" ]; then cat $$bad; echo "valgrind: errors or leaks in: $$bad"; exit 1; fi; \
	echo "valgrind: $$(grep -l 'ERROR SUMMARY: 0 errors' build/valgrind/logs/*.log | wc -l) processes checked, no memory error, no definite leak"

# The embedded default, end to end (installs what it needs; about 8 minutes on 2 free cores).
demo:
	scripts/demo.sh

# Regenerates the committed PyTorch reference fixtures (needs python3-torch; CI does not).
fixtures:
	/usr/bin/python3 tests/fixtures/make_fixtures.py tests/fixtures
	/usr/bin/python3 tests/fixtures/make_filter_fixture.py tests/fixtures
	/usr/bin/python3 tests/fixtures/make_lora_fixtures.py tests/fixtures

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
