#' Fit pairwise regulatory functions with penalised splines
#'
#' For each pair (regulator X, target Y) fits `Y = f(X) + e` with the model
#' of mgcv's `gam(y ~ s(x, bs = "ps", k = k), method = method)`: a cubic
#' B-spline basis of dimension `k` on mgcv's equally spaced knots, a
#' second-order difference penalty, and the smoothing parameter chosen per
#' pair by REML or GCV. It also fits the affine least-squares line and
#' measures how far the spline is from it (the nonlinearity index `nl`,
#' defined under The columns).
#'
#' The work runs in C++, batched by regulator: the basis of a regulator and
#' its eigen-decomposition are computed once and reused for every target, so
#' a target costs one projection of its values on the basis plus O(k) per
#' candidate smoothing parameter. Threads (`num.threads`) and BiocParallel
#' workers (`BPPARAM`) split the regulators; results do not depend on either.
#'
#' Observations with a missing value in the regulator or the target are left
#' out of that pair (`n` gives the number used). Genes with missing values
#' in some targets are fitted on their own rows, at the cost of a separate
#' decomposition for that pair.
#'
#' @section The columns:
#' \describe{
#'   \item{`regulator`, `target`}{gene names.}
#'   \item{`n`}{observations used.}
#'   \item{`edf`}{effective degrees of freedom of the smooth (as mgcv reports
#'     them: 1 for a straight line, up to `k - 1`).}
#'   \item{`lambda`}{the smoothing parameter, on mgcv's scale (`sp`).}
#'   \item{`r2.linear`, `r2.spline`}{R^2 of the affine and spline fits.}
#'   \item{`nl`}{the nonlinearity index
#'     `|f - Pf|^2 / |f - mean(f)|^2`, with `f` the fitted spline at the
#'     observed regulator values and `P` the least-squares projection on
#'     affine functions of the regulator: the share of the fitted signal no
#'     straight line explains, in `[0, 1]`.}
#'   \item{`p.nonlinear`}{p-value of "f is affine", from the F statistic of
#'     the affine fit against the unpenalised spline of the same basis (on
#'     `rank - 2` and `n - rank` degrees of freedom). With `test = "wild"`
#'     (default) its null distribution comes from a wild bootstrap (see
#'     below), which holds its size when the noise variance changes with the
#'     regulator (counts, skewed noise, small pools); with `test = "F"` it is
#'     the F distribution, exact under Gaussian noise of constant variance
#'     only. With `counts = TRUE` it comes from the rate-scale moment test
#'     (see Counts). `metadata(fit)$test` says which was used (`"wild"`,
#'     `"F"` or `"rate"`).}
#'   \item{`p.relation`}{p-value of "the target does not depend on the
#'     regulator": the smaller of the affine fit's F test of its slope and
#'     `p.nonlinear`, times 2 (Bonferroni; under independence both are valid
#'     tests, the slope's because the noise no longer depends on the
#'     regulator). Where it is not small the spline fits noise, and `nl`,
#'     a share of a signal that is not there, means nothing: such pairs are
#'     left out of the default panels of [plotPairwise()] and of the
#'     violins of [plotNonlinearity()].}
#'   \item{`slope`, `intercept`}{of the affine fit.}
#'   \item{`sigma`}{residual standard deviation of the spline fit,
#'     `sqrt(RSS / (n - edf - 1))`.}
#'   \item{`status`}{`"ok"`, or why the row is `NA`: `"regulator is the
#'     target"`, `"constant regulator"`, `"fewer distinct regulator values
#'     than k"`, `"too few observations (n <= k)"`, `"constant target"`,
#'     `"flat fit"` (the fitted function is exactly constant, so `nl` is
#'     undefined; the other columns are filled).}
#'   \item{`nl.lower`, `nl.upper`}{with `nboot > 0`: a percentile interval
#'     for `nl` at `level` from a wild bootstrap of the residuals
#'     (Rademacher signs), refitting the smoothing parameter each time.}
#'   \item{`reliability.regulator`, `reliability.target`}{with
#'     `counts = TRUE`: the share of each gene's variance of normalised
#'     counts that is not sampling noise (see Counts).}
#' }
#'
#' @section The wild bootstrap test:
#' The affine fit's residuals, scaled by `1 / sqrt(1 - h)` with `h` their
#' leverage, are multiplied by random signs; each draw's F statistic is
#' computed as for the data. Every observation keeps its own noise variance,
#' so the test stays calibrated when the variance grows with the mean.
#' Drawing stops after 5 draws reach the observed statistic (p-value
#' `5 / draws`) or after 399 draws (p-value `(hits + 1) / 400`; when no
#' draw reached it, the upper tail of a scaled chi-square matched to the
#' draws' mean and variance, if smaller, so that the smallest p-values keep
#' their order for multiple testing). When no draw of the first 49 reached
#' it and that tail is below 0.001, drawing stops there and the tail is the
#' p-value, so strong departures cost 49 draws. The draws come from the pair's
#' own random stream: the same `seed` gives the same p-values on any number of
#' threads or workers.
#'
#' @section Counts:
#' Single-cell data are counts, and their noise distorts a naive fit twice:
#' noise in the regulator flattens the curve (the slope shrinks by the
#' regulator's reliability) and bends it, and noise in the target grows with
#' its mean. With `counts = TRUE`, `x` holds raw counts (non-negative whole
#' numbers, checked) and the fit is made on the rate scale, the expected
#' counts per unit of size factor:
#' \itemize{
#'   \item the target is its normalised counts, `counts / size.factors`, an
#'     unbiased measurement of its rate;
#'   \item the regulator's rates are estimated by empirical Bayes: each
#'     gene's rate distribution is estimated over all observations on a
#'     grid of 64 rates (0 and 63 log-spaced rates) as a log-spline
#'     density: a free weight at rate 0, and log weights of the positive
#'     rates that are a cubic spline of the log rate with 7 coefficients
#'     (Efron's g-modelling), fitted by maximum likelihood with a small
#'     ridge penalty; Poisson counts given the rate, or negative binomial
#'     ones with variance `mu + dispersion * mu^2`. Each observation then
#'     has a posterior distribution of its rate given its count and size
#'     factor. (Free grid weights, the non-parametric maximum-likelihood
#'     estimate, give nearly the same posterior means but a distribution of
#'     a few isolated atoms, between which the curve below is not pinned
#'     down and oscillates once the counts are noisy);
#'   \item the curve `f` is a spline in the regulator's rate, fitted by
#'     regressing the target on each observation's posterior expectation of
#'     the spline basis (regression calibration of the whole basis). Since
#'     `E[f(rate) | count] = E[B(rate) | count] c` for a spline
#'     `f = B c`, this estimates `f` itself rather than `f` blurred by the
#'     counts' noise: curvature is not flattened as in a fit to normalised
#'     counts. The basis spans the rates the estimated distribution covers;
#'     `pairwiseCurves()` evaluates `f` on that rate scale, and `nl` is
#'     measured over the estimated rate distribution;
#'   \item `slope`, `intercept` and `r2.linear` are those of the affine
#'     regression on the posterior mean rates: when the target's expected
#'     rate is affine in the regulator's rate it is affine in the exact
#'     posterior mean too, with the same slope, so the slope is not
#'     attenuated.
#' }
#' The correction needs counts that say something about each rate. Measured
#' on a Hill relation (`nl` 0.33 on noise-free rates): median `nl` 0.32 at
#' 2 counts per cell and 2,000 cells (0.17 for normalised counts), 0.31 at
#' 10 counts and 300 cells; at 0.5 counts per cell the curve is not
#' identified (median `nl` 0, wide spread) and the test has no power: read
#' such pairs as undetermined. The reliability columns say where a pair
#' stands.
#'
#' The posterior means rest on an estimated rate distribution, whose error
#' bends the fitted relation slightly; a test on them rejects an affine rate
#' relation too often once there are thousands of cells. So with counts
#' `p.nonlinear` comes from a test that needs no rate distribution (the
#' rate-scale moment test). For any function `h`, Poisson counts satisfy
#' `E[c h(c - 1) | rate] = s rate E[h(c) | rate]` (Stein's identity; negative
#' binomial counts with a known dispersion satisfy a recursive version), so
#' an affine relation `E[y | rate] = a + b rate` implies
#' `E[(y - a) h(c) - b T_h(c) / s] = 0` for every `h`, where `T_h` is
#' computed from the counts alone. With `h` six cubic B-splines of `c / s`
#' these are six equations in two unknowns; the test statistic is their
#' weighted least-squares misfit (weights: the inverse variance of each
#' equation), and its null distribution comes from a wild bootstrap of the
#' observations' contributions (with Mammen's two-point weights, whose third
#' moment matches the skew of count data), with the sequential stopping and
#' the matched tail of the wild bootstrap test (above). Measured on simulated
#' affine rate relations (Poisson and negative binomial counts, 0.5 to 100
#' counts per cell, 300 and 2,000 cells), its rejection rate at 0.05 stays
#' near 0.05, while the F test on normalised counts rejects 16% to 100%.
#' At well under one count per cell it holds its size but has little power.
#'
#' `dispersion` is the technical overdispersion of counts given the rate
#' (0: Poisson, as for UMI counts). It cannot be told apart from biological
#' variation of the rates using one gene's counts alone; give it from
#' spike-ins or technical replicates where counts are not Poisson.
#' The reliability of a gene is `1 - mean(noise variance) / var(x)` for its
#' normalised counts `x`, the noise variance of each value estimated without
#' bias from the value itself (`x / s` for Poisson counts, plus
#' `dispersion * (x^2 - x / s) / (1 + dispersion)`); near 0 the counts say
#' little about the gene's rates.
#'
#' @param x A numeric matrix-like object with genes in rows and
#'   observations (cells or samples) in columns: a dense matrix, a
#'   `dgCMatrix`, a `DelayedArray`, a `SummarizedExperiment` (or
#'   `SingleCellExperiment`), or an `ExpressionSet` (converted by
#'   SummarizedExperiment's coercion; its `exprs` become the assay
#'   `"exprs"`).  A Seurat object converts with
#'   `Seurat::as.SingleCellExperiment()`.  It needs rownames.
#' @param pairs A data.frame (or DataFrame, or character matrix) whose first
#'   two columns name regulator and target genes.
#' @param genes When `pairs` is `NULL`: the genes whose ordered pairs are
#'   fitted (all rows of `x` when it has at most 1,000).
#' @param k Basis dimension, a whole number from 4 to 100; `NULL`
#'   (default) lets it grow with the number of observations n (the columns
#'   of `x`) as \eqn{\min(50, \max(10, \lceil \sqrt{n} \rceil))}: 10 up
#'   to 100 observations, 23 at 500, 45 at 2,000, 50 from 2,402 on.  A
#'   fixed basis cannot follow a kink or a sharp bend however many cells
#'   there are, and the bias it leaves turns into false rejections as n
#'   grows; the penalty keeps the larger basis from overfitting, and the
#'   cost of a fit hardly changes.  The value used is `metadata(fit)$k`.
#' @param method `"REML"` (default) or `"GCV"`, the smoothing-parameter
#'   criterion.
#' @param transform `"none"` (default) or `"log1p"`, applied to the values
#'   before fitting. For questions of recoverability fit on the scale on
#'   which aggregation is linear (normalised counts, `"none"`); `"log1p"` is
#'   for description.
#' @param counts `TRUE` when `x` holds raw counts: fit on the rate scale,
#'   correcting for the counts' sampling noise (see Counts). Not with
#'   `transform = "log1p"`; values must be complete (no `NA`).
#' @param size.factors With `counts = TRUE`: one positive size factor per
#'   column of `x`, or a matrix of the dimensions of `x` with one per value
#'   (e.g. pseudobulk samples resampled differently per gene); by default
#'   library sizes (column sums of `x`, all its genes) divided by their
#'   mean.
#' @param dispersion With `counts = TRUE`: the technical overdispersion of
#'   the counts given the rates, 0 (default) for Poisson.
#' @param test `"wild"` (default) or `"F"`: how `p.nonlinear` is computed
#'   with `counts = FALSE` (see the column and The wild bootstrap test); with
#'   `counts = TRUE` the rate-scale moment test is used.
#' @param nboot Number of bootstrap replicates for the interval of `nl`
#'   (0: none; at most 1,000,000).
#' @param level Confidence level of that interval.
#' @param seed Seed of the bootstrap; `NULL` draws one from R's generator.
#' @param BPPARAM A BiocParallel back-end: the pairs are split into work
#'   units of whole regulators (a few per worker), each carrying the
#'   columns of its own genes only; a new worker (`SnowParam`, a
#'   batchtools job) loads the package's compiled library for them, not the
#'   package and its Bioconductor dependencies.  Workers are started for the
#'   call unless the back-end is already up (a back-end the user started is
#'   reused and left running).  Results are identical on every back-end.  An
#'   interrupt stops the units the workers are running as well, within a
#'   fraction of a second (`SnowParam` workers the call started are ended
#'   at once, even while they start).
#' @param num.threads Threads per worker.
#' @param verbose Show a progress bar (pairs fitted of the total, time
#'   left), serially and with workers alike (by default in interactive
#'   sessions); it goes to the message stream, so [suppressMessages()]
#'   silences it.
#' @param assay.type The assay of a `SummarizedExperiment` to use; when
#'   left at its default and the object has a single assay (a
#'   [poolCells()] or [aggregateCells()] result, a converted
#'   `ExpressionSet`), that one.
#' @param ... Passed on to the `ANY` method.  An argument no method takes is
#'   an error that names it (with this function's name for one known from
#'   other packages).
#'
#' @return A [S4Vectors::DataFrame] with one row per pair (named
#'   `regulator->target`) and the columns above. Its `metadata()` keeps the
#'   settings (among them `test`, `counts` and `scale`: `"rate"`, `"values"`
#'   or `"log1p"`, the scale of the curves; with counts, the `size.factors`
#'   used) and, compactly, every fitted curve (spline coefficients and the
#'   factors of their covariance), which [pairwiseCurves()] evaluates.
#'
#' @seealso [pairwiseCurves()], [plotPairwise()], [plotNonlinearity()].
#' @examples
#' set.seed(1)
#' x <- runif(300, 0, 3)
#' m <- rbind(X = x, Y = sin(2 * x) + rnorm(300, sd = 0.2),
#'            Z = 2 * x + rnorm(300))
#' fit <- fitPairwise(m,
#'                    pairs = data.frame(regulator = "X", target = c("Y", "Z")))
#' fit[, c("regulator", "target", "edf", "nl", "p.nonlinear")]
#'
#' # Counts: an affine relation between rates, a few counts per cell
#' rate.x <- rgamma(2000, shape = 2, rate = 1)
#' size <- rlnorm(2000, 0, 0.3)
#' cnt <- rbind(X = rpois(2000, size * rate.x),
#'              Y = rpois(2000, size * (0.5 + 0.5 * rate.x)))
#' naive <- fitPairwise(t(t(cnt) / size), pairs = data.frame("X", "Y"))
#' aware <- fitPairwise(cnt, pairs = data.frame("X", "Y"), counts = TRUE,
#'                      size.factors = size)
#' c(naive = naive$slope, aware = aware$slope)  # the truth is 0.5
#' aware[, c("p.nonlinear", "reliability.regulator")]
#' @name fitPairwise
#' @export
setGeneric("fitPairwise", function(x, ...) standardGeneric("fitPairwise"))

