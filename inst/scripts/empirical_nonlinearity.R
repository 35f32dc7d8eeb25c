# The paper's empirical analysis on real data that installs from Debian or
# CRAN: how non-linear are pairwise gene relations in bulk samples, in
# single cells and in their pseudobulk, once count noise is accounted for?
#
# Datasets (empirical_datasets.R, next to this script, documents each:
# source, technology, scale, licence):
#   bulk   ALL (128 leukaemia arrays), bladderbatch (57 bladder arrays),
#          flu (252 blood arrays, 17 people x 15 time points),
#          geuvadis (85 lymphoblastoid RNA-seq libraries, counts)
#   cells  pbmc4k (2,170 blood cells, 10x UMI, cell types), kang (2,000
#          blood cells, 10x UMI, control and stimulated), pbmc283 (283 cells,
#          10x UMI), zeisel (200 mouse brain cells, STRT-seq UMI), HSMM (271
#          myoblasts, FPKM)
# Install: apt-get install r-bioc-all r-bioc-bladderbatch r-bioc-qusage
#   r-bioc-degreport r-bioc-hsmmsinglecell, and in R
#   install.packages(c("SoupX", "harmony", "SAVER")).
#
# For each dataset, the N_GENES (200) most variable genes (variance of
# log1p of the normalised values among genes detected in at least 10% of
# the columns, the audit's rule) and all their ordered pairs (39,800), fitted
# by fitPairwise() at each level and on three scales:
#   rate     counts: the count-aware fit (rate-scale curve corrected for the
#            regulator's sampling noise, rate-scale test, reliability);
#            other values: the values on their linear scale (arrays: 2^x)
#   values   the normalised values (counts / size factor) fitted as if they
#            were noise-free: no correction (counts only)
#   log      log1p of the normalised values: the usual log-scale analysis
# Single cells at the cell level, at pseudobulk, and on a random subset of as
# many cells as there are pools ("cells, n of pools": how much of the
# difference between the levels is the number of observations alone).
# Pseudobulk: disjoint random pools of
# POOL_SIZE (10) cells that stay within a cell type, condition or time
# point where the dataset has one (none of these datasets has donors or
# replicates that would give enough pseudobulk samples).  Bulk data at the
# bulk level.  Shares and medians come with 95% intervals from a bootstrap
# over genes (pairs that share a gene are not independent).  A random
# sample of AUDIT_PAIRS (400) of each single-cell dataset's pairs goes
# through recoverabilityAudit() with the same pools, for the verdicts.
#
#   Rscript inst/scripts/empirical_nonlinearity.R [output directory]
#
# Environment: EMPIRICAL_WORKERS (2), EMPIRICAL_GENES (200),
# EMPIRICAL_DATASETS (comma-separated subset of the names above).
# Writes to the output directory (default: the working directory):
#   empirical_table.csv     per dataset, level and scale: pairs, share
#                           BH-significant non-linear, median nl, median
#                           regulator reliability, with intervals
#   empirical_depth.csv     cell-level share non-linear by the pair's mean
#                           counts per cell, per scale
#   empirical_verdicts.csv  the audits' verdict counts and reasons
#   empirical_results.rds   the pair tables, audits and settings
#   empirical_share.png, empirical_depth.png, empirical_verdicts.png
suppressPackageStartupMessages({
    library(bulkcausal)
    library(SummarizedExperiment)
    library(SingleCellExperiment)
    library(BiocParallel)
    library(Matrix)
    library(ggplot2)
})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "."
dir.create(out, showWarnings = FALSE, recursive = TRUE)
N_GENES <- as.integer(Sys.getenv("EMPIRICAL_GENES", "200"))
WORKERS <- as.integer(Sys.getenv("EMPIRICAL_WORKERS", "2"))
POOL_SIZE <- 10
AUDIT_PAIRS <- 400
NBOOT_GENES <- 200
SEED <- 1

# empirical_datasets(): next to this script when run from the sources, else
# the installed copy
here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE)[1]))
ds_file <- file.path(here, "empirical_datasets.R")
if (is.na(here) || !file.exists(ds_file)) ds_file <- system.file("scripts", "empirical_datasets.R", package = "bulkcausal")
source(ds_file)
datasets <- empirical_datasets()
only <- Sys.getenv("EMPIRICAL_DATASETS", "")
if (nzchar(only)) datasets <- datasets[intersect(strsplit(only, ",")[[1]], names(datasets))]
pkgs <- vapply(datasets, `[[`, "", "package")
miss <- !vapply(pkgs, requireNamespace, logical(1), quietly = TRUE)
if (any(miss)) {
    stop("install the packages that hold the data: ",
        paste(unique(vapply(datasets[miss], `[[`, "", "install")), collapse = "; "), call. = FALSE)
}
BP <- if (WORKERS > 1 && .Platform$OS.type == "unix") MulticoreParam(WORKERS) else SerialParam()

