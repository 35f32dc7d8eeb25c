#' Test conditional independence of two genes given others
#'
#' `ciTest()` tests `X _||_ Y | Z` on the observations in `data`, and
#' `ciSuffStat()` with `ciIndepTest()` make the same test the `indepTest` of
#' [pcalg::pc()].
#'
#' Two tests: a non-parametric spline test (the default: it holds its size
#' whether the relations are linear or not) and Fisher's z test (exact for
#' jointly Gaussian data only: when an edge is non-linear it rejects true
#' conditional independences however many observations there are).
#'
#' `test = "fisher"`: Fisher's z transform of the partial correlation of
#' X and Y given Z (computed from the inverse of the correlation matrix of
#' X, Y and Z; a pseudo-inverse when the conditioning set is collinear),
#' compared with a normal distribution on `n - |Z| - 3` degrees of freedom.
#' It tests the absence of linear partial correlation, which is conditional
#' independence only for jointly Gaussian data.
#'
#' `test = "spline"`: a non-parametric test.  X and Y are each regressed
#' on Z with penalised cubic splines (the smoother of [fitPairwise()], `k`
#' basis functions, smoothing parameter by REML; one smooth per conditioning
#' gene, added up and fitted by backfitting when `|Z| > 1`; a gene with
#' fewer than 4 distinct values is smoothed by its group means), and the two
#' residuals are tested for independence with the Hilbert-Schmidt
#' independence criterion (Gaussian kernels, median-distance bandwidths).
#' The p-value comes from the gamma approximation of the HSIC null
#' distribution (Gretton et al., 2008) or, with `nperm > 0`, from `nperm`
#' permutations.  Residuals use every observation; the HSIC step, whose
#' cost grows with the square of the number of observations, uses a random
#' subset of `max.n` of them when there are more; its kernel matrices (two
#' triangles of `min(n, max.n)^2 / 2` single-precision values, 16 MB at the
#' default; all sums are in double precision) are
#' kept per thread between calls, so that the many calls of [pcalg::pc()]
#' do not allocate them afresh.  The test is exact in
#' the limit for additive-noise models (X = f(Z) + e, Y = g(Z) + u with e
#' and u independent of Z); its size is checked in the package's tests
#' over linear and non-linear models, Gaussian and skewed noise, 200 and
#' 1,000 observations and 0 to 2 conditioning genes.
#'
#' @param x,y The two variables: names or numbers of variables (genes) of
#'   `data` (rows of a matrix, columns of a data.frame).
#' @param z The conditioning set (names or numbers); `NULL` for none.
#' @param data A numeric matrix with genes (variables) in rows and
#'   observations in columns, as everywhere in the package; a
#'   `SummarizedExperiment` or `ExpressionSet` (genes in rows); or a
#'   data.frame with the variables in columns (as data frames hold them,
#'   and as pcalg's examples do).  Earlier development versions took
#'   matrices with the observations in rows: pass `t(m)` or
#'   `as.data.frame(m)` for such a matrix (a name that only matches the
#'   other dimension gets an error saying so).
#' @param test `"spline"` (default) or `"fisher"` (for jointly Gaussian
#'   data).
#' @param method Former name of `test`, deprecated (it works, with a
#'   warning).
#' @param assay.type For a `SummarizedExperiment` `data`: the assay (when
#'   left at its default and `data` has a single assay, that one).
#' @param ... For `ciTest()`: the spline test's settings, passed to
#'   `ciSuffStat()`.
#' @param k Spline basis dimension of the spline test; `NULL` (default)
#'   lets it grow with the number of observations n, as in [fitPairwise()]:
#'   \eqn{\min(50, \max(10, \lceil \sqrt{n} \rceil))} (10 up to 100
#'   observations, 23 at 500, 45 at 2,000, 50 from 2,402 on), so that a
#'   kink or a sharp bend in a relation does not leave a bias in the
#'   residuals that more observations turn into false rejections (with a
#'   fixed k = 10, a kink made a true conditional independence be rejected
#'   more often the more cells there were).  The penalty keeps the larger
#'   basis from overfitting.
#' @param max.n Most observations the HSIC step of the spline test uses.
#' @param nperm Permutations of the spline test's null distribution; 0 for
#'   the gamma approximation; at most 1,000,000.
#' @param seed Seed of the spline test's subsample and permutations (each
#'   statement draws from its own stream, so a p-value does not depend on
#'   which other tests ran).
#'
#' @return `ciTest()`: a one-row [S4Vectors::DataFrame] with `x`, `y`, `z`
#'   (the conditioning set, comma-separated), `n`, `test`, `statistic`
#'   (the partial correlation, or the HSIC statistic of the residuals) and
#'   `p.value`. `ciSuffStat()`: the sufficient statistics for
#'   `ciIndepTest()`, which returns a p-value as pcalg expects.
#' @references Gretton A, Fukumizu K, Teo CH, Song L, Schoelkopf B, Smola AJ
#'   (2008). A kernel statistical test of independence. NIPS 20.
#' @examples
#' set.seed(1)
#' a <- rnorm(300)
#' b <- a + rnorm(300)
#' d <- rbind(A = a, B = b, C = b + rnorm(300))   # genes x observations
#' ciTest("A", "C", data = d)          # dependent
#' ciTest("A", "C", "B", data = d)     # independent given B
#'
#' # a non-linear chain: Fisher's test misses what the spline test sees
#' e <- rbind(A = a, B = a^2 + rnorm(300, sd = 0.3))
#' ciTest("A", "B", data = e)$p.value
#' ciTest("A", "B", data = e, test = "fisher")$p.value
#' if (requireNamespace("pcalg", quietly = TRUE)) {
#'     pc <- pcalg::pc(ciSuffStat(d), ciIndepTest, alpha = 0.01,
#'                     labels = rownames(d))
#' }
#' @export
ciTest <- function(x, y, z = NULL, data, test = c("spline", "fisher"),
    assay.type = "counts", ..., method) {
    .renamed_args("ciTest", c(method = "test"))
    data <- .as_se(data)
    if (is(data, "SummarizedExperiment"))
        assay.type <- .pick_assay(data, assay.type, !missing(assay.type))
    ss <- ciSuffStat(data, test = test, assay.type = assay.type, ...)
    vars <- ss$vars
    xi <- .ci_index(x, vars, "x", ss$obs)
    yi <- .ci_index(y, vars, "y", ss$obs)
    zi <- if (is.null(z) || !length(z)) integer(0) else
        .ci_index(z, vars, "z", ss$obs)
    if (length(xi) != 1L || length(yi) != 1L)
        stop("`x` and `y` must each name one variable", call. = FALSE)
    if (xi == yi) stop("`x` and `y` must be different variables", call. = FALSE)
    if (any(zi %in% c(xi, yi))) {
        stop(sprintf("the conditioning set `z` contains %s",
            .fmt_value(vars[intersect(zi, c(xi, yi))])), call. = FALSE)
    }
    if (anyDuplicated(zi)) stop("`z` names a variable twice", call. = FALSE)
    res <- .ci_tests(ss, xi, yi, list(zi))
    DataFrame(x = vars[xi], y = vars[yi], z = paste(vars[zi], collapse = ","),
        n = ss$n, test = ss$method, statistic = res$statistic,
        p.value = res$p.value)
}

