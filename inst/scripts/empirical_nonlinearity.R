# The paper's empirical analysis on real data that installs from Debian:
# how non-linear are pairwise gene relations, in bulk data and in single
# cells, and what happens to them in pseudobulk?
#
# Datasets (apt-get install r-bioc-all r-bioc-bladderbatch r-bioc-hsmmsinglecell
# r-cran-sctransform):
#   bulk  ALL           128 acute lymphoblastic leukaemia samples, Affymetrix HG-U95Av2, RMA (log2)
#   bulk  bladderbatch   57 bladder samples, Affymetrix HG-U133A, RMA (log2)
#   cells pbmc283       283 blood cells, 10x UMI counts (the package's embedded dataset,
#                       from sctransform's pbmc subset of 10x Genomics' pbmc3k)
#   cells HSMM          271 differentiating skeletal muscle myoblasts, Fluidigm C1 +
#                       full-length RNA-seq, FPKM (HSMMSingleCell)
# For each dataset: the N_GENES most variable genes, all ordered pairs among
# them, spline fits on the linear scale (microarray intensities 2^x; counts
# and FPKM scaled per cell).  Single cells also give pseudobulk: NPOOLS random
# pools of POOL_SIZE cells (with overlap: these datasets have no donors), the
# full recoverabilityAudit().  pbmc283 holds UMI counts, so its audit is
# count-aware (normalize = TRUE): curves and tests on the rate scale, with the
# regulators' reliability; HSMM's FPKM are taken as values (normalize = FALSE).
#
# Run from anywhere:
#   Rscript inst/scripts/empirical_nonlinearity.R [output directory]
# It prints the table (share of pairs with BH-adjusted p.nonlinear < 0.05,
# median nl with a 95% order-statistic interval, the regulators' median
# reliability where counts are modelled, per dataset and level) and the
# single-cell verdicts with their reasons, writes the table as
# empirical_table.csv and the audits as empirical_audits.rds, and draws empirical_nl.png (nl
# distributions) and empirical_verdicts.png (verdicts of the single-cell
# audits) in the output directory (default: the working directory).
suppressPackageStartupMessages({
    library(bulkcausal)
    library(SummarizedExperiment)
    library(SingleCellExperiment)
    library(ggplot2)
})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "."
dir.create(out, showWarnings = FALSE, recursive = TRUE)
N_GENES <- 30
POOL_SIZE <- 10
NPOOLS <- 200
NBOOT <- 100
need <- c("ALL", "bladderbatch", "HSMMSingleCell", "Biobase")
miss <- need[!vapply(need, requireNamespace, logical(1), quietly = TRUE)]
if (length(miss)) stop("install ", paste(miss, collapse = ", "), " (Debian: r-bioc-all r-bioc-bladderbatch r-bioc-hsmmsinglecell)")

eset_to_se <- function(e) {
    SummarizedExperiment(list(exprs = Biobase::exprs(e)), colData = as(Biobase::pData(e), "DataFrame"))
}
t0 <- Sys.time()
audits <- list()
env <- new.env()
utils::data("ALL", package = "ALL", envir = env)
audits$ALL <- recoverabilityAudit(eset_to_se(env$ALL), n.genes = N_GENES, max.pairs = 1000, assay.type = "exprs",
    normalize = FALSE, log.base = 2, nboot = NBOOT, verbose = FALSE)
utils::data("bladderdata", package = "bladderbatch", envir = env)
audits$bladderbatch <- recoverabilityAudit(eset_to_se(env$bladderEset), n.genes = N_GENES, max.pairs = 1000,
    assay.type = "exprs", normalize = FALSE, log.base = 2, nboot = NBOOT, verbose = FALSE)
utils::data("pbmc283", package = "bulkcausal", envir = env)
audits$pbmc283 <- recoverabilityAudit(env$pbmc283, pool.size = POOL_SIZE, npools = NPOOLS, replace = TRUE,
    n.genes = N_GENES, max.pairs = 1000, nboot = NBOOT, verbose = FALSE)
utils::data(list = c("HSMM_expr_matrix", "HSMM_sample_sheet", "HSMM_gene_annotation"), package = "HSMMSingleCell",
    envir = env)
hsmm <- SingleCellExperiment(list(fpkm = as.matrix(env$HSMM_expr_matrix)), colData = as(env$HSMM_sample_sheet,
    "DataFrame"), rowData = as(env$HSMM_gene_annotation, "DataFrame"))
audits$HSMM <- recoverabilityAudit(hsmm, pool.size = POOL_SIZE, npools = NPOOLS, replace = TRUE, n.genes = N_GENES,
    max.pairs = 1000, assay.type = "fpkm", normalize = FALSE, gene.names = "gene_short_name", nboot = NBOOT,
    verbose = FALSE)
minutes <- as.numeric(Sys.time() - t0, units = "mins")

