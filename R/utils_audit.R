# The audit's engine: settings, the two levels' fits, functional-form and
# CI consistency, the verdict rule, and the bulk-only audit's groups.

# Regulator reliability either verdict of the curves ("consistent", or
# "inconsistent" because the bulk curve departs) needs on counts
# (documented in ?recoverabilityAudit; bench/bench_audit_counts.R measures
# it).
.ff_reliability <- 0.6

# The settings only the audit of cells has: max.cells, the counts mode
# (normalize), their dispersion and the reliability floor.
.audit_cell_settings <- function(s, max.cells, normalize, dispersion,
    min.reliability) {
    s$max.cells <- if (identical(max.cells, Inf)) Inf else
        .check_count(max.cells, "max.cells", min = 100)
    s$counts <- .check_flag(normalize, "normalize")
    s$dispersion <- .check_number(dispersion, "dispersion", lower = 0)
    s$min.reliability <- .check_number(min.reliability, "min.reliability",
        lower = 0)
    if (s$min.reliability > 1) {
        stop(sprintf("`min.reliability` must be a share in [0, 1], not %s",
            .fmt_value(min.reliability)), call. = FALSE)
    }
    if (!s$counts && s$dispersion != 0) {
        stop("`dispersion` describes counts: give it with `normalize = TRUE`",
            call. = FALSE)
    }
    s
}

# The cell level: at most s$max.cells cells (C, and the counts' raw values
# and size factors), drawn at random from the seed; every cell is in the
# pseudobulk.
.audit_cell_subset <- function(C, counts, s) {
    if (ncol(C) <= s$max.cells) return(list(C = C, counts = counts))
    keep <- sort(resample_cpp(ncol(C), as.integer(s$max.cells), 1L, FALSE,
        s$seed + 104729)[, 1L])
    if (!is.null(counts)) {
        counts$raw <- counts$raw[, keep, drop = FALSE]
        counts$sf <- counts$sf[keep]
    }
    if (s$verbose) {
        message(sprintf(
            "cell level: %s of the %s cells, drawn at random (`max.cells`)",
            format(s$max.cells, big.mark = ",", scientific = FALSE),
            format(ncol(C), big.mark = ",", scientific = FALSE)))
    }
    list(C = C[, keep, drop = FALSE], counts = counts)
}

.audit_settings <- function(k, nboot, level, alpha, tolerance, max.n, seed,
    verbose, ngenes, max.pairs, min.detected, num.threads = 1) {
    if (!is.null(k)) k <- .resolve_k(k, NA)
    level <- .check_prob(level, "level")
    if (level >= 1) stop(sprintf("`level` must be below 1, not %s",
        .fmt_value(level)), call. = FALSE)
    alpha <- .check_prob(alpha, "alpha")
    if (alpha >= 1) stop(sprintf("`alpha` must be below 1, not %s",
        .fmt_value(alpha)), call. = FALSE)
    min.detected <- .check_number(min.detected, "min.detected", lower = 0)
    if (min.detected > 1) stop(sprintf(
        "`min.detected` must be a share in [0, 1], not %s",
        .fmt_value(min.detected)), call. = FALSE)
    list(k = k,
        nboot = .check_count(nboot, "nboot", min = 0, max = .resample_max),
        level = level, alpha = alpha,
        tolerance = .check_number(tolerance, "tolerance", lower = 0,
            lower.open = TRUE),
        max.n = .check_count(max.n, "max.n", min = 10, max = .int_max),
        seed = .check_count(seed, "seed", min = 0),
        verbose = .check_flag(verbose, "verbose"),
        ngenes = .check_count(ngenes, "ngenes", min = 2, max = .int_max),
        max.pairs = .check_count(max.pairs, "max.pairs", max = .int_max),
        min.detected = min.detected, num.threads = .check_threads(num.threads))
}