#' @rdname ciTest
#' @param num.threads Threads of the spline test over many statements.
#' @export
#' @importFrom stats cor
ciSuffStat <- function(data, test = c("spline", "fisher"),
    assay.type = "counts", k = NULL, max.n = 2000, nperm = 0, seed = 1,
    num.threads = 1, method) {
    .renamed_args("ciSuffStat", c(method = "test"))
    # (the result keeps the test under `method`, the name ciIndepTest() reads
    # in sufficient statistics saved by earlier versions)
    method <- .check_choice(.first(test), c("spline", "fisher"), "test")
    data <- .as_se(data)
    if (is(data, "SummarizedExperiment")) {
        assay.type <- .pick_assay(data, assay.type, !missing(assay.type))
        data <- .assay_of(data, assay.type)
    }
    # one orientation: a matrix has genes in rows and observations in
    # columns, as everywhere in the package; a data.frame holds its
    # variables in columns, as data frames do
    .check_sparse(data, "`data`")
    frame <- is.data.frame(data) || is(data, "DataFrame")
    if (frame) {
        data <- as.matrix(data)
    } else if (length(dim(data)) == 2L && !is.null(data)) {
        data <- t(as.matrix(data))
    }
    if (!is.matrix(data) || !is.numeric(data)) {
        stop(paste("`data` must be a numeric matrix (genes in rows, observations in columns), a data.frame",
            "(variables in columns) or a SummarizedExperiment"), call. = FALSE)
    }
    storage.mode(data) <- "double"
    if (is.null(colnames(data)))
        colnames(data) <- paste0("V", seq_len(ncol(data)))
    .check_unique_names(colnames(data), "`data`")
    if (any(!is.finite(data)))
        stop("`data` has missing or infinite values", call. = FALSE)
    need <- if (method == "fisher") 4L else 10L
    if (nrow(data) < need) {
        stop(sprintf(
            "`data` has %d observations; the %s test needs at least %d%s",
            nrow(data), if (method == "fisher") "Fisher z" else "spline",
            need, if (!frame && ncol(data) >= need) {
                sprintf(paste(" (a matrix has genes in rows and observations in columns; this one has %d",
                    "rows: if they are the observations, pass t(data))"),
                    ncol(data))
            } else ""), call. = FALSE)
    }
    const <- vapply(seq_len(ncol(data)),
        function(j) all(data[, j] == data[1L, j]), logical(1))
    if (any(const)) {
        stop(sprintf("`data` has constant variables: %s",
            .fmt_value(colnames(data)[const])), call. = FALSE)
    }
    if (method == "fisher") {
        return(list(C = cor(data), n = nrow(data), method = method,
            vars = colnames(data), obs = rownames(data)))
    }
    k <- .resolve_k(k, nrow(data))
    if (k > 50)
        stop(sprintf("`k` must be at most 50, not %s", .fmt_value(k)),
            call. = FALSE)
    list(data = data, n = nrow(data), method = method, vars = colnames(data),
        obs = rownames(data), k = as.integer(k),
        max.n = .check_count(max.n, "max.n", min = 10, max = .int_max),
        nperm = as.integer(.check_count(nperm, "nperm",
            min = 0, max = .resample_max)),
        seed = .check_count(seed, "seed", min = 0),
        num.threads = .check_threads(num.threads))
}

