# Naive R references shared by the test files: each computes a quantity from
# its definition, one value at a time, so that a test compares the package
# with something that could not share its bugs.  (Count-data references are
# in helper-counts.R.)

# Each aggregation of aggregateCells() from its definition, one group at a
# time: genes x groups, groups in sorted order (the levels of factor(ids)).
ref_aggregate <- function(x, ids, fun, pseudo = 1) {
    f <- factor(ids)
    out <- vapply(levels(f), function(l) {
        v <- x[, which(f == l), drop = FALSE]
        switch(fun,
            sum = rowSums(v),
            mean = rowMeans(v),
            geomean = pseudo * (exp(rowMeans(log1p(v / pseudo))) - 1),
            median = apply(v, 1, median),
            max = apply(v, 1, max),
            log1p_sum = log1p(rowSums(v)),
            cpm = rowSums(v))
    }, numeric(nrow(x)))
    if (fun == "cpm") out <- t(t(out) / colSums(out)) * 1e6
    out
}

# Cubic B-splines with mgcv's "ps" knots for data on [lo, hi] at u (clamped):
# k basis functions, k - 3 knot intervals over the range widened by 0.1% at
# each end.
ref_ps_basis <- function(u, lo, hi, k) {
    r <- hi - lo
    xl <- lo - 0.001 * r
    dx <- (hi + 0.001 * r - xl) / (k - 3)
    splines::splineDesign(xl + dx * (-3:k), pmin(pmax(u, lo), hi), ord = 4, outer.ok = TRUE)
}

# The knot interval (1 to k - 3) of ref_ps_basis(, lo, hi, k) that holds each
# value of v (values outside the range go to the end intervals).
ref_knot_interval <- function(v, lo, hi, k) {
    r <- hi - lo
    xl <- lo - 0.001 * r
    dx <- 1.002 * r / (k - 3)
    pmin(pmax(floor((v - xl) / dx), 0), k - 4) + 1
}

# The difference penalty of fitPairwise: D'D scaled by its largest absolute
# column sum.
ref_penalty <- function(k) {
    S <- crossprod(diff(diag(k), differences = 2))
    S / max(colSums(abs(S)))
}

# fitPairwise()'s default basis dimension for n observations (documented in
# ?fitPairwise): ceiling(sqrt(n)), from 10 to 50.
ref_default_k <- function(n) min(50, max(10, ceiling(sqrt(n))))

# The FF distance of THEORY.md section 2: the root mean square of the gap g - h
# (centred: an intercept is free) over the central range of the bulk
# regulator values x, in units of the standard deviation of the bulk target y.
ref_ff_distance <- function(g, h, x, y, central = c(0.05, 0.95)) {
    q <- quantile(x, central, names = FALSE)
    d <- (g - h)[x >= q[1] & x <= q[2]]
    sqrt(mean((d - mean(d))^2)) / sd(y)
}

# Library-size factors: column sums over their mean.
ref_size_factors <- function(counts) {
    lib <- colSums(counts)
    lib / mean(lib)
}

# Pseudobulk rates: each pool's summed counts over its summed size factors;
# `members` a list of column indices, one element per pool.
ref_pool_rates <- function(counts, members, sf) {
    vapply(members, function(i) rowSums(counts[, i, drop = FALSE]) / sum(sf[i]), numeric(nrow(counts)))
}