# The samples of each group of the bulk-only audit (NULL without `by`):
# a colData column of x or one value per sample; groups too small for the
# fits are left out with a message.
.audit_groups <- function(group, x, B, s) {
    if (is.null(group)) return(NULL)
    group <- .coldata_values(group, x, "by", "samples")
    if (all(is.na(group))) stop("`by` has no value that is not NA",
        call. = FALSE)
    if (anyNA(group)) {
        message(sprintf("leaving out %d sample%s with an NA `by`",
            sum(is.na(group)), if (sum(is.na(group)) > 1L) "s" else ""))
    }
    groups <- split(seq_along(group),
        if (is.factor(group)) droplevels(group) else factor(group))
    need <- vapply(lengths(groups), function(n) .audit_need(s$k, n), numeric(1))
    small <- lengths(groups) < need
    if (all(small)) {
        stop(sprintf(
            "no group of `by` has the %d samples the fits need (largest: %d)",
            min(need), max(lengths(groups))), call. = FALSE)
    }
    if (any(small)) {
        message(sprintf("leaving out group%s %s: fewer than %d samples",
            if (sum(small) > 1L) "s" else "", .fmt_value(names(groups)[small]),
            min(need[small])))
    }
    groups[!small]
}

# Each sample's group name (NA: left out), from the groups' sample indices.
.group_of <- function(groups, n) {
    g <- rep(NA_character_, n)
    g[unlist(groups)] <- rep(names(groups), lengths(groups))
    g
}

# One table row per pair from the fits within groups: p.nonlinear the
# smallest group's p-value times the number of groups that have one
# (Bonferroni), nl and R^2 their averages weighted by the samples used,
# n their sum; status "ok" when any group has a fit.
.combine_group_fits <- function(fits) {
    get <- function(col) do.call(cbind,
        lapply(fits, function(f) .col_or_na(f, col)))
    n <- get("n")
    ok <- do.call(cbind,
        lapply(fits, function(f) f$status %in% c("ok", "flat fit")))
    w <- ifelse(ok, n, 0)
    wmean <- function(v) {
        den <- rowSums(w * !is.na(v))
        ifelse(den > 0, rowSums(v * w, na.rm = TRUE) / den, NA_real_)
    }
    bonferroni <- function(col) {
        p <- get(col)
        p[!ok] <- NA
        np <- rowSums(!is.na(p))
        low <- suppressWarnings(apply(p, 1L, min, na.rm = TRUE))
        ifelse(np > 0, pmin(1, np * low), NA_real_)
    }
    f1 <- fits[[1L]]
    status <- ifelse(rowSums(ok) > 0, "ok", f1$status)
    DataFrame(regulator = f1$regulator, target = f1$target, n = rowSums(n * ok),
        groups = rowSums(ok), r2.linear = wmean(get("r2.linear")),
        r2.spline = wmean(get("r2.spline")), nl = wmean(get("nl")),
        nl.lower = wmean(get("nl.lower")), nl.upper = wmean(get("nl.upper")),
        p.nonlinear = bonferroni("p.nonlinear"),
        p.relation = bonferroni("p.relation"), status = status,
        row.names = rownames(f1))
}

# The audit of cells: both levels' fits, FF, the CI tests, and the table with
# its verdicts.
.audit_two_levels <- function(C, pb, pairs, s, ci, BPPARAM, extra,
    counts = NULL) {
    B <- pb$B
    cell.fit <- .audit_cell_fit(C, pairs, s, BPPARAM, counts)
    bulk <- .audit_bulk_fit(pb, pairs, s, BPPARAM, counts)
    cc <- .audit_ff_cells(C, pairs, s, cell.fit, BPPARAM, counts)
    if (s$verbose) message("functional-form consistency")
    ff <- .audit_ff(B, pb, pairs, cc$fit, bulk$fit, s, BPPARAM, bulk$counts,
        cc$boot)
    cip <- if (ci) {
        if (s$verbose) message("CI tests of the pairs at both levels")
        .audit_ci(C, B, pairs, s, BPPARAM)
    } else list(cells = rep(NA_real_, nrow(pairs)),
        bulk = rep(NA_real_, nrow(pairs)))
    tab <- .audit_table(pairs, cell.fit, bulk$fit, ff, cip, s)
    new("RecoverabilityAudit", table = tab, mode = "cells", cells = C,
        bulk = pb$se, cell.fit = cell.fit, bulk.fit = bulk$fit,
        ncells = as.integer(pb$ncells), settings = c(s, extra))
}

