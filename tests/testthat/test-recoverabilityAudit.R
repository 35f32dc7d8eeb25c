# recoverabilityAudit(): its pieces against naive R and the package's own
# functions, verdicts on simulated truth, bulk-only mode, bad input.

.audit_counts <- function(ngenes = 6, ncells = 600, nsamples = 30, seed = 1) {
    set.seed(seed)
    sample <- rep(sprintf("s%02d", seq_len(nsamples)), length.out = ncells)
    depth <- rlnorm(ncells, log(2000), 0.3)
    mu <- exp(matrix(rnorm(ngenes * nsamples, 0, 0.5), ngenes)[, match(sample, sprintf("s%02d", seq_len(nsamples)))])
    counts <- matrix(rpois(ngenes * ncells, mu * depth / 1000), ngenes,
        dimnames = list(sprintf("g%d", seq_len(ngenes)), sprintf("c%d", seq_len(ncells))))
    SingleCellExperiment::SingleCellExperiment(list(counts = counts),
        colData = S4Vectors::DataFrame(donor = sample),
        rowData = S4Vectors::DataFrame(symbol = c("A", "B", "C", "C", "E", "F")[seq_len(ngenes)]))
}

test_that("pseudobulk, fits and CI tests equal naive references and the package's functions", {
    sce <- .audit_counts()
    a <- recoverabilityAudit(sce, sample = "donor", genes = c("g1", "g2", "g3"), nboot = 20, verbose = FALSE)
    counts <- SummarizedExperiment::assay(sce)
    sf <- ref_size_factors(counts)
    norm <- t(t(counts) / sf)
    # pseudobulk of counts: summed counts over summed size factors
    pool <- t(rowsum(t(counts[c("g1", "g2", "g3"), ]), sce$donor))
    S <- drop(rowsum(sf, sce$donor))
    naive <- ref_pool_rates(counts[c("g1", "g2", "g3"), ], split(seq_along(sf), sce$donor), sf)
    expect_equal(SummarizedExperiment::assay(auditPseudobulk(a), "values")[, colnames(naive)], naive, tolerance = 1e-12)
    expect_equal(a@cells, norm[c("g1", "g2", "g3"), ], tolerance = 1e-12)
    tab <- auditTable(a)
    expect_identical(nrow(tab), 6L)
    expect_identical(rownames(tab), paste0(tab$regulator, "->", tab$target))
    # the cell level is the count-aware fit of the raw counts
    fc <- fitPairwise(counts[c("g1", "g2", "g3"), ], pairs = data.frame(tab$regulator, tab$target), counts = TRUE,
        size.factors = sf, nboot = 20, seed = 1)
    expect_identical(S4Vectors::metadata(a@cell.fit)$scale, "rate")
    expect_equal(tab$nl.cells, fc$nl, tolerance = 1e-6)
    expect_equal(tab$nl.cells.lower, fc$nl.lower, tolerance = 1e-6)
    expect_equal(tab$padj.nl.cells, p.adjust(fc$p.nonlinear, "BH"), tolerance = 1e-6)
    fb <- fitPairwise(pool, pairs = data.frame(tab$regulator, tab$target), counts = TRUE, size.factors = S,
        nboot = 20, seed = 1)
    # (pool size factors summed in another order: 1e-9 apart)
    expect_equal(tab$nl.bulk, fb$nl, tolerance = 1e-6)
    # reliability: naive moments of the normalised counts at each level
    genes <- c(g1 = "g1", g2 = "g2", g3 = "g3")
    rel.c <- vapply(genes, function(g) ref_reliability(counts[g, ], sf), numeric(1))
    rel.b <- vapply(genes, function(g) ref_reliability(pool[g, ], S), numeric(1))
    expect_equal(tab$reliability.regulator.cells, unname(pmax(rel.c[tab$regulator], 0)), tolerance = 1e-10)
    expect_equal(tab$reliability.target.cells, unname(pmax(rel.c[tab$target], 0)), tolerance = 1e-10)
    expect_equal(tab$reliability.regulator.bulk, unname(pmax(rel.b[tab$regulator], 0)), tolerance = 1e-10)
    expect_equal(tab$reliability.target.bulk, unname(pmax(rel.b[tab$target], 0)), tolerance = 1e-10)
    # FF: functionalConsistency with the count-aware cell-level spline as reference.
    cells <- SummarizedExperiment::SummarizedExperiment(list(counts = counts[c("g1", "g2", "g3"), ]),
        colData = S4Vectors::DataFrame(sample = sce$donor))
    bulk <- SummarizedExperiment::SummarizedExperiment(list(counts = pool))
    ff <- functionalConsistency(cells, bulk, edges = data.frame(from = tab$regulator, to = tab$target),
        aggregation = "sum", assay.type = "counts", counts = TRUE, size.factors = sf, nboot = 20, seed = 1)
    expect_identical(ff$aggregation[1], "sum (as rates)")
    expect_equal(tab$ff.distance, ff$ff.distance, tolerance = 1e-8)
    expect_equal(tab$p.curve, ff$p.curve, tolerance = 1e-8)
    # both resample the cells and the samples the same way
    expect_equal(tab$ff.lower, ff$ff.lower, tolerance = 1e-6)
    expect_equal(tab$ff.upper, ff$ff.upper, tolerance = 1e-6)
    # each level's basis dimension follows its own size
    expect_equal(S4Vectors::metadata(a@cell.fit)$k, ref_default_k(ncol(sce)))
    expect_equal(S4Vectors::metadata(a@bulk.fit)$k, ref_default_k(ncol(a@bulk)))
    # CI: the marginal spline test at each level, shared by X -> Y and Y -> X.
    pc <- ciTest("g1", "g2", data = a@cells, test = "spline")$p.value
    expect_equal(tab["g1->g2", "p.ci.cells"], pc)
    expect_equal(tab["g2->g1", "p.ci.cells"], pc)
    pb <- ciTest("g1", "g3", data = SummarizedExperiment::assay(auditPseudobulk(a), "values"), test = "spline")$p.value
    expect_equal(tab["g3->g1", "p.ci.bulk"], pb)
    expect_identical(tab$ci.agree, (tab$padj.ci.cells < 0.05) == (tab$padj.ci.bulk < 0.05))
})

