# Makes inst/extdata/audit_vignette.rds: the slower examples of the vignette
# "Auditing your own data", which shows their code and loads the stored
# results: the audit of the donors simulation at three sequencing depths
# (about a minute), and one audit of pbmc283 run serially, on SnowParam(2)
# and on batchtools' local multicore back-end (mostly the start of the
# workers, about a minute and a half). Everything is seeded; a rerun gives
# the same tables.
#   Rscript inst/scripts/audit_vignette.R [output.rds]
suppressPackageStartupMessages({
    library(bulkcausal)
    library(SingleCellExperiment)
    library(BiocParallel)
})
out <- commandArgs(trailingOnly = TRUE)
if (!length(out)) out <- "audit_vignette.rds"

# the donors model of the vignette, with `depth` in place of 200 counts per
# cell
edges <- data.frame(from = c("A", "A"), to = c("B", "C"),
                    fun = c("affine", "sin"), weight = c(1, 1), n = c(NA, 2))
model <- grnModel(edges, intercept = c(A = 3, B = 1, C = 3),
                  context.sd = c(A = 0.8),
                  noise.scale = c(A = 0.8, B = 0.2, C = 0.2),
                  observation = "poisson", library.size = 200)
pairs <- data.frame(regulator = c("A", "A"), target = c("B", "C"))
at.depth <- function(depth) {
    shallow.model <- grnModel(edgeTable(model),
                              intercept = c(A = 3, B = 1, C = 3),
                              context.sd = c(A = 0.8),
                              noise.scale = c(A = 0.8, B = 0.2, C = 0.2),
                              observation = "poisson", library.size = depth)
    shallow <- simulateCells(shallow.model, ncells = 20000, nsamples = 200,
                             seed = 2, verbose = FALSE)
    sizeFactors(shallow) <- shallow$library.size
    tab <- auditTable(recoverabilityAudit(shallow, sample = "sample",
                                          pairs = pairs, seed = 1,
                                          verbose = FALSE))
    data.frame(`counts of A per cell` = mean(counts(shallow)["A", ]),
               `reliability of A` = tab$reliability.regulator.cells[1],
               `A->B` = tab$verdict[1], `A->C` = tab$verdict[2],
               check.names = FALSE)
}
depth <- do.call(rbind, lapply(c(0.2, 1, 5), at.depth))

# one audit on three back-ends
data(pbmc283)
audit.on <- function(BPPARAM) {
    auditTable(recoverabilityAudit(pbmc283, pool.size = 10, npools = 100,
                                   replace = TRUE, ngenes = 5, nboot = 30,
                                   verbose = FALSE, BPPARAM = BPPARAM))
}
serial <- audit.on(SerialParam())
snow <- audit.on(SnowParam(2))
batchtools <- if (requireNamespace("batchtools", quietly = TRUE)) {
    audit.on(BatchtoolsParam(workers = 2, cluster = "multicore",
        registryargs = batchtoolsRegistryargs(file.dir = tempfile("registry"))))
}
saveRDS(list(depth = depth, serial = serial, snow = snow,
             batchtools = batchtools,
             version = as.character(packageVersion("bulkcausal"))), out)
print(depth)
message("written to ", out)
