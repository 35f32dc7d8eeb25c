#' @importFrom utils head
NULL

# Argument checks shared by the exported functions.  Each error names the
# argument and the offending value.

.fmt_value <- function(x) {
    if (is.null(x)) return("NULL")
    if (!is.atomic(x)) return(sprintf("a %s", class(x)[1L]))
    if (length(x) == 0L) return(sprintf("a %s of length 0", class(x)[1L]))
    shown <- if (is.character(x)) sprintf("'%s'", head(x, 3L)) else
        format(head(x, 3L), trim = TRUE)
    paste0(paste(shown, collapse = ", "), if (length(x) > 3L) ", ..." else "")
}

# The first element of a choice argument given with its default vector
# (anything else as it is, for .check_choice to refuse).
.first <- function(x) if (is.atomic(x) && length(x)) x[1L] else x

.check_choice <- function(x, choices, name) {
    if (!is.character(x) || length(x) != 1L || is.na(x) || !x %in% choices) {
        stop(sprintf("`%s` must be one of %s, not %s", name,
            paste(sprintf("'%s'", choices), collapse = ", "), .fmt_value(x)),
            call. = FALSE)
    }
    x
}

.check_flag <- function(x, name) {
    if (!is.logical(x) || length(x) != 1L || is.na(x)) {
        stop(sprintf("`%s` must be TRUE or FALSE, not %s", name, .fmt_value(x)),
            call. = FALSE)
    }
    x
}

# Positive whole numbers: a scalar (len = 1) or a vector of the given length.
# The spline basis dimension for n observations when `k` is NULL (the
# documented default of every spline fit and test): it grows with n so
# that a kink or sharp bend leaves no bias that more observations turn into
# false rejections; the penalty keeps the larger basis from overfitting.
.basis_size <- function(n) as.integer(min(50, max(10, ceiling(sqrt(n)))))

# `k` checked (4 to 100), or the rule's value for n observations when NULL.
.resolve_k <- function(k, n) {
    if (is.null(k)) return(.basis_size(n))
    k <- .check_count(k, "k", min = 4)
    if (k > 100)
        stop(sprintf("`k` must be a whole number from 4 to 100, not %s",
            .fmt_value(k)), call. = FALSE)
    k
}

# The largest size the C++ core can index (sizes beyond it are refused, not
# turned into NA).
.int_max <- .Machine$integer.max

# The most bootstrap resamples or permutations a call may ask for: a p-value
# resolution of 1e-6, and a request that ends within hours rather than years
# (each resample is a spline fit per pair).
.resample_max <- 1e6

# This machine's memory in bytes (Linux: MemTotal of /proc/meminfo), or NA
# where it cannot be read.
.machine_memory <- function() {
    info <- tryCatch(readLines("/proc/meminfo", n = 1L, warn = FALSE),
        error = function(e) character(0))
    kb <- suppressWarnings(as.numeric(
        sub("^MemTotal:\\s*([0-9]+) kB.*$", "\\1", info)))
    if (length(kb) == 1L && is.finite(kb)) kb * 1024 else NA_real_
}

# Refuses at once a request whose result would need more memory than the
# machine has (`bytes`, an estimate of the result's size; `what` describes
# the request), rather than letting it run out of memory or swap for hours.
.check_fits_memory <- function(bytes, what) {
    total <- .machine_memory()
    if (!is.na(total) && bytes > total) {
        stop(sprintf("%s would need about %s of memory, more than this machine's %s; ask for less", what,
            .fmt_bytes(bytes), .fmt_bytes(total)), call. = FALSE)
    }
    invisible(TRUE)
}

.fmt_bytes <- function(b) {
    if (b >= 2^40) sprintf("%.1f TB", b / 2^40) else if (b >= 2^30)
        sprintf("%.1f GB", b / 2^30) else sprintf("%.0f MB", b / 2^20)
}

.check_count <- function(x, name, len = 1L, min = 1, max = Inf) {
    ok <- is.numeric(x) && length(x) %in% len && !anyNA(x) &&
        all(is.finite(x)) && all(x == round(x)) && all(x >= min) &&
        all(x <= max)
    if (!ok) {
        range <- if (is.finite(max)) sprintf("from %s to %s", format(min),
            format(max, scientific = FALSE)) else paste(">=", format(min))
        stop(sprintf("`%s` must be %s whole number%s %s, not %s", name,
            if (identical(len, 1L)) "a" else "positive",
            if (identical(len, 1L)) "" else "s", range, .fmt_value(x)),
            call. = FALSE)
    }
    as.numeric(x)
}

# A probability: strictly between 0 and 1 (alpha, level), or from 0 to 1
# with `closed`.
.check_prob <- function(x, name, closed = FALSE) {
    bad <- !is.numeric(x) || length(x) != 1L || is.na(x) ||
        (if (closed) x < 0 || x > 1 else x <= 0 || x >= 1)
    if (bad) {
        stop(sprintf("`%s` must be a number %s, not %s", name,
            if (closed) "from 0 to 1" else "strictly between 0 and 1",
            .fmt_value(x)), call. = FALSE)
    }
    as.numeric(x)
}

.check_number <- function(x, name, lower = -Inf, lower.open = FALSE,
    allow.inf = FALSE) {
    bad <- !is.numeric(x) || length(x) != 1L || is.na(x) ||
        (!allow.inf && !is.finite(x)) || x < lower || (lower.open && x == lower)
    if (bad) {
        what <- if (is.finite(lower)) sprintf(" %s %s",
            if (lower.open) ">" else ">=", format(lower)) else ""
        stop(sprintf("`%s` must be a %snumber%s, not %s", name,
            if (allow.inf) "" else "finite ", what, .fmt_value(x)),
            call. = FALSE)
    }
    as.numeric(x)
}

