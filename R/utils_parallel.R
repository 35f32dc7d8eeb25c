# The parallel back-end of a call.

# Checks BPPARAM and starts its workers unless they are up (or it is
# serial), so that the several bplapply() calls of one call reuse them
# instead of starting and stopping workers each time.  Returns TRUE when it
# started them: the caller then stops them on exit (on.exit(bpstop())), and
# a back-end the user started is left as it is.
#' @importFrom BiocParallel bpisup bpstart bpstop bpnworkers
.bp_start <- function(BPPARAM) {
    if (!is(BPPARAM, "BiocParallelParam")) {
        stop(sprintf(paste("`BPPARAM` must be a BiocParallel back-end such as SerialParam() or MulticoreParam(2),",
            "not %s"), .fmt_value(BPPARAM)), call. = FALSE)
    }
    if (bpnworkers(BPPARAM) <= 1L || bpisup(BPPARAM)) return(FALSE)
    bpstart(BPPARAM)
    TRUE
}
