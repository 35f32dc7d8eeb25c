# Counts: reading assays in blocks, checking that values are counts, size
# factors, and the rates behind the counts (shared by fitPairwise's count
# mode and the audit).

# Row blocks of at most ~4 million values, so that DelayedArray (HDF5) and
# sparse inputs are read a block at a time.
.row_blocks <- function(m) {
    step <- max(1L, floor(4e6 / max(1L, ncol(m))))
    split(seq_len(nrow(m)), ceiling(seq_len(nrow(m)) / step))
}

# TRUE for a DelayedArray stored by columns: its chunks span all rows and
# fewer than all columns (a 10x TENxMatrix, an HDF5 matrix chunked by
# cells).  Reading such a matrix by rows rereads every chunk for every
# block, so the passes below read it by columns instead.
#' @importFrom DelayedArray chunkdim
.col_stored <- function(m) {
    if (!is(m, "DelayedArray")) return(FALSE)
    cd <- chunkdim(m)
    !is.null(cd) && cd[1L] == nrow(m) && cd[2L] < ncol(m)
}

# Blocks of at most ~4 million values along m's storage order: rows (all
# columns) for most matrices, columns (all rows) for a column-stored
# DelayedArray; each a list of `rows` and `cols`.
.blocks <- function(m) {
    if (!.col_stored(m))
        return(lapply(.row_blocks(m),
            function(r) list(rows = r, cols = seq_len(ncol(m)))))
    lapply(.col_blocks(m, nrow(m)),
        function(cc) list(rows = seq_len(nrow(m)), cols = cc))
}

# Column blocks of at most ~4 million values for `nrows` rows of m.
.col_blocks <- function(m, nrows) {
    step <- max(1L, floor(4e6 / max(1L, nrows)))
    split(seq_len(ncol(m)), ceiling(seq_len(ncol(m)) / step))
}

# Rows `rows` (NULL: all) and columns `cols` (NULL: all) of m in memory: a
# dgCMatrix or a dense matrix.
.block <- function(m, rows, cols = NULL) {
    if (!is.null(cols)) {
        b <- .tenx_block(m, rows, cols)
        if (!is.null(b)) return(b)
    }
    b <- if (is.null(rows)) {
        if (is.null(cols)) m else m[, cols, drop = FALSE]
    } else if (is.null(cols)) m[rows, , drop = FALSE] else
        m[rows, cols, drop = FALSE]
    if (is(b, "dgCMatrix")) b else as.matrix(b)
}

# The 10x HDF5 file behind m when m shows it without arithmetic (a
# TENxMatrix, possibly renamed or subset, as an assay of a
# SingleCellExperiment is): list(seed, rows, cols), rows and cols mapping
# m's rows and columns to the file's (NULL: all, in order); NULL for
# anything else.  Such a file is read directly by ranges of columns
# (.tenx_block()), several times faster than through DelayedArray's blocks.
.tenx_source <- function(m) {
    if (!is(m, "DelayedArray")) return(NULL)
    s <- m@seed
    rows <- cols <- NULL
    repeat {
        if (is(s, "TENxMatrixSeed")) break
        if (is(s, "DelayedSetDimnames")) {
            s <- s@seed
        } else if (is(s, "DelayedSubset")) {
            # outermost first: m's index -> this seed's -> the one below
            ir <- s@index[[1L]]
            ic <- s@index[[2L]]
            if (!is.null(ir)) rows <- if (is.null(rows)) ir else ir[rows]
            if (!is.null(ic)) cols <- if (is.null(cols)) ic else ic[cols]
            s <- s@seed
        } else {
            return(NULL)
        }
    }
    if (!is.null(s@subdata)) return(NULL)
    list(seed = s, rows = if (!is.null(rows)) as.integer(rows),
        cols = if (!is.null(cols)) as.integer(cols))
}

