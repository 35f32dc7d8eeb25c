#' Plot fitted pairwise functions over their data
#'
#' One panel per pair: the observations (hexagonal bins when there are more
#' than `hex.above` of them), the fitted spline with its pointwise band
#' (dotted where fewer than 10 observations support it, see
#' [pairwiseCurves()]), and the affine fit (dashed); the panel title gives
#' `nl` and `edf`.
#'
#' @param fit The result of [fitPairwise()].
#' @param x The data the fit was made on (the same object, or its assay).
#' @param pairs Which pairs (see [pairwiseCurves()]); default: the first
#'   `max.pairs` with a fit and a detected relation (`p.relation` below
#'   0.05 after Benjamini-Hochberg correction).
#' @param assay.type For a `SummarizedExperiment` `x`: the assay; default,
#'   the one recorded in `fit`.
#' @param max.pairs Most panels drawn when `pairs` is `NULL`.
#' @param hex.above Above this many observations a panel shows hexagonal
#'   bins instead of points (needs the hexbin package).
#' @param level Confidence level of the band.
#'
#' @return A `ggplot` object.
#' @examples
#' set.seed(1)
#' x <- runif(300, 0, 3)
#' m <- rbind(X = x, Y = sin(2 * x) + rnorm(300, sd = 0.2),
#'            Z = 2 * x + rnorm(300))
#' fit <- fitPairwise(m, pairs = data.frame("X", c("Y", "Z")))
#' if (requireNamespace("ggplot2", quietly = TRUE)) plotPairwise(fit, m)
#' @export
#' @importFrom SummarizedExperiment assay
plotPairwise <- function(fit, x, pairs = NULL, assay.type = NULL,
    max.pairs = 12, hex.above = 2000, level = 0.95) {
    .need_ggplot2()
    .spline_store(fit)
    level <- .check_prob(level, "level")
    x <- .plot_pairwise_x(fit, x, assay.type)
    idx <- .plot_pairwise_pairs(fit, pairs, max.pairs)
    .check_gene_names(c(fit$regulator[idx], fit$target[idx]), rownames(x),
        "fit")
    .plot_pairwise_layers(.plot_pairwise_data(fit, x, idx, level), hex.above,
        level)
}

# The values plotPairwise() draws: x itself, or the assay of a
# SummarizedExperiment x (default: the fit's).
.plot_pairwise_x <- function(fit, x, assay.type) {
    if (!is(x, "SummarizedExperiment")) return(x)
    if (is.null(assay.type)) assay.type <- metadata(fit)$assay.type
    if (is.null(assay.type))
        stop("give `assay.type` for a SummarizedExperiment `x`", call. = FALSE)
    .assay_of(x, assay.type)
}

# The rows of fit to draw: `pairs`, or the first max.pairs fitted pairs with a
# detected relation.
.plot_pairwise_pairs <- function(fit, pairs, max.pairs) {
    idx <- .pick_pairs(fit, pairs)
    if (is.null(pairs)) {
        idx <- idx[fit$status[idx] %in% c("ok", "flat fit")]
        # pairs without a detected relation have noise for a curve
        rel <- .related(fit)[idx]
        if (any(rel)) {
            idx <- idx[rel]
        } else if (length(idx)) {
            message("no pair has a detected relation (BH-adjusted p.relation < 0.05); showing unrelated pairs")
        }
        idx <- utils::head(idx, max.pairs)
    }
    if (!length(idx)) stop("no pair with a fit to plot", call. = FALSE)
    idx
}

