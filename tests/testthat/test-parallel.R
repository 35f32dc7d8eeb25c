# Work units, their runner and the progress they report.

# The lines a progress bar drew (it redraws with "\r"), from captured messages.
bar_lines <- function(msgs) {
    lines <- unlist(strsplit(paste(msgs, collapse = "\n"), "[\r\n]+"))
    lines[grepl("\\d+/\\d+ ", lines)]
}

# The counts a bar showed ("12/56 pairs" -> 12, with the total), in order.
bar_counts <- function(lines, what) {
    m <- regmatches(lines, regexpr(sprintf("\\d+/\\d+ %s", what), lines))
    done <- as.integer(sub("/.*", "", m))
    total <- as.integer(sub(" .*", "", sub(".*/", "", m)))
    list(done = done, total = unique(total))
}

test_that("work units cover every item once, keep groups together and respect the unit count", {
    set.seed(1)
    group <- rep(sample(letters[1:9]), times = sample(1:12, 9, replace = TRUE))
    group <- sort(group)
    for (nunits in c(1, 2, 3, 8, 20)) {
        u <- bulkcausal:::.work_units(group, nunits)
        expect_identical(sort(unlist(u)), seq_along(group))
        expect_lte(length(u), nunits)
        # no group in two units, and items in their order
        expect_equal(sum(vapply(u, function(i) length(unique(group[i])), 1)), length(unique(group)))
        expect_identical(unlist(u), seq_along(group))
    }
    # equal items: sizes differ by at most one
    u <- bulkcausal:::.work_units(seq_len(103), 8)
    expect_length(u, 8)
    expect_lte(diff(range(lengths(u))), 1)
    # interleaved: unit j takes items j, j + n, ...
    u <- bulkcausal:::.work_units(seq_len(10), 3, interleave = TRUE)
    expect_identical(u, list(c(1L, 4L, 7L, 10L), c(2L, 5L, 8L), c(3L, 6L, 9L)))
    expect_identical(bulkcausal:::.work_units(character(0), 4), list())
    # how many units: one serially, more with progress, four per worker
    serial <- BiocParallel::SerialParam()
    expect_equal(bulkcausal:::.n_units(500, serial, FALSE), 1)
    expect_equal(bulkcausal:::.n_units(500, serial, TRUE), 20)
    expect_equal(bulkcausal:::.n_units(500, BiocParallel::MulticoreParam(2), FALSE), 8)
    expect_equal(bulkcausal:::.n_units(3, BiocParallel::MulticoreParam(2), FALSE), 3)
})

test_that("the runner returns results in task order and a worker's error as a serial run gives it", {
    f <- function(t, add) if (t == 3) stop("bad task ", t, call. = FALSE) else t + add
    for (p in list(BiocParallel::SerialParam(), BiocParallel::MulticoreParam(2))) {
        expect_identical(bulkcausal:::.run_units(as.list(c(5, 1, 4, 2)), f, add = 1, BPPARAM = p), list(6, 2, 5, 3))
        expect_error(bulkcausal:::.run_units(as.list(1:5), f, add = 1, BPPARAM = p), "^bad task 3$")
    }
    # a NULL result keeps its place
    expect_identical(bulkcausal:::.run_units(list(1, 2), function(t) if (t == 1) NULL else t,
        BPPARAM = BiocParallel::MulticoreParam(2)), list(NULL, 2))
})

