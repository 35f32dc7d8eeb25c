# Peak memory of fitPairwise() with missing values: all ordered pairs of 100
# genes x 5,000 cells, one NA per gene (so every pair has its own rows), against
# the same call without NAs.  Each call runs in its own R process; the peak is
# that process's high-water mark of resident memory (VmHWM), minus the same
# process's before the call.  Prints both peaks and their ratio (target <= 1.5).
#   Rscript bench/bench_na_memory.R
GENES <- as.integer(Sys.getenv("BENCH_NA_GENES", "100"))
CELLS <- as.integer(Sys.getenv("BENCH_NA_CELLS", "5000"))
one_run <- function(with.na, genes, cells) {
    suppressPackageStartupMessages(library(bulkcausal))
    hwm <- function() {
        s <- grep("^VmHWM", readLines("/proc/self/status"), value = TRUE)
        as.numeric(gsub("[^0-9]", "", s)) / 1024
    }
    set.seed(1)
    x <- matrix(rgamma(genes * cells, 2), genes, cells, dimnames = list(paste0("g", seq_len(genes)), NULL))
    x[seq_len(genes) + 0:(genes - 1) * genes] <- if (with.na) NA else x[seq_len(genes) + 0:(genes - 1) * genes]
    gc()
    before <- hwm()
    t0 <- Sys.time()
    fit <- fitPairwise(x, nboot = 0, verbose = FALSE)
    secs <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
    c(peak = hwm() - before, before = before, seconds = secs, pairs = nrow(fit), ok = sum(fit$status == "ok"))
}
res <- lapply(c(without = FALSE, with = TRUE), function(na) callr::r(one_run, list(na, GENES, CELLS)))
tab <- do.call(rbind, res)
cat(sprintf("fitPairwise, all %d ordered pairs of %d genes x %d cells (%s)\n", GENES * (GENES - 1), GENES, CELLS,
    format(Sys.time())))
print(round(tab, 1))
cat(sprintf("peak with one NA per gene / without: %.2f\n", tab["with", "peak"] / tab["without", "peak"]))
