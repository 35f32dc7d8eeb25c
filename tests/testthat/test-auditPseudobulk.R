# The audit keeps its pseudobulk as a SummarizedExperiment: which cells,
# how many, the pooled counts and size factors, the values it fitted.

test_that("the pseudobulk of an audit by sample records its cells, counts, size factors and rates", {
    set.seed(11)
    ncell <- 400
    donor <- rep(sprintf("d%02d", 1:40), each = 10)
    lam <- rgamma(ncell, 4)
    counts <- rbind(A = rpois(ncell, lam), B = rpois(ncell, 0.5 * lam + 1), C = rpois(ncell, 3))
    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = counts))
    sce$donor <- donor
    sce$donor[c(3, 17)] <- NA    # two cells without a sample take part in neither level
    sf <- runif(ncell, 0.5, 1.5)
    BiocGenerics::sizeFactors(sce) <- sf
    expect_message(a <- recoverabilityAudit(sce, sample = "donor", genes = c("A", "B"), nboot = 0, ci = FALSE,
        verbose = FALSE), "leaving out 2 cells with no sample label")
    pb <- auditPseudobulk(a)
    expect_s4_class(pb, "SummarizedExperiment")
    expect_identical(colnames(pb), sprintf("d%02d", 1:40))
    expect_identical(pb$sample, colnames(pb))
    keep <- !is.na(sce$donor)
    expect_identical(as.list(pb$cells), unname(split(which(keep), sce$donor[keep])))
    expect_identical(pb$ncells, as.integer(table(sce$donor)))
    # naive references: pooled counts and size factors (scaled to mean 1 over the cells), rates
    sfs <- sf / mean(sf)
    ref.counts <- vapply(as.list(pb$cells), function(i) rowSums(counts[c("A", "B"), i, drop = FALSE]), numeric(2))
    expect_equal(unname(SummarizedExperiment::assay(pb, "counts")), unname(ref.counts))
    expect_equal(pb$size.factor, vapply(as.list(pb$cells), function(i) sum(sfs[i]), numeric(1)))
    expect_equal(SummarizedExperiment::assay(pb, "values"),
        SummarizedExperiment::assay(pb, "counts") / rep(pb$size.factor, each = 2))
    expect_identical(rownames(pb), c("A", "B"))
})

test_that("random pools within cell types are recorded with their type and the cells poolCells() draws", {
    set.seed(12)
    x <- matrix(rgamma(3 * 600, 5) * 10, 3, 600, dimnames = list(c("A", "B", "C"), NULL))
    sce <- SingleCellExperiment::SingleCellExperiment(list(values = x))
    sce$type <- rep(c("T", "B"), each = 300)
    a <- recoverabilityAudit(sce, pool.size = 10, npools = 25, by = "type", genes = c("A", "B"), assay.type = "values",
        normalize = FALSE, nboot = 0, ci = FALSE, verbose = FALSE)
    pb <- auditPseudobulk(a)
    expect_identical(ncol(pb), 50L)
    expect_identical(sort(unique(pb$type)), c("B", "T"))
    expect_true(all(pb$ncells == 10L))
    # every pool's cells are of its type, no cell twice (disjoint pools)
    cells <- as.list(pb$cells)
    expect_true(all(mapply(function(i, t) all(sce$type[i] == t), cells, pb$type)))
    expect_false(anyDuplicated(unlist(cells)) > 0)
    # the values are the means of the pooled cells
    expect_equal(unname(SummarizedExperiment::assay(pb, "values")),
        unname(vapply(cells, function(i) rowMeans(x[c("A", "B"), i]), numeric(2))))
    expect_identical(SummarizedExperiment::assayNames(pb), "values")
})

test_that("the bulk-only audit keeps the samples' colData and the groups of `by`", {
    set.seed(13)
    se <- SummarizedExperiment::SummarizedExperiment(list(exprs = matrix(rgamma(3 * 200, 5) * 10, 3, 200,
        dimnames = list(c("A", "B", "C"), paste0("s", 1:200)))))
    se$sex <- rep(c("f", "m"), 100)
    a <- recoverabilityAudit(se, genes = c("A", "B"), assay.type = "exprs", normalize = FALSE, nboot = 0,
        by = "sex", verbose = FALSE)
    pb <- auditPseudobulk(a)
    expect_identical(colnames(pb), colnames(se))
    expect_identical(pb$sex, se$sex)
    expect_identical(pb$group, se$sex)
    expect_equal(SummarizedExperiment::assay(pb, "values"), SummarizedExperiment::assay(se)[c("A", "B"), ])
    expect_error(auditPseudobulk(1), "`x` must be the result of recoverabilityAudit\\(\\)")
})