# The panels' data (rows idx of fit): points, curves with bands (or NULL),
# affine lines, titles (label), transform.
.plot_pairwise_data <- function(fit, x, idx, level) {
    transform <- metadata(fit)$transform
    label <- sprintf("%s -> %s\nnl = %s, edf = %s", fit$regulator[idx],
        fit$target[idx], formatC(fit$nl[idx], digits = 2, format = "f"),
        formatC(fit$edf[idx], digits = 1, format = "f"))
    names(label) <- rownames(fit)[idx]
    pts <- .plot_pairwise_points(fit, x, idx, transform)
    has.curve <- idx[!is.na(metadata(fit)$spline$context[idx])]
    curves <- if (length(has.curve))
        as.data.frame(pairwiseCurves(fit, has.curve, grid = 200,
            level = level)) else NULL
    if (!is.null(curves))
        curves$pair <- paste0(curves$regulator, "->", curves$target)
    lines <- data.frame(pair = rownames(fit)[idx],
        intercept = fit$intercept[idx], slope = fit$slope[idx])
    pts$pair <- factor(pts$pair, levels = rownames(fit)[idx])
    lines$pair <- factor(lines$pair, levels = rownames(fit)[idx])
    if (!is.null(curves))
        curves$pair <- factor(curves$pair, levels = rownames(fit)[idx])
    list(pts = pts, curves = curves, lines = lines, label = label,
        transform = transform, npairs = length(idx))
}

# The observations of the pairs idx (log1p values for a log1p fit), one row per
# finite point.
.plot_pairwise_points <- function(fit, x, idx, transform) {
    do.call(rbind, lapply(idx, function(i) {
        xv <- as.numeric(x[fit$regulator[i], ])
        yv <- as.numeric(x[fit$target[i], ])
        if (identical(transform, "log1p")) {
            xv <- log1p(xv)
            yv <- log1p(yv)
        }
        ok <- !is.na(xv) & !is.na(yv)
        data.frame(pair = rownames(fit)[i], x = xv[ok], y = yv[ok])
    }))
}

# The plot of the panels' data d: points or hexagonal bins, the curves, the
# affine lines, facets and labels.
.plot_pairwise_layers <- function(d, hex.above, level) {
    many <- nrow(d$pts) / d$npairs > hex.above &&
        requireNamespace("hexbin", quietly = TRUE)
    p <- ggplot2::ggplot(d$pts, ggplot2::aes(x = x, y = y))
    p <- if (many) {
        p + ggplot2::geom_hex(bins = 40) +
            ggplot2::scale_fill_gradient(low = "grey85", high = "grey20",
                trans = "log10")
    } else {
        p + ggplot2::geom_point(size = 0.6, alpha = 0.4, colour = "grey40")
    }
    thin <- FALSE
    if (!is.null(d$curves)) {
        thin <- any(d$curves$thin, na.rm = TRUE)
        p <- .plot_pairwise_curves(p, d$curves)
    }
    logged <- identical(d$transform, "log1p")
    p + ggplot2::geom_abline(data = d$lines,
            ggplot2::aes(intercept = intercept, slope = slope),
            colour = "#0072B2", linetype = "dashed") +
        ggplot2::facet_wrap(~pair, scales = "free",
            labeller = ggplot2::as_labeller(d$label)) +
        ggplot2::labs(x = if (logged) "regulator, log1p" else "regulator",
            y = if (logged) "target, log1p" else "target",
            caption = paste0("spline (orange, ", 100 * level,
                "% band) and affine fit (dashed)",
                if (thin)
                    "\ndotted: fewer than 10 observations in the knot interval"
                else "")) +
        ggplot2::theme_bw()
}

# p with the spline curves and bands, dotted where fewer than 10 observations
# lie in the knot interval.
.plot_pairwise_curves <- function(p, curves) {
    curves$solid <- ifelse(!is.na(curves$thin) & curves$thin, NA_real_,
        curves$fit)
    p + ggplot2::geom_ribbon(data = curves, ggplot2::aes(x = x, ymin = lower,
        ymax = upper), inherit.aes = FALSE, fill = "#D55E00", alpha = 0.25) +
        ggplot2::geom_line(data = curves, ggplot2::aes(x = x, y = fit),
            colour = "#D55E00", linewidth = 0.6, linetype = "dotted") +
        ggplot2::geom_line(data = curves, ggplot2::aes(x = x, y = solid),
            colour = "#D55E00", linewidth = 0.9, na.rm = TRUE)
}