#' @rdname fitPairwise
#' @export
setMethod("fitPairwise", "ANY", function(x, pairs = NULL, genes = NULL,
    k = NULL, method = c("REML", "GCV"), transform = c("none", "log1p"),
    counts = FALSE, size.factors = NULL, dispersion = 0, test = c("wild", "F"),
    nboot = 0, level = 0.95, seed = NULL, BPPARAM = SerialParam(),
    num.threads = 1, verbose = interactive(), ...) {
    .check_extra_args("fitPairwise", names(formals(sys.function())), ...)
    if (is(x, "ExpressionSet")) {
        return(fitPairwise(.as_se(x), pairs = pairs, genes = genes, k = k,
            method = method, transform = transform, counts = counts,
            size.factors = size.factors, dispersion = dispersion, test = test,
            nboot = nboot, level = level, seed = seed, BPPARAM = BPPARAM,
            num.threads = num.threads, verbose = verbose))
    }
    .fit_pairwise(x, pairs = pairs, genes = genes, k = k, method = method,
        transform = transform, counts = counts, size.factors = size.factors,
        dispersion = dispersion, test = test, nboot = nboot, level = level,
        seed = seed, BPPARAM = BPPARAM, num.threads = num.threads,
        verbose = verbose)
})

#' @rdname fitPairwise
#' @export
setMethod("fitPairwise", "SummarizedExperiment", function(x, ...,
    assay.type = "counts") {
    .check_extra_args("fitPairwise", c(.user_args(.fit_pairwise,
        c("rate.test", "rate.prior", "lambda.scale")), "assay.type"), ...)
    assay.type <- .pick_assay(x, assay.type, !missing(assay.type))
    out <- fitPairwise(.assay_of(x, assay.type), ...)
    metadata(out)$assay.type <- assay.type
    out
})