test_that("the matrix method does the audit; the SingleCellExperiment method unpacks into it", {
    set.seed(14)
    ncell <- 300
    lam <- rgamma(ncell, 4)
    counts <- rbind(A = rpois(ncell, lam), B = rpois(ncell, 0.5 * lam + 1), C = rpois(ncell, 2))
    donor <- rep(sprintf("d%02d", 1:30), each = 10)
    sf <- runif(ncell, 0.5, 1.5)
    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = counts))
    sce$donor <- donor
    BiocGenerics::sizeFactors(sce) <- sf
    a.sce <- recoverabilityAudit(sce, sample = "donor", genes = c("A", "B"), nboot = 10, verbose = FALSE)
    a.mat <- recoverabilityAudit(counts, sample = donor, genes = c("A", "B"), size.factors = sf, nboot = 10,
        verbose = FALSE)
    a.sparse <- recoverabilityAudit(as(counts, "dgCMatrix"), sample = donor, genes = c("A", "B"),
        size.factors = sf, nboot = 10, verbose = FALSE)
    expect_identical(auditTable(a.mat), auditTable(a.sce))
    expect_identical(auditTable(a.sparse), auditTable(a.sce))
    expect_identical(a.sce@settings$size.factors, "sizeFactors(x)")
    expect_identical(a.mat@settings$size.factors, "size.factors")
    # given size factors win over the object's
    a.given <- recoverabilityAudit(sce, sample = "donor", genes = c("A", "B"), size.factors = rep(1, ncell),
        nboot = 10, verbose = FALSE)
    expect_identical(a.given@settings$size.factors, "size.factors")
    expect_false(identical(auditTable(a.given)$nl.cells, auditTable(a.sce)$nl.cells))
    # a matrix takes vectors, not colData names
    expect_error(recoverabilityAudit(counts, sample = "donor", genes = c("A", "B")),
        "`sample` must give one value per cell: `sample` has 1 values but `x` has 300 cells")
    expect_error(recoverabilityAudit(list(1)), "`x` must be a genes x cells matrix")
    expect_error(recoverabilityAudit(counts, sample = donor, assay.type = "counts"), "has no argument `assay.type`")
})

test_that("the audit's methods keep one argument order and refuse what is not theirs by name", {
    set.seed(15)
    counts <- matrix(rpois(3 * 200, 4), 3, 200, dimnames = list(c("A", "B", "C"), NULL))
    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = counts))
    # positional arguments mean the same on a matrix and a SingleCellExperiment
    a1 <- recoverabilityAudit(sce, NULL, 5, NULL, c("A", "B"), 30, FALSE, nboot = 0, ci = FALSE, verbose = FALSE)
    a2 <- recoverabilityAudit(counts, NULL, 5, NULL, c("A", "B"), 30, FALSE, nboot = 0, ci = FALSE,
        verbose = FALSE)
    expect_identical(auditTable(a1), auditTable(a2))
    expect_identical(ncol(auditPseudobulk(a1)), 30L)
    # `size` (poolCells' former name) is refused with its name here, on both methods
    expect_error(recoverabilityAudit(counts, size = 10), "has no argument `size` \\(here `pool.size`\\)")
    expect_error(recoverabilityAudit(sce, size = 10), "has no argument `size` \\(here `pool.size`\\)")
    # size factors scale counts only
    expect_error(recoverabilityAudit(counts, pool.size = 10, normalize = FALSE, size.factors = rep(1, 200)),
        "`size.factors` scale counts: give them with `normalize = TRUE`")
    skip_if_not_installed("SeuratObject")
    colnames(counts) <- paste0("c", seq_len(ncol(counts)))
    so <- suppressWarnings(SeuratObject::CreateSeuratObject(counts = as(counts, "dgCMatrix")))
    expect_error(recoverabilityAudit(so, pool.size = 10), "convert it with Seurat::as.SingleCellExperiment\\(x\\)")
})
