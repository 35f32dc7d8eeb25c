# Does recoverabilityAudit() get its verdicts right on counts?  The truth is
# on the rate scale, the scale counts measure.
#
# Each replicate is a model of PAIRS disjoint edges X_i -> Y_i as in
# bench_audit_truth.R (random functions, weights, Gaussian or skewed causes,
# sample contexts), observed as counts: rate = softplus(latent), counts
# Poisson or negative binomial (size 10) with mean library size x rate,
# library sizes log-normal (sdlog 0.3).  Every other replicate adds three
# cell types that shift the causes, so the cells are a mixture.  The library
# size is set so that a gene has about DEPTH counts per cell on average.
#
# Truth: the population FF distance between the bulk curve of mean rates
# E[mean rate Y | mean rate X] and the cell-level curve of the rates (a
# k = 10 spline of rate Y on rate X over all cells), from a large Monte
# Carlo of the same model (MC_SAMPLES samples; functionalConsistency() on
# the `rate` assay, nboot = 0); an edge is truly consistent when that
# distance is at most the tolerance.  It does not depend on the depth or
# the count noise, so one Monte Carlo serves every condition.
#
# The audit: NSAMPLES samples of CELLS cells, assay "counts", the
# simulator's library sizes as sizeFactors(), the true NB dispersion.
# "undetermined" counts as a miss; "count noise too large" is the verdict's
# honest answer at low depth.
#
#   Rscript bench/bench_audit_counts.R          (30 replicates; about 30 minutes on 2 cores)
#   BENCH_AUDIT_REPLICATES=6 Rscript bench/bench_audit_counts.R
#   BENCH_AUDIT_NOISE=rates Rscript bench/bench_audit_counts.R   (the noise-free ceiling only)
suppressPackageStartupMessages({
    library(bulkcausal)
    library(SummarizedExperiment)
    library(SingleCellExperiment)
})
source("bench/lib/timing.R")
source("bench/lib/audit_models.R")

REPLICATES <- as.integer(Sys.getenv("BENCH_AUDIT_REPLICATES", "30"))
# replicates FIRST .. FIRST + REPLICATES - 1 (seeds of the models and data):
# a later FIRST checks a rule on replicates it was not chosen on
FIRST <- as.integer(Sys.getenv("BENCH_AUDIT_FIRST", "1"))
PAIRS <- 10L
NSAMPLES <- as.integer(Sys.getenv("BENCH_AUDIT_SAMPLES", "400"))
CELLS <- 20L
MC_SAMPLES <- as.integer(Sys.getenv("BENCH_AUDIT_MC", "20000"))
DEPTHS <- as.numeric(strsplit(Sys.getenv("BENCH_AUDIT_DEPTHS", "0.5,2,10,100"), ",")[[1]])
# "rates": the audit of the noise-free rates themselves (normalize = FALSE):
# the ceiling any treatment of the counts can reach with this design.
NOISE <- strsplit(Sys.getenv("BENCH_AUDIT_NOISE", "rates,poisson,nb"), ",")[[1]]
NB_SIZE <- 10
TOL <- 0.1

draw_model <- function(r, observation = "poisson", library.size = 1) {
    audit_model(r, PAIRS, celltypes = r %% 2 == 0, celltype.alpha = 5, observation = observation,
        link = "softplus", library.size = library.size, library.sdlog = 0.3, nb.size = NB_SIZE)
}

