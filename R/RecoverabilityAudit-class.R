#' The result of a recoverability audit
#'
#' Made by [recoverabilityAudit()].  `auditTable()` gives its table, one
#' row per pair; `auditPseudobulk()` its (pseudo)bulk samples;
#' `summary()` the per-level summary of nonlinearity and the
#' verdict counts; `plot()` the figures; `show()` a short report.
#'
#' @slot table The per-pair [S4Vectors::DataFrame] (see [auditTable()]).
#' @slot mode `"cells"` (cells and pseudobulk) or `"bulk"` (bulk only).
#' @slot cells The normalised cell values of the audited genes (genes x
#'   cells) at the cell level (at most `max.cells` cells), `NULL` in bulk
#'   mode.
#' @slot bulk The (pseudo)bulk level: a `SummarizedExperiment` of the
#'   audited genes, see `auditPseudobulk()`.
#' @slot cell.fit,bulk.fit The [fitPairwise()] results at each level (in
#'   a bulk-only audit with `by`, `bulk.fit` is a named list of them,
#'   one per group).
#' @slot ncells Cells in each pseudobulk sample.
#' @slot settings The settings of the call.
#'
#' @param object,x A `RecoverabilityAudit`.
#' @param y Unused.
#' @param type For `plot()`: `"verdict"` (the key figure: per pair, the FF
#'   distance with its interval against the tolerance, coloured by verdict;
#'   in bulk mode `nl` with its interval), `"nl"` (the distribution of the
#'   nonlinearity index at each level) or `"pairs"` (data and curves of
#'   chosen pairs at both levels).
#' @param pairs For `type = "pairs"`: row names (`"X->Y"`) or numbers;
#'   default the four pairs with the largest distance.
#' @param ... Unused.
#'
#' @return `auditTable()`: a DataFrame.  `auditPseudobulk()`: the
#'   (pseudo)bulk level as a `SummarizedExperiment` of the audited genes:
#'   assay `values` (what that level was fitted on: for counts the rates,
#'   i.e. pooled counts over pooled size factors), and for counts `counts`
#'   (the pooled counts); `colData` with each sample's label (`sample`) or
#'   pool (`pool`, and `type` within cell types), `ncells`, `cells` (an
#'   `IntegerList` of the columns of `x` pooled into it) and for counts
#'   `size.factor` (the pooled size factors).  In a bulk-only audit: the
#'   normalised values with the `colData` of `x` (and `group` with `by`).
#'   `summary()`: a DataFrame with one row per level (`cells`, `pseudobulk` or
#'   `bulk`): `pairs` fitted, the share with `p.nonlinear` < `alpha` after
#'   Benjamini-Hochberg adjustment, the median `nl` with a distribution-free
#'   `level` confidence interval (order statistics), and in its `metadata()` the
#'   verdict counts.  `plot()`: a `ggplot`.  `show()`: invisibly the
#'   object.
#' @examples
#' data(pbmc283)
#' audit <- recoverabilityAudit(pbmc283, pool.size = 10, npools = 60,
#'                              replace = TRUE, ngenes = 5, nboot = 30)
#' summary(audit)
#' auditPseudobulk(audit)
#' if (requireNamespace("ggplot2", quietly = TRUE)) plot(audit)
#' @name RecoverabilityAudit-class
#' @aliases RecoverabilityAudit
#' @exportClass RecoverabilityAudit
setClass("RecoverabilityAudit", slots = c(table = "DataFrame",
    mode = "character", cells = "ANY", bulk = "SummarizedExperiment",
    cell.fit = "ANY", bulk.fit = "ANY", ncells = "integer", settings = "list"))

#' @rdname RecoverabilityAudit-class
#' @export
auditTable <- function(x) {
    if (!is(x, "RecoverabilityAudit")) stop(
        "`x` must be the result of recoverabilityAudit()", call. = FALSE)
    x@table
}

#' @rdname RecoverabilityAudit-class
#' @export
auditPseudobulk <- function(x) {
    if (!is(x, "RecoverabilityAudit")) stop(
        "`x` must be the result of recoverabilityAudit()", call. = FALSE)
    x@bulk
}

