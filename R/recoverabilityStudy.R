#' Reproduce the theorem: when do causal relations survive aggregation?
#'
#' Simulates a three-gene chain X -> Y -> Z over a grid of edge functions,
#' aggregations, cells per sample, cause distributions and numbers of bulk
#' samples, and measures at each grid point, over replicate simulations,
#' how often functional-form (FF) consistency of the edge X -> Y and
#' conditional-independence (CI) consistency of `X _||_ Z | Y` are violated
#' at the bulk level, and how well the PC algorithm recovers the chain's
#' skeleton from the cells and from the bulk samples.
#'
#' @section The simulated chain:
#' The cause X has intercept 10, a per-sample Gaussian context shift of sd
#' 1 and, within samples, noise of sd 1 that is Gaussian (`"gaussian"`) or
#' a right-skewed shifted Gamma of shape 2 (`"skewed"`).  Both edges carry
#' the same function, centred at 10 and with slope about 1 there:
#' `affine` \eqn{x}; `hill` \eqn{6.67 + 6.67 x^6 / (10^6 + x^6)}; `sin`
#' \eqn{10 + 1.5 \sin(1.5 (x - 10))}; `quadratic` \eqn{9 + 0.5 (x -
#' 10)^2}; `tanh` \eqn{10 + 2.5 \tanh(0.8 (x - 10))}; plus Gaussian noise
#' of sd 0.3.  All expression stays positive, so every aggregation applies
#' to the latent values.  The parameters were fixed before the study ran.
#' `"affine_hill"` (not in the default grid) puts the affine function on X
#' -> Y and the Hill function on Y -> Z: with a Gaussian cause the cells are
#' jointly Gaussian in (X, Y), and then each cell's deviation from its
#' sample mean is independent of the sample means, so `X _||_ Z | Y` survives a
#' linear aggregation although Y -> Z is not affine.
#'
#' @section What is measured:
#' Per replicate: [functionalConsistency()] of X -> Y with the true
#' function (`p.curve`, `p.resid`, `ff.distance`); the CI test of `X _||_ Z
#' | Y` on the cells and on the bulk samples; with `discovery = TRUE`,
#' [discoverAtBothLevels()] (PC) and its skeleton F1 at both levels.  Per
#' grid point the rates of p-values below `alpha` with their binomial
#' standard errors.  `expected` says what the theorem guarantees:
#' `"consistent"` for affine functions under `sum` or `mean`, `"not
#' guaranteed"` elsewhere; `special` labels the cases
#' where consistency holds without the theorem (one cell per sample; a
#' quadratic edge of a Gaussian cause under a linear aggregation, for FF;
#' jointly Gaussian cells under a linear aggregation, for CI).
#'
#' @param functions Edge functions: any of `"affine"`, `"hill"`, `"sin"`,
#'   `"quadratic"`, `"tanh"`, or `"affine_hill"` (see the first section).
#' @param aggregations Any of `"sum"`, `"mean"`, `"geomean"`,
#'   `"log1p_sum"`, `"cpm"`, `"median"`, `"max"`.
#' @param pool.size Cells pooled into each bulk sample (one grid axis: several
#'   values are studied one by one).
#' @param causes Distribution of the cause within samples: `"gaussian"`,
#'   `"skewed"`.
#' @param nsamples Numbers of bulk samples.
#' @param replicates Simulations per grid point.
#' @param alpha Level of the tests.
#' @param test The CI test, `"spline"` (default) or `"fisher"`.
#' @param discovery Also run PC at both levels (needs pcalg).
#' @param max.n Most observations the HSIC step of the spline test uses
#'   (the cell level has up to `max(nsamples) * max(pool.size)`).
#' @param seed Seed; replicate `r` of grid point `g` always gets the same
#'   simulation, whatever the back-end and the rest of the grid.
#' @param BPPARAM A BiocParallel back-end over the replicates.
#' @param num.threads Threads of each replicate's simulation, fits and
#'   tests (per worker); results do not depend on it.
#' @param verbose Show a progress bar (replicates done of the total, time
#'   left), serially and with workers alike.
#'
#' @param ... Not used: an argument not listed here is an error that names it.
#' @param cells.per.sample Former name of `pool.size`, deprecated (it works,
#'   with a warning).
#' @return A tidy [S4Vectors::DataFrame], one row per grid point: the grid
#'   columns `fun`, `aggregation`, `pool.size`, `cause`, `nsamples`;
#'   `replicates`; `ff.rate` (either FF part rejected), `ff.curve.rate`,
#'   `ff.resid.rate`, `ff.distance` (median); `ci.bulk.rate`,
#'   `ci.cells.rate` (rejections of the true `X _||_ Z | Y`); `se.*` for
#'   each rate; `f1.cells`, `f1.bulk` (mean skeleton F1); `expected`;
#'   `special`.  `metadata()` holds `replicates` (one row per simulation),
#'   `alpha`, `test` and `seconds` (the wall time).
#' @seealso [plotRecoverability()]
#' @examples
#' st <- recoverabilityStudy(functions = c("affine", "sin"),
#'                           aggregations = c("mean", "log1p_sum"),
#'                           pool.size = 10, nsamples = 200, replicates = 2,
#'                           discovery = FALSE)
#' st[, c("fun", "aggregation", "ff.rate", "ci.bulk.rate", "expected")]
#' @export
#' @importFrom BiocParallel SerialParam
recoverabilityStudy <- function(functions = c("affine", "hill", "sin",
    "quadratic", "tanh"),
    aggregations = c("sum", "mean", "geomean", "log1p_sum", "cpm"),
    pool.size = c(1, 2, 5, 10, 50, 100), causes = c("gaussian", "skewed"),
    nsamples = c(100, 500), replicates = 20, alpha = 0.05, test = "spline",
    discovery = TRUE, max.n = 1000, seed = 1, BPPARAM = SerialParam(),
    num.threads = 1, verbose = interactive(), ..., cells.per.sample) {
    .check_extra_args("recoverabilityStudy",
        setdiff(names(formals(sys.function())), "cells.per.sample"), ...)
    .renamed_args("recoverabilityStudy", c(cells.per.sample = "pool.size"))
    num.threads <- .check_threads(num.threads)
    .check_members(functions, c(names(.study_functions), "affine_hill"),
        "functions")
    .check_members(aggregations, .agg_funs, "aggregations")
    .check_members(causes, c("gaussian", "skewed"), "causes")
    pool.size <- .check_count(pool.size, "pool.size", len = seq_len(100L),
        max = .int_max)
    nsamples <- .check_count(nsamples, "nsamples", len = seq_len(100L),
        min = 20, max = .int_max)
    replicates <- .check_count(replicates, "replicates", max = .int_max)
    alpha <- .check_prob(alpha, "alpha")
    test <- .check_choice(test, c("spline", "fisher"), "test")
    discovery <- .check_flag(discovery, "discovery")
    if (discovery && !requireNamespace("pcalg", quietly = TRUE)) {
        stop("`discovery = TRUE` needs the pcalg package; install it or set `discovery = FALSE`", call. = FALSE)
    }
    seed <- .check_count(seed, "seed", min = 0)
    grid <- expand.grid(fun = functions, aggregation = aggregations,
        pool.size = pool.size, cause = causes, nsamples = nsamples,
        stringsAsFactors = FALSE)
    tasks <- expand.grid(replicate = seq_len(replicates),
        point = seq_len(nrow(grid)))
    start <- Sys.time()
    verbose <- .check_flag(verbose, "verbose")
    if (.bp_start(BPPARAM)) on.exit(.bp_stop(BPPARAM), add = TRUE)
    # Units take every k-th replicate, so that each holds small and large
    # designs alike and the workers finish together.
    units <- .work_units(seq_len(nrow(tasks)),
        .n_units(nrow(tasks), BPPARAM, verbose, per.worker = 10L,
            serial = 100L), interleave = TRUE)
    res <- .run_units(units, .study_unit, tasks = tasks, grid = grid,
        seed = seed, alpha = alpha, test = test, discovery = discovery,
        max.n = max.n, num.threads = num.threads, BPPARAM = BPPARAM,
        sizes = lengths(units), what = "replicates", progress = verbose,
        label = "study")
    reps <- do.call(rbind, res)
    rownames(reps) <- NULL
    out <- .summarise_study(reps, grid, alpha)
    metadata(out) <- list(replicates = DataFrame(reps), alpha = alpha,
        test = test,
        seconds = as.numeric(difftime(Sys.time(), start, units = "secs")))
    out
}

