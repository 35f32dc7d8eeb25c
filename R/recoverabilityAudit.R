#' Audit the recoverability of gene-gene relations in your own data
#'
#' Asks, pair by pair, whether a relation X -> Y seen in bulk (or pseudobulk)
#' data is the cell-level relation seen through a linear aggregation, which
#' is when causal conclusions drawn from the bulk data can be trusted:
#' causal relations survive aggregation when the aggregation is linear and
#' the relations are affine.
#'
#' @section Single-cell data (`SingleCellExperiment` or a matrix):
#' \enumerate{
#'   \item Each cell is normalised on the scale on which aggregation is
#'     linear: its counts divided by its size factor, without a log.  The
#'     size factors are `size.factors` when given, else `sizeFactors(x)`
#'     when the object has them (e.g. from scran), otherwise library sizes;
#'     either way divided by their mean (`settings$size.factors` says which).
#'     With `normalize = FALSE` the assay is taken as already on such a scale
#'     (TPM, FPKM, normalised counts).
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
#' regulator's cell-level reliability to be at least 0.6: below it the
#' deconvolved curve rests on the estimated shape of the rate distribution more
#' than on the data, a bias the resamples share and the interval cannot show.
#' In the package's simulations it hid departures of saturating curves (sigmoid,
#' Hill) of twice the tolerance, and bent truly affine rate relations into
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
#' such stretches dotted).  `consistent` needs `nboot > 0`; with `ci = FALSE`
#' the CI conditions are left out of the rule.  The residual part of FF
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
#' @param x A `SingleCellExperiment` (cells in columns) or a genes x
#'   cells matrix for the full audit (the `SingleCellExperiment` method
#'   unpacks its assay, `colData` columns and size factors and calls the
#'   matrix method), or a `SummarizedExperiment` or `ExpressionSet`
#'   (converted by SummarizedExperiment's coercion) of bulk samples for the
#'   bulk-only audit.  A Seurat object converts with
#'   `Seurat::as.SingleCellExperiment()`.
#'   The assay may be a dense matrix, a `dgCMatrix` or a `DelayedArray`
#'   (e.g. HDF5-backed): only the chosen genes are brought into memory.
#' @param sample The cells' sample labels: the name of a `colData` column or
#'   a vector with one value per cell (for a matrix: the vector).
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
#' @param size.factors With counts: the cells' size factors (any scale;
#'   divided by their mean); `NULL` (default): `sizeFactors(x)` of a
#'   `SingleCellExperiment` that has them, otherwise library sizes.
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
#' audit <- recoverabilityAudit(pbmc283, pool.size = 10, npools = 60,
#'                              replace = TRUE, ngenes = 6, nboot = 30)
#' audit
#' head(auditTable(audit)[, c("regulator", "target", "ff.distance", "verdict")])
#' @name recoverabilityAudit
#' @export
setGeneric("recoverabilityAudit",
    function(x, ...) standardGeneric("recoverabilityAudit"))

#' @rdname recoverabilityAudit
#' @export
#' @importFrom BiocParallel SerialParam
setMethod("recoverabilityAudit", "ANY", function(x, sample = NULL,
    pool.size = NULL, pairs = NULL, genes = NULL, npools = NULL,
    replace = FALSE, by = NULL, ngenes = 20, max.pairs = 400,
    min.detected = 0.1, normalize = TRUE, log.base = NULL, dispersion = 0,
    min.reliability = 0.4, k = NULL, nboot = 100, level = 0.95, alpha = 0.05,
    tolerance = 0.1, ci = TRUE, max.n = 2000, max.cells = 50000, seed = 1,
    BPPARAM = SerialParam(), num.threads = 1, verbose = interactive(), ...,
    size.factors = NULL, n.genes) {
    if (is(x, "Seurat") || length(dim(x)) != 2L || is.data.frame(x) ||
        is.character(x)) {
        hint <- if (is(x, "Seurat"))
            ": convert it with Seurat::as.SingleCellExperiment(x)" else ""
        stop(sprintf(paste("`x` must be a genes x cells matrix (dense, sparse or DelayedArray) or a",
            "SingleCellExperiment (cells; full audit), a SummarizedExperiment or an ExpressionSet (bulk samples;",
            "bulk-only audit), not a %s%s"), class(x)[1L], hint), call. = FALSE)
    }
    .check_extra_args("recoverabilityAudit",
        names(formals(sys.function())), ...)
    .renamed_args("recoverabilityAudit", c(n.genes = "ngenes"))
    .audit_cells(x, sample, pool.size, pairs, genes, npools, replace, by,
        ngenes, max.pairs, min.detected, normalize, log.base, dispersion,
        min.reliability, k, nboot, level, alpha, tolerance, ci, max.n,
        max.cells, seed, BPPARAM, num.threads, verbose,
        size.factors = size.factors)
})