# Lines wrapped at the console's width (getOption("width")), the
# continuation indented two spaces more than the line.
.wrap_lines <- function(lines) {
    w <- getOption("width", 80L)
    unlist(lapply(lines, function(l) {
        if (nchar(l) <= w) return(l)
        lead <- nchar(l) - nchar(sub("^ +", "", l))
        strwrap(l, width = w, indent = lead, exdent = lead + 2L)
    }))
}

#' @rdname RecoverabilityAudit-class
#' @export
setMethod("show", "RecoverabilityAudit", function(object) {
    tab <- object@table
    s <- object@settings
    out <- character()
    if (object@mode == "cells") {
        total <- if (is.null(s$cells.total)) ncol(object@cells) else
            s$cells.total
        out <- c(out, sprintf(
            "RecoverabilityAudit: %d pairs among %d genes; %s cells -> %s",
            nrow(tab), nrow(object@bulk),
            format(total, big.mark = ",", scientific = FALSE), s$pseudobulk))
        if (ncol(object@cells) < total) {
            out <- c(out, sprintf(
                "  cell level: %s cells drawn at random (max.cells)",
                format(ncol(object@cells), big.mark = ",", scientific = FALSE)))
        }
    } else {
        out <- c(out, sprintf("RecoverabilityAudit (bulk only): %d pairs among %d genes; %d bulk samples%s",
            nrow(tab), nrow(object@bulk), ncol(object@bulk),
            if (is.null(s$group)) "" else
                sprintf(", fitted within %d groups (%s)", length(s$group),
                    paste(sprintf("%s: %d", names(s$group), s$group),
                        collapse = ", "))))
    }
    counts <- table(factor(tab$verdict,
        levels = c("consistent", "inconsistent", "undetermined")))
    out <- c(out, sprintf("verdicts: %s",
        paste(sprintf("%d %s", as.integer(counts), names(counts)),
            collapse = ", ")))
    sm <- summary(object)
    for (i in seq_len(nrow(sm))) {
        out <- c(out, sprintf("  %-10s median nl %.3f [%.3f, %.3f]; %.0f%% of %d pairs significantly non-linear",
            rownames(sm)[i], sm$median.nl[i], sm$median.lower[i],
            sm$median.upper[i], 100 * sm$share.nonlinear[i], sm$pairs[i]))
    }
    if (object@mode == "cells") {
        out <- c(out, sprintf("rule: consistent = FF distance interval within %.2f and CI decisions agree;",
            s$tolerance), sprintf(paste("      inconsistent = curves depart with the interval beyond %.2f, or",
            "dependent only in pseudobulk; see ?recoverabilityAudit"),
            s$tolerance))
    } else {
        out <- c(out, paste("bulk data alone can show that a relation is not recoverable, never that it is;",
            "see ?recoverabilityAudit"))
    }
    cat(paste0(.wrap_lines(c(out,
        "auditTable() for the table, summary() and plot() for more")), "\n"),
        sep = "")
    invisible(object)
})

#' @rdname RecoverabilityAudit-class
#' @export
setMethod("summary", "RecoverabilityAudit", function(object, ...) {
    tab <- object@table
    a <- object@settings$alpha
    level <- object@settings$level
    one <- function(nl, padj) {
        ok <- !is.na(nl)
        med <- .median_ci(nl[ok], level)
        data.frame(pairs = sum(ok),
            share.nonlinear =
                if (any(ok)) mean(!is.na(padj[ok]) & padj[ok] < a) else NA,
            median.nl = med[1L], median.lower = med[2L], median.upper = med[3L])
    }
    out <- if (object@mode == "cells") {
        rbind(cells = one(tab$nl.cells, tab$padj.nl.cells),
            pseudobulk = one(tab$nl.bulk, tab$padj.nl.bulk))
    } else rbind(bulk = one(tab$nl, tab$padj.nonlinear))
    out <- DataFrame(out)
    metadata(out)$verdicts <- table(factor(tab$verdict,
        levels = c("consistent", "inconsistent", "undetermined")))
    out
})

# Median with a distribution-free interval from the order statistics.
#' @importFrom stats qbinom median
.median_ci <- function(v, level) {
    n <- length(v)
    if (n == 0L) return(c(NA_real_, NA_real_, NA_real_))
    v <- sort(v)
    l <- max(1L, qbinom((1 - level) / 2, n, 0.5))
    u <- min(n, n - l + 1L)
    c(median(v), v[l], v[u])
}

