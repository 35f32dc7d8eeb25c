# Builds data/pbmc283.rda: the embedded real single-cell dataset of bulkcausal.
#
# Source: the 283 peripheral blood mononuclear cells x 914 genes of UMI counts
# shipped as `pbmc` in the CRAN package sctransform (0.3.x; Debian package
# r-cran-sctransform), itself a down-sampled version of 10x Genomics' public
# "3k PBMCs from a Healthy Donor" dataset (Chromium v1 chemistry,
# https://support.10xgenomics.com/single-cell-gene-expression/datasets/1.1.0/pbmc3k).
# Licences: 10x Genomics publishes the dataset under Creative Commons
# Attribution 4.0 (CC BY 4.0); sctransform is GPL-3, as is bulkcausal.
#
# What this script adds: the counts as a SingleCellExperiment (dgCMatrix
# assay "counts"), each cell's library size, and a coarse cell type from
# marker genes (for reading the audit, not for analysis): the marker set
# (T: IL7R/CD2/CCR7/CD8B; B: CD79A/CD79B/MS4A1; NK: NKG7/GNLY/GZMB; myeloid:
# LYZ/S100A8/S100A9/CST3/FCGR3A/LST1) whose share of the cell's counts is
# largest relative to its mean share over cells, "other" when none is
# expressed.  Genes are kept whole (914) so that the audit chooses its own.
#
# Run from the package sources' root:  Rscript inst/scripts/make_pbmc283.R
# (installed as system.file("scripts", "make_pbmc283.R", package = "bulkcausal"))
suppressPackageStartupMessages({
    library(Matrix)
    library(SingleCellExperiment)
})
env <- new.env()
utils::data("pbmc", package = "sctransform", envir = env)
counts <- env$pbmc
stopifnot(is(counts, "dgCMatrix"), all(counts@x == round(counts@x)), identical(dim(counts), c(914L, 283L)))

markers <- list(T = c("IL7R", "CD2", "CCR7", "CD8B"), B = c("CD79A", "CD79B", "MS4A1"),
    NK = c("NKG7", "GNLY", "GZMB"), myeloid = c("LYZ", "S100A8", "S100A9", "CST3", "FCGR3A", "LST1"))
lib <- colSums(counts)
score <- vapply(markers, function(g) {
    g <- intersect(g, rownames(counts))
    share <- colSums(counts[g, , drop = FALSE]) / lib
    share / mean(share)
}, numeric(ncol(counts)))
type <- colnames(score)[max.col(score, ties.method = "first")]
type[rowSums(score) == 0] <- "other"

pbmc283 <- SingleCellExperiment(assays = list(counts = counts),
    colData = S4Vectors::DataFrame(library.size = as.numeric(lib), type = type, row.names = colnames(counts)))
S4Vectors::metadata(pbmc283) <- list(source = paste("10x Genomics pbmc3k (CC BY 4.0), 283-cell subset",
    "from sctransform::pbmc"), built.by = "scripts/make_pbmc283.R of the bulkcausal package")
print(table(pbmc283$type))
save(pbmc283, file = "data/pbmc283.rda", compress = "xz")