# The replicates `idx` (rows of `tasks`) of recoverabilityStudy().
.study_unit <- function(idx, tasks, grid, seed, alpha, test, discovery, max.n,
    num.threads = 1L) {
    do.call(rbind, lapply(idx, function(t) {
        g <- grid[tasks$point[t], ]
        # the seed names the design and the replicate, not the task's position
        key <- sprintf("%s|%s|%d|%s|%d|%d", g$fun, g$aggregation, g$pool.size,
            g$cause, g$nsamples, tasks$replicate[t])
        cbind(g, replicate = tasks$replicate[t],
            .study_replicate(g, .seed_from_key(seed, key), alpha, test,
                discovery, max.n, num.threads))
    }))
}

# Edge functions of the study: the model's function, its parameters and
# the target's intercept (centred at 10 with slope about 1 there).
.study_functions <- list(
    affine = list(fun = "affine", weight = 1, K = NA, n = NA, intercept = 0),
    hill = list(fun = "hill_act", weight = 40 / 6, K = 10, n = 6,
        intercept = 10 - 20 / 6),
    sin = list(fun = "sin", weight = 1.5, K = 10, n = 1.5, intercept = 10),
    quadratic = list(fun = "quadratic", weight = 0.5, K = 10, n = NA,
        intercept = 9),
    tanh = list(fun = "tanh", weight = 2.5, K = 10, n = 0.8, intercept = 10))