#' @rdname ciTest
#' @param S,suffStat As pcalg passes them: the conditioning set (column
#'   numbers) and the result of `ciSuffStat()`.
#' @export
ciIndepTest <- function(x, y, S, suffStat) {
    # pcalg's hot path: cheap checks that no index can leave the data
    if (!is.list(suffStat) || !(identical(suffStat$method, "spline") ||
        identical(suffStat$method, "fisher")) || length(suffStat$vars) < 2L) {
        stop("`suffStat` must be the result of ciSuffStat()", call. = FALSE)
    }
    p <- length(suffStat$vars)
    one <- function(v) is.numeric(v) && length(v) == 1L && !is.na(v) &&
        v >= 1 && v <= p && v == round(v)
    if (!one(x) || !one(y)) {
        stop(sprintf("`x` and `y` must each be one variable number from 1 to %d, not %s and %s", p, .fmt_value(x),
            .fmt_value(y)), call. = FALSE)
    }
    if (x == y) stop("`x` and `y` must be different variables", call. = FALSE)
    if (length(S)) {
        if (!is.numeric(S) || anyNA(S) || any(S < 1 | S > p | S != round(S))) {
            stop(sprintf("`S` must hold variable numbers from 1 to %d, not %s",
                p, .fmt_value(S)), call. = FALSE)
        }
        if (any(S == x | S == y))
            stop("the conditioning set `S` contains `x` or `y`", call. = FALSE)
        if (anyDuplicated(S)) stop("`S` names a variable twice", call. = FALSE)
    }
    .ci_tests(suffStat, as.integer(x), as.integer(y),
        list(as.integer(S)))$p.value
}

