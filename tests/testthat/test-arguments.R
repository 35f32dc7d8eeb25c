test_that("arguments a function does not take are refused by name, with the package's name for known ones", {
    x <- matrix(rpois(200, 3), 10, dimnames = list(paste0("g", 1:10), paste0("c", 1:20)))
    ids <- rep(1:4, 5)
    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = x))
    se <- SummarizedExperiment::SummarizedExperiment(list(counts = x))
    # scuttle's and muscat's names, on matrices and on containers
    expect_error(aggregateCells(x, ids, statistics = "sum"),
        "^aggregateCells\\(\\) has no argument `statistics` \\(here `fun`\\); see \\?aggregateCells$")
    expect_error(aggregateCells(sce, ids, statistics = "sum"), "`statistics` \\(here `fun`\\)")
    expect_error(aggregateCells(sce, ids, use.assay.type = "counts"), "`use.assay.type` \\(here `assay.type`\\)")
    # (on a matrix there is no assay to choose: named, without a hint)
    expect_error(aggregateCells(x, ids, assay = "counts"), "has no argument `assay`; see")
    expect_error(poolCells(sce, 5, 2, statistics = "mean"), "^poolCells\\(\\) has no argument `statistics` \\(here `fun`\\)")
    expect_error(poolCells(x, 5, 2, nthreads = 2), "`nthreads` \\(here `num.threads`\\)")
    expect_error(fitPairwise(x, ngenes = 3), "^fitPairwise\\(\\) has no argument `ngenes`; see \\?fitPairwise$")
    expect_error(fitPairwise(se, use.assay.type = "counts", ncores = 2),
        "has no arguments `use.assay.type` \\(here `assay.type`\\), `ncores` \\(here `BPPARAM`\\)")
    expect_error(recoverabilityAudit(sce, sample_id = ids), "recoverabilityAudit\\(\\) has no argument `sample_id` \\(here `sample`\\)")
    expect_error(recoverabilityAudit(sce, size = 10), "`size` \\(here `pool.size`\\)")
    expect_error(recoverabilityAudit(se, ngenes = 5), "`ngenes` \\(here `n.genes`\\)")
    # no error names an internal function
    for (e in list(tryCatch(aggregateCells(sce, ids, foo = 1), error = identity),
        tryCatch(fitPairwise(se, foo = 1), error = identity), tryCatch(poolCells(sce, 5, 2, foo = 1), error = identity))) {
        expect_null(conditionCall(e))
        expect_match(conditionMessage(e), "has no argument `foo`")
    }
    expect_error(aggregateCells(x, ids, "sum", NULL, FALSE, 1, 1, BiocParallel::SerialParam(), FALSE, 7),
        "given 1 more unnamed argument than it takes")
    # partial names still match, as R's own matching does
    expect_identical(assay(aggregateCells(sce, ids, num.thr = 1)), assay(aggregateCells(x, ids)))
})

test_that("the model accessors refuse what is not a model by name", {
    expect_error(edgeTable(1), "`model` must be a GRNModel \\(see \\?grnModel\\), not a numeric")
    expect_error(trueFunction("m", "X", "Y"), "`model` must be a GRNModel")
})