#' @rdname RecoverabilityAudit-class
#' @export
#' @importFrom graphics plot
setMethod("plot", "RecoverabilityAudit", function(x, y,
    type = c("verdict", "nl", "pairs"), pairs = NULL, ...) {
    .need_ggplot2()
    type <- .check_choice(.first(type), c("verdict", "nl", "pairs"), "type")
    switch(type, verdict = .plot_verdict(x), nl = .plot_audit_nl(x),
        pairs = .plot_audit_pairs(x, pairs))
})

.verdict_colours <- c(consistent = "#009E73", inconsistent = "#D55E00",
    undetermined = "grey55")

.plot_verdict <- function(x) {
    tab <- as.data.frame(x@table)
    tab$pair <- rownames(x@table)
    s <- x@settings
    if (x@mode == "cells") {
        tab$value <- tab$ff.distance
        tab$lower <- tab$ff.lower
        tab$upper <- tab$ff.upper
        tol <- s$tolerance
        xlab <- "distance of the pseudobulk curve from the cell curve (SD of target)"
        title <- "Pseudobulk relation vs cell relation"
    } else {
        tab$value <- tab$nl
        tab$lower <- tab$nl.lower
        tab$upper <- tab$nl.upper
        tol <- s$nl.tolerance
        xlab <- "nonlinearity index nl of the bulk relation"
        title <- "Bulk relations affine cells cannot produce"
    }
    shown <- ""
    tab <- tab[!is.na(tab$value), , drop = FALSE]
    # pairs with no relation: their distance or nl measures noise
    none <- !is.null(tab$reason.code) & tab$reason.code %in% "no relation"
    if (any(none)) {
        shown <- sprintf("\n%d pair%s without a relation not shown", sum(none),
            if (sum(none) > 1L) "s" else "")
        tab <- tab[!none, , drop = FALSE]
    }
    tab <- tab[order(tab$value), , drop = FALSE]
    if (nrow(tab) > 60L) {
        shown <- sprintf("%s\nthe 30 lowest and 30 highest of %d pairs", shown,
            nrow(tab))
        tab <- tab[unique(c(seq_len(30L), nrow(tab) - 29:0)), , drop = FALSE]
    }
    tab$pair <- factor(tab$pair, levels = tab$pair)
    ggplot2::ggplot(tab, ggplot2::aes(x = value, y = pair, colour = verdict)) +
        ggplot2::geom_vline(xintercept = tol, linetype = 2, colour = "grey30") +
        ggplot2::geom_errorbarh(ggplot2::aes(xmin = lower, xmax = upper),
            height = 0, na.rm = TRUE) +
        ggplot2::geom_point(size = 1.8) +
        ggplot2::scale_colour_manual(values = .verdict_colours, drop = FALSE) +
        ggplot2::labs(x = xlab, y = NULL, colour = "verdict", title = title,
            subtitle = sprintf(
                "dashed: tolerance %.2f; bars: %.0f%% intervals%s", tol,
                100 * s$level, shown)) +
        ggplot2::theme_bw() +
        ggplot2::theme(axis.text.y = ggplot2::element_text(size = 7))
}

.plot_audit_nl <- function(x) {
    tab <- x@table
    df <- if (x@mode == "cells") {
        rbind(data.frame(level = "cells", nl = tab$nl.cells,
                sig = tab$padj.nl.cells < x@settings$alpha),
            data.frame(level = "pseudobulk", nl = tab$nl.bulk,
                sig = tab$padj.nl.bulk < x@settings$alpha))
    } else data.frame(level = "bulk", nl = tab$nl,
        sig = tab$padj.nonlinear < x@settings$alpha)
    df <- df[!is.na(df$nl), , drop = FALSE]
    df$sig <- ifelse(!is.na(df$sig) & df$sig, "significant", "not significant")
    ggplot2::ggplot(df, ggplot2::aes(x = level, y = nl)) +
        ggplot2::geom_boxplot(outlier.shape = NA, colour = "grey40") +
        ggplot2::geom_jitter(ggplot2::aes(colour = sig), width = 0.2,
            height = 0, size = 1) +
        ggplot2::scale_colour_manual(values = c(significant = "#D55E00",
            `not significant` = "grey60")) +
        ggplot2::labs(x = NULL, y = "nonlinearity index nl",
            colour = "BH p.nonlinear < alpha",
            title = "How far pairwise relations are from a straight line") +
        ggplot2::theme_bw()
}