.pair_status <- c("ok", "regulator is the target", "constant regulator",
    "fewer distinct regulator values than k", "too few observations (n <= k)",
    "constant target", "flat fit")

#' @importFrom BiocParallel SerialParam bpnworkers
#' @importFrom S4Vectors DataFrame metadata metadata<-
.fit_pairwise <- function(x, pairs, genes, k, method, transform, counts = FALSE,
    size.factors = NULL, dispersion = 0, test = "wild", nboot, level, seed,
    BPPARAM, num.threads, verbose, rate.test = TRUE, rate.prior = NULL,
    lambda.scale = 1) {
    s <- .fit_settings(method, transform, counts, test, dispersion, nboot,
        level, seed, num.threads, verbose)
    rn <- .fit_gene_names(x)
    k <- .resolve_k(k, ncol(x))
    pr <- .resolve_pairs(pairs, genes, rn, colnames(x))

    # The genes involved, as a dense observations x genes matrix.
    used <- sort(unique(c(pr$regulator, pr$target)))
    d <- .fit_values(x, used, pr, s, size.factors, rate.prior)
    col <- match(c(pr$regulator, pr$target), used) - 1L
    reg <- col[seq_along(pr$regulator)]
    tgt <- col[length(pr$regulator) + seq_along(pr$target)]

    if (.bp_start(BPPARAM)) on.exit(.bp_stop(BPPARAM), add = TRUE)
    # work units of whole regulators (a regulator's basis is built once for
    # all its targets)
    chunks <- .work_units(reg, .n_units(length(reg), BPPARAM, s$verbose))
    opts <- list(k = k, method = s$method, nboot = s$nboot, level = s$level,
        seed = s$seed, test = s$test, rate.test = rate.test,
        dispersion = s$dispersion, lambda.scale = lambda.scale,
        num.threads = s$num.threads)
    whole <- list(data = d$data, tdata = d$tdata, cdata = d$cdata, sfu = d$sfu,
        gene.id = used - 1L, reg = reg, tgt = tgt)
    # what the table needs of the counts' rates
    rates <- list(sf = d$sf, reliability = d$reliability,
        prior.grid = d$cdata[["prior.grid"]],
        prior.weight = d$cdata[["prior.weight"]])
    rm(d)
    # each unit gets the columns of its own pairs' genes only
    tasks <- if (length(chunks) > 1L) lapply(chunks, .pair_chunk_task,
        whole = whole) else list(whole)
    rm(whole)
    res <- .run_units(tasks, .fit_pair_chunk, opts = opts, verbose = FALSE,
        BPPARAM = BPPARAM, sizes = lengths(chunks), what = "pairs",
        progress = s$verbose, label = "fitting")
    res <- .combine_pair_chunks(res, chunks, length(reg))
    .fit_table(res, rn, pr, s, k, rates, used, ncol(x))
}