# The p-values of statements (1-based x, y, list z) on the sufficient
# statistics of ciSuffStat(), the statements split over the workers of
# BPPARAM (a spline test's stream is keyed on its statement, not on its
# place in the call, so the split does not change them).
.ci_p_values <- function(ss, x, y, z, BPPARAM, verbose = FALSE, label = NULL) {
    if (bpnworkers(BPPARAM) <= 1L || length(x) < 2L)
        return(.ci_tests(ss, x, y, z, verbose = verbose)$p.value)
    units <- .work_units(seq_along(x), .n_units(length(x), BPPARAM, verbose))
    res <- .run_units(lapply(units,
        function(j) list(x = x[j], y = y[j], z = z[j])), .ci_statements,
        ss = ss, BPPARAM = BPPARAM, sizes = lengths(units), what = "tests",
        progress = verbose, label = label)
    unlist(res, use.names = FALSE)
}

.ci_statements <- function(task, ss)
    .ci_tests(ss, task$x, task$y, task$z)$p.value

# p-values (and statistics) of statements given by 1-based x, y and a list
# of conditioning sets, on the sufficient statistics of ciSuffStat().
.ci_tests <- function(ss, x, y, z, verbose = FALSE) {
    z0 <- lapply(z, function(s) as.integer(s) - 1L)
    if (identical(ss$method, "spline")) {
        res <- .call_core(spline_tests_cpp(ss$data, as.integer(x) - 1L,
            as.integer(y) - 1L, z0, ss$k, ss$max.n, ss$nperm, ss$seed,
            ss$num.threads, verbose))
        return(res[c("statistic", "p.value")])
    }
    if (length(x) == 1L) {
        res <- .call_core(fisher_test_cpp(ss$C, ss$n, as.integer(x) - 1L,
            as.integer(y) - 1L, z0[[1L]]))
        return(list(statistic = unname(res["r"]),
            p.value = unname(res["p.value"])))
    }
    p <- .call_core(fisher_tests_cpp(ss$C, ss$n, as.integer(x) - 1L,
        as.integer(y) - 1L, z0))
    list(statistic = NA_real_, p.value = p)
}

.ci_index <- function(v, vars, name, obs = NULL) {
    if (is.character(v)) {
        i <- match(v, vars)
        if (anyNA(i)) {
            # found among the observations' names: the data are transposed
            flipped <- !is.null(obs) && all(v[is.na(i)] %in% obs)
            stop(sprintf("`%s` names %s, which %s not a variable of `data`%s",
                name, .fmt_value(v[is.na(i)]),
                if (sum(is.na(i)) > 1L) "are" else "is", if (flipped) {
                    paste0(" but names its observations: a matrix has genes in rows and observations in columns",
                        " (pass t(data), or a data.frame with the variables in columns)")
                } else ""), call. = FALSE)
        }
        return(i)
    }
    if (is.numeric(v) && !anyNA(v) && all(v == round(v)) &&
        all(v >= 1 & v <= length(vars))) return(as.integer(v))
    stop(sprintf(
        "`%s` must name variables of `data` or give their numbers, not %s",
        name, .fmt_value(v)), call. = FALSE)
}

