# Does recoverabilityAudit() tell consistent edges from inconsistent ones?
#
# Each replicate is a model of PAIRS disjoint edges X_i -> Y_i with a random
# function (affine, Hill activation/repression, sigmoid, tanh, quadratic, sin,
# relu), random weights and midpoints, a random cause (Gaussian or skewed
# Gamma noise, with a sample context), and the audit runs on NSAMPLES samples
# of CELLS cells.  An edge's true consistency comes from the model itself, not
# from its function's name: a large Monte Carlo (MC_SAMPLES samples of the same
# model) gives the population FF distance between E[Ybar | Xbar] and the true
# f mapped through the mean (functionalConsistency(truth = TRUE) on that
# simulation); the edge is truly consistent when it is at most the audit's
# tolerance.  Verdicts are compared with that truth; "undetermined" counts as
# a miss.
#
#   Rscript bench/bench_audit_truth.R                         (400 samples; about 3 minutes)
#   BENCH_AUDIT_SAMPLES=1000 Rscript bench/bench_audit_truth.R   (about 4 minutes)
#   BENCH_AUDIT_REPLICATES=4 BENCH_AUDIT_SAMPLES=1000 Rscript bench/bench_audit_truth.R
#   BENCH_AUDIT_OUT=file.rds ...     (where the per-edge results go; a temporary file by default)
suppressPackageStartupMessages({
    library(bulkcausal)
    library(SummarizedExperiment)
})
source("bench/lib/timing.R")
source("bench/lib/audit_models.R")

REPLICATES <- as.integer(Sys.getenv("BENCH_AUDIT_REPLICATES", "30"))
PAIRS <- 10L
NSAMPLES <- as.integer(Sys.getenv("BENCH_AUDIT_SAMPLES", "400"))
CELLS <- 20L
MC_SAMPLES <- 20000L
TOL <- 0.1

draw_model <- function(r) audit_model(r, PAIRS)

one_replicate <- function(r) {
    model <- draw_model(r)
    edges <- as.data.frame(edgeTable(model))
    # The truth: the population distance, from a large simulation of the model.
    big <- simulateBulk(model, nsamples = MC_SAMPLES, pool.size = CELLS, keep.cells = TRUE,
        seed = 50000 + r, verbose = FALSE)
    truth <- functionalConsistency(metadata(big)$cells, big, truth = TRUE, nboot = 0, assay.type = "latent",
        seed = r)
    rm(big)
    # The audit, on data of a realistic size.
    sim <- simulateCells(model, ncells = NSAMPLES * CELLS, nsamples = NSAMPLES, seed = r, verbose = FALSE)
    t0 <- Sys.time()
    audit <- recoverabilityAudit(sim, sample = "sample", pairs = edges[, c("from", "to")], assay.type = "latent",
        normalize = FALSE, tolerance = TOL, seed = r, verbose = FALSE)
    secs <- as.numeric(Sys.time() - t0, units = "secs")
    tab <- auditTable(audit)
    data.frame(replicate = r, edge = rownames(tab), fun = edges$fun, true.distance = truth$ff.distance,
        truth = ifelse(truth$ff.distance <= TOL, "consistent", "inconsistent"), ff.distance = tab$ff.distance,
        ff.lower = tab$ff.lower, ff.upper = tab$ff.upper, padj.curve = tab$padj.curve, verdict = tab$verdict,
        reason = tab$reason, seconds = secs)
}

cat(machine_line(), "\n")
cat(sprintf("%d replicates x %d edges; audit on %d samples x %d cells; truth from %d samples; tolerance %.2f\n",
    REPLICATES, PAIRS, NSAMPLES, CELLS, MC_SAMPLES, TOL))
t0 <- Sys.time()
res <- do.call(rbind, lapply(seq_len(REPLICATES), one_replicate))
cat(sprintf("total %.1f min; audit %.1f s per replicate (median)\n",
    as.numeric(Sys.time() - t0, units = "mins"), median(unique(res[, c("replicate", "seconds")])$seconds)))

conf <- table(truth = res$truth, verdict = factor(res$verdict, c("consistent", "inconsistent", "undetermined")))
print(conf)
agree <- mean(res$truth == res$verdict)
decided <- res$verdict != "undetermined"
cat(sprintf("agreement %.1f%% of %d edges (undetermined counted as misses); among decided edges %.1f%% of %d\n",
    100 * agree, nrow(res), 100 * mean(res$truth[decided] == res$verdict[decided]), sum(decided)))
cat("by function (agreement, edges):\n")
print(do.call(rbind, lapply(split(res, res$fun), function(d) data.frame(fun = d$fun[1], edges = nrow(d),
    truly.consistent = sum(d$truth == "consistent"), agreement = mean(d$truth == d$verdict)))), row.names = FALSE)
miss <- res[res$truth != res$verdict, c("edge", "fun", "true.distance", "ff.distance", "ff.lower", "ff.upper",
    "verdict", "reason")]
cat("misses:\n")
print(miss, row.names = FALSE, digits = 3)
out <- Sys.getenv("BENCH_AUDIT_OUT", file.path(tempdir(), "audit_truth.rds"))
saveRDS(res, out)
cat("per-edge results:", out, "\n")