#' @rdname recoverabilityAudit
#' @export
#' @importClassesFrom SingleCellExperiment SingleCellExperiment
#' @importFrom BiocGenerics sizeFactors
setMethod("recoverabilityAudit", "SingleCellExperiment", function(x,
    sample = NULL, pool.size = NULL, pairs = NULL, genes = NULL, npools = NULL,
    replace = FALSE, by = NULL, ..., assay.type = "counts", gene.names = NULL) {
    .check_extra_args("recoverabilityAudit",
        c(.user_args(.audit_cells, .internal_audit_args), "n.genes",
            "assay.type", "gene.names"), ...)
    assay.type <- .pick_assay(x, assay.type, !missing(assay.type))
    if (!is.null(sample)) sample <- .coldata_values(sample, x, "sample")
    if (!is.null(by)) by <- .coldata_values(by, x, "by")
    .audit_cells(.audit_assay(x, assay.type, gene.names), sample, pool.size,
        pairs, genes, npools, replace, by, ..., default.sf = sizeFactors(x),
        assay.type = assay.type, gene.names = gene.names,
        simulated = is(metadata(x)$model, "GRNModel"))
})

#' @rdname recoverabilityAudit
#' @export
#' @importClassesFrom Biobase ExpressionSet
setMethod("recoverabilityAudit", "ExpressionSet", function(x, ...) {
    recoverabilityAudit(as(x, "SummarizedExperiment"), ...)
})

# (arguments of .audit_cells() that users do not give)
.internal_audit_args <- c("default.sf", "assay.type", "gene.names", "simulated")

# The audit of cells: x a genes x cells matrix (any type) whose columns
# `sample` or `by` (one value per cell) annotate; `default.sf`: size factors
# the container carries (used when `size.factors` is NULL); `simulated`: the
# data carry their model (values linear by construction).
.audit_cells <- function(x, sample = NULL, pool.size = NULL, pairs = NULL,
    genes = NULL, npools = NULL, replace = FALSE, by = NULL, ngenes = 20,
    max.pairs = 400, min.detected = 0.1, normalize = TRUE, log.base = NULL,
    dispersion = 0, min.reliability = 0.4, k = NULL, nboot = 100, level = 0.95,
    alpha = 0.05, tolerance = 0.1, ci = TRUE, max.n = 2000, max.cells = 50000,
    seed = 1, BPPARAM = SerialParam(), num.threads = 1, verbose = interactive(),
    size.factors = NULL, n.genes, default.sf = NULL, assay.type = "values",
    gene.names = NULL, simulated = FALSE) {
    .renamed_args("recoverabilityAudit", c(n.genes = "ngenes"))
    s <- .audit_settings(k, nboot, level, alpha, tolerance, max.n, seed,
        verbose, ngenes, max.pairs, min.detected, num.threads)
    s <- .audit_cell_settings(s, max.cells, normalize, dispersion,
        min.reliability)
    ci <- .check_flag(ci, "ci")
    if (.bp_start(BPPARAM)) on.exit(.bp_stop(BPPARAM), add = TRUE)
    log.base <- .audit_log_base(log.base, s$counts)
    m <- .audit_gene_names(x)
    m <- .audit_linear(m, simulated, log.base, s$counts, assay.type)
    st <- .audit_strata(.audit_labels(m, sample, pool.size), .audit_by(m, by))
    labels <- st$labels
    by <- st$by
    s$by <- st$how
    if (s$verbose) message(sprintf("%d genes x %d cells", nrow(m), ncol(m)))
    sfs <- .audit_size_factors(m, s$counts, size.factors, default.sf,
        assay.type)
    sf <- sfs$sf
    s$size.factors <- sfs$from
    if (s$verbose && s$counts) message(sprintf("size factors: %s",
        s$size.factors))
    chosen <- .audit_pairs(m, sf, pairs, genes, s)
    raw <- .audit_normalised(m, chosen$genes, rep(1, ncol(m)))
    out <- if (!is.null(labels)) is.na(labels) else
        if (!is.null(by)) is.na(by) else FALSE
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
    if (s$verbose) message(sprintf("pseudobulk: %d samples of %s cells",
        ncol(pb$B), paste(unique(range(pb$ncells)), collapse = "-")))
    counts <- NULL
    if (s$counts) {
        # Counts pool into counts: the pseudobulk's rates are its summed
        # counts over its summed size factors.
        pc <- .pool_counts(raw, sf, pb$groups)
        dimnames(pc$rate) <- dimnames(pb$B)
        pb$B <- pc$rate
        counts <- list(raw = raw, sf = sf, pool = pc$counts,
            pool.size = pc$size)
    }
    pb$se <- .audit_pseudobulk_se(pb, kept, counts)
    s$cells.total <- ncol(C)
    cl <- .audit_cell_subset(C, counts, s)
    .audit_two_levels(cl$C, pb, chosen$pairs, s, ci, BPPARAM,
        list(assay.type = assay.type, normalize = s$counts, pseudobulk = pb$how,
            gene.names = gene.names), cl$counts)
}

