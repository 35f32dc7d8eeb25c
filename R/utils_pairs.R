# Which genes and pairs the audit examines.

# The chosen genes (rows of m) and pairs (a data.frame of names).
.audit_pairs <- function(m, sf, pairs, genes, s) {
    rn <- rownames(m)
    if (!is.null(pairs) || !is.null(genes)) {
        pr <- .resolve_pairs(pairs, genes, rn, colnames(m))
        pairs <- data.frame(regulator = rn[pr$regulator],
            target = rn[pr$target], stringsAsFactors = FALSE)
        self <- pairs$regulator == pairs$target
        if (any(self))
            stop(sprintf("`pairs` pairs gene %s with itself",
                .fmt_value(pairs$regulator[self][1L])), call. = FALSE)
    } else {
        top <- .variable_genes(m, sf, s$ngenes, s$min.detected)
        g <- expand.grid(target = top, regulator = top,
            stringsAsFactors = FALSE)
        pairs <- g[g$regulator != g$target, c("regulator", "target")]
    }
    if (nrow(pairs) > s$max.pairs) {
        stop(sprintf("%d pairs asked for, more than `max.pairs` = %d: raise `max.pairs` or audit fewer genes",
            nrow(pairs), s$max.pairs), call. = FALSE)
    }
    rownames(pairs) <- NULL
    list(genes = unique(c(pairs$regulator, pairs$target)), pairs = pairs)
}

# The n most variable genes: variance of log1p(normalised value), among
# genes non-zero in at least a share `min.detected` of the columns.  When
# the values go below 0 (centred or logged data used as they are), log1p is
# not defined for all of them: the variance of the values themselves, with
# a message, so that no gene is lost to NaN.
.variable_genes <- function(m, sf, n, min.detected) {
    # per-row count, mean and sum of squared deviations of the values and of
    # their log1p, combined over blocks (Chan et al.'s pairwise update; with
    # row blocks each row is one block, and this is the two-pass variance)
    zero <- function() list(n = numeric(nrow(m)), mean = numeric(nrow(m)),
        m2 = numeric(nrow(m)))
    raw <- lg <- zero()
    combine <- function(acc, rows, a) {
        nb <- ncol(a)
        mb <- rowMeans(a)
        m2b <- rowSums((a - mb)^2)
        na <- acc$n[rows]
        delta <- mb - acc$mean[rows]
        acc$mean[rows] <- acc$mean[rows] + delta * nb / (na + nb)
        acc$m2[rows] <- acc$m2[rows] + m2b + delta^2 * na * nb / (na + nb)
        acc$n[rows] <- na + nb
        acc
    }
    det <- numeric(nrow(m))
    neg <- FALSE
    for (bl in .blocks(m)) {
        b <- as.matrix(.block(m, bl$rows, bl$cols)) *
            rep(1 / sf[bl$cols], each = length(bl$rows))
        neg <- neg || any(b < 0, na.rm = TRUE)
        raw <- combine(raw, bl$rows, b)
        if (!neg) lg <- combine(lg, bl$rows, log1p(b))
        det[bl$rows] <- det[bl$rows] + rowSums(b != 0)
    }
    det <- det / ncol(m)
    v <- (if (neg) raw else lg)$m2 / max(1, ncol(m) - 1)
    if (neg) {
        message("the values go below 0: the most variable genes are chosen by the variance of the values themselves")
    }
    ok <- which(det >= min.detected & v > 0)
    if (length(ok) < 2L) {
        stop(sprintf("fewer than two genes are detected in %.0f%% of the columns (`min.detected`); lower it or give `genes`",
            100 * min.detected), call. = FALSE)
    }
    if (length(ok) < n)
        message(sprintf(
            "only %d genes pass `min.detected`; auditing their pairs",
            length(ok)))
    ok <- ok[order(-v[ok], ok)]
    rownames(m)[head(ok, n)]
}
