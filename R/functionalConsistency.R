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
#'     `ff.lower`, `ff.upper`: the basic (reverse percentile) bootstrap
#'     interval \eqn{[2D - q_{hi}, 2D - q_{lo}]}, floored at 0, over
#'     `nboot` resamples of the bulk samples, each with its own spline fit.
#'     A resampled fit adds its own estimation noise, so resampled distances
#'     sit above \eqn{D} by about \eqn{D}'s own upward bias; the basic
#'     interval undoes that shift where a percentile interval would double
#'     it.}
#'   \item{`p.curve`}{The F test of \eqn{\bar Y_j - h_j(\bar X_j)} against a
#'     constant, the alternative being an unpenalised cubic spline of
#'     \eqn{\bar X} with `k` coefficients: small when the curves are not
#'     parallel.}
#'   \item{`p.resid`}{The HSIC test (gamma approximation, as in the spline
#'     test of [ciTest()]) of the bulk residual against \eqn{\bar X}.}
#' }
#' An edge is `consistent` when both p-values exceed `alpha`.
#'
#' @param cells Cell-level data: a `SummarizedExperiment` (genes x cells)
#'   whose `colData` column `sample` says which bulk sample each cell went
#'   into.
#' @param bulk The bulk samples: a `SummarizedExperiment` (genes x samples)
#'   whose column names are those samples, e.g. from [simulateBulk()] or
#'   [aggregateCells()].
#' @param edges A data.frame with `from` and `to` gene names; default: the
#'   edges of the model in `metadata()`.
#' @param sample The `colData` column of `cells` naming each cell's sample.
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
#'   the cells' dispersion over the mean number of cells per sample).
#' @param size.factors,dispersion With `counts = TRUE`: the cells' size
#'   factors (default: library sizes over all genes of `cells`, divided by
#'   their mean) and the counts' technical dispersion, as in
#'   [fitPairwise()].
#' @param k Spline basis dimension.
#' @param nboot Bootstrap resamples of the distance's interval (0: none).
#' @param level Confidence level of that interval.
#' @param alpha Level of the `consistent` decision.
#' @param central Quantiles of \eqn{\bar X} bounding the range the distance
#'   is computed over.
#' @param seed Seed of the bootstrap and of the HSIC subsample.
#' @param max.n Most bulk samples the HSIC test uses.
#'
#' @return A [S4Vectors::DataFrame], one row per edge (row names
#'   `"from->to"`): `regulator`, `target`, `reference` (`"truth"` or
#'   `"cells"`), `aggregation`, `n` (bulk samples), `ff.distance`,
#'   `ff.lower`, `ff.upper`, `p.curve`, `p.resid` and `consistent`.
#' @examples
#' model <- grnModel(data.frame(from = c("X", "X"), to = c("Y", "Z"), fun = c("affine", "sin"), n = c(1, 2)),
#'                   noise.scale = c(X = 1, Y = 0.3, Z = 0.3))
#' sim <- simulateBulk(model, nsamples = 300, cells.per.sample = 20, keep.cells = TRUE, seed = 1)
#' functionalConsistency(S4Vectors::metadata(sim)$cells, sim, nboot = 20)
#' @export
#' @importFrom stats quantile sd
functionalConsistency <- function(cells, bulk, edges = NULL, sample = "sample", aggregation = NULL,
    assay.type = "latent", truth = TRUE, counts = FALSE, size.factors = NULL, dispersion = 0, k = 10,
    nboot = 100, level = 0.95, alpha = 0.05, central = c(0.05, 0.95), seed = 1, max.n = 2000) {
    if (!is(cells, "SummarizedExperiment") || !is(bulk, "SummarizedExperiment")) {
        stop("`cells` and `bulk` must be SummarizedExperiment objects with genes in rows", call. = FALSE)
    }
    if (is.null(aggregation)) aggregation <- metadata(bulk)$aggregation
    if (is.null(aggregation)) stop("give `aggregation`: `bulk` does not record it in metadata()", call. = FALSE)
    aggregation <- .check_choice(aggregation, .agg_funs, "aggregation")
    truth <- .check_flag(truth, "truth")
    counts <- .check_flag(counts, "counts")
    if (counts) truth <- FALSE
    k <- .check_count(k, "k", min = 4)
    nboot <- .check_count(nboot, "nboot", min = 0)
    alpha <- .check_number(alpha, "alpha", lower = 0, lower.open = TRUE)
    seed <- .check_count(seed, "seed", min = 0)
    if (!is.numeric(central) || length(central) != 2L || anyNA(central) || central[1L] < 0 ||
        central[2L] > 1 || central[1L] >= central[2L]) {
        stop(sprintf("`central` must be two increasing quantile levels in [0, 1], not %s", .fmt_value(central)),
            call. = FALSE)
    }
    at <- rep_len(assay.type, 2L)
    model <- metadata(cells)$model
    if (is.null(model)) model <- metadata(bulk)$model
    if (is.null(edges)) {
        if (!is(model, "GRNModel")) stop("give `edges`: the data carry no model", call. = FALSE)
        edges <- as.data.frame(edgeTable(model))[, c("from", "to")]
    }
    if (!(is.data.frame(edges) || is(edges, "DataFrame")) || !all(c("from", "to") %in% colnames(edges))) {
        stop("`edges` must be a data.frame with `from` and `to` columns", call. = FALSE)
    }
    edges <- data.frame(from = as.character(edges$from), to = as.character(edges$to), stringsAsFactors = FALSE)
    .check_gene_names(unique(c(edges$from, edges$to)), intersect(rownames(cells), rownames(bulk)), "edges")
    if (counts && aggregation != "sum") {
        stop(sprintf(paste("counts = TRUE compares rates: `bulk` must hold the cells' summed counts",
            "(aggregation 'sum'), not aggregation %s"), .fmt_value(aggregation)), call. = FALSE)
    }
    info <- .bulk_sample_info(cells, bulk, sample, at[1L], aggregation)
    ym <- .assay_of(bulk, at[2L])
    genes <- unique(c(edges$from, edges$to))
    B <- as.matrix(ym[genes, , drop = FALSE])
    pairs <- data.frame(regulator = edges$from, target = edges$to)
    bulk.counts <- NULL
    if (counts) {
        # Both levels on the rate scale: a bulk sample's rate is its summed
        # counts over its cells' summed size factors (a linear aggregation of
        # the cells' rates, so f maps to f).
        cm <- .assay_of(cells, at[1L])
        if (is.null(size.factors)) {
            size.factors <- .library_size_factors(cm, TRUE, "cells", at[1L], when = "with counts = TRUE",
                instead = "use counts = FALSE for values that are not counts")
        }
        size.factors <- .check_size_factors(size.factors, ncol(cells))
        j <- match(as.character(cells[[sample]]), colnames(bulk))
        S <- vapply(split(size.factors, factor(j, levels = seq_len(ncol(bulk)))), sum, numeric(1))
        .check_whole_counts(B, "the bulk assay", "with counts = TRUE", "use counts = FALSE")
        bulk.counts <- list(counts = B, size = S, dispersion = dispersion / mean(info$ncells))
        bulk.fit <- fitPairwise(B, pairs = pairs, k = k, seed = seed, counts = TRUE, size.factors = S,
            dispersion = bulk.counts$dispersion)
        B <- B * rep(1 / S, each = nrow(B))
        aggregation <- "mean"
    } else {
        bulk.fit <- fitPairwise(B, pairs = pairs, k = k, seed = seed)
    }
    use.truth <- vapply(seq_len(nrow(edges)), function(e) truth && .truth_usable(model, edges$from[e], edges$to[e]),
        logical(1))
    cell.fit <- NULL
    if (!all(use.truth)) {
        C <- as.matrix(.assay_of(cells, at[1L])[genes, , drop = FALSE])
        cell.fit <- fitPairwise(C, pairs = data.frame(regulator = edges$from[!use.truth],
            target = edges$to[!use.truth]), k = k, seed = seed, counts = counts,
            size.factors = if (counts) size.factors, dispersion = dispersion)
    }
    rows <- lapply(seq_len(nrow(edges)), function(e) {
        from <- edges$from[e]
        to <- edges$to[e]
        f <- if (use.truth[e]) {
            tf <- trueFunction(model, from, to)
            b <- model@intercept[[to]]
            function(u) tf(u) + b
        } else {
            i <- which(cell.fit$regulator == from & cell.fit$target == to)
            function(u) drop(.curve_values(cell.fit, i, u))
        }
        cnt <- if (counts) {
            list(x = bulk.counts$counts[from, ], y = bulk.counts$counts[to, ], size = bulk.counts$size,
                dispersion = bulk.counts$dispersion)
        }
        .ff_edge(B[from, ], B[to, ], f, info, aggregation, bulk.fit, e, k, nboot, level, central, seed + e, max.n,
            cnt)
    })
    out <- DataFrame(regulator = edges$from, target = edges$to,
        reference = ifelse(use.truth, "truth", "cells"), aggregation = if (counts) "sum (as rates)" else aggregation,
        do.call(rbind, rows), row.names = paste0(edges$from, "->", edges$to))
    out$consistent <- out$p.curve > alpha & out$p.resid > alpha
    out
}

