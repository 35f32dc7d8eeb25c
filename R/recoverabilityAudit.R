#' Audit the recoverability of gene-gene relations in your own data
#'
#' Asks, pair by pair, whether a relation X -> Y seen in bulk (or pseudobulk)
#' data is the cell-level relation seen through a linear aggregation, which
#' is when causal conclusions drawn from the bulk data can be trusted:
#' causal relations survive aggregation when the aggregation is linear and
#' the relations are affine.
#'
#' @section Single-cell data (`SingleCellExperiment`):
#' \enumerate{
#'   \item Each cell is normalised on the scale on which aggregation is
#'     linear: its counts divided by its size factor, without a log.  The
#'     size factors are `sizeFactors(x)` when the object has them (e.g.
#'     from scran), otherwise library sizes; either way divided by their
#'     mean (`settings$size.factors` says which).  With `normalize = FALSE` the
#'     assay is taken as already on such a scale (TPM, FPKM, normalised
#'     counts).
#'   \item Pseudobulk samples are the means of the normalised cells of each
#'     level of `sample` (donors, wells, replicates), or, without sample
#'     labels, of random pools of `pool.size` cells ([poolCells()];
#'     `npools` disjoint pools by default, drawn with overlap when
#'     `replace = TRUE`).  A mean is a linear aggregation, so the cell-level
#'     curve f maps to f itself at the bulk level.
#'   \item Pairs: the ordered `pairs` given, or all ordered pairs among
#'     `genes`, or among the `ngenes` most variable genes (variance of
#'     `log1p` of the normalised values, or of the values themselves when
#'     some are negative, among genes non-zero in at least `min.detected`
#'     of the cells), at most `max.pairs`.
#'   \item [fitPairwise()] at both levels, with wild-bootstrap intervals of
#'     the nonlinearity index `nl`; functional-form consistency as in
#'     [functionalConsistency()], the cell-level spline serving as f; the
#'     spline CI test ([ciTest()]) of the marginal statement X _||_ Y at
#'     both levels.
#'   \item On counts (`normalize = TRUE`) the cell level is fitted on the
#'     rate scale (`fitPairwise(counts = TRUE)`): the cell curve f is the
#'     relation between the cells' rates (expected counts per unit size
#'     factor), corrected for the counts' sampling noise, and its
#'     `p.nonlinear` comes from the rate-scale moment test. The pseudobulk
#'     means estimate the means of the cells' rates, so f is compared with
#'     the bulk curve on the scale both levels measure. The reliability of
#'     each gene at each level (the share of its variance that is not
#'     sampling noise; for pseudobulk, of the pooled rates, their noise taken
#'     as negative binomial with the cells' dispersion over the cells per
#'     pool) is reported.
#' }
#'
#' @section The verdict:
#' P-values are adjusted over the pairs by Benjamini-Hochberg (`padj.*`
#' columns) and compared with `alpha`.  A pair is
#' \describe{
#'   \item{`"inconsistent"`}{when the bulk curve departs from the cell curve
#'     by more than the tolerance (`padj.curve < alpha` and the whole
#'     bootstrap interval of the distance beyond the tolerance, `ff.lower >
#'     tolerance`; with `nboot = 0`, `ff.distance > tolerance`), or when X
#'     and Y are independent in the cells
#'     (`padj.ci.cells > alpha`) yet dependent in the pseudobulk
#'     (`padj.ci.bulk < alpha`): aggregation changed the relation;}
#'   \item{`"consistent"`}{when it is not inconsistent, the whole bootstrap
#'     interval of the distance lies within the tolerance (`ff.upper <=
#'     tolerance`), the CI decisions agree, and a dependence is detected at
#'     one level at least: the bulk relation is the cell relation, up to an
#'     intercept;}
#'   \item{`"undetermined"`}{otherwise: the interval holds the tolerance,
#'     or lies beyond it without a significant `padj.curve` (too few
#'     samples to tell),
#'     a dependence seen in the cells is not detected in the pseudobulk, no
#'     dependence is detected at either level ("no relation": flat curves
#'     agree trivially, which is no evidence that a relation survives
#'     aggregation), a fit failed, or, on counts, the regulator's cell-level
#'     reliability is below `min.reliability` ("count noise too large": the
#'     counts say too little about each cell's rate to recover the cell
#'     curve, whatever the pseudobulk shows) or below 0.6 where the curves
#'     or a dependence found in pseudobulk only would decide ("unreliable",
#'     see below).}
#' }
#' `reason.code` says which rule decided, as one of `"departs"`, `"new
#' dependence"` (inconsistent), `"agree"` (consistent), `"interval wide"`,
#' `"lost dependence"`, `"no relation"`, `"unreliable"` (on counts, see
#' below), `"count noise"`, `"no interval"` (`nboot = 0`), `"fit failed"`
#' (undetermined), so that `table(reason.code)` counts them; `reason` says
#' the same in a sentence with the numbers.  In the bulk-only audit the
#' codes are `"non-linear"`, `"close to affine"`, `"no relation"` (the
#' bulk fit's `p.relation`, see [fitPairwise()], is not below `alpha` after
#' Benjamini-Hochberg adjustment) and `"fit failed"`.
#' The interval of the distance resamples both levels: the cell curves
#' are refitted on `min(nboot, 20)` resamples of the cells, paired with the
#' `nboot` resamples of the pseudobulk samples (see ?functionalConsistency
#' for the interval).  Both verdicts of the distance are one-sided tests
#' of it against the tolerance, each at level `(1 - level) / 2` as far as
#' the interval's ends are accurate: a pair whose true distance is just
#' below the tolerance is rarely called "inconsistent", and one just above
#' it rarely "consistent".  Pairs whose distance lies near the tolerance
#' are left undetermined more often than with a rule that reads the
#' estimate itself; the verdicts that are made are the more reliable.
#' On counts (`normalize = TRUE`) the cell curve is deconvolved from the
#' counts' noise, which leaves it with a sizeable variance of its own (each
#' cell resample's rate distributions are refitted on each resample, on the
#' rate grid of all cells); the interval carries it.
#'
#' Two more rules on counts come from the deconvolution's bias.  Its
#' penalty shrinks the cell curve toward a straight line, and more so the
#' noisier the regulator's counts (they say less about the curve's bends),
#' so a cell curve fitted as [fitPairwise()] fits it lands too close to the
#' (smoother) bulk curve and the distance is too small.  The cell curve of
#' the FF check is therefore undersmoothed (a tenth of the smoothing
#' parameter REML chooses, with 10 basis functions unless `k` is given; the
#' cells outnumber the pseudobulk samples, and the larger variance this
#' buys is carried into the interval by the cell resamples; 10 basis
#' functions round off a sharp kink, so that a kinked cell curve can look as
#' smooth as the bulk curve: in the package's simulations one relu edge of
#' distance 0.16 was called consistent at 100 counts per cell, and a larger
#' `k` follows kinks at the price of wider intervals).  And either
#' verdict of the curves, and "independent in cells, dependent in
#' pseudobulk" (count noise hides a dependence among cells), needs the
#' regulator's cell-level reliability to be at least 0.6: below it the deconvolved curve rests on the estimated
#' shape of the rate distribution more than on the data, a bias the
#' resamples share and the interval cannot show.  In the package's
#' simulations it hid departures of saturating curves (sigmoid, Hill) of
#' twice the tolerance, and bent truly affine rate relations into
#' departures: without this rule, 8 of the 9 wrong verdicts on 30
#' replicates of 10 pairs (Poisson and negative binomial counts, 10 and 100
#' counts per cell) had regulator reliabilities from 0.47 to 0.55.  Such
#' pairs are "undetermined" with the reason code `"unreliable"`.
#'
#' The distance is the root mean square gap between the two curves over
#' the central 90% of the bulk regulator values, in units of the standard
#' deviation of the bulk target; `tolerance = 0.1` accepts gaps up to a
#' tenth of it.  Bulk values where the cell curve rests on fewer than 10
#' cells (its knot interval holds fewer) are left out of the distance
#' (before its central 90% is taken) and of `p.curve`: there a handful of
#' extreme cells can bend the cell curve arbitrarily (the pairs plot draws
#' such stretches dotted).  `consistent` needs `nboot > 0`; with `ci = FALSE` the CI
#' conditions are left out of the rule.  The residual part of FF
#' (`p.resid`, HSIC of the bulk residual against the bulk regulator) is
#' reported but not used: count noise makes residuals heteroscedastic at
#' both levels, so its rejection would not single out aggregation.
#'
#' Why the rate scale: count noise in a cell's regulator flattens a curve
#' fitted to normalised counts (regression dilution), while averaging
#' removes most of that noise, so a naive comparison calls even an affine
#' relation inconsistent. The count-aware cell curve removes the dilution;
#' what it cannot do is recover a curve from counts that carry almost no
#' information about the rates, hence `min.reliability`.  With
#' `normalize = FALSE` (TPM, FPKM, continuous values) the values are
#' compared as they are.  The cell-level curve is a spline with `k`
#' coefficients; kinks (e.g. a threshold) are smoothed, which makes the cell
#' curve closer to the bulk one than the true function is.
#'
#' @section Bulk data alone (`SummarizedExperiment`):
#' Without cells only the bulk curve is seen.  A linear aggregation of an
#' affine cell-level relation is affine, so a bulk relation that is
#' significantly and substantially non-linear (`padj.nonlinear < alpha` and
#' `nl > nl.tolerance`) rules out the theorem's condition: `"inconsistent"`.
#' An affine-looking bulk relation does not show the cells are affine
#' (averaging smooths curvature away), so every other pair is
#' `"undetermined"`; bulk data alone never give `"consistent"`.  A cohort
#' that mixes groups (subtypes, sexes, batches) differing in both genes'
#' levels shows relations made by the mixture, not by the cells: give
#' `by` to fit within groups.  Microarray
#' intensities on a log scale are returned to the linear scale with
#' `log.base`; counts are scaled by library size (`normalize = TRUE`).
#'
#' @param x A `SingleCellExperiment` (cells in columns) for the full audit,
#'   or a `SummarizedExperiment` or `ExpressionSet` (converted by
#'   SummarizedExperiment's coercion) of bulk samples for the bulk-only
#'   audit.  A Seurat object converts with
#'   `Seurat::as.SingleCellExperiment()`.
#'   The assay may be a dense matrix, a `dgCMatrix` or a `DelayedArray`
#'   (e.g. HDF5-backed): only the chosen genes are brought into memory.
#' @param sample The cells' sample labels: the name of a `colData` column or
#'   a vector with one value per cell.
#' @param pool.size Cells per random pool, when there are no sample labels.
#' @param pairs A data.frame whose first two columns name regulator and
#'   target genes.
#' @param genes Genes whose ordered pairs are audited (instead of the most
#'   variable ones).
#' @param ... Arguments of the methods below.  An argument the method does
#'   not take is an error that names it (with this function's name for one
#'   known from other packages, e.g. muscat's `sample_id` is `sample`).
#' @param npools Number of random pools (per type with `by`); default
#'   `floor(ncol(x) / pool.size)` disjoint pools.
#' @param replace Whether random pools may share cells (needed when
#'   `npools * pool.size` exceeds the number of cells).
#' @param by Optional cell types (clusters): the name of a `colData` column
#'   or a vector with one value per cell.  The pseudobulk is then formed
#'   within types: one sample per sample label and type (`sample`), or
#'   `npools` random pools per type (`pool.size`; by default as many
#'   disjoint pools as the smallest type holds).  A study with a few donors
#'   and several cell types has enough pseudobulk samples that way, and no
#'   pool mixes types.  Cells without a type take part in neither level.
#'   Bulk-only audit: groups of samples (subtypes, sexes, batches; the
#'   name of a `colData` column or one value per sample) within which the
#'   relations are fitted.  A cohort that mixes groups differing in both
#'   genes' levels has between-group relations that no cell-level function
#'   makes; with `by` each pair is fitted in each group with enough samples
#'   (smaller groups are left out with a message), its `p.nonlinear` is the
#'   smallest group's times the number of groups in which the pair has a
#'   p-value (Bonferroni), its `nl` and R^2 are averages weighted by the
#'   groups' samples, and `groups` says how many groups it was fitted in.
#' @param n.genes,group Former names of `ngenes` and (bulk-only audit)
#'   `by`, deprecated (they work, with a warning).
#' @param ngenes Number of most variable genes whose pairs are audited.
#' @param max.pairs Most pairs audited; more give an error.
#' @param min.detected Share of cells (or samples) in which a candidate
#'   variable gene must be non-zero.
#' @param assay.type The assay to use; when left at its default and `x`
#'   has a single assay, that one.
#' @param normalize `TRUE`: the assay holds counts (whole numbers, checked),
#'   scaled by library size, the cell level fitted on the rate scale.
#'   `FALSE`: used as it is.
#' @param dispersion With counts: their technical overdispersion given the
#'   rates, 0 (Poisson, as for UMI counts) by default; see [fitPairwise()].
#' @param min.reliability With counts: pairs whose regulator has a
#'   cell-level reliability below this are undetermined ("count noise too
#'   large"). On simulated counts (400 samples of 20 cells) verdicts of
#'   pairs below 0.4 were right 42-63% of the time, above it 90-100%.
#' @param log.base For values on a log scale (e.g. `2` for RMA
#'   intensities or log2 qPCR expression), with `normalize = FALSE`: they
#'   are returned to the linear scale as `log.base^x` before anything else,
#'   since aggregation (a sum or mean of cells) is linear on the linear
#'   scale only.  Values used as they are that look logged or centred
#'   (negative values, or non-integers no larger than 30) get a warning.
#' @param gene.names A `rowData` column whose values name the genes (e.g.
#'   symbols instead of Ensembl IDs); duplicates are made unique.
#' @param k Spline basis dimension of the pairwise fits; `NULL` (default):
#'   at each level the rule of [fitPairwise()] for its number of cells or
#'   samples (the CI test's grows the same way, see [ciSuffStat()]).
#' @param nboot Bootstrap replicates of the intervals of `nl` and of the FF
#'   distance (at most 1,000,000).
#' @param level Confidence level of those intervals.
#' @param alpha Level of the tests after Benjamini-Hochberg adjustment.
#' @param tolerance Largest FF distance called consistent.
#' @param nl.tolerance Bulk-only audit: smallest `nl` called inconsistent.
#' @param ci Run the CI tests of the pairs.
#' @param max.n Most observations in one HSIC test (cells are subsampled).
#' @param max.cells Most cells the cell level uses (its fits, resamples and
#'   CI tests): above it, `max.cells` cells drawn at random from the seed;
#'   the pseudobulk is always made of every cell.  Past some tens of
#'   thousands of cells the cell curve is far more precise than the
#'   pseudobulk curve it is compared with, and the interval of the distance
#'   hardly narrows, while the cost grows with the cells.  `Inf` uses them
#'   all.
#' @param seed Seed of the pools, the bootstraps and the subsamples.
#' @param BPPARAM A BiocParallel back-end for every heavy step: the fits
#'   at both levels, the cell resamples, the FF bootstraps and the CI tests.
#'   Workers are started once for the whole call (and stopped at its end);
#'   a back-end started by the user with [BiocParallel::bpstart()] is
#'   reused as it is and left running, which saves the workers' start-up
#'   over several calls.  Results are identical on every back-end.  An
#'   interrupt also ends the work the workers are running (`SnowParam`
#'   workers the call started are ended at once).
#' @param num.threads Threads of the fits and CI tests (per worker);
#'   results do not depend on it.
#' @param verbose Report progress (by default in interactive sessions):
#'   a message per step and a progress bar within each (pairs fitted,
#'   cell resamples, pairs compared, CI tests, each of its total, with the
#'   time left), serially and with workers alike.
#'
#' @return A [RecoverabilityAudit-class] object; [auditTable()] gives its
#'   table (one row per pair: `nl` at each level with intervals,
#'   `ff.distance` with its interval, the CI p-values and agreement, the
#'   `verdict` and its `reason`).
#' @seealso [functionalConsistency()], [ciConsistency()], [fitPairwise()].
#' @examples
#' data(pbmc283)
#' audit <- recoverabilityAudit(pbmc283, pool.size = 10, npools = 60, replace = TRUE,
#'                              ngenes = 6, nboot = 30)
#' audit
#' head(auditTable(audit)[, c("regulator", "target", "ff.distance", "verdict")])
#' @name recoverabilityAudit
#' @export
setGeneric("recoverabilityAudit", function(x, ...) standardGeneric("recoverabilityAudit"))