test_that("units of the compiled core are sent without the package, others as they are", {
    p <- bulkcausal:::.portable(bulkcausal:::.fit_pair_chunk)
    expect_type(p, "closure")
    # under the base environment, with copies of the package functions it
    # uses and the core's routines by their registered names
    expect_identical(topenv(environment(p)), baseenv())
    expect_true(all(c("fit_pairwise_cpp", "rate_test_cpp", ".call_core") %in% ls(environment(p), all.names = TRUE)))
    expect_identical(get("_bulkcausal_fit_pairwise_cpp", environment(p)), "_bulkcausal_fit_pairwise_cpp")
    expect_identical(environment(get(".call_core", environment(p))), environment(p))
    # the copy computes what the original does
    set.seed(3)
    task <- list(data = matrix(rnorm(200), 100, 2), gene.id = 0:1, reg = 0L, tgt = 1L)
    opts <- list(k = 6L, method = "REML", nboot = 0L, level = 0.95, seed = 1L, test = "F", rate.test = TRUE,
        dispersion = 0, lambda.scale = 1, num.threads = 1L)
    expect_identical(p(task, opts = opts, verbose = FALSE), bulkcausal:::.fit_pair_chunk(task, opts, FALSE))
    # not portable: an imported class, a generic, an environment
    expect_null(bulkcausal:::.portable(function(x) DataFrame(x)))
    expect_null(bulkcausal:::.portable(function(x) fitPairwise(x)))
    expect_null(bulkcausal:::.portable(function() .bp_owned))
    # nor what is sent with a unit, unless it needs no package
    expect_true(bulkcausal:::.plain(list(a = matrix(1:4, 2), b = NULL, c = data.frame(x = 1), d = factor("a"))))
    expect_false(bulkcausal:::.plain(list(1, S4Vectors::DataFrame(a = 1))))
    expect_false(bulkcausal:::.plain(list(f = function() 1)))
    f <- bulkcausal:::.fit_pair_chunk
    expect_identical(bulkcausal:::.portable_units(f, list(task), list(opts = list(s = S4Vectors::List())))$fun, f)
    expect_false(identical(bulkcausal:::.portable_units(f, list(task), list(opts = opts))$fun, f))
})

test_that("SnowParam workers fit without loading the package's namespace, with the serial result", {
    set.seed(5)
    x <- matrix(rpois(12 * 300, 4), 12, 300, dimnames = list(paste0("g", 1:12), NULL))
    # (not exporting the master's options: under testthat they hold
    # functions of the package loaded for the tests, which would load it)
    p <- BiocParallel::SnowParam(2, exportglobals = FALSE)
    BiocParallel::bpstart(p)
    on.exit(BiocParallel::bpstop(p))
    for (counts in c(FALSE, TRUE)) {
        expect_identical(fitPairwise(x, counts = counts, nboot = 5, seed = 2, verbose = FALSE, BPPARAM = p),
            fitPairwise(x, counts = counts, nboot = 5, seed = 2, verbose = FALSE))
    }
    loaded <- function(i) c(namespace = "bulkcausal" %in% loadedNamespaces(),
        library = "bulkcausal" %in% names(getLoadedDLLs()))
    environment(loaded) <- baseenv()
    for (w in BiocParallel::bplapply(1:2, loaded, BPPARAM = p)) {
        expect_identical(w, c(namespace = FALSE, library = TRUE))
    }
    # a worker's error reads as it would serially
    expect_error(fitPairwise(x - 1, counts = TRUE, verbose = FALSE, BPPARAM = p), "must hold counts")
})

test_that("fitPairwise shows progress in pairs, serially and with workers, reaching the total", {
    set.seed(2)
    x <- matrix(rnorm(12 * 150), 12, 150, dimnames = list(paste0("g", 1:12), NULL))
    ref <- fitPairwise(x, k = 6, seed = 1, verbose = FALSE)
    for (p in list(BiocParallel::SerialParam(), BiocParallel::MulticoreParam(2))) {
        msgs <- capture.output(fit <- fitPairwise(x, k = 6, seed = 1, verbose = TRUE, BPPARAM = p), type = "message")
        n <- bar_counts(bar_lines(msgs), "pairs")
        expect_identical(n$total, 132L)
        expect_identical(tail(n$done, 1), 132L)
        expect_false(is.unsorted(n$done))
        # several steps, not a jump from 0 to the total
        expect_gt(length(unique(n$done)), 4)
        expect_identical(as.data.frame(fit), as.data.frame(ref))
    }
    # verbose = FALSE prints nothing
    expect_silent(fitPairwise(x, k = 6, seed = 1, verbose = FALSE, BPPARAM = BiocParallel::MulticoreParam(2)))
})

