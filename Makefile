# bulkcausal developer targets
#   make deps      install every system and R dependency (Debian first, then CRAN)
#   make install   deps + R CMD INSTALL
#   make document  regenerate RcppExports, NAMESPACE and man/ (committed files)
#   make cpptest   build and run the Catch2 suite of the C++ core
#   make sanitize  the Catch2 suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make sanitize-r  the package built with both sanitizers, running the fuzz and malformed-input tests
#   make test      deps, install, Catch2 suite and testthat; ends with "N passed, M failed"
#   make check     R CMD build + R CMD check (no ERROR/WARNING) + BiocCheck (no ERROR)
#   make demo      install, then write the HTML demo report and print its path
#   make bench     install, then run every bench/bench_*.R
#   make clean

SHELL := /bin/bash
R ?= R
RSCRIPT ?= Rscript
CXX ?= g++
EIGEN_INC = $(shell $(RSCRIPT) -e 'cat(system.file("include", package = "RcppEigen"))' 2>/dev/null)
CPP_TESTS = $(wildcard tests/cpp/test_*.cpp)
CPP_HEADERS = $(wildcard inst/include/bulkcausal/*.hpp) tests/cpp/helpers.hpp
CXXFLAGS_TEST = -std=c++17 -Wall -Wextra -Wpedantic -Werror -Iinst/include -isystem $(EIGEN_INC)
SAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

.PHONY: deps install document cpptest sanitize sanitize-r test check demo bench clean

deps:
	@tools/deps.sh

install: deps
	@R=$(R) tools/install.sh

document: deps
	$(RSCRIPT) -e 'Rcpp::compileAttributes(); roxygen2::roxygenise()'

tests/cpp/build/main.o: tests/cpp/main.cpp
	@mkdir -p tests/cpp/build
	$(CXX) -std=c++17 -O2 -c $< -o $@

tests/cpp/build/run_tests: tests/cpp/build/main.o $(CPP_TESTS) $(CPP_HEADERS)
	$(CXX) $(CXXFLAGS_TEST) -O2 $(CPP_TESTS) tests/cpp/build/main.o -o $@ -lpthread

cpptest: deps tests/cpp/build/run_tests
	tests/cpp/build/run_tests

tests/cpp/build-san/main.o: tests/cpp/main.cpp
	@mkdir -p tests/cpp/build-san
	$(CXX) -std=c++17 $(SAN_FLAGS) -c $< -o $@

tests/cpp/build-san/run_tests: tests/cpp/build-san/main.o $(CPP_TESTS) $(CPP_HEADERS)
	$(CXX) $(CXXFLAGS_TEST) $(SAN_FLAGS) $(CPP_TESTS) tests/cpp/build-san/main.o -o $@ -lpthread

sanitize: deps tests/cpp/build-san/run_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/cpp/build-san/run_tests

sanitize-r: deps
	@tools/sanitize-r.sh

test: install tests/cpp/build/run_tests
	@tools/run-tests.sh

check: deps
	@tools/check.sh

demo: install
	@$(RSCRIPT) inst/scripts/demo.R demo-report

bench: install
	@for f in bench/bench_*.R; do echo "== $$f"; $(RSCRIPT) $$f || exit 1; done

clean:
	rm -rf tests/cpp/build tests/cpp/build-san build demo-report src/*.o src/*.so
