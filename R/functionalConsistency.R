#' Functional-form consistency of edges between cell level and bulk level
#'
#' For each edge X -> Y, checks both parts of functional-form (FF)
#' consistency: (1) the bulk regression curve
#' \eqn{g(m) = E[\bar Y | \bar X = m]} equals the cell-level curve mapped
#' through the aggregation, up to an intercept; (2) the bulk residual
#' \eqn{\bar Y - g(\bar X)} is independent of \eqn{\bar X}.
#'
#' @section The cell-level curve mapped through the aggregation:
#' The cell-level curve \eqn{f(x) = E[Y | X = x]} is the edge's true
#' function (plus the target's intercept) when the data carry their model
#' (a simulation), `truth = TRUE`, the target has this one parent and the
#' model has no cell types; otherwise it is the penalised spline fitted to
#' the cells ([fitPairwise()]).  Mapping it through the aggregation of bulk
#' sample \eqn{j} (with \eqn{n_j} cells) asks what the aggregate would be if
#' all cells of the sample had the same value: for `"mean"`, `"median"`,
#' `"max"` and `"geomean"` \eqn{h_j(m) = f(m)}; for `"sum"` \eqn{h_j(m) =
#' n_j f(m / n_j)}; for `"cpm"` the same with \eqn{n_j} times the sample's
#' scale factor \eqn{10^6 / \mathrm{total}_j}; for `"log1p_sum"`
#' \eqn{h_j(m) = \log(1 + n_j f(u))} with \eqn{u = (e^m - 1) / n_j}.  For
#' the mean and the sum this is \eqn{f(m) + c} and \eqn{k f(m/k) + c}.
#'
#' @section Statistics:
#' \describe{
#'   \item{`ff.distance`}{The root mean square of \eqn{\hat g(\bar X_j) -
#'     h_j(\bar X_j)} after removing its mean (the free intercept), over the
#'     samples whose \eqn{\bar X} lies in the central `central` quantile
#'     range, divided by the standard deviation of \eqn{\bar Y}: 0 when the
#'     curves are parallel.  \eqn{\hat g} is a penalised spline (REML).
#'     `ff.lower`, `ff.upper`: a bootstrap interval over `nboot`
#'     resamples of the bulk samples, each with its own spline fit, and,
#'     where the cell curve is estimated (not the truth), each paired with
#'     one of `min(nboot, 20)` resamples of the cells with the cell curve
#'     refitted, so that both levels' uncertainty is in it.  With
#'     \eqn{q} the upper \eqn{(1 + level)/2} quantile of the resampled
#'     distances, the interval is \eqn{[\max(0, 2D - q), q]}, widened to
#'     hold \eqn{D}.  A resampled fit adds its own estimation noise, so
#'     resampled distances sit above \eqn{D} by about \eqn{D}'s own upward
#'     bias; the lower end reflects \eqn{q} about \eqn{D} to undo that
#'     shift.  Their spread is skewed to the right (a distance is a norm),
#'     so the upper end is \eqn{q} itself: the reflected lower quantile
#'     fell below the true distance in up to a quarter of the package's
#'     simulations with skewed causes in small pools; this interval covered
#'     the true distance in 92-100% of replicates there (true distances
#'     0.05 to 0.3, pools of 3 and 10 cells, Gaussian and skewed causes; at
#'     least 95.5% with the cell curve estimated), its upper end below the
#'     truth in at most 2.5%.}
#'   \item{`p.curve`}{The F test of \eqn{\bar Y_j - h_j(\bar X_j)} against a
#'     constant, the alternative being an unpenalised cubic spline of
#'     \eqn{\bar X} with `k` coefficients (10 when `k` is `NULL`: under
#'     the null the gap is flat whatever the basis, and a small one keeps
#'     the power for the smooth gaps aggregation makes): small when the
#'     curves are not parallel.  Its p-value comes from a wild bootstrap of the
#'     F statistic under the constant (as `p.nonlinear` of [fitPairwise()]:
#'     residuals with random signs, at most 399 draws, stopping after 5 reach
#'     the observed F), so it holds its size when the bulk noise is
#'     heteroscedastic or heavy-tailed (pools of few cells).}
#'   \item{`p.resid`}{The HSIC test (Gaussian kernels, as in the spline
#'     test of [ciTest()]) of the bulk residual \eqn{\bar Y - \hat g(\bar
#'     X)} against \eqn{\bar X}.  A fitted curve absorbs part of any
#'     dependence of the residual on \eqn{\bar X}, so the null
#'     distribution is made the same way: the fitted values plus the
#'     residuals in random order, the spline refitted, the HSIC of its
#'     residual; up to 199 such draws, stopping once 10 of them reach the
#'     observed statistic (Besag and Clifford's sequential p-value, at
#'     least 1/200).  On counts the bulk curve of this part is the spline
#'     of the bulk rates.}
#' }
#' The decision `consistent` follows the tolerance rule of
#' [recoverabilityAudit()]: `TRUE` when the whole interval of the distance
#' lies within `tolerance` and part 2 is not rejected (`p.resid > alpha`):
#' the curves agree up to an intercept, to within the tolerance; `FALSE`
#' when the bulk curve departs significantly (`p.curve < alpha`) by more
#' than the tolerance (the whole interval beyond it, `ff.lower >
#' tolerance`; `ff.distance > tolerance` with `nboot = 0`), or `p.resid <
#' alpha`;
#' `NA` otherwise (undetermined: the interval straddles the tolerance, or
#' there is none with `nboot = 0`).  Non-significant p-values alone are not
#' agreement: too few samples pass them too.
#'
#' @param cells Cell-level data: a `SummarizedExperiment` (genes x cells)
#'   whose `colData` column `sample` says which bulk sample each cell went
#'   into, or the object [poolCells()] pooled.
#' @param bulk The bulk samples: a `SummarizedExperiment` (genes x samples)
#'   whose column names are those samples, e.g. from [simulateBulk()] or
#'   [aggregateCells()]; or the pools of [poolCells()], whose `colData`
#'   column `cells` records the cells of each pool (used when `cells` has
#'   no column `sample`; a cell may be in several pools).
#' @param edges A data.frame with `from` and `to` gene names; default: the
#'   edges of the model in `metadata()`.
#' @param sample The `colData` column of `cells` naming each cell's sample
#'   (`NULL`: the pools recorded in `bulk$cells`).
#' @param aggregation How the cells were pooled; default
#'   `metadata(bulk)$aggregation`.
#' @param assay.type Assay of `cells` and `bulk` (one name, or cells then
#'   bulk).
#' @param truth Use the true functions when the data carry their model
#'   (not with `counts = TRUE`).
#' @param counts `TRUE` when the cells' assay holds raw counts and the
#'   bulk assay their sums per sample (aggregation `"sum"`): both levels are
#'   then compared on the rate scale.  The cell-level curve is the
#'   count-aware fit of [fitPairwise()] (the relation between rates,
#'   corrected for sampling noise); a bulk sample's rate is its summed
#'   counts over its cells' summed size factors, a linear aggregation of
#'   the cells' rates, so f maps to f; the bulk curve is count-aware too
#'   (a sum of negative binomial counts is treated as negative binomial with
#'   the cells' dispersion over the mean number of cells per sample).  The
#'   deconvolution's penalty shrinks the cell curve toward a straight line
#'   (more so the noisier the regulator's counts), which would shrink the
#'   distance too, so the cell curve here is undersmoothed: a tenth of the
#'   smoothing parameter REML chooses, with 10 basis functions when `k` is
#'   `NULL` (an undersmoothed deconvolved curve with the larger basis of
#'   many cells varies so much between resamples that few intervals can
#'   decide; measured in the package's simulations).
#' @param size.factors,dispersion With `counts = TRUE`: the cells' size
#'   factors (default: library sizes over all genes of `cells`, divided by
#'   their mean) and the counts' technical dispersion, as in
#'   [fitPairwise()].
#' @param k Spline basis dimension of the fits at both levels; `NULL`
#'   (default): at each level the rule of [fitPairwise()] for its number of
#'   cells or samples (10 for the count-aware cell curve, see `counts`).
#' @param nboot Bootstrap resamples of the distance's interval (0: none;
#'   at most 1,000,000).
#' @param level Confidence level of that interval.
#' @param alpha Level of the tests in the `consistent` decision.
#' @param tolerance Largest distance taken as agreement (in standard
#'   deviations of the bulk target, as `ff.distance`).
#' @param central Quantiles of \eqn{\bar X} bounding the range the distance
#'   is computed over.  Within it, bulk values where an estimated cell curve
#'   rests on fewer than 10 cells (see [pairwiseCurves()]) are left out.
#' @param seed Seed of the bootstrap and of the HSIC subsample.
#' @param max.n Most bulk samples the HSIC test of `p.resid` uses (a
#'   subsample beyond that).
#' @param BPPARAM A BiocParallel back-end for the fits at both levels and
#'   the resamples of the cells (started for the call unless the user
#'   started it); results are identical on every back-end.
#' @param num.threads Threads of the fits (per worker).
#'
#' @return A [S4Vectors::DataFrame], one row per edge (row names
#'   `"from->to"`): `regulator`, `target`, `reference` (`"truth"` or
#'   `"cells"`), `aggregation`, `n` (bulk samples), `ff.distance`,
#'   `ff.lower`, `ff.upper`, `p.curve`, `p.resid` and `consistent`.
#' @examples
#' model <- grnModel(data.frame(from = c("X", "X"), to = c("Y", "Z"),
#'                              fun = c("affine", "sin"), n = c(1, 2)),
#'                   noise.scale = c(X = 1, Y = 0.3, Z = 0.3))
#' sim <- simulateBulk(model, nsamples = 300, pool.size = 20, keep.cells = TRUE,
#'                     seed = 1)
#' functionalConsistency(S4Vectors::metadata(sim)$cells, sim, nboot = 20)
#' @export
#' @importFrom stats quantile sd
functionalConsistency <- function(cells, bulk, edges = NULL, sample = "sample",
    aggregation = NULL, assay.type = "latent", truth = TRUE, counts = FALSE,
    size.factors = NULL, dispersion = 0, k = NULL, nboot = 100, level = 0.95,
    alpha = 0.05, tolerance = 0.1, central = c(0.05, 0.95), seed = 1,
    max.n = 2000, BPPARAM = SerialParam(), num.threads = 1) {
    if (!is(cells, "SummarizedExperiment") ||
        !is(bulk, "SummarizedExperiment")) {
        stop("`cells` and `bulk` must be SummarizedExperiment objects with genes in rows", call. = FALSE)
    }
    if (is.null(aggregation)) aggregation <- metadata(bulk)$aggregation
    if (is.null(aggregation)) stop(
        "give `aggregation`: `bulk` does not record it in metadata()",
        call. = FALSE)
    s <- .ff_settings(aggregation, truth, counts, k, nboot, alpha, level, max.n,
        tolerance, seed, central, num.threads, dispersion, ncol(bulk),
        ncol(cells))
    at <- rep_len(assay.type, 2L)
    model <- metadata(cells)$model
    if (is.null(model)) model <- metadata(bulk)$model
    edges <- .ff_edges(edges, model, cells, bulk)
    info <- .bulk_sample_info(cells, bulk, sample, at[1L], s$aggregation)
    if (.bp_start(BPPARAM)) on.exit(.bp_stop(BPPARAM), add = TRUE)
    genes <- unique(c(edges$from, edges$to))
    B <- as.matrix(.assay_of(bulk, at[2L])[genes, , drop = FALSE])
    pairs <- data.frame(regulator = edges$from, target = edges$to)
    if (s$counts) {
        size.factors <- .ff_size_factors(size.factors, cells, at[1L])
        bulk.counts <- .ff_bulk_counts(B, size.factors, info, s)
        bulk.fit <- fitPairwise(B, pairs = pairs, k = s$kb, seed = s$seed,
            counts = TRUE, size.factors = bulk.counts$size,
            dispersion = bulk.counts$dispersion, BPPARAM = BPPARAM,
            num.threads = s$num.threads, verbose = FALSE)
        # both levels on the rate scale
        B <- B * rep(1 / bulk.counts$size, each = nrow(B))
    } else {
        bulk.counts <- NULL
        bulk.fit <- fitPairwise(B, pairs = pairs, k = s$kb, seed = s$seed,
            BPPARAM = BPPARAM, num.threads = s$num.threads, verbose = FALSE)
    }
    use.truth <- vapply(seq_len(nrow(edges)),
        function(e) s$truth && .truth_usable(model, edges$from[e], edges$to[e]),
        logical(1))
    cc <- .ff_cell_curves(cells, at[1L], genes, edges, use.truth, size.factors,
        info, s, BPPARAM)
    # the cell-level curve of each edge mapped through the aggregation at
    # the bulk regulator values, then every edge's FF in one batch
    X <- t(B[edges$from, , drop = FALSE])
    Y <- t(B[edges$to, , drop = FALSE])
    agg <- if (s$counts) "mean" else s$aggregation
    H <- .ff_mapped_curves(edges, use.truth, model, cc$fit, X, info, agg)
    cnt <- if (s$counts) .ff_count_inputs(bulk.counts, bulk.fit, edges$from,
        edges$to)
    rows <- .ff_pairs(X, Y, H, bulk.fit, seq_len(nrow(edges)), s$kb, s$nboot,
        s$level, s$central, s$seed + seq_len(nrow(edges)), s$max.n, cnt,
        cc$boot, k.curve = .curve_test_k(k, s$kb))
    out <- DataFrame(regulator = edges$from, target = edges$to,
        reference = ifelse(use.truth, "truth", "cells"),
        aggregation = if (s$counts) "sum (as rates)" else agg, rows,
        row.names = paste0(edges$from, "->", edges$to))
    out$consistent <- .ff_decision(out, s$alpha, s$tolerance)
    out
}