test_that("the audit uses the object's size factors when it has them", {
    sce <- .audit_counts()
    a <- recoverabilityAudit(sce, sample = "donor", genes = c("g1", "g2"), nboot = 0, ci = FALSE, verbose = FALSE)
    expect_identical(a@settings$size.factors, "library size")
    sf <- runif(ncol(sce), 0.5, 2)
    SingleCellExperiment::sizeFactors(sce) <- 3 * sf
    b <- recoverabilityAudit(sce, sample = "donor", genes = c("g1", "g2"), nboot = 0, ci = FALSE, verbose = FALSE)
    expect_identical(b@settings$size.factors, "sizeFactors(x)")
    counts <- SummarizedExperiment::assay(sce)[c("g1", "g2"), ]
    expect_equal(b@cells, counts / rep(sf / mean(sf), each = 2), tolerance = 1e-12)
    ref <- fitPairwise(counts, pairs = data.frame(c("g1", "g2"), c("g2", "g1")), counts = TRUE,
        size.factors = sf / mean(sf))
    # (size factors scaled in another order: the smoothing parameter's optimum moves in the 6th digit)
    expect_equal(auditTable(b)$nl.cells, ref$nl, tolerance = 1e-5)
    # with the object's size factors a cell without counts is allowed
    empty <- sce
    SummarizedExperiment::assay(empty, "counts")[, 5] <- 0
    expect_silent(recoverabilityAudit(empty, sample = "donor", genes = c("g1", "g2"), nboot = 0, ci = FALSE,
        verbose = FALSE))
    SingleCellExperiment::sizeFactors(sce)[3] <- 0
    expect_error(recoverabilityAudit(sce, sample = "donor", genes = c("g1", "g2")), "column 3 has 0")
})

test_that("the verdict follows its documented rule", {
    tab <- S4Vectors::DataFrame(padj.curve = c(0.001, 0.001, 0.5, 0.5, 0.5, 0.5, 0.5),
        ff.distance = c(0.3, 0.05, 0.02, 0.02, 0.02, 0.02, NA), ff.lower = c(0.2, 0.01, 0, 0.01, 0, 0, NA),
        ff.upper = c(0.4, 0.08, 0.06, 0.2, 0.06, 0.06, NA),
        padj.ci.cells = c(0.001, 0.001, 0.001, 0.001, 0.5, 0.001, 0.001),
        padj.ci.bulk = c(0.001, 0.001, 0.001, 0.001, 0.001, 0.5, 0.001))
    tab$ci.agree <- (tab$padj.ci.cells < 0.05) == (tab$padj.ci.bulk < 0.05)
    v <- bulkcausal:::.audit_verdict(tab, c(rep(NA, 6), "cell-level fit failed: constant target"),
        list(alpha = 0.05, tolerance = 0.1))
    # (the naive rule of helper-references.R, which other tests read audits
    # with, gives these hand-made rows the codes expected of v below)
    expect_identical(ref_audit_verdict(tab, 0.05, 0.1, failed = c(rep(FALSE, 6), TRUE))$code,
        c("departs", "agree", "agree", "interval wide", "new dependence", "lost dependence", "fit failed"))
    # on counts, an unreliable regulator makes any call undetermined
    tab$reliability.regulator.cells <- c(0.1, 0.5, 0.1, 0.5, 0.5, 0.5, 0.5)
    w <- bulkcausal:::.audit_verdict(tab, rep(NA, 7), list(alpha = 0.05, tolerance = 0.1, min.reliability = 0.25))
    expect_identical(w$verdict[1:3], c("undetermined", "consistent", "undetermined"))
    expect_match(w$reason[1], "count noise too large: the regulator's cell-level reliability is 0.10 < 0.25")
    # a departure needs the whole interval beyond the tolerance, on values
    # and on counts, at any reliability
    tab$ff.lower <- c(0.05, 0, 0, 0, 0, 0, NA)
    for (s in list(list(alpha = 0.05, tolerance = 0.1), list(alpha = 0.05, tolerance = 0.1, counts = TRUE))) {
        for (rel in c(0.6, 0.99)) {
            tab$reliability.regulator.cells <- rel
            tab$ff.lower[1] <- 0.05
            x <- bulkcausal:::.audit_verdict(tab, rep(NA, 7), s)
            expect_identical(x$verdict[1], "undetermined")
            expect_identical(x$reason[1], "interval of the distance (0.05 to 0.40) holds the tolerance 0.10")
            tab$ff.lower[1] <- 0.15
            x <- bulkcausal:::.audit_verdict(tab, rep(NA, 7), s)
            expect_identical(x$verdict[1], "inconsistent")
            expect_identical(x$reason[1], "bulk curve departs from the cell curve (distance 0.30, interval from 0.15 > 0.10)")
        }
    }
    # on counts, a regulator reliability below 0.6 confirms no departure
    # (values have no reliability)
    tab$reliability.regulator.cells <- 0.59
    x <- bulkcausal:::.audit_verdict(tab, rep(NA, 7), list(alpha = 0.05, tolerance = 0.1, counts = TRUE))
    expect_identical(x$verdict[1], "undetermined")
    expect_identical(x$code[1], "unreliable")
    expect_match(x$reason[1], "departs from the cell curve (distance 0.30), but the regulator's cell-level reliability 0.59 < 0.60",
        fixed = TRUE)
    expect_identical(bulkcausal:::.audit_verdict(tab, rep(NA, 7), list(alpha = 0.05, tolerance = 0.1))$verdict[1],
        "inconsistent")
    # ... nor a dependence in pseudobulk only (pair 5: independent in cells)
    expect_identical(x$verdict[5], "undetermined")
    expect_match(x$reason[5], "independent in cells, dependent in pseudobulk, but the regulator's cell-level reliability 0.59",
        fixed = TRUE)
    tab$reliability.regulator.cells <- 0.6
    x <- bulkcausal:::.audit_verdict(tab, rep(NA, 7), list(alpha = 0.05, tolerance = 0.1, counts = TRUE))
    expect_identical(x$verdict[c(1, 5)], c("inconsistent", "inconsistent"))
    tab$reliability.regulator.cells <- 0.59
    # an interval beyond the tolerance without a significant departure
    tab$padj.curve[1] <- 0.2
    x <- bulkcausal:::.audit_verdict(tab, rep(NA, 7), list(alpha = 0.05, tolerance = 0.1))
    expect_identical(x$verdict[1], "undetermined")
    expect_match(x$reason[1], "(0.15 to 0.40) beyond 0.10, but the departure is not significant (padj.curve 0.2)",
        fixed = TRUE)
    tab$padj.curve[1] <- 0.001
    # on counts "consistent" needs a regulator reliability of at least 0.6
    # (pair 2: interval within the tolerance, CI decisions agree)
    tab$reliability.regulator.cells <- c(0.95, 0.59, 0.6, 0.95, 0.95, 0.95, 0.95)
    x <- bulkcausal:::.audit_verdict(tab, rep(NA, 7), list(alpha = 0.05, tolerance = 0.1, counts = TRUE,
        min.reliability = 0.4))
    expect_identical(x$verdict[2:3], c("undetermined", "consistent"))
    expect_match(x$reason[2], "agree within 0.10, but the regulator's cell-level reliability 0.59 < 0.60")
    # ... which values (counts not set) do not need
    y <- bulkcausal:::.audit_verdict(tab, rep(NA, 7), list(alpha = 0.05, tolerance = 0.1))
    expect_identical(y$verdict[2], "consistent")
    expect_identical(v$verdict, c("inconsistent", "consistent", "consistent", "undetermined", "inconsistent",
        "undetermined", "undetermined"))
    expect_match(v$reason[1], "departs")
    expect_match(v$reason[4], "(0.01 to 0.20) holds the tolerance 0.10", fixed = TRUE)
    expect_match(v$reason[5], "independent in cells, dependent in pseudobulk")
    expect_match(v$reason[6], "not detected")
    expect_match(v$reason[7], "constant target")
    expect_identical(v$code, c("departs", "agree", "agree", "interval wide", "new dependence", "lost dependence",
        "fit failed"))
    # no dependence at either level: curves that agree are no evidence
    tab$padj.ci.cells[2] <- tab$padj.ci.bulk[2] <- 0.5
    z <- bulkcausal:::.audit_verdict(tab, rep(NA, 7), list(alpha = 0.05, tolerance = 0.1))
    expect_identical(z$verdict[2], "undetermined")
    expect_identical(z$code[2], "no relation")
    expect_match(z$reason[2], "no dependence detected in cells or in pseudobulk")
    expect_identical(z$verdict[3], "consistent")
})