# The cell-level fit of the pairs: of C, or with counts of their raw counts (on
# the rate scale).
.audit_cell_fit <- function(C, pairs, s, BPPARAM, counts) {
    if (s$verbose) message(sprintf(
        "fitting %d pairs at the cell level (%d cells%s)", nrow(pairs), ncol(C),
        if (is.null(counts)) "" else ", on the rate scale"))
    if (is.null(counts)) {
        fitPairwise(C, pairs = pairs, k = s$k, nboot = s$nboot, level = s$level,
            seed = s$seed, BPPARAM = BPPARAM, num.threads = s$num.threads,
            verbose = s$verbose)
    } else {
        fitPairwise(counts$raw, pairs = pairs, counts = TRUE,
            size.factors = counts$sf, dispersion = s$dispersion, k = s$k,
            nboot = s$nboot, level = s$level, seed = s$seed, BPPARAM = BPPARAM,
            num.threads = s$num.threads, verbose = s$verbose)
    }
}

# The pseudobulk-level fit of the pairs (fit), with counts of the pools' counts
# (counts: what FF refits from).
.audit_bulk_fit <- function(pb, pairs, s, BPPARAM, counts) {
    B <- pb$B
    if (s$verbose) message(sprintf(
        "fitting %d pairs at the pseudobulk level (%d samples)", nrow(pairs),
        ncol(B)))
    if (is.null(counts)) {
        fit <- fitPairwise(B, pairs = pairs, k = s$k, nboot = s$nboot,
            level = s$level, seed = s$seed, BPPARAM = BPPARAM,
            num.threads = s$num.threads, verbose = s$verbose)
        return(list(fit = fit, counts = NULL))
    }
    # A pool's counts are close to negative binomial with the cells'
    # dispersion over the number of cells pooled.
    bulk.counts <- list(counts = counts$pool, size = counts$pool.size,
        dispersion = s$dispersion / mean(pb$ncells))
    fit <- fitPairwise(bulk.counts$counts, pairs = pairs, counts = TRUE,
        size.factors = bulk.counts$size, dispersion = bulk.counts$dispersion,
        k = s$k, nboot = s$nboot, level = s$level, seed = s$seed,
        BPPARAM = BPPARAM, num.threads = s$num.threads, verbose = s$verbose)
    list(fit = fit, counts = bulk.counts)
}

# The cell curves FF compares (fit) and, with nboot > 0, those of resamples of
# the cells (boot).
.audit_ff_cells <- function(C, pairs, s, cell.fit, BPPARAM, counts) {
    boot <- NULL
    fit <- cell.fit
    # the FF cell curves' settings: the cell level's basis dimension
    sc <- s
    sc$k <- .ff_cell_k(s$k, ncol(C), !is.null(counts))
    if (!is.null(counts)) {
        # FF compares the undersmoothed count-aware cell curve (see
        # .ff_undersmooth), fitted with the rate distributions of cell.fit
        fit <- .count_cell_curves(counts$raw, counts$sf, pairs, sc,
            .prior_matrix(cell.fit, rownames(counts$raw), refine = 0L))
    }
    if (s$nboot > 0) {
        # The cell curve has a variance of its own (sizeable on counts, where
        # the rates' distribution is estimated, then deconvolved): resample
        # the cells too, and pair cell resample b with bulk resample b.
        if (s$verbose) message("resampling the cells")
        boot <- if (is.null(counts))
            .cell_boot_fits(C, pairs, sc, BPPARAM = BPPARAM) else
            .cell_boot_fits(counts$raw, pairs, sc,
                list(sf = counts$sf, fit = cell.fit), BPPARAM)
    }
    list(fit = fit, boot = boot)
}