# The checked settings of functionalConsistency(), with each level's basis
# dimension (kb bulk, kc cells; NULL k: the rule for the level's size).
.ff_settings <- function(aggregation, truth, counts, k, nboot, alpha, level,
    max.n, tolerance, seed, central, num.threads, dispersion, nbulk, ncells) {
    aggregation <- .check_choice(aggregation, .agg_funs, "aggregation")
    counts <- .check_flag(counts, "counts")
    if (!is.numeric(central) || length(central) != 2L || anyNA(central) ||
        central[1L] < 0 || central[2L] > 1 || central[1L] >= central[2L]) {
        stop(sprintf("`central` must be two increasing quantile levels in [0, 1], not %s", .fmt_value(central)),
            call. = FALSE)
    }
    if (counts && aggregation != "sum") {
        stop(sprintf(paste("counts = TRUE compares rates: `bulk` must hold the cells' summed counts",
            "(aggregation 'sum'), not aggregation %s"),
            .fmt_value(aggregation)), call. = FALSE)
    }
    list(aggregation = aggregation,
        truth = .check_flag(truth, "truth") && !counts, counts = counts,
        kb = .resolve_k(k, nbulk), kc = .ff_cell_k(k, ncells, counts),
        nboot = .check_count(nboot, "nboot", min = 0, max = .resample_max),
        alpha = .check_prob(alpha, "alpha"),
        level = .check_prob(level, "level"),
        max.n = .check_count(max.n, "max.n", min = 10, max = .int_max),
        tolerance = .check_number(tolerance, "tolerance", lower = 0,
            lower.open = TRUE),
        seed = .check_count(seed, "seed", min = 0), central = central,
        num.threads = .check_threads(num.threads), dispersion = dispersion)
}