#' Plot the distribution of the nonlinearity index across pairs
#'
#' Violin and box plots of `nl` for one or more fits (for example cell level
#' against bulk level, or one dataset against another), with the share of
#' pairs whose `p.nonlinear` is below `alpha` after Benjamini-Hochberg
#' correction printed above each group.  The violins and the median show the
#' pairs with a detected relation (`p.relation` below 0.05 after
#' Benjamini-Hochberg correction; see [fitPairwise()]): the `nl` of a pair
#' whose spline fits noise is itself noise.  The share of non-linear pairs
#' is over all fitted pairs.
#'
#' @param ... Results of [fitPairwise()], named by group (or one named list
#'   of them).
#' @param alpha Level of the corrected test whose share is printed.
#'
#' @return A `ggplot` object.
#' @examples
#' set.seed(1)
#' x <- runif(300, 0, 3)
#' m <- rbind(X = x, Y = sin(2 * x) + rnorm(300, sd = 0.2),
#'            Z = 2 * x + rnorm(300))
#' fit <- fitPairwise(m)
#' if (requireNamespace("ggplot2", quietly = TRUE)) plotNonlinearity(all = fit)
#' @export
#' @importFrom stats p.adjust
plotNonlinearity <- function(..., alpha = 0.05) {
    .need_ggplot2()
    fits <- list(...)
    if (length(fits) == 1L && is.list(fits[[1L]]) &&
        !is(fits[[1L]], "DataFrame")) fits <- fits[[1L]]
    if (!length(fits))
        stop("give at least one fitPairwise() result", call. = FALSE)
    if (is.null(names(fits)) || any(!nzchar(names(fits)))) {
        names(fits) <- if (length(fits) == 1L) "pairs" else
            paste("fit", seq_along(fits))
    }
    # only the table is read: a row subset of a fit is fine here
    for (f in fits) {
        if (!is(f, "DataFrame") || is.null(metadata(f)$spline) ||
            !all(c("nl", "p.nonlinear") %in% colnames(f))) {
            stop("give results of fitPairwise()", call. = FALSE)
        }
    }
    df <- do.call(rbind, lapply(names(fits), function(g) {
        f <- fits[[g]]
        data.frame(group = g, nl = f$nl, p = f$p.nonlinear,
            related = .related(f))
    }))
    df$group <- factor(df$group, levels = names(fits))
    share <- do.call(rbind, lapply(split(df, df$group), function(d) {
        q <- p.adjust(d$p, method = "BH")
        shown <- !is.na(d$nl) & d$related
        data.frame(group = d$group[1L], label = sprintf(
            "%.0f%% non-linear\nmedian nl %.2f (%d of %d pairs)",
            100 * mean(q < alpha, na.rm = TRUE), stats::median(d$nl[shown]),
            sum(shown), sum(!is.na(d$nl))))
    }))
    # the violins show the pairs with a detected relation: nl of the others
    # is a share of noise
    df <- df[!is.na(df$nl) & df$related, ]
    ggplot2::ggplot(df, ggplot2::aes(x = group, y = nl)) +
        ggplot2::geom_violin(fill = "grey85", colour = "grey50",
            scale = "width") +
        ggplot2::geom_boxplot(width = 0.15, outlier.size = 0.5) +
        ggplot2::geom_text(data = share,
            ggplot2::aes(x = group, y = 1.08, label = label),
            size = 3, vjust = 0) +
        ggplot2::scale_y_continuous(limits = c(0, 1.25),
            breaks = seq(0, 1, 0.25)) +
        ggplot2::labs(x = NULL, y = "nonlinearity index nl",
            caption = sprintf(paste0(
                "share: BH-adjusted p.nonlinear < %s, of all pairs\n",
                "violins and median: pairs with a detected relation"),
                format(alpha))) +
        ggplot2::theme_bw()
}

.need_ggplot2 <- function() {
    if (!requireNamespace("ggplot2", quietly = TRUE)) {
        stop("this plot needs the ggplot2 package; install it with install.packages('ggplot2')", call. = FALSE)
    }
}

# Column names used inside ggplot2::aes().
utils::globalVariables(c("x", "y", "lower", "upper", "fit", "intercept",
    "slope", "group", "nl", "label", "solid"))
