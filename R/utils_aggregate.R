# The machinery behind aggregateCells() and poolCells(): any matrix type in,
# a dense genes x groups matrix out.  Groups are lists of 1-based column
# indices.

#' @importFrom BiocParallel bpnworkers SerialParam
#' @importFrom DelayedArray blockApply rowAutoGrid currentViewport
#' @importFrom BiocGenerics start end
#' @importFrom methods is as
#' @importClassesFrom Matrix dgCMatrix CsparseMatrix
.aggregate_any <- function(x, groups, fun, pseudo = 1, na.rm = FALSE,
    num.threads = 1L, BPPARAM = SerialParam(), verbose = FALSE) {
    if (.bp_start(BPPARAM)) on.exit(.bp_stop(BPPARAM), add = TRUE)
    # cpm needs every gene's sum before it can normalise: the C++ side
    # returns checked sums for the pieces (subsets of genes), and the whole
    # matrix is normalised once at the end.
    piece.fun <- fun
    # (a mean under na.rm needs each group's count of values, which sums
    # do not give: the row path)
    out <- if (.col_stored(x) && (fun %in% c("sum", "cpm", "log1p_sum") ||
        (fun == "mean" && !na.rm))) {
        .aggregate_by_columns(x, groups, fun, na.rm, num.threads, BPPARAM)
    }
    if (is.null(out) && is(x, "DelayedArray")) {
        pieces <- blockApply(x, .aggregate_block, groups = groups,
            fun = piece.fun, pseudo = pseudo, na.rm = na.rm,
            num.threads = num.threads, grid = rowAutoGrid(x), as.sparse = NA,
            BPPARAM = BPPARAM)
        out <- do.call(rbind, pieces)
    } else if (is.null(out)) {
        x <- .as_supported_matrix(x)
        nworkers <- bpnworkers(BPPARAM)
        if (nworkers > 1L && nrow(x) > 1L) {
            # Each worker gets only its rows; every gene's result depends on
            # that gene alone, so the split does not change any number.
            chunks <- .work_units(seq_len(nrow(x)),
                .n_units(nrow(x), BPPARAM, FALSE, per.worker = 1L))
            pieces <- .run_units(lapply(chunks,
                function(rows) x[rows, , drop = FALSE]), .aggregate_block,
                groups = groups, fun = piece.fun, pseudo = pseudo,
                na.rm = na.rm, num.threads = num.threads, BPPARAM = BPPARAM,
                sizes = lengths(chunks), what = "genes",
                progress = verbose, label = "aggregating")
            out <- do.call(rbind, pieces)
        } else {
            out <- .aggregate_block(x, groups, piece.fun, pseudo, na.rm,
                num.threads, verbose)
        }
    }
    if (fun %in% c("sum", "cpm") && any(huge <- is.infinite(out))) {
        # the values are finite (the core refuses others): these sums left the
        # double range, where a sum has no value but Inf and a share none at all
        where <- which(huge, arr.ind = TRUE)[1L, ]
        gene <- if (is.null(rownames(x))) where[[1L]] else
            rownames(x)[where[[1L]]]
        group <- if (is.null(names(groups))) where[[2L]] else
            names(groups)[where[[2L]]]
        msg <- sprintf("%d sum%s beyond the double range (about 1.8e308), e.g. gene %s in group %s", sum(huge),
            if (sum(huge) > 1L) "s are" else " is", .fmt_value(gene),
            .fmt_value(group))
        if (fun == "cpm")
            stop(msg,
                ": counts per million cannot be formed; scale the values down",
                call. = FALSE)
        warning(msg, ": returned as Inf", call. = FALSE)
    }
    if (fun == "cpm") {
        out <- normalise_cpm_cpp(out)
        empty <- colSums(is.na(out)) > 0
        if (any(empty)) {
            warning(sprintf(
                "%d group%s with a total of 0 get NA counts per million",
                sum(empty), if (sum(empty) > 1L) "s" else ""), call. = FALSE)
        }
    }
    dimnames(out) <- list(rownames(x), names(groups))
    out
}

