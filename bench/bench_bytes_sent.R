# Bytes a parallel fitPairwise() sends to its workers (issue 14): all
# ordered pairs would need every gene, but 2 pairs of a 61 MB matrix
# (1,000 genes x 7,600 cells) should ship a few columns, not the matrix.
# What is sent is measured where it leaves: each task with the function and
# the further arguments, serialised (BiocParallel serialises the same
# objects for SnowParam workers; older builds: bplapply's X, FUN and
# arguments).  Target: under 1 MB.  With BENCH_BYTES_OLD_LIB set to
# a library holding an older build, the same call is measured there too
# (in its own process) and the ratio printed.  Second: everything the
# audit of the embedded dataset sends (30 pairs on counts, SnowParam(2)).
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
    # builds with work units send each task with the function and the
    # further arguments (bpiterate): counted per task
    if (exists(".run_units", asNamespace("bulkcausal"))) {
        suppressMessages(trace(".run_units", where = asNamespace("bulkcausal"), print = FALSE,
            tracer = bquote(if (BiocParallel::bpnworkers(BPPARAM) > 1L && length(.tasks) > 1L) {
                .(add)(sum(vapply(.tasks, function(t) length(serialize(list(t, .f, list(...)), NULL)), 0)))
            })))
    }
    fit <- fitPairwise(x, pairs = data.frame(c("g1", "g2"), c("g3", "g4")), BPPARAM = SnowParam(2), verbose = FALSE)
    fit.bytes <- sent$bytes
    # the audit of the embedded dataset (30 pairs, counts): all its bplapply calls
    sent$bytes <- 0
    data(pbmc283, package = "bulkcausal", envir = environment())
    audit <- recoverabilityAudit(pbmc283, pool.size = 10, npools = 100, replace = TRUE, ngenes = 6, nboot = 20,
        seed = 1, verbose = FALSE, BPPARAM = SnowParam(2))
    c(input = as.numeric(object.size(x)), sent = fit.bytes, pairs = nrow(fit), audit = sent$bytes)
}
now <- callr::r(measure, list(""))
cat(sprintf("fitPairwise of 2 pairs, input %.1f MB, SnowParam(2): sent to workers %.3f MB (target < 1 MB)\n",
    now[["input"]] / 2^20, now[["sent"]] / 2^20))
cat(sprintf("recoverabilityAudit of pbmc283 (30 pairs, nboot 20), SnowParam(2): sent to workers %.3f MB\n",
    now[["audit"]] / 2^20))
old <- Sys.getenv("BENCH_BYTES_OLD_LIB")
if (nzchar(old)) {
    before <- callr::r(measure, list(old))
    cat(sprintf("older build (%s): fitPairwise %.1f MB, audit %.3f MB; now / before: %.4f and %.3f\n", old,
        before[["sent"]] / 2^20, before[["audit"]] / 2^20, now[["sent"]] / before[["sent"]],
        now[["audit"]] / before[["audit"]]))
}