# ---- helpers -------------------------------------------------------------

# values on the linear scale (arrays 2^x), genes x columns
linear_values <- function(x, d) {
    m <- assay(x, "values")
    if (!is.na(d$log.base)) m <- d$log.base^as.matrix(m)
    m
}
# library-size factors (counts) scaled to mean 1; 1 for other values
size_factors <- function(m, d) {
    if (!d$counts) return(rep(1, ncol(m)))
    s <- Matrix::colSums(m)
    s / mean(s)
}
# the audit's rule: variance of log1p(normalised value) among genes
# non-zero in at least 10% of the columns
top_genes <- function(m, sf, n) {
    if (is(m, "sparseMatrix")) {
        m <- as(m, "CsparseMatrix")
        nm <- m %*% Diagonal(x = 1 / sf)
        lg <- nm
        lg@x <- log1p(lg@x)
        mu <- Matrix::rowMeans(lg)
        v <- Matrix::rowMeans(lg^2) - mu^2
        det <- Matrix::rowMeans(nm != 0)
    } else {
        lg <- log1p(m * rep(1 / sf, each = nrow(m)))
        v <- apply(lg, 1, var)
        det <- rowMeans(m != 0)
    }
    ok <- which(det >= 0.1 & v > 0)
    rownames(m)[ok[order(-v[ok], ok)]][seq_len(min(n, length(ok)))]
}
# disjoint random pools of `size` cells within each level of `group`
pool_labels <- function(group, size, seed) {
    set.seed(seed)
    lab <- rep(NA_character_, length(group))
    for (g in unique(group)) {
        idx <- which(group == g)
        np <- length(idx) %/% size
        if (np == 0) next
        take <- sample(idx, np * size)
        lab[take] <- paste0(g, "_pool", rep(seq_len(np), each = size))
    }
    lab
}
# three fits of all ordered pairs of the genes (rows of m): the counts' rate
# scale (or the linear values), the normalised values, log1p of them
fit_scales <- function(m, sf, counts) {
    norm <- m * rep(1 / sf, each = nrow(m))
    fits <- list()
    fits$rate <- if (counts) {
        fitPairwise(m, counts = TRUE, size.factors = sf, BPPARAM = BP, verbose = FALSE)
    } else {
        fitPairwise(norm, BPPARAM = BP, verbose = FALSE)
    }
    if (counts) fits$values <- fitPairwise(norm, BPPARAM = BP, verbose = FALSE)
    fits$log <- fitPairwise(norm, transform = "log1p", BPPARAM = BP, verbose = FALSE)
    lapply(fits, function(f) {
        keep <- intersect(c("regulator", "target", "status", "nl", "p.nonlinear", "reliability.regulator",
            "reliability.target"), colnames(f))
        t <- as.data.frame(f[, keep])
        t$padj <- p.adjust(t$p.nonlinear, "BH")
        t
    })
}
# share of BH-significant pairs and median nl (and regulator reliability)
# with 95% intervals from a bootstrap over genes
summarise_fit <- function(t, genes, nboot, seed) {
    gi <- match(t$regulator, genes)
    ti <- match(t$target, genes)
    mat <- function(v) {
        M <- matrix(NA_real_, length(genes), length(genes))
        M[cbind(gi, ti)] <- v
        M
    }
    sig <- mat(as.numeric(t$padj < 0.05))
    nl <- mat(t$nl)
    stat <- function(idx) {
        keep <- outer(idx, idx, `!=`)
        s <- sig[idx, idx][keep]
        v <- nl[idx, idx][keep]
        c(mean(s, na.rm = TRUE), median(v, na.rm = TRUE))
    }
    est <- stat(seq_along(genes))
    set.seed(seed)
    boot <- vapply(seq_len(nboot), function(b) stat(sample.int(length(genes), replace = TRUE)), numeric(2))
    ci <- apply(boot, 1, quantile, c(0.025, 0.975), na.rm = TRUE)
    rel <- if ("reliability.regulator" %in% names(t)) {
        median(t$reliability.regulator[!duplicated(t$regulator)], na.rm = TRUE)
    } else NA_real_
    data.frame(pairs = sum(!is.na(t$p.nonlinear)), share.nonlinear = est[1], share.lower = ci[1, 1],
        share.upper = ci[2, 1], median.nl = est[2], nl.lower = ci[1, 2], nl.upper = ci[2, 2],
        reliability = rel)
}