test_that("on simulated truth, affine edges are consistent and damped ones inconsistent", {
    # Gaussian cause with a sample context; mean of 20 cells.  sin(2 x) with
    # within-sample sd 1 is damped by exp(-2^2 * 0.95 / 2) = 0.15 at the
    # bulk level (THEORY 2): far beyond the tolerance.  Affine: distance 0.
    model <- grnModel(data.frame(from = c("X1", "X2", "X3"), to = c("Y1", "Y2", "Y3"),
        fun = c("affine", "sin", "affine"), n = c(NA, 2, NA), weight = c(1, 1, -0.5)),
        noise.scale = c(X1 = 1, X2 = 1, X3 = 0.5, Y1 = 0.3, Y2 = 0.3, Y3 = 0.3),
        context.sd = c(X1 = 1, X2 = 1, X3 = 1))
    sim <- simulateCells(model, ncells = 20000, nsamples = 1000, seed = 3, verbose = FALSE)
    a <- recoverabilityAudit(sim, sample = "sample", pairs = data.frame(c("X1", "X2", "X3"), c("Y1", "Y2", "Y3")),
        assay.type = "latent", normalize = FALSE, nboot = 50, verbose = FALSE)
    tab <- auditTable(a)
    expect_identical(tab$verdict, c("consistent", "inconsistent", "consistent"))
    expect_lt(tab["X1->Y1", "ff.upper"], 0.1)
    expect_gt(tab["X2->Y2", "ff.lower"], 0.5)
    expect_true(all(tab$ci.agree))
})

test_that("random pools: disjoint by default, seeded, with overlap on request", {
    sce <- .audit_counts(ncells = 600)
    a <- recoverabilityAudit(sce, pool.size = 20, genes = c("g1", "g2"), nboot = 0, verbose = FALSE)
    expect_identical(ncol(a@bulk), 30L)
    expect_identical(a@ncells, rep(20L, 30))
    expect_match(a@settings$pseudobulk, "30 random pools of 20 cells \\(disjoint\\)")
    b <- recoverabilityAudit(sce, pool.size = 20, genes = c("g1", "g2"), nboot = 0, verbose = FALSE)
    expect_identical(auditTable(a), auditTable(b))
    c <- recoverabilityAudit(sce, pool.size = 20, npools = 100, replace = TRUE, genes = c("g1", "g2"), nboot = 0,
        verbose = FALSE)
    expect_identical(ncol(c@bulk), 100L)
    # the pools are poolCells' pools; their rates are summed counts over summed size factors
    counts <- SummarizedExperiment::assay(sce)
    sf <- ref_size_factors(counts)
    norm <- t(t(counts) / sf)
    pools <- poolCells(norm[c("g1", "g2"), ], pool.size = 20, npools = 100, replace = TRUE, aggregation = "mean", seed = 1)
    rates <- ref_pool_rates(counts[c("g1", "g2"), ], as.list(pools$cells), sf)
    expect_equal(unname(SummarizedExperiment::assay(auditPseudobulk(c), "values")), unname(rates), tolerance = 1e-12)
    expect_true(all(is.na(auditTable(a)$ff.upper)))
    # g1 and g2 have cell-level reliabilities of 0.34 and 0.26, below the
    # default min.reliability 0.4: both pairs are undetermined for count noise
    tab <- auditTable(a)
    expect_true(all(tab$reliability.regulator.cells < 0.4))
    expect_identical(tab$verdict, c("undetermined", "undetermined"))
    expect_identical(tab$reason.code, c("count noise", "count noise"))
    expect_identical(tab$reason, sprintf("count noise too large: the regulator's cell-level reliability is %.2f < 0.40",
        tab$reliability.regulator.cells))
})

