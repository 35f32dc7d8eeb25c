#' Evaluate fitted pairwise curves with pointwise standard errors
#'
#' Evaluates the splines kept by [fitPairwise()] on a grid of regulator
#' values, with Bayesian pointwise standard errors (mgcv's `se.fit`): the
#' variance of the fitted curve at `x` is `sigma^2 b(x)' (B'B + lambda S)^-1
#' b(x)`, with `b(x)` the basis at `x`.
#'
#' @param fit The result of [fitPairwise()].
#' @param pairs Which pairs: row names (`"regulator->target"`), row numbers,
#'   or a data.frame of regulator and target names. Default: every pair
#'   with a fit.
#' @param grid The number of equally spaced regulator values across each
#'   pair's observed range, or a numeric vector of values (those outside the
#'   observed range get `NA`: splines are not extrapolated).
#' @param level Confidence level of the band.
#'
#' @return A [S4Vectors::DataFrame] in long form with columns `regulator`,
#'   `target`, `x`, `fit`, `se`, `lower`, `upper`, `n.near` (the number of
#'   observations whose regulator value lies in the same knot interval as
#'   `x`: the data behind the curve there) and `thin` (`n.near` below 10:
#'   the curve there rests on a handful of observations, and a few extreme
#'   cells can bend it; [plotPairwise()] draws it dotted).  For a
#'   count-aware fit the observations are counted at their posterior mean
#'   rates, which are pulled toward the centre, so the tails' counts are
#'   low.
#' @examples
#' set.seed(1)
#' x <- runif(300, 0, 3)
#' m <- rbind(X = x, Y = sin(2 * x) + rnorm(300, sd = 0.2))
#' fit <- fitPairwise(m, pairs = data.frame("X", "Y"))
#' head(pairwiseCurves(fit, grid = 5))
#' @export
#' @importFrom stats qnorm
pairwiseCurves <- function(fit, pairs = NULL, grid = 100, level = 0.95) {
    sp <- .spline_store(fit)
    idx <- .pick_pairs(fit, pairs)
    idx <- idx[!is.na(sp$context[idx])]
    if (!length(idx))
        stop("none of the chosen pairs has a fitted curve", call. = FALSE)
    level <- .check_prob(level, "level")
    if (level >= 1)
        stop(sprintf("`level` must be below 1, not %s", .fmt_value(level)),
            call. = FALSE)
    if (!is.numeric(grid) || !length(grid) || anyNA(grid)) {
        stop("`grid` must be a number of points or a numeric vector of regulator values", call. = FALSE)
    }
    if (length(grid) == 1L)
        grid <- .check_count(grid, "grid", min = 2, max = .int_max)
    z <- qnorm(1 - (1 - level) / 2)
    k <- nrow(sp$coef)
    ctx <- sp$contexts
    pieces <- lapply(idx, function(i) {
        c <- sp$context[i]
        xs <- if (length(grid) == 1L)
            seq(ctx$lo[c], ctx$hi[c], length.out = grid) else grid
        inside <- xs >= ctx$lo[c] & xs <= ctx$hi[c]
        B <- pspline_basis_cpp(ifelse(inside, xs, NA_real_), ctx$t0[c],
            ctx$dx[c], k)
        V <- ctx$V[, , c]
        f <- sp$mean.y[i] + drop(B %*% sp$coef[, i])
        BV <- B %*% V
        se <- fit$sigma[i] * sqrt(drop((BV^2) %*% (1 / sp$d[, i])))
        near <- drop(.curve_support(fit, i, xs))
        data.frame(regulator = fit$regulator[i], target = fit$target[i], x = xs,
            fit = f, se = se, lower = f - z * se, upper = f + z * se,
            n.near = near, thin = near < .thin_count, stringsAsFactors = FALSE)
    })
    DataFrame(do.call(rbind, pieces))
}

# Fewer observations than this in a knot interval make the curve there
# "thin" (documented in ?pairwiseCurves).
.thin_count <- 10L

# TRUE where the curves of pairs `idx` at regulator values `x` rest on
# fewer than .thin_count observations (see .curve_support()).
.thin_support <- function(fit, idx, x) {
    n <- .curve_support(fit, idx, x)
    !is.na(n) & n < .thin_count
}

# Fitted values of pairs `idx` at regulator values `x` (a vector, the same
# for every pair, or a matrix with one column per pair), as a matrix with
# one column per pair, NA outside each pair's range: the curves of
# pairwiseCurves() without their standard errors, evaluated by the core in
# one call.
.curve_values <- function(fit, idx, x) {
    sp <- if (inherits(fit, "bulkcausal_curves")) fit else .spline_store(fit)
    ctx <- sp$contexts
    X <- if (is.matrix(x)) x else matrix(as.double(x), length(x), length(idx))
    storage.mode(X) <- "double"
    curve_values_cpp(sp$coef, sp$mean.y, as.integer(sp$context), ctx$t0, ctx$dx,
        ctx$lo, ctx$hi, as.integer(idx), X)
}