test_that("the audit's steps all run on the workers, with progress, and give the serial result", {
    data(pbmc283, package = "bulkcausal")
    ref <- recoverabilityAudit(pbmc283, pool.size = 5, ngenes = 6, nboot = 10, verbose = FALSE)
    msgs <- capture.output(par <- recoverabilityAudit(pbmc283, pool.size = 5, ngenes = 6, nboot = 10,
        verbose = TRUE, BPPARAM = BiocParallel::MulticoreParam(2)), type = "message")
    expect_identical(auditTable(par), auditTable(ref))
    lines <- bar_lines(msgs)
    npairs <- nrow(auditTable(ref))
    for (step in c("^FF ", "^fitting ")) {
        n <- bar_counts(grep(step, lines, value = TRUE), "pairs")
        expect_identical(n$total, npairs)
        expect_identical(tail(n$done, 1), npairs)
    }
    n <- bar_counts(grep("^cell resamples ", lines, value = TRUE), "resamples")
    expect_identical(c(n$total, tail(n$done, 1)), c(10L, 10L))
    # one CI test per unordered pair and level
    for (step in c("^CI cells ", "^CI pseudobulk ")) {
        n <- bar_counts(grep(step, lines, value = TRUE), "tests")
        expect_identical(c(n$total, tail(n$done, 1)), rep(as.integer(npairs / 2), 2))
    }
})

test_that("spline CI tests on a subset of the columns, with the columns' ids, give the whole data's p-values", {
    set.seed(3)
    d <- matrix(rnorm(300 * 6), 300, 6)
    d[, 2] <- d[, 2] + sin(2 * d[, 1])
    d[, 5] <- d[, 5] + d[, 4]^2
    x <- c(0L, 3L, 1L)
    y <- c(1L, 4L, 5L)
    none <- rep(list(integer(0)), 3)
    whole <- bulkcausal:::spline_tests_cpp(d, x, y, none, 8L, 100, 0L, 7, 1L, FALSE)
    cols <- sort(unique(c(x, y)))
    sub <- bulkcausal:::spline_tests_cpp(d[, cols + 1L], match(x, cols) - 1L, match(y, cols) - 1L, none, 8L, 100,
        0L, 7, 1L, FALSE, cols)
    expect_identical(sub$p.value, whole$p.value)
    # without the ids the subsample differs (the ids are what keeps them)
    plain <- bulkcausal:::spline_tests_cpp(d[, cols + 1L], match(x, cols) - 1L, match(y, cols) - 1L, none, 8L,
        100, 0L, 7, 1L, FALSE)
    expect_false(identical(plain$p.value, whole$p.value))
    expect_error(bulkcausal:::spline_tests_cpp(d, x, y, none, 8L, 100, 0L, 7, 1L, FALSE, 1:3),
        "one id per variable")
})

test_that("recoverabilityStudy counts replicates and gives the serial result with workers", {
    skip_if_not_installed("pcalg")
    args <- list(functions = "affine", aggregations = "mean", pool.size = 5, causes = "gaussian",
        nsamples = 60, replicates = 6, discovery = FALSE, max.n = 200, seed = 2)
    ref <- do.call(recoverabilityStudy, c(args, verbose = FALSE))
    msgs <- capture.output(par <- do.call(recoverabilityStudy, c(args, verbose = TRUE,
        BPPARAM = BiocParallel::MulticoreParam(2))), type = "message")
    n <- bar_counts(bar_lines(msgs), "replicates")
    expect_identical(c(n$total, tail(n$done, 1)), c(6L, 6L))
    expect_identical(metadata(par)$replicates, metadata(ref)$replicates)
    expect_identical(as.data.frame(par), as.data.frame(ref))
})

