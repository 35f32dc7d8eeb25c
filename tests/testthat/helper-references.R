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

# The verdict rule of ?recoverabilityAudit ("The verdict"), applied to an
# audit table's own columns: returns the verdict and the reason code of each
# row.  `failed`: the rows whose fit failed at either level.
#   inconsistent: padj.curve < alpha and the distance's whole interval
#     beyond the tolerance (ff.lower, or ff.distance without an interval),
#     "departs"; or independent in cells, dependent in pseudobulk, "new
#     dependence".
#   consistent: not inconsistent, ff.upper <= tolerance, the CI decisions
#     agree and a dependence is detected at one level at least, "agree".
#   undetermined: a failed fit ("fit failed"), a regulator reliability below
#     min.reliability ("count noise"), no dependence at either level ("no
#     relation"), on counts a regulator reliability below 0.6 where the
#     curves or a pseudobulk-only dependence would decide ("unreliable"),
#     a dependence lost in pseudobulk ("lost dependence"), no interval
#     ("no interval"), or an interval holding the tolerance ("interval wide").
ref_audit_verdict <- function(tab, alpha, tolerance, counts = FALSE, min.reliability = 0,
    failed = rep(FALSE, nrow(tab))) {
    below <- function(p) !is.na(p) & p < alpha
    above <- function(p) !is.na(p) & p >= alpha
    rel <- if (is.null(tab$reliability.regulator.cells)) rep(NA_real_, nrow(tab)) else tab$reliability.regulator.cells
    edge <- ifelse(is.na(tab$ff.lower), tab$ff.distance, tab$ff.lower)
    departs <- below(tab$padj.curve) & !is.na(edge) & edge > tolerance
    new.dep <- above(tab$padj.ci.cells) & below(tab$padj.ci.bulk)
    lost <- below(tab$padj.ci.cells) & above(tab$padj.ci.bulk)
    none <- above(tab$padj.ci.cells) & above(tab$padj.ci.bulk)
    agree <- !is.na(tab$ff.upper) & tab$ff.upper <= tolerance & (is.na(tab$ci.agree) | tab$ci.agree)
    unreliable <- counts & !is.na(rel) & rel < 0.6
    code <- vapply(seq_len(nrow(tab)), function(i) {
        if (failed[i]) return("fit failed")
        if (!is.na(rel[i]) && rel[i] < min.reliability) return("count noise")
        if (departs[i] && !unreliable[i]) return("departs")
        if (new.dep[i] && !unreliable[i]) return("new dependence")
        if (none[i]) return("no relation")
        if ((agree[i] || departs[i] || new.dep[i]) && unreliable[i]) return("unreliable")
        if (agree[i]) return("agree")
        if (lost[i]) return("lost dependence")
        if (is.na(tab$ff.upper[i])) return("no interval")
        "interval wide"
    }, "")
    verdict <- ifelse(code %in% c("departs", "new dependence"), "inconsistent",
        ifelse(code == "agree", "consistent", "undetermined"))
    list(verdict = verdict, code = code)
}