# The checked settings of a fit.
.fit_settings <- function(method, transform, counts, test, dispersion, nboot,
    level, seed, num.threads, verbose) {
    method <- .check_choice(.first(method), c("REML", "GCV"), "method")
    transform <- .check_choice(.first(transform), c("none", "log1p"),
        "transform")
    counts <- .check_flag(counts, "counts")
    if (counts && length(test) == 1L) {
        stop(paste("`test` chooses the test of values (counts = FALSE); with counts = TRUE p.nonlinear comes from",
            "the rate-scale moment test"), call. = FALSE)
    }
    test <- if (counts) "rate" else .check_choice(.first(test), c("wild", "F"),
        "test")
    dispersion <- .check_number(dispersion, "dispersion", lower = 0)
    if (counts && transform != "none") {
        stop("`transform` must be 'none' with counts = TRUE: the rates are estimated from the raw counts",
            call. = FALSE)
    }
    nboot <- .check_count(nboot, "nboot", min = 0, max = .resample_max)
    level <- .check_prob(level, "level")
    if (level >= 1) stop(sprintf("`level` must be below 1, not %s",
        .fmt_value(level)), call. = FALSE)
    list(method = method, transform = transform, counts = counts, test = test,
        dispersion = dispersion, nboot = nboot, level = level,
        seed = .resolve_seed(seed), num.threads = .check_threads(num.threads),
        verbose = .check_flag(verbose, "verbose"))
}