test_that("the most variable genes are chosen on log1p of normalised values, among detected genes", {
    sce <- .audit_counts(ngenes = 6)
    a <- recoverabilityAudit(sce, sample = "donor", ngenes = 3, nboot = 0, ci = FALSE, verbose = FALSE)
    counts <- SummarizedExperiment::assay(sce)
    v <- apply(log1p(t(t(counts) / ref_size_factors(counts))), 1, var)
    expect_setequal(rownames(a@bulk), names(sort(v, decreasing = TRUE))[1:3])
    expect_identical(nrow(auditTable(a)), 6L)
    expect_true(all(is.na(auditTable(a)$p.ci.cells)))
})

test_that("dense, dgCMatrix and DelayedArray counts and two workers give the same audit", {
    sce <- .audit_counts()
    args <- list(sample = "donor", genes = c("g1", "g2", "g4"), nboot = 10, verbose = FALSE)
    ref <- auditTable(do.call(recoverabilityAudit, c(list(sce), args)))
    sp <- sce
    SummarizedExperiment::assay(sp, "counts") <- as(SummarizedExperiment::assay(sce), "dgCMatrix")
    expect_equal(auditTable(do.call(recoverabilityAudit, c(list(sp), args))), ref)
    da <- sce
    SummarizedExperiment::assay(da, "counts", withDimnames = FALSE) <- DelayedArray::DelayedArray(SummarizedExperiment::assay(sce))
    expect_equal(auditTable(do.call(recoverabilityAudit, c(list(da), args))), ref)
    expect_equal(auditTable(do.call(recoverabilityAudit, c(list(sce), args, list(BPPARAM = BiocParallel::SnowParam(2))))),
        ref)
})

test_that("gene names from a rowData column, duplicates made unique", {
    sce <- .audit_counts()
    expect_message(a <- recoverabilityAudit(sce, sample = "donor", pairs = data.frame("A", "C.1"),
        gene.names = "symbol", nboot = 0, verbose = FALSE), "1 duplicated names")
    expect_identical(rownames(auditTable(a)), "A->C.1")
    b <- recoverabilityAudit(sce, sample = "donor", pairs = data.frame("g1", "g4"), nboot = 0, verbose = FALSE)
    expect_equal(SummarizedExperiment::assay(auditPseudobulk(a), "values")["C.1", ], SummarizedExperiment::assay(auditPseudobulk(b), "values")["g4", ])
    expect_error(recoverabilityAudit(sce, sample = "donor", gene.names = "SYMBOL"),
        "`gene.names` = 'SYMBOL' is not a rowData column of `x`; its columns are 'symbol'")
})

test_that("summary, show and plot", {
    sce <- .audit_counts()
    a <- recoverabilityAudit(sce, sample = "donor", genes = c("g1", "g2", "g3", "g5"), nboot = 20, verbose = FALSE)
    s <- summary(a)
    tab <- auditTable(a)
    expect_identical(rownames(s), c("cells", "pseudobulk"))
    expect_equal(s["cells", "median.nl"], median(tab$nl.cells))
    expect_equal(s["pseudobulk", "share.nonlinear"], mean(tab$padj.nl.bulk < 0.05))
    # order-statistic interval of the median: x_(l), x_(n-l+1), l = qbinom(0.025, n, 0.5)
    n <- nrow(tab)
    l <- max(1, qbinom(0.025, n, 0.5))
    expect_equal(s["cells", "median.lower"], sort(tab$nl.cells)[l])
    expect_equal(s["cells", "median.upper"], sort(tab$nl.cells)[n - l + 1])
    expect_equal(sum(S4Vectors::metadata(s)$verdicts), 12)
    out <- capture.output(show(a))
    expect_match(out[1], "RecoverabilityAudit: 12 pairs among 4 genes; 600 cells -> 30 samples")
    expect_identical(grep("^verdicts: ", out, value = TRUE), sprintf("verdicts: %d consistent, %d inconsistent, %d undetermined",
        sum(tab$verdict == "consistent"), sum(tab$verdict == "inconsistent"), sum(tab$verdict == "undetermined")))
    # every line within the console's width
    old <- options(width = 50)
    narrow <- capture.output(show(a))
    options(old)
    expect_true(all(nchar(narrow) <= 50))
    expect_match(gsub(" +", " ", paste(narrow, collapse = " ")),
        "inconsistent = curves depart with the interval beyond 0.10, or dependent only in pseudobulk")
    expect_true(grepl("inconsistent = curves depart with the interval beyond 0.10", gsub(" +", " ",
        paste(out, collapse = " ")), fixed = TRUE))
    skip_if_not_installed("ggplot2")
    # the verdict figure: a point per pair with a relation at its distance,
    # its interval as a bar, ordered by distance, the tolerance dashed
    pv <- plot(a, type = "verdict")
    shown <- which(!is.na(tab$ff.distance) & tab$reason.code != "no relation")
    o <- shown[order(tab$ff.distance[shown])]
    expect_identical(as.character(pv$data$pair), rownames(tab)[o])
    expect_identical(pv$data$verdict, tab$verdict[o])
    expect_equal(ggplot2::layer_data(pv, 3)$x, tab$ff.distance[o])
    expect_equal(ggplot2::layer_data(pv, 2)$xmin, tab$ff.lower[o])
    expect_equal(ggplot2::layer_data(pv, 2)$xmax, tab$ff.upper[o])
    expect_equal(ggplot2::layer_data(pv, 1)$xintercept, a@settings$tolerance)
    # the nl figure: each level's nl of every pair, marked where BH p.nonlinear < alpha
    pn <- plot(a, type = "nl")
    expect_identical(pn$data$level, rep(c("cells", "pseudobulk"), each = nrow(tab)))
    expect_equal(ggplot2::layer_data(pn, 2)$y, c(tab$nl.cells, tab$nl.bulk))
    expect_identical(pn$data$sig == "significant", c(tab$padj.nl.cells, tab$padj.nl.bulk) < 0.05)
    # one pair: its cells and pseudobulk samples, and the two fitted curves
    one <- plot(a, type = "pairs", pairs = "g1->g2")
    expect_identical(unique(one$data$pair), paste("g1 -> g2:", tab["g1->g2", "verdict"]))
    pts <- split(one$data, one$data$level)
    expect_equal(pts$cells$x, unname(a@cells["g1", ]))
    expect_equal(pts$cells$y, unname(a@cells["g2", ]))
    expect_equal(pts$pseudobulk$x, unname(SummarizedExperiment::assay(auditPseudobulk(a), "values")["g1", ]))
    expect_equal(pts$pseudobulk$y, unname(SummarizedExperiment::assay(auditPseudobulk(a), "values")["g2", ]))
    cv <- one$layers[[2]]$data
    for (lv in c("cells", "pseudobulk")) {
        ref <- pairwiseCurves(if (lv == "cells") a@cell.fit else a@bulk.fit, pairs = "g1->g2", grid = 100)
        expect_equal(cv$x[cv$level == lv], ref$x, info = lv)
        expect_equal(cv$fit[cv$level == lv], ref$fit, info = lv)
    }
    expect_error(plot(a, type = "bars"), "`type` must be one of")
    # labels right for the mode, and short enough for the default size
    pv <- plot(a, type = "verdict")
    expect_identical(pv$labels$title, "Pseudobulk relation vs cell relation")
    expect_match(pv$labels$x, "pseudobulk curve from the cell curve")
    expect_lte(max(nchar(strsplit(pv$labels$subtitle, "\n")[[1]])), 60)
    pp <- plot(a, type = "pairs")
    expect_identical(pp$labels$title, "Cell-level and pseudobulk relations")
    expect_lte(max(nchar(strsplit(pp$labels$subtitle, "\n")[[1]])), 60)
    expect_setequal(unique(pp$data$level), c("cells", "pseudobulk"))
    # the default panels (largest distances) leave out pairs with no
    # relation at either level: mark the top one so
    top <- order(-tab$ff.distance)[1]
    lab <- function(p) sub(":.*", "", unique(p$data$pair))
    expect_true(sub("->", " -> ", rownames(tab)[top]) %in% lab(pp))
    # (the four largest distances among the pairs with a relation)
    score <- ifelse(tab$reason.code == "no relation", NA, tab$ff.distance)
    expect_setequal(lab(pp), sub("->", " -> ", rownames(tab)[head(order(-score, na.last = NA), 4)]))
    a2 <- a
    a2@table$reason.code[top] <- "no relation"
    expect_false(sub("->", " -> ", rownames(tab)[top]) %in% lab(plot(a2, type = "pairs")))
})