#' @rdname recoverabilityAudit
#' @export
setMethod("recoverabilityAudit", "SummarizedExperiment", function(x,
    sample = NULL, pool.size = NULL, pairs = NULL, genes = NULL, ngenes = 20,
    max.pairs = 400, min.detected = 0.1, assay.type = "counts",
    normalize = TRUE, log.base = NULL, gene.names = NULL, k = NULL, nboot = 100,
    level = 0.95, alpha = 0.05, nl.tolerance = 0.05, by = NULL, seed = 1,
    BPPARAM = SerialParam(), num.threads = 1, verbose = interactive(), ...,
    n.genes, group) {
    .check_extra_args("recoverabilityAudit",
        names(formals(sys.function())), ...)
    .renamed_args("recoverabilityAudit", c(n.genes = "ngenes", group = "by"))
    if (!is.null(sample) || !is.null(pool.size)) {
        stop(paste("`sample` and `pool.size` pool cells, but `x` is a SummarizedExperiment, audited as bulk",
            "data; for single cells make it a SingleCellExperiment (as(x, 'SingleCellExperiment'))"), call. = FALSE)
    }
    s <- .audit_settings(k, nboot, level, alpha, 0.1, 2000, seed, verbose,
        ngenes, max.pairs, min.detected, num.threads)
    if (.bp_start(BPPARAM)) on.exit(.bp_stop(BPPARAM), add = TRUE)
    nl.tolerance <- .check_number(nl.tolerance, "nl.tolerance", lower = 0)
    normalize <- .check_flag(normalize, "normalize")
    log.base <- .audit_log_base(log.base, normalize)
    assay.type <- .pick_assay(x, assay.type, !missing(assay.type))
    m <- .audit_assay(x, assay.type, gene.names)
    m <- .audit_linear(m, is(metadata(x)$model, "GRNModel"), log.base,
        normalize, assay.type)
    sf <- .library_size_factors(m, normalize, "samples", assay.type)
    chosen <- .audit_pairs(m, sf, pairs, genes, s)
    B <- .audit_normalised(m, chosen$genes, sf)
    groups <- .audit_groups(by, x, B, s)
    if (is.null(groups)) {
        .audit_check_size(ncol(B), s$k, "bulk samples", "")
        if (s$verbose) message(sprintf("fitting %d pairs on %d samples",
            nrow(chosen$pairs), ncol(B)))
        fit <- fitPairwise(B, pairs = chosen$pairs, k = s$k, nboot = s$nboot,
            level = s$level, seed = s$seed, BPPARAM = BPPARAM,
            num.threads = s$num.threads, verbose = s$verbose)
        tab <- DataFrame(regulator = fit$regulator, target = fit$target,
            n = fit$n, r2.linear = fit$r2.linear, r2.spline = fit$r2.spline,
            nl = fit$nl, nl.lower = .col_or_na(fit, "nl.lower"),
            nl.upper = .col_or_na(fit, "nl.upper"),
            p.nonlinear = fit$p.nonlinear, p.relation = fit$p.relation,
            row.names = rownames(fit))
        status <- fit$status
    } else {
        if (s$verbose) {
            message(sprintf("fitting %d pairs within %d groups (%s samples)",
                nrow(chosen$pairs), length(groups),
                paste(lengths(groups), collapse = ", ")))
        }
        fits <- lapply(groups, function(j) fitPairwise(B[, j, drop = FALSE],
            pairs = chosen$pairs, k = s$k, nboot = s$nboot, level = s$level,
            seed = s$seed, BPPARAM = BPPARAM, num.threads = s$num.threads,
            verbose = s$verbose))
        tab <- .combine_group_fits(fits)
        fit <- fits
        status <- tab$status
        tab$status <- NULL
    }
    tab <- .bulk_verdict(tab, status, !is.null(groups), nl.tolerance, s$alpha)
    bulk.se <- SummarizedExperiment(list(values = B), colData = colData(x))
    if (!is.null(groups)) bulk.se$group <- .group_of(groups, ncol(B))
    new("RecoverabilityAudit", table = tab, mode = "bulk", cells = NULL,
        bulk = bulk.se, cell.fit = NULL, bulk.fit = fit, ncells = integer(0),
        settings = c(s, list(nl.tolerance = nl.tolerance,
            assay.type = assay.type, normalize = normalize, log.base = log.base,
            gene.names = gene.names,
            group = if (!is.null(groups)) lengths(groups),
            group.of = if (!is.null(groups)) .group_of(groups, ncol(B)))))
})