# "affine_hill": affine X -> Y, Hill Y -> Z (the jointly
# Gaussian case when the cause is Gaussian).
.study_edges <- function(fun) {
    if (fun == "affine_hill") return(list(.study_functions$affine,
        .study_functions$hill))
    list(.study_functions[[fun]], .study_functions[[fun]])
}

.study_model <- function(fun, cause) {
    p <- .study_edges(fun)
    field <- function(f) vapply(p, function(e) e[[f]],
        if (f == "fun") character(1) else numeric(1))
    edges <- data.frame(from = c("X", "Y"), to = c("Y", "Z"),
        fun = field("fun"), weight = field("weight"), K = field("K"),
        n = field("n"))
    grnModel(edges,
        intercept = c(X = 10, Y = p[[1L]]$intercept, Z = p[[2L]]$intercept),
        noise = c(X = if (cause == "gaussian") "gaussian" else "gamma"),
        noise.scale = c(X = 1, Y = 0.3, Z = 0.3), context.sd = c(X = 1))
}

# A seed from the study's seed and a text key (a polynomial hash of the
# key's bytes modulo the prime 2^31 - 1, exact in doubles).
.seed_from_key <- function(seed, key) {
    h <- 0
    for (b in as.integer(charToRaw(key))) h <- (h * 131 + b) %% 2147483647
    (seed * 2147483647 + h) %% 2^52
}

.study_replicate <- function(g, seed, alpha, test, discovery, max.n,
    num.threads = 1L) {
    model <- .study_model(g$fun, g$cause)
    sim <- simulateBulk(model, nsamples = g$nsamples, pool.size = g$pool.size,
        aggregation = g$aggregation, keep.cells = TRUE, assays = "latent",
        seed = seed, num.threads = num.threads, verbose = FALSE)
    cells <- metadata(sim)$cells
    ff <- functionalConsistency(cells, sim,
        edges = data.frame(from = "X", to = "Y"), nboot = 0, alpha = alpha,
        seed = seed, num.threads = num.threads)
    ss.cells <- ciSuffStat(cells, test = test, assay.type = "latent",
        max.n = max.n, seed = seed, num.threads = num.threads)
    ss.bulk <- ciSuffStat(sim, test = test, assay.type = "latent",
        max.n = max.n, seed = seed, num.threads = num.threads)
    f1 <- c(NA_real_, NA_real_)
    if (discovery) {
        d <- discoverAtBothLevels(list(cells = cells, bulk = sim), test = test,
            alpha = alpha, max.n = max.n, seed = seed,
            num.threads = num.threads)
        f1 <- d$skeleton.f1
    }
    data.frame(p.curve = ff$p.curve, p.resid = ff$p.resid,
        ff.distance = ff$ff.distance,
        p.ci.cells = ciIndepTest(1, 3, 2, ss.cells),
        p.ci.bulk = ciIndepTest(1, 3, 2, ss.bulk), f1.cells = f1[1L],
        f1.bulk = f1[2L])
}

#' @importFrom stats median
.summarise_study <- function(reps, grid, alpha) {
    key <- do.call(paste, c(reps[, names(grid)], sep = "|"))
    gkey <- do.call(paste, c(grid, sep = "|"))
    by <- split(seq_len(nrow(reps)), factor(key, levels = gkey))
    rate <- function(v) mean(v < alpha, na.rm = TRUE)
    se <- function(p, n) sqrt(p * (1 - p) / n)
    s <- t(vapply(by, function(i) {
        r <- reps[i, ]
        ff <- r$p.curve < alpha | r$p.resid < alpha
        c(replicates = length(i), ff.rate = mean(ff, na.rm = TRUE),
            ff.curve.rate = rate(r$p.curve), ff.resid.rate = rate(r$p.resid),
            ff.distance = median(r$ff.distance, na.rm = TRUE),
            ci.bulk.rate = rate(r$p.ci.bulk),
            ci.cells.rate = rate(r$p.ci.cells), f1.cells = mean(r$f1.cells),
            f1.bulk = mean(r$f1.bulk))
    }, numeric(9)))
    out <- DataFrame(grid, s)
    for (v in c("ff.rate", "ff.curve.rate", "ff.resid.rate", "ci.bulk.rate",
        "ci.cells.rate")) {
        out[[paste0("se.", sub(".rate", "", v, fixed = TRUE))]] <- se(out[[v]],
            out$replicates)
    }
    linear <- out$aggregation %in% c("sum", "mean")
    out$expected <- ifelse(out$fun == "affine" & linear, "consistent",
        "not guaranteed")
    out$special <- ifelse(
        out$pool.size == 1 &
            out$aggregation %in% c("sum", "mean", "geomean", "median", "max"),
        "one cell per sample: the bulk is the cells",
        ifelse(out$pool.size == 1 & out$aggregation == "log1p_sum",
            "one cell per sample: log1p of each gene (CI kept, FF not)",
            ifelse(out$fun == "quadratic" & out$cause == "gaussian" & linear,
                "quadratic edge, Gaussian cause: FF holds (curve shifts only)",
                ifelse(
                    out$fun == "affine_hill" & out$cause == "gaussian" & linear,
                    "jointly Gaussian cells: CI holds for a Hill Y -> Z", ""))))
    out
}

