test_that("arguments a function does not take are refused by name, with the package's name for known ones", {
    x <- matrix(rpois(200, 3), 10, dimnames = list(paste0("g", 1:10), paste0("c", 1:20)))
    ids <- rep(1:4, 5)
    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = x))
    se <- SummarizedExperiment::SummarizedExperiment(list(counts = x))
    # scuttle's and muscat's names, on matrices and on containers
    expect_error(aggregateCells(x, ids, statistics = "sum"),
        "^aggregateCells\\(\\) has no argument `statistics` \\(here `aggregation`\\); see \\?aggregateCells$")
    expect_error(aggregateCells(sce, ids, statistics = "sum"), "`statistics` \\(here `aggregation`\\)")
    expect_error(aggregateCells(sce, ids, use.assay.type = "counts"), "`use.assay.type` \\(here `assay.type`\\)")
    # (on a matrix there is no assay to choose: named, without a hint)
    expect_error(aggregateCells(x, ids, assay = "counts"), "has no argument `assay`; see")
    expect_error(poolCells(sce, 5, 2, statistics = "mean"), "^poolCells\\(\\) has no argument `statistics` \\(here `aggregation`\\)")
    expect_error(poolCells(x, 5, 2, nthreads = 2), "`nthreads` \\(here `num.threads`\\)")
    expect_error(fitPairwise(x, ngenes = 3), "^fitPairwise\\(\\) has no argument `ngenes`; see \\?fitPairwise$")
    expect_error(fitPairwise(se, use.assay.type = "counts", ncores = 2),
        "has no arguments `use.assay.type` \\(here `assay.type`\\), `ncores` \\(here `BPPARAM`\\)")
    expect_error(recoverabilityAudit(sce, sample_id = ids), "recoverabilityAudit\\(\\) has no argument `sample_id` \\(here `sample`\\)")
    expect_error(recoverabilityAudit(sce, size = 10), "`size` \\(here `pool.size`\\)")
    expect_error(recoverabilityAudit(se, n_genes = 5), "`n_genes` \\(here `ngenes`\\)")
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