#' @rdname recoverabilityAudit
#' @export
#' @importClassesFrom SingleCellExperiment SingleCellExperiment
#' @importFrom BiocGenerics sizeFactors
setMethod("recoverabilityAudit", "SingleCellExperiment", function(x, sample = NULL, pool.size = NULL,
    pairs = NULL, genes = NULL, npools = NULL, replace = FALSE, by = NULL, ngenes = 20, max.pairs = 400,
    min.detected = 0.1, assay.type = "counts", normalize = TRUE, log.base = NULL, dispersion = 0,
    min.reliability = 0.4, gene.names = NULL, k = NULL, nboot = 100, level = 0.95, alpha = 0.05, tolerance = 0.1, ci = TRUE,
    max.n = 2000, max.cells = 50000, seed = 1, BPPARAM = SerialParam(), num.threads = 1, verbose = interactive(),
    ..., n.genes) {
    .check_extra_args("recoverabilityAudit", names(formals(sys.function())), ...)
    if (!missing(n.genes)) ngenes <- .renamed_arg("recoverabilityAudit", "n.genes", "ngenes", n.genes, !missing(ngenes))
    s <- .audit_settings(k, nboot, level, alpha, tolerance, max.n, seed, verbose, ngenes, max.pairs,
        min.detected, num.threads)
    max.cells <- if (identical(max.cells, Inf)) Inf else .check_count(max.cells, "max.cells", min = 100)
    if (.bp_start(BPPARAM)) on.exit(.bp_stop(BPPARAM), add = TRUE)
    ci <- .check_flag(ci, "ci")
    normalize <- .check_flag(normalize, "normalize")
    dispersion <- .check_number(dispersion, "dispersion", lower = 0)
    min.reliability <- .check_number(min.reliability, "min.reliability", lower = 0)
    if (min.reliability > 1) {
        stop(sprintf("`min.reliability` must be a share in [0, 1], not %s", .fmt_value(min.reliability)),
            call. = FALSE)
    }
    if (!normalize && dispersion != 0) stop("`dispersion` describes counts: give it with `normalize = TRUE`",
        call. = FALSE)
    s$counts <- normalize
    s$dispersion <- dispersion
    s$min.reliability <- min.reliability
    log.base <- .audit_log_base(log.base, normalize)
    assay.type <- .pick_assay(x, assay.type, !missing(assay.type))
    m <- .audit_assay(x, assay.type, gene.names)
    m <- .audit_linear(m, x, log.base, normalize, assay.type)
    labels <- .audit_labels(x, sample, pool.size)
    by <- .audit_by(x, by)
    if (!is.null(by) && !is.null(labels)) {
        # one pseudobulk sample per sample label and type
        labels <- ifelse(is.na(labels) | is.na(by), NA_character_, paste(labels, by, sep = "."))
        by <- NULL
        s$by <- "sample x type"
    } else if (!is.null(by)) {
        s$by <- "pools within types"
    }
    if (s$verbose) message(sprintf("%d genes x %d cells", nrow(m), ncol(m)))
    user.sf <- normalize && !is.null(sizeFactors(x))
    sf <- .library_size_factors(m, normalize, "cells", assay.type, check.only = user.sf)
    s$size.factors <- if (!normalize) "none" else "library size"
    if (user.sf) {
        # the user's normalisation (e.g. scran's pooled factors), scaled to mean 1
        sf <- .check_size_factors(sizeFactors(x), ncol(x))
        sf <- sf / mean(sf)
        s$size.factors <- "sizeFactors(x)"
    }
    if (s$verbose && normalize) message(sprintf("size factors: %s", s$size.factors))
    chosen <- .audit_pairs(m, sf, pairs, genes, s)
    raw <- .audit_normalised(m, chosen$genes, rep(1, ncol(m)))
    out <- if (!is.null(labels)) is.na(labels) else if (!is.null(by)) is.na(by) else FALSE
    if (any(out)) {
        # cells without a sample (or a type) take part in neither level
        raw <- raw[, !out, drop = FALSE]
        sf <- sf[!out]
        if (!is.null(labels)) labels <- labels[!out]
        if (!is.null(by)) by <- by[!out]
    }
    kept <- if (any(out)) which(!out) else seq_len(ncol(raw))
    C <- raw * rep(1 / sf, each = nrow(raw))
    pb <- .audit_pseudobulk(C, labels, pool.size, npools, replace, s, by)
    if (s$verbose) message(sprintf("pseudobulk: %d samples of %s cells", ncol(pb$B),
        paste(unique(range(pb$ncells)), collapse = "-")))
    counts <- NULL
    if (normalize) {
        # Counts pool into counts: the pseudobulk's rates are its summed
        # counts over its summed size factors.
        pc <- .pool_counts(raw, sf, pb$groups)
        dimnames(pc$rate) <- dimnames(pb$B)
        pb$B <- pc$rate
        counts <- list(raw = raw, sf = sf, pool = pc$counts, pool.size = pc$size)
    }
    pb$se <- .audit_pseudobulk_se(pb, kept, counts)
    # the cell level: at most max.cells cells, drawn at random (every cell
    # is in the pseudobulk)
    s$cells.total <- ncol(C)
    if (ncol(C) > max.cells) {
        keep <- sort(resample_cpp(ncol(C), as.integer(max.cells), 1L, FALSE, s$seed + 104729)[, 1L])
        C <- C[, keep, drop = FALSE]
        if (!is.null(counts)) {
            counts$raw <- counts$raw[, keep, drop = FALSE]
            counts$sf <- counts$sf[keep]
        }
        if (s$verbose) {
            message(sprintf("cell level: %s of the %s cells, drawn at random (`max.cells`)",
                format(max.cells, big.mark = ",", scientific = FALSE),
                format(s$cells.total, big.mark = ",", scientific = FALSE)))
        }
    }
    .audit_two_levels(C, pb, chosen$pairs, s, ci, BPPARAM, list(assay.type = assay.type, normalize = normalize,
        pseudobulk = pb$how, gene.names = gene.names, max.cells = max.cells), counts)
})