# Rows `rows` (NULL: all) and columns `cols` of m as a dgCMatrix read
# straight from its 10x file: one read of the values and one of their row
# indices for the file's columns spanned by `cols`.  NULL when m is not such
# a file or `cols` are scattered over the file (then m is read as any
# DelayedArray).
.tenx_block <- function(m, rows, cols) {
    src <- .tenx_source(m)
    if (is.null(src) || !length(cols)) return(NULL)
    s <- src$seed
    fc <- if (is.null(src$cols)) cols else src$cols[cols]
    lo <- min(fc)
    hi <- max(fc)
    if (hi - lo + 1 > 4 * length(fc) + 64) return(NULL)
    ranges <- s@indptr_ranges
    width <- as.numeric(ranges$width[lo:hi])
    n <- sum(width)
    read <- function(what) {
        if (n == 0) return(numeric())
        HDF5Array::h5mread(s@filepath, paste0(s@group, "/", what),
            starts = list(ranges$start[lo]), counts = list(n))
    }
    # an invalid file (row indices beyond the rows) fails Matrix's validity
    # check here, before any compiled code reads it
    b <- tryCatch(new("dgCMatrix", i = as.integer(read("indices")),
        p = as.integer(c(0, cumsum(width))), x = as.double(read("data")),
        Dim = c(s@dim[1L], as.integer(hi - lo + 1))), error = function(e) {
        stop(sprintf("the 10x file %s (group %s) does not hold a valid matrix in its columns %d to %d: %s",
            .fmt_value(s@filepath), .fmt_value(s@group), lo, hi,
            conditionMessage(e)), call. = FALSE)
    })
    fr <- if (is.null(src$rows)) rows else if (is.null(rows)) src$rows else
        src$rows[rows]
    keep.cols <- if (identical(fc, seq.int(lo, hi))) NULL else fc - lo + 1L
    if (!is.null(fr) || !is.null(keep.cols)) {
        b <- b[if (is.null(fr)) seq_len(nrow(b)) else fr,
            if (is.null(keep.cols)) seq_len(ncol(b)) else keep.cols,
            drop = FALSE]
    }
    dimnames(b) <- list(if (is.null(rows)) rownames(m) else rownames(m)[rows],
        colnames(m)[cols])
    b
}

# Column blocks of m (a 10x file, see .tenx_source()) holding about
# `values` stored values each.
.tenx_col_blocks <- function(m, values) {
    src <- .tenx_source(m)
    width <- src$seed@indptr_ranges$width
    w <- as.numeric(if (is.null(src$cols)) width else width[src$cols])
    block <- floor(cumsum(w) / values)
    # (a block at least one column; the last values of a block start the next)
    unname(split(seq_along(w), cumsum(c(TRUE, diff(block) > 0))))
}

# Rows `rows` of m as a dense matrix, read along m's storage order.
.read_rows <- function(m, rows) {
    if (!.col_stored(m)) return(as.matrix(m[rows, , drop = FALSE]))
    out <- do.call(cbind, lapply(.col_blocks(m, length(rows)),
        function(cc) as.matrix(.block(m, rows, cc))))
    dimnames(out) <- list(rownames(m)[rows], colnames(m))
    out
}

# Checks a block of what should be counts (non-negative whole numbers);
# `when` says which setting asks for counts, `instead` what to do otherwise.
.check_whole_counts <- function(b, what, when = "when `normalize = TRUE`",
    instead = "set `normalize = FALSE` for values already normalised on a linear scale") {
    v <- if (is(b, "dgCMatrix")) b@x else as.vector(b)
    if (!is.numeric(v) && !is.logical(v))
        stop(sprintf("%s is not numeric", what), call. = FALSE)
    bad <- which(is.na(v) | v < 0 | v != round(v))
    if (length(bad)) {
        stop(sprintf("%s must hold counts (non-negative whole numbers) %s, but it has %s; give raw counts, or %s",
            what, when, .fmt_value(v[bad[1L]]), instead), call. = FALSE)
    }
}

# Library-size factors (mean 1), or all ones without normalisation; the
# counts are checked in the same pass over the assay.  `check.only`: the
# caller has its own size factors, so columns without counts are allowed
# (NULL is returned).
.library_size_factors <- function(m, normalize, what, assay.type,
    when = "when `normalize = TRUE`",
    instead = "set `normalize = FALSE` for values already normalised on a linear scale", check.only = FALSE) {
    if (!normalize) return(rep(1, ncol(m)))
    lib <- numeric(ncol(m))
    for (bl in .blocks(m)) {
        b <- .block(m, bl$rows, bl$cols)
        .check_whole_counts(b, sprintf("assay %s", .fmt_value(assay.type)),
            when, instead)
        lib[bl$cols] <- lib[bl$cols] + Matrix::colSums(b)
    }
    if (check.only) return(NULL)
    if (any(lib == 0)) {
        stop(sprintf("%d %s have no counts at all (e.g. %s); remove them first",
            sum(lib == 0), what,
            .fmt_value(if (is.null(colnames(m))) which(lib == 0) else
                colnames(m)[lib == 0])), call. = FALSE)
    }
    lib / mean(lib)
}