kind <- c(ALL = "bulk", bladderbatch = "bulk", pbmc283 = "single cell", HSMM = "single cell")
# Median reliability of the regulators (count-aware levels only: the share
# of a regulator's variance across observations that is not counting noise).
med_rel <- function(t, col) if (col %in% colnames(t)) median(t[[col]][!duplicated(t$regulator)], na.rm = TRUE) else NA
rows <- lapply(names(audits), function(d) {
    s <- summary(audits[[d]])
    t <- auditTable(audits[[d]])
    rel <- if (audits[[d]]@mode == "cells") {
        c(med_rel(t, "reliability.regulator.cells"), med_rel(t, "reliability.regulator.bulk"))
    } else NA
    data.frame(dataset = d, kind = kind[[d]], level = rownames(s), pairs = s$pairs,
        share.nonlinear = s$share.nonlinear, median.nl = s$median.nl, lower = s$median.lower, upper = s$median.upper,
        reliability = rel)
})
tab <- do.call(rbind, rows)
cat(sprintf("%d most variable genes per dataset, all ordered pairs; pools of %d cells (%d, with overlap); %.1f min\n",
    N_GENES, POOL_SIZE, NPOOLS, minutes))
print(format(tab, digits = 3), row.names = FALSE)
utils::write.csv(tab, file.path(out, "empirical_table.csv"), row.names = FALSE)
for (d in c("pbmc283", "HSMM")) {
    t <- auditTable(audits[[d]])
    cat(sprintf("%s verdicts: %s\n", d, paste(sprintf("%s %d", names(table(t$verdict)), table(t$verdict)),
        collapse = ", ")))
    # the reasons without their numbers
    why <- table(paste0(t$verdict, ": ", sub(" *[(:].*$| [0-9.]+ > [0-9.]+$", "", t$reason)))
    print(as.data.frame(why, responseName = "pairs"), row.names = FALSE)
}
saveRDS(audits, file.path(out, "empirical_audits.rds"))

nl <- do.call(rbind, lapply(names(audits), function(d) {
    t <- auditTable(audits[[d]])
    if (audits[[d]]@mode == "cells") {
        rbind(data.frame(dataset = d, level = "cells", nl = t$nl.cells, sig = t$padj.nl.cells < 0.05),
            data.frame(dataset = d, level = "pseudobulk", nl = t$nl.bulk, sig = t$padj.nl.bulk < 0.05))
    } else data.frame(dataset = d, level = "bulk", nl = t$nl, sig = t$padj.nonlinear < 0.05)
}))
nl <- nl[!is.na(nl$nl), ]
nl$panel <- factor(paste(nl$dataset, nl$level, sep = "\n"), levels = unique(paste(nl$dataset, nl$level, sep = "\n")))
p1 <- ggplot(nl, aes(x = panel, y = nl)) +
    geom_violin(fill = "grey90", colour = "grey50", scale = "width") +
    geom_jitter(aes(colour = ifelse(!is.na(sig) & sig, "BH p < 0.05", "not significant")), width = 0.15,
        height = 0, size = 0.4, alpha = 0.6) +
    scale_colour_manual(values = c(`BH p < 0.05` = "#D55E00", `not significant` = "grey50")) +
    labs(x = NULL, y = "nonlinearity index nl", colour = "p.nonlinear",
        title = "Pairwise relations among the 30 most variable genes",
        subtitle = paste("bulk arrays (linear scale), single cells and their pseudobulk (pools of 10 cells);",
            "pbmc283 on the rate scale")) +
    theme_bw()
ggsave(file.path(out, "empirical_nl.png"), p1, width = 8, height = 4.5, dpi = 120)
v <- do.call(rbind, lapply(c("pbmc283", "HSMM"), function(d) {
    t <- auditTable(audits[[d]])
    data.frame(dataset = d, ff.distance = t$ff.distance, verdict = t$verdict)
}))
p2 <- ggplot(v[!is.na(v$ff.distance), ], aes(x = ff.distance, fill = verdict)) +
    geom_histogram(bins = 40) + facet_wrap(~dataset, scales = "free_y") +
    geom_vline(xintercept = 0.1, linetype = 2) + scale_x_sqrt() +
    scale_fill_manual(values = c(consistent = "#009E73", inconsistent = "#D55E00", undetermined = "grey60")) +
    labs(x = "FF distance, pseudobulk curve vs cell curve (sqrt scale; dashed: tolerance)",
        y = "pairs", title = "Do pseudobulk relations keep the cell-level form?") + theme_bw()
ggsave(file.path(out, "empirical_verdicts.png"), p2, width = 8, height = 3.5, dpi = 120)
cat("wrote", file.path(out, c("empirical_table.csv", "empirical_nl.png", "empirical_verdicts.png")), sep = "\n  ")