# The edges to check (default: the model's), as a from/to data.frame of
# genes both levels have.
.ff_edges <- function(edges, model, cells, bulk) {
    if (is.null(edges)) {
        if (!is(model, "GRNModel")) stop(
            "give `edges`: the data carry no model", call. = FALSE)
        edges <- as.data.frame(edgeTable(model))[, c("from", "to")]
    }
    if (!(is.data.frame(edges) || is(edges, "DataFrame")) ||
        !all(c("from", "to") %in% colnames(edges))) {
        stop("`edges` must be a data.frame with `from` and `to` columns",
            call. = FALSE)
    }
    edges <- data.frame(from = as.character(edges$from),
        to = as.character(edges$to), stringsAsFactors = FALSE)
    .check_gene_names(unique(c(edges$from, edges$to)),
        intersect(rownames(cells), rownames(bulk)), "edges")
    edges
}

# The cells' size factors with counts = TRUE (default: library sizes).
.ff_size_factors <- function(size.factors, cells, assay.type) {
    if (is.null(size.factors)) {
        size.factors <- .library_size_factors(.assay_of(cells, assay.type),
            TRUE, "cells", assay.type, when = "with counts = TRUE",
            instead = "use counts = FALSE for values that are not counts")
    }
    .check_size_factors(size.factors, ncol(cells))
}

