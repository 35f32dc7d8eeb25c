#!/usr/bin/env bash
# R CMD build + R CMD check (fails on ERROR or WARNING), then BiocCheck
# (fails on ERROR).  BiocCheck runs offline only with the no-check flags below.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$root/build/check"
mkdir -p "$root/build/check"
cd "$root/build/check"
R CMD build "$root"
tarball=$(ls bulkcausal_*.tar.gz)
R CMD check --no-manual "$tarball" || true
log=bulkcausal.Rcheck/00check.log
if grep -qE "^\* .*\.\.\. (ERROR|WARNING)|^Status: .*(ERROR|WARNING)" "$log"; then
    echo "R CMD check found an ERROR or WARNING (see $PWD/$log)" >&2
    exit 1
fi
# BiocCheck's version check asks bioconductor.org whether this is a devel
# build, so offline it always fails; the same rule (a new package is
# 0.99.z) is checked here instead.
version=$(sed -n 's/^Version: *//p' "$root/DESCRIPTION")
if ! [[ "$version" =~ ^0\.99\.[0-9]+$ ]]; then
    echo "DESCRIPTION Version $version: a new Bioconductor package must be 0.99.z" >&2
    exit 1
fi
# BiocManager also validates the installed Bioconductor version against
# bioconductor.org's config.yaml, and BiocCheck stops when it cannot.  Offline,
# a local file with this installation's Bioconductor and R versions stands in
# (unless BIOCONDUCTOR_CONFIG_FILE is already set).
if [ -z "${BIOCONDUCTOR_CONFIG_FILE:-}" ]; then
    cfg=$(mktemp --suffix=.yaml)
    Rscript -e '
        r <- paste(R.version$major, sub("[.].*", "", R.version$minor), sep = ".")
        # the installed BiocVersion says it; without it, the release of this R
        bioc <- if (requireNamespace("BiocVersion", quietly = TRUE)) {
            paste(unlist(packageVersion("BiocVersion"))[1:2], collapse = ".")
        } else c("4.2" = "3.16", "4.3" = "3.18", "4.4" = "3.20", "4.5" = "3.22")[[r]]
        # (BiocManager wants an older release and a devel version too)
        v <- as.integer(strsplit(bioc, ".", fixed = TRUE)[[1]])
        old <- sprintf("%d.%d", v[1], v[2] - 1L)
        devel <- sprintf("%d.%d", v[1], v[2] + 1L)
        cat(sprintf(paste0("release_version: \"%s\"\ndevel_version: \"%s\"\nr_ver_for_bioc_ver:\n",
            "    \"%s\": \"%s\"\n    \"%s\": \"%s\"\n    \"%s\": \"%s\"\n"), bioc, devel, old, r, bioc, r,
            devel, r))' > "$cfg"
    export BIOCONDUCTOR_CONFIG_FILE="$cfg"
fi
Rscript -e '
    res <- BiocCheck::BiocCheck(commandArgs(TRUE)[1], `no-check-deprecated` = TRUE,
        `no-check-bioc-views` = TRUE, `no-check-CRAN` = TRUE, `no-check-bioc-help` = TRUE,
        `no-check-remotes` = TRUE, `no-check-version-num` = TRUE, `quit-with-status` = FALSE)
    n <- length(res$error)
    if (n > 0) { message("BiocCheck: ", n, " ERROR(s)"); quit(status = 1) }
    message("BiocCheck: no ERROR")' "$tarball"