# Can the edge's true function serve as the cell-level curve E[Y | X]?
.truth_usable <- function(model, from, to) {
    if (!is(model, "GRNModel") || nrow(model@celltypes) > 0L) return(FALSE)
    e <- model@edges
    sum(e$to == to) == 1L && any(e$from == from & e$to == to)
}

# Per bulk sample: number of cells and, for cpm, the total over all genes.
.bulk_sample_info <- function(cells, bulk, sample, assay.type, aggregation) {
    if (!sample %in% colnames(colData(cells))) {
        stop(sprintf("`sample` = %s is not a colData column of `cells`", .fmt_value(sample)), call. = FALSE)
    }
    lab <- as.character(cells[[sample]])
    j <- match(lab, colnames(bulk))
    if (anyNA(j)) {
        stop(sprintf("cells of sample %s are not in `bulk` (its column names)", .fmt_value(unique(lab[is.na(j)]))),
            call. = FALSE)
    }
    ncell <- tabulate(j, nbins = ncol(bulk))
    if (any(ncell == 0L)) {
        stop(sprintf("bulk samples %s have no cells in `cells`", .fmt_value(colnames(bulk)[ncell == 0L])),
            call. = FALSE)
    }
    total <- if (aggregation == "cpm") {
        cs <- colSums(as.matrix(.assay_of(cells, assay.type)))
        vapply(split(cs, factor(j, levels = seq_len(ncol(bulk)))), sum, numeric(1))
    } else NULL
    list(ncells = ncell, total = total)
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

#' @importFrom stats lm.fit pf
# `counts`: NULL, or the bulk samples' counts of x and y with their size
# factors and dispersion, so that each resample is fitted on the rate scale
# as bulk.fit was (x and y are then the rates, counts / size).
# `f.boot`: NULL (the cell curve f is held fixed), or function(b, u) giving
# the cell curve of cell resample b at u, paired with bulk resample b.
.ff_edge <- function(x, y, f, info, aggregation, bulk.fit, e, k, nboot, level, central, seed, max.n,
    counts = NULL, f.boot = NULL) {
    h <- .map_curve(f, x, info, aggregation)
    ghat <- drop(.curve_values(bulk.fit, e, x))
    # The distance of a curve g to h over the central range of x, in sd(y).
    dist <- function(g, x, y, h) {
        ok <- is.finite(h)
        q <- quantile(x[ok], central, names = FALSE)
        mid <- ok & x >= q[1L] & x <= q[2L]
        d <- g[mid] - h[mid]
        d <- d[is.finite(d)]
        sqrt(mean((d - mean(d))^2)) / sd(y)
    }
    ok <- is.finite(h)
    D <- dist(ghat, x, y, h)
    lower <- upper <- NA_real_
    if (nboot > 0) {
        # All resamples in one fitPairwise call: gene pair (x_b, y_b) per
        # resample; each resample's distance is computed over its own samples
        # (range, scale and all), as the statistic is over the data's.
        n <- length(x)
        idx <- matrix(resample_cpp(n, n, as.integer(nboot), TRUE, seed), nboot, byrow = TRUE)
        bp <- data.frame(paste0("x", seq_len(nboot)), paste0("y", seq_len(nboot)))
        names <- c(paste0("x", seq_len(nboot)), paste0("y", seq_len(nboot)))
        bf <- if (is.null(counts)) {
            M <- rbind(matrix(x[idx], nboot), matrix(y[idx], nboot))
            rownames(M) <- names
            fitPairwise(M, pairs = bp, k = k, seed = seed)
        } else {
            M <- rbind(matrix(counts$x[idx], nboot), matrix(counts$y[idx], nboot))
            rownames(M) <- names
            S <- matrix(counts$size[idx], nboot)
            # The resamples keep the regulator's rate distribution fitted to
            # all bulk samples (at the bulk level the counts are deep, the
            # posteriors narrow); their p-values are not used.
            rp <- metadata(bulk.fit)$rate.prior
            j <- match(bulk.fit$regulator[e], colnames(rp$grid))
            prior <- lapply(rp, function(m) m[, rep(j, 2L * nboot), drop = FALSE])
            .fit_pairwise(M, pairs = bp, genes = NULL, k = k, method = "REML", transform = "none", counts = TRUE,
                size.factors = rbind(S, S), dispersion = counts$dispersion, test = c("wild", "F"), nboot = 0,
                level = 0.95, seed = seed, BPPARAM = SerialParam(), num.threads = 1L, verbose = FALSE,
                rate.test = FALSE, rate.prior = prior)
        }
        fitted <- which(!is.na(bf$edf))
        Ds <- vapply(fitted, function(b) {
            i <- idx[b, ]
            hb <- if (is.null(f.boot)) h[i] else f.boot(b, x[i])
            dist(drop(.curve_values(bf, b, x[i])), x[i], y[i], hb)
        }, numeric(1))
        # Basic (reverse percentile) interval: a resample's distance carries
        # its own estimation noise on top of D's, so the resampled distances
        # sit above D by about D's own upward bias; 2 D - q undoes that shift
        # where the percentile interval would double it.  Distances are >= 0.
        q <- quantile(Ds, c(1 - (1 - level) / 2, (1 - level) / 2), names = FALSE, na.rm = TRUE)
        lower <- max(0, 2 * D - q[1L])
        upper <- max(0, 2 * D - q[2L])
    }
    # Part 1: F test of y - h against a constant, alternative a cubic spline.
    r <- (y - h)[ok]
    X <- pspline_design_cpp(x[ok], as.integer(k))
    fit1 <- lm.fit(X, r)
    rss1 <- sum(fit1$residuals^2)
    rss0 <- sum((r - mean(r))^2)
    df1 <- fit1$rank - 1
    df2 <- length(r) - fit1$rank
    p.curve <- if (df1 > 0 && df2 > 0 && rss1 > 0) pf((rss0 - rss1) / df1 / (rss1 / df2), df1, df2,
        lower.tail = FALSE) else NA_real_
    # Part 2: HSIC of the bulk residual against x.
    res <- y - ghat
    use <- which(is.finite(res))
    if (length(use) > max.n) use <- use[resample_cpp(length(use), as.integer(max.n), 1L, FALSE, seed)]
    p.resid <- if (length(use) >= 6L) unname(hsic_test_cpp(x[use], res[use], 0L, seed)["p.value"]) else NA_real_
    data.frame(n = length(x), ff.distance = D, ff.lower = lower, ff.upper = upper, p.curve = p.curve,
        p.resid = p.resid)
}
