#' Test conditional independence of two genes given others
#'
#' `ciTest()` tests `X _||_ Y | Z` on the observations in `data`, and
#' `ciSuffStat()` with `ciIndepTest()` make the same test the `indepTest` of
#' [pcalg::pc()].
#'
#' `method = "fisher"`: Fisher's z transform of the partial correlation of
#' X and Y given Z (computed from the inverse of the correlation matrix of
#' X, Y and Z; a pseudo-inverse when the conditioning set is collinear),
#' compared with a normal distribution on `n - |Z| - 3` degrees of freedom.
#' It tests the absence of linear partial correlation, which is conditional
#' independence only for jointly Gaussian data. The non-parametric spline
#' test comes with the next release.
#'
#' @param x,y The two variables: names or column numbers of `data`.
#' @param z The conditioning set (names or numbers); `NULL` for none.
#' @param data Observations in rows and variables in columns (a matrix or
#'   data.frame), or a `SummarizedExperiment` with variables (genes) in rows.
#' @param method `"fisher"`.
#' @param assay.type For a `SummarizedExperiment` `data`: the assay.
#'
#' @return `ciTest()`: a one-row [S4Vectors::DataFrame] with `x`, `y`, `z`
#'   (the conditioning set, comma-separated), `n`, `method`, `statistic`
#'   (the partial correlation) and `p.value`. `ciSuffStat()`: the sufficient
#'   statistics for `ciIndepTest()`, which returns a p-value as pcalg expects.
#' @examples
#' set.seed(1)
#' a <- rnorm(300)
#' b <- a + rnorm(300)
#' d <- cbind(A = a, B = b, C = b + rnorm(300))
#' ciTest("A", "C", data = d)          # dependent
#' ciTest("A", "C", "B", data = d)     # independent given B
#' if (requireNamespace("pcalg", quietly = TRUE)) {
#'     pc <- pcalg::pc(ciSuffStat(d), ciIndepTest, alpha = 0.01, labels = colnames(d))
#' }
#' @export
ciTest <- function(x, y, z = NULL, data, method = "fisher", assay.type = "counts") {
    ss <- ciSuffStat(data, method = method, assay.type = assay.type)
    vars <- colnames(ss$C)
    xi <- .ci_index(x, vars, "x")
    yi <- .ci_index(y, vars, "y")
    zi <- if (is.null(z) || !length(z)) integer(0) else .ci_index(z, vars, "z")
    if (length(xi) != 1L || length(yi) != 1L) stop("`x` and `y` must each name one variable", call. = FALSE)
    if (xi == yi) stop("`x` and `y` must be different variables", call. = FALSE)
    if (any(zi %in% c(xi, yi))) {
        stop(sprintf("the conditioning set `z` contains %s", .fmt_value(vars[intersect(zi, c(xi, yi))])),
            call. = FALSE)
    }
    if (anyDuplicated(zi)) stop("`z` names a variable twice", call. = FALSE)
    res <- .call_core(fisher_test_cpp(ss$C, ss$n, xi - 1L, yi - 1L, zi - 1L))
    DataFrame(x = vars[xi], y = vars[yi], z = paste(vars[zi], collapse = ","), n = ss$n, method = method,
        statistic = unname(res["r"]), p.value = unname(res["p.value"]))
}

#' @rdname ciTest
#' @export
#' @importFrom stats cor complete.cases
ciSuffStat <- function(data, method = "fisher", assay.type = "counts") {
    method <- .check_choice(method, "fisher", "method")
    if (is(data, "SummarizedExperiment")) data <- t(as.matrix(.assay_of(data, assay.type)))
    if (is.data.frame(data)) data <- as.matrix(data)
    if (!is.matrix(data) || !is.numeric(data)) {
        stop("`data` must be a numeric matrix or data.frame (observations in rows) or a SummarizedExperiment",
            call. = FALSE)
    }
    if (is.null(colnames(data))) colnames(data) <- paste0("V", seq_len(ncol(data)))
    if (any(!is.finite(data))) stop("`data` has missing or infinite values", call. = FALSE)
    if (nrow(data) < 4L) {
        stop(sprintf("`data` has %d observations; the Fisher z test needs at least 4", nrow(data)), call. = FALSE)
    }
    sds <- apply(data, 2L, stats::sd)
    if (any(sds == 0)) {
        stop(sprintf("`data` has constant variables: %s", .fmt_value(colnames(data)[sds == 0])), call. = FALSE)
    }
    list(C = cor(data), n = nrow(data), method = method)
}

#' @rdname ciTest
#' @param S,suffStat As pcalg passes them: the conditioning set (column
#'   numbers) and the result of `ciSuffStat()`.
#' @export
ciIndepTest <- function(x, y, S, suffStat) {
    unname(fisher_test_cpp(suffStat$C, suffStat$n, as.integer(x) - 1L, as.integer(y) - 1L,
        as.integer(S) - 1L)["p.value"])
}

.ci_index <- function(v, vars, name) {
    if (is.character(v)) {
        i <- match(v, vars)
        if (anyNA(i)) {
            stop(sprintf("`%s` names %s, which %s not a variable of `data`", name, .fmt_value(v[is.na(i)]),
                if (sum(is.na(i)) > 1L) "are" else "is"), call. = FALSE)
        }
        return(i)
    }
    if (is.numeric(v) && all(v == round(v)) && all(v >= 1 & v <= length(vars))) return(as.integer(v))
    stop(sprintf("`%s` must name variables of `data` or give their column numbers, not %s", name, .fmt_value(v)),
        call. = FALSE)
}
