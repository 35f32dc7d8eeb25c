# The pseudobulk level of the audit: sample labels and cell types, the size
# the fits need, the pseudobulk samples (by sample or random pools) and the
# SummarizedExperiment that records them.

.audit_labels <- function(x, sample, pool.size) {
    if (!is.null(sample) && !is.null(pool.size)) {
        stop("give `sample` (pseudobulk by sample) or `pool.size` (random pools), not both", call. = FALSE)
    }
    if (is.null(sample)) {
        if (is.null(pool.size)) {
            stop(paste("give `sample` (a colData column naming each cell's sample) or `pool.size` (cells per",
                "random pool) to build pseudobulk"), call. = FALSE)
        }
        return(NULL)
    }
    lab <- as.character(.coldata_values(sample, x, "sample"))
    if (anyNA(lab))
        message(sprintf("leaving out %d cells with no sample label",
            sum(is.na(lab))))
    nlev <- length(unique(lab[!is.na(lab)]))
    if (nlev < 2L) {
        stop(sprintf("`sample` has %d level%s: pseudobulk needs several samples (or use `pool.size`)", nlev,
            if (nlev == 1L) "" else "s"), call. = FALSE)
    }
    lab
}

# Sample labels: a colData column or one value per cell; NULL when pooling.
# The cells' types (`by`: a colData column or one value per cell) as
# character, or NULL.
.audit_by <- function(x, by) {
    if (is.null(by)) return(NULL)
    by <- as.character(.coldata_values(by, x, "by"))
    if (anyNA(by))
        message(sprintf("leaving out %d cells with no cell type (`by`)",
            sum(is.na(by))))
    if (all(is.na(by)))
        stop("`by` gives no cell type for any cell", call. = FALSE)
    by
}

# Observations the fits and their bootstrap need with basis dimension k
# (NULL: the rule for n).
.audit_need <- function(k, n) max(20, 2 * .resolve_k(k, n))

.audit_check_size <- function(n, k, what, hint) {
    need <- .audit_need(k, n)
    k <- .resolve_k(k, n)
    if (n < need) {
        stop(sprintf("the audit has %d %s; fitting splines with k = %d and their bootstrap needs at least %d%s",
            n, what, k, need, hint), call. = FALSE)
    }
}

# Pseudobulk: means of the normalised cells per sample or per random pool
# (within the cell types `by`, when given).
.audit_pseudobulk <- function(C, labels, pool.size, npools, replace, s,
    by = NULL) {
    ncell <- ncol(C)
    if (is.null(labels)) {
        pool.size <- .check_count(pool.size, "pool.size", max = .int_max)
        replace <- .check_flag(replace, "replace")
        if (pool.size > ncell) {
            stop(sprintf("`pool.size` = %d is larger than the %d cells of `x`",
                pool.size, ncell), call. = FALSE)
        }
        ntypes <- if (is.null(by)) 1L else length(unique(by))
        # (within types: as many disjoint pools as the smallest type holds)
        if (is.null(npools))
            npools <- floor((if (is.null(by)) ncell else min(table(by))) /
                pool.size)
        npools <- .check_count(npools, "npools", max = .int_max)
        .audit_check_size(npools * ntypes, s$k, "pools",
            sprintf(": lower `pool.size`, or raise `npools` with `replace = TRUE` (%d cells)", ncell))
        if (is.null(by) && !replace && npools * pool.size > ncell) {
            stop(sprintf("%d disjoint pools of %d cells need %d cells, but `x` has %d: set `replace = TRUE`",
                npools, pool.size, npools * pool.size, ncell), call. = FALSE)
        }
        pools <- poolCells(C, pool.size = pool.size, npools = npools, by = by,
            replace = replace, aggregation = "mean",
            seed = s$seed, verbose = FALSE)
        groups <- as.list(pools$cells)
        how <- sprintf("%d random pools of %d cells (%s)%s", npools * ntypes,
            pool.size, if (replace) "drawn with overlap" else "disjoint",
            if (is.null(by)) "" else sprintf(", %d in each of %d cell types",
                npools, ntypes))
        B <- SummarizedExperiment::assay(pools)
        info <- colData(pools)[, intersect(c("pool", "by"),
            colnames(colData(pools))), drop = FALSE]
        if (!is.null(info$by)) colnames(info)[colnames(info) == "by"] <- "type"
    } else {
        # (every cell has a label: the caller leaves out those without)
        f <- factor(labels)
        .audit_check_size(nlevels(f), s$k, "samples",
            "; use `pool.size` for random pools")
        groups <- split(seq_len(ncol(C)), f)
        agg <- aggregateCells(C, labels, aggregation = "mean")
        B <- SummarizedExperiment::assay(agg)[, names(groups), drop = FALSE]
        info <- DataFrame(sample = names(groups), row.names = names(groups))
        how <- sprintf("%d samples (means of their cells)%s", length(groups),
            if (identical(s$by, "sample x type"))
                ", one per sample and cell type" else "")
    }
    B <- as.matrix(B)
    rownames(B) <- rownames(C)
    list(B = B, groups = groups, ncells = lengths(groups), how = how,
        info = info)
}

# The pseudobulk of an audit as a SummarizedExperiment: assay `values` (the
# normalised values the pseudobulk level is fitted on: rates for counts),
# `counts` (the pooled counts) for counts; colData: the sample label or
# pool (and cell type), `ncells`, `cells` (the columns of `x` pooled:
# `kept` maps the audit's cells to them) and, for counts, `size.factor`
# (the pooled size factors).
.audit_pseudobulk_se <- function(pb, kept, counts = NULL) {
    cd <- pb$info
    rownames(cd) <- colnames(pb$B)
    cd$ncells <- unname(pb$ncells)
    cd$cells <- IntegerList(lapply(unname(pb$groups), function(g) kept[g]))
    assays <- list(values = pb$B)
    if (!is.null(counts)) {
        assays$counts <- counts$pool
        dimnames(assays$counts) <- dimnames(pb$B)
        cd$size.factor <- unname(counts$pool.size)
    }
    SummarizedExperiment(assays, colData = cd)
}

# Sample labels and cell types together: one pseudobulk sample per label
# and type (cells lacking either are left out), or pools within types;
# `how` says which (NULL: neither applies).
.audit_strata <- function(labels, by) {
    if (!is.null(by) && !is.null(labels)) {
        labels <- ifelse(is.na(labels) | is.na(by), NA_character_,
            paste(labels, by, sep = "."))
        return(list(labels = labels, by = NULL, how = "sample x type"))
    }
    list(labels = labels, by = by, how = if (!is.null(by)) "pools within types")
}
