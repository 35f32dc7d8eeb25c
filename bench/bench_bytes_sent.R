# Bytes a parallel fitPairwise() sends to its workers (issue 14): all
# ordered pairs would need every gene, but 2 pairs of a 61 MB matrix
# (1,000 genes x 7,600 cells) should ship a few columns, not the matrix.
# What is sent is measured where it leaves: bplapply's X, FUN and further
# arguments, serialised (BiocParallel serialises the same objects for
# SnowParam workers).  Target: under 1 MB.  With BENCH_BYTES_OLD_LIB set to
# a library holding an older build, the same call is measured there too
# (in its own process) and the ratio printed.
#   Rscript bench/bench_bytes_sent.R
#   BENCH_BYTES_OLD_LIB=/tmp/lib-old Rscript bench/bench_bytes_sent.R
measure <- function(lib) {
    if (nzchar(lib)) .libPaths(c(lib, .libPaths()))
    suppressPackageStartupMessages({
        library(bulkcausal)
        library(BiocParallel)
    })
    set.seed(1)
    x <- matrix(rgamma(1000 * 7600, 2), 1000, 7600, dimnames = list(paste0("g", 1:1000), NULL))
    sent <- new.env()
    sent$bytes <- 0
    add <- function(n) sent$bytes <- sent$bytes + n
    suppressMessages(trace(BiocParallel::bplapply, tracer = bquote(.(add)(length(serialize(list(X, FUN, list(...)),
        NULL)))), print = FALSE, signature = c("ANY", "BiocParallelParam")))
    fit <- fitPairwise(x, pairs = data.frame(c("g1", "g2"), c("g3", "g4")), BPPARAM = SnowParam(2), verbose = FALSE)
    c(input = as.numeric(object.size(x)), sent = sent$bytes, pairs = nrow(fit))
}
now <- callr::r(measure, list(""))
cat(sprintf("fitPairwise of 2 pairs, input %.1f MB, SnowParam(2): sent to workers %.3f MB (target < 1 MB)\n",
    now[["input"]] / 2^20, now[["sent"]] / 2^20))
old <- Sys.getenv("BENCH_BYTES_OLD_LIB")
if (nzchar(old)) {
    before <- callr::r(measure, list(old))
    cat(sprintf("older build (%s): %.1f MB; now / before: %.4f\n", old, before[["sent"]] / 2^20,
        now[["sent"]] / before[["sent"]]))
}