# The gene names of x (its rownames), checked.
.fit_gene_names <- function(x) {
    if (length(dim(x)) != 2L) stop(
        "`x` must be a matrix-like object with genes in rows", call. = FALSE)
    .check_sparse(x)
    rn <- rownames(x)
    if (is.null(rn)) {
        stop(sprintf("`x` needs rownames (gene names)%s",
            if (!is.null(colnames(x))) {
                ": it has column names only; genes go in rows and observations in columns (pass t(x)?)"
            } else ""), call. = FALSE)
    }
    .check_unique_names(rn, "`x`")
    rn
}

# What the fits of the rows `used` of x take: `data`, the regulators' values
# (observations x genes; on counts the posterior mean rates), and on counts
# `tdata` (the targets' counts / size factors), `cdata` (counts, size
# factors, dispersion and the regulators' rate priors), `sfu` (the size
# factors of the observations, or of each observation and gene), the size
# factors `sf` of x and the genes' `reliability`.
.fit_values <- function(x, used, pr, s, size.factors, rate.prior) {
    data <- .pair_data(x, used, s$transform)
    if (!s$counts) {
        if (!is.null(size.factors) || s$dispersion != 0) {
            stop("`size.factors` and `dispersion` describe counts: give them with counts = TRUE", call. = FALSE)
        }
        return(list(data = data))
    }
    sf <- if (is.null(size.factors)) {
        .library_size_factors(x, TRUE, "columns", "x",
            when = "with counts = TRUE", instead = "fit with counts = FALSE")
    } else {
        .check_size_factors(size.factors, ncol(x), nrow(x))
    }
    sfu <- if (is.matrix(sf)) t(sf[used, , drop = FALSE]) else sf
    # rate distributions for the regulators only (targets enter as counts / sf)
    # (`rate.prior`: internal, given priors per row of x, list(grid, weight) of
    # 64 x nrow(x) matrices, and `refine`: > 0 to refit them on their grids, 0
    # to use them as they are)
    rates <- .count_rates(data, sfu, s$dispersion, s$num.threads, s$verbose,
        need = used %in% pr$regulator, prior = if (!is.null(rate.prior)) {
            list(grid = rate.prior$grid[, used, drop = FALSE],
                weight = rate.prior$weight[, used, drop = FALSE],
                refine = rate.prior$refine)
        })
    list(data = rates$rate, tdata = data / sfu, sfu = sfu, sf = sf,
        reliability = rates$reliability, cdata = list(counts = data, size = sfu,
            dispersion = s$dispersion, prior.grid = rates[["prior.grid"]],
            prior.weight = rates[["prior.weight"]]))
}

