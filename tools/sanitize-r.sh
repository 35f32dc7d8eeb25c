#!/usr/bin/env bash
# The R glue under AddressSanitizer + UndefinedBehaviorSanitizer: builds
# this checkout with the sanitizers into a temporary library (the installed
# package is not touched), then runs the fuzz suite (every export with
# malformed arguments, tests/testthat/test-fuzz.R) and the malformed-input
# tests with the sanitizer runtimes preloaded into R.  A sanitizer report
# aborts the R process running the case, which the fuzz suite records as a
# crash.  BULKCAUSAL_FUZZ=long runs every malformed value.  Linux, gcc.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
printf 'CXXFLAGS = %s\nCXX17FLAGS = %s\nLDFLAGS = -fsanitize=address,undefined\n' "$flags" "$flags" > "$work/Makevars"
mkdir -p "$work/lib" "$work/src"
git ls-files -z | xargs -0 -I{} cp --parents {} "$work/src"
echo "sanitize-r: building with $flags (several minutes)"
(cd "$work/src" && R_MAKEVARS_USER="$work/Makevars" R CMD INSTALL --no-multiarch --no-test-load -l "$work/lib" . \
    > "$work/install.log" 2>&1) || { tail -n 30 "$work/install.log"; exit 1; }
preload="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LD_PRELOAD="$preload" R_LIBS="$work/lib" \
    Rscript --vanilla -e '
        .libPaths(c(Sys.getenv("R_LIBS"), .libPaths()))
        stopifnot(startsWith(find.package("bulkcausal"), Sys.getenv("R_LIBS")))
        res <- as.data.frame(testthat::test_dir("tests/testthat", filter = "fuzz|malformed", package = "bulkcausal",
            load_package = "installed", stop_on_failure = FALSE))
        failed <- sum(res$failed) + sum(res$error)
        cat(sprintf("sanitize-r: %d expectations passed, %d failed\n", sum(res$nb) - failed - sum(res$skipped), failed))
        quit(status = as.integer(failed > 0))'
