#!/usr/bin/env bash
# Installs every system and R dependency of bulkcausal on a Debian machine:
# Debian's packages first (prebuilt, seconds), CRAN only for what Debian
# lacks.  Idempotent: when everything is present it only checks, in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Developer tools beyond DESCRIPTION.
EXTRA_R="roxygen2 BiocCheck bench testthat rmarkdown knitr BiocStyle hexbin pkgbuild"

apt_updated=0
apt_update() {
    if [ "$apt_updated" -eq 0 ]; then
        $SUDO apt-get update -qq
        apt_updated=1
    fi
}

# System packages (command or file -> Debian package).
sys_missing=()
[ -f /usr/include/catch2/catch.hpp ] || sys_missing+=(catch2)
command -v pandoc >/dev/null 2>&1 || sys_missing+=(pandoc)
command -v g++ >/dev/null 2>&1 || sys_missing+=(g++)
command -v make >/dev/null 2>&1 || sys_missing+=(make)
if [ "${#sys_missing[@]}" -gt 0 ]; then
    apt_update
    $SUDO apt-get install -y -qq --no-install-recommends "${sys_missing[@]}"
fi

# R packages named in DESCRIPTION (Depends, Imports, LinkingTo, Suggests).
missing_r() {
    Rscript --vanilla -e '
        d <- read.dcf("DESCRIPTION")
        f <- intersect(c("Depends", "Imports", "LinkingTo", "Suggests"), colnames(d))
        p <- unlist(strsplit(paste(d[1, f], collapse = ","), ","))
        p <- trimws(sub("\\(.*", "", p))
        p <- c(p, strsplit(Sys.getenv("EXTRA_R"), " ")[[1]])
        base <- rownames(installed.packages(priority = "base"))
        p <- setdiff(unique(p[nzchar(p)]), c("R", base))
        miss <- p[!nzchar(vapply(p, function(x) system.file(package = x), character(1)))]
        cat(miss, sep = "\n")'
}
export EXTRA_R
# Debian package names for R packages, when Debian has them.
debian_names() {
    for p in "$@"; do
        low=$(echo "$p" | tr '[:upper:]' '[:lower:]')
        for cand in "r-cran-$low" "r-bioc-$low"; do
            # (no `| grep -q`: under pipefail its early exit fails the pipe)
            if [[ "$(apt-cache policy "$cand" 2>/dev/null)" == *"Candidate: "[0-9]* ]]; then
                echo "$cand"
                break
            fi
        done
    done
}

mapfile -t miss < <(missing_r | grep -v "^$" || true)
if [ "${#miss[@]}" -gt 0 ]; then
    apt_update
    debs=()
    for p in "${miss[@]}"; do
        low=$(echo "$p" | tr '[:upper:]' '[:lower:]')
        for cand in "r-cran-$low" "r-bioc-$low"; do
            # (no `| grep -q`: under pipefail its early exit fails the pipe)
            if [[ "$(apt-cache policy "$cand" 2>/dev/null)" == *"Candidate: "[0-9]* ]]; then
                debs+=("$cand")
                break
            fi
        done
    done
    if [ "${#debs[@]}" -gt 0 ]; then
        echo "deps: installing from Debian: ${debs[*]}"
        $SUDO apt-get install -y -qq --no-install-recommends "${debs[@]}"
    fi
    mapfile -t miss < <(missing_r | grep -v "^$" || true)
    if [ "${#miss[@]}" -gt 0 ]; then
        # What the CRAN packages need in turn (Bioconductor's graph and RBGL
        # for pcalg, say) comes from Debian too where it can.
        mapfile -t rdeps < <(Rscript --vanilla -e '
            db <- available.packages(repos = "https://cloud.r-project.org")
            d <- tools::package_dependencies(commandArgs(TRUE), db = db,
                which = c("Depends", "Imports", "LinkingTo"), recursive = TRUE)
            d <- setdiff(unique(unlist(d)), rownames(installed.packages()))
            cat(d, sep = "\n")' "${miss[@]}" 2>/dev/null | grep -v "^$" || true)
        if [ "${#rdeps[@]}" -gt 0 ]; then
            mapfile -t ddebs < <(debian_names "${rdeps[@]}")
            if [ "${#ddebs[@]}" -gt 0 ]; then
                echo "deps: installing from Debian for CRAN packages: ${ddebs[*]}"
                $SUDO apt-get install -y -qq --no-install-recommends "${ddebs[@]}"
            fi
        fi
        echo "deps: installing from CRAN: ${miss[*]}"
        Rscript --vanilla -e 'install.packages(commandArgs(TRUE), repos = "https://cloud.r-project.org", Ncpus = 2)' "${miss[@]}"
        mapfile -t miss < <(missing_r | grep -v "^$" || true)
        if [ "${#miss[@]}" -gt 0 ]; then
            echo "deps: could not install: ${miss[*]}" >&2
            exit 1
        fi
    fi
fi
echo "deps: all system and R dependencies present"