.plot_audit_pairs <- function(x, pairs) {
    tab <- x@table
    if (is.null(pairs)) {
        # the four largest distances (nl in bulk mode), leaving out pairs
        # with no relation at either level (their curves are noise)
        score <- if (x@mode == "cells") tab$ff.distance else tab$nl
        if ("reason.code" %in% colnames(tab))
            score[tab$reason.code == "no relation"] <- NA
        pairs <- head(order(-score, na.last = NA), 4L)
        if (!length(pairs)) stop(
            "no pair with a relation and a fit to plot; give `pairs`",
            call. = FALSE)
    }
    idx <- .pick_pairs(tab, pairs)
    pieces <- lapply(idx, function(i) {
        r <- tab$regulator[i]
        t <- tab$target[i]
        lab <- sprintf("%s -> %s: %s", r, t, tab$verdict[i])
        B <- SummarizedExperiment::assay(x@bulk, "values")
        pts <- data.frame(x = B[r, ], y = B[t, ],
            level = if (x@mode == "cells") "pseudobulk" else "bulk")
        g <- x@settings$group.of
        if (!is.null(g)) pts$level <- ifelse(is.na(g), "bulk",
            paste("group", g))
        if (x@mode == "cells") {
            cells <- data.frame(x = x@cells[r, ], y = x@cells[t, ],
                level = "cells")
            pts <- rbind(cells[.thin(nrow(cells), 3000L), , drop = FALSE], pts)
        }
        pts$pair <- lab
        curve <- function(fit, level) {
            if (is.na(fit$edf[i])) return(NULL)
            cv <- as.data.frame(pairwiseCurves(fit, pairs = i, grid = 100))
            # solid where at least 10 observations support the curve
            data.frame(x = cv$x, fit = cv$fit,
                solid = ifelse(!is.na(cv$thin) & cv$thin, NA_real_, cv$fit),
                level = level, pair = lab)
        }
        cv <- if (is(x@bulk.fit, "DataFrame")) {
            rbind(curve(x@bulk.fit,
                    if (x@mode == "cells") "pseudobulk" else "bulk"),
                if (x@mode == "cells") curve(x@cell.fit, "cells"))
        } else {
            # fitted within groups: one curve per group, drawn over its range
            do.call(rbind, lapply(names(x@bulk.fit),
                function(g) curve(x@bulk.fit[[g]], paste("group", g))))
        }
        list(pts = pts, cv = cv)
    })
    pts <- do.call(rbind, lapply(pieces, `[[`, "pts"))
    cv <- do.call(rbind, lapply(pieces, `[[`, "cv"))
    cols <- c(cells = "grey60", pseudobulk = "#0072B2", bulk = "#0072B2")
    if (!is(x@bulk.fit, "DataFrame")) {
        lev <- paste("group", names(x@bulk.fit))
        pal <- rep_len(c("#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
            "#0072B2", "#F0E442"), length(lev))
        cols <- c(bulk = "grey60", stats::setNames(pal, lev))
    }
    p <- ggplot2::ggplot(pts, ggplot2::aes(x = x, y = y, colour = level)) +
        ggplot2::geom_point(size = 0.7, alpha = 0.6)
    if (!is.null(cv)) {
        p <- p + ggplot2::geom_line(data = cv,
            ggplot2::aes(x = x, y = fit, colour = level), linewidth = 0.5,
            linetype = "dotted") +
            ggplot2::geom_line(data = cv,
                ggplot2::aes(x = x, y = solid, colour = level), linewidth = 1,
                na.rm = TRUE)
    }
    p + ggplot2::scale_colour_manual(values = cols) +
        ggplot2::facet_wrap(~pair, scales = "free") +
        ggplot2::labs(x = "regulator (linear scale)", y = "target",
            colour = NULL,
            title = if (x@mode == "cells")
                "Cell-level and pseudobulk relations" else "Bulk relations",
            subtitle =
                "lines: spline fits; dotted: under 10 observations nearby") +
        ggplot2::theme_bw()
}

# Evenly spaced indices, at most `most` of them (to keep plots light).
.thin <- function(n, most) if (n <= most) seq_len(n) else
    unique(round(seq(1, n, length.out = most)))

utils::globalVariables(c("value", "pair", "verdict", "level", "sig"))