# ---- the analysis ----------------------------------------------------------

set.seed(SEED)
bpstart(BP)
t0 <- Sys.time()
results <- list()
for (name in names(datasets)) {
    d <- datasets[[name]]
    t1 <- Sys.time()
    x <- d$load()
    m <- linear_values(x, d)
    sf <- size_factors(m, d)
    genes <- top_genes(m, sf, N_GENES)
    mg <- as.matrix(m[genes, , drop = FALSE])
    res <- list(genes = genes, levels = list())
    if (d$kind == "bulk") {
        res$levels$bulk <- list(fits = fit_scales(mg, sf, d$counts), n = ncol(mg),
            mean.counts = if (d$counts) rowMeans(mg) else NULL)
    } else {
        group <- if (is.na(d$group)) rep("all", ncol(x)) else as.character(colData(x)[[d$group]])
        pool <- pool_labels(group, POOL_SIZE, SEED)
        res$levels$cells <- list(fits = fit_scales(mg, sf, d$counts), n = ncol(mg),
            mean.counts = if (d$counts) rowMeans(mg) else NULL)
        # pseudobulk: the pools' summed values over their summed size factors
        # (counts stay counts, with the pools' size factors)
        use <- !is.na(pool)
        pf <- factor(pool[use])
        ind <- sparseMatrix(i = which(use), j = as.integer(pf), x = 1, dims = c(length(pool), nlevels(pf)))
        pm <- as.matrix(mg %*% ind)
        psf <- as.numeric(sf %*% ind)
        colnames(pm) <- levels(pf)
        res$levels$pseudobulk <- list(fits = fit_scales(pm, psf, d$counts), n = ncol(pm))
        # as many single cells as there are pools: what the cell level shows
        # with the pseudobulk's number of observations
        set.seed(SEED)
        sub <- sort(sample.int(ncol(mg), ncol(pm)))
        res$levels$`cells, n of pools` <- list(fits = fit_scales(mg[, sub], sf[sub], d$counts), n = length(sub))
        # the audit of a random sample of the pairs, with the same pools
        set.seed(SEED)
        all.pairs <- expand.grid(target = genes, regulator = genes, stringsAsFactors = FALSE)
        all.pairs <- all.pairs[all.pairs$regulator != all.pairs$target, c("regulator", "target")]
        pairs <- all.pairs[sort(sample.int(nrow(all.pairs), min(AUDIT_PAIRS, nrow(all.pairs)))), ]
        x$pool <- pool
        assay(x, "values") <- m
        res$audit <- recoverabilityAudit(x, sample = "pool", pairs = pairs, assay.type = "values",
            normalize = d$counts, seed = SEED, BPPARAM = BP, verbose = FALSE)
        res$pools <- c(pools = ncol(pm), cells = sum(use), cells.total = length(pool))
    }
    res$minutes <- as.numeric(Sys.time() - t1, units = "mins")
    results[[name]] <- res
    message(sprintf("%-12s %5d x %5d, %d genes: %.1f min", name, nrow(x), ncol(x), length(genes), res$minutes))
}
bpstop(BP)
minutes <- as.numeric(Sys.time() - t0, units = "mins")

# ---- tables ------------------------------------------------------------------

