# Malformed input that once crashed R (reached compiled code unchecked) is
# refused with an error that names what is wrong.  Each case runs in a
# child R process, so that a crash fails the test instead of ending the run.

.in_child <- function(expr) {
    skip_if_not_installed("callr")
    callr::r(function(code) {
        suppressPackageStartupMessages(library(bulkcausal))
        tryCatch({
            eval(parse(text = code))
            "no error"
        }, error = function(e) conditionMessage(e))
    }, args = list(code = expr))
}

test_that("invalid dgCMatrix slots are errors, not crashes", {
    make <- "set.seed(1); m <- Matrix::rsparsematrix(20, 30, 0.2); rownames(m) <- paste0('g', 1:20); ids <- rep(1:3, 10)"
    cases <- c(row = "m@i[5] <- 500L", negative = "m@i[5] <- -3L", p = "m@p[31] <- m@p[31] + 10L",
        x = "m@x <- m@x[-1]")
    for (nm in names(cases)) {
        msg <- .in_child(paste(make, cases[[nm]], "aggregateCells(m, ids)", sep = "; "))
        expect_match(msg, "not a valid dgCMatrix", label = nm)
        msg <- .in_child(paste(make, cases[[nm]], "fitPairwise(m, pairs = data.frame('g1', 'g2'))", sep = "; "))
        expect_match(msg, "not a valid dgCMatrix", label = nm)
        msg <- .in_child(paste(make, cases[[nm]], "poolCells(m, pool.size = 5, subset.row = 1:3)", sep = "; "))
        expect_match(msg, "not a valid dgCMatrix", label = nm)
    }
})

test_that("ciIndepTest checks its indices (pcalg's hot path)", {
    set.seed(2)
    ss <- ciSuffStat(matrix(rnorm(300), 3, dimnames = list(c("A", "B", "C"), NULL)))
    expect_error(ciIndepTest(NA, 2, NULL, ss), "`x` and `y` must each be one variable number from 1 to 3")
    expect_error(ciIndepTest(1e12, 2, NULL, ss), "from 1 to 3, not 1e\\+12 and 2")
    expect_error(ciIndepTest(c(5, 6), 2, NULL, ss), "from 1 to 3")
    expect_error(ciIndepTest(0, 2, NULL, ss), "from 1 to 3")
    expect_error(ciIndepTest(1.5, 2, NULL, ss), "from 1 to 3")
    expect_error(ciIndepTest(1, 4, integer(0), ss), "from 1 to 3")
    expect_error(ciIndepTest(1, 2, NA, ss), "`S` must hold variable numbers from 1 to 3, not NA")
    expect_error(ciIndepTest(1, 2, 1e7, ss), "`S` must hold variable numbers from 1 to 3")
    expect_error(ciIndepTest(1, 1, NULL, ss), "must be different variables")
    expect_error(ciIndepTest(1, 2, 2, ss), "the conditioning set `S` contains `x` or `y`")
    expect_error(ciIndepTest(1, 2, c(3, 3), ss), "`S` names a variable twice")
    expect_error(ciIndepTest(1, 2, NULL, list(a = 1)), "`suffStat` must be the result of ciSuffStat\\(\\)")
    expect_error(ciIndepTest(1, 2, NULL, 1:3), "`suffStat` must be the result of ciSuffStat\\(\\)")
    expect_equal(ciIndepTest(1, 2, 3, ss), ciTest("A", "B", "C", data = t(ss$data))$p.value)
})

test_that("a fit whose stored curves do not match its rows is refused", {
    set.seed(3)
    m <- rbind(A = runif(100), B = runif(100), C = runif(100))
    fit <- fitPairwise(m, seed = 1)
    bad <- fit
    S4Vectors::metadata(bad)$spline$coef <- S4Vectors::metadata(bad)$spline$coef[-1, ]
    expect_error(pairwiseCurves(bad), "fitted curves that do not match its rows or its basis")
    expect_error(pairwiseCurves(fit[1:2, ]), "fitted curves that do not match")
    bad <- fit
    S4Vectors::metadata(bad)$spline$context[1] <- 99L
    expect_error(pairwiseCurves(bad), "fitted curves that do not match")
    # the intact fit gives every pair's curve on the default grid of 100
    cu <- pairwiseCurves(fit)
    expect_identical(nrow(cu), 600L)
    expect_identical(unique(paste0(cu$regulator, "->", cu$target)), rownames(fit))
    expect_true(all(is.finite(cu$fit)))
})

