#!/usr/bin/env bash
# R CMD INSTALL of this checkout, from a clean src/ (--preclean): objects that
# pkgload or roxygen2 compiled there carry debug flags (-O0) and would
# otherwise be linked as they are.  An install that was cut off (a killed CI
# job, say) leaves a 00LOCK-* directory behind that makes every later install
# fail; such a stale lock is removed when no other R CMD INSTALL is running.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${R:-R}
lib=$(Rscript --vanilla -e 'cat(.libPaths()[1])')
if ! pgrep -f "INSTALL.*--no-multiarch" >/dev/null 2>&1 || [ "${CI:-}" = "true" ]; then
    for lock in "$lib/00LOCK-$(basename "$PWD")" "$lib/00LOCK-bulkcausal"; do
        if [ -d "$lock" ]; then
            echo "install: removing stale lock $lock"
            rm -rf "$lock"
        fi
    done
fi
log=$(mktemp)
if ! $R CMD INSTALL --preclean --no-multiarch . >"$log" 2>&1; then
    cat "$log"
    rm -f "$log"
    exit 1
fi
tail -n 1 "$log"
rm -f "$log"