#' @rdname recoverabilityAudit
#' @export
setMethod("recoverabilityAudit", "SummarizedExperiment", function(x, sample = NULL, pool.size = NULL,
    pairs = NULL, genes = NULL, ngenes = 20, max.pairs = 400, min.detected = 0.1, assay.type = "counts",
    normalize = TRUE, log.base = NULL, gene.names = NULL, k = NULL, nboot = 100, level = 0.95, alpha = 0.05,
    nl.tolerance = 0.05, by = NULL, seed = 1, BPPARAM = SerialParam(), num.threads = 1, verbose = interactive(),
    ..., n.genes, group) {
    .check_extra_args("recoverabilityAudit", names(formals(sys.function())), ...)
    if (!missing(n.genes)) ngenes <- .renamed_arg("recoverabilityAudit", "n.genes", "ngenes", n.genes, !missing(ngenes))
    if (!missing(group)) by <- .renamed_arg("recoverabilityAudit", "group", "by", group, !missing(by))
    if (!is.null(sample) || !is.null(pool.size)) {
        stop(paste("`sample` and `pool.size` pool cells, but `x` is a SummarizedExperiment, audited as bulk",
            "data; for single cells make it a SingleCellExperiment (as(x, 'SingleCellExperiment'))"), call. = FALSE)
    }
    s <- .audit_settings(k, nboot, level, alpha, 0.1, 2000, seed, verbose, ngenes, max.pairs, min.detected,
        num.threads)
    if (.bp_start(BPPARAM)) on.exit(.bp_stop(BPPARAM), add = TRUE)
    nl.tolerance <- .check_number(nl.tolerance, "nl.tolerance", lower = 0)
    normalize <- .check_flag(normalize, "normalize")
    log.base <- .audit_log_base(log.base, normalize)
    assay.type <- .pick_assay(x, assay.type, !missing(assay.type))
    m <- .audit_assay(x, assay.type, gene.names)
    m <- .audit_linear(m, x, log.base, normalize, assay.type)
    sf <- .library_size_factors(m, normalize, "samples", assay.type)
    chosen <- .audit_pairs(m, sf, pairs, genes, s)
    B <- .audit_normalised(m, chosen$genes, sf)
    groups <- .audit_groups(by, x, B, s)
    if (is.null(groups)) {
        .audit_check_size(ncol(B), s$k, "bulk samples", "")
        if (s$verbose) message(sprintf("fitting %d pairs on %d samples", nrow(chosen$pairs), ncol(B)))
        fit <- fitPairwise(B, pairs = chosen$pairs, k = s$k, nboot = s$nboot, level = s$level, seed = s$seed,
            BPPARAM = BPPARAM, num.threads = s$num.threads, verbose = s$verbose)
        tab <- DataFrame(regulator = fit$regulator, target = fit$target, n = fit$n, r2.linear = fit$r2.linear,
            r2.spline = fit$r2.spline, nl = fit$nl, nl.lower = .col_or_na(fit, "nl.lower"),
            nl.upper = .col_or_na(fit, "nl.upper"), p.nonlinear = fit$p.nonlinear, p.relation = fit$p.relation,
            row.names = rownames(fit))
        status <- fit$status
    } else {
        if (s$verbose) {
            message(sprintf("fitting %d pairs within %d groups (%s samples)", nrow(chosen$pairs), length(groups),
                paste(lengths(groups), collapse = ", ")))
        }
        fits <- lapply(groups, function(j) fitPairwise(B[, j, drop = FALSE], pairs = chosen$pairs, k = s$k,
            nboot = s$nboot, level = s$level, seed = s$seed, BPPARAM = BPPARAM, num.threads = s$num.threads,
            verbose = s$verbose))
        tab <- .combine_group_fits(fits)
        fit <- fits
        status <- tab$status
        tab$status <- NULL
    }
    tab$padj.nonlinear <- p.adjust(tab$p.nonlinear, "BH")
    bad <- status != "ok" & status != "flat fit"
    nonlin <- !bad & !is.na(tab$padj.nonlinear) & tab$padj.nonlinear < s$alpha & !is.na(tab$nl) &
        tab$nl > nl.tolerance
    tab$verdict <- ifelse(nonlin, "inconsistent", "undetermined")
    # no relation detected (BH-adjusted p.relation, see ?fitPairwise)
    none <- !bad & !nonlin & !is.na(tab$p.relation) & p.adjust(tab$p.relation, "BH") >= s$alpha
    tab$reason.code <- ifelse(bad, "fit failed", ifelse(nonlin, "non-linear", ifelse(none, "no relation",
        "close to affine")))
    tab$reason <- .reason_sentences(tab$reason.code, list(
        `fit failed` = paste("fit failed:", status),
        `non-linear` = sprintf(if (is.null(groups)) {
            paste("bulk relation non-linear (nl %.2f > %.2f): the cells cannot be affine, or the samples mix",
                "groups that differ (see `by`)")
        } else "bulk relation non-linear within groups (nl %.2f > %.2f): the cells cannot be affine",
            tab$nl, nl.tolerance),
        `no relation` = "no relation: the target does not detectably depend on the regulator",
        `close to affine` = "bulk relation close to affine; the cell level is not seen"))
    bulk.se <- SummarizedExperiment(list(values = B), colData = colData(x))
    if (!is.null(groups)) bulk.se$group <- .group_of(groups, ncol(B))
    new("RecoverabilityAudit", table = tab, mode = "bulk", cells = NULL, bulk = bulk.se, cell.fit = NULL,
        bulk.fit = fit, ncells = integer(0), settings = c(s, list(nl.tolerance = nl.tolerance,
            assay.type = assay.type, normalize = normalize, log.base = log.base, gene.names = gene.names,
            group = if (!is.null(groups)) lengths(groups), group.of = if (!is.null(groups)) .group_of(groups, ncol(B)))))
})

