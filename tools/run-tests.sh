#!/usr/bin/env bash
# Runs the Catch2 suite and testthat, then prints one closing line
# "N passed, M failed" (Catch2 test cases plus testthat expectations) and
# exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
tests/cpp/build/run_tests 2>&1 | tee "$log"
cpp_status=${PIPESTATUS[0]}
summary=$(grep -E "^(All tests passed|test cases:)" "$log" | tail -n 1)
if [[ "$summary" =~ All\ tests\ passed.*in\ ([0-9]+)\ test\ case ]]; then
    cpp_pass=${BASH_REMATCH[1]}; cpp_fail=0
elif [[ "$summary" =~ test\ cases:\ *([0-9]+)\ \|\ *([0-9]+)\ passed\ \|\ *([0-9]+)\ failed ]]; then
    cpp_pass=${BASH_REMATCH[2]}; cpp_fail=${BASH_REMATCH[3]}
else
    cpp_pass=0; cpp_fail=1
fi
[ "$cpp_status" -eq 0 ] || [ "$cpp_fail" -gt 0 ] || cpp_fail=1

counts=$(Rscript --vanilla -e '
    res <- testthat::test_dir("tests/testthat", package = "bulkcausal", load_package = "installed",
        reporter = testthat::ProgressReporter$new(show_praise = FALSE), stop_on_failure = FALSE)
    df <- as.data.frame(res)
    failed <- sum(df$failed) + sum(df$error)
    passed <- sum(df$nb) - sum(df$failed) - sum(df$skipped)
    cat("\nTESTTHAT", passed, failed, "\n")' 2>&1 | tee /dev/stderr | grep "^TESTTHAT")
r_pass=$(echo "$counts" | awk '{print $2}')
r_fail=$(echo "$counts" | awk '{print $3}')
[ -n "$r_pass" ] || { r_pass=0; r_fail=1; }

rm -f "$log"
echo "Catch2: $cpp_pass test cases passed, $cpp_fail failed; testthat: $r_pass expectations passed, $r_fail failed"
echo "$((cpp_pass + r_pass)) passed, $((cpp_fail + r_fail)) failed"
[ "$cpp_fail" -eq 0 ] && [ "$r_fail" -eq 0 ]