# The bulk level on the rate scale: a bulk sample's rate is its summed
# counts over its cells' summed size factors (a linear aggregation of the
# cells' rates, so f maps to f); its counts are close to negative binomial
# with the cells' dispersion over the cells pooled.
.ff_bulk_counts <- function(B, size.factors, info, s) {
    .check_whole_counts(B, "the bulk assay", "with counts = TRUE",
        "use counts = FALSE")
    S <- vapply(info$members, function(i) sum(size.factors[i]), numeric(1))
    list(counts = B, size = S, dispersion = s$dispersion / mean(info$ncells))
}

# The cell-level curves of the edges whose truth is not used (fit), and,
# with nboot > 0, those of resamples of the cells (boot; bulk resample b
# is paired with cell resample b).
.ff_cell_curves <- function(cells, assay.type, genes, edges, use.truth,
    size.factors, info, s, BPPARAM) {
    if (all(use.truth)) return(list(fit = NULL, boot = NULL))
    C <- as.matrix(.assay_of(cells, assay.type)[genes, , drop = FALSE])
    pr <- data.frame(regulator = edges$from[!use.truth],
        target = edges$to[!use.truth])
    sc <- list(k = s$kc, dispersion = s$dispersion, level = 0.95, seed = s$seed,
        nboot = s$nboot, num.threads = s$num.threads)
    fit <- if (s$counts) {
        .count_cell_curves(C, size.factors, pr, sc)
    } else {
        fitPairwise(C, pairs = pr, k = s$kc, seed = s$seed, BPPARAM = BPPARAM,
            num.threads = s$num.threads, verbose = FALSE)
    }
    boot <- NULL
    if (s$nboot > 0) {
        rows <- cumsum(!use.truth)
        rows[use.truth] <- NA_integer_
        agg <- if (s$counts) "mean" else s$aggregation
        boot <- list(fits = .cell_boot_fits(C, pr, sc,
            if (s$counts) list(sf = size.factors, fit = fit), BPPARAM),
            rows = rows, map = function(f, m, idx) {
                .map_curve(f, m, list(
                    ncells = matrix(info$ncells[idx], nrow(idx)),
                    total = if (!is.null(info$total))
                        matrix(info$total[idx], nrow(idx))), agg)
            })
    }
    list(fit = fit, boot = boot)
}

# Each edge's cell-level curve (the true function, or the fitted cell
# curve) mapped through the aggregation at the bulk regulator values X
# (samples x edges).
.ff_mapped_curves <- function(edges, use.truth, model, cell.fit, X, info,
    aggregation) {
    H <- vapply(seq_len(nrow(edges)), function(e) {
        from <- edges$from[e]
        to <- edges$to[e]
        f <- if (use.truth[e]) {
            tf <- trueFunction(model, from, to)
            b <- model@intercept[[to]]
            function(u) tf(u) + b
        } else {
            i <- which(cell.fit$regulator == from & cell.fit$target == to)
            # left out where the cell curve rests on fewer than .thin_count
            # cells (a few extreme cells can bend it there)
            function(u) {
                v <- .curve_values(cell.fit, i, u)
                v[.thin_support(cell.fit, i, u)] <- NA_real_
                drop(v)
            }
        }
        .map_curve(f, X[, e], info, aggregation)
    }, numeric(nrow(X)))
    matrix(H, nrow(X))
}

# `consistent`: FALSE when part 1 departs (its test rejects and the
# distance lies beyond the tolerance) or part 2 rejects; TRUE when the
# interval lies within the tolerance and part 2 was tested; NA otherwise.
.ff_decision <- function(out, alpha, tolerance) {
    departs <- (!is.na(out$p.curve) & out$p.curve < alpha &
        .beyond_tolerance(out$ff.distance, out$ff.lower, tolerance)) |
        (!is.na(out$p.resid) & out$p.resid < alpha)
    within <- !is.na(out$ff.upper) & out$ff.upper <= tolerance &
        !is.na(out$p.resid)
    ifelse(departs, FALSE, ifelse(within, TRUE, NA))
}