# Threads: 1 to 1024 (the core allocates per-thread accumulators, so an
# absurd request would exhaust memory before any work).
.check_threads <- function(num.threads) {
    as.integer(.check_count(num.threads, "num.threads", max = 1024))
}

# A seed for the C++ streams: the user's, or one drawn from R's generator so
# that set.seed() in the caller's session makes the call reproducible.
.resolve_seed <- function(seed) {
    if (is.null(seed)) return(as.numeric(sample.int(.Machine$integer.max, 1L)))
    .check_count(seed, "seed", min = 0)
}

.agg_funs <- c("sum", "mean", "geomean", "median", "max", "log1p_sum", "cpm")

# Arguments users bring from other Bioconductor packages (scuttle's
# aggregateAcrossCells(), muscat's aggregateData(), ...) or spell another
# way, and this package's name for each.
.arg_hints <- c(statistics = "aggregation", statistic = "aggregation",
    use.assay.type = "assay.type", use_assay_type = "assay.type",
    assay = "assay.type", assays = "assay.type", by = "sample", ids = "sample",
    sample_id = "sample", sample.id = "sample", donor = "sample",
    donor_id = "sample", n.genes = "ngenes", n_genes = "ngenes",
    nGenes = "ngenes", ncores = "BPPARAM", cores = "BPPARAM",
    workers = "BPPARAM", threads = "num.threads", nthreads = "num.threads",
    n.threads = "num.threads", num_threads = "num.threads", size = "pool.size",
    pool_size = "pool.size", bpparam = "BPPARAM", n.boot = "nboot", B = "nboot",
    cluster_id = "by", cluster = "by", celltype = "by", cell_type = "by",
    cell.type = "by", group = "by", groups = "by", fun = "aggregation",
    method = "test")

# Arguments renamed for one name per concept across the package
# (`renames`: c(old = "new")), in the frame of the calling function, whose
# formals hold both names (the old after `...`, so only its exact spelling
# reaches it): a former name given is moved to its new name there, with a
# deprecation warning; giving both is an error.
.renamed_args <- function(fn, renames, env = parent.frame()) {
    given <- function(name) !eval(call("missing", as.name(name)), env)
    for (old in names(renames)) {
        if (!given(old)) next
        new <- renames[[old]]
        if (given(new)) {
            stop(sprintf("%s(): give `%s` only (`%s` is its former name)", fn,
                new, old), call. = FALSE)
        }
        .Deprecated(msg = sprintf("%s(): argument `%s` is deprecated; use `%s`",
            fn, old, new))
        assign(new, get(old, envir = env), envir = env)
    }
    invisible(NULL)
}

# Refuses the arguments in `...` that `fn` (an exported function, named in
# the message) does not take, i.e. that match none of `allowed` (partial
# matching as R's own), instead of R's "unused argument" error, which names
# an internal function; with this package's name for a known one.
.check_extra_args <- function(fn, allowed, ...) {
    n <- ...length()
    if (n == 0L) return(invisible(NULL))
    nm <- ...names()
    if (is.null(nm)) nm <- rep("", n)
    nm[is.na(nm)] <- ""
    allowed <- setdiff(allowed, "...")
    # (a name known from elsewhere is refused even where it would partially
    # match an argument, when the function has the argument it stands for:
    # `size` means pool.size, not size.factors)
    hinted <- nm %in% names(.arg_hints) & !nm %in% allowed
    hinted[hinted] <- .arg_hints[nm[hinted]] %in% allowed
    extra <- nm[nm == "" | is.na(pmatch(nm, allowed, duplicates.ok = TRUE)) |
        hinted]
    if (!length(extra)) return(invisible(NULL))
    if (any(extra == "")) {
        stop(sprintf("%s() was given %d more unnamed argument%s than it takes; name the arguments after the first",
            fn, sum(extra == ""), if (sum(extra == "") > 1L) "s" else ""),
            call. = FALSE)
    }
    hint <- .arg_hints[extra]
    said <- ifelse(!is.na(hint) & hint %in% allowed,
        sprintf("`%s` (here `%s`)", extra, hint), sprintf("`%s`", extra))
    stop(sprintf("%s() has no argument%s %s; see ?%s",
        fn, if (length(extra) > 1L) "s" else "",
        paste(said, collapse = ", "), fn), call. = FALSE)
}

# The arguments of `f` a user may give (those of internal use dropped).
.user_args <- function(f, drop = character())
    setdiff(names(formals(f)), c(drop, "..."))

# A value per column of `x` (cells or samples), given as the name of a
# `colData` column of `x` (a SummarizedExperiment) or as the values
# themselves; `unit` names the columns in messages.
#' @importFrom SummarizedExperiment colData
.coldata_values <- function(value, x, arg, unit = "cells") {
    if (is.character(value) && length(value) == 1L && ncol(x) != 1L &&
        is(x, "SummarizedExperiment")) {
        cn <- colnames(colData(x))
        if (!value %in% cn) {
            stop(sprintf(
                "`%s` = %s is not a colData column of `x`; its columns are %s",
                arg, .fmt_value(value),
                if (length(cn)) .fmt_value(cn) else "none"), call. = FALSE)
        }
        value <- colData(x)[[value]]
    }
    if (!is.atomic(value) || length(value) != ncol(x)) {
        stop(sprintf("`%s` must %sgive one value per %s: `%s` has %d values but `x` has %d %s", arg,
            if (is(x, "SummarizedExperiment"))
                "name a colData column or " else "",
            sub("s$", "", unit), arg,
            length(value), ncol(x), unit), call. = FALSE)
    }
    value
}