test_that("logged values: log.base undoes the log in both modes, a warning when it looks forgotten", {
    # log2-scale single-cell qPCR-like values, some below -1 (log1p of them
    # is NaN): no gene may be lost when choosing the variable genes
    set.seed(31)
    n <- 400
    x <- rnorm(n, 1, 1.5)
    lin <- rbind(A = 2^x, B = 2^(x / 2 + rnorm(n, sd = 0.5)), C = 2^rnorm(n, -1, 2), D = 2^rnorm(n, 0, 0.2),
        E = 2^rnorm(n, 0, 0.1))
    logged <- log2(lin)
    expect_gt(sum(logged < -1), 100)
    sce <- SingleCellExperiment::SingleCellExperiment(list(ct = logged), colData = S4Vectors::DataFrame(
        donor = rep(sprintf("d%02d", 1:40), each = 10)))
    # used as they are: warned, and the variable genes come from the values
    # themselves (no NaN): C (sd 2), A (sd 1.5), B
    expect_warning(expect_message(a <- recoverabilityAudit(sce, sample = "donor", ngenes = 3, assay.type = "ct",
        normalize = FALSE, nboot = 0, ci = FALSE, verbose = FALSE), "variance of the values themselves"),
        "looks logged or centred: it has negative values")
    expect_setequal(rownames(a@bulk), c("C", "A", "B"))
    # with log.base: the linear scale, no warning, the same as giving 2^x
    expect_silent(b <- recoverabilityAudit(sce, sample = "donor", genes = c("A", "B"), assay.type = "ct",
        normalize = FALSE, log.base = 2, nboot = 0, ci = FALSE, verbose = FALSE))
    SummarizedExperiment::assay(sce, "lin") <- lin
    ref <- recoverabilityAudit(sce, sample = "donor", genes = c("A", "B"), assay.type = "lin", normalize = FALSE,
        nboot = 0, ci = FALSE, verbose = FALSE)
    expect_equal(auditTable(b), auditTable(ref))
    # non-negative logged values (non-integers up to 30) are caught too
    pos <- SummarizedExperiment::SummarizedExperiment(list(exprs = log2(lin * 100 + 1)))
    expect_warning(recoverabilityAudit(pos, genes = c("A", "B"), assay.type = "exprs", normalize = FALSE,
        nboot = 0, verbose = FALSE), "non-integers no larger than")
    expect_error(recoverabilityAudit(sce, sample = "donor", assay.type = "ct", log.base = 2),
        "give `log.base` with `normalize = FALSE`")
})