test_that("batchtools back-ends (local multicore and socket cluster functions) give the serial result", {
    skip_if_not_installed("batchtools")
    set.seed(4)
    x <- matrix(rnorm(6 * 120), 6, 120, dimnames = list(paste0("g", 1:6), NULL))
    x[2, ] <- x[2, ] + sin(2 * x[1, ])
    ref <- fitPairwise(x, k = 6, nboot = 5, seed = 1, verbose = FALSE)
    for (cluster in c("multicore", "socket")) {
        p <- BiocParallel::BatchtoolsParam(2, cluster = cluster,
            registryargs = BiocParallel::batchtoolsRegistryargs(file.dir = tempfile("registry")))
        msgs <- capture.output(fit <- fitPairwise(x, k = 6, nboot = 5, seed = 1, verbose = TRUE, BPPARAM = p),
            type = "message")
        expect_identical(as.data.frame(fit), as.data.frame(ref))
        expect_identical(metadata(fit)$spline$coef, metadata(ref)$spline$coef)
        n <- bar_counts(bar_lines(msgs), "pairs")
        expect_identical(c(n$total, tail(n$done, 1)), c(30L, 30L))
        # the call started the registry and removed it again
        expect_false(BiocParallel::bpisup(p))
    }
    # the audit's several steps reuse one registry
    data(pbmc283, package = "bulkcausal")
    p <- BiocParallel::BatchtoolsParam(2, cluster = "multicore",
        registryargs = BiocParallel::batchtoolsRegistryargs(file.dir = tempfile("registry")))
    ref <- recoverabilityAudit(pbmc283, pool.size = 10, ngenes = 4, nboot = 5, verbose = FALSE)
    bt <- suppressMessages(recoverabilityAudit(pbmc283, pool.size = 10, ngenes = 4, nboot = 5, verbose = FALSE,
        BPPARAM = p))
    expect_identical(auditTable(bt), auditTable(ref))
})

test_that("a local batchtools registry the call made polls every second and writes uncompressed", {
    skip_if_not_installed("batchtools")
    p <- BiocParallel::BatchtoolsParam(2, cluster = "socket",
        registryargs = BiocParallel::batchtoolsRegistryargs(file.dir = tempfile("registry")))
    expect_true(bulkcausal:::.bp_start(p))
    expect_identical(p$registry$sleep, 1)
    expect_false(p$registry$compress)
    bulkcausal:::.bp_stop(p)
    # a configuration file decides, and a scheduler's registry is not touched
    conf <- tempfile(fileext = ".R")
    writeLines("compress = 'xz'", conf)
    p <- BiocParallel::BatchtoolsParam(2, cluster = "socket",
        registryargs = BiocParallel::batchtoolsRegistryargs(file.dir = tempfile("registry"), conf.file = conf))
    expect_true(bulkcausal:::.bp_start(p))
    expect_null(p$registry$sleep)
    expect_identical(p$registry$compress, "xz")
    bulkcausal:::.bp_stop(p)
    # (no scheduler here: a local back-end that says it is one)
    p <- BiocParallel::BatchtoolsParam(2, cluster = "socket")
    p$cluster <- "slurm"
    expect_false(bulkcausal:::.bt_local(p))
    # the registry is removed without BiocParallel's wait for an abort
    p <- BiocParallel::BatchtoolsParam(2, cluster = "multicore",
        registryargs = BiocParallel::batchtoolsRegistryargs(file.dir = tempfile("registry")))
    bulkcausal:::.bp_start(p)
    dir <- p$registry$file.dir
    expect_true(dir.exists(dir))
    seen <- new.env()
    suppressMessages(trace("removeRegistry", where = asNamespace("batchtools"), print = FALSE,
        tracer = bquote(assign("wait", wait, envir = .(seen)))))
    on.exit(suppressMessages(untrace("removeRegistry", where = asNamespace("batchtools"))))
    bulkcausal:::.bp_stop(p)
    expect_identical(seen$wait, 0)
    expect_false(dir.exists(dir))
})

test_that("the rates of count fits show a bar in genes and give the numbers of one call", {
    set.seed(7)
    n <- 150
    g <- 30
    sf <- rlnorm(n, 0, 0.3)
    cnt <- matrix(rpois(n * g, sf * rgamma(n * g, 2, 1)), n, g, dimnames = list(NULL, sprintf("g%02d", seq_len(g))))
    need <- seq_len(g) %% 3 != 0
    one <- bulkcausal:::.count_rates(cnt, sf, 0, need = need)
    msgs <- capture.output(bar <- bulkcausal:::.count_rates(cnt, sf, 0, verbose = TRUE, need = need), type = "message")
    expect_identical(bar, one)
    lines <- bar_lines(msgs)
    expect_true(any(grepl("^estimating rates 30/30 genes", lines)))
    # one size factor per value (a column per gene), and given priors
    sfv <- matrix(rep(sf, g) * rep(seq(0.5, 1.5, length.out = g), each = n), n)
    pr <- list(grid = one$prior.grid, weight = one$prior.weight)
    one <- bulkcausal:::.count_rates(cnt, sfv, 0.2, prior = pr)
    capture.output(bar <- bulkcausal:::.count_rates(cnt, sfv, 0.2, verbose = TRUE, prior = pr), type = "message")
    expect_identical(bar, one)
})