test_that("duplicated gene names are refused where names are looked up, made unique in the audit", {
    set.seed(4)
    m <- rbind(A = runif(60), B = runif(60), A = runif(60))
    expect_error(fitPairwise(m, pairs = data.frame("A", "B")), "`x` has duplicated gene names \\('A'\\)")
    expect_error(ciTest("A", "B", data = m), "`data` has duplicated gene names \\('A'\\)")
    se <- SummarizedExperiment::SummarizedExperiment(list(exprs = round(m * 1000)))
    expect_message(a <- recoverabilityAudit(se, genes = c("A", "B", "A.1"), assay.type = "exprs", normalize = FALSE,
        nboot = 0, verbose = FALSE), "1 duplicated row names \\(e.g. 'A'\\) made unique")
    expect_setequal(rownames(auditPseudobulk(a)), c("A", "B", "A.1"))
})

# Starts `fun` in a subprocess, interrupts it one second into the call (or
# one second after its messages first match `after`) and expects it to have
# stopped, with the interrupt as its error, within 3 s.  The interrupt goes
# to the process alone, as RStudio's stop button sends it (a terminal's
# Ctrl-C reaches the workers too).
expect_interruptible <- function(fun, after = NULL) {
    # the child says when the package is loaded (which alone takes seconds),
    # so that the interrupt reaches the call, not library()
    p <- callr::r_bg(function(f) {
        suppressPackageStartupMessages(library(bulkcausal))
        cat("started\n")
        f()
    }, args = list(f = fun), stdout = "|", stderr = "|")
    on.exit(p$kill())
    t0 <- Sys.time()
    started <- FALSE
    err <- ""
    while (!started && p$is_alive() && difftime(Sys.time(), t0, units = "secs") < 120) {
        if (is.null(after)) {
            started <- any(p$read_output_lines() == "started")
        } else {
            err <- paste0(err, p$read_error())
            started <- grepl(after, err)
        }
        Sys.sleep(0.05)
    }
    expect_true(started)
    Sys.sleep(1)
    # one second into the call it is still working
    expect_true(p$is_alive())
    t1 <- Sys.time()
    p$interrupt()
    p$wait(10000)
    expect_false(p$is_alive())
    expect_lt(as.numeric(difftime(Sys.time(), t1, units = "secs")), 3)
    # and it ended because of the interrupt
    res <- tryCatch(p$get_result(), error = function(e) e)
    expect_s3_class(res, "error")
    if (inherits(res, "error")) expect_match(conditionMessage(res), "interrupt")
}

test_that("an interrupt stops a long randomGRN(), a huge bulk sample or a huge permutation test within a second or two", {
    skip_on_os("windows")
    skip_if_not_installed("callr")
    # 100,000 genes (the most it takes): the Erdos-Renyi draw takes about 10 s
    expect_interruptible(function() bulkcausal::randomGRN(1e5, seed = 1))
    # one bulk sample of 3e8 cells (minutes): stops between chunks of cells
    expect_interruptible(function() {
        m <- bulkcausal::grnModel(data.frame(from = "X", to = "Y"))
        bulkcausal::simulateBulk(m, 1, 3e8, verbose = FALSE)
    })
    # a spline CI test with a million permutations (minutes): stops between
    # permutations
    expect_interruptible(function() {
        set.seed(1)
        d <- data.frame(a = rnorm(200), b = rnorm(200), c = rnorm(200))
        bulkcausal::ciTest("a", "b", "c", d, test = "spline", nperm = 1e6)
    })
})

