# The fuzz suite's cases: every export called with one argument of a valid
# call replaced by a malformed value.  test-fuzz.R runs them in a separate R
# process (a crash must not take the test run with it) and expects each to
# return or to fail with an R error, within a time limit; never a signal.
# This file is sourced by that process as well as by testthat.

# Malformed values, by name.  int.max is a size that is legal where sizes
# are but cannot be served in a test's time: the functions must refuse it
# or be interruptible (the time limit interrupts them).
fuzz_values <- function(long = identical(Sys.getenv("BULKCAUSAL_FUZZ"), "long")) {
    v <- list(NULL_ = NULL, NA_ = NA, NA_real = NA_real_, NaN_ = NaN, Inf_ = Inf, minus_Inf = -Inf, minus_one = -1,
        zero = 0, half = 0.5, huge = 1e12, beyond_int = 3e9, int_max = .Machine$integer.max, minus_huge = -1e12,
        string = "a", true = TRUE, empty_num = numeric(0), empty_chr = character(0), vector = c(1, 2, 3),
        list_ = list(1), fun = function() 1, complex_ = 1i, empty_df = data.frame(),
        empty_matrix = matrix(numeric(0), 0, 0))
    # the short suite (make test) takes the values that found defects before;
    # BULKCAUSAL_FUZZ=long takes them all
    if (long) v else v[c("NULL_", "NA_", "minus_one", "half", "beyond_int", "int_max", "string", "empty_num",
        "vector", "fun")]
}

# Valid objects the calls are built from (small, so that valid calls are fast).
fuzz_base <- function() {
    suppressPackageStartupMessages({
        library(bulkcausal)
        library(SummarizedExperiment)
        library(SingleCellExperiment)
    })
    set.seed(1)
    model <- grnModel(data.frame(from = c("X", "Y"), to = c("Y", "Z"), fun = c("affine", "hill_act"),
        weight = c(1, 2)))
    sim <- simulateBulk(model, 30, 5, keep.cells = TRUE, seed = 1, verbose = FALSE)
    cells <- S4Vectors::metadata(sim)$cells
    counts <- matrix(rpois(6 * 240, 3), 6, 240, dimnames = list(paste0("g", 1:6), paste0("c", 1:240)))
    counts[2, ] <- counts[1, ] + rpois(240, 1)
    sce <- SingleCellExperiment(list(counts = counts),
        colData = S4Vectors::DataFrame(sample = rep(paste0("s", 1:24), 10)))
    ids <- rep(paste0("s", 1:24), 10)
    fit <- fitPairwise(counts, genes = c("g1", "g2", "g3"), nboot = 0, verbose = FALSE)
    d <- data.frame(a = rnorm(60), b = rnorm(60), c = rnorm(60))
    ss <- ciSuffStat(d, test = "fisher")
    audit <- recoverabilityAudit(sce, sample = "sample", genes = c("g1", "g2", "g3"), nboot = 0, ci = FALSE,
        verbose = FALSE)
    list(model = model, sim = sim, cells = cells, counts = counts, sce = sce, ids = ids, fit = fit, d = d, ss = ss,
        audit = audit)
}

# The valid calls: function name and argument list.
fuzz_calls <- function(b) {
    list(
        list("aggregateCells", list(x = b$counts, sample = b$ids, aggregation = "mean", na.rm = FALSE, pseudo = 1,
            num.threads = 1, verbose = FALSE)),
        list("poolCells", list(x = b$counts, pool.size = 5, npools = 4, replace = FALSE, seed = 1, num.threads = 1,
            verbose = FALSE)),
        list("fitPairwise", list(x = b$counts, genes = c("g1", "g2"), k = 6, nboot = 2, level = 0.9, seed = 1,
            num.threads = 1, verbose = FALSE)),
        list("fitPairwise", list(x = b$counts, genes = c("g1", "g2"), counts = TRUE, size.factors = rep(1, 240),
            dispersion = 0.1, nboot = 0, verbose = FALSE)),
        list("pairwiseCurves", list(fit = b$fit, pairs = 1:2, grid = 5, level = 0.9)),
        list("ciTest", list(x = "a", y = "b", z = "c", data = b$d, test = "fisher")),
        list("ciSuffStat", list(data = b$d, test = "spline", k = 6, max.n = 50, nperm = 5, seed = 1,
            num.threads = 1)),
        list("ciIndepTest", list(x = 1, y = 2, S = 3, suffStat = b$ss)),
        list("grnModel", list(edges = data.frame(from = "X", to = "Y"), noise.scale = 1, context.sd = 0,
            library.size = 1, nb.size = 10)),
        list("randomGRN", list(ngenes = 5, prob = 0.3, negative.prob = 0.5, seed = 1)),
        list("simulateCells", list(model = b$model, ncells = 50, nsamples = 5, seed = 1, num.threads = 1,
            verbose = FALSE)),
        list("simulateBulk", list(model = b$model, nsamples = 5, pool.size = 4, aggregation = "mean",
            keep.cells = TRUE, seed = 1, num.threads = 1, verbose = FALSE)),
        list("trueFunction", list(model = b$model, from = "X", to = "Y")),
        list("edgeTable", list(model = b$model)),
        list("modelGraph", list(model = b$model, as = "matrix", weights = TRUE)),
        list("functionalConsistency", list(cells = b$cells, bulk = b$sim, k = 6, nboot = 2, level = 0.9,
            alpha = 0.05, tolerance = 0.1, seed = 1, max.n = 100)),
        list("ciConsistency", list(cells = b$cells, bulk = b$sim, max.cond = 1, test = "fisher", alpha = 0.05,
            limit = 50, verbose = FALSE)),
        list("recoverabilityAudit", list(x = b$sce, sample = "sample", genes = c("g1", "g2"), k = 6, nboot = 2,
            level = 0.9, alpha = 0.05, tolerance = 0.1, ci = FALSE, max.n = 100, seed = 1, verbose = FALSE)),
        list("auditTable", list(x = b$audit)),
        list("scoreGraph", list(estimated = b$model, truth = b$model)),
        list("plotPairwise", list(fit = b$fit, x = b$counts, pairs = 1, max.pairs = 4, level = 0.9)),
        list("plotNonlinearity", list(b$fit, alpha = 0.05))
    )
}