#' @importFrom stats p.adjust
# The audit's table: both levels' fits, FF and the CI tests by pair, the genes'
# reliabilities, the verdicts.
.audit_table <- function(pairs, cell.fit, bulk.fit, ff, cip, s) {
    tab <- DataFrame(regulator = pairs$regulator, target = pairs$target,
        n.cells = cell.fit$n, n.bulk = bulk.fit$n, nl.cells = cell.fit$nl,
        nl.cells.lower = .col_or_na(cell.fit, "nl.lower"),
        nl.cells.upper = .col_or_na(cell.fit, "nl.upper"),
        padj.nl.cells = p.adjust(cell.fit$p.nonlinear, "BH"),
        nl.bulk = bulk.fit$nl, nl.bulk.lower = .col_or_na(bulk.fit, "nl.lower"),
        nl.bulk.upper = .col_or_na(bulk.fit, "nl.upper"),
        padj.nl.bulk = p.adjust(bulk.fit$p.nonlinear, "BH"),
        ff.distance = ff$ff.distance, ff.lower = ff$ff.lower,
        ff.upper = ff$ff.upper, p.curve = ff$p.curve,
        padj.curve = p.adjust(ff$p.curve, "BH"), p.resid = ff$p.resid,
        p.ci.cells = cip$cells, p.ci.bulk = cip$bulk,
        padj.ci.cells = p.adjust(cip$cells, "BH"),
        padj.ci.bulk = p.adjust(cip$bulk, "BH"),
        row.names = paste0(pairs$regulator, "->", pairs$target))
    tab$ci.agree <- (tab$padj.ci.cells < s$alpha) ==
        (tab$padj.ci.bulk < s$alpha)
    # the count-aware fits report each gene's reliability at their level
    tab$reliability.regulator.cells <- .col_or_na(cell.fit,
        "reliability.regulator")
    tab$reliability.target.cells <- .col_or_na(cell.fit, "reliability.target")
    tab$reliability.regulator.bulk <- .col_or_na(bulk.fit,
        "reliability.regulator")
    tab$reliability.target.bulk <- .col_or_na(bulk.fit, "reliability.target")
    .audit_add_verdict(tab, cell.fit, bulk.fit, s)
}

# The table with each pair's verdict, its reason code and its reason (a failed
# fit: undetermined).
.audit_add_verdict <- function(tab, cell.fit, bulk.fit, s) {
    status <- ifelse(cell.fit$status != "ok",
        paste("cell-level fit failed:", cell.fit$status),
        ifelse(bulk.fit$status != "ok",
            paste("pseudobulk fit failed:", bulk.fit$status), NA_character_))
    v <- .audit_verdict(tab, status, s)
    tab$verdict <- v$verdict
    tab$reason.code <- v$code
    tab$reason <- v$reason
    tab
}