# The result of a fit: a row per pair (`res`: the combined units' results),
# the settings and the curves in its metadata.
.fit_table <- function(res, rn, pr, s, k, rates, used, n.obs) {
    out <- DataFrame(regulator = rn[pr$regulator], target = rn[pr$target],
        n = res$n, edf = res$edf, lambda = res$lambda,
        r2.linear = res[["r2.linear"]], r2.spline = res[["r2.spline"]],
        nl = res$nl, p.nonlinear = res[["p.nonlinear"]], slope = res$slope,
        intercept = res$intercept, sigma = res$sigma,
        status = .pair_status[res$status + 1L], check.names = FALSE)
    out$p.relation <- .p_relation(out)
    out <- out[, c(seq_len(9L), ncol(out), 10L:(ncol(out) - 1L))]
    if (s$nboot > 0) {
        out$nl.lower <- res[["nl.lower"]]
        out$nl.upper <- res[["nl.upper"]]
    }
    counts <- s$counts
    if (counts) {
        out$reliability.regulator <- unname(rates$reliability[out$regulator])
        out$reliability.target <- unname(rates$reliability[out$target])
    }
    rownames(out) <- paste0(out$regulator, "->", out$target)
    metadata(out) <- list(method = s$method, k = k, transform = s$transform,
        test = s$test, counts = counts,
        scale = if (counts) "rate" else
            if (s$transform == "log1p") "log1p" else "values",
        dispersion = if (counts) s$dispersion,
        size.factors = if (counts) rates$sf,
        rate.prior = if (counts)
            .regulator_priors(rates, used, rn, unique(pr$regulator)),
        nboot = s$nboot, level = s$level, seed = s$seed, n.obs = n.obs,
        spline = list(coef = res$coef, d = res$d, context = res$context,
            mean.y = res[["mean.y"]], contexts = res$contexts))
    out
}

# p-value of "no relation" (see ?fitPairwise, column p.relation): the
# slope's F test and p.nonlinear, Bonferroni-combined.
#' @importFrom stats pf
.p_relation <- function(fit) {
    df2 <- fit$n - 2
    p.slope <- pf(fit$r2.linear / (1 - fit$r2.linear) * df2, 1, df2,
        lower.tail = FALSE)
    pmin(1, 2 * pmin(p.slope, fit$p.nonlinear, na.rm = TRUE))
}

# Pairs with a detected relation (BH-adjusted p.relation below alpha; fits
# made before the column existed count as related).
.related <- function(fit, alpha = 0.05) {
    if (!"p.relation" %in% colnames(fit)) return(rep(TRUE, nrow(fit)))
    q <- p.adjust(fit$p.relation, "BH")
    is.na(q) | q < alpha
}

# The fitted rate distributions of the regulators (rows `regs` of x), as
# 64 x regulators matrices `grid` and `weight` with the genes' names.
.regulator_priors <- function(rates, used, rn, regs) {
    j <- match(regs, used)
    lapply(list(grid = rates[["prior.grid"]],
        weight = rates[["prior.weight"]]), function(m) {
        m <- m[, j, drop = FALSE]
        colnames(m) <- rn[regs]
        m
    })
}

