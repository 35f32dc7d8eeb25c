#' A compact real single-cell dataset: 283 blood cells
#'
#' UMI counts of 914 genes in 283 peripheral blood mononuclear cells of one
#' healthy donor, the embedded dataset of the examples, the "Auditing your
#' own data" vignette and the `make demo` report.
#'
#' @format A `SingleCellExperiment` with the assay `counts` (a sparse
#'   `dgCMatrix`, whole numbers) and `colData` columns `library.size` (total
#'   counts of the cell) and `type` (a coarse cell type from marker genes:
#'   `"T"`, `"B"`, `"NK"`, `"myeloid"` or `"other"`; for reading results, not
#'   a curated annotation).  Row names are gene symbols.
#' @source 10x Genomics, "3k PBMCs from a Healthy Donor" (Chromium v1),
#'   \url{https://support.10xgenomics.com/single-cell-gene-expression/datasets/1.1.0/pbmc3k},
#'   published under the Creative Commons Attribution 4.0 licence; the
#'   283-cell, 914-gene subset is the `pbmc` dataset of the CRAN package
#'   sctransform (GPL-3).  The script
#'   `system.file("scripts", "make_pbmc283.R", package = "bulkcausal")`
#'   builds this object from it.
#' @return A `SingleCellExperiment`.
#' @examples
#' data(pbmc283)
#' pbmc283
#' table(pbmc283$type)
#' @docType data
#' @keywords datasets
#' @name pbmc283
NULL