# The verdict rule of ?recoverabilityAudit, with the reason for each call.
.audit_verdict <- function(tab, status, s) {
    a <- s$alpha
    tol <- s$tolerance
    lt <- function(p) !is.na(p) & p < a
    # a departure needs the whole interval of the distance beyond the
    # tolerance, as agreement needs it within (each side a one-sided test
    # at level (1 - level) / 2); without an interval (nboot = 0) the
    # distance itself decides
    rel <- .col_or_na(tab, "reliability.regulator.cells")
    lower <- .col_or_na(tab, "ff.lower")
    apart <- lt(tab$padj.curve) & .beyond_tolerance(tab$ff.distance, lower, tol)
    new.raw <- !is.na(tab$padj.ci.cells) & tab$padj.ci.cells >= a &
        lt(tab$padj.ci.bulk)
    lost.dep <- lt(tab$padj.ci.cells) & !is.na(tab$padj.ci.bulk) &
        tab$padj.ci.bulk >= a
    within <- !is.na(tab$ff.upper) & tab$ff.upper <= tol
    # on counts, the deconvolved cell curve of an unreliable regulator
    # confirms neither agreement nor departure
    shrunk <- isTRUE(s$counts) & !is.na(rel) & rel < .ff_reliability
    departs <- apart & !shrunk
    # ... nor a dependence seen in pseudobulk only: count noise hides a
    # dependence among the cells
    new.dep <- new.raw & !shrunk
    agree <- is.na(tab$ci.agree) | tab$ci.agree
    min.rel <- if (is.null(s$min.reliability)) 0 else s$min.reliability
    noisy <- !is.na(rel) & rel < min.rel
    failed <- !is.na(status)
    # no dependence detected at either level: nothing to recover, so no
    # evidence either way (flat curves agree trivially)
    none <- !is.na(tab$padj.ci.cells) & !is.na(tab$padj.ci.bulk) &
        tab$padj.ci.cells >= a & tab$padj.ci.bulk >= a
    verdict <- ifelse(failed | noisy, "undetermined",
        ifelse(departs | new.dep, "inconsistent",
        ifelse(within & agree & !shrunk & !none, "consistent", "undetermined")))
    # the reason as a code (for table()) and as a sentence with the numbers
    unconfirmed <- (within & agree | apart | new.raw) & shrunk
    code <- ifelse(failed, "fit failed", ifelse(noisy, "count noise",
        ifelse(departs, "departs", ifelse(new.dep, "new dependence",
        ifelse(none, "no relation", ifelse(unconfirmed, "unreliable",
        ifelse(within & agree, "agree", ifelse(lost.dep, "lost dependence",
        ifelse(is.na(tab$ff.upper), "no interval",
        "interval wide")))))))))
    # the sentence of each code, with its numbers
    fmt <- function(d) formatC(d, digits = 2, format = "f")
    sentence <- list(
        `fit failed` = status,
        `count noise` = sprintf("count noise too large: the regulator's cell-level reliability is %s < %s",
            fmt(rel), fmt(min.rel)),
        departs = ifelse(is.na(lower), sprintf(
            "bulk curve departs from the cell curve (distance %s > %s)",
            fmt(tab$ff.distance), fmt(tol)), sprintf(paste(
            "bulk curve departs from the cell curve (distance %s,",
            "interval from %s > %s)"), fmt(tab$ff.distance), fmt(lower),
            fmt(tol))),
        `new dependence` = "independent in cells, dependent in pseudobulk",
        `no relation` =
            "no relation: no dependence detected in cells or in pseudobulk",
        unreliable = ifelse(new.raw & !apart, sprintf(paste(
            "independent in cells, dependent in pseudobulk, but the",
            "regulator's cell-level reliability %s < %s is too low to confirm it (count noise hides dependence",
            "among cells)"), fmt(rel), fmt(.ff_reliability)),
            ifelse(apart, sprintf(paste(
            "bulk curve departs from the cell curve (distance %s), but the",
            "regulator's cell-level reliability %s < %s is too low to confirm it (the deconvolved cell curve rests",
            "on the estimated rate distribution)"), fmt(tab$ff.distance),
            fmt(rel), fmt(.ff_reliability)),
            sprintf(paste("curves agree within %s, but the regulator's cell-level reliability %s < %s is",
            "too low to confirm it (the deconvolved cell curve is shrunk toward a line)"), fmt(tol), fmt(rel),
            fmt(.ff_reliability)))),
        agree = sprintf("curves agree within %s (interval up to %s)", fmt(tol),
            fmt(tab$ff.upper)),
        `lost dependence` = "dependence in cells not detected in pseudobulk",
        `no interval` = "no interval for the distance (nboot = 0)",
        `interval wide` = ifelse(!is.na(lower) & lower > tol,
            sprintf("interval of the distance (%s to %s) beyond %s, but the departure is not significant (padj.curve %s)",
                fmt(lower), fmt(tab$ff.upper), fmt(tol),
                formatC(tab$padj.curve, digits = 2, format = "g")),
            ifelse(is.na(lower), sprintf(
                "interval of the distance reaches %s > %s", fmt(tab$ff.upper),
                fmt(tol)), sprintf(
                "interval of the distance (%s to %s) holds the tolerance %s",
                fmt(lower), fmt(tab$ff.upper), fmt(tol)))))
    list(verdict = verdict, reason = .reason_sentences(code, sentence),
        code = code)
}

