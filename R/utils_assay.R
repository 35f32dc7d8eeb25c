# Reading the assay the audit uses: gene names, the linear scale, normalised
# values of the chosen genes.

# The assay with its gene names.
#' @importFrom SummarizedExperiment rowData
.audit_assay <- function(x, assay.type, gene.names) {
    m <- .assay_of(x, assay.type)
    if (!is.null(gene.names)) {
        rd <- rowData(x)
        if (!is.character(gene.names) || length(gene.names) != 1L ||
            !gene.names %in% colnames(rd)) {
            stop(sprintf("`gene.names` = %s is not a rowData column of `x`; its columns are %s",
                .fmt_value(gene.names),
                if (ncol(rd)) .fmt_value(colnames(rd)) else "none"),
                call. = FALSE)
        }
        nm <- as.character(rd[[gene.names]])
        miss <- is.na(nm) | nm == ""
        if (any(miss)) {
            nm[miss] <- if (is.null(rownames(x)))
                sprintf("row%d", which(miss)) else rownames(x)[miss]
            message(sprintf("%d genes without a value in rowData column '%s' keep their row names", sum(miss),
                gene.names))
        }
        if (anyDuplicated(nm)) {
            message(sprintf("%d duplicated names in rowData column '%s' made unique (suffix .1, .2, ...)",
                sum(duplicated(nm)), gene.names))
            nm <- make.unique(nm)
        }
        rownames(m) <- nm
    }
    .audit_gene_names(m)
}

# The matrix with gene names (rownames), made unique.
.audit_gene_names <- function(m) {
    if (is.null(rownames(m)))
        stop("`x` needs gene names: rownames or a `gene.names` rowData column",
            call. = FALSE)
    if (anyDuplicated(rownames(m))) {
        message(sprintf("%d duplicated row names (e.g. %s) made unique (suffix .1, .2, ...)",
            sum(duplicated(rownames(m))),
            .fmt_value(rownames(m)[duplicated(rownames(m))][1L])))
        rownames(m) <- make.unique(rownames(m))
    }
    m
}

.audit_log_base <- function(log.base, normalize) {
    if (is.null(log.base)) return(NULL)
    log.base <- .check_number(log.base, "log.base",
        lower = 1, lower.open = TRUE)
    if (normalize) stop("give `log.base` with `normalize = FALSE`: logged values are not counts", call. = FALSE)
    log.base
}

# The assay m on the linear scale: log.base^m when the values are logged.
# Values used as they are (normalize = FALSE, no log.base) that look logged
# (negative values, or non-integers no larger than 30) get a warning, since
# aggregation is linear on the linear scale only; simulated data (that carry
# their GRNModel) are linear by construction.
.audit_linear <- function(m, simulated, log.base, normalize, assay.type) {
    if (!is.null(log.base)) return(log.base^m)
    if (normalize || simulated) return(m)
    lo <- Inf
    hi <- -Inf
    frac <- FALSE
    for (bl in .blocks(m)) {
        b <- as.matrix(.block(m, bl$rows, bl$cols))
        b <- b[is.finite(b)]
        if (!length(b)) next
        lo <- min(lo, b)
        hi <- max(hi, b)
        frac <- frac || any(b != round(b))
    }
    why <- if (lo < 0) {
        sprintf("it has negative values (down to %s)", format(signif(lo, 3)))
    } else if (frac && hi <= 30) {
        sprintf("its values are non-integers no larger than %s",
            format(signif(hi, 3)))
    }
    if (!is.null(why)) {
        warning(sprintf(paste("assay '%s' looks logged or centred: %s. Aggregation is linear on the linear",
            "scale only, and the audit's answer changes with the scale: give `log.base` (e.g. 2) to undo a log,",
            "or ignore this warning if the values are linear"), assay.type,
            why), call. = FALSE)
    }
    m
}

# Dense genes x columns matrix of the chosen genes, divided by size factors.
.audit_normalised <- function(m, genes, sf) {
    b <- .read_rows(m, match(genes, rownames(m)))
    storage.mode(b) <- "double"
    if (anyNA(b) || any(!is.finite(b)))
        stop("the assay has missing or infinite values in the audited genes",
            call. = FALSE)
    b <- b * rep(1 / sf, each = nrow(b))
    if (is.null(colnames(b))) colnames(b) <- sprintf("col%d", seq_len(ncol(b)))
    b
}

# The cells' size factors, scaled to mean 1, and where they come from: for
# counts, `size.factors` when given, else those the container carries
# (`default.sf`, e.g. scran's pooled factors), else library sizes; 1
# without counts.
.audit_size_factors <- function(m, counts, size.factors, default.sf,
    assay.type) {
    if (!counts && !is.null(size.factors)) {
        stop("`size.factors` scale counts: give them with `normalize = TRUE`",
            call. = FALSE)
    }
    from <- if (!is.null(size.factors)) "size.factors" else "sizeFactors(x)"
    if (is.null(size.factors)) size.factors <- default.sf
    given <- counts && !is.null(size.factors)
    sf <- .library_size_factors(m, counts, "cells",
        assay.type, check.only = given)
    if (!given)
        return(list(sf = sf, from = if (!counts) "none" else "library size"))
    sf <- .check_size_factors(size.factors, ncol(m))
    list(sf = sf / mean(sf), from = from)
}