test_that("the containers users have: ExpressionSet, a single assay found unnamed, a hint for the rest", {
    skip_if_not_installed("Biobase")
    set.seed(32)
    m <- matrix(rexp(5 * 120) * 100, 5, dimnames = list(LETTERS[1:5], sprintf("s%d", 1:120)))
    m["B", ] <- m["A", ] * 2 + rexp(120) * 10
    eset <- Biobase::ExpressionSet(m)
    se <- SummarizedExperiment::SummarizedExperiment(list(exprs = m))
    expect_message(a <- recoverabilityAudit(eset, genes = c("A", "B"), normalize = FALSE, nboot = 0, verbose = FALSE),
        "using the only assay of `x`, 'exprs'")
    ref <- recoverabilityAudit(se, genes = c("A", "B"), assay.type = "exprs", normalize = FALSE, nboot = 0,
        verbose = FALSE)
    expect_equal(auditTable(a), auditTable(ref))
    pr <- data.frame("A", "B")
    expect_equal(as.data.frame(suppressMessages(fitPairwise(eset, pairs = pr, seed = 1))),
        as.data.frame(fitPairwise(m, pairs = pr, seed = 1)))
    expect_equal(suppressMessages(ciTest("A", "B", data = eset))$p.value, ciTest("A", "B", data = m)$p.value)
    # an aggregateCells() result's only assay, without naming it
    agg <- aggregateCells(m, rep(1:40, 3), aggregation = "mean")
    expect_message(f <- fitPairwise(agg, pairs = pr), "using the only assay")
    expect_equal(f$nl, fitPairwise(SummarizedExperiment::assay(agg), pairs = pr)$nl)
    # a name given but absent is still an error
    expect_error(fitPairwise(agg, pairs = pr, assay.type = "counts"), "is not an assay of `x`")
    # a matrix is audited as cells, and needs their samples or pools
    expect_error(recoverabilityAudit(m), "give `sample` \\(a colData column naming each cell's sample\\) or `pool.size`")
    expect_error(recoverabilityAudit(list(1)), "SummarizedExperiment or an ExpressionSet \\(bulk samples")
})

test_that("bulk-only mode: linear-scale fits and a one-sided verdict", {
    set.seed(2)
    x <- runif(200, 4, 10)
    m <- rbind(A = x, B = log2(2^x + 300 * sin(2^x / 100) + 400), C = log2(3 * 2^x + 50 + rexp(200, 1 / 30)))
    se <- SummarizedExperiment::SummarizedExperiment(list(exprs = m))
    a <- recoverabilityAudit(se, genes = c("A", "B", "C"), assay.type = "exprs", normalize = FALSE, log.base = 2,
        nboot = 20, verbose = FALSE)
    tab <- auditTable(a)
    ref <- fitPairwise(2^m, genes = c("A", "B", "C"), nboot = 20, seed = 1)
    expect_equal(tab$nl, ref$nl)
    expect_identical(tab["A->B", "verdict"], "inconsistent")
    expect_identical(tab["A->C", "verdict"], "undetermined")
    expect_false(any(tab$verdict == "consistent"))
    expect_identical(rownames(summary(a)), "bulk")
    expect_match(capture.output(show(a))[1], "bulk only")
    expect_error(recoverabilityAudit(se, sample = "donor", assay.type = "exprs"), "audited as bulk data")
    expect_error(recoverabilityAudit(se, assay.type = "exprs", log.base = 2), "give `log.base` with `normalize = FALSE`")
    skip_if_not_installed("ggplot2")
    # the verdict figure shows each pair's bulk nl with its interval, ordered
    # by nl, the nl tolerance dashed
    pb <- plot(a)
    shown <- which(!is.na(tab$nl) & tab$reason.code != "no relation")
    o <- shown[order(tab$nl[shown])]
    expect_identical(as.character(pb$data$pair), rownames(tab)[o])
    expect_equal(ggplot2::layer_data(pb, 3)$x, tab$nl[o])
    expect_equal(ggplot2::layer_data(pb, 2)$xmin, tab$nl.lower[o])
    expect_equal(ggplot2::layer_data(pb, 2)$xmax, tab$nl.upper[o])
    expect_equal(ggplot2::layer_data(pb, 1)$xintercept, a@settings$nl.tolerance)
    expect_identical(plot(a)$labels$title, "Bulk relations affine cells cannot produce")
    expect_identical(plot(a)$labels$x, "nonlinearity index nl of the bulk relation")
    pp <- plot(a, type = "pairs")
    expect_identical(pp$labels$title, "Bulk relations")
    expect_identical(unique(pp$data$level), "bulk")
    expect_identical(unique(plot(a, type = "nl")$data$level), "bulk")
})