# Each row's reason sentence: the entry of `sentence` named by its code
# (a sentence per row, or one for all rows).
.reason_sentences <- function(code, sentence) {
    reason <- character(length(code))
    for (cd in unique(code)) {
        i <- which(code == cd)
        reason[i] <- rep_len(sentence[[cd]], length(code))[i]
    }
    reason
}

.col_or_na <- function(df, name) if (name %in% colnames(df)) df[[name]] else
    rep(NA_real_, nrow(df))

# The rate distributions of a count-aware fit as the `rate.prior` of
# .fit_pairwise() for the rows `genes` of its data, refitted on their grids
# when `refine` > 0.
.prior_matrix <- function(fit, genes, refine) {
    rp <- metadata(fit)$rate.prior
    G <- nrow(rp$grid)
    prior <- list(grid = matrix(0, G, length(genes)),
        weight = matrix(0, G, length(genes)), refine = refine)
    j <- match(colnames(rp$grid), genes)
    prior$grid[, j] <- rp$grid
    prior$weight[, j] <- rp$weight
    prior
}

# FF of all pairs with both fits (the cell-level spline as f) by .ff_pairs(),
# the pairs split over BiocParallel workers.
.audit_ff <- function(B, pb, pairs, cell.fit, bulk.fit, s, BPPARAM,
    bulk.counts = NULL, cell.boot = NULL) {
    out <- data.frame(n = rep(ncol(B), nrow(pairs)), ff.distance = NA_real_,
        ff.lower = NA_real_, ff.upper = NA_real_, p.curve = NA_real_,
        p.resid = NA_real_)
    # pairs with both fits; their values as samples x pairs matrices
    todo <- which(cell.fit$status == "ok" & bulk.fit$status == "ok")
    if (!length(todo)) return(out)
    X <- t(B[pairs$regulator[todo], , drop = FALSE])
    Y <- t(B[pairs$target[todo], , drop = FALSE])
    # the cell curve at the bulk values (the mean maps f to f), left out
    # where it rests on fewer than .thin_count cells (a few extreme cells
    # can bend it there)
    H <- .curve_values(cell.fit, todo, X)
    H[.thin_support(cell.fit, todo, X)] <- NA_real_
    chunks <- .work_units(seq_along(todo),
        .n_units(length(todo), BPPARAM, s$verbose))
    kb <- .resolve_k(s$k, ncol(B))
    # each task carries its pairs' values and curves only (not the fits)
    tasks <- lapply(chunks, function(ch) {
        rows <- todo[ch]
        list(X = X[, ch, drop = FALSE], Y = Y[, ch, drop = FALSE],
            H = H[, ch, drop = FALSE], bulk = .curve_subset(bulk.fit, rows),
            seeds = s$seed + rows,
            counts = if (!is.null(bulk.counts)) {
                .ff_count_inputs(bulk.counts, bulk.fit, pairs$regulator[rows],
                    pairs$target[rows])
            },
            cell.boot = if (!is.null(cell.boot)) {
                list(fits = lapply(cell.boot, .curve_subset, rows = rows),
                    rows = seq_along(rows))
            })
    })
    opts <- list(k = kb, nboot = s$nboot, level = s$level, max.n = s$max.n,
        k.curve = .curve_test_k(s$k, kb))
    res <- .run_units(tasks, .ff_task, opts = opts, BPPARAM = BPPARAM,
        sizes = lengths(chunks), what = "pairs", progress = s$verbose,
        label = "FF")
    for (i in seq_along(chunks)) out[todo[chunks[[i]]], ] <- res[[i]]
    out
}

# FF of one task of .audit_ff() (a package function, so that a worker
# receives the task and nothing else).
.ff_task <- function(task, opts) {
    .ff_pairs(task$X, task$Y, task$H, task$bulk, seq_len(ncol(task$X)), opts$k,
        opts$nboot, opts$level, c(0.05, 0.95), task$seeds, opts$max.n,
        task$counts, task$cell.boot, k.curve = opts$k.curve)
}