# Sum-like aggregation of a column-stored DelayedArray (see .col_stored())
# read in blocks of columns, in storage order: each block's per-group sums
# of the cells it holds, added up; then the mean, log1p or (in the caller)
# cpm of the sums.  NULL for a mean that overflows: the row path rescues it.
#' @importFrom DelayedArray colAutoGrid getAutoBlockSize
.aggregate_by_columns <- function(x, groups, fun, na.rm, num.threads, BPPARAM) {
    sum_block <- function(b, cols) {
        # errors locate values by column: name them as in the whole matrix
        colnames(b) <- if (is.null(colnames(x))) cols else colnames(x)[cols]
        sub <- lapply(groups, function(g) as.integer(g[g >= cols[1L] &
            g <= cols[length(cols)]] - cols[1L] + 1L))
        .aggregate_block(b, sub, "sum", 1, na.rm, num.threads)
    }
    pieces <- if (!is.null(.tenx_source(x))) {
        # a 10x file: read directly, in blocks of as many stored values as
        # DelayedArray's block size holds doubles (12.5 million by default);
        # one process: the reading is the work, the sums take a tenth
        lapply(.tenx_col_blocks(x, getAutoBlockSize() / 8),
            function(cols) sum_block(.block(x, NULL, cols), cols))
    } else {
        blockApply(x, function(b) {
            vp <- currentViewport()
            sum_block(b, start(vp)[2L]:end(vp)[2L])
        }, grid = colAutoGrid(x), as.sparse = NA, BPPARAM = BPPARAM)
    }
    sums <- Reduce(`+`, pieces)
    out <- switch(fun,
        sum = , cpm = sums,
        mean = sums / rep(lengths(groups), each = nrow(sums)),
        log1p_sum = log1p(sums))
    if (fun == "mean" && any(is.infinite(out))) NULL else out
}

# One in-memory block: dense matrix or dgCMatrix.
.aggregate_block <- function(x, groups, fun, pseudo, na.rm, num.threads,
    verbose = FALSE) {
    x <- .as_supported_matrix(x)
    out <- if (is(x, "dgCMatrix")) {
        aggregate_sparse_cpp(x, groups, fun, pseudo, na.rm, num.threads,
            verbose)
    } else {
        aggregate_dense_cpp(x, groups, fun, pseudo, na.rm, num.threads, verbose)
    }
    rownames(out) <- rownames(x)
    out
}

# Dense double matrices and dgCMatrix go to C++ as they are; other types are
# converted once (integer and logical matrices to double, other sparse
# classes to dgCMatrix, SparseArraySeed blocks to dgCMatrix).
.as_supported_matrix <- function(x) {
    # a dgCMatrix is checked by the core in the pass that reads it
    if (is(x, "dgCMatrix")) return(x)
    .check_sparse(x)
    if (is.matrix(x)) {
        if (is.double(x)) return(x)
        if (is.integer(x) || is.logical(x)) {
            storage.mode(x) <- "double"
            return(x)
        }
        stop("the matrix to aggregate must be numeric, not ",
            typeof(x), call. = FALSE)
    }
    # sparse blocks: SparseArraySeed (DelayedArray < 0.25) and the
    # SparseArray classes of newer versions (COO_SparseArray,
    # SVT_SparseArray) all convert to a CsparseMatrix
    if (is(x, "sparseMatrix") || is(x, "SparseArraySeed") ||
        is(x, "SparseArray")) {
        return(as(as(x, "CsparseMatrix"), "dgCMatrix"))
    }
    if (is(x, "Matrix") || is.data.frame(x))
        return(.as_supported_matrix(as.matrix(x)))
    stop("cannot aggregate a ", class(x)[1L],
        "; use a matrix, a dgCMatrix, a DelayedArray or a SummarizedExperiment",
        call. = FALSE)
}