tab <- do.call(rbind, lapply(names(results), function(name) {
    d <- datasets[[name]]
    r <- results[[name]]
    do.call(rbind, lapply(names(r$levels), function(lv) {
        L <- r$levels[[lv]]
        do.call(rbind, lapply(names(L$fits), function(sc) {
            cbind(data.frame(dataset = name, kind = d$kind, level = lv, scale = sc, n = L$n),
                summarise_fit(L$fits[[sc]], r$genes, NBOOT_GENES, SEED))
        }))
    }))
}))
rownames(tab) <- NULL
# cell-level share non-linear by the pair's depth: the smaller of its two
# genes' mean counts per cell
breaks <- c(0, 0.5, 1, 2, 5, 10, 20, Inf)
depth <- do.call(rbind, lapply(names(results), function(name) {
    L <- results[[name]]$levels$cells
    if (is.null(L$mean.counts)) return(NULL)
    do.call(rbind, lapply(names(L$fits), function(sc) {
        t <- L$fits[[sc]]
        dp <- pmin(L$mean.counts[t$regulator], L$mean.counts[t$target])
        bin <- cut(dp, breaks, right = FALSE)
        ok <- !is.na(t$padj)
        a <- aggregate(data.frame(sig = t$padj[ok] < 0.05), list(bin = bin[ok]), function(s) c(mean(s), length(s)))
        data.frame(dataset = name, scale = sc, bin = a$bin, depth = tapply(dp[ok], bin[ok], median)[as.character(a$bin)],
            share.nonlinear = a$sig[, 1], pairs = a$sig[, 2])
    }))
}))
rownames(depth) <- NULL
verdicts <- do.call(rbind, lapply(names(results), function(name) {
    a <- results[[name]]$audit
    if (is.null(a)) return(NULL)
    t <- auditTable(a)
    # the reasons without their numbers
    reason <- gsub("[0-9]*\\.?[0-9]+", "x", gsub(" *\\([^)]*\\)|: .*$", "", t$reason))
    v <- as.data.frame(table(verdict = t$verdict, reason = reason), responseName = "pairs")
    cbind(dataset = name, v[v$pairs > 0, ])
}))
rownames(verdicts) <- NULL

cat(sprintf(paste("%d most variable genes per dataset, all ordered pairs; pseudobulk: disjoint pools of %d cells;",
    "%d workers; %.1f min in all\n"), N_GENES, POOL_SIZE, WORKERS, minutes))
print(format(tab, digits = 3), row.names = FALSE)
cat("\ncell-level share non-linear by the pair's depth (smaller mean counts per cell of its two genes)\n")
print(format(depth, digits = 3), row.names = FALSE)
cat(sprintf("\naudit verdicts (%d random pairs per single-cell dataset)\n", AUDIT_PAIRS))
print(xtabs(pairs ~ dataset + verdict, verdicts))
print(verdicts[order(verdicts$dataset, verdicts$verdict, -verdicts$pairs), ], row.names = FALSE)
utils::write.csv(tab, file.path(out, "empirical_table.csv"), row.names = FALSE)
utils::write.csv(depth, file.path(out, "empirical_depth.csv"), row.names = FALSE)
utils::write.csv(verdicts, file.path(out, "empirical_verdicts.csv"), row.names = FALSE)
info <- do.call(rbind, lapply(datasets, function(d) data.frame(kind = d$kind, package = d$package,
    technology = d$technology, scale = d$scale, genes = d$dims[1], columns = d$dims[2], licence = d$licence)))
saveRDS(list(results = results, table = tab, depth = depth, verdicts = verdicts, datasets = info,
    settings = list(genes = N_GENES, pool.size = POOL_SIZE, audit.pairs = AUDIT_PAIRS, workers = WORKERS,
        minutes = minutes, date = Sys.time(), version = as.character(packageVersion("bulkcausal")))),
    file.path(out, "empirical_results.rds"))

# ---- figures -----------------------------------------------------------------

# the figures' code is shared with the vignette (empirical_datasets.R)
p1 <- empirical_share_plot(tab,
    title = sprintf("Pairwise relations among the %d most variable genes", N_GENES))
ggsave(file.path(out, "empirical_share.png"), p1, width = 8, height = 7, dpi = 110)
if (!is.null(depth) && nrow(depth)) {
    p2 <- empirical_depth_plot(depth,
        title = "Cell-level non-linearity against depth: how much survives the noise correction")
    ggsave(file.path(out, "empirical_depth.png"), p2, width = 8, height = 5, dpi = 110)
}
if (!is.null(verdicts) && nrow(verdicts)) {
    vs <- aggregate(pairs ~ dataset + verdict, verdicts, sum)
    p3 <- ggplot(vs, aes(x = pairs, y = dataset, fill = verdict)) + geom_col() +
        scale_fill_manual(values = c(consistent = "#009E73", inconsistent = "#D55E00", undetermined = "grey60")) +
        labs(x = sprintf("audited pairs (a random %d per dataset)", AUDIT_PAIRS), y = NULL,
            title = "Does the pseudobulk keep the cell-level form?") + theme_bw()
    ggsave(file.path(out, "empirical_verdicts.png"), p3, width = 7, height = 3, dpi = 110)
}
cat("wrote", file.path(out, c("empirical_table.csv", "empirical_depth.csv", "empirical_verdicts.csv",
    "empirical_results.rds", "empirical_share.png", "empirical_depth.png", "empirical_verdicts.png")), sep = "\n  ")