# The basis dimension of p.curve's unpenalised alternative: the user's k,
# or 10 by default.  Under the null the gap is flat, so any basis keeps the
# size; a small one keeps the power for the smooth gaps aggregation makes.
.curve_test_k <- function(k, kb) if (is.null(k)) min(10L, kb) else kb

# Can the edge's true function serve as the cell-level curve E[Y | X]?
.truth_usable <- function(model, from, to) {
    if (!is(model, "GRNModel") || nrow(model@celltypes) > 0L) return(FALSE)
    e <- model@edges
    sum(e$to == to) == 1L && any(e$from == from & e$to == to)
}

# Per bulk sample: number of cells and, for cpm, the total over all genes.
.bulk_sample_info <- function(cells, bulk, sample, assay.type, aggregation) {
    members <- .bulk_members(cells, bulk, sample)
    ncell <- lengths(members)
    if (any(ncell == 0L)) {
        stop(sprintf("bulk samples %s have no cells in `cells`",
            .fmt_value(colnames(bulk)[ncell == 0L])), call. = FALSE)
    }
    total <- if (aggregation == "cpm") {
        cs <- colSums(as.matrix(.assay_of(cells, assay.type)))
        vapply(members, function(i) sum(cs[i]), numeric(1))
    } else NULL
    list(ncells = unname(ncell), total = unname(total), members = members)
}

# The cells (column indices of `cells`) of each bulk sample: from the
# `colData` column `sample` of `cells`, or, when `cells` has no such column
# and `bulk` records its pools (the `cells` column of a poolCells() result),
# from that record (a cell may then be in several pools).
.bulk_members <- function(cells, bulk, sample) {
    has.col <- !is.null(sample) && sample %in% colnames(colData(cells))
    rec <- if ("cells" %in% colnames(colData(bulk))) bulk$cells
    if (!has.col && !is.null(rec)) {
        members <- lapply(as.list(rec), function(i) {
            if (!is.numeric(i) || anyNA(i) ||
                any(i < 1 | i > ncol(cells) | i != round(i))) {
                stop(sprintf(paste("`bulk$cells` must hold column indices of `cells` (1 to %d), as poolCells()",
                    "records them; pass the object that was pooled"),
                    ncol(cells)), call. = FALSE)
            }
            as.integer(i)
        })
        names(members) <- colnames(bulk)
        return(members)
    }
    if (!has.col) {
        stop(sprintf(paste("`sample` = %s is not a colData column of `cells`, and `bulk` has no `cells` column",
            "recording its pools (as poolCells() returns)"),
            .fmt_value(sample)), call. = FALSE)
    }
    lab <- as.character(cells[[sample]])
    j <- match(lab, colnames(bulk))
    if (anyNA(j)) {
        stop(sprintf("cells of sample %s are not in `bulk` (its column names)",
            .fmt_value(unique(lab[is.na(j)]))), call. = FALSE)
    }
    members <- split(seq_along(j), factor(j, levels = seq_len(ncol(bulk))))
    names(members) <- colnames(bulk)
    members
}

# The cell-level curve f mapped through the aggregation at bulk values m.
.map_curve <- function(f, m, info, aggregation) {
    n <- info$ncells
    switch(aggregation,
        sum = n * f(m / n),
        cpm = {
            a <- n * 1e6 / info$total
            a * f(m / a)
        },
        log1p_sum = {
            v <- n * f(expm1(m) / n)
            ifelse(v > -1, log1p(v), NA_real_)
        },
        f(m))
}

# Smoothing parameter factor of the count-aware cell curve FF compares with
# the bulk curve: undersmoothed, as the deconvolution's penalty shrinks it
# toward a line (documented in ?functionalConsistency and
# ?recoverabilityAudit).
.ff_undersmooth <- 0.1

# The basis dimension of the FF cell curves of n cells: the user's k, or
# the rule for n; on counts 10 at most by default (the dimension at which
# .ff_undersmooth was chosen: undersmoothed deconvolved curves with 50
# coefficients spread so much over the cell resamples that most intervals
# straddle the tolerance; bench/bench_audit_counts.R).
.ff_cell_k <- function(k, n, counts) {
    if (counts && is.null(k)) min(10L, .resolve_k(NULL, n)) else
        .resolve_k(k, n)
}

# TRUE where the whole interval of the FF distance lies beyond the
# tolerance (its lower end above it; the distance itself where there is no
# interval): the departure rule of functionalConsistency() and the audit.
.beyond_tolerance <- function(distance, lower, tol) {
    b <- ifelse(is.na(lower), distance, lower)
    !is.na(b) & b > tol
}

