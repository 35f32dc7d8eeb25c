# Timing and memory helpers of the bench/ scripts (sourced, not part of the package).

# Median wall time of `reps` evaluations (after one warm-up) of `expr`, in seconds, measured by
# bench::mark (which also counts the garbage collections in the timings).
bench_time <- function(expr, reps = 3L) {
    expr <- substitute(expr)
    env <- parent.frame()
    eval(expr, env)  # warm-up: first-call costs (method caches, lazy loading) are not the steady state
    m <- bench::mark(eval(expr, env), iterations = reps, check = FALSE, filter_gc = FALSE,
                     memory = FALSE)
    as.numeric(m$median)
}

# Peak resident memory (bytes) of evaluating `code` (a string of R code) in a
# fresh R process, above the memory the process held just before it: the
# kernel's high-water mark (VmHWM) is reset through /proc/self/clear_refs
# after `setup` has run.
peak_memory <- function(setup, code) {
    script <- tempfile(fileext = ".R")
    on.exit(unlink(script))
    writeLines(c(
        setup,
        "status <- function(key) { s <- readLines('/proc/self/status')",
        "  as.numeric(gsub('[^0-9]', '', s[startsWith(s, key)])) * 1024 }",
        "invisible(gc(full = TRUE))",
        "cat('5', file = '/proc/self/clear_refs')",
        "before <- status('VmRSS:')",
        "res <- local({", code, "})",
        "peak <- status('VmHWM:')",
        "cat(sprintf('%.0f %.0f %.0f\\n', before, peak, as.numeric(object.size(res))))"
    ), script)
    out <- system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", script),
                   stdout = TRUE)
    v <- as.numeric(strsplit(utils::tail(out, 1), " ")[[1]])
    c(before = v[1], peak = v[2], increase = v[2] - v[1], result = v[3])
}

machine_line <- function() {
    cpu <- tryCatch({
        l <- readLines("/proc/cpuinfo")
        sub(".*: ", "", l[grep("^model name", l)][1])
    }, error = function(e) "unknown CPU")
    sprintf("%s, %d cores, R %s", cpu, parallel::detectCores(),
            paste(R.version$major, R.version$minor, sep = "."))
}