# User-given size factors: one finite positive number per column, or (when
# `nrow` is given) a matrix like x with one per value.
.check_size_factors <- function(sf, ncol, nrow = NULL) {
    if (is.matrix(sf) && !is.null(nrow)) {
        if (!is.numeric(sf) ||
            !identical(dim(sf), c(as.integer(nrow), as.integer(ncol)))) {
            stop(sprintf("a matrix of `size.factors` must have the dimensions of `x` (%d x %d), not %s", nrow, ncol,
                paste(dim(sf), collapse = " x ")), call. = FALSE)
        }
        bad <- which(is.na(sf) | !is.finite(sf) | sf <= 0)
        if (length(bad)) {
            stop(sprintf("`size.factors` must be finite and positive, but entry %d has %s", bad[1L],
                .fmt_value(sf[bad[1L]])), call. = FALSE)
        }
        storage.mode(sf) <- "double"
        return(sf)
    }
    if (!is.numeric(sf) || length(sf) != ncol) {
        stop(sprintf("`size.factors` must be a numeric vector with one value per column of `x` (%d), not %s",
            ncol, .fmt_value(sf)), call. = FALSE)
    }
    bad <- which(is.na(sf) | !is.finite(sf) | sf <= 0)
    if (length(bad)) {
        stop(sprintf(
            "`size.factors` must be finite and positive, but column %d has %s",
            bad[1L], .fmt_value(sf[bad[1L]])), call. = FALSE)
    }
    as.numeric(sf)
}

# Each gene's rate distribution is a log-spline density with this many
# B-spline coefficients over the log rate (and a free weight at rate 0),
# fitted by penalised maximum likelihood.  Free weights (0: the
# non-parametric maximum likelihood estimate) put the mass on a few isolated
# atoms, between which a count-aware curve is left free and, at reliability
# about 0.5 (negative binomial counts), oscillates.
.rate_df <- 7L

# The rates behind the counts of an observations x genes matrix `counts`
# (dense, checked here) with size factors `sf`: the empirical-Bayes
# posterior mean rate of every value of the genes `need` (all by default;
# the others keep counts / sf), and each gene's reliability; the rate
# distributions are log-spline densities (.rate_df).
#' @importFrom stats setNames
.count_rates <- function(counts, sf, dispersion, num.threads = 1L,
    verbose = FALSE, grid.size = 64L, need = NULL, prior = NULL) {
    bad <- which(is.na(counts) | counts < 0 | counts != round(counts),
        arr.ind = TRUE)
    if (nrow(bad)) {
        stop(sprintf(paste("counts = TRUE needs counts (non-negative whole numbers), but gene '%s' has %s;",
            "give raw counts (not logged or normalised values), or fit with counts = FALSE"),
            colnames(counts)[bad[1L, 2L]],
            format(counts[bad[1L, , drop = FALSE]])), call. = FALSE)
    }
    refine <- if (is.null(prior$refine)) 0L else as.integer(prior$refine)
    ng <- ncol(counts)
    # Genes are estimated independently: with progress shown, in up to 20
    # chunks of genes (at least a gene per thread each) under a progress bar,
    # with the numbers of one call.
    nchunk <- if (isTRUE(verbose))
        max(1L, min(20L, ng %/% max(1L, as.integer(num.threads)))) else 1L
    chunks <- if (nchunk > 1L) split(seq_len(ng),
        ceiling(seq_len(ng) * nchunk / ng)) else list(seq_len(ng))
    tick <- .progress_bar(ng, "genes", isTRUE(verbose) && length(chunks) > 1L,
        "estimating rates")
    parts <- lapply(chunks, function(j) {
        whole <- length(j) == ng
        cols <- function(m) if (whole || is.null(m)) m else m[, j, drop = FALSE]
        # size factors: one per observation, or one per value (a column per
        # gene)
        s <- if (whole || length(sf) == nrow(counts)) sf else
            cols(matrix(sf, nrow(counts)))
        r <- .call_core(count_rates_cpp(cols(counts), s, dispersion, grid.size,
            num.threads, verbose && whole,
            if (whole || is.null(need)) need else need[j], cols(prior$grid),
            cols(prior$weight), refine, .rate_df))
        tick(length(j))
        r
    })
    # the chunks' results side by side: per-gene columns and per-gene values
    res <- if (length(parts) == 1L) parts[[1L]] else
        lapply(setNames(nm = names(parts[[1L]])), function(nm) {
            v <- lapply(parts, `[[`, nm)
            if (is.matrix(v[[1L]])) do.call(cbind, v) else
                unlist(v, use.names = FALSE)
        })
    dimnames(res$rate) <- dimnames(counts)
    names(res$reliability) <- colnames(counts)
    res
}

# Pseudobulk of counts over the cell groups `groups` (indices into the
# columns of the genes x cells counts `raw`, size factors `sf`): each
# group's summed counts, its summed size factors, and the pooled rate
# estimate counts / size (a size-weighted mean of the cells' normalised
# counts: a linear aggregation of their rates).
.pool_counts <- function(raw, sf, groups) {
    P <- vapply(groups, function(g) rowSums(raw[, g, drop = FALSE]),
        numeric(nrow(raw)))
    P <- matrix(P, nrow(raw), dimnames = list(rownames(raw), names(groups)))
    S <- vapply(groups, function(g) sum(sf[g]), numeric(1))
    list(counts = P, size = S, rate = P * rep(1 / S, each = nrow(P)))
}