# The count-aware cell curves FF uses (counts: genes x cells, sf their size
# factors, s: k, dispersion, level, seed, optionally num.threads),
# undersmoothed; `prior`: given rate distributions (the `rate.prior` of
# .fit_pairwise()), or NULL to fit them.
.count_cell_curves <- function(counts, sf, pairs, s, prior = NULL) {
    .fit_pairwise(counts, pairs = pairs, genes = NULL, k = s$k, method = "REML",
        transform = "none", counts = TRUE, size.factors = sf,
        dispersion = s$dispersion, test = c("wild", "F"), nboot = 0,
        level = s$level, seed = s$seed, BPPARAM = SerialParam(),
        num.threads = .threads_of(s), verbose = FALSE, rate.test = FALSE,
        rate.prior = prior, lambda.scale = .ff_undersmooth)
}

# The cell-level curves of min(nboot, 20) resamples of the cells (drawn
# with replacement), all pairs in each, as the `fits` of .ff_pairs()'s
# `cell.boot`: the spline of the cell curve refitted to each (C: genes x
# cells, s: k, nboot, seed).  With `counts` (list(sf = the cells' size
# factors, fit = the count-aware fit of all cells), s also has dispersion
# and level) the undersmoothed count-aware curve of .count_cell_curves(),
# each resample's rate distributions refitted on the grid of those of
# all cells.
.cell_boot_fits <- function(C, pairs, s, counts = NULL,
    BPPARAM = SerialParam()) {
    nb <- min(s$nboot, 20L)
    genes <- unique(c(pairs$regulator, pairs$target))
    data <- list(C = C[genes, , drop = FALSE], sf = counts$sf,
        prior = if (!is.null(counts)) .prior_matrix(counts$fit, genes,
            refine = 10L))
    # resamples cost the same: one unit per worker (the cells travel once
    # to each), or one per resample serially (the progress moves with them)
    progress <- isTRUE(s$verbose)
    units <- .work_units(seq_len(nb),
        .n_units(nb, BPPARAM, progress, per.worker = 1L))
    res <- .run_units(units, .cell_boot_unit, data = data, pairs = pairs, s = s,
        nb = nb, BPPARAM = BPPARAM, sizes = lengths(units), what = "resamples",
        progress = progress, label = "cell resamples")
    unlist(res, recursive = FALSE)
}

# The resamples `b` of .cell_boot_fits() (data: C, sf, prior).  Every unit
# draws the same nb resamples from the seed and fits its own.
.cell_boot_unit <- function(b, data, pairs, s, nb) {
    n <- ncol(data$C)
    idx <- resample_cpp(n, n, as.integer(nb), TRUE, s$seed + 7919)
    lapply(b, function(r) {
        i <- idx[, r]
        if (is.null(data$sf)) {
            .fit_pairwise(data$C[, i, drop = FALSE], pairs = pairs,
                genes = NULL, k = s$k, method = "REML", transform = "none",
                test = "F", nboot = 0, level = 0.95, seed = 1L,
                BPPARAM = SerialParam(), num.threads = .threads_of(s),
                verbose = FALSE)
        } else {
            .count_cell_curves(data$C[, i, drop = FALSE], data$sf[i], pairs, s,
                data$prior)
        }
    })
}

# What .ff_pairs() refits count-aware resamples from, for the pairs (from,
# to) of bulk.fit: the bulk samples' counts (samples x pairs), their size
# factors and dispersion, and each regulator's rate distribution.
.ff_count_inputs <- function(bulk.counts, bulk.fit, from, to) {
    rp <- metadata(bulk.fit)$rate.prior
    reg <- match(from, colnames(rp$grid))
    list(X = t(bulk.counts$counts[from, , drop = FALSE]),
        Y = t(bulk.counts$counts[to, , drop = FALSE]), size = bulk.counts$size,
        dispersion = bulk.counts$dispersion,
        prior = list(grid = rp$grid[, reg, drop = FALSE],
            weight = rp$weight[, reg, drop = FALSE]))
}

# Plain penalised splines (REML, k, no test) of column c of Ym on column c
# of Xm (observations in rows, NA = missing), all in one core call.
.fit_columns <- function(Xm, Ym, k) {
    R <- ncol(Xm)
    names <- c(paste0("x", seq_len(R)), paste0("y", seq_len(R)))
    M <- rbind(t(Xm), t(Ym))
    rownames(M) <- names
    .fit_pairwise(M,
        pairs = data.frame(names[seq_len(R)], names[R + seq_len(R)]),
        genes = NULL, k = k, method = "REML", transform = "none", test = "F",
        nboot = 0, level = 0.95, seed = 1L, BPPARAM = SerialParam(),
        num.threads = 1L, verbose = FALSE)
}