test_that("a worker's compiled loops stop when the caller's stop flag appears, and only then", {
    # (large enough that the core polls before its threads are done)
    set.seed(8)
    x <- matrix(rnorm(60 * 1000), 60, dimnames = list(sprintf("g%02d", 1:60), NULL))
    ref <- fitPairwise(x, seed = 1, verbose = FALSE)
    flag <- tempfile("stop-")
    on.exit({
        bulkcausal:::set_stop_file_cpp("")
        unlink(flag)
    })
    # a flag that names no file yet changes nothing
    bulkcausal:::set_stop_file_cpp(flag)
    expect_identical(as.data.frame(fitPairwise(x, seed = 1, verbose = FALSE)), as.data.frame(ref))
    # once the file exists the core's polls stop the work
    file.create(flag)
    expect_error(fitPairwise(x, seed = 1, verbose = FALSE), "interrupted")
    # cleared (as after each unit), the work runs again
    bulkcausal:::set_stop_file_cpp("")
    expect_identical(as.data.frame(fitPairwise(x, seed = 1, verbose = FALSE)), as.data.frame(ref))
})

test_that("the stop flag also ends the audit's loops of small compiled steps", {
    # the functional-consistency step's per-column F tests, curve values and
    # distances, and its per-pair HSIC tests, each called from R loops
    set.seed(9)
    n <- 200
    X <- matrix(runif(n * 400), n)
    R <- matrix(rnorm(n * 400), n)
    seeds <- as.numeric(seq_len(400))
    fit <- fitPairwise(rbind(a = X[, 1], b = R[, 1]), pairs = data.frame(regulator = "a", target = "b"), verbose = FALSE)
    values <- function() bulkcausal:::.curve_values(fit, rep(1L, 400), X)
    distances <- function() bulkcausal:::curve_distances_cpp(X, X, R, R, 0.05, 0.95)
    ftests <- function() bulkcausal:::gap_ftests_cpp(X, R, 10L, seeds)
    hsic <- function() bulkcausal:::hsic_draws_test_cpp(X[, 1], R[, 1], R[, 2:40], 10L)
    ref <- list(values(), distances(), ftests(), hsic())
    flag <- tempfile("stop-")
    on.exit({
        bulkcausal:::set_stop_file_cpp("")
        unlink(flag)
    })
    bulkcausal:::set_stop_file_cpp(flag)
    expect_identical(list(values(), distances(), ftests(), hsic()), ref)
    file.create(flag)
    for (f in list(values, distances, ftests, hsic)) {
        Sys.sleep(0.15)  # past the checks' rate limits
        expect_error(f(), "interrupted")
    }
    bulkcausal:::set_stop_file_cpp("")
    expect_identical(list(values(), distances(), ftests(), hsic()), ref)
})