one_replicate <- function(r) {
    model <- draw_model(r)
    edges <- as.data.frame(edgeTable(model))
    big <- simulateBulk(model, nsamples = MC_SAMPLES, pool.size = CELLS, aggregation = "mean",
        keep.cells = TRUE, assays = "rate", seed = 50000 + r, verbose = FALSE, num.threads = 2)
    cells <- metadata(big)$cells
    mean.rate <- mean(assay(cells, "rate"))
    truth <- functionalConsistency(cells, big, edges = edges[, c("from", "to")], truth = FALSE, nboot = 0,
        assay.type = "rate", seed = r)
    rm(big, cells)
    out <- list()
    for (noise in NOISE) for (depth in if (noise == "rates") Inf else DEPTHS) {
        m <- draw_model(r, observation = if (noise == "rates") "poisson" else noise,
            library.size = if (noise == "rates") 1 else depth / mean.rate)
        sim <- simulateCells(m, ncells = NSAMPLES * CELLS, nsamples = NSAMPLES, seed = r, verbose = FALSE,
            num.threads = 2)
        sizeFactors(sim) <- sim$library.size
        t0 <- Sys.time()
        audit <- if (noise == "rates") {
            recoverabilityAudit(sim, sample = "sample", pairs = edges[, c("from", "to")], assay.type = "rate",
                normalize = FALSE, tolerance = TOL, seed = r, verbose = FALSE, BPPARAM = BiocParallel::SerialParam())
        } else {
            recoverabilityAudit(sim, sample = "sample", pairs = edges[, c("from", "to")],
                dispersion = if (noise == "nb") 1 / NB_SIZE else 0, tolerance = TOL, seed = r, verbose = FALSE,
                BPPARAM = BiocParallel::SerialParam())
        }
        secs <- as.numeric(Sys.time() - t0, units = "secs")
        tab <- auditTable(audit)
        out[[length(out) + 1L]] <- data.frame(replicate = r, noise = noise, depth = depth,
            counts.per.cell = if (noise == "rates") NA else mean(assay(sim, "counts")), celltypes = r %% 2 == 0, edge = rownames(tab),
            fun = edges$fun, true.distance = truth$ff.distance,
            truth = ifelse(truth$ff.distance <= TOL, "consistent", "inconsistent"), ff.distance = tab$ff.distance,
            ff.lower = tab$ff.lower, ff.upper = tab$ff.upper, padj.curve = tab$padj.curve, reliability = tab$reliability.regulator.cells, verdict = tab$verdict,
            reason = tab$reason, seconds = secs)
    }
    message(sprintf("[%s] replicate %d (%d to %d)", format(Sys.time(), "%H:%M:%S"), r, FIRST, FIRST + REPLICATES - 1L))
    do.call(rbind, out)
}

cat(machine_line(), "\n")
cat(sprintf(paste("%d replicates x %d edges; audit on %d samples x %d cells of counts; truth (rate scale) from",
    "%d samples; tolerance %.2f\n"), REPLICATES, PAIRS, NSAMPLES, CELLS, MC_SAMPLES, TOL))
t0 <- Sys.time()
res <- do.call(rbind, lapply(FIRST - 1L + seq_len(REPLICATES), one_replicate))
cat(sprintf("total %.1f min; audit %.1f s (median)\n", as.numeric(Sys.time() - t0, units = "mins"),
    median(unique(res[, c("replicate", "noise", "depth", "seconds")])$seconds)))

summ <- do.call(rbind, lapply(split(res, list(res$noise, res$depth), drop = TRUE), function(d) {
    decided <- d$verdict != "undetermined"
    aff <- d$fun == "affine"
    data.frame(noise = d$noise[1], depth = d$depth[1], counts.per.cell = mean(d$counts.per.cell), edges = nrow(d),
        cons.cons = sum(d$truth == "consistent" & d$verdict == "consistent"),
        cons.inc = sum(d$truth == "consistent" & d$verdict == "inconsistent"),
        cons.und = sum(d$truth == "consistent" & d$verdict == "undetermined"),
        inc.cons = sum(d$truth == "inconsistent" & d$verdict == "consistent"),
        inc.inc = sum(d$truth == "inconsistent" & d$verdict == "inconsistent"),
        inc.und = sum(d$truth == "inconsistent" & d$verdict == "undetermined"),
        agreement = mean(d$truth == d$verdict), correct.decided = mean(d$truth[decided] == d$verdict[decided]),
        affine.inconsistent = mean(d$verdict[aff] == "inconsistent"),
        consistent.called.inconsistent = mean(d$verdict[d$truth == "consistent"] == "inconsistent"),
        noise.too.large = mean(grepl("count noise too large", d$reason)),
        median.reliability = median(d$reliability, na.rm = TRUE))
}))
summ <- summ[order(summ$noise, summ$depth), ]
cat("\nConfusion per condition (truth.verdict counts), agreement (undetermined = miss), share correct among decided,\n")
cat("latent-affine edges called inconsistent (the softplus link bends their rate relation, so some truly are),\n")
cat("truly consistent edges called inconsistent, pairs undetermined for count noise, median cell-level reliability of X:\n\n")
print(format(summ, digits = 3), row.names = FALSE)
cat("\nby function at >= 2 counts per cell (agreement):\n")
deep <- res[res$depth >= 2, ]
print(do.call(rbind, lapply(split(deep, deep$fun), function(d) data.frame(fun = d$fun[1], edges = nrow(d),
    truly.consistent = sum(d$truth == "consistent"), agreement = mean(d$truth == d$verdict)))), row.names = FALSE)
miss <- res[res$depth >= 10 & res$truth != res$verdict, c("replicate", "noise", "depth", "edge", "fun",
    "true.distance", "ff.distance", "ff.upper", "reliability", "verdict")]
cat("\nmisses at >= 10 counts per cell:\n")
print(miss, row.names = FALSE, digits = 3)
out <- Sys.getenv("BENCH_AUDIT_OUT", file.path(tempdir(), "audit_counts.rds"))
saveRDS(res, out)
cat(sprintf("\nper-edge results: %s\n", out))
