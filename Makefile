# Thin wrapper over CMake.  The two commands the README promises:
#   make demo   - install what is missing, build, run the end-to-end demo
#   make test   - install what is missing, build, run the test suite
# and what CI runs on top: make test-asan (ASan+UBSan build of the tests),
# make fuzz-ci (each libFuzzer harness for FUZZ_SECONDS from its seed corpus).
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?= -DLW_WERROR=ON

.PHONY: all deps build test test-asan fuzz-ci check demo bench clean

all: build

deps:
	@scripts/install-deps --test

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLW_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS) -E '^bench_'

fuzz-ci: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DLW_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_event fuzz_config
	scripts/run-fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

check: test test-asan fuzz-ci

demo: build
	scripts/demo $(BUILD)

bench: build
	scripts/run-bench $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