# Marginal spline CI test of each pair at both levels (one test per
# unordered pair, shared by X -> Y and Y -> X), the tests split over the
# workers of BPPARAM.
.audit_ci <- function(C, B, pairs, s, BPPARAM) {
    key <- ifelse(pairs$regulator < pairs$target,
        paste(pairs$regulator, pairs$target, sep = "\r"),
        paste(pairs$target, pairs$regulator, sep = "\r"))
    u <- unique(key)
    a <- sub("\r.*", "", u)
    b <- sub(".*\r", "", u)
    genes <- rownames(C)
    test <- function(M, label) {
        keep <- rowSums(M != M[, 1L]) > 0
        p <- rep(NA_real_, length(u))
        ok <- which(keep[a] & keep[b])
        if (!length(ok)) return(p)
        ss <- ciSuffStat(M[keep, , drop = FALSE], test = "spline",
            max.n = s$max.n, seed = s$seed)
        vars <- genes[keep]
        xi <- match(a[ok], vars)
        yi <- match(b[ok], vars)
        units <- .work_units(seq_along(ok),
            .n_units(length(ok), BPPARAM, s$verbose))
        # each unit: the columns of its genes, with their ids in the whole
        # data (each test's draws depend on them, not on the unit)
        tasks <- lapply(units, function(j) {
            cols <- sort(unique(c(xi[j], yi[j])))
            list(data = ss$data[, cols, drop = FALSE],
                x = match(xi[j], cols) - 1L, y = match(yi[j], cols) - 1L,
                id = cols - 1L)
        })
        res <- .run_units(tasks, .ci_unit,
            opts = c(ss[c("k", "max.n", "nperm", "seed")],
                num.threads = s$num.threads),
            BPPARAM = BPPARAM, sizes = lengths(units), what = "tests",
            progress = s$verbose, label = label)
        p[ok] <- unlist(res, use.names = FALSE)
        p
    }
    pc <- test(C, "CI cells")
    pbk <- test(B, "CI pseudobulk")
    i <- match(key, u)
    list(cells = pc[i], bulk = pbk[i])
}

# The marginal spline CI tests of one unit of .audit_ci().
.ci_unit <- function(task, opts) {
    .call_core(spline_tests_cpp(task$data, task$x, task$y,
        rep(list(integer(0)), length(task$x)), opts$k, opts$max.n, opts$nperm,
        opts$seed, .threads_of(opts), FALSE, task$id))$p.value
}

# The bulk-only audit's verdicts: "inconsistent" where the bulk relation is
# significantly non-linear beyond nl.tolerance (no affine cell-level
# relation makes it), otherwise "undetermined", with reason codes and
# sentences; `grouped`: fitted within groups.
.bulk_verdict <- function(tab, status, grouped, nl.tolerance, alpha) {
    tab$padj.nonlinear <- p.adjust(tab$p.nonlinear, "BH")
    bad <- status != "ok" & status != "flat fit"
    nonlin <- !bad & !is.na(tab$padj.nonlinear) & tab$padj.nonlinear < alpha &
        !is.na(tab$nl) & tab$nl > nl.tolerance
    tab$verdict <- ifelse(nonlin, "inconsistent", "undetermined")
    # no relation detected (BH-adjusted p.relation, see ?fitPairwise)
    none <- !bad & !nonlin & !is.na(tab$p.relation) &
        p.adjust(tab$p.relation, "BH") >= alpha
    tab$reason.code <- ifelse(bad, "fit failed", ifelse(nonlin, "non-linear",
        ifelse(none, "no relation", "close to affine")))
    tab$reason <- .reason_sentences(tab$reason.code, list(
        `fit failed` = paste("fit failed:", status),
        `non-linear` = sprintf(if (!grouped) {
            paste("bulk relation non-linear (nl %.2f > %.2f): the cells cannot be affine, or the samples mix",
                "groups that differ (see `by`)")
        } else "bulk relation non-linear within groups (nl %.2f > %.2f): the cells cannot be affine",
            tab$nl, nl.tolerance),
        `no relation` = "no relation: the target does not detectably depend on the regulator",
        `close to affine` =
            "bulk relation close to affine; the cell level is not seen"))
    tab
}