.check_members <- function(x, choices, name) {
    if (!is.character(x) || !length(x) || anyNA(x) || !all(x %in% choices) ||
        anyDuplicated(x)) {
        stop(sprintf("`%s` must be distinct values among %s, not %s", name,
            paste(sprintf("'%s'", choices), collapse = ", "), .fmt_value(x)),
            call. = FALSE)
    }
    x
}

#' Plot a recoverability study
#'
#' Draws [recoverabilityStudy()]: the rate at which FF or CI consistency is
#' violated (or PC's skeleton F1) against the cells per sample, one panel
#' per edge function and cause, one colour per aggregation, one line type
#' per number of bulk samples, with the nominal level and +/- 2 SE bars.
#'
#' @param study The result of [recoverabilityStudy()].
#' @param what `"ff"` (FF violation rate), `"ci"` (bulk-level rejection rate
#'   of the true CI), or `"f1"` (skeleton F1 at the bulk level, the cell
#'   level dotted).
#' @return A ggplot object.
#' @examples
#' st <- recoverabilityStudy(functions = c("affine", "sin"),
#'                           aggregations = c("mean", "log1p_sum"),
#'                           pool.size = c(1, 10), nsamples = 200,
#'                           replicates = 2, discovery = FALSE)
#' if (requireNamespace("ggplot2", quietly = TRUE)) plotRecoverability(st, "ci")
#' @export
plotRecoverability <- function(study, what = c("ff", "ci", "f1")) {
    if (!requireNamespace("ggplot2", quietly = TRUE)) {
        stop("plotRecoverability() needs ggplot2; install it with install.packages('ggplot2')", call. = FALSE)
    }
    what <- .check_choice(.first(what), c("ff", "ci", "f1"), "what")
    if (!is(study, "DataFrame") || !"ci.bulk.rate" %in% colnames(study)) {
        stop("`study` must be the result of recoverabilityStudy()",
            call. = FALSE)
    }
    d <- as.data.frame(study)
    # (a study made before the pool size had this name)
    if (!"pool.size" %in% names(d))
        names(d)[names(d) == "cells.per.sample"] <- "pool.size"
    d$nsamples <- factor(d$nsamples)
    d$panel <- paste(d$fun, d$cause, sep = ", ")
    alpha <- metadata(study)$alpha
    if (is.null(alpha)) alpha <- 0.05
    col <- switch(what, ff = "ff.rate", ci = "ci.bulk.rate", f1 = "f1.bulk")
    d$y <- d[[col]]
    d$se <- if (what == "f1") NA_real_ else
        d[[paste0("se.", sub(".rate", "", col, fixed = TRUE))]]
    ylab <- switch(what, ff = "FF violation rate (either part)",
        ci = "bulk rejection rate of X _||_ Z | Y",
        f1 = "skeleton F1 (bulk; cells dotted)")
    p <- ggplot2::ggplot(d, ggplot2::aes(x = pool.size, y = y,
        colour = aggregation, linetype = nsamples)) +
        ggplot2::geom_line() + ggplot2::geom_point(size = 0.8) +
        ggplot2::scale_x_log10() + ggplot2::facet_wrap(~panel) +
        ggplot2::labs(x = "cells per sample", y = ylab,
            linetype = "bulk samples") +
        ggplot2::theme_bw()
    if (what == "f1") {
        p <- p + ggplot2::geom_line(ggplot2::aes(y = f1.cells),
            linetype = "dotted")
    } else {
        p <- p + ggplot2::geom_hline(yintercept = alpha, colour = "grey40") +
            ggplot2::geom_errorbar(ggplot2::aes(ymin = pmax(y - 2 * se, 0),
                ymax = pmin(y + 2 * se, 1)), width = 0.05)
    }
    p
}
utils::globalVariables(c("pool.size", "aggregation", "nsamples", "f1.cells",
    "se"))