# Pairs as row indices of x: from `pairs`, or all ordered pairs of `genes`.
.resolve_pairs <- function(pairs, genes, rn, cn = NULL) {
    if (!is.null(pairs)) {
        if (!is.null(genes)) stop("give `pairs` or `genes`, not both",
            call. = FALSE)
        if (is.matrix(pairs)) pairs <- as.data.frame(pairs,
            stringsAsFactors = FALSE)
        if (!(is.data.frame(pairs) || is(pairs, "DataFrame")) ||
            ncol(pairs) < 2L) {
            stop("`pairs` must be a data.frame whose first two columns name regulator and target genes",
                call. = FALSE)
        }
        if (nrow(pairs) == 0L) stop("`pairs` has no rows", call. = FALSE)
        regulator <- as.character(pairs[[1L]])
        target <- as.character(pairs[[2L]])
        .check_gene_names(c(regulator, target), rn, "pairs", cn)
        return(list(regulator = match(regulator, rn),
            target = match(target, rn)))
    }
    if (is.null(genes)) {
        if (length(rn) > 1000L) {
            stop(sprintf(paste("give `pairs` or `genes`: all ordered pairs among the %d genes of `x` would be",
                "%.0f pairs"), length(rn), length(rn) * (length(rn) - 1)),
                call. = FALSE)
        }
        genes <- rn
    }
    if (!is.atomic(genes) && !is.factor(genes)) {
        stop(sprintf("`genes` must be a character vector of gene names, not %s",
            .fmt_value(genes)), call. = FALSE)
    }
    genes <- unique(as.character(genes))
    .check_gene_names(genes, rn, "genes", cn)
    if (length(genes) < 2L) stop("`genes` must name at least two genes",
        call. = FALSE)
    g <- match(genes, rn)
    grid <- expand.grid(target = g, regulator = g)
    grid <- grid[grid$regulator != grid$target, ]
    list(regulator = grid$regulator, target = grid$target)
}

# Gene names must identify genes: a lookup would silently take the first.
.check_unique_names <- function(rn, what) {
    d <- unique(rn[duplicated(rn)])
    if (length(d)) {
        stop(sprintf("%s has duplicated gene names (%s); make them unique first, e.g. with make.unique()", what,
            .fmt_value(d)), call. = FALSE)
    }
}

.check_gene_names <- function(names, rn, what, cn = NULL) {
    bad <- unique(names[is.na(names) | !names %in% rn])
    if (length(bad)) {
        # found among the column names: the matrix is transposed
        flipped <- !is.null(cn) && all(bad %in% cn)
        stop(sprintf("`%s` names gene%s %s, which %s not in rownames(x)%s",
            what, if (length(bad) > 1L) "s" else "", .fmt_value(bad),
            if (length(bad) > 1L) "are" else "is", if (flipped) {
                " but in its column names: genes go in rows and observations in columns (pass t(x))"
            } else ""), call. = FALSE)
    }
}

# Rows `rows` of x as a dense observations x genes double matrix, checked
# and transformed.
#' @importFrom DelayedArray DelayedArray
.pair_data <- function(x, rows, transform) {
    sub <- x[rows, , drop = FALSE]
    m <- if (is.matrix(sub)) sub else as.matrix(sub)
    if (!is.numeric(m)) stop(sprintf("`x` must be numeric, not %s", typeof(m)),
        call. = FALSE)
    m <- t(m)
    storage.mode(m) <- "double"
    bad <- which(is.infinite(m), arr.ind = TRUE)
    if (nrow(bad)) {
        stop(sprintf("`x` has the infinite value %s for gene '%s' in column %d; fitPairwise takes finite values and NA",
            format(m[bad[1L, , drop = FALSE]]), colnames(m)[bad[1L, 2L]],
            bad[1L, 1L]), call. = FALSE)
    }
    if (transform == "log1p") {
        neg <- which(m < 0, arr.ind = TRUE)
        if (nrow(neg)) {
            stop(sprintf("transform = 'log1p' needs non-negative values, but gene '%s' has %s",
                colnames(m)[neg[1L, 2L]], format(m[neg[1L, , drop = FALSE]])),
                call. = FALSE)
        }
        m <- log1p(m)
    }
    m
}