test_that("bulk-only mode with `by`: relations made by mixing groups go, fits within groups combine", {
    # two subtypes, each affine within (slopes 1 and 0), far apart in both
    # genes: the pooled relation is a bend the mixture makes
    set.seed(4)
    n <- 150
    sub <- rep(c("a", "b"), each = n)
    x <- c(rnorm(n, 10, 1), rnorm(n, 16, 1))
    y <- ifelse(sub == "a", x, 12) + rnorm(2 * n, sd = 0.5)
    m <- rbind(X = x, Y = y, Z = 2 * x + rnorm(2 * n, sd = 0.5))
    se <- SummarizedExperiment::SummarizedExperiment(list(exprs = m))
    se$subtype <- sub
    pooled <- auditTable(recoverabilityAudit(se, pairs = data.frame("X", c("Y", "Z")), assay.type = "exprs",
        normalize = FALSE, nboot = 0, verbose = FALSE))
    expect_identical(pooled["X->Y", "verdict"], "inconsistent")
    expect_match(pooled["X->Y", "reason"], "or the samples mix groups that differ \\(see `by`\\)")
    a <- recoverabilityAudit(se, pairs = data.frame("X", c("Y", "Z")), assay.type = "exprs", normalize = FALSE,
        nboot = 0, by = "subtype", verbose = FALSE)
    tab <- auditTable(a)
    expect_identical(tab$verdict, c("undetermined", "undetermined"))
    expect_identical(tab$groups, c(2, 2))
    # the combination of the fits within each group, by its definition
    fa <- fitPairwise(m[, sub == "a"], pairs = data.frame("X", c("Y", "Z")), seed = 1)
    fb <- fitPairwise(m[, sub == "b"], pairs = data.frame("X", c("Y", "Z")), seed = 1)
    expect_equal(tab$p.nonlinear, pmin(1, 2 * pmin(fa$p.nonlinear, fb$p.nonlinear)))
    expect_equal(tab$nl, (fa$nl * n + fb$nl * n) / (2 * n))
    expect_equal(tab$n, c(300, 300))
    expect_identical(names(a@bulk.fit), c("a", "b"))
    expect_match(gsub(" +", " ", paste(capture.output(show(a)), collapse = " ")),
        "fitted within 2 groups \\(a: 150, b: 150\\)")
    # a vector works as the column does; small groups are left out, with a message
    g <- sub
    g[1:10] <- "c"
    expect_message(b <- recoverabilityAudit(se, pairs = data.frame("X", "Y"), assay.type = "exprs",
        normalize = FALSE, nboot = 0, by = g, verbose = FALSE), "leaving out group 'c': fewer than 20 samples")
    expect_identical(auditTable(b)$groups, 2)
    # a target without a relation gets its own reason code and leaves the verdict plot
    se2 <- SummarizedExperiment::SummarizedExperiment(list(exprs = rbind(m, W = rnorm(2 * n, 10))))
    b2 <- recoverabilityAudit(se2, pairs = data.frame("X", c("Y", "Z", "W")), assay.type = "exprs",
        normalize = FALSE, nboot = 0, verbose = FALSE)
    expect_identical(auditTable(b2)$reason.code, c("non-linear", "close to affine", "no relation"))
    expect_identical(auditTable(b2)["X->W", "verdict"], "undetermined")
    if (requireNamespace("ggplot2", quietly = TRUE)) {
        pv <- plot(b2)
        expect_setequal(as.character(pv$data$pair), c("X->Y", "X->Z"))
        expect_match(pv$labels$subtitle, "1 pair without a relation not shown")
    }
    expect_error(recoverabilityAudit(se, pairs = data.frame("X", "Y"), assay.type = "exprs", normalize = FALSE,
        by = "sex"), "`by` = 'sex' is not a colData column of `x`")
    expect_error(recoverabilityAudit(se, pairs = data.frame("X", "Y"), assay.type = "exprs", normalize = FALSE,
        by = 1:3), "`by` has 3 values but `x` has 300 samples")
    expect_error(recoverabilityAudit(se, pairs = data.frame("X", "Y"), assay.type = "exprs", normalize = FALSE,
        by = rep(NA, 300)), "`by` has no value that is not NA")
    skip_if_not_installed("ggplot2")
    pp <- plot(a, type = "pairs")
    expect_setequal(unique(pp$data$level), c("group a", "group b"))
})

test_that("bad input gets clear errors", {
    sce <- .audit_counts()
    expect_error(recoverabilityAudit(sce, sample = "donor", assay.type = "logcounts"),
        "`assay.type` 'logcounts' is not an assay of `x`; its assays are 'counts'")
    bad <- sce
    SummarizedExperiment::assay(bad, "counts")[2, 3] <- 0.5
    expect_error(recoverabilityAudit(bad, sample = "donor"),
        "assay 'counts' must hold counts \\(non-negative whole numbers\\) when `normalize = TRUE`, but it has 0.5")
    SummarizedExperiment::assay(bad, "counts")[2, 3] <- -1
    expect_error(recoverabilityAudit(bad, sample = "donor"), "but it has -1")
    expect_error(recoverabilityAudit(sce, sample = "patient"),
        "`sample` = 'patient' is not a colData column of `x`; its columns are 'donor'")
    one <- sce
    one$donor <- "d1"
    expect_error(recoverabilityAudit(one, sample = "donor"), "`sample` has 1 level: pseudobulk needs several samples")
    expect_error(recoverabilityAudit(sce, pool.size = 601), "`pool.size` = 601 is larger than the 600 cells of `x`")
    expect_error(recoverabilityAudit(sce, pool.size = 20, npools = 40),
        "40 disjoint pools of 20 cells need 800 cells, but `x` has 600: set `replace = TRUE`")
    expect_error(recoverabilityAudit(sce, sample = "donor", pairs = data.frame("g1", "TP53")),
        "`pairs` names gene 'TP53', which is not in rownames\\(x\\)")
    expect_error(recoverabilityAudit(sce, sample = "donor", pairs = data.frame("g1", "g1")), "with itself")
    expect_error(recoverabilityAudit(sce, pool.size = 50, genes = c("g1", "g2")),
        "the audit has 12 pools; fitting splines with k = 10 and their bootstrap needs at least 20: lower `pool.size`")
    small <- sce[, sce$donor %in% sprintf("s%02d", 1:8)]
    expect_error(recoverabilityAudit(small, sample = "donor", genes = c("g1", "g2")),
        "the audit has 8 samples; .* needs at least 20; use `pool.size` for random pools")
    part <- sce
    part$donor[1:30] <- NA
    expect_message(p <- recoverabilityAudit(part, sample = "donor", genes = c("g1", "g2"), nboot = 0, verbose = FALSE),
        "leaving out 30 cells with no sample label")
    expect_identical(ncol(p@cells), 570L)
    expect_identical(sum(p@ncells), 570L)
    expect_error(recoverabilityAudit(sce), "give `sample` .* or `pool.size`")
    expect_error(recoverabilityAudit(sce, sample = "donor", pool.size = 10), "not both")
    expect_error(recoverabilityAudit(sce, sample = "donor", ngenes = 6, max.pairs = 10),
        "30 pairs asked for, more than `max.pairs` = 10")
    expect_error(recoverabilityAudit(matrix(1:4, 2)), "`x` needs gene names: rownames")
    expect_error(recoverabilityAudit(data.frame(a = 1)), "`x` must be a genes x cells matrix .* not a data.frame")
    empty <- sce
    SummarizedExperiment::assay(empty, "counts")[, 5] <- 0
    expect_error(recoverabilityAudit(empty, sample = "donor"), "1 cells have no counts at all \\(e.g. 'c5'\\)")
    expect_error(recoverabilityAudit(sce, sample = "donor", dispersion = -1), "`dispersion` must be")
    expect_error(recoverabilityAudit(sce, sample = "donor", min.reliability = 2),
        "`min.reliability` must be a share in \\[0, 1\\], not 2")
    expect_error(recoverabilityAudit(sce, sample = "donor", normalize = FALSE, dispersion = 0.1),
        "`dispersion` describes counts: give it with `normalize = TRUE`")
})