# FF part 2 for many pairs: HSIC of the bulk residual y - g(x) against x,
# g a penalised spline (REML, k) of y on x (at most max.n samples, a
# subsample drawn from each pair's seed).  The residual of a fitted curve
# is closer to independence of x than the errors are (the fit absorbs part
# of any dependence), so its null is made the same way: `ndraws` times,
# y* = g(x) + the residuals permuted, g refitted to y*, and the HSIC of
# its residual computed; sequential p-value stopping at `hits` draws at or
# above the observed statistic.  All fits of a batch of pairs in one core
# call.  X, Y: samples x pairs.
.resid_tests <- function(X, Y, k, seeds, max.n, ndraws = 199L, hits = 10L) {
    P <- ncol(X)
    p <- rep(NA_real_, P)
    # each pair's samples: finite x and y, subsampled to max.n
    use <- lapply(seq_len(P), function(e) {
        u <- which(is.finite(X[, e]) & is.finite(Y[, e]))
        if (length(u) > max.n) u <- u[resample_cpp(length(u), as.integer(max.n),
            1L, FALSE, seeds[e])]
        u
    })
    todo <- which(lengths(use) > k)
    if (!length(todo)) return(p)
    # pair e's samples packed into the first len[e] rows (NA below)
    len <- lengths(use)
    m <- max(len[todo])
    pack <- function(v, e) {
        out <- rep(NA_real_, m)
        out[seq_len(len[e])] <- v[use[[e]]]
        out
    }
    Xs <- vapply(todo, function(e) pack(X[, e], e), numeric(m))
    Ys <- vapply(todo, function(e) pack(Y[, e], e), numeric(m))
    f0 <- .fit_columns(Xs, Ys, k)
    G0 <- .curve_values(f0, seq_along(todo), Xs)
    size <- max(1L, floor(2e6 / (ndraws * m)))
    for (batch in split(seq_along(todo), ceiling(seq_along(todo) / size))) {
        ok <- batch[f0$status[batch] == "ok"]
        if (!length(ok)) next
        Ystar <- do.call(cbind, lapply(ok, function(j) {
            u <- seq_len(len[todo[j]])
            res <- Ys[u, j] - G0[u, j]
            perm <- resample_cpp(length(u), length(u), as.integer(ndraws),
                FALSE, seeds[todo[j]] + 7907, FALSE)
            out <- matrix(NA_real_, m, ndraws)
            out[u, ] <- G0[u, j] + res[perm]
            out
        }))
        Xr <- Xs[, rep(ok, each = ndraws), drop = FALSE]
        fb <- .fit_columns(Xr, Ystar, k)
        Rstar <- Ystar - .curve_values(fb, seq_len(ncol(Xr)), Xr)
        for (b in seq_along(ok)) {
            j <- ok[b]
            u <- seq_len(len[todo[j]])
            cols <- (b - 1L) * ndraws + seq_len(ndraws)
            draws <- Rstar[u, cols, drop = FALSE]
            draws <- draws[, colSums(!is.finite(draws)) == 0, drop = FALSE]
            if (ncol(draws) == 0L) next
            p[todo[j]] <- unname(hsic_draws_test_cpp(Xs[u, j],
                Ys[u, j] - G0[u, j], draws, as.integer(hits))["p.value"])
        }
    }
    p
}

#' @importFrom stats quantile
# Functional-form consistency of many pairs at once.  X, Y: bulk regulator
# and target values (samples x pairs); H: the cell-level curve mapped
# through the aggregation at X (same shape); rows: each pair's row of
# bulk.fit; seeds: each pair's resampling seed.
# `counts`: NULL, or list(X, Y = the bulk samples' counts (samples x pairs),
# size = their size factors, dispersion, prior = list(grid, weight), one
# column per pair: the regulator's rate distribution), so that each
# resample is fitted on the rate scale as bulk.fit was (X and Y are then
# the rates, counts / size).
# `cell.boot`: NULL (the cell curve is held fixed), or list(fits, rows,
# map): the fits of resamples of the cells (.cell_boot_fits()), each pair's
# row in them (NA: the pair's H is held fixed, e.g. a true curve), and
# map(f, m, idx): f mapped through the aggregation at bulk values m of
# bulk rows idx (NULL: the identity, as for means); bulk resample b is
# paired with cell resample (b - 1) %% length(fits) + 1.
# All resamples of a batch of pairs are fitted in one core call, evaluated
# in one and measured in one.  `draws = TRUE` keeps each pair's resampled
# distances in attribute "draws" (a list), for benchmarks of the interval.
.ff_pairs <- function(X, Y, H, bulk.fit, rows, k, nboot, level, central, seeds,
    max.n, counts = NULL, cell.boot = NULL, draws = FALSE, k.curve = k) {
    n <- nrow(X)
    P <- ncol(X)
    G <- .curve_values(bulk.fit, rows, X)
    D <- curve_distances_cpp(G, X, Y, H, central[1L], central[2L])
    iv <- .ff_intervals(X, Y, H, D, k, nboot, level, central, seeds, counts,
        cell.boot)
    # Part 1: F test of y - h against a constant, alternative a cubic spline
    # of x, wild bootstrap p-value (the core's, all pairs in one call).
    tests <- gap_ftests_cpp(X, Y - H, as.integer(k.curve), as.numeric(seeds))
    out <- data.frame(n = rep(n, P), ff.distance = D, ff.lower = iv$lower,
        ff.upper = iv$upper, p.curve = tests,
        p.resid = .resid_tests(X, Y, k, seeds, max.n))
    if (draws) attr(out, "draws") <- iv$draws
    out
}