test_that("every heavy entry point takes BPPARAM and num.threads, with results that do not depend on them", {
    skip_on_os("windows")
    mc <- BiocParallel::MulticoreParam(2)
    edges <- data.frame(from = c("X", "Y", "X"), to = c("Y", "Z", "W"), fun = c("hill_act", "affine", "sin"),
        weight = c(3, 0.8, 1))
    model <- grnModel(edges, intercept = c(X = 2), context.sd = c(X = 1))
    sim <- simulateBulk(model, nsamples = 120, pool.size = 15, keep.cells = TRUE, seed = 4)
    cells <- metadata(sim)$cells
    # the simulators: ranges of samples on the workers, each sample from its own streams
    m2 <- grnModel(edges, genes = c("X", "Y", "Z", "W"), intercept = c(X = 2), context.sd = c(X = 1),
        observation = "nb", library.size = 3, celltypes = matrix(c(0, 1, 0, 0, 0, 0, 0, 0), 2,
        dimnames = list(c("a", "b"), c("X", "Y", "Z", "W"))))
    for (agg in c("mean", "cpm")) {
        expect_identical(simulateBulk(m2, nsamples = 9, pool.size = rep(c(20, 35, 10), 3), aggregation = agg,
            keep.cells = TRUE, assays = c("counts", "rate"), seed = 5, BPPARAM = mc, verbose = FALSE),
            simulateBulk(m2, nsamples = 9, pool.size = rep(c(20, 35, 10), 3), aggregation = agg,
                keep.cells = TRUE, assays = c("counts", "rate"), seed = 5, verbose = FALSE))
    }
    expect_identical(simulateCells(m2, ncells = 500, nsamples = 7, seed = 3, BPPARAM = mc, verbose = FALSE),
        simulateCells(m2, ncells = 500, nsamples = 7, seed = 3, verbose = FALSE))
    # a refused value names its cell in the whole simulation, not in the worker's range
    expect_error(bulkcausal:::simulate_bulk_cpp(bulkcausal:::.model_to_core(model), rep(10, 3), 1, "cpm", 1, TRUE,
        FALSE, FALSE, FALSE, 1L, list(), FALSE, list(model@genes, NULL), 5, 1000), "in simulated cell 10[0-9][0-9];")
    # functionalConsistency: fits and cell resamples on the workers, threads in each
    ff1 <- functionalConsistency(cells, sim, truth = FALSE, nboot = 20, seed = 2)
    ff2 <- functionalConsistency(cells, sim, truth = FALSE, nboot = 20, seed = 2, BPPARAM = mc, num.threads = 2)
    expect_identical(ff1, ff2)
    expect_true(all(is.finite(ff1$ff.distance)))
    # ciConsistency: statements over the workers
    c1 <- ciConsistency(cells, sim, max.cond = 1, assay.type = c("latent", "latent"), seed = 3)
    c2 <- ciConsistency(cells, sim, max.cond = 1, assay.type = c("latent", "latent"), seed = 3, BPPARAM = mc,
        num.threads = 2)
    expect_identical(c1, c2)
    expect_gt(nrow(c1), 6)
    # discoverAtBothLevels: one level per worker
    if (requireNamespace("pcalg", quietly = TRUE)) {
        d1 <- discoverAtBothLevels(sim, test = "fisher", equal.n = TRUE)
        d2 <- discoverAtBothLevels(sim, test = "fisher", equal.n = TRUE, BPPARAM = mc)
        expect_identical(as.data.frame(d1), as.data.frame(d2))
        expect_identical(d1$level, c("cells", "bulk", "cells.subsampled"))
    }
    # the audit: threads of its fits and CI tests
    # (shifted to positive values, as expression on a linear scale)
    sce <- SingleCellExperiment::SingleCellExperiment(list(values = SummarizedExperiment::assay(cells, "latent") + 40))
    sce$sample <- cells$sample
    a1 <- recoverabilityAudit(sce, sample = "sample", genes = c("X", "Y", "Z"), assay.type = "values",
        normalize = FALSE, nboot = 10, verbose = FALSE)
    a2 <- recoverabilityAudit(sce, sample = "sample", genes = c("X", "Y", "Z"), assay.type = "values",
        normalize = FALSE, nboot = 10, num.threads = 2, verbose = FALSE)
    expect_identical(auditTable(a1), auditTable(a2))
    # the study: threads of each replicate
    s1 <- recoverabilityStudy(functions = "sin", aggregations = "mean", pool.size = 5, nsamples = 100,
        causes = "gaussian", replicates = 2, discovery = FALSE, verbose = FALSE)
    s2 <- recoverabilityStudy(functions = "sin", aggregations = "mean", pool.size = 5, nsamples = 100,
        causes = "gaussian", replicates = 2, discovery = FALSE, num.threads = 2, verbose = FALSE)
    expect_identical(metadata(s1)$replicates, metadata(s2)$replicates)
})