test_that("an interrupt of the caller stops the units its workers are running", {
    skip_on_os("windows")
    skip_if_not_installed("callr")
    # eight units of about 5 s each; the interrupt comes once the first has
    # returned, so that the workers are up and busy: without the stop flag
    # the caller waited for their units to end
    fit <- function(param) {
        force(param)
        function() {
            set.seed(1)
            x <- matrix(rnorm(500 * 2000), 500, dimnames = list(sprintf("g%03d", 1:500), NULL))
            bulkcausal::fitPairwise(x, verbose = TRUE, BPPARAM = param)
        }
    }
    expect_interruptible(fit(BiocParallel::MulticoreParam(2)), after = "fitting [1-9][0-9,]*/")
    expect_interruptible(fit(BiocParallel::SnowParam(2)), after = "fitting [1-9][0-9,]*/")
})

test_that("an interrupt while SnowParam workers start or load the package ends the call at once, leaving no worker", {
    skip_on_os("windows")
    skip_if_not_installed("callr")
    skip_if_not(dir.exists("/proc/self"), "needs /proc to find the workers")
    # socket workers alive (a zombie's command line is empty) that were not
    # there before; read from /proc, not with `ps`, which deadlocks when the
    # sanitizers' runtimes are preloaded (make sanitize-r).  Only workers in
    # this directory (the child's, which its workers inherit) count: R
    # sessions elsewhere on a shared machine start and leave their own.
    here <- normalizePath(getwd())
    snow_workers <- function() {
        pids <- suppressWarnings(as.integer(basename(list.dirs("/proc", recursive = FALSE))))
        pids <- pids[!is.na(pids)]
        cmd <- vapply(pids, function(p) {
            b <- tryCatch(readBin(sprintf("/proc/%d/cmdline", p), "raw", 8192), error = function(e) raw(),
                warning = function(w) raw())
            b[b == as.raw(0)] <- as.raw(32)
            rawToChar(b)
        }, character(1))
        pids <- pids[grepl("RSOCKnode", cmd, fixed = TRUE)]
        cwd <- vapply(pids, function(p) tryCatch(Sys.readlink(sprintf("/proc/%d/cwd", p)), error = function(e) "",
            warning = function(w) ""), character(1))
        pids[cwd == here]
    }
    before <- snow_workers()
    # 0.5 and 0.9 s: inside the sockets' set-up (bpstart); 2.5 s: the workers
    # are in their first units (they load the compiled library only, at once,
    # and the 39,800 pairs take them several seconds)
    for (wait in c(0.5, 0.9, 2.5)) {
        p <- callr::r_bg(function() {
            suppressPackageStartupMessages(library(bulkcausal))
            set.seed(1)
            x <- matrix(rnorm(200 * 3000), 200, dimnames = list(sprintf("g%03d", 1:200), NULL))
            cat("started\n")
            r <- tryCatch(fitPairwise(x, verbose = FALSE, BPPARAM = BiocParallel::SnowParam(2)),
                interrupt = function(e) "interrupt")
            cat("ended", if (identical(r, "interrupt")) "interrupt" else "otherwise", "\n")
            # the session goes on, as an interactive one would: its sockets
            # stay open, so any worker it lost would stay too
            Sys.sleep(60)
        }, stdout = "|", stderr = "|")
        out <- character()
        t0 <- Sys.time()
        while (!any(out == "started") && p$is_alive() && difftime(Sys.time(), t0, units = "secs") < 120) {
            out <- c(out, p$read_output_lines())
            Sys.sleep(0.02)
        }
        Sys.sleep(wait)
        t1 <- Sys.time()
        p$interrupt()
        while (!any(grepl("^ended", out)) && difftime(Sys.time(), t1, units = "secs") < 10) {
            out <- c(out, p$read_output_lines())
            Sys.sleep(0.02)
        }
        took <- as.numeric(difftime(Sys.time(), t1, units = "secs"))
        expect_true("ended interrupt " %in% out, info = paste("wait", wait))
        expect_lt(took, 2)
        Sys.sleep(2)
        expect_length(setdiff(snow_workers(), before), 0)
        p$kill()
        left <- setdiff(snow_workers(), before)
        if (length(left)) tools::pskill(left)
    }
})