# Groups from ids: a vector (one group per distinct value) or a DataFrame
# (one group per combination of values).  Returns the groups (named lists of
# column indices), a DataFrame describing each group, and the number of
# cells left out for NA ids.
#' @importFrom S4Vectors DataFrame
.groups_from_ids <- function(sample, ncells) {
    df <- if (is(sample, "DataFrame") || is.data.frame(sample))
        DataFrame(sample, check.names = FALSE) else NULL
    if (is.null(df)) {
        if (!is.atomic(sample) && !is.factor(sample)) {
            stop("`sample` must be a vector or a DataFrame, not a ",
                class(sample)[1L], call. = FALSE)
        }
        df <- DataFrame(group = sample)
    }
    if (nrow(df) != ncells) {
        stop(sprintf("`sample` has %d %s but `x` has %d columns (cells)",
            nrow(df), if (ncol(df) == 1L) "values" else "rows", ncells),
            call. = FALSE)
    }
    if (ncol(df) == 0L) stop("`sample` has no columns", call. = FALSE)
    keep <- !Reduce(`|`, lapply(df, is.na))
    dropped <- sum(!keep)
    if (dropped == ncells) stop("every entry of `sample` is NA", call. = FALSE)
    # one code per column (its rank among the sorted levels present), then
    # one group per distinct combination, numbered in the order of the
    # levels; integer arithmetic instead of pasted keys keeps this fast
    levels.list <- lapply(df, function(col) {
        col <- col[keep]
        if (is.factor(col)) levels(droplevels(col)) else sort(unique(col))
    })
    codes <- Map(function(col, lev) match(as.vector(col[keep]), as.vector(lev)),
        df, levels.list)
    if (length(codes) == 1L) {
        # every level occurs, so the codes are the group numbers
        gid <- codes[[1L]]
        first <- match(seq_along(levels.list[[1L]]), gid)
    } else {
        combined <- codes[[1L]] - 1
        for (j in seq_along(codes)[-1L])
            combined <- combined * length(levels.list[[j]]) + (codes[[j]] - 1)
        ukey <- sort(unique(combined))
        gid <- match(combined, ukey)
        first <- match(ukey, combined)
    }
    cols <- which(keep)
    full <- rep(NA_integer_, ncells)
    full[cols] <- gid
    groups <- group_columns_cpp(full, length(first))
    info <- DataFrame(lapply(df, function(col) col[cols[first]]),
        check.names = FALSE)
    labels <- do.call(paste, c(lapply(seq_along(codes),
        function(j) levels.list[[j]][codes[[j]][first]]), sep = "."))
    names(groups) <- labels
    rownames(info) <- labels
    list(groups = groups, info = info, dropped = dropped)
}

# colData columns whose values are the same for every cell of every group,
# one row per group.
.constant_coldata <- function(cd, groups) {
    if (is.null(cd) || ncol(cd) == 0L || length(groups) == 0L) return(NULL)
    idx <- unlist(groups, use.names = FALSE)
    gid <- rep(seq_along(groups), lengths(groups))
    first <- vapply(groups, function(g) if (length(g)) g[1L] else NA_integer_,
        integer(1L))
    keep <- vapply(cd, function(col) {
        if (!is.atomic(col) && !is.factor(col)) return(FALSE)
        a <- col[idx]
        b <- col[first][gid]
        all((a == b & !is.na(a) & !is.na(b)) | (is.na(a) & is.na(b)))
    }, logical(1L))
    if (!any(keep)) return(NULL)
    out <- cd[first, keep, drop = FALSE]
    rownames(out) <- names(groups)
    out
}

.check_agg_args <- function(aggregation, na.rm, pseudo) {
    list(fun = .check_choice(aggregation, .agg_funs, "aggregation"),
        na.rm = .check_flag(na.rm, "na.rm"),
        pseudo = .check_number(pseudo, "pseudo", 0, lower.open = TRUE))
}

