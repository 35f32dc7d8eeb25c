# The real datasets of inst/scripts/empirical_nonlinearity.R load through
# the packages that ship them, with the dimensions, scale and groups the
# analysis relies on; each is skipped, with the package's name, when the
# package that holds it is not installed.
datasets_env <- new.env()
sys.source(system.file("scripts", "empirical_datasets.R", package = "bulkcausal", mustWork = TRUE),
    envir = datasets_env)
empirical <- datasets_env$empirical_datasets()

test_that("the empirical analysis has at least four bulk and four single-cell datasets", {
    kind <- vapply(empirical, `[[`, "", "kind")
    expect_gte(sum(kind == "bulk"), 4)
    expect_gte(sum(kind == "single cell"), 4)
    # at least one single-cell dataset of UMI counts with thousands of cells
    big <- vapply(empirical, function(d) d$kind == "single cell" && d$counts && d$dims[2] >= 2000, logical(1))
    expect_true(any(big))
    for (d in empirical) expect_true(all(nzchar(c(d$source, d$technology, d$scale, d$licence, d$install))))
})

for (name in names(empirical)) {
    test_that(sprintf("dataset %s loads with the dimensions the analysis relies on", name), {
        d <- empirical[[name]]
        skip_if_not_installed(d$package)
        x <- d$load()
        expect_s4_class(x, if (d$kind == "bulk") "SummarizedExperiment" else "SingleCellExperiment")
        expect_identical(as.numeric(dim(x)), as.numeric(d$dims))
        expect_identical(anyDuplicated(rownames(x)), 0L)
        expect_identical(anyDuplicated(colnames(x)), 0L)
        block <- as.matrix(SummarizedExperiment::assay(x, "values")[seq_len(min(500, nrow(x))), ])
        expect_false(anyNA(block))
        if (d$counts) {
            # counts: whole numbers, none negative
            expect_true(all(block >= 0 & block == round(block)))
        } else if (!is.na(d$log.base)) {
            # log2 intensities of arrays (linear ones would reach the thousands)
            expect_true(all(block > 0 & block < 20))
        } else {
            # values such as FPKM: not negative, not whole numbers
            expect_true(all(block >= 0))
            expect_false(all(block == round(block)))
        }
        if (!is.na(d$group)) {
            g <- SummarizedExperiment::colData(x)[[d$group]]
            expect_false(is.null(g))
            expect_false(anyNA(g))
            expect_gte(length(unique(g)), 2)
        }
    })
}