# The samples of each group of the bulk-only audit (NULL without `by`):
# a colData column of x or one value per sample; groups too small for the
# fits are left out with a message.
.audit_groups <- function(group, x, B, s) {
    if (is.null(group)) return(NULL)
    group <- .coldata_values(group, x, "by", "samples")
    if (all(is.na(group))) stop("`by` has no value that is not NA", call. = FALSE)
    if (anyNA(group)) {
        message(sprintf("leaving out %d sample%s with an NA `by`", sum(is.na(group)),
            if (sum(is.na(group)) > 1L) "s" else ""))
    }
    groups <- split(seq_along(group), if (is.factor(group)) droplevels(group) else factor(group))
    need <- vapply(lengths(groups), function(n) .audit_need(s$k, n), numeric(1))
    small <- lengths(groups) < need
    if (all(small)) {
        stop(sprintf("no group of `by` has the %d samples the fits need (largest: %d)", min(need),
            max(lengths(groups))), call. = FALSE)
    }
    if (any(small)) {
        message(sprintf("leaving out group%s %s: fewer than %d samples", if (sum(small) > 1L) "s" else "",
            .fmt_value(names(groups)[small]), min(need[small])))
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
    get <- function(col) do.call(cbind, lapply(fits, function(f) .col_or_na(f, col)))
    n <- get("n")
    ok <- do.call(cbind, lapply(fits, function(f) f$status %in% c("ok", "flat fit")))
    w <- ifelse(ok, n, 0)
    wmean <- function(v) {
        v[!ok] <- 0
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
    DataFrame(regulator = f1$regulator, target = f1$target, n = rowSums(n * ok), groups = rowSums(ok),
        r2.linear = wmean(get("r2.linear")), r2.spline = wmean(get("r2.spline")), nl = wmean(get("nl")),
        nl.lower = wmean(get("nl.lower")), nl.upper = wmean(get("nl.upper")),
        p.nonlinear = bonferroni("p.nonlinear"), p.relation = bonferroni("p.relation"), status = status,
        row.names = rownames(f1))
}

#' @rdname recoverabilityAudit
#' @export
setMethod("recoverabilityAudit", "ANY", function(x, ...) {
    if (is(x, "ExpressionSet")) return(recoverabilityAudit(.as_se(x), ...))
    hint <- if (is(x, "Seurat")) ": convert it with Seurat::as.SingleCellExperiment(x)" else
        if (is.matrix(x) || is(x, "Matrix")) ": wrap a genes x cells matrix as SingleCellExperiment(list(counts = x))" else ""
    stop(sprintf(paste("`x` must be a SingleCellExperiment (cells; full audit), a SummarizedExperiment or an",
        "ExpressionSet (bulk samples; bulk-only audit), not a %s%s"), class(x)[1L], hint), call. = FALSE)
})

.audit_settings <- function(k, nboot, level, alpha, tolerance, max.n, seed, verbose, ngenes, max.pairs,
    min.detected, num.threads = 1) {
    if (!is.null(k)) k <- .resolve_k(k, NA)
    level <- .check_prob(level, "level")
    if (level >= 1) stop(sprintf("`level` must be below 1, not %s", .fmt_value(level)), call. = FALSE)
    alpha <- .check_prob(alpha, "alpha")
    if (alpha >= 1) stop(sprintf("`alpha` must be below 1, not %s", .fmt_value(alpha)), call. = FALSE)
    min.detected <- .check_number(min.detected, "min.detected", lower = 0)
    if (min.detected > 1) stop(sprintf("`min.detected` must be a share in [0, 1], not %s",
        .fmt_value(min.detected)), call. = FALSE)
    list(k = k, nboot = .check_count(nboot, "nboot", min = 0, max = .resample_max), level = level, alpha = alpha,
        tolerance = .check_number(tolerance, "tolerance", lower = 0, lower.open = TRUE),
        max.n = .check_count(max.n, "max.n", min = 10, max = .int_max), seed = .check_count(seed, "seed", min = 0),
        verbose = .check_flag(verbose, "verbose"), ngenes = .check_count(ngenes, "ngenes", min = 2, max = .int_max),
        max.pairs = .check_count(max.pairs, "max.pairs", max = .int_max), min.detected = min.detected,
        num.threads = .check_threads(num.threads))
}

# The assay with its gene names.
#' @importFrom SummarizedExperiment rowData
.audit_assay <- function(x, assay.type, gene.names) {
    m <- .assay_of(x, assay.type)
    if (!is.null(gene.names)) {
        rd <- rowData(x)
        if (!is.character(gene.names) || length(gene.names) != 1L || !gene.names %in% colnames(rd)) {
            stop(sprintf("`gene.names` = %s is not a rowData column of `x`; its columns are %s",
                .fmt_value(gene.names), if (ncol(rd)) .fmt_value(colnames(rd)) else "none"), call. = FALSE)
        }
        nm <- as.character(rd[[gene.names]])
        miss <- is.na(nm) | nm == ""
        if (any(miss)) {
            nm[miss] <- if (is.null(rownames(x))) sprintf("row%d", which(miss)) else rownames(x)[miss]
            message(sprintf("%d genes without a value in rowData column '%s' keep their row names", sum(miss),
                gene.names))
        }
        if (anyDuplicated(nm)) {
            message(sprintf("%d duplicated names in rowData column '%s' made unique (suffix .1, .2, ...)",
                sum(duplicated(nm)), gene.names))
            nm <- make.unique(nm)
        }
        rownames(m) <- nm
    }
    if (is.null(rownames(m))) stop("`x` needs gene names: rownames or a `gene.names` rowData column", call. = FALSE)
    if (anyDuplicated(rownames(m))) {
        message(sprintf("%d duplicated row names (e.g. %s) made unique (suffix .1, .2, ...)",
            sum(duplicated(rownames(m))), .fmt_value(rownames(m)[duplicated(rownames(m))][1L])))
        rownames(m) <- make.unique(rownames(m))
    }
    m
}


.audit_log_base <- function(log.base, normalize) {
    if (is.null(log.base)) return(NULL)
    log.base <- .check_number(log.base, "log.base", lower = 1, lower.open = TRUE)
    if (normalize) stop("give `log.base` with `normalize = FALSE`: logged values are not counts", call. = FALSE)
    log.base
}

# The assay m on the linear scale: log.base^m when the values are logged.
# Values used as they are (normalize = FALSE, no log.base) that look logged
# (negative values, or non-integers no larger than 30) get a warning, since
# aggregation is linear on the linear scale only; simulated data (x carries
# its GRNModel) are linear by construction.
.audit_linear <- function(m, x, log.base, normalize, assay.type) {
    if (!is.null(log.base)) return(log.base^m)
    if (normalize || is(metadata(x)$model, "GRNModel")) return(m)
    lo <- Inf
    hi <- -Inf
    frac <- FALSE
    for (bl in .blocks(m)) {
        b <- as.matrix(.block(m, bl$rows, bl$cols))
        b <- b[is.finite(b)]
        if (!length(b)) next
        lo <- min(lo, b)
        hi <- max(hi, b)
        frac <- frac || any(b != round(b))
    }
    why <- if (lo < 0) sprintf("it has negative values (down to %s)", format(signif(lo, 3))) else
        if (frac && hi <= 30) sprintf("its values are non-integers no larger than %s", format(signif(hi, 3)))
    if (!is.null(why)) {
        warning(sprintf(paste("assay '%s' looks logged or centred: %s. Aggregation is linear on the linear",
            "scale only, and the audit's answer changes with the scale: give `log.base` (e.g. 2) to undo a log,",
            "or ignore this warning if the values are linear"), assay.type, why), call. = FALSE)
    }
    m
}

# The chosen genes (rows of m) and pairs (a data.frame of names).
.audit_pairs <- function(m, sf, pairs, genes, s) {
    rn <- rownames(m)
    if (!is.null(pairs) || !is.null(genes)) {
        pr <- .resolve_pairs(pairs, genes, rn, colnames(m))
        pairs <- data.frame(regulator = rn[pr$regulator], target = rn[pr$target], stringsAsFactors = FALSE)
        self <- pairs$regulator == pairs$target
        if (any(self)) stop(sprintf("`pairs` pairs gene %s with itself", .fmt_value(pairs$regulator[self][1L])),
            call. = FALSE)
    } else {
        top <- .variable_genes(m, sf, s$ngenes, s$min.detected)
        g <- expand.grid(target = top, regulator = top, stringsAsFactors = FALSE)
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
    zero <- function() list(n = numeric(nrow(m)), mean = numeric(nrow(m)), m2 = numeric(nrow(m)))
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
        b <- as.matrix(.block(m, bl$rows, bl$cols)) * rep(1 / sf[bl$cols], each = length(bl$rows))
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
    if (length(ok) < n) message(sprintf("only %d genes pass `min.detected`; auditing their pairs", length(ok)))
    ok <- ok[order(-v[ok], ok)]
    rownames(m)[head(ok, n)]
}

# Dense genes x columns matrix of the chosen genes, divided by size factors.
.audit_normalised <- function(m, genes, sf) {
    b <- .read_rows(m, match(genes, rownames(m)))
    storage.mode(b) <- "double"
    if (anyNA(b) || any(!is.finite(b))) stop("the assay has missing or infinite values in the audited genes",
        call. = FALSE)
    b <- b * rep(1 / sf, each = nrow(b))
    if (is.null(colnames(b))) colnames(b) <- sprintf("col%d", seq_len(ncol(b)))
    b
}

# Sample labels: a colData column or one value per cell; NULL when pooling.
# The cells' types (`by`: a colData column or one value per cell) as
# character, or NULL.
.audit_by <- function(x, by) {
    if (is.null(by)) return(NULL)
    by <- as.character(.coldata_values(by, x, "by"))
    if (anyNA(by)) message(sprintf("leaving out %d cells with no cell type (`by`)", sum(is.na(by))))
    if (all(is.na(by))) stop("`by` gives no cell type for any cell", call. = FALSE)
    by
}

.audit_labels <- function(x, sample, pool.size) {
    if (!is.null(sample) && !is.null(pool.size)) {
        stop("give `sample` (pseudobulk by sample) or `pool.size` (random pools), not both", call. = FALSE)
    }
    if (is.null(sample)) {
        if (is.null(pool.size)) {
            stop(paste("give `sample` (a colData column naming each cell's sample) or `pool.size` (cells per",
                "random pool) to build pseudobulk"), call. = FALSE)
        }
        return(NULL)
    }
    lab <- as.character(.coldata_values(sample, x, "sample"))
    if (anyNA(lab)) message(sprintf("leaving out %d cells with no sample label", sum(is.na(lab))))
    nlev <- length(unique(lab[!is.na(lab)]))
    if (nlev < 2L) {
        stop(sprintf("`sample` has %d level%s: pseudobulk needs several samples (or use `pool.size`)", nlev,
            if (nlev == 1L) "" else "s"), call. = FALSE)
    }
    lab
}

# Observations the fits and their bootstrap need with basis dimension k
# (NULL: the rule for n).
.audit_need <- function(k, n) max(20, 2 * .resolve_k(k, n))

.audit_check_size <- function(n, k, what, hint) {
    need <- .audit_need(k, n)
    k <- .resolve_k(k, n)
    if (n < need) {
        stop(sprintf("the audit has %d %s; fitting splines with k = %d and their bootstrap needs at least %d%s",
            n, what, k, need, hint), call. = FALSE)
    }
}

# Pseudobulk: means of the normalised cells per sample or per random pool
# (within the cell types `by`, when given).
.audit_pseudobulk <- function(C, labels, pool.size, npools, replace, s, by = NULL) {
    ncell <- ncol(C)
    if (is.null(labels)) {
        pool.size <- .check_count(pool.size, "pool.size", max = .int_max)
        replace <- .check_flag(replace, "replace")
        if (pool.size > ncell) {
            stop(sprintf("`pool.size` = %d is larger than the %d cells of `x`", pool.size, ncell), call. = FALSE)
        }
        ntypes <- if (is.null(by)) 1L else length(unique(by))
        # (within types: as many disjoint pools as the smallest type holds)
        if (is.null(npools)) npools <- floor((if (is.null(by)) ncell else min(table(by))) / pool.size)
        npools <- .check_count(npools, "npools", max = .int_max)
        .audit_check_size(npools * ntypes, s$k, "pools",
            sprintf(": lower `pool.size`, or raise `npools` with `replace = TRUE` (%d cells)", ncell))
        if (is.null(by) && !replace && npools * pool.size > ncell) {
            stop(sprintf("%d disjoint pools of %d cells need %d cells, but `x` has %d: set `replace = TRUE`",
                npools, pool.size, npools * pool.size, ncell), call. = FALSE)
        }
        pools <- poolCells(C, pool.size = pool.size, npools = npools, by = by, replace = replace, aggregation = "mean",
            seed = s$seed, verbose = FALSE)
        groups <- as.list(pools$cells)
        how <- sprintf("%d random pools of %d cells (%s)%s", npools * ntypes, pool.size,
            if (replace) "drawn with overlap" else "disjoint",
            if (is.null(by)) "" else sprintf(", %d in each of %d cell types", npools, ntypes))
        B <- SummarizedExperiment::assay(pools)
        info <- colData(pools)[, intersect(c("pool", "by"), colnames(colData(pools))), drop = FALSE]
        if (!is.null(info$by)) colnames(info)[colnames(info) == "by"] <- "type"
    } else {
        keep <- which(!is.na(labels))
        f <- factor(labels[keep])
        .audit_check_size(nlevels(f), s$k, "samples", "; use `pool.size` for random pools")
        groups <- split(keep, f)
        agg <- aggregateCells(C[, keep, drop = FALSE], labels[keep], aggregation = "mean")
        B <- SummarizedExperiment::assay(agg)[, names(groups), drop = FALSE]
        info <- DataFrame(sample = names(groups), row.names = names(groups))
        how <- sprintf("%d samples (means of their cells)%s", length(groups),
            if (identical(s$by, "sample x type")) ", one per sample and cell type" else "")
    }
    B <- as.matrix(B)
    rownames(B) <- rownames(C)
    list(B = B, groups = groups, ncells = lengths(groups), how = how, info = info)
}

# The pseudobulk of an audit as a SummarizedExperiment: assay `values` (the
# normalised values the pseudobulk level is fitted on: rates for counts),
# `counts` (the pooled counts) for counts; colData: the sample label or
# pool (and cell type), `ncells`, `cells` (the columns of `x` pooled:
# `kept` maps the audit's cells to them) and, for counts, `size.factor`
# (the pooled size factors).
.audit_pseudobulk_se <- function(pb, kept, counts = NULL) {
    cd <- pb$info
    rownames(cd) <- colnames(pb$B)
    cd$ncells <- unname(pb$ncells)
    cd$cells <- IntegerList(lapply(unname(pb$groups), function(g) kept[g]))
    assays <- list(values = pb$B)
    if (!is.null(counts)) {
        assays$counts <- counts$pool
        dimnames(assays$counts) <- dimnames(pb$B)
        cd$size.factor <- unname(counts$pool.size)
    }
    SummarizedExperiment(assays, colData = cd)
}

#' @importFrom stats p.adjust
.audit_two_levels <- function(C, pb, pairs, s, ci, BPPARAM, extra, counts = NULL) {
    B <- pb$B
    if (s$verbose) message(sprintf("fitting %d pairs at the cell level (%d cells%s)", nrow(pairs), ncol(C),
        if (is.null(counts)) "" else ", on the rate scale"))
    cell.fit <- if (is.null(counts)) {
        fitPairwise(C, pairs = pairs, k = s$k, nboot = s$nboot, level = s$level, seed = s$seed,
            BPPARAM = BPPARAM, num.threads = s$num.threads, verbose = s$verbose)
    } else {
        fitPairwise(counts$raw, pairs = pairs, counts = TRUE, size.factors = counts$sf, dispersion = s$dispersion,
            k = s$k, nboot = s$nboot, level = s$level, seed = s$seed, BPPARAM = BPPARAM, num.threads = s$num.threads,
            verbose = s$verbose)
    }
    if (s$verbose) message(sprintf("fitting %d pairs at the pseudobulk level (%d samples)", nrow(pairs), ncol(B)))
    bulk.counts <- NULL
    bulk.fit <- if (is.null(counts)) {
        fitPairwise(B, pairs = pairs, k = s$k, nboot = s$nboot, level = s$level, seed = s$seed,
            BPPARAM = BPPARAM, num.threads = s$num.threads, verbose = s$verbose)
    } else {
        # A pool's counts are close to negative binomial with the cells'
        # dispersion over the number of cells pooled.
        bulk.counts <- list(counts = counts$pool, size = counts$pool.size,
            dispersion = s$dispersion / mean(pb$ncells))
        fitPairwise(bulk.counts$counts, pairs = pairs, counts = TRUE, size.factors = bulk.counts$size,
            dispersion = bulk.counts$dispersion, k = s$k, nboot = s$nboot, level = s$level, seed = s$seed,
            BPPARAM = BPPARAM, num.threads = s$num.threads, verbose = s$verbose)
    }
    cell.boot <- NULL
    ff.cell <- cell.fit
    # the FF cell curves' settings: the cell level's basis dimension
    sc <- s
    sc$k <- .ff_cell_k(s$k, ncol(C), !is.null(counts))
    if (!is.null(counts)) {
        # FF compares the undersmoothed count-aware cell curve (see
        # .ff_undersmooth), fitted with the rate distributions of cell.fit
        ff.cell <- .count_cell_curves(counts$raw, counts$sf, pairs, sc, .prior_matrix(cell.fit,
            rownames(counts$raw), refine = 0L))
    }
    if (s$nboot > 0) {
        # The cell curve has a variance of its own (sizeable on counts, where
        # the rates' distribution is estimated, then deconvolved): resample
        # the cells too, and pair cell resample b with bulk resample b.
        if (s$verbose) message("resampling the cells")
        cell.boot <- if (is.null(counts)) .cell_boot_fits(C, pairs, sc, BPPARAM = BPPARAM) else
            .cell_boot_fits(counts$raw, pairs, sc, list(sf = counts$sf, fit = cell.fit), BPPARAM)
    }
    if (s$verbose) message("functional-form consistency")
    ff <- .audit_ff(B, pb, pairs, ff.cell, bulk.fit, s, BPPARAM, bulk.counts, cell.boot)
    cip <- if (ci) {
        if (s$verbose) message("CI tests of the pairs at both levels")
        .audit_ci(C, B, pairs, s, BPPARAM)
    } else list(cells = rep(NA_real_, nrow(pairs)), bulk = rep(NA_real_, nrow(pairs)))
    tab <- DataFrame(regulator = pairs$regulator, target = pairs$target, n.cells = cell.fit$n, n.bulk = bulk.fit$n,
        nl.cells = cell.fit$nl, nl.cells.lower = .col_or_na(cell.fit, "nl.lower"),
        nl.cells.upper = .col_or_na(cell.fit, "nl.upper"), padj.nl.cells = p.adjust(cell.fit$p.nonlinear, "BH"),
        nl.bulk = bulk.fit$nl, nl.bulk.lower = .col_or_na(bulk.fit, "nl.lower"),
        nl.bulk.upper = .col_or_na(bulk.fit, "nl.upper"), padj.nl.bulk = p.adjust(bulk.fit$p.nonlinear, "BH"),
        ff.distance = ff$ff.distance, ff.lower = ff$ff.lower, ff.upper = ff$ff.upper, p.curve = ff$p.curve,
        padj.curve = p.adjust(ff$p.curve, "BH"), p.resid = ff$p.resid, p.ci.cells = cip$cells,
        p.ci.bulk = cip$bulk, padj.ci.cells = p.adjust(cip$cells, "BH"), padj.ci.bulk = p.adjust(cip$bulk, "BH"),
        row.names = paste0(pairs$regulator, "->", pairs$target))
    tab$ci.agree <- (tab$padj.ci.cells < s$alpha) == (tab$padj.ci.bulk < s$alpha)
    # the count-aware fits report each gene's reliability at their level
    tab$reliability.regulator.cells <- .col_or_na(cell.fit, "reliability.regulator")
    tab$reliability.target.cells <- .col_or_na(cell.fit, "reliability.target")
    tab$reliability.regulator.bulk <- .col_or_na(bulk.fit, "reliability.regulator")
    tab$reliability.target.bulk <- .col_or_na(bulk.fit, "reliability.target")
    status <- ifelse(cell.fit$status != "ok", paste("cell-level fit failed:", cell.fit$status),
        ifelse(bulk.fit$status != "ok", paste("pseudobulk fit failed:", bulk.fit$status), NA_character_))
    v <- .audit_verdict(tab, status, s)
    tab$verdict <- v$verdict
    tab$reason.code <- v$code
    tab$reason <- v$reason
    new("RecoverabilityAudit", table = tab, mode = "cells", cells = C, bulk = pb$se, cell.fit = cell.fit,
        bulk.fit = bulk.fit, ncells = as.integer(pb$ncells), settings = c(s, extra))
}

# Regulator reliability either verdict of the curves ("consistent", or
# "inconsistent" because the bulk curve departs) needs on counts
# (documented in ?recoverabilityAudit; bench/bench_audit_counts.R measures
# it).
.ff_reliability <- 0.6

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
    new.raw <- !is.na(tab$padj.ci.cells) & tab$padj.ci.cells >= a & lt(tab$padj.ci.bulk)
    lost.dep <- lt(tab$padj.ci.cells) & !is.na(tab$padj.ci.bulk) & tab$padj.ci.bulk >= a
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
    none <- !is.na(tab$padj.ci.cells) & !is.na(tab$padj.ci.bulk) & tab$padj.ci.cells >= a & tab$padj.ci.bulk >= a
    verdict <- ifelse(failed | noisy, "undetermined", ifelse(departs | new.dep, "inconsistent",
        ifelse(within & agree & !shrunk & !none, "consistent", "undetermined")))
    # the reason as a code (for table()) and as a sentence with the numbers
    unconfirmed <- (within & agree | apart | new.raw) & shrunk
    code <- ifelse(failed, "fit failed", ifelse(noisy, "count noise", ifelse(departs, "departs",
        ifelse(new.dep, "new dependence", ifelse(none, "no relation", ifelse(unconfirmed, "unreliable",
        ifelse(within & agree, "agree", ifelse(lost.dep, "lost dependence", ifelse(is.na(tab$ff.upper), "no interval",
        "interval wide")))))))))
    # the sentence of each code, with its numbers
    fmt <- function(d) formatC(d, digits = 2, format = "f")
    sentence <- list(
        `fit failed` = status,
        `count noise` = sprintf("count noise too large: the regulator's cell-level reliability is %s < %s",
            fmt(rel), fmt(min.rel)),
        departs = ifelse(is.na(lower), sprintf("bulk curve departs from the cell curve (distance %s > %s)",
            fmt(tab$ff.distance), fmt(tol)), sprintf(paste("bulk curve departs from the cell curve (distance %s,",
            "interval from %s > %s)"), fmt(tab$ff.distance), fmt(lower), fmt(tol))),
        `new dependence` = "independent in cells, dependent in pseudobulk",
        `no relation` = "no relation: no dependence detected in cells or in pseudobulk",
        unreliable = ifelse(new.raw & !apart, sprintf(paste("independent in cells, dependent in pseudobulk, but the",
            "regulator's cell-level reliability %s < %s is too low to confirm it (count noise hides dependence",
            "among cells)"), fmt(rel), fmt(.ff_reliability)), ifelse(apart, sprintf(paste("bulk curve departs from the cell curve (distance %s), but the",
            "regulator's cell-level reliability %s < %s is too low to confirm it (the deconvolved cell curve rests",
            "on the estimated rate distribution)"), fmt(tab$ff.distance), fmt(rel), fmt(.ff_reliability)),
            sprintf(paste("curves agree within %s, but the regulator's cell-level reliability %s < %s is",
            "too low to confirm it (the deconvolved cell curve is shrunk toward a line)"), fmt(tol), fmt(rel),
            fmt(.ff_reliability)))),
        agree = sprintf("curves agree within %s (interval up to %s)", fmt(tol), fmt(tab$ff.upper)),
        `lost dependence` = "dependence in cells not detected in pseudobulk",
        `no interval` = "no interval for the distance (nboot = 0)",
        `interval wide` = ifelse(!is.na(lower) & lower > tol,
            sprintf("interval of the distance (%s to %s) beyond %s, but the departure is not significant (padj.curve %s)",
                fmt(lower), fmt(tab$ff.upper), fmt(tol), formatC(tab$padj.curve, digits = 2, format = "g")),
            ifelse(is.na(lower), sprintf("interval of the distance reaches %s > %s", fmt(tab$ff.upper), fmt(tol)),
                sprintf("interval of the distance (%s to %s) holds the tolerance %s", fmt(lower), fmt(tab$ff.upper),
                    fmt(tol)))))
    list(verdict = verdict, reason = .reason_sentences(code, sentence), code = code)
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

.col_or_na <- function(df, name) if (name %in% colnames(df)) df[[name]] else rep(NA_real_, nrow(df))

# The rate distributions of a count-aware fit as the `rate.prior` of
# .fit_pairwise() for the rows `genes` of its data, refitted on their grids
# when `refine` > 0.
.prior_matrix <- function(fit, genes, refine) {
    rp <- metadata(fit)$rate.prior
    G <- nrow(rp$grid)
    prior <- list(grid = matrix(0, G, length(genes)), weight = matrix(0, G, length(genes)), refine = refine)
    j <- match(colnames(rp$grid), genes)
    prior$grid[, j] <- rp$grid
    prior$weight[, j] <- rp$weight
    prior
}

# FF of all pairs with both fits (the cell-level spline as f) by .ff_pairs(),
# the pairs split over BiocParallel workers.
.audit_ff <- function(B, pb, pairs, cell.fit, bulk.fit, s, BPPARAM, bulk.counts = NULL, cell.boot = NULL) {
    out <- data.frame(n = rep(ncol(B), nrow(pairs)), ff.distance = NA_real_, ff.lower = NA_real_,
        ff.upper = NA_real_, p.curve = NA_real_, p.resid = NA_real_)
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
    chunks <- .work_units(seq_along(todo), .n_units(length(todo), BPPARAM, s$verbose))
    kb <- .resolve_k(s$k, ncol(B))
    # each task carries its pairs' values and curves only (not the fits)
    tasks <- lapply(chunks, function(ch) {
        rows <- todo[ch]
        list(X = X[, ch, drop = FALSE], Y = Y[, ch, drop = FALSE], H = H[, ch, drop = FALSE],
            bulk = .curve_subset(bulk.fit, rows), seeds = s$seed + rows,
            counts = if (!is.null(bulk.counts)) {
                .ff_count_inputs(bulk.counts, bulk.fit, pairs$regulator[rows], pairs$target[rows])
            },
            cell.boot = if (!is.null(cell.boot)) {
                list(fits = lapply(cell.boot, .curve_subset, rows = rows), rows = seq_along(rows))
            })
    })
    opts <- list(k = kb, nboot = s$nboot, level = s$level, max.n = s$max.n, k.curve = .curve_test_k(s$k, kb))
    res <- .run_units(tasks, .ff_task, opts = opts, BPPARAM = BPPARAM, sizes = lengths(chunks), what = "pairs",
        progress = s$verbose, label = "FF")
    for (i in seq_along(chunks)) out[todo[chunks[[i]]], ] <- res[[i]]
    out
}

# FF of one task of .audit_ff() (a package function, so that a worker
# receives the task and nothing else).
.ff_task <- function(task, opts) {
    .ff_pairs(task$X, task$Y, task$H, task$bulk, seq_len(ncol(task$X)), opts$k, opts$nboot, opts$level,
        c(0.05, 0.95), task$seeds, opts$max.n, task$counts, task$cell.boot, k.curve = opts$k.curve)
}

# Marginal spline CI test of each pair at both levels (one test per
# unordered pair, shared by X -> Y and Y -> X), the tests split over the
# workers of BPPARAM.
.audit_ci <- function(C, B, pairs, s, BPPARAM) {
    key <- ifelse(pairs$regulator < pairs$target, paste(pairs$regulator, pairs$target, sep = "\r"),
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
        ss <- ciSuffStat(M[keep, , drop = FALSE], test = "spline", max.n = s$max.n, seed = s$seed)
        vars <- genes[keep]
        xi <- match(a[ok], vars)
        yi <- match(b[ok], vars)
        units <- .work_units(seq_along(ok), .n_units(length(ok), BPPARAM, s$verbose))
        # each unit: the columns of its genes, with their ids in the whole
        # data (each test's draws depend on them, not on the unit)
        tasks <- lapply(units, function(j) {
            cols <- sort(unique(c(xi[j], yi[j])))
            list(data = ss$data[, cols, drop = FALSE], x = match(xi[j], cols) - 1L, y = match(yi[j], cols) - 1L,
                id = cols - 1L)
        })
        res <- .run_units(tasks, .ci_unit, opts = c(ss[c("k", "max.n", "nperm", "seed")], num.threads = s$num.threads),
            BPPARAM = BPPARAM, sizes = lengths(units), what = "tests", progress = s$verbose, label = label)
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
    .call_core(spline_tests_cpp(task$data, task$x, task$y, rep(list(integer(0)), length(task$x)), opts$k,
        opts$max.n, opts$nperm, opts$seed, .threads_of(opts), FALSE, task$id))$p.value
}