# Base R messages about an argument the package never checked: an error
# should name the argument instead.
fuzz_internal <- paste("subscript out of bounds|missing value where|argument is of length zero|non-numeric argument",
    "invalid 'type'|cannot coerce|not subsettable|unused argument|no applicable method|NAs introduced|object of type",
    "incorrect number of dimensions|replacement has|arguments imply|is not a function|non-conformable", sep = "|")

# Every case: one argument of one call replaced by one malformed value.
fuzz_cases <- function(b) {
    vals <- fuzz_values()
    out <- list()
    for (call in fuzz_calls(b)) {
        for (arg in names(call[[2L]])) {
            for (v in names(vals)) {
                args <- call[[2L]]
                if (arg == "") next
                if (is.null(vals[[v]])) args[arg] <- list(NULL) else args[[arg]] <- vals[[v]]
                out[[length(out) + 1L]] <- list(name = sprintf("%s(%s = %s)", call[[1L]], arg, v), fun = call[[1L]],
                    args = args)
            }
        }
    }
    out
}

# Runs cases `from`..`to` (all by default), appending one line per case to
# `out`: "start <i>" before it, then "<i>\t<ok|error|hang>\t<message>".
# Each case has `limit` seconds of elapsed time.
fuzz_run <- function(out, from = 1L, to = NULL, limit = 10) {
    b <- fuzz_base()
    cases <- fuzz_cases(b)
    if (is.null(to)) to <- length(cases)
    for (i in seq.int(from, to)) {
        cat(sprintf("start %d\n", i), file = out, append = TRUE)
        cs <- cases[[i]]
        res <- tryCatch({
            setTimeLimit(elapsed = limit, transient = TRUE)
            on.exit(setTimeLimit(elapsed = Inf), add = TRUE)
            r <- suppressWarnings(suppressMessages(do.call(cs$fun, cs$args)))
            if (is(r, "ggplot")) invisible(ggplot2::ggplot_build(r))
            c("ok", "")
        }, error = function(e) {
            msg <- conditionMessage(e)
            c(if (grepl("time limit|interrupted", msg)) "hang" else "error", gsub("[\t\n]", " ", msg))
        })
        setTimeLimit(elapsed = Inf)
        cat(sprintf("%d\t%s\t%s\n", i, res[1L], res[2L]), file = out, append = TRUE)
    }
    invisible(NULL)
}

# Runs every case in separate R processes (callr), one process for as many
# cases as it survives: when a process dies (a signal) or stops making
# progress for `limit` + 30 s (a hang the time limit cannot interrupt), its
# current case is recorded as "crash" or "hang" and a new process goes on
# from the next case.  Returns a data.frame of case, outcome and message.
fuzz_drive <- function(helper, limit = 10) {
    names <- callr::r(function(helper) {
        source(helper)
        vapply(fuzz_cases(fuzz_base()), function(cs) cs$name, "")
    }, list(helper))
    out <- tempfile()
    from <- 1L
    result <- data.frame(case = names, outcome = NA_character_, message = NA_character_, stringsAsFactors = FALSE)
    while (from <= length(names)) {
        file.create(out)
        p <- callr::r_bg(function(helper, out, from, limit) {
            source(helper)
            fuzz_run(out, from, limit = limit)
        }, list(helper, out, from, limit))
        last <- Sys.time()
        seen <- 0L
        killed <- FALSE
        repeat {
            p$wait(1000)
            lines <- readLines(out, warn = FALSE)
            if (length(lines) > seen) {
                seen <- length(lines)
                last <- Sys.time()
            }
            if (!p$is_alive()) break
            if (as.numeric(difftime(Sys.time(), last, units = "secs")) > limit + 30) {
                p$kill()
                killed <- TRUE
                break
            }
        }
        lines <- readLines(out, warn = FALSE)
        done <- grep("^[0-9]+\t", lines, value = TRUE)
        for (l in strsplit(done, "\t", fixed = TRUE)) {
            i <- as.integer(l[1L])
            result$outcome[i] <- l[2L]
            result$message[i] <- if (length(l) > 2L) l[3L] else ""
        }
        started <- as.integer(sub("^start ", "", grep("^start ", lines, value = TRUE)))
        open <- setdiff(started, as.integer(vapply(strsplit(done, "\t", fixed = TRUE), `[`, "", 1L)))
        if (!length(open)) break  # the process finished its cases
        i <- max(open)
        status <- p$get_exit_status()
        result$outcome[i] <- if (killed) "hang" else "crash"
        result$message[i] <- if (killed) sprintf("no answer within %d s; the R process was killed", limit + 30) else
            sprintf("the R process ended with status %s", format(status))
        from <- i + 1L
    }
    result
}