test_that("renamed arguments keep working under their former names, with a deprecation warning", {
    set.seed(3)
    x <- matrix(rpois(600, 3), 6, 100, dimnames = list(paste0("g", 1:6), NULL))
    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = x))
    ids <- rep(letters[1:4], 25)
    sce$donor <- ids
    dep <- function(expr, old, new) {
        expect_warning(out <- expr, sprintf("argument `%s` is deprecated; use `%s`", old, new), fixed = TRUE)
        out
    }
    # aggregateCells: ids -> sample, fun -> aggregation (matrix and container methods)
    new <- aggregateCells(x, sample = ids, aggregation = "mean")
    expect_identical(dep(aggregateCells(x, ids = ids, aggregation = "mean"), "ids", "sample"), new)
    expect_identical(dep(aggregateCells(x, ids, fun = "mean"), "fun", "aggregation"), new)
    expect_identical(assay(dep(aggregateCells(sce, ids = "donor", aggregation = "mean"), "ids", "sample")),
        assay(aggregateCells(sce, "donor", aggregation = "mean")))
    expect_identical(assay(dep(aggregateCells(sce, "donor", fun = "mean"), "fun", "aggregation")),
        assay(aggregateCells(sce, "donor", aggregation = "mean")))
    expect_error(aggregateCells(x, sample = ids, ids = ids), "aggregateCells\\(\\): give `sample` only \\(`ids` is its former name\\)")
    expect_error(aggregateCells(sce, "donor", aggregation = "sum", fun = "mean"), "give `aggregation` only")
    # poolCells: size -> pool.size, fun -> aggregation
    new <- poolCells(x, pool.size = 10, npools = 5, aggregation = "mean", seed = 1)
    expect_identical(dep(poolCells(x, size = 10, npools = 5, aggregation = "mean", seed = 1), "size", "pool.size"), new)
    expect_identical(dep(poolCells(x, 10, 5, fun = "mean", seed = 1), "fun", "aggregation"), new)
    expect_identical(assay(dep(poolCells(sce, size = 10, npools = 5, seed = 1), "size", "pool.size")),
        assay(poolCells(sce, 10, 5, seed = 1)))
    expect_error(poolCells(x, pool.size = 10, size = 10, npools = 5), "give `pool.size` only")
    # the CI tests: method -> test; discovery: method -> algorithm
    d <- rbind(A = rnorm(200), B = rnorm(200), C = rnorm(200))
    expect_identical(dep(ciTest("A", "B", data = d, method = "fisher"), "method", "test"),
        ciTest("A", "B", data = d, test = "fisher"))
    expect_identical(ciTest("A", "B", data = d, test = "fisher")$test, "fisher")
    expect_identical(dep(ciSuffStat(d, method = "fisher"), "method", "test"), ciSuffStat(d, test = "fisher"))
    expect_error(ciSuffStat(d, test = "fisher", method = "fisher"), "give `test` only")
    model <- grnModel(data.frame(from = "X", to = "Y", fun = "affine", weight = 1))
    cells <- simulateCells(model, ncells = 400, nsamples = 40, seed = 1)
    bulk <- aggregateCells(cells, cells$sample, aggregation = "mean", assay.type = "latent")
    expect_identical(dep(ciConsistency(cells, bulk, method = "fisher", assay.type = "latent"), "method", "test"),
        ciConsistency(cells, bulk, test = "fisher", assay.type = "latent"))
    if (requireNamespace("pcalg", quietly = TRUE)) {
        sim <- list(cells = cells, bulk = bulk)
        expect_equal(dep(discoverAtBothLevels(sim, method = "pc", test = "fisher"), "method", "algorithm"),
            discoverAtBothLevels(sim, algorithm = "pc", test = "fisher"), ignore_attr = TRUE)
    }
    # simulateBulk and recoverabilityStudy: cells.per.sample -> pool.size
    b1 <- dep(simulateBulk(model, nsamples = 20, cells.per.sample = 5, seed = 1), "cells.per.sample", "pool.size")
    b2 <- simulateBulk(model, nsamples = 20, pool.size = 5, seed = 1)
    expect_identical(assay(b1), assay(b2))
    expect_identical(colData(b1), colData(b2))
    expect_identical(b2$ncells, rep(5L, 20))
    expect_error(simulateBulk(model, 20, pool.size = 5, cells.per.sample = 5), "give `pool.size` only")
    # (no partial match with the former name: `cells` is refused, not dropped)
    expect_error(simulateBulk(model, 20, cells = 5), "simulateBulk() has no argument `cells`", fixed = TRUE)
    study <- function(...) {
        as.data.frame(recoverabilityStudy(functions = "affine", aggregations = "mean", causes = "gaussian",
            nsamples = 50, replicates = 2, discovery = FALSE, verbose = FALSE, ...))
    }
    s2 <- study(pool.size = c(2, 5))
    expect_identical(dep(study(cells.per.sample = c(2, 5)), "cells.per.sample", "pool.size"), s2)
    expect_identical(s2$pool.size, c(2, 5))
    # grnModel: functions -> custom.functions
    e <- data.frame(from = "A", to = "B", fun = "softsign")
    f <- list(softsign = function(x) x / (1 + abs(x)))
    expect_equal(dep(grnModel(e, functions = f), "functions", "custom.functions"), grnModel(e, custom.functions = f))
    # the audit: n.genes -> ngenes; the bulk-only audit's group -> by
    se <- SummarizedExperiment::SummarizedExperiment(list(exprs = matrix(20 * rgamma(6 * 300, 5), 6, 300,
        dimnames = list(paste0("g", 1:6), NULL))))
    se$sex <- rep(c("f", "m"), 150)
    a1 <- dep(recoverabilityAudit(se, n.genes = 3, assay.type = "exprs", normalize = FALSE, nboot = 0,
        verbose = FALSE), "n.genes", "ngenes")
    a2 <- recoverabilityAudit(se, ngenes = 3, assay.type = "exprs", normalize = FALSE, nboot = 0, verbose = FALSE)
    expect_identical(auditTable(a1), auditTable(a2))
    b1 <- dep(recoverabilityAudit(se, ngenes = 3, assay.type = "exprs", normalize = FALSE, nboot = 0, group = "sex",
        verbose = FALSE), "group", "by")
    b2 <- recoverabilityAudit(se, ngenes = 3, assay.type = "exprs", normalize = FALSE, nboot = 0, by = "sex",
        verbose = FALSE)
    expect_identical(auditTable(b1), auditTable(b2))
    expect_true(all(auditTable(b2)$groups == 2L))
    expect_error(recoverabilityAudit(se, ngenes = 3, n.genes = 3, assay.type = "exprs", normalize = FALSE),
        "give `ngenes` only")
})