.subset_rows <- function(x, subset.row) {
    if (is.null(subset.row)) return(x)
    .check_sparse(x)
    if (is.character(subset.row)) {
        bad <- setdiff(subset.row, rownames(x))
        if (length(bad)) {
            stop(sprintf(
                "`subset.row` names gene %s, which is not in rownames(x)",
                .fmt_value(bad)), call. = FALSE)
        }
    } else if (is.numeric(subset.row)) {
        if (anyNA(subset.row) || any(subset.row < 1 | subset.row > nrow(x))) {
            stop(sprintf("`subset.row` has row indices outside 1..%d: %s",
                nrow(x),
                .fmt_value(subset.row[is.na(subset.row) | subset.row < 1 |
                    subset.row > nrow(x)])), call. = FALSE)
        }
    } else if (is.logical(subset.row)) {
        if (length(subset.row) != nrow(x) || anyNA(subset.row)) {
            stop(sprintf("a logical `subset.row` must have one non-NA value per row (%d), not %d values",
                nrow(x), length(subset.row)), call. = FALSE)
        }
    } else {
        stop("`subset.row` must be gene names, row indices or a logical vector",
            call. = FALSE)
    }
    x[subset.row, , drop = FALSE]
}

# The containers users have, as the SummarizedExperiment the package works
# on: an ExpressionSet through SummarizedExperiment's own coercion (its
# exprs become the assay "exprs"); anything else unchanged.
.as_se <- function(x) {
    if (is(x, "ExpressionSet")) as(x, "SummarizedExperiment") else x
}

# The assay a call uses: `assay.type` as given; when the caller left its
# default (given = FALSE) and that names none of x's assays while x has
# exactly one (a poolCells() or aggregateCells() result, a converted
# ExpressionSet), that one, with a message.
.pick_assay <- function(x, assay.type, given) {
    an <- SummarizedExperiment::assayNames(x)
    n <- length(SummarizedExperiment::assays(x))
    if (given || n != 1L || (is.character(assay.type) && assay.type %in% an))
        return(assay.type)
    one <- if (length(an) == 1L && !is.na(an) && nzchar(an)) an else 1L
    message(sprintf("using the only assay of `x`, %s",
        if (is.character(one)) sprintf("'%s'", one) else "1"))
    one
}

.assay_of <- function(x, assay.type, check = TRUE) {
    an <- SummarizedExperiment::assayNames(x)
    ok <- (is.character(assay.type) && length(assay.type) == 1L &&
        assay.type %in% an) ||
        (is.numeric(assay.type) && length(assay.type) == 1L &&
            assay.type >= 1 &&
            assay.type <= length(SummarizedExperiment::assays(x)))
    if (!ok) {
        stop(sprintf(
            "`assay.type` %s is not an assay of `x`; its assays are %s",
            .fmt_value(assay.type), if (length(an))
                paste(sprintf("'%s'", an), collapse = ", ") else "none"),
            call. = FALSE)
    }
    a <- SummarizedExperiment::assay(x, assay.type, withDimnames = TRUE)
    # (the aggregation checks a dgCMatrix in its own pass: check = FALSE)
    if (check || !is(a, "dgCMatrix")) .check_sparse(a, "the assay") else a
}

# A sparse matrix from the Matrix package is checked for valid slots before
# anything reads it (row indices beyond the rows or a `p` slot beyond `x`
# would make compiled code read or write out of bounds); an O(nnz) pass.
# Returns x.
.check_sparse <- function(x, what = "`x`") {
    if (is(x, "sparseMatrix")) {
        msg <- tryCatch({
            methods::validObject(x)
            NULL
        }, error = function(e) conditionMessage(e))
        if (!is.null(msg)) {
            stop(sprintf("%s is not a valid %s (%s); rebuild it, e.g. with Matrix::sparseMatrix()", what,
                class(x)[1L], sub("^invalid class .* object: ", "", msg)),
                call. = FALSE)
        }
    }
    x
}