# The part of `whole` (list(data, tdata, cdata, sfu, gene.id, reg, tgt):
# observations x genes matrices, 0-based gene columns reg/tgt) the pairs
# `idx` need: the columns of their genes, reg/tgt renumbered to them;
# gene.id keeps the genes' ids (the pairs' seeds depend on them).
.pair_chunk_task <- function(idx, whole) {
    g <- sort(unique(c(whole$reg[idx], whole$tgt[idx]))) + 1L
    # (all columns: the matrix itself, not a copy)
    cols <- function(m) if (is.matrix(m) && length(g) < ncol(m))
        m[, g, drop = FALSE] else m
    cd <- whole$cdata
    if (!is.null(cd)) {
        cd$counts <- cols(cd$counts)
        cd$size <- cols(cd$size)
        cd$prior.grid <- cols(cd$prior.grid)
        cd$prior.weight <- cols(cd$prior.weight)
    }
    list(data = cols(whole$data), tdata = cols(whole$tdata), cdata = cd,
        sfu = cols(whole$sfu), gene.id = whole$gene.id[g],
        reg = match(whole$reg[idx] + 1L, g) - 1L,
        tgt = match(whole$tgt[idx] + 1L, g) - 1L)
}

# The fits of the pairs of one task (see .pair_chunk_task()): the core's
# fit, p.nonlinear from the rate-scale test on counts.  A function of the
# package (not a closure), so that a worker receives the task and nothing
# else.
.fit_pair_chunk <- function(task, opts, verbose) {
    test <- opts$test
    fit <- .call_core(fit_pairwise_cpp(task$data, task$gene.id, task$reg,
        task$tgt, opts$k, opts$method, opts$nboot, opts$level, opts$seed,
        opts$num.threads, verbose, if (test == "rate") "F" else test, 399L,
        task$tdata, task$cdata, opts$lambda.scale))
    if (test == "rate" && !opts$rate.test) fit[["p.nonlinear"]][] <- NA_real_
    if (test == "rate" && opts$rate.test) {
        # p.nonlinear from the regulator's counts (its F test on the
        # posterior means is replaced), where the fit has one
        rt <- .call_core(rate_test_cpp(task$cdata$counts, task$tdata, task$sfu,
            task$gene.id, task$reg, task$tgt, opts$dispersion, 6L, opts$seed,
            opts$num.threads, verbose))
        fit[["p.nonlinear"]] <- ifelse(is.na(fit[["p.nonlinear"]]), NA_real_,
            rt$p)
    }
    fit
}

# Puts the per-chunk results of fit_pairwise_cpp back in pair order.
.combine_pair_chunks <- function(res, chunks, npairs) {
    if (length(res) == 1L) return(res[[1L]])
    ord <- unlist(chunks)
    # units of consecutive pairs (the usual case) need no reordering, which
    # would copy the coefficient matrices once more
    inorder <- identical(ord, seq_len(npairs))
    pick <- function(name) {
        v <- unlist(lapply(res, `[[`, name), use.names = FALSE)
        if (inorder) return(v)
        out <- v
        out[ord] <- v
        out
    }
    out <- list()
    for (name in c("n", "status", "edf", "lambda", "r2.linear", "r2.spline",
        "nl", "p.nonlinear", "slope", "intercept", "sigma", "nl.lower",
        "nl.upper", "mean.y")) {
        out[[name]] <- pick(name)
    }
    offset <- cumsum(c(0L, vapply(res, function(r) length(r$contexts$t0),
        integer(1))))
    ctx <- unlist(lapply(seq_along(res),
        function(i) res[[i]]$context + offset[i]), use.names = FALSE)
    out$context <- ctx
    if (!inorder) out$context[ord] <- ctx
    for (name in c("coef", "d")) {
        m <- do.call(cbind, lapply(res, `[[`, name))
        out[[name]] <- m
        if (!inorder) out[[name]][, ord] <- m
    }
    k <- nrow(out$coef)
    out$contexts <- lapply(c(t0 = "t0", dx = "dx", lo = "lo",
        hi = "hi"), function(name) {
        unlist(lapply(res, function(r) r$contexts[[name]]), use.names = FALSE)
    })
    # the observations per knot interval ((k - 3) x contexts) and V
    # (k x k x contexts), filled chunk by chunk into one array each
    count <- do.call(cbind, lapply(res, function(r) r$contexts$count))
    nc <- length(out$contexts$t0)
    V <- array(0, c(k, k, nc))
    for (i in seq_along(res)) {
        m <- length(res[[i]]$contexts$t0)
        if (m) V[, , offset[i] + seq_len(m)] <- res[[i]]$contexts$V
    }
    out$contexts$V <- V
    out$contexts$count <- count
    out
}