# The curves of rows `rows` of a fit as .curve_values() reads them (rows
# 1, 2, ... in the order given), without the standard errors' matrices:
# what a worker needs of a fit to evaluate its pairs' curves.
.curve_subset <- function(fit, rows) {
    sp <- .spline_store(fit)
    ctx <- sp$contexts
    old <- sp$context[rows]
    used <- sort(unique(old[!is.na(old)]))
    structure(list(coef = sp$coef[, rows, drop = FALSE],
        mean.y = sp$mean.y[rows], context = match(old, used),
        contexts = list(t0 = ctx$t0[used], dx = ctx$dx[used], lo = ctx$lo[used],
            hi = ctx$hi[used])),
        class = "bulkcausal_curves")
}

# Observations behind the curves of pairs `idx` at regulator values `x` (as
# for .curve_values()): the count of the knot interval holding each value,
# NA outside the range or for fits made before counts were kept.
.curve_support <- function(fit, idx, x) {
    sp <- .spline_store(fit)
    ctx <- sp$contexts
    X <- if (is.matrix(x)) x else matrix(as.double(x), length(x), length(idx))
    out <- matrix(NA_integer_, nrow(X), length(idx))
    if (is.null(ctx$count)) return(out)
    # each value's context (the column's pair's), all pairs at once
    c <- rep(sp$context[idx], each = nrow(X))
    inside <- !is.na(c) & !is.na(X) & X >= ctx$lo[c] & X <= ctx$hi[c]
    inside[is.na(inside)] <- FALSE
    c <- c[inside]
    out[inside] <- ctx$count[cbind(.knot_interval(X[inside], ctx$t0[c],
        ctx$dx[c], nrow(sp$coef)), c)]
    out
}

# The knot interval (1 to k - 3) of values x of a basis with knots t0 + j dx
# and k coefficients (the curve's range is [t0 + 3 dx, t0 + k dx]).
.knot_interval <- function(x, t0, dx, k)
    pmin(pmax(floor((x - t0) / dx) - 3L, 0L), k - 4L) + 1L

.spline_store <- function(fit) {
    if (!is(fit, "DataFrame") || is.null(metadata(fit)$spline)) {
        stop("`fit` must be the result of fitPairwise()", call. = FALSE)
    }
    sp <- metadata(fit)$spline
    # the store is read by compiled code: its shapes must agree (a fit whose
    # rows or metadata were edited by hand can break them)
    ctx <- sp$contexts
    k <- if (is.matrix(sp$coef)) nrow(sp$coef) else NA_integer_
    nc <- length(ctx$t0)
    ok <- !is.na(k) && k >= 4L && ncol(sp$coef) == nrow(fit) &&
        is.matrix(sp$d) && identical(dim(sp$d), dim(sp$coef)) &&
        length(sp$mean.y) == nrow(fit) && length(sp$context) == nrow(fit) &&
        all(is.na(sp$context) | (sp$context >= 1 & sp$context <= nc)) &&
        length(ctx$dx) == nc && length(ctx$lo) == nc && length(ctx$hi) == nc &&
        identical(as.integer(dim(ctx$V)), as.integer(c(k, k, nc))) &&
        (is.null(ctx$count) || identical(as.integer(dim(ctx$count)),
            as.integer(c(k - 3L, nc))))
    if (!isTRUE(ok)) {
        stop(paste("`fit` has fitted curves that do not match its rows or its basis (was it subset or edited?);",
            "refit with fitPairwise()"), call. = FALSE)
    }
    sp
}

# Rows of `fit` chosen by `pairs` (row names, numbers, or a regulator/target
# table); all rows when NULL.
.pick_pairs <- function(fit, pairs) {
    if (is.null(pairs)) return(seq_len(nrow(fit)))
    if (is.data.frame(pairs) || is(pairs, "DataFrame")) {
        if (ncol(pairs) < 2L)
            stop("`pairs` must have regulator and target columns",
                call. = FALSE)
        pairs <- paste0(as.character(pairs[[1L]]), "->",
            as.character(pairs[[2L]]))
    }
    if (is.character(pairs)) {
        i <- match(pairs, rownames(fit))
        if (anyNA(i)) {
            stop(sprintf("`pairs` names %s, which %s not fitted",
                .fmt_value(pairs[is.na(i)]),
                if (sum(is.na(i)) > 1L) "are" else "is"), call. = FALSE)
        }
        return(i)
    }
    if (is.numeric(pairs) && length(pairs) && !anyNA(pairs) &&
        all(pairs == round(pairs)) && all(pairs >= 1 & pairs <= nrow(fit))) {
        return(as.integer(pairs))
    }
    stop(sprintf("`pairs` must be row names, row numbers or a data.frame of pairs, not %s", .fmt_value(pairs)),
        call. = FALSE)
}
