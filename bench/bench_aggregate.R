# aggregateCells(aggregation = "sum") of a 2,000 x 100,000 dgCMatrix with 10%
# non-zeros into 200 groups, against scuttle::aggregateAcrossCells in the same
# run (target: >= 20x faster) and against one pass over the non-zeros,
# sum(x@x) (target: within 3x).
#   Rscript bench/bench_aggregate.R
suppressPackageStartupMessages({
    library(bulkcausal)
    library(Matrix)
    library(scuttle)
    library(SingleCellExperiment)
})
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE),
                                                  value = TRUE))), "lib", "timing.R"))

set.seed(1)
ngenes <- 2000L
ncells <- 100000L
nnz <- as.integer(0.1 * ngenes * ncells)
pos <- sample.int(ngenes * ncells, nnz) - 1  # distinct positions: exactly 10% non-zero
x <- sparseMatrix(i = pos %% ngenes + 1, j = pos %/% ngenes + 1,
                  x = as.numeric(rpois(nnz, 3) + 1), dims = c(ngenes, ncells),
                  dimnames = list(paste0("g", seq_len(ngenes)), paste0("c", seq_len(ncells))))
ids <- sample(sprintf("S%03d", 1:200), ncells, replace = TRUE)
cat(sprintf("matrix: %d x %d, %.1f%% non-zero, 200 groups\n", ngenes, ncells,
            100 * length(x@x) / (as.numeric(ngenes) * ncells)))

t_floor <- bench_time(sum(x@x), reps = 10)
t_ours1 <- bench_time(aggregateCells(x, ids, aggregation = "sum", num.threads = 1, verbose = FALSE), reps = 10)
t_ours2 <- bench_time(aggregateCells(x, ids, aggregation = "sum", num.threads = 2, verbose = FALSE), reps = 10)
sce <- SingleCellExperiment(list(counts = x))
t_peer <- bench_time(aggregateAcrossCells(sce, ids, statistics = "sum"), reps = 2)

ours <- assay(aggregateCells(x, ids, aggregation = "sum", verbose = FALSE))
peer <- counts(aggregateAcrossCells(sce, ids, statistics = "sum"))
stopifnot(identical(as.matrix(ours), as.matrix(peer[, colnames(ours)])))

cat(sprintf("sum(x@x):                        %8.3f s\n", t_floor))
cat(sprintf("aggregateCells, 1 thread:        %8.3f s\n", t_ours1))
cat(sprintf("aggregateCells, 2 threads:       %8.3f s\n", t_ours2))
cat(sprintf("scuttle::aggregateAcrossCells:   %8.3f s\n", t_peer))
cat(sprintf("ratio scuttle / ours (1 thread): %8.1f  (target >= 20)\n", t_peer / t_ours1))
cat(sprintf("ratio ours (1 thread) / floor:   %8.2f  (target <= 3)\n", t_ours1 / t_floor))
cat(sprintf("ratio ours (2 threads) / floor:  %8.2f\n", t_ours2 / t_floor))
cat(sprintf("machine: %s\n", machine_line()))
