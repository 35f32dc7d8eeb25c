# PC at the cell level, at pseudobulk and at the cell level subsampled to
# the number of pools, scored against a known signalling network (issue
# 12): the flow cytometry data of Sachs et al. (2005, Science 308:523),
# 11 phosphoproteins and phospholipids measured in single cells, as shipped
# by the gss package (object `Sachs`, log10 intensities, 7,466 cells of 9
# conditions; Debian `apt-get install r-cran-gss`, or CRAN
# install.packages("gss"); GPL >= 2).  The known network is the 17-edge
# consensus DAG used by bnlearn (Scutari & Denis 2014), scored as its CPDAG.
#
# The values are returned to the linear scale (10^x): pooling sums or
# averages intensities, so pseudobulk is the mean of linear values.  Two
# designs: the unperturbed condition alone (CD3/CD28, 853 cells; random
# pools of POOL cells) and all nine conditions (pools within a condition, so
# that no pool mixes perturbations).  PC uses the package's spline CI test
# at alpha 0.01 (`discoverAtBothLevels(..., graph =, equal.n = TRUE)`).
#   Rscript bench/bench_sachs.R                 (pools of 10 cells; 30 minutes)
#   BENCH_SACHS_POOL=20 Rscript bench/bench_sachs.R
#   BENCH_SACHS_DESIGNS=obs Rscript bench/bench_sachs.R    (the unperturbed condition only; 2 minutes)
suppressPackageStartupMessages({
    library(bulkcausal)
    library(SummarizedExperiment)
})
source("bench/lib/timing.R")
if (!requireNamespace("gss", quietly = TRUE)) stop("needs the gss package: apt-get install r-cran-gss")
POOL <- as.integer(Sys.getenv("BENCH_SACHS_POOL", "10"))
data("Sachs", package = "gss", envir = environment())
vars <- c(praf = "Raf", pmek = "Mek", plcg = "Plcg", pip2 = "PIP2", pip3 = "PIP3", p44.42 = "Erk",
    pakts473 = "Akt", pka = "PKA", pkc = "PKC", p38 = "P38", pjnk = "Jnk")
X <- t(10^as.matrix(Sachs[, names(vars)]))
rownames(X) <- vars
colnames(X) <- sprintf("cell%d", seq_len(ncol(X)))
cond <- factor(as.integer(as.character(Sachs$grp)))
known <- data.frame(
    from = c("PKC", "PKC", "PKA", "PKC", "PKA", "Raf", "Mek", "PKA", "Erk", "PKA", "PKC", "PKA", "PKC", "PKA",
        "Plcg", "Plcg", "PIP3"),
    to = c("PKA", "Raf", "Raf", "Mek", "Mek", "Mek", "Erk", "Erk", "Akt", "Akt", "P38", "P38", "Jnk", "Jnk",
        "PIP3", "PIP2", "PIP2"))
cat(machine_line(), "\n")
cat(sprintf("gss %s; %d cells x %d proteins; pools of %d cells\n\n", utils::packageVersion("gss"), ncol(X),
    nrow(X), POOL))
t0 <- Sys.time()
one <- function(keep, by, label) {
    cells <- SummarizedExperiment(list(intensity = X[, keep]), colData = S4Vectors::DataFrame(condition = cond[keep]))
    # disjoint pools: as many per condition as the smallest one allows
    npools <- floor(min(table(droplevels(cond[keep]))) / POOL)
    pools <- poolCells(cells, pool.size = POOL, npools = npools, by = by, aggregation = "mean", seed = 1,
        assay.type = "intensity", verbose = FALSE)
    res <- discoverAtBothLevels(list(cells = cells, bulk = pools), graph = known, equal.n = TRUE, alpha = 0.01,
        assay.type = "intensity", seed = 1)
    data.frame(design = label, as.data.frame(res)[, c("level", "n", "edges", "shd", "skeleton.precision",
        "skeleton.recall", "skeleton.f1", "orientation.f1")])
}
DESIGNS <- strsplit(Sys.getenv("BENCH_SACHS_DESIGNS", "obs,all"), ",")[[1]]
tab <- rbind(if ("obs" %in% DESIGNS) one(which(cond == "1"), NULL, "CD3/CD28 only"),
    if ("all" %in% DESIGNS) one(seq_len(ncol(X)), "condition", "all 9 conditions"))
print(format(tab, digits = 3), row.names = FALSE)
cat(sprintf("\ntotal %.1f min\n", as.numeric(Sys.time() - t0, units = "mins")))