# The resampling interval (lower, upper) of each pair's distance D, and each
# pair's resampled distances (draws).
.ff_intervals <- function(X, Y, H, D, k, nboot, level, central, seeds, counts,
    cell.boot) {
    P <- ncol(X)
    lower <- upper <- rep(NA_real_, P)
    kept <- vector("list", P)
    if (!(nboot > 0 && P > 0)) return(list(lower = lower, upper = upper,
        draws = kept))
    # batches of pairs whose resampled values fill about 2e6 doubles per matrix
    size <- max(1L, floor(2e6 / (nboot * nrow(X))))
    for (batch in split(seq_len(P), ceiling(seq_len(P) / size))) {
        bd <- .ff_boot_distances(batch, X, Y, H, k, nboot, central, seeds,
            counts, cell.boot)
        for (e in batch) {
            d <- bd$Ds[bd$pair == e]
            kept[[e]] <- d
            ends <- .ff_interval_ends(d, D[e], level)
            lower[e] <- ends[1L]
            upper[e] <- ends[2L]
        }
    }
    list(lower = lower, upper = upper, draws = kept)
}

# The distances of the nboot resamples of each pair of `batch` (Ds), and each
# resample's pair (pair).
.ff_boot_distances <- function(batch, X, Y, H, k, nboot, central, seeds, counts,
    cell.boot) {
    n <- nrow(X)
    # resample b of pair e is column (e - 1) * nboot + b (within the batch)
    idx <- do.call(cbind, lapply(batch, function(e) {
        matrix(resample_cpp(n, n, as.integer(nboot), TRUE, seeds[e]), n)
    }))
    pair <- rep(batch, each = nboot)
    b <- rep(seq_len(nboot), length(batch))
    take <- function(M) matrix(M[cbind(as.vector(idx), rep(pair, each = n))], n)
    Xr <- take(X)
    Yr <- take(Y)
    bf <- .ff_boot_fits(Xr, Yr, k, counts, take, idx, pair)
    Hr <- .ff_boot_cell_curves(take(H), Xr, idx, pair, b, cell.boot)
    Ds <- curve_distances_cpp(.curve_values(bf, seq_len(ncol(Xr)), Xr), Xr, Yr,
        Hr, central[1L], central[2L])
    Ds[is.na(bf$edf)] <- NA_real_
    list(Ds = Ds, pair = pair)
}

# The bulk curves of the resamples (columns of Xr, Yr): plain splines, or with
# `counts` count-aware ones.
.ff_boot_fits <- function(Xr, Yr, k, counts, take, idx, pair) {
    if (is.null(counts)) return(.fit_columns(Xr, Yr, k))
    n <- nrow(Xr)
    R <- ncol(Xr)
    names <- c(paste0("x", seq_len(R)), paste0("y", seq_len(R)))
    bp <- data.frame(names[seq_len(R)], names[R + seq_len(R)])
    M <- rbind(t(take(counts$X)), t(take(counts$Y)))
    rownames(M) <- names
    S <- matrix(counts$size[as.vector(idx)], R, n, byrow = TRUE)
    # The resamples keep the regulator's rate distribution fitted to
    # all bulk samples (at the bulk level the counts are deep, the
    # posteriors narrow); their p-values are not used.
    prior <- lapply(counts$prior, function(m) m[, c(pair, pair), drop = FALSE])
    .fit_pairwise(M, pairs = bp, genes = NULL, k = k, method = "REML",
        transform = "none", counts = TRUE, size.factors = rbind(S, S),
        dispersion = counts$dispersion, test = c("wild", "F"), nboot = 0,
        level = 0.95, seed = 1L, BPPARAM = SerialParam(), num.threads = 1L,
        verbose = FALSE, rate.test = FALSE, rate.prior = prior)
}

# The cell curve at the resamples' bulk values Xr (Hr: H resampled), with
# cell.boot that of the paired cell resample.
.ff_boot_cell_curves <- function(Hr, Xr, idx, pair, b, cell.boot) {
    if (is.null(cell.boot)) return(Hr)
    n <- nrow(Xr)
    masked <- is.na(Hr)
    # pairs whose cell curve was fitted (row not NA): the curve of
    # the paired cell resample, mapped through the aggregation
    nb <- length(cell.boot$fits)
    bb <- (b - 1L) %% nb + 1L
    fitted <- !is.na(cell.boot$rows[pair])
    for (j in unique(bb[fitted])) {
        cols <- which(bb == j & fitted)
        f <- function(u) .curve_values(cell.boot$fits[[j]],
            cell.boot$rows[pair[cols]], u)
        Hr[, cols] <- if (is.null(cell.boot$map))
            f(Xr[, cols, drop = FALSE]) else
            cell.boot$map(f, Xr[, cols, drop = FALSE], matrix(idx[, cols], n))
    }
    # the samples left out of D (no cell curve there) stay out
    Hr[masked] <- NA_real_
    Hr
}

# The interval ends (lower, upper) of distance D from its resampled distances d
# (NA without a quantile).
.ff_interval_ends <- function(d, D, level) {
    # Lower end basic (2 D - upper quantile): a resample's distance carries
    # its own estimation noise on top of D's, so the resampled distances
    # sit above D by about D's upward bias, which the reflection undoes.
    # Upper end percentile (the upper quantile itself): the resampled
    # distances' spread is skewed to the right, and the basic upper end
    # (reflecting the lower tail) fell below the truth in up to a quarter
    # of replicates with skewed causes.  Both ends hold D.
    q <- quantile(d, 1 - (1 - level) / 2, names = FALSE, na.rm = TRUE)
    if (is.na(q)) return(c(NA_real_, NA_real_))
    c(min(D, max(0, 2 * D - q)), max(D, q))
}