test_that("the embedded dataset audits in one call", {
    data(pbmc283, package = "bulkcausal")
    expect_s4_class(pbmc283, "SingleCellExperiment")
    expect_identical(dim(pbmc283), c(914L, 283L))
    a <- recoverabilityAudit(pbmc283, pool.size = 10, npools = 100, replace = TRUE, ngenes = 5, nboot = 20,
        verbose = FALSE)
    tab <- auditTable(a)
    expect_identical(nrow(tab), 20L)
    # each verdict and reason code is the one the rule of ?recoverabilityAudit
    # gives the table's own numbers (its intervals, padj columns and
    # reliabilities, at the audit's alpha, tolerance and min.reliability)
    s <- a@settings
    ref <- ref_audit_verdict(tab, s$alpha, s$tolerance, counts = TRUE, min.reliability = s$min.reliability,
        failed = a@cell.fit$status != "ok" | a@bulk.fit$status != "ok")
    expect_identical(tab$verdict, ref$verdict)
    expect_identical(tab$reason.code, ref$code)
    cons <- tab$verdict == "consistent"
    inc <- tab$verdict == "inconsistent"
    und <- tab$verdict == "undetermined"
    # the summary counts the same verdicts
    expect_equal(as.vector(S4Vectors::metadata(summary(a))$verdicts[c("consistent", "inconsistent", "undetermined")]),
        c(sum(cons), sum(inc), sum(und)))
})

test_that("max.cells caps the cell level at a random subset; the pseudobulk keeps every cell", {
    data(pbmc283, package = "bulkcausal")
    full <- recoverabilityAudit(pbmc283, pool.size = 10, ngenes = 4, nboot = 10, seed = 2, verbose = FALSE)
    msgs <- capture.output(cut <- recoverabilityAudit(pbmc283, pool.size = 10, ngenes = 4, nboot = 10, seed = 2,
        max.cells = 150, verbose = TRUE), type = "message")
    expect_true(any(grepl("cell level: 150 of the 283 cells, drawn at random", msgs)))
    expect_equal(ncol(cut@cells), 150)
    expect_true(all(colnames(cut@cells) %in% colnames(full@cells)))
    expect_false(is.unsorted(match(colnames(cut@cells), colnames(full@cells))))
    # the pseudobulk is the same; the cell level is fitted on the subset
    expect_identical(cut@bulk, full@bulk)
    expect_identical(auditTable(cut)$n.bulk, auditTable(full)$n.bulk)
    expect_true(all(auditTable(cut)$n.cells <= 150))
    expect_output(show(cut), "283 cells -> .*\n  cell level: 150 cells drawn at random")
    # at or above the cell count nothing changes
    same <- recoverabilityAudit(pbmc283, pool.size = 10, ngenes = 4, nboot = 10, seed = 2, max.cells = 283,
        verbose = FALSE)
    expect_identical(auditTable(same), auditTable(full))
    expect_error(recoverabilityAudit(pbmc283, pool.size = 10, max.cells = 50), "`max.cells` must be a whole number")
    expect_error(recoverabilityAudit(pbmc283, pool.size = 10, max.cells = NA), "`max.cells`")
})

test_that("`by` forms the pseudobulk within cell types: per sample and type, or pools within types", {
    set.seed(31)
    n <- 1200
    type <- rep(c("T", "B", "NK"), length.out = n)
    donor <- rep(sprintf("d%02d", 1:12), each = n / 12)
    # the types shift the regulator: pools mixing them would blur that
    x <- rgamma(n, 2, 1) + c(T = 0, B = 2, NK = 4)[type]
    lam <- cbind(g1 = x, g2 = 0.5 + 0.8 * x, g3 = 1 + 0.3 * x^1.2, g4 = rgamma(n, 3, 1))
    counts <- t(matrix(rpois(length(lam), 3 * lam), n, dimnames = list(paste0("c", 1:n), colnames(lam))))
    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = counts))
    sce$donor <- donor
    sce$type <- type
    sce$donor.type <- paste(donor, type, sep = ".")
    a <- recoverabilityAudit(sce, sample = "donor", by = "type", genes = c("g1", "g2"), nboot = 10,
        verbose = FALSE)
    expect_identical(ncol(a@bulk), 36L)
    expect_setequal(colnames(a@bulk), unique(sce$donor.type))
    expect_identical(sum(a@ncells), as.integer(n))
    expect_true(all(a@ncells %in% 33:34))
    # the same as naming each sample-and-type group a sample
    b <- recoverabilityAudit(sce, sample = "donor.type", genes = c("g1", "g2"), nboot = 10, verbose = FALSE)
    expect_equal(as.data.frame(auditTable(a)), as.data.frame(auditTable(b)))
    expect_match(a@settings$pseudobulk, "one per sample and cell type")
    # random pools within types: every pool holds cells of one type
    p <- recoverabilityAudit(sce, pool.size = 10, by = type, genes = c("g1", "g2"), nboot = 10, verbose = FALSE)
    expect_identical(ncol(p@bulk), 120L)  # 40 disjoint pools of 10 in each of the 3 types
    pool.type <- sub("[.]pool[0-9]+$", "", colnames(p@bulk))
    expect_identical(as.vector(table(pool.type)), c(40L, 40L, 40L))
    expect_match(p@settings$pseudobulk, "40 in each of 3 cell types")
    # cells without a type are left out of both levels, with a message
    t2 <- type
    t2[1:6] <- NA
    expect_message(recoverabilityAudit(sce, sample = "donor", by = t2, genes = c("g1", "g2"), nboot = 0,
        verbose = FALSE), "leaving out 6 cells with no cell type")
    expect_error(recoverabilityAudit(sce, sample = "donor", by = "celltype"), "`by` = 'celltype' is not a colData column")
    expect_error(recoverabilityAudit(sce, sample = "donor", by = type[1:5]), "`by` must name a colData column")
    expect_error(recoverabilityAudit(sce, sample = "donor", cluster_id = "type"), "`cluster_id` \\(here `by`\\)")
})
