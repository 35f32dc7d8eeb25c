library(SummarizedExperiment)

pool_counts <- function() {
    set.seed(3)
    matrix(as.numeric(rpois(10 * 300, 3)), 10, 300, dimnames = list(paste0("g", 1:10), paste0("c", 1:300)))
}

test_that("disjoint pools have the right size and use each cell at most once", {
    x <- pool_counts()
    p <- poolCells(x, pool.size = 25, npools = 12, seed = 1)
    cells <- as.list(p$cells)
    expect_identical(lengths(cells), rep(25L, 12))
    expect_identical(p$ncells, rep(25L, 12))
    all <- unlist(cells)
    expect_false(anyDuplicated(all) > 0)
    expect_setequal(all, seq_len(300))   # 12 x 25 = all the cells
    # the values are the aggregate of the listed cells
    expect_identical(assay(p)[, 3], rowSums(x[, cells[[3]]]))
    ids <- rep(NA_character_, 300)
    for (k in seq_along(cells)) ids[cells[[k]]] <- colnames(p)[k]
    ref <- suppressMessages(aggregateCells(x, factor(ids, levels = colnames(p)), aggregation = "mean"))
    expect_identical(assay(poolCells(x, 25, 12, seed = 1, aggregation = "mean")), assay(ref))
})

test_that("pools are reproducible from the seed and from set.seed", {
    x <- pool_counts()
    a <- poolCells(x, 10, 5, seed = 7)
    expect_identical(a$cells, poolCells(x, 10, 5, seed = 7)$cells)
    expect_false(identical(a$cells, poolCells(x, 10, 5, seed = 8)$cells))
    set.seed(11)
    b1 <- poolCells(x, 10, 5)
    set.seed(11)
    b2 <- poolCells(x, 10, 5)
    expect_identical(assay(b1), assay(b2))
    expect_identical(metadata(b1)$seed, metadata(b2)$seed)
})

test_that("pools within levels of `by` only contain cells of that level", {
    x <- pool_counts()
    type <- rep(c("T", "B", "NK"), 100)
    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = x))
    sce$type <- type
    SummarizedExperiment::rowData(sce)$symbol <- toupper(rownames(x))
    p <- poolCells(sce, pool.size = 20, npools = 4, by = "type", seed = 2)
    expect_s4_class(p, "SingleCellExperiment")
    expect_identical(SummarizedExperiment::rowData(p)$symbol, toupper(rownames(x)))
    expect_identical(ncol(p), 12L)
    for (k in seq_len(ncol(p))) {
        expect_true(all(type[p$cells[[k]]] == p$by[k]))
    }
    expect_identical(p$type, p$by)        # constant colData carried over
    expect_identical(table(p$by)[["NK"]], 4L)
    expect_error(poolCells(sce, 20, 4, by = "celltype"), "`by` = 'celltype' is not a colData column of `x`")
})

test_that("pools with replacement are drawn afresh, distinct within a pool", {
    x <- pool_counts()
    p <- poolCells(x, pool.size = 200, npools = 5, replace = TRUE, seed = 4)
    for (k in 1:5) expect_false(anyDuplicated(p$cells[[k]]) > 0)
    expect_gt(length(intersect(p$cells[[1]], p$cells[[2]])), 0)
    expect_identical(p$cells, poolCells(x, pool.size = 200, npools = 5, replace = TRUE, seed = 4)$cells)
})

test_that("impossible pools get clear errors", {
    x <- pool_counts()
    expect_error(poolCells(x, pool.size = 50, npools = 7, seed = 1),
        "`x` has 300 cells, but 7 disjoint pools of 50 cells needs 350")
    expect_error(poolCells(x, pool.size = 301, npools = 1, replace = TRUE, seed = 1),
        "`x` has 300 cells, but a pool of size 301 needs 301")
    expect_error(poolCells(x, pool.size = 0, npools = 2), "`pool.size` must be a whole number from 1 to 2147483647, not 0")
    expect_error(poolCells(x, pool.size = 2, npools = 2, by = 1:3), "`by` has 3 values but `x` has 300 cells")
    expect_error(poolCells(x, pool.size = 90, npools = 2, by = rep(c("a", "b", "c"), 100), seed = 1),
        "level 'a' of `by` has 100 cells")
})

test_that("npools defaults to as many disjoint pools as the smallest level holds", {
    x <- pool_counts()
    expect_identical(ncol(poolCells(x, pool.size = 40, seed = 1)), 7L)   # 300 %/% 40
    p <- poolCells(x, pool.size = 30, by = rep(c("a", "b", "b"), 100), seed = 1)
    expect_identical(as.vector(table(p$by)), c(3L, 3L))              # level a: 100 cells
    expect_error(poolCells(x, pool.size = 10, replace = TRUE), "give `npools`: with `replace = TRUE`")
    expect_error(poolCells(x), "give `pool.size`, the number of cells per pool")
})
